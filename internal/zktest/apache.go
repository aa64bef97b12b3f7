// Package zktest starts real Apache ZooKeeper 3.8 nodes for tests, so that zkgo's behaviour can
// be checked against the reference implementation rather than against our reading of it.
//
// The JVM is exec'd directly (not through scripts/apache-zk.sh) so that tests own the process
// group and need neither bash nor the repository layout; the classpath and zoo.cfg keys are the
// same as the script's and must be kept in sync with it.
package zktest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	quorumPeerMain = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	// startTimeout is generous because the CI machine has two shared cores and a cold JVM.
	startTimeout = 90 * time.Second
	stopTimeout  = 10 * time.Second
	// startAttempts covers the race between FreePort closing its listener and java binding it.
	startAttempts = 3
)

// javaDir is where Debian's libzookeeper-java and libslf4j-java put their jars.
func javaDir() string {
	if d := os.Getenv("ZK_JAVA_DIR"); d != "" {
		return d
	}
	return "/usr/share/java"
}

// Classpath is the classpath that runs Apache ZooKeeper from the Debian packages: zookeeper.jar
// lists every runtime dependency in its manifest Class-Path, and slf4j-simple is only the logging
// binding (without it slf4j falls back to NOP and the log is empty). servlet-api.jar is what the
// manifest lacks for the AdminServer: without it AdminServerFactory logs "Unable to load jetty"
// (NoClassDefFoundError javax/servlet/Servlet) and runs none. ZK_CLASSPATH overrides it.
func Classpath() string {
	if cp := os.Getenv("ZK_CLASSPATH"); cp != "" {
		return cp
	}
	cp := filepath.Join(javaDir(), "zookeeper.jar")
	for _, jar := range []string{"slf4j-simple.jar", "servlet-api.jar"} {
		if p := filepath.Join(javaDir(), jar); fileExists(p) {
			cp += string(os.PathListSeparator) + p
		}
	}
	return cp
}

// ApacheAvailable reports whether Apache ZooKeeper can be started: java on PATH and the jars
// installed (apt-get install -y zookeeper). Callers should t.Fatal when it is false, since CI
// installs it and a silent skip would hide lost coverage.
func ApacheAvailable() bool {
	if _, err := exec.LookPath("java"); err != nil {
		return false
	}
	if os.Getenv("ZK_CLASSPATH") != "" {
		return true
	}
	return fileExists(filepath.Join(javaDir(), "zookeeper.jar"))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// jvmFlags keep test JVMs small and quick to start (C1 only, serial GC), since many tests may
// run at once on two cores; ZKTEST_JVMFLAGS replaces them.
func jvmFlags() []string {
	if f := os.Getenv("ZKTEST_JVMFLAGS"); f != "" {
		return strings.Fields(f)
	}
	return []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}
}

// StartApache starts a standalone Apache ZooKeeper 3.8 node on a free loopback port with its
// data in t.TempDir(), waits until it serves requests, and stops it in t.Cleanup. extraCfg lines
// ("key=value") are appended to zoo.cfg and override the defaults. It returns "127.0.0.1:port".
func StartApache(t testing.TB, extraCfg ...string) (addr string) {
	t.Helper()
	if !ApacheAvailable() {
		t.Fatalf("zktest: Apache ZooKeeper not available (need java on PATH and %s; apt-get install -y zookeeper)",
			filepath.Join(javaDir(), "zookeeper.jar"))
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		dir := t.TempDir()
		port := FreePort(t)
		n, err := startNode(dir, port, extraCfg)
		if err == nil {
			t.Cleanup(func() {
				if err := n.stop(); err != nil {
					t.Errorf("zktest: stop Apache ZooKeeper: %v", err)
				}
				if t.Failed() {
					t.Logf("zktest: tail of %s:\n%s", n.logPath, tail(n.logPath, 40))
				}
			})
			return n.addr
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("zktest: start Apache ZooKeeper: %v", lastErr)
	return ""
}

// StartApacheAdmin is StartApache with the AdminServer enabled on a free loopback port; it
// returns the client address and the AdminServer's base URL ("http://127.0.0.1:port").
func StartApacheAdmin(t testing.TB, extraCfg ...string) (addr, adminURL string) {
	t.Helper()
	port := FreePort(t)
	cfg := append([]string{"admin.enableServer=true", "admin.serverAddress=127.0.0.1",
		fmt.Sprintf("admin.serverPort=%d", port)}, extraCfg...)
	return StartApache(t, cfg...), fmt.Sprintf("http://127.0.0.1:%d", port)
}

var errAddrInUse = errors.New("address already in use")

type node struct {
	addr    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd.Wait returns
}

func startNode(dir string, port int, extraCfg []string) (*node, error) {
	return startNodeAt(dir, filepath.Join(dir, "data"), port, extraCfg)
}

// startNodeAt is startNode with the data dir given (zoo.cfg, zk.log stay in dir).
func startNodeAt(dir, dataDir string, port int, extraCfg []string) (*node, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\ntickTime=2000\n", dataDir, port)
	cfg.WriteString("admin.enableServer=false\n4lw.commands.whitelist=*\n")
	for _, l := range extraCfg {
		cfg.WriteString(l + "\n")
	}
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "zk.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor

	args := append(jvmFlags(), "-cp", Classpath(), quorumPeerMain, cfgPath)
	cmd := exec.Command("java", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so that cleanup also reaches anything the JVM forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec java: %w", err)
	}
	n := &node{addr: fmt.Sprintf("127.0.0.1:%d", port), logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	if err := n.waitServing(startTimeout); err != nil {
		_ = n.stop()
		if bytes.Contains(readFile(logPath), []byte("Address already in use")) {
			return nil, fmt.Errorf("port %d: %w", port, errAddrInUse)
		}
		return nil, fmt.Errorf("%w; tail of %s:\n%s", err, logPath, tail(logPath, 30))
	}
	return n, nil
}

// waitServing polls srvr until it reports a Mode, which Apache ZooKeeper only does once the
// server is running; before that it answers "not currently serving requests".
func (n *node) waitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return fmt.Errorf("java exited during startup (%v)", n.cmd.ProcessState)
		default:
		}
		if out, err := FourLetterWord(n.addr, "srvr", 2*time.Second); err == nil && strings.Contains(out, "\nMode: ") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no srvr answer from %s within %v", n.addr, timeout)
}

// stop sends SIGTERM to the node's process group and SIGKILL if it has not exited in time.
func (n *node) stop() error {
	pgid := n.cmd.Process.Pid
	select {
	case <-n.done:
		return nil
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-n.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-n.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("pid %d survived SIGKILL", pgid)
	}
}

// FourLetterWord sends a four-letter command (srvr, ruok, mntr, ...) and returns the answer.
func FourLetterWord(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	// The server closes the connection after answering; the limit only guards against a
	// misbehaving server under test.
	b, err := io.ReadAll(io.LimitReader(c, 1<<20))
	return string(b), err
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// tail returns the last n lines of the file at p, for failure messages.
func tail(p string, n int) string {
	lines := strings.Split(strings.TrimRight(string(readFile(p)), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Apache is a standalone Apache ZooKeeper node on a data dir the test chose.
type Apache struct {
	Addr    string // "127.0.0.1:port"
	DataDir string
	LogPath string // the node's stdout/stderr (slf4j-simple log)
	n       *node
}

// Stop stops the node (SIGTERM, then SIGKILL) and waits for it; the data dir is then free
// for another server. Calling it again is harmless.
func (a *Apache) Stop() error { return a.n.stop() }

// Log returns the node's log so far.
func (a *Apache) Log() string { return string(readFile(a.LogPath)) }

// StartApacheDir starts a standalone Apache ZooKeeper 3.8 node like StartApache, but on the
// given dataDir (which may already hold version-2/ files written by another server), so that
// data dir compatibility can be tested in both directions. zoo.cfg and the log are in
// t.TempDir(); the node is stopped in t.Cleanup unless Stop was called before.
func StartApacheDir(t testing.TB, dataDir string, extraCfg ...string) *Apache {
	t.Helper()
	if !ApacheAvailable() {
		t.Fatalf("zktest: Apache ZooKeeper not available (need java on PATH and %s; apt-get install -y zookeeper)",
			filepath.Join(javaDir(), "zookeeper.jar"))
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		dir := t.TempDir()
		port := FreePort(t)
		n, err := startNodeAt(dir, dataDir, port, extraCfg)
		if err == nil {
			a := &Apache{Addr: n.addr, DataDir: dataDir, LogPath: n.logPath, n: n}
			t.Cleanup(func() {
				if err := n.stop(); err != nil {
					t.Errorf("zktest: stop Apache ZooKeeper: %v", err)
				}
				if t.Failed() {
					t.Logf("zktest: tail of %s:\n%s", n.logPath, tail(n.logPath, 40))
				}
			})
			return a
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatalf("zktest: start Apache ZooKeeper on %s: %v", dataDir, lastErr)
	return nil
}
