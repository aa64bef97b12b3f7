package zktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// QuorumMember is one server.N line of an ensemble config.
type QuorumMember struct {
	SID          uint64
	Host         string // "127.0.0.1"
	QuorumPort   int
	ElectionPort int
	Observer     bool
}

func (q QuorumMember) line() string {
	role := "participant"
	if q.Observer {
		role = "observer"
	}
	return fmt.Sprintf("server.%d=%s:%d:%d:%s", q.SID, q.Host, q.QuorumPort, q.ElectionPort, role)
}

// ApachePeer is one Apache ZooKeeper node of an ensemble.
type ApachePeer struct {
	SID        uint64
	ClientAddr string // "127.0.0.1:port"
	DataDir    string
	LogPath    string
	n          *node
}

// Stop stops the node (SIGTERM, then SIGKILL) and waits for it. Calling it again is harmless.
func (a *ApachePeer) Stop() error { return a.n.stop() }

// Log returns the node's log so far.
func (a *ApachePeer) Log() string { return string(readFile(a.LogPath)) }

// StartApacheQuorumPeer starts the member myid of an ensemble made of members, as an
// Apache ZooKeeper 3.8 node with its data in t.TempDir(). Other members may be anything
// (zkgo servers, or nothing at all): the node is not waited for to serve, since it may
// never find a quorum, only until its JVM answers four-letter words on clientPort (the
// client port is opened before leader election starts). extraCfg lines are appended to
// zoo.cfg; jvmProps ("-Dkey=value") go to the JVM. The node is stopped in t.Cleanup, and
// its log tail is logged if the test failed.
func StartApacheQuorumPeer(t testing.TB, myid uint64, members []QuorumMember, clientPort int, extraCfg []string, jvmProps ...string) *ApachePeer {
	t.Helper()
	if !ApacheAvailable() {
		t.Fatalf("zktest: Apache ZooKeeper not available (need java on PATH and %s; apt-get install -y zookeeper)",
			filepath.Join(javaDir(), "zookeeper.jar"))
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "myid"), []byte(fmt.Sprintf("%d\n", myid)), 0o644); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", dataDir, clientPort)
	cfg.WriteString("tickTime=2000\ninitLimit=10\nsyncLimit=5\nadmin.enableServer=false\n4lw.commands.whitelist=*\n")
	ms := append([]QuorumMember(nil), members...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].SID < ms[j].SID })
	for _, m := range ms {
		cfg.WriteString(m.line() + "\n")
	}
	for _, l := range extraCfg {
		cfg.WriteString(l + "\n")
	}
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "zk.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append(append(jvmFlags(), jvmProps...), "-cp", Classpath(), quorumPeerMain, cfgPath)
	cmd := exec.Command("java", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("zktest: exec java: %v", err)
	}
	n := &node{addr: fmt.Sprintf("127.0.0.1:%d", clientPort), logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	a := &ApachePeer{SID: myid, ClientAddr: n.addr, DataDir: dataDir, LogPath: logPath, n: n}
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("zktest: stop Apache ZooKeeper: %v", err)
		}
		if t.Failed() {
			t.Logf("zktest: tail of %s:\n%s", logPath, tail(logPath, 60))
		}
	})
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-n.done:
			t.Fatalf("zktest: java exited during startup (%v); tail of %s:\n%s", cmd.ProcessState, logPath, tail(logPath, 30))
		default:
		}
		if out, err := FourLetterWord(n.addr, "srvr", 2*time.Second); err == nil && out != "" {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("zktest: no srvr answer from %s within %v; tail of %s:\n%s", n.addr, startTimeout, logPath, tail(logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
