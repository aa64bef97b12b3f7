package faulttest

import (
	"bufio"
	"fmt"
	"github.com/zkgo/zkgo/internal/zktest"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clientIP is the source address of every client and 4lw connection: no firewall rule
// names it, so partitions cut only the links between nodes.
const clientIP = "127.0.0.100"

// node is one zkserver process of the ensemble, on 127.0.0.<id>.
type node struct {
	id                    int
	ip                    string
	clientPort            int
	quorumPort, electPort int
	dir, dataDir, cfgPath string
	logPath               string
	mu                    sync.Mutex
	cmd                   *exec.Cmd
	done                  chan struct{}
	exitErr               error
	paused                bool
	starts                int
}

func (n *node) clientAddr() string { return net.JoinHostPort(n.ip, strconv.Itoa(n.clientPort)) }

type cluster struct {
	nodes  []*node // 1-based: nodes[0] is nil; voters first, then observers
	voters int
	omPort int // observerMasterPort, on every node's address; 0 without observers
	dir    string
	env    []string
}

// newCluster writes the config of voters participants and observers observers under dir.
// Observers synchronise through the followers (observerMasterPort).
func newCluster(dir string, voters, observers int, tickMs int) (*cluster, error) {
	size := voters + observers
	c := &cluster{nodes: make([]*node, size+1), voters: voters, dir: dir,
		// A short committed log makes the leader send SNAPs (and TRUNCs) more often.
		env: append(os.Environ(), "SERVER_JVMFLAGS=-Dzookeeper.commitLogCount=50")}
	if observers > 0 {
		var err error
		if c.omPort, err = freePortOnAll(size); err != nil {
			return nil, err
		}
	}
	var servers strings.Builder
	for i := 1; i <= size; i++ {
		n := &node{id: i, ip: fmt.Sprintf("127.0.0.%d", i)}
		var err error
		for _, p := range []*int{&n.clientPort, &n.quorumPort, &n.electPort} {
			if *p, err = zktest.FreePortOn(n.ip); err != nil {
				return nil, fmt.Errorf("free port on %s: %w", n.ip, err)
			}
		}
		n.dir = filepath.Join(dir, fmt.Sprintf("node%d", i))
		n.dataDir = filepath.Join(n.dir, "data")
		n.cfgPath = filepath.Join(n.dir, "zoo.cfg")
		n.logPath = filepath.Join(dir, fmt.Sprintf("node%d.log", i))
		c.nodes[i] = n
		kind := ""
		if i > voters {
			kind = ":observer"
		}
		fmt.Fprintf(&servers, "server.%d=%s:%d:%d%s\n", i, n.ip, n.quorumPort, n.electPort, kind)
	}
	for _, n := range c.nodes[1:] {
		if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(n.dataDir, "myid"), []byte(fmt.Sprintf("%d\n", n.id)), 0o644); err != nil {
			return nil, err
		}
		cfg := fmt.Sprintf("tickTime=%d\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=%s\n"+
			"admin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=0\nsnapCount=300\n%s",
			tickMs, n.dataDir, n.clientPort, n.ip, servers.String())
		if c.omPort != 0 {
			cfg += fmt.Sprintf("observerMasterPort=%d\n", c.omPort)
		}
		if n.id > voters {
			cfg += "peerType=observer\n"
		}
		if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) size() int { return len(c.nodes) - 1 }

// freePortOnAll is a port free on 127.0.0.1 to 127.0.0.<n> alike.
func freePortOnAll(n int) (int, error) {
	for try := 0; try < 50; try++ {
		port, err := zktest.FreePortOn("127.0.0.1")
		if err != nil {
			return 0, err
		}
		ok := true
		for i := 2; i <= n && ok; i++ {
			ln, err := net.Listen("tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i), strconv.Itoa(port)))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free on 127.0.0.1-%d", n)
}

// start execs node n (not yet running) with its output appended to its log file.
func (c *cluster) start(n *node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("node %d is already running", n.id)
	}
	n.starts++
	lf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(lf, "=== faulttest: start #%d of node %d at %s\n", n.starts, n.id, time.Now().Format("15:04:05.000"))
	cmd := exec.Command(serverBin, "start-foreground", n.cfgPath)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Env = c.env
	// Own process group (kill -9 and SIGSTOP reach exactly this server); killed with the
	// test process should that die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	reaper.addPgid(cmd.Process.Pid)
	done := make(chan struct{})
	n.cmd, n.done, n.paused, n.exitErr = cmd, done, false, nil
	go func() {
		err := cmd.Wait()
		lf.Close()
		n.mu.Lock()
		n.exitErr = err
		n.mu.Unlock()
		close(done)
	}()
	return nil
}

// running reports whether n's process is alive (stopped counts as alive).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// exitedOnItsOwn reports a process that ended without being killed.
func (n *node) exitedOnItsOwn() (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false, nil
	}
	select {
	case <-n.done:
		return true, n.exitErr
	default:
		return false, nil
	}
}

// kill SIGKILLs n's process group and waits for it.
func (c *cluster) kill(n *node) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd, n.paused = nil, false
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(-pid, syscall.SIGCONT)
	<-done
	reaper.delPgid(pid)
}

func (c *cluster) signal(n *node, sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return fmt.Errorf("node %d is not running", n.id)
	}
	if err := syscall.Kill(-n.cmd.Process.Pid, sig); err != nil {
		return err
	}
	n.paused = sig == syscall.SIGSTOP
	return nil
}

func (c *cluster) pause(n *node) error  { return c.signal(n, syscall.SIGSTOP) }
func (c *cluster) resume(n *node) error { return c.signal(n, syscall.SIGCONT) }

func (n *node) isPaused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused
}

func (c *cluster) killAll() {
	for _, n := range c.nodes[1:] {
		c.kill(n)
	}
}

// dialClient connects to addr from clientIP.
func dialClient(network, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}
	return d.Dial(network, addr)
}

// srvrInfo is what the srvr four-letter word tells.
type srvrInfo struct {
	mode string // leader, follower, observer, standalone; "" when not serving
	zxid int64
	raw  string
}

func fourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	nc, err := dialClient("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := nc.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(nc))
	return string(b), err
}

func (n *node) srvr() (srvrInfo, error) {
	out, err := fourLetter(n.clientAddr(), "srvr", time.Second)
	if err != nil {
		return srvrInfo{}, err
	}
	info := srvrInfo{raw: out}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Mode: "); ok {
			info.mode = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Zxid: "); ok {
			info.zxid, _ = strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64)
		}
	}
	return info, nil
}

// modes asks every running, unpaused node for srvr.
func (c *cluster) modes() map[int]srvrInfo {
	out := map[int]srvrInfo{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range c.nodes[1:] {
		if !n.running() || n.isPaused() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := n.srvr()
			if err != nil {
				return
			}
			mu.Lock()
			out[n.id] = info
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// leader returns the node that says it leads, waiting up to timeout for exactly one; 0
// when none does.
func (c *cluster) leader(timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		leaders := 0
		id := 0
		for i, info := range c.modes() {
			if info.mode == "leader" {
				leaders++
				id = i
			}
		}
		if leaders == 1 {
			return id
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHealthy waits until every node is running and serving, one leads and the others
// follow it at the same zxid; it returns the leader or an error describing the last state.
func (c *cluster) waitHealthy(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	var last map[int]srvrInfo
	for {
		last = c.modes()
		leader, followers, observers := 0, 0, 0
		for i, info := range last {
			switch info.mode {
			case "leader":
				leader = i
			case "follower":
				followers++
			case "observer":
				observers++
			}
		}
		if leader != 0 && followers == c.voters-1 && observers == c.size()-c.voters {
			return leader, nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var b strings.Builder
	for i := 1; i <= c.size(); i++ {
		info, ok := last[i]
		switch {
		case !ok:
			fmt.Fprintf(&b, " node %d: no srvr answer;", i)
		case info.mode == "":
			fmt.Fprintf(&b, " node %d: not serving;", i)
		default:
			fmt.Fprintf(&b, " node %d: %s zxid 0x%x;", i, info.mode, info.zxid)
		}
	}
	return 0, fmt.Errorf("ensemble not healthy after %v:%s", timeout, b.String())
}

// logTail returns the last lines of n's log.
func (n *node) logTail(lines int) string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// scanLogs finds lines in the node logs that are bugs whatever the faults: panics, races,
// digest mismatches (the tree of a learner differs from the leader's), a SNAP copied from a
// tree past its zxid, a leader whose server and broadcast disagree on the zxid sequence.
func (c *cluster) scanLogs() []string {
	var bad []string
	for _, n := range c.nodes[1:] {
		b, err := os.ReadFile(n.logPath)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, pat := range []string{"panic:", "fatal error:", "WARNING: DATA RACE", "digests are not matching", "cannot persist",
				"proposal refused", "past the SNAP zxid"} {
				if strings.Contains(line, pat) {
					bad = append(bad, fmt.Sprintf("node %d: %s", n.id, line))
				}
			}
		}
	}
	if len(bad) > 20 {
		bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
	}
	return bad
}
