package main

// Failover mode (scripts/bench-ensemble.sh):
//
//	zkbench --workload failover --server a,b,c --sessions 3 --rounds 3 \
//	    --pid-file '/tmp/ens/node{n}/pid' --restart-cmd 'bash /tmp/ens/start-node.sh {n}'
//
// --sessions writers (session i starts on server i mod n; each client is given every server)
// set their own znode in a closed loop. Each round finds the leader by asking every server
// `srvr`, kills it with SIGKILL (its pid read from --pid-file, {n} being its 1-based position in
// --server), and measures the time from the kill to the first write that was issued after the
// kill and acknowledged. Then it runs --restart-cmd for that node, waits until the node answers
// srvr as a follower (or leader) and the ensemble has exactly one leader again and the writers
// are acknowledged again, waits --settle, and goes on with the next round.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
)

// FailoverRound is one kill of the leader. Times are milliseconds after the kill; -1 means the
// stage was not reached.
type FailoverRound struct {
	Round       int            `json:"round"`
	KilledNode  int            `json:"killed_node"` // 1-based position in --server
	Killed      string         `json:"killed"`      // its client address
	KilledPid   int            `json:"killed_pid"`
	FailoverMS  float64        `json:"failover_ms"`   // first write issued after the kill acknowledged
	FirstWriter int            `json:"first_writer"`  // session that got it
	DeadMS      float64        `json:"dead_ms"`       // the killed process was gone (or a zombie)
	NewLeaderMS float64        `json:"new_leader_ms"` // a surviving node first answered srvr "Mode: leader"
	NewLeader   string         `json:"new_leader,omitempty"`
	RejoinMS    float64        `json:"rejoin_ms"` // restart command run → node a follower and one leader in all
	Errors      uint64         `json:"errors"`    // failed writes between the kill and FailoverMS
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
}

// FailoverResult is the outcome of --workload failover.
type FailoverResult struct {
	Label     string          `json:"label,omitempty"`
	Workload  string          `json:"workload"`
	Servers   []string        `json:"servers"`
	Sessions  int             `json:"sessions"`
	ValueSize int             `json:"value_size"`
	Rounds    []FailoverRound `json:"rounds"`
	// Over the rounds that completed: failover_ms min, median, max.
	MinMS    float64 `json:"min_ms"`
	MedianMS float64 `json:"median_ms"`
	MaxMS    float64 `json:"max_ms"`
	Writes   uint64  `json:"writes"` // acknowledged over the whole run
	Errors   uint64  `json:"errors"` // failed writes over the whole run
	// Errors outside the kill windows (a healthy ensemble should have none).
	ErrorsOutside uint64         `json:"errors_outside"`
	ErrorKinds    map[string]int `json:"error_kinds,omitempty"`
	Start         time.Time      `json:"start"`
}

// fourLetter sends a four-letter word and returns the whole answer.
func fourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// srvrMode returns the Mode line of a srvr answer ("leader", "follower", "standalone", ...),
// or "" (e.g. "This ZooKeeper instance is not currently serving requests").
func srvrMode(answer string) string {
	sc := bufio.NewScanner(strings.NewReader(answer))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(m)
		}
	}
	return ""
}

// modes asks every server for srvr; unreachable or not-serving servers get "".
func modes(servers []string) []string {
	out := make([]string, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, err := fourLetter(s, "srvr", time.Second); err == nil {
				out[i] = srvrMode(a)
			}
		}()
	}
	wg.Wait()
	return out
}

// soleLeader returns the index of the only server in leader mode, or -1.
func soleLeader(ms []string) int {
	leader := -1
	for i, m := range ms {
		if m == "leader" {
			if leader >= 0 {
				return -1
			}
			leader = i
		}
	}
	return leader
}

// expand replaces {n} by the 1-based node number.
func expand(template string, node int) string {
	return strings.ReplaceAll(template, "{n}", strconv.Itoa(node))
}

// readPid reads a pid file (first word).
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s is empty", path)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: bad pid %q", path, f[0])
	}
	return pid, nil
}

// processGone reports whether pid no longer runs: absent, or a zombie not yet reaped by its
// parent (a SIGKILLed process that is a zombie has stopped executing).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// median of a non-empty slice (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// failoverState is shared by the writers and the round loop.
type failoverState struct {
	epoch    time.Time
	killAt   atomic.Int64 // offset of the current kill from epoch, 0 between rounds
	firstAck atomic.Int64 // offset of the first ack of a write issued after killAt, 0 if none yet
	firstBy  atomic.Int64 // writer that got it
	acks     atomic.Uint64
	nerr     atomic.Uint64
	mu       sync.Mutex
	kinds    map[string]int // whole run
	round    map[string]int // current kill window
	nround   uint64
	outside  uint64
}

func (s *failoverState) now() int64 { return int64(time.Since(s.epoch)) }

func (s *failoverState) recordError(err error, t0 int64) {
	s.nerr.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kinds[err.Error()]++
	if k := s.killAt.Load(); k != 0 && t0 >= k && s.firstAck.Load() == 0 {
		s.round[err.Error()]++
		s.nround++
	} else if k == 0 {
		s.outside++
	}
}

func runFailover(ctx context.Context, cfg *config) (*FailoverResult, error) {
	if cfg.pidFile == "" {
		return nil, errors.New("failover: --pid-file is required")
	}
	if cfg.rounds > 1 && cfg.restartCmd == "" {
		return nil, errors.New("failover: --restart-cmd is required for more than one round")
	}
	conns, err := connectAll(ctx, cfg, cfg.sessions)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	root := fmt.Sprintf("%s-%d-%d", cfg.rootPrefix, os.Getpid(), time.Now().UnixNano())
	value := make([]byte, cfg.valueSize)
	for i := range value {
		value[i] = 'a' + byte(rand.IntN(26))
	}
	acl := zk.WorldACL(zk.PermAll)
	if _, err := conns[0].Create(root, nil, 0, acl); err != nil {
		return nil, fmt.Errorf("create %s: %w", root, err)
	}
	keys := make([]string, len(conns))
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/w%d", root, i)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := removeAll(cctx, conns, keys, root); err != nil {
			fmt.Fprintf(os.Stderr, "zkbench: cleanup of %s: %v\n", root, err)
		}
	}()
	if err := createAll(ctx, conns, keys, value, acl); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	st := &failoverState{epoch: time.Now(), kinds: map[string]int{}, round: map[string]int{}}
	res := &FailoverResult{
		Label: cfg.label, Workload: cfg.workload, Servers: cfg.servers, Sessions: cfg.sessions,
		ValueSize: cfg.valueSize, Start: st.epoch.UTC(),
	}
	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				t0 := st.now()
				_, err := c.Set(keys[i], value, -1)
				t1 := st.now()
				if err != nil {
					st.recordError(err, t0)
					// Requests queue while the client reconnects, so this is no hot loop; the
					// pause only bounds one if a server answers every request with an error.
					time.Sleep(time.Millisecond)
					continue
				}
				st.acks.Add(1)
				if k := st.killAt.Load(); k != 0 && t0 >= k && st.firstAck.CompareAndSwap(0, t1) {
					st.firstBy.Store(int64(i))
				}
			}
		}()
	}
	defer func() {
		stopWriters()
		wg.Wait()
	}()

	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "zkbench failover: "+format+"\n", args...)
	}
	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	// waitAcks waits until the writers have n more acknowledged writes.
	waitAcks := func(n uint64, limit time.Duration) error {
		target := st.acks.Load() + n
		deadline := time.Now().Add(limit)
		for st.acks.Load() < target {
			if time.Now().After(deadline) {
				return fmt.Errorf("writers not acknowledged within %v", limit)
			}
			if err := sleep(5 * time.Millisecond); err != nil {
				return err
			}
		}
		return nil
	}
	// waitEnsemble waits until node (0-based; -1: any) is a follower or leader and there is
	// exactly one leader among the servers; it returns the leader's index.
	waitEnsemble := func(node int, limit time.Duration) (int, error) {
		deadline := time.Now().Add(limit)
		for {
			ms := modes(cfg.servers)
			l := soleLeader(ms)
			if l >= 0 && (node < 0 || ms[node] == "follower" || ms[node] == "leader") {
				all := true
				for _, m := range ms {
					all = all && (m == "leader" || m == "follower")
				}
				if all {
					return l, nil
				}
			}
			if time.Now().After(deadline) {
				return -1, fmt.Errorf("ensemble not formed within %v (srvr modes %q)", limit, ms)
			}
			if err := sleep(50 * time.Millisecond); err != nil {
				return -1, err
			}
		}
	}

	// Let the writers run before the first kill.
	if err := sleep(cfg.warmup); err != nil {
		return res, err
	}
	var failErr error
	for r := 1; r <= cfg.rounds; r++ {
		leader, err := waitEnsemble(-1, cfg.timeout)
		if err != nil {
			failErr = fmt.Errorf("round %d: %w", r, err)
			break
		}
		if err := waitAcks(uint64(len(conns)), cfg.timeout); err != nil {
			failErr = fmt.Errorf("round %d, before the kill: %w", r, err)
			break
		}
		node := leader + 1
		pid, err := readPid(expand(cfg.pidFile, node))
		if err != nil {
			failErr = fmt.Errorf("round %d: leader %s: %w", r, cfg.servers[leader], err)
			break
		}
		rd := FailoverRound{Round: r, KilledNode: node, Killed: cfg.servers[leader], KilledPid: pid,
			FailoverMS: -1, DeadMS: -1, NewLeaderMS: -1, RejoinMS: -1, FirstWriter: -1}
		st.mu.Lock()
		st.round, st.nround = map[string]int{}, 0
		st.mu.Unlock()
		st.firstAck.Store(0)
		kill := st.now()
		st.killAt.Store(kill)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			st.killAt.Store(0)
			failErr = fmt.Errorf("round %d: kill -9 %d (leader %s): %w", r, pid, cfg.servers[leader], err)
			break
		}
		logf("round %d: killed leader node %d (%s, pid %d)", r, node, cfg.servers[leader], pid)
		since := func() float64 { return float64(st.now()-kill) / 1e6 }
		// Watch for the new leader (informational), every 20 ms, on the surviving nodes.
		others := make([]string, 0, len(cfg.servers)-1)
		for i, s := range cfg.servers {
			if i != leader {
				others = append(others, s)
			}
		}
		lctx, stopLeaderWatch := context.WithCancel(ctx)
		var newLeaderMS atomic.Int64 // microseconds + 1, 0 = not seen
		var newLeader atomic.Value
		leaderDone := make(chan struct{})
		go func() {
			defer close(leaderDone)
			for lctx.Err() == nil {
				ms := modes(others)
				if l := soleLeader(ms); l >= 0 {
					newLeaderMS.Store(int64(since()*1000) + 1)
					newLeader.Store(others[l])
					return
				}
				select {
				case <-lctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		deadline := time.Now().Add(cfg.timeout)
		for (rd.FailoverMS < 0 || rd.DeadMS < 0) && ctx.Err() == nil && time.Now().Before(deadline) {
			if rd.DeadMS < 0 && processGone(pid) {
				rd.DeadMS = since()
			}
			if a := st.firstAck.Load(); a != 0 && rd.FailoverMS < 0 {
				rd.FailoverMS = float64(a-kill) / 1e6
				rd.FirstWriter = int(st.firstBy.Load())
			}
			time.Sleep(time.Millisecond)
		}
		st.killAt.Store(0)
		// Give the leader watch a moment if writes came back before it saw the new leader.
		select {
		case <-leaderDone:
		case <-time.After(2 * time.Second):
		}
		stopLeaderWatch()
		<-leaderDone
		if v := newLeaderMS.Load(); v != 0 {
			rd.NewLeaderMS = float64(v-1) / 1000
			rd.NewLeader, _ = newLeader.Load().(string)
		}
		st.mu.Lock()
		rd.Errors, rd.ErrorKinds = st.nround, st.round
		st.round, st.nround = map[string]int{}, 0
		st.mu.Unlock()
		logf("round %d: first acknowledged write %.1f ms after the kill (process gone at %.1f ms, new leader %s seen at %.1f ms, %d errors)",
			r, rd.FailoverMS, rd.DeadMS, rd.NewLeader, rd.NewLeaderMS, rd.Errors)
		if rd.FailoverMS < 0 {
			res.Rounds = append(res.Rounds, rd)
			failErr = fmt.Errorf("round %d: no acknowledged write within %v of the kill", r, cfg.timeout)
			if ctx.Err() != nil {
				failErr = ctx.Err()
			}
			break
		}
		if rd.DeadMS < 0 {
			res.Rounds = append(res.Rounds, rd)
			failErr = fmt.Errorf("round %d: pid %d still running %v after SIGKILL", r, pid, cfg.timeout)
			break
		}
		if cfg.restartCmd != "" {
			t0 := time.Now()
			cmd := exec.CommandContext(ctx, "bash", "-c", expand(cfg.restartCmd, node))
			cmd.Env = append(os.Environ(), fmt.Sprintf("ZKBENCH_NODE=%d", node))
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				res.Rounds = append(res.Rounds, rd)
				failErr = fmt.Errorf("round %d: restart command for node %d: %w", r, node, err)
				break
			}
			if _, err := waitEnsemble(leader, cfg.timeout); err != nil {
				res.Rounds = append(res.Rounds, rd)
				failErr = fmt.Errorf("round %d: node %d did not rejoin: %w", r, node, err)
				break
			}
			rd.RejoinMS = float64(time.Since(t0).Microseconds()) / 1000
			logf("round %d: node %d rejoined %.0f ms after its restart", r, node, rd.RejoinMS)
		}
		res.Rounds = append(res.Rounds, rd)
		if r < cfg.rounds {
			if err := waitAcks(uint64(len(conns)), cfg.timeout); err != nil {
				failErr = fmt.Errorf("round %d, after the rejoin: %w", r, err)
				break
			}
			if err := sleep(cfg.settle); err != nil {
				failErr = err
				break
			}
		}
	}
	stopWriters()
	wg.Wait()
	res.Writes, res.Errors = st.acks.Load(), st.nerr.Load()
	st.mu.Lock()
	res.ErrorKinds, res.ErrorsOutside = st.kinds, st.outside
	st.mu.Unlock()
	var times []float64
	for _, rd := range res.Rounds {
		if rd.FailoverMS >= 0 {
			times = append(times, rd.FailoverMS)
		}
	}
	if len(times) > 0 {
		res.MinMS, res.MaxMS, res.MedianMS = slices.Min(times), slices.Max(times), median(times)
	}
	return res, failErr
}

func (r *FailoverResult) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "zkbench: failover servers=%s writers=%d value-size=%d rounds=%d\n",
		strings.Join(r.Servers, ","), r.Sessions, r.ValueSize, len(r.Rounds))
	for _, rd := range r.Rounds {
		fmt.Fprintf(&b, "  round %d: killed leader node %d (%s, pid %d): first acknowledged write %.1f ms after kill -9 (process gone %.1f ms, new leader %s seen %.1f ms, rejoin %.0f ms, %d errors)\n",
			rd.Round, rd.KilledNode, rd.Killed, rd.KilledPid, rd.FailoverMS, rd.DeadMS, rd.NewLeader, rd.NewLeaderMS, rd.RejoinMS, rd.Errors)
	}
	fmt.Fprintf(&b, "  failover ms  min %.1f  median %.1f  max %.1f\n", r.MinMS, r.MedianMS, r.MaxMS)
	fmt.Fprintf(&b, "  writes %d acknowledged, %d failed (%d outside the kill windows)", r.Writes, r.Errors, r.ErrorsOutside)
	for k, n := range r.ErrorKinds {
		fmt.Fprintf(&b, " [%s: %d]", k, n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
