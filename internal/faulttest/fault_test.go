// Package faulttest runs a three-voter zkserver ensemble, plus an observer that follows it
// through the followers (observerMasterPort), as real processes on 127.0.0.1-4 under a
// client workload while a nemesis kills (SIGKILL), pauses (SIGSTOP) and partitions
// (iptables) its members, then checks what ZooKeeper promises:
//
//   - every history of the registers (setData, conditional setData, sync + getData) is
//     linearizable (porcupine; writes without an answer may or may not have happened);
//   - every acknowledged sequential create exists on every node, with its data, once;
//   - every node holds the same tree under the test root (data and every stat field);
//   - once their sessions are closed or expired, no ephemeral is left on any node;
//   - no server panics, races, reports a digest mismatch or exits on its own.
//
// It needs root (iptables; on Debian: apt-get install -y iptables) and fails, rather than
// skips, when it cannot set up its firewall chain. `make test` runs the short version
// (about a minute). The long version, and a replay of a failed run:
//
//	FAULTTEST_DURATION=10m go test -count=1 -timeout 30m -v ./internal/faulttest/
//	FAULTTEST_SEED=<seed printed by the failed run> go test -count=1 -v ./internal/faulttest/
//
// Knobs (environment):
//
//	FAULTTEST_DURATION     how long the nemesis runs (default 30s)
//	FAULTTEST_SEED         seed of the nemesis and the workload (default: time; printed)
//	FAULTTEST_WORKERS      client sessions (default 6; the first four pinned to one node each)
//	FAULTTEST_SERVER_RACE=1  build the server with -race
//	FAULTTEST_KEEP=1       keep the whole work dir (data dirs too); a failing run always
//	                       keeps its logs and the porcupine visualization (path printed)
//
// See docs/FAULTTEST.md. A replayed seed repeats the nemesis' choices and the workload's
// operation mix, not the timing: faults are found again often, not always.
package faulttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

const (
	root          = "/faulttest"
	numKeys       = 5 // registers in use at a time
	keyGeneration = 20 * time.Second
	// keyCheckTimeout bounds porcupine's search on one key; an undecided key is logged,
	// not failed.
	keyCheckTimeout = 30 * time.Second
	tickMs          = 250
	sessionTimeout  = 4 * time.Second
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// run is one test run: the ensemble, the firewall, the timeline and what went wrong.
type run struct {
	t     *testing.T
	seed  uint64
	c     *cluster
	fw    *firewall
	begin time.Time

	mu       sync.Mutex
	timeline []string
	errs     []string
	keepDir  string // evidence of a failure, kept
}

func (r *run) logf(format string, args ...any) {
	line := fmt.Sprintf("%7.3fs %s", time.Since(r.begin).Seconds(), fmt.Sprintf(format, args...))
	r.mu.Lock()
	r.timeline = append(r.timeline, line)
	r.mu.Unlock()
	r.t.Log(line)
}

func (r *run) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.errs = append(r.errs, msg)
	r.mu.Unlock()
	r.logf("VIOLATION: %s", msg)
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test starts a real ensemble and needs iptables")
	}
	duration := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("FAULTTEST_DURATION")); err == nil && d > 0 {
		duration = d
	}
	if dl, ok := t.Deadline(); ok {
		// Leave time for the start, the checks and the cleanup: a go test timeout panics
		// without running t.Cleanup.
		if left := time.Until(dl) - 2*time.Minute; left < duration {
			duration = max(left, 5*time.Second)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("FAULTTEST_SEED"), 10, 64); err == nil {
		seed = s
	}
	nWorkers := envInt("FAULTTEST_WORKERS", 6)
	fmt.Fprintf(os.Stderr, "faulttest: FAULTTEST_SEED=%d duration=%v workers=%d\n", seed, duration, nWorkers)
	rng := rand.New(rand.NewPCG(seed, 0xfa17))

	dir, err := os.MkdirTemp("", "faulttest-")
	if err != nil {
		t.Fatal(err)
	}
	reaper.addDir(dir)
	keep := os.Getenv("FAULTTEST_KEEP") == "1"
	t.Cleanup(func() {
		reaper.delDir(dir)
		if keep {
			t.Logf("kept %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	c, err := newCluster(dir, 3, 1, tickMs)
	if err != nil {
		t.Fatal(err)
	}
	ports := []int{c.omPort}
	for _, n := range c.nodes[1:] {
		ports = append(ports, n.quorumPort, n.electPort)
	}
	fw, err := newFirewall(ports)
	if err != nil {
		t.Fatalf("cannot set up the firewall (the fault test needs root and iptables): %v", err)
	}
	t.Cleanup(fw.close)
	t.Cleanup(c.killAll) // registered last: runs first
	r := &run{t: t, seed: seed, c: c, fw: fw, begin: time.Now()}
	r.logf("FAULTTEST_SEED=%d duration=%v workers=%d dir=%s", seed, duration, nWorkers, dir)

	for _, n := range c.nodes[1:] {
		if err := c.start(n); err != nil {
			t.Fatalf("start node %d: %v", n.id, err)
		}
	}
	leader, err := c.waitHealthy(60 * time.Second)
	if err != nil {
		r.fail("initial start: %v", err)
		r.report()
		return
	}
	r.logf("ensemble up, node %d leads", leader)

	var all []string
	for _, n := range c.nodes[1:] {
		all = append(all, n.clientAddr())
	}
	// Registers come in generations: the workload moves to fresh znodes every keyGeneration,
	// which keeps each key's history (and porcupine's search) short in long runs.
	gens := int(duration/keyGeneration) + 2
	keys := make([]string, 0, gens*numKeys)
	{
		admin, err := connect(all, sessionTimeout)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{root, root + "/reg", root + "/seq", root + "/eph"} {
			if err := createRetry(admin, p, ""); err != nil {
				admin.Close()
				r.fail("setup: create %s: %v", p, err)
				r.report()
				return
			}
		}
		for g := range gens {
			for i := range numKeys {
				k := fmt.Sprintf("%s/reg/g%d-k%d", root, g, i)
				keys = append(keys, k)
				if err := createRetry(admin, k, initVal); err != nil {
					admin.Close()
					r.fail("setup: create %s: %v", k, err)
					r.report()
					return
				}
			}
		}
		admin.Close()
	}

	// The workload.
	rec := newRecorder()
	workers := make([]*worker, nWorkers)
	for i := range workers {
		servers := all
		if i < c.size() {
			servers = []string{c.nodes[i+1].clientAddr()} // pinned: sees its node's faults
		}
		workers[i] = &worker{id: i, servers: servers, timeout: sessionTimeout, keys: keys, root: root, rec: rec,
			rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))}
		if err := workers[i].open(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, w := range workers {
			w.closeAll()
		}
	})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(&stop) }()
	}

	// The nemesis.
	nem := &nemesis{r: r, rng: rand.New(rand.NewPCG(rng.Uint64(), 0x9e)), down: map[int]bool{}}
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		nem.quiet(end)
		if !time.Now().Before(end) {
			break
		}
		nem.fault(end)
	}
	nem.healAll()
	r.logf("nemesis done: %s", nem.summary())

	// Let the workload run on the healed ensemble for a moment, then stop it.
	time.Sleep(2 * time.Second)
	stop.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		r.fail("workers still blocked in an operation 20 s after the faults were healed (requests accepted and never answered)")
		for _, w := range workers {
			w.closeAll()
		}
		<-finished
	}
	if leader, err = c.waitHealthy(30 * time.Second); err != nil {
		r.fail("after healing every fault: %v", err)
		r.report()
		return
	}
	r.logf("healed; node %d leads; workload stopped", leader)
	r.checkCrashes()
	// Every node must take a new session and a write now; if one cannot, the checks below
	// cannot run (they need sessions on every node).
	if !r.probe() {
		r.report()
		return
	}

	// Final reads of every register on every node join the history.
	for _, n := range c.nodes[1:] {
		r.finalReads(n, keys, rec, nWorkers+n.id-1)
	}
	for _, w := range workers {
		w.closeAll()
	}
	r.logf("sessions closed")
	r.checkEphemerals()
	views := map[int]map[string]znode{}
	readStart := time.Now()
	for _, n := range c.nodes[1:] {
		v, err := r.readTree(n)
		if err != nil {
			r.fail("read the tree of node %d: %v", n.id, err)
			continue
		}
		views[n.id] = v
	}
	r.logf("read the tree of every node (%d znodes on node 1) in %v", len(views[1]), time.Since(readStart).Round(time.Millisecond))
	r.checkAgreement(views)
	r.checkSequential(views, rec)
	r.checkLinearizable(rec)
	r.checkCrashes()
	for _, l := range c.scanLogs() {
		r.fail("server log: %s", l)
	}
	rec.mu.Lock()
	var counts []string
	for k, v := range rec.counts {
		counts = append(counts, fmt.Sprintf("%s=%d", k, v))
	}
	rec.mu.Unlock()
	sort.Strings(counts)
	r.logf("operations: %s", strings.Join(counts, " "))
	r.report()
}

// createRetry creates p, retrying through connection loss; an existing node is fine.
func createRetry(c *zk.Conn, p, data string) error {
	var err error
	for i := 0; i < 50; i++ {
		_, err = c.Create(p, []byte(data), 0, acl)
		if err == nil || err == zk.ErrNodeExists {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// checkCrashes reports nodes that exited without being killed, and starts them again.
func (r *run) checkCrashes() {
	for _, n := range r.c.nodes[1:] {
		if exited, err := n.exitedOnItsOwn(); exited {
			r.fail("node %d exited on its own (%v); log tail:\n%s", n.id, err, n.logTail(30))
			r.c.kill(n) // reap
			if err := r.c.start(n); err != nil {
				r.fail("restart node %d: %v", n.id, err)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------
// Nemesis

type nemesis struct {
	r      *run
	rng    *rand.Rand
	down   map[int]bool
	counts map[string]int
}

func (m *nemesis) sleep(min, max time.Duration, end time.Time) {
	d := min + time.Duration(m.rng.Int64N(int64(max-min)))
	if until := time.Until(end); d > until && until > 0 {
		d = until
	}
	time.Sleep(d)
}

func (m *nemesis) quiet(end time.Time) {
	m.sleep(500*time.Millisecond, 2*time.Second, end)
	m.r.checkCrashes()
}

func (m *nemesis) summary() string {
	var s []string
	for k, v := range m.counts {
		s = append(s, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// pick returns the leader (or a random node when none leads now) and a node that is not it.
// pick returns the leader and another voter.
func (m *nemesis) pick() (leader, other int) {
	c := m.r.c
	leader = c.leader(2 * time.Second)
	if leader == 0 {
		leader = 1 + m.rng.IntN(c.voters)
	}
	other = 1 + m.rng.IntN(c.voters-1)
	if other >= leader {
		other++
	}
	return leader, other
}

// fault injects one fault, holds it and heals it.
func (m *nemesis) fault(end time.Time) {
	if m.counts == nil {
		m.counts = map[string]int{}
	}
	c, r := m.r.c, m.r
	leader, other := m.pick()
	kinds := []string{"kill-leader", "kill-follower", "pause-leader", "pause-node", "isolate-leader", "isolate-node", "cut-link",
		"kill-two", "kill-all", "kill-observer", "kill-observer-master"}
	kind := kinds[m.rng.IntN(len(kinds))]
	m.counts[kind]++
	hold := func() { m.sleep(time.Second, 4*time.Second, end.Add(2*time.Second)) }
	killOne := func(id int) { // kill -9, down for a while, back
		r.logf("nemesis: kill -9 node %d (%s)", id, kind)
		c.kill(c.nodes[id])
		m.down[id] = true
		m.sleep(200*time.Millisecond, 3*time.Second, end.Add(2*time.Second))
		m.healAll()
	}
	switch kind {
	case "kill-leader", "kill-follower":
		id := leader
		if kind == "kill-follower" {
			id = other
		}
		killOne(id)
	case "kill-observer", "kill-observer-master":
		// An observer, or the follower it synchronises with (its observers move on).
		id := c.size()
		if kind == "kill-observer-master" {
			if id = m.observerMaster(); id == 0 {
				id = other
			}
		}
		killOne(id)
	case "kill-two", "kill-all":
		// No quorum left: the survivor (if any) must stop serving; after the restart the
		// ensemble recovers every acknowledged write from the disks.
		ids := []int{leader, other}
		if kind == "kill-all" {
			ids = nil
			for id := 1; id <= c.size(); id++ {
				ids = append(ids, id)
			}
		}
		r.logf("nemesis: kill -9 nodes %v (%s)", ids, kind)
		for _, id := range ids {
			c.kill(c.nodes[id])
			m.down[id] = true
		}
		m.sleep(200*time.Millisecond, 3*time.Second, end.Add(2*time.Second))
		m.healAll()
	case "pause-leader", "pause-node":
		id := leader
		if kind == "pause-node" {
			id = 1 + m.rng.IntN(c.size())
		}
		r.logf("nemesis: SIGSTOP node %d (%s)", id, kind)
		if err := c.pause(c.nodes[id]); err != nil {
			r.logf("nemesis: pause: %v", err)
		}
		hold()
		m.healAll()
	case "isolate-leader", "isolate-node":
		id := leader
		if kind == "isolate-node" {
			id = 1 + m.rng.IntN(c.size())
		}
		r.logf("nemesis: isolate node %d from the others (%s)", id, kind)
		for _, n := range c.nodes[1:] {
			if n.id != id {
				if err := r.fw.cut(c.nodes[id].ip, n.ip); err != nil {
					r.fail("firewall: %v", err)
				}
			}
		}
		hold()
		m.healAll()
	case "cut-link":
		a, b := leader, other
		r.logf("nemesis: cut the link %d-%d only (leader %d)", a, b, leader)
		if err := r.fw.cut(c.nodes[a].ip, c.nodes[b].ip); err != nil {
			r.fail("firewall: %v", err)
		}
		hold()
		m.healAll()
	}
}

// observerMaster is the voter the (last) observer synchronises with, from its mntr; 0 when
// it does not say.
func (m *nemesis) observerMaster() int {
	n := m.r.c.nodes[m.r.c.size()]
	out, err := fourLetter(n.clientAddr(), "mntr", time.Second)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "zk_observer_master_id\t"); ok {
			if id, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && id >= 1 && id <= m.r.c.voters {
				return id
			}
		}
	}
	return 0
}

// healAll removes every cut, resumes paused nodes and restarts killed ones.
func (m *nemesis) healAll() {
	r, c := m.r, m.r.c
	if err := r.fw.heal(); err != nil {
		r.fail("firewall heal: %v", err)
	}
	for _, n := range c.nodes[1:] {
		if n.isPaused() {
			if err := c.resume(n); err != nil {
				r.fail("SIGCONT node %d: %v", n.id, err)
			}
		}
	}
	for id := range m.down {
		if err := c.start(c.nodes[id]); err != nil {
			r.fail("restart node %d: %v", id, err)
		}
		delete(m.down, id)
	}
	r.logf("nemesis: healed")
}

// ---------------------------------------------------------------------------------------
// Checks

// nodeClient opens a session on node n alone and waits for it.
func nodeClient(n *node) (*zk.Conn, error) {
	c, err := connect([]string{n.clientAddr()}, sessionTimeout)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			c.Close()
			return nil, fmt.Errorf("no session with node %d within 10 s", n.id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c, nil
}

// probe opens a session on each node and writes through it (the data of the root).
func (r *run) probe() bool {
	ok := true
	for _, n := range r.c.nodes[1:] {
		c, err := nodeClient(n)
		if err != nil {
			r.fail("node %d takes no new session after every fault was healed: %v", n.id, err)
			ok = false
			continue
		}
		res := make(chan error, 1)
		go func() { _, err := c.Set(root, []byte(fmt.Sprintf("probe-%d", n.id)), -1); res <- err }()
		select {
		case err = <-res:
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("no answer within 10 s")
		}
		c.Close()
		if err != nil {
			r.fail("node %d: a write after every fault was healed: %v", n.id, err)
			ok = false
		}
	}
	return ok
}

// finalReads reads every key on n after a sync and adds the reads to the history.
func (r *run) finalReads(n *node, keys []string, rec *recorder, client int) {
	c, err := nodeClient(n)
	if err != nil {
		r.fail("final reads on node %d: %v", n.id, err)
		return
	}
	defer c.Close()
	for _, k := range keys {
		call := rec.now()
		if _, err := c.Sync(k); err != nil {
			r.fail("final sync %s on node %d: %v", k, n.id, err)
			continue
		}
		data, st, err := c.Get(k)
		if err != nil {
			r.fail("final read %s on node %d: %v", k, n.id, err)
			continue
		}
		rec.add(porcupine.Operation{ClientId: client, Input: regInput{key: k, kind: opRead}, Call: call,
			Output: regOutput{val: string(data), ver: st.Version}, Return: rec.now()}, "read.final")
	}
}

// checkEphemerals: with every session closed (or expiring), every node's ephemeral parent
// must become empty within the session timeout (plus an election's worth of slack).
func (r *run) checkEphemerals() {
	deadline := time.Now().Add(sessionTimeout + 15*time.Second)
	for _, n := range r.c.nodes[1:] {
		c, err := nodeClient(n)
		if err != nil {
			r.fail("ephemeral check on node %d: %v", n.id, err)
			continue
		}
		var left []string
		for {
			left = left[:0]
			_, err := c.Sync(root + "/eph")
			var kids []string
			if err == nil {
				kids, _, err = c.Children(root + "/eph")
			}
			if err == nil && len(kids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				if err != nil {
					left = append(left, err.Error())
				}
				for _, k := range kids {
					_, st, err := c.Get(root + "/eph/" + k)
					if err == nil {
						left = append(left, fmt.Sprintf("%s (session 0x%x, czxid 0x%x)", k, st.EphemeralOwner, st.Czxid))
					}
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
		if len(left) > 0 {
			if len(left) > 10 {
				left = append(left[:10], fmt.Sprintf("... and %d more", len(left)-10))
			}
			r.fail("node %d: %d ephemerals outlived their closed sessions by %v: %s", n.id, len(left),
				sessionTimeout+15*time.Second, strings.Join(left, ", "))
		}
	}
}

// znode is one node of a tree as read from a member.
type znode struct {
	data string
	stat zk.Stat
}

func (z znode) String() string {
	s := z.stat
	return fmt.Sprintf("data=%.40q version=%d cversion=%d aversion=%d czxid=0x%x mzxid=0x%x pzxid=0x%x ctime=%d mtime=%d owner=0x%x children=%d",
		z.data, s.Version, s.Cversion, s.Aversion, s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime, s.EphemeralOwner, s.NumChildren)
}

// readTree reads the tree under root from n alone, after a sync.
func (r *run) readTree(n *node) (map[string]znode, error) {
	c, err := nodeClient(n)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Sync(root); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	out := map[string]znode{}
	var mu sync.Mutex
	var firstErr error
	paths := []string{root}
	for len(paths) > 0 {
		var next []string
		ch := make(chan string)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range ch {
					data, st, err := c.Get(p)
					var kids []string
					if err == nil && st.NumChildren > 0 {
						kids, _, err = c.Children(p)
					}
					mu.Lock()
					if err != nil {
						if firstErr == nil {
							firstErr = fmt.Errorf("%s: %w", p, err)
						}
					} else {
						out[p] = znode{data: string(data), stat: *st}
						for _, k := range kids {
							next = append(next, p+"/"+k)
						}
					}
					mu.Unlock()
				}
			}()
		}
		for _, p := range paths {
			ch <- p
		}
		close(ch)
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		paths = next
	}
	return out, nil
}

// checkAgreement: every node holds the same tree.
func (r *run) checkAgreement(views map[int]map[string]znode) {
	ids := make([]int, 0, len(views))
	for id := range views {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	if len(ids) < 2 {
		return
	}
	ref := ids[0]
	for _, id := range ids[1:] {
		var diffs []string
		a, b := views[ref], views[id]
		for p, za := range a {
			zb, ok := b[p]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s: on node %d (%v), missing on node %d", p, ref, za, id))
			case za != zb:
				diffs = append(diffs, fmt.Sprintf("%s:\n      node %d: %v\n      node %d: %v", p, ref, za, id, zb))
			}
		}
		for p, zb := range b {
			if _, ok := a[p]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: on node %d (%v), missing on node %d", p, id, zb, ref))
			}
		}
		if len(diffs) > 0 {
			sort.Strings(diffs)
			n := len(diffs)
			if n > 15 {
				diffs = append(diffs[:15], fmt.Sprintf("... and %d more", n-15))
			}
			r.fail("nodes %d and %d disagree on %d znodes (%d and %d znodes under %s):\n    %s", ref, id, n, len(a), len(b), root,
				strings.Join(diffs, "\n    "))
		}
	}
}

// checkSequential: every acknowledged sequential create is on every node, with its data,
// under the name it was given; no create shows up twice; nothing failed shows up.
func (r *run) checkSequential(views map[int]map[string]znode, rec *recorder) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	byData := map[string]*seqCreate{}
	names := map[string]string{}
	for _, s := range rec.seqs {
		byData[s.data] = s
		if s.out == acked {
			if prev, dup := names[s.name]; dup {
				r.fail("sequential name %s acknowledged twice (%q and %q)", s.name, prev, s.data)
			}
			names[s.name] = s.data
		}
	}
	for id := 1; id <= r.c.size(); id++ {
		v, ok := views[id]
		if !ok {
			continue
		}
		var errs []string
		for _, s := range rec.seqs {
			if s.out != acked {
				continue
			}
			z, ok := v[s.name]
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("acknowledged %s (%q) is lost", s.name, s.data))
			case z.data != s.data:
				errs = append(errs, fmt.Sprintf("acknowledged %s holds %q, want %q", s.name, z.data, s.data))
			}
		}
		seen := map[string]string{}
		for p, z := range v {
			if !strings.HasPrefix(p, root+"/seq/") {
				continue
			}
			s := byData[z.data]
			switch {
			case s == nil:
				errs = append(errs, fmt.Sprintf("%s holds %q, which no create sent", p, z.data))
			case s.out == failed:
				errs = append(errs, fmt.Sprintf("%s holds %q, whose create failed: %v", p, z.data, s.err))
			}
			if prev, dup := seen[z.data]; dup {
				errs = append(errs, fmt.Sprintf("%q created twice: %s and %s", z.data, prev, p))
			}
			seen[z.data] = p
		}
		if len(errs) > 0 {
			sort.Strings(errs)
			n := len(errs)
			if n > 15 {
				errs = append(errs[:15], fmt.Sprintf("... and %d more", n-15))
			}
			r.fail("node %d: %d sequential-create violations:\n    %s", id, n, strings.Join(errs, "\n    "))
		}
	}
}

// checkLinearizable checks each register's history on its own, a few at a time, each with
// a time limit: one key whose history is hard to decide (many writes without an answer)
// does not keep the others from being checked.
func (r *run) checkLinearizable(rec *recorder) {
	rec.mu.Lock()
	ops := append([]porcupine.Operation(nil), rec.ops...)
	rec.mu.Unlock()
	parts := registerModel.Partition(ops)
	type result struct {
		res  porcupine.CheckResult
		info porcupine.LinearizationInfo
	}
	results := make([]result, len(parts))
	start := time.Now()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, info := porcupine.CheckOperationsVerbose(registerModel, part, keyCheckTimeout)
			results[i] = result{res, info}
		}()
	}
	wg.Wait()
	undecided := 0
	for i, part := range parts {
		key := part[0].Input.(regInput).key
		noAnswer := 0
		for _, o := range part {
			if o.Return == never {
				noAnswer++
			}
		}
		switch results[i].res {
		case porcupine.Illegal:
			dir := r.failureDir()
			path := filepath.Join(dir, "linearizability-"+strings.ReplaceAll(strings.TrimPrefix(key, root+"/reg/"), "/", "_")+".html")
			if err := porcupine.VisualizePath(registerModel, results[i].info, path); err != nil {
				path = fmt.Sprintf("(visualization failed: %v)", err)
			}
			r.fail("the history of %s is not linearizable (%d operations, %d without answer); visualization: %s\n%s",
				key, len(part), noAnswer, path, explain(results[i].info, part, dir))
		case porcupine.Unknown:
			undecided++
			r.logf("porcupine: %s undecided after %v (%d operations, %d without answer; not a failure)", key, keyCheckTimeout, len(part), noAnswer)
		}
	}
	r.logf("porcupine: %d operations on %d keys checked in %v (%d undecided)", len(ops), len(parts),
		time.Since(start).Round(time.Millisecond), undecided)
}

// failureDir is where a failing run keeps its evidence; it survives the run.
func (r *run) failureDir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keepDir == "" {
		d, err := os.MkdirTemp("", fmt.Sprintf("faulttest-failure-%d-", r.seed))
		if err != nil {
			d = os.TempDir()
		}
		r.keepDir = d
	}
	return r.keepDir
}

// report fails the test with every violation, the node logs' tails and the timeline, and
// keeps the full logs.
func (r *run) report() {
	r.mu.Lock()
	errs := append([]string(nil), r.errs...)
	r.mu.Unlock()
	if len(errs) == 0 {
		r.t.Logf("FAULTTEST_SEED=%d: no violation in %v", r.seed, time.Since(r.begin).Round(time.Millisecond))
		return
	}
	dir := r.failureDir()
	var b strings.Builder
	for _, n := range r.c.nodes[1:] {
		if data, err := os.ReadFile(n.logPath); err == nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(n.logPath)), data, 0o644)
		}
		fmt.Fprintf(&b, "\n--- node %d (%s) log tail:\n%s\n", n.id, n.ip, n.logTail(40))
	}
	r.mu.Lock()
	timeline := strings.Join(r.timeline, "\n")
	r.mu.Unlock()
	os.WriteFile(filepath.Join(dir, "timeline.txt"), []byte(timeline+"\n"), 0o644)
	r.t.Errorf("FAULTTEST_SEED=%d: %d violations:\n  - %s\n%s\nfirewall chain now:\n%s\nlogs, timeline and visualization kept in %s",
		r.seed, len(errs), strings.Join(errs, "\n  - "), b.String(), r.fw.rules(), dir)
}

// explain describes where each non-linearizable key got stuck: the end of the longest
// linearizable prefix the checker found, and the operations it could not place after it.
// The history, in call order, goes to history-<key>.txt in dir.
func explain(info porcupine.LinearizationInfo, ops []porcupine.Operation, dir string) string {
	describe := func(o porcupine.Operation) string {
		ret := "never"
		if o.Return != never {
			ret = fmt.Sprintf("%.6fs", time.Duration(o.Return).Seconds())
		}
		return fmt.Sprintf("client %d [%.6fs, %s] %s", o.ClientId, time.Duration(o.Call).Seconds(), ret,
			registerModel.DescribeOperation(o.Input, o.Output))
	}
	sorted := append([]porcupine.Operation(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Call < sorted[j].Call })
	var hist strings.Builder
	for _, o := range sorted {
		hist.WriteString(describe(o))
		hist.WriteByte('\n')
	}
	name := "history-" + strings.ReplaceAll(strings.TrimPrefix(sorted[0].Input.(regInput).key, root+"/reg/"), "/", "_") + ".txt"
	os.WriteFile(filepath.Join(dir, name), []byte(hist.String()), 0o644)

	var b strings.Builder
	parts := registerModel.Partition(ops)
	partials := info.PartialLinearizationsOperations()
	for i, part := range parts {
		if porcupine.CheckOperations(registerModel, part) {
			continue
		}
		key := part[0].Input.(regInput).key
		var best []porcupine.Operation
		if i < len(partials) {
			for _, l := range partials[i] {
				if len(l) > len(best) {
					best = l
				}
			}
		}
		state := registerModel.Init()
		for _, o := range best {
			_, state = registerModel.Step(state, o.Input, o.Output)
		}
		fmt.Fprintf(&b, "  %s: %d operations, longest linearizable prefix %d, ending in state %s:\n", key, len(part), len(best),
			registerModel.DescribeState(state))
		for _, o := range best[max(0, len(best)-6):] {
			fmt.Fprintf(&b, "    linearized  %s\n", describe(o))
		}
		placed := map[int64]bool{}
		for _, o := range best {
			placed[o.Call] = true
		}
		var rest []porcupine.Operation
		for _, o := range part {
			if !placed[o.Call] {
				rest = append(rest, o)
			}
		}
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].Call < rest[j].Call })
		for _, o := range rest[:min(len(rest), 8)] {
			fmt.Fprintf(&b, "    not placed  %s\n", describe(o))
		}
	}
	return b.String()
}
