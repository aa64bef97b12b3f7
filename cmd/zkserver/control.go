package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/quorum/config"
)

// start re-executes this binary as "start-foreground" in its own session,
// writes the pid file and waits until the server answers srvr.
func (c *cli) start(cfg *config.Config, o options) int {
	fmt.Fprint(c.stdout, "Starting zookeeper ... ")
	pidPath := c.pidFile(cfg)
	if pid, ok, _ := readPid(pidPath); ok && pid > 0 && alive(pid) {
		fmt.Fprintf(c.stdout, "already running as process %d.\n", pid)
		return exitFailed
	}
	if err := os.MkdirAll(filepath.Dir(pidPath), 0o755); err != nil {
		fmt.Fprintln(c.stdout, "SERVER DID NOT START")
		fmt.Fprintln(c.stderr, err)
		return exitFailed
	}
	outPath := c.outFile(cfg)
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		fmt.Fprintln(c.stdout, "SERVER DID NOT START")
		fmt.Fprintln(c.stderr, err)
		return exitFailed
	}
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(c.stdout, "SERVER DID NOT START")
		fmt.Fprintln(c.stderr, err)
		return exitFailed
	}
	defer out.Close()

	cmd := exec.Command(c.exe, append(append([]string(nil), c.exeArgs...), childArgs(o)...)...)
	cmd.Stdout, cmd.Stderr = out, out                    // stdin stays /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // survive the shell's SIGHUP
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(c.stdout, "SERVER DID NOT START")
		fmt.Fprintln(c.stderr, err)
		return exitFailed
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		fmt.Fprintln(c.stdout, "FAILED TO WRITE PID")
		return exitFailed
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	host, port, ssl := statusAddr(cfg)
	deadline := time.After(c.startTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			os.Remove(pidPath)
			fmt.Fprintln(c.stdout, "FAILED TO START")
			fmt.Fprintf(c.stderr, "see %s\n", outPath)
			return exitFailed
		case <-deadline:
			// Still running but silent: leave it (a big snapshot may still be
			// loading) with its pid file, so "stop" can end it.
			fmt.Fprintln(c.stdout, "FAILED TO START")
			fmt.Fprintf(c.stderr, "process %d does not answer on %s; see %s\n",
				pid, net.JoinHostPort(host, strconv.Itoa(port)), outPath)
			return exitFailed
		case <-tick.C:
			if ssl { // a secure port only: that it listens is enough (no client settings here)
				if conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second); err == nil {
					conn.Close()
					fmt.Fprintln(c.stdout, "STARTED")
					return exitOK
				}
				continue
			}
			if _, err := fourLetterWord(host, port, "srvr", time.Second, nil); err == nil {
				fmt.Fprintln(c.stdout, "STARTED")
				return exitOK
			}
		}
	}
}

// childArgs repeat the config selection for the background process.
func childArgs(o options) []string {
	if o.configPath != "" {
		p, err := filepath.Abs(o.configPath)
		if err != nil {
			p = o.configPath
		}
		return []string{"start-foreground", p}
	}
	dd, err := filepath.Abs(o.dataDir)
	if err != nil {
		dd = o.dataDir
	}
	return []string{"start-foreground", "--data-dir", dd, "--client-port", strconv.Itoa(o.clientPort)}
}

// stop sends SIGTERM to the pid in the pid file and waits for it to exit.
func (c *cli) stop(cfg *config.Config) int {
	fmt.Fprint(c.stdout, "Stopping zookeeper ... ")
	pidPath := c.pidFile(cfg)
	pid, ok, err := readPid(pidPath)
	if !ok {
		fmt.Fprintf(c.stdout, "no zookeeper to stop (could not find file %s)\n", pidPath)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintln(c.stdout, "FAILED")
		fmt.Fprintln(c.stderr, err)
		return exitFailed
	}
	// A stale pid file (ESRCH) is removed like zkServer.sh does.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintln(c.stdout, "FAILED")
		fmt.Fprintf(c.stderr, "kill %d: %v\n", pid, err)
		return exitFailed
	}
	deadline := time.Now().Add(c.stopTimeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			fmt.Fprintln(c.stdout, "FAILED")
			fmt.Fprintf(c.stderr, "process %d still running %s after SIGTERM\n", pid, c.stopTimeout)
			return exitFailed
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(pidPath)
	fmt.Fprintln(c.stdout, "STOPPED")
	return exitOK
}

// statusAddr picks the client address like zkServer.sh status: clientPort
// (static, or this server's line), else secureClientPort. Wildcard and
// unset addresses become "localhost".
func statusAddr(cfg *config.Config) (host string, port int, ssl bool) {
	host, port = cfg.ClientPortAddress, cfg.ClientPort
	if port == 0 && cfg.SecureClientPort != 0 {
		host, port, ssl = cfg.SecureClientPortAddress, cfg.SecureClientPort, true
	}
	switch host {
	case "", "0.0.0.0", "::", "0:0:0:0:0:0:0:0":
		host = "localhost"
	}
	return host, port, ssl
}

// status prints the Mode line of srvr, as zkServer.sh status. A secure-only server is asked
// over TLS with the client settings of CLIENT_JVMFLAGS and JVMFLAGS (-Dzookeeper.ssl.*), as
// zkServer.sh passes them to FourLetterWordMain.
func (c *cli) status(cfg *config.Config) int {
	host, port, ssl := statusAddr(cfg)
	if port == 0 {
		fmt.Fprintln(c.stdout, "Unable to find either secure or unsecure client port in any configs. Terminating.")
		return exitFailed
	}
	if ssl {
		fmt.Fprintln(c.stdout, "Client port not found. Looking for secureClientPort in the static config.")
	}
	fmt.Fprintf(c.stdout, "Client port found: %d. Client address: %s. Client SSL: %t.\n", port, host, ssl)
	var tlsCfg *tls.Config
	if ssl {
		props := config.ParseJVMFlags(c.getenv("CLIENT_JVMFLAGS") + " " + c.getenv("JVMFLAGS"))
		set, err := x509util.Read(func(k string) (string, bool) { v, ok := props[k]; return v, ok }, x509util.ClientPrefix)
		if err == nil {
			tlsCfg, err = set.ClientConfig(host)
		}
		if err != nil {
			fmt.Fprintf(c.stderr, "client TLS settings: %v\n", err)
		}
	}
	if !ssl || tlsCfg != nil {
		if out, err := fourLetterWord(host, port, "srvr", 5*time.Second, tlsCfg); err == nil {
			if mode := modeLine(out); mode != "" {
				fmt.Fprintln(c.stdout, mode)
				return exitOK
			}
		}
	}
	if ssl {
		fmt.Fprintf(c.stdout, ` 
Note: We used secureClientPort (%d) to establish connection, but we failed. The 'status'
  command establishes a client connection to the server to execute diagnostic commands. Please make sure you
  provided all the Client SSL connection related parameters in the CLIENT_JVMFLAGS environment variable! E.g.:
  CLIENT_JVMFLAGS="-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
  -Dzookeeper.ssl.trustStore.location=/tmp/clienttrust.jks -Dzookeeper.ssl.trustStore.password=password
  -Dzookeeper.ssl.keyStore.location=/tmp/client.jks -Dzookeeper.ssl.keyStore.password=password
  -Dzookeeper.client.secure=true" ./zkServer.sh status
 
`, port)
	}
	fmt.Fprintln(c.stdout, "Error contacting service. It is probably not running.")
	return exitFailed
}

// modeLine is `grep Mode` followed by the shell's `echo $STAT` (blanks
// squeezed) in zkServer.sh.
func modeLine(out []byte) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Mode") {
			lines = append(lines, strings.Join(strings.Fields(sc.Text()), " "))
		}
	}
	return strings.Join(lines, " ")
}

// fourLetterWord sends cmd (4 bytes, no framing) and reads until the server
// closes, like FourLetterWordMain.
func fourLetterWord(host string, port int, cmd string, timeout time.Duration, tlsCfg *tls.Config) ([]byte, error) {
	var conn net.Conn
	d := &net.Dialer{Timeout: timeout}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var err error
	if tlsCfg != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, tlsCfg)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, cmd); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, errors.New("empty answer")
	}
	return out, nil
}
