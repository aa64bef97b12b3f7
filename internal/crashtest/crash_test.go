// Package crashtest kills a real zkserver process with SIGKILL at random moments under a
// concurrent write load and checks, after every restart on the same data dir, that every
// acknowledged write survived, that no rejected write had an effect, that writes whose outcome
// is unknown are all-or-nothing, and that sequential names are never handed out twice.
//
// Knobs (environment):
//
//	CRASHTEST_CYCLES   kill/restart cycles (default 20)
//	CRASHTEST_BUDGET   time budget of the cycles, a Go duration (default 80s); running out of
//	                   it before CRASHTEST_CYCLES cycles is a failure only below 20 cycles
//	CRASHTEST_SEED     random seed (default: time); printed, so a run can be repeated
//	CRASHTEST_WORKERS  concurrent writer sessions (default 6)
//	CRASHTEST_SERVER_RACE=1  build the server with -race and fail on a race report
//	CRASHTEST_KEEP=1   keep the data dir and logs (path is logged)
package crashtest

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/zkgo/zkgo/internal/zktest"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/persistence"
)

const (
	sessionTimeout = 10 * time.Second
	minCycles      = 20
	numCounters    = 3
	root           = "/crash"
)

var acl = zk.WorldACL(zk.PermAll)

// ---------------------------------------------------------------------------------------------
// Outcomes

type outcome int

const (
	acked    outcome = iota // the server replied OK
	rejected                // the server replied with an error: the write must have no effect
	unknown                 // no reply (connection lost): all or nothing
)

func (o outcome) String() string {
	return [...]string{"acked", "rejected", "unknown"}[o]
}

// classify maps a client result to an outcome. Only a server error reply counts as a
// rejection; anything else that is not OK (connection closed, no server, session expired
// seen by the client, timeouts, SYSTEMERROR) is treated as unknown.
func classify(err error) outcome {
	if err == nil {
		return acked
	}
	for _, e := range []error{zk.ErrNodeExists, zk.ErrBadVersion, zk.ErrNoNode, zk.ErrNotEmpty,
		zk.ErrNoChildrenForEphemerals, zk.ErrInvalidACL, zk.ErrNoAuth, zk.ErrBadArguments} {
		if errors.Is(err, e) {
			return rejected
		}
	}
	return unknown
}

// multiOutcome also looks at the per-op errors of a multi.
func multiOutcome(res []zk.MultiResponse, err error) outcome {
	if o := classify(err); o != acked {
		return o
	}
	for _, r := range res {
		if r.Error != nil {
			return classify(r.Error)
		}
	}
	return acked
}

// ---------------------------------------------------------------------------------------------
// Model of what was attempted and what the server answered

type createRec struct {
	path    string
	data    string
	out     outcome
	cycle   int
	eph     bool
	session int64
}

type seqRec struct {
	data  string
	out   outcome
	name  string // acked only
	cycle int
}

type vAttempt struct {
	ver  int32 // the version the write produces if it is applied
	data string
	out  outcome
}

// vnode is a node written only by version-checked setData (counters, multi targets).
type vnode struct {
	path     string
	attempts []vAttempt
}

type multiRec struct {
	id     string
	worker int
	a, b   string // created by the multi
	target string // setData target
	ver    int32  // version it produces on the target if applied (0 for rejected shapes)
	shape  string
	out    outcome
	cycle  int
}

type model struct {
	mu        sync.Mutex
	creates   map[string]*createRec
	seqs      map[string]*seqRec // by data
	seqNames  map[string]string  // acked name -> data
	vnodes    map[string]*vnode
	multis    map[string]*multiRec // by id
	multiPath map[string]*multiRec // a and b paths
	stats     map[string]int
	violation []string // found while the load ran (e.g. a reused sequential name)
	// closedEph: cycles whose ephemeral parent was seen empty after the sessions closed;
	// it must stay empty.
	closedEph map[int]bool
	maxSeq    int64 // largest acked sequence number of the finished cycles
}

func newModel() *model {
	return &model{
		creates: map[string]*createRec{}, seqs: map[string]*seqRec{}, seqNames: map[string]string{},
		vnodes: map[string]*vnode{}, multis: map[string]*multiRec{}, multiPath: map[string]*multiRec{},
		stats: map[string]int{}, closedEph: map[int]bool{}, maxSeq: -1,
	}
}

func (m *model) count(kind string, o outcome) {
	m.stats[kind+"."+o.String()]++
}

func (m *model) violate(format string, args ...any) {
	m.mu.Lock()
	m.violation = append(m.violation, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// ---------------------------------------------------------------------------------------------
// The server process

type restartStat struct {
	wall     time.Duration // exec to accepting connections
	loadMs   float64       // the server's own "data loaded ... took"
	nodes    int
	replayed int
	dataDir  int64 // bytes in the data dir before the start
}

type serverProc struct {
	t       *testing.T
	bin     string
	dir     string
	dataDir string
	cfg     string
	addr    string
	race    bool

	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
	logPath string
	starts  int
	killed  bool
	stats   []restartStat
}

func (s *serverProc) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// start execs the server and waits until it accepts connections (or fails).
func (s *serverProc) start(timeout time.Duration) (restartStat, error) {
	s.starts++
	st := restartStat{dataDir: dirSize(s.dataDir)}
	s.logPath = filepath.Join(s.dir, fmt.Sprintf("server-%03d.log", s.starts))
	lf, err := os.Create(s.logPath)
	if err != nil {
		return st, err
	}
	cmd := exec.Command(s.bin, "start-foreground", s.cfg)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return st, err
	}
	s.cmd, s.done, s.killed = cmd, make(chan struct{}), false
	go func(done chan struct{}) {
		s.exitErr = cmd.Wait()
		lf.Close()
		close(done)
	}(s.done)
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-s.done:
			return st, fmt.Errorf("server exited during start: %v", s.exitErr)
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("server not serving after %v", timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	st.wall = time.Since(begin)
	st.loadMs, st.nodes, st.replayed = parseLoaded(s.logPath)
	s.stats = append(s.stats, st)
	return st, nil
}

// startOnly execs the server without waiting (to kill it while it restores).
func (s *serverProc) startOnly() error {
	s.starts++
	s.logPath = filepath.Join(s.dir, fmt.Sprintf("server-%03d.log", s.starts))
	lf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "start-foreground", s.cfg)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	s.cmd, s.done, s.killed = cmd, make(chan struct{}), false
	go func(done chan struct{}) {
		s.exitErr = cmd.Wait()
		lf.Close()
		close(done)
	}(s.done)
	return nil
}

// kill SIGKILLs the server's process group and waits for it. It reports whether the server
// was still running (an exit on its own is a failure the caller reports).
func (s *serverProc) kill() bool {
	if s.cmd == nil || s.cmd.Process == nil {
		return true
	}
	alive := s.running()
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("server pid %d did not die after SIGKILL", s.cmd.Process.Pid)
	}
	s.killed = true
	return alive
}

func (s *serverProc) tail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- %s (last %d lines) ---\n%s", s.logPath, len(lines), strings.Join(lines, "\n"))
}

var loadedRE = regexp.MustCompile(`data loaded.*`)

func parseLoaded(path string) (ms float64, nodes, replayed int) {
	b, _ := os.ReadFile(path)
	line := loadedRE.FindString(string(b))
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "took":
			ms, _ = strconv.ParseFloat(v, 64)
		case "nodes":
			nodes, _ = strconv.Atoi(v)
		case "replayed":
			replayed, _ = strconv.Atoi(v)
		}
	}
	return
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// scanLogs reports log lines that must not appear after a crash: errors, panics, races.
func scanLogs(dir string) (bad []string, warns map[string]int) {
	warns = map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "server-*.log"))
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.Contains(l, "DATA RACE"), strings.HasPrefix(l, "panic:"), strings.HasPrefix(l, "fatal error:"),
				strings.Contains(l, " ERR "), strings.Contains(l, " FTL "):
				bad = append(bad, filepath.Base(f)+": "+l)
			case strings.Contains(l, " WRN "):
				msg := l[strings.Index(l, " WRN ")+5:]
				if i := strings.Index(msg, "="); i > 0 {
					if j := strings.LastIndex(msg[:i], " "); j > 0 {
						msg = msg[:j]
					}
				}
				warns[msg]++
			}
		}
		fh.Close()
	}
	return bad, warns
}

// describeDataDir lists the files of a (dead) server's data dir and its catalog, for failures.
func describeDataDir(dataDir string) string {
	var b strings.Builder
	b.WriteString("--- data dir ---\n")
	ents, _ := os.ReadDir(persistence.SnapDir(dataDir))
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "  %-28s %10d\n", e.Name(), fi.Size())
		}
	}
	meta, err := persistence.OpenMeta(dataDir)
	if err != nil {
		fmt.Fprintf(&b, "catalog: %v\n", err)
		return b.String()
	}
	defer meta.Close()
	cat, err := meta.Catalog()
	fmt.Fprintf(&b, "--- catalog (%v) ---\n", err)
	for _, fi := range cat {
		fmt.Fprintf(&b, "  %-28s %-8s first=0x%x last=0x%x size=%d closed=%v\n", fi.Name, fi.Kind, fi.FirstZxid, fi.LastZxid, fi.Size, fi.Closed)
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------------
// Client plumbing

// fastRetry is a HostProvider for one server that retries every 20 ms instead of the
// client's default pause of a second after a full round of servers.
type fastRetry struct{ addr string }

func (f *fastRetry) Init([]string) error { return nil }
func (f *fastRetry) Len() int            { return 1 }
func (f *fastRetry) Next() (string, bool) {
	time.Sleep(20 * time.Millisecond)
	return f.addr, false
}
func (f *fastRetry) Connected() {}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func connect(addr string, timeout time.Duration) (*zk.Conn, error) {
	c, _, err := zk.Connect([]string{addr}, sessionTimeout, zk.WithHostProvider(&fastRetry{addr}),
		zk.WithLogger(nopLogger{}), zk.WithLogInfo(false), zk.WithMaxBufferSize(16<<20))
	if err != nil {
		return nil, err
	}
	if err := waitSession(c, 0, timeout); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// waitSession waits until c has a session (the given one, if sid != 0).
func waitSession(c *zk.Conn, sid int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c.State() == zk.StateHasSession {
			if sid == 0 || c.SessionID() == sid {
				return nil
			}
			return fmt.Errorf("session 0x%x was replaced by 0x%x (the server expired or lost it)", sid, c.SessionID())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no session after %v (state %v)", timeout, c.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ensure(c *zk.Conn, path string, data string) error {
	_, err := c.Create(path, []byte(data), 0, acl)
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func seqOf(name string) int64 {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// payload pads an id to a size so the data dir holds a realistic amount of data.
func payload(id string, size int) string {
	if size <= len(id)+1 {
		return id
	}
	return id + "|" + strings.Repeat(string(rune('a'+len(id)%26)), size-len(id)-1)
}

// ---------------------------------------------------------------------------------------------
// Load

type worker struct {
	id      int
	cycle   int
	c       *zk.Conn
	sid     int64
	m       *model
	rng     *rand.Rand
	n       int
	mine    []string // persistent paths this worker created with an ack (duplicate-create targets)
	lastSeq int64
}

func (w *worker) next() string {
	w.n++
	return fmt.Sprintf("%d-%d-%d", w.cycle, w.id, w.n)
}

func (w *worker) run(stop *atomic.Bool) {
	for !stop.Load() {
		switch p := w.rng.IntN(100); {
		case p < 28:
			w.create()
		case p < 48:
			w.counter()
		case p < 62:
			w.sequential()
		case p < 78:
			w.multi()
		case p < 90:
			w.ephemeral()
		default:
			w.duplicate()
		}
	}
}

func (w *worker) create() {
	id := w.next()
	path := fmt.Sprintf("%s/u/%d/%s", root, w.cycle, id)
	data := payload("u"+id, 16+w.rng.IntN(400))
	_, err := w.c.Create(path, []byte(data), 0, acl)
	o := classify(err)
	w.m.mu.Lock()
	w.m.creates[path] = &createRec{path: path, data: data, out: o, cycle: w.cycle}
	w.m.count("create", o)
	w.m.mu.Unlock()
	switch o {
	case acked:
		w.mine = append(w.mine, path)
	case rejected:
		w.m.violate("create of the fresh path %s was rejected: %v", path, err)
	}
}

func (w *worker) ephemeral() {
	id := w.next()
	path := fmt.Sprintf("%s/e/%d/%s", root, w.cycle, id)
	data := "e" + id
	_, err := w.c.Create(path, []byte(data), zk.FlagEphemeral, acl)
	o := classify(err)
	w.m.mu.Lock()
	w.m.creates[path] = &createRec{path: path, data: data, out: o, cycle: w.cycle, eph: true, session: w.sid}
	w.m.count("ephemeral", o)
	w.m.mu.Unlock()
	if o == rejected {
		w.m.violate("ephemeral create of the fresh path %s was rejected: %v", path, err)
	}
}

// duplicate creates an existing acknowledged node again: NODEEXISTS, and its data must stay.
func (w *worker) duplicate() {
	if len(w.mine) == 0 {
		w.create()
		return
	}
	path := w.mine[w.rng.IntN(len(w.mine))]
	_, err := w.c.Create(path, []byte("dup-"+w.next()), 0, acl)
	o := classify(err)
	w.m.mu.Lock()
	w.m.count("duplicate", o)
	w.m.mu.Unlock()
	if o == acked {
		w.m.violate("create of the existing node %s succeeded", path)
	} else if o == rejected && !errors.Is(err, zk.ErrNodeExists) {
		w.m.violate("create of the existing node %s: %v, want NODEEXISTS", path, err)
	}
}

func (w *worker) counter() {
	path := fmt.Sprintf("%s/c/%d", root, w.rng.IntN(numCounters))
	_, st, err := w.c.Get(path)
	if err != nil {
		return
	}
	data := "c" + w.next()
	nst, err := w.c.Set(path, []byte(data), st.Version)
	o := classify(err)
	w.m.mu.Lock()
	w.m.vnodes[path].attempts = append(w.m.vnodes[path].attempts, vAttempt{ver: st.Version + 1, data: data, out: o})
	w.m.count("setData", o)
	w.m.mu.Unlock()
	if o == acked && nst.Version != st.Version+1 {
		w.m.violate("setData %s with version %d acknowledged version %d", path, st.Version, nst.Version)
	}
	if o == rejected && !errors.Is(err, zk.ErrBadVersion) {
		w.m.violate("setData %s: %v, want BADVERSION or OK", path, err)
	}
}

func (w *worker) sequential() {
	data := "s" + w.next()
	name, err := w.c.Create(root+"/seq/s-", []byte(data), zk.FlagSequence, acl)
	o := classify(err)
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.m.count("sequential", o)
	rec := &seqRec{data: data, out: o, cycle: w.cycle}
	w.m.seqs[data] = rec
	if o != acked {
		return
	}
	rec.name = name
	if prev, dup := w.m.seqNames[name]; dup {
		w.m.violation = append(w.m.violation, fmt.Sprintf("sequential name %s handed out twice (to %q and %q)", name, prev, data))
	}
	w.m.seqNames[name] = data
	n := seqOf(name)
	if n <= w.lastSeq {
		w.m.violation = append(w.m.violation, fmt.Sprintf("worker %d got sequence %d after %d", w.id, n, w.lastSeq))
	}
	if n <= w.m.maxSeq {
		w.m.violation = append(w.m.violation, fmt.Sprintf("sequential name %s in cycle %d is not above %d, the largest acknowledged before the crash",
			name, w.cycle, w.m.maxSeq))
	}
	w.lastSeq = n
}

// multi creates two nodes and sets this worker's multi target with a version check; a few are
// built to fail (an existing node, a wrong version) and must then leave no trace.
func (w *worker) multi() {
	target := fmt.Sprintf("%s/mc/%d", root, w.id)
	_, st, err := w.c.Get(target)
	if err != nil {
		return
	}
	id := "m" + w.next()
	rec := &multiRec{id: id, worker: w.id, a: root + "/m/" + id + "-a", b: root + "/m/" + id + "-b",
		target: target, cycle: w.cycle, shape: "ok", ver: st.Version + 1}
	ops := []any{
		&zk.CreateRequest{Path: rec.a, Data: []byte(id), Acl: acl},
		&zk.CreateRequest{Path: rec.b, Data: []byte(payload(id, 100)), Acl: acl},
		&zk.SetDataRequest{Path: target, Data: []byte(id), Version: st.Version},
	}
	switch p := w.rng.IntN(10); {
	case p == 0 && len(w.mine) > 0:
		rec.shape = "exists"
		ops = append(ops, &zk.CreateRequest{Path: w.mine[w.rng.IntN(len(w.mine))], Data: []byte(id), Acl: acl})
	case p == 1:
		rec.shape = "badversion"
		ops[2] = &zk.SetDataRequest{Path: target, Data: []byte(id), Version: st.Version + 5}
	}
	res, err := w.c.Multi(ops...)
	o := multiOutcome(res, err)
	rec.out = o
	w.m.mu.Lock()
	w.m.multis[id] = rec
	w.m.multiPath[rec.a], w.m.multiPath[rec.b] = rec, rec
	w.m.vnodes[target].attempts = append(w.m.vnodes[target].attempts, vAttempt{ver: rec.ver, data: id, out: o})
	w.m.count("multi-"+rec.shape, o)
	w.m.mu.Unlock()
	if rec.shape != "ok" && o == acked {
		w.m.violate("multi %s built to fail (%s) was acknowledged", id, rec.shape)
	}
	if rec.shape == "ok" && o == rejected {
		w.m.violate("multi %s was rejected: %v", id, err)
	}
}

// ---------------------------------------------------------------------------------------------
// Verification

type checker struct {
	c     *zk.Conn
	m     *model
	errs  []string
	cycle int
	full  bool
}

func (k *checker) fail(format string, args ...any) {
	k.errs = append(k.errs, fmt.Sprintf(format, args...))
}

type nodeVal struct {
	data  string
	stat  *zk.Stat
	found bool
	err   error
}

// getAll reads nodes with a few requests in flight.
func (k *checker) getAll(paths []string) map[string]nodeVal {
	out := make(map[string]nodeVal, len(paths))
	var mu sync.Mutex
	ch := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				d, st, err := k.c.Get(p)
				v := nodeVal{data: string(d), stat: st, found: err == nil}
				if err != nil && !errors.Is(err, zk.ErrNoNode) {
					v.err = err
				}
				mu.Lock()
				out[p] = v
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		ch <- p
	}
	close(ch)
	wg.Wait()
	return out
}

func (k *checker) children(parent string) map[string]bool {
	kids, _, err := k.c.Children(parent)
	if err != nil {
		k.fail("list %s: %v", parent, err)
		return nil
	}
	set := make(map[string]bool, len(kids))
	for _, c := range kids {
		set[parent+"/"+c] = true
	}
	return set
}

// check verifies the whole model against the restarted server. alive holds the worker
// sessions of this cycle that came back.
func (k *checker) check(alive map[int64]bool) {
	m := k.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.violation {
		k.fail("during the load: %s", v)
	}
	m.violation = nil

	// Existence of every create, from the listings of the parents.
	present := map[string]bool{}
	for c := 0; c <= k.cycle; c++ {
		for p := range k.children(fmt.Sprintf("%s/u/%d", root, c)) {
			present[p] = true
		}
		for p := range k.children(fmt.Sprintf("%s/e/%d", root, c)) {
			present[p] = true
			if m.closedEph[c] {
				k.fail("ephemeral %s is back although its session was closed (and the node seen gone) before the crash", p)
			}
		}
	}
	for p := range k.children(root + "/m") {
		present[p] = true
	}
	seqKids := k.children(root + "/seq")
	var toRead []string
	for p := range present {
		if _, ok := m.creates[p]; !ok {
			if _, ok := m.multiPath[p]; !ok {
				k.fail("node %s exists but was never created", p)
			}
		}
	}
	for p, r := range m.creates {
		has := present[p]
		switch {
		case r.eph && r.cycle != k.cycle:
			// Its session is closed; the node may linger only until the close is applied.
		case r.eph && !alive[r.session]:
			// Session lost: reported by the caller.
		case r.out == acked && !has:
			k.fail("acknowledged create of %s (cycle %d) is lost", p, r.cycle)
		case r.out == rejected && has:
			k.fail("rejected create %s has an effect: the node exists", p)
		}
		if has && (k.full || r.cycle == k.cycle) {
			toRead = append(toRead, p)
		}
	}
	// Multis: all or nothing, acknowledged ones applied, rejected ones not.
	applied := map[int]map[int32]*multiRec{}
	for _, r := range m.multis {
		ha, hb := present[r.a], present[r.b]
		if ha != hb {
			k.fail("multi %s (%s) applied in part: %s exists=%v, %s exists=%v", r.id, r.out, r.a, ha, r.b, hb)
		}
		if r.out == acked && !(ha && hb) {
			k.fail("acknowledged multi %s (cycle %d) is lost", r.id, r.cycle)
		}
		if (r.out == rejected || r.shape != "ok") && (ha || hb) {
			k.fail("rejected multi %s (%s) has an effect", r.id, r.shape)
		}
		if ha || hb {
			if applied[r.worker] == nil {
				applied[r.worker] = map[int32]*multiRec{}
			}
			if prev := applied[r.worker][r.ver]; prev != nil {
				k.fail("multis %s and %s both applied with the same expected version %d of %s", prev.id, r.id, r.ver-1, r.target)
			}
			applied[r.worker][r.ver] = r
			if k.full || r.cycle == k.cycle {
				toRead = append(toRead, r.a, r.b)
			}
		}
	}
	// Sequential nodes: every acknowledged name exists; every child is one attempt, once.
	for name, data := range m.seqNames {
		if !seqKids[name] {
			k.fail("sequential node %s (%q), acknowledged or seen before, is lost", name, data)
		}
	}
	for p := range seqKids {
		if _, ok := m.seqNames[p]; ok && !k.full {
			continue // read below only in the full check
		}
		toRead = append(toRead, p)
	}
	var vpaths []string
	for p := range m.vnodes {
		vpaths = append(vpaths, p)
	}
	toRead = append(toRead, vpaths...)
	sort.Strings(toRead)

	m.mu.Unlock()
	vals := k.getAll(toRead)
	m.mu.Lock()

	for p, v := range vals {
		if v.err != nil {
			k.fail("get %s: %v", p, v.err)
		}
	}
	for _, p := range toRead {
		v := vals[p]
		if v.err != nil {
			continue
		}
		if r, ok := m.creates[p]; ok {
			if !v.found {
				if r.out == acked && !r.eph {
					k.fail("acknowledged create of %s vanished", p)
				}
				continue
			}
			if v.data != r.data {
				k.fail("%s holds %.40q, want %.40q (create %s)", p, v.data, r.data, r.out)
			}
			if r.eph && v.stat.EphemeralOwner != r.session {
				k.fail("ephemeral %s is owned by 0x%x, want 0x%x", p, v.stat.EphemeralOwner, r.session)
			}
			if !r.eph && v.stat.EphemeralOwner != 0 {
				k.fail("persistent %s has an ephemeral owner 0x%x", p, v.stat.EphemeralOwner)
			}
			continue
		}
		if r, ok := m.multiPath[p]; ok {
			want := r.id
			if p == r.b {
				want = payload(r.id, 100)
			}
			if v.found && v.data != want {
				k.fail("%s holds %.40q, want %.40q (multi %s)", p, v.data, want, r.out)
			}
			continue
		}
		if strings.HasPrefix(p, root+"/seq/") {
			if !v.found {
				continue
			}
			r := m.seqs[v.data]
			switch {
			case r == nil:
				k.fail("sequential node %s holds %.40q, which no create sent", p, v.data)
			case r.out == rejected:
				k.fail("sequential node %s holds the data of a rejected create", p)
			case r.name != "" && r.name != p:
				k.fail("sequential node %s holds %q, which is (acknowledged or seen) at %s", p, v.data, r.name)
			case r.name == "":
				r.name = p // an unknown create that was applied: it must not show up twice
				m.seqNames[p] = v.data
			}
			continue
		}
		if vn, ok := m.vnodes[p]; ok {
			if !v.found {
				k.fail("versioned node %s is gone", p)
				continue
			}
			k.checkVersioned(vn, v.data, v.stat.Version)
			if strings.HasPrefix(p, root+"/mc/") {
				wid, _ := strconv.Atoi(p[len(root+"/mc/"):])
				for ver := int32(1); ver <= v.stat.Version; ver++ {
					if applied[wid][ver] == nil {
						k.fail("%s is at version %d but no applied multi produced version %d", p, v.stat.Version, ver)
						break
					}
				}
				for ver, r := range applied[wid] {
					if ver > v.stat.Version {
						k.fail("multi %s is applied but %s is at version %d < %d", r.id, p, v.stat.Version, ver)
					}
				}
			}
		}
	}
}

// checkVersioned: the version is at least the largest acknowledged one; at exactly that
// version the data is the acknowledged value; above it, the data is the value of an unknown
// write that expected the version before.
func (k *checker) checkVersioned(vn *vnode, data string, ver int32) {
	var maxAck int32
	ackData := "init"
	for _, a := range vn.attempts {
		if a.out == acked && a.ver > maxAck {
			maxAck, ackData = a.ver, a.data
		}
	}
	switch {
	case ver < maxAck:
		k.fail("%s is at version %d, but version %d (%q) was acknowledged", vn.path, ver, maxAck, ackData)
	case ver == maxAck:
		if data != ackData {
			k.fail("%s at the acknowledged version %d holds %q, want %q", vn.path, ver, data, ackData)
		}
	default:
		for _, a := range vn.attempts {
			if a.data == data {
				if a.out != unknown || a.ver != ver {
					k.fail("%s at version %d holds %q, written by a %s setData for version %d", vn.path, ver, data, a.out, a.ver)
				}
				return
			}
		}
		k.fail("%s at version %d (acknowledged %d) holds %q, which no write sent", vn.path, ver, maxAck, data)
	}
}

// ---------------------------------------------------------------------------------------------
// The test

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatalf("no go.mod above %s", dir)
	return ""
}

func buildServer(t *testing.T, race bool) string {
	bin := filepath.Join(t.TempDir(), "zkserver")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/zkserver")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(gobin, args...)
	cmd.Dir = repoRoot(t)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built %s in %v (race=%v)", bin, time.Since(start).Round(time.Millisecond), race)
	return bin
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts real server processes")
	}
	cycles := envInt("CRASHTEST_CYCLES", minCycles)
	nWorkers := envInt("CRASHTEST_WORKERS", 6)
	budget := 80 * time.Second
	if d, err := time.ParseDuration(os.Getenv("CRASHTEST_BUDGET")); err == nil && d > 0 {
		budget = d
	} else if cycles > minCycles {
		budget = time.Duration(cycles) * 4 * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("CRASHTEST_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("CRASHTEST_SEED=%d cycles=%d workers=%d budget=%v", seed, cycles, nWorkers, budget)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	race := os.Getenv("CRASHTEST_SERVER_RACE") == "1"
	bin := buildServer(t, race)

	dir := t.TempDir()
	if os.Getenv("CRASHTEST_KEEP") == "1" {
		var err error
		if dir, err = os.MkdirTemp("", "crashtest-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("keeping %s", dir)
	}
	port := zktest.FreePort(t)
	srv := &serverProc{t: t, bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"),
		cfg: filepath.Join(dir, "zoo.cfg"), addr: fmt.Sprintf("127.0.0.1:%d", port), race: race}
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"+
		"snapCount=100\npreAllocSize=64\nautopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n"+
		"maxClientCnxns=0\n", srv.dataDir, port)
	if err := os.WriteFile(srv.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.kill() })
	var conns []*zk.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close() // a no-op for closed ones; at most a second for the others
		}
	})
	dial := func() (*zk.Conn, error) {
		c, err := connect(srv.addr, 10*time.Second)
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	fatal := func(format string, args ...any) {
		t.Helper()
		srv.kill()
		t.Fatalf("%s\n%s\n%s", fmt.Sprintf(format, args...), srv.tail(60), describeDataDir(srv.dataDir))
	}

	startTimeout := 20 * time.Second
	if race {
		startTimeout = 60 * time.Second
	}
	if _, err := srv.start(startTimeout); err != nil {
		fatal("first start: %v", err)
	}
	m := newModel()
	{
		c, err := dial()
		if err != nil {
			fatal("connect: %v", err)
		}
		for _, p := range []string{root, root + "/u", root + "/e", root + "/m", root + "/seq", root + "/c", root + "/mc"} {
			if err := ensure(c, p, ""); err != nil {
				c.Close()
				fatal("%v", err)
			}
		}
		for i := range numCounters {
			p := fmt.Sprintf("%s/c/%d", root, i)
			m.vnodes[p] = &vnode{path: p}
			if err := ensure(c, p, "init"); err != nil {
				fatal("%v", err)
			}
		}
		for i := range nWorkers {
			p := fmt.Sprintf("%s/mc/%d", root, i)
			m.vnodes[p] = &vnode{path: p}
			if err := ensure(c, p, "init"); err != nil {
				fatal("%v", err)
			}
		}
		c.Close()
	}

	begin := time.Now()
	kills, startKills := 0, 0
	var loadTimes []time.Duration
	done := 0
	for cycle := 0; cycle < cycles; cycle++ {
		if time.Since(begin) > budget {
			if done < minCycles {
				t.Errorf("only %d cycles within the budget of %v (want at least %d)", done, budget, minCycles)
			}
			t.Logf("budget of %v used up after %d cycles", budget, done)
			break
		}
		admin, err := dial()
		if err != nil {
			fatal("cycle %d: admin connect: %v", cycle, err)
		}
		for _, p := range []string{fmt.Sprintf("%s/u/%d", root, cycle), fmt.Sprintf("%s/e/%d", root, cycle)} {
			if _, err := admin.Create(p, nil, 0, acl); err != nil {
				admin.Close()
				fatal("cycle %d: create %s: %v", cycle, p, err)
			}
		}
		admin.Close()

		// The load: fresh sessions each cycle.
		workers := make([]*worker, nWorkers)
		for i := range workers {
			c, err := dial()
			if err != nil {
				fatal("cycle %d: worker connect: %v", cycle, err)
			}
			workers[i] = &worker{id: i, cycle: cycle, c: c, sid: c.SessionID(), m: m, lastSeq: -1,
				rng: rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))}
		}
		closeWorkers := func() {
			for _, w := range workers {
				w.c.Close()
			}
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(&stop) }()
		}
		delay := time.Duration(10+rng.IntN(1200)) * time.Millisecond
		time.Sleep(delay)
		loadTimes = append(loadTimes, delay)

		// SIGKILL at a random moment, then now and then once more while it restores.
		stop.Store(true)
		if !srv.kill() {
			closeWorkers()
			fatal("cycle %d: the server exited on its own (%v)", cycle, srv.exitErr)
		}
		kills++
		for rng.IntN(4) == 0 {
			if err := srv.startOnly(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
			srv.kill()
			startKills++
		}
		st, err := srv.start(startTimeout)
		if err != nil {
			closeWorkers()
			fatal("cycle %d: restart after kill: %v", cycle, err)
		}

		// Every call returns: an operation sent after the kill goes out on the new connection.
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			closeWorkers()
			fatal("cycle %d: workers still blocked 30 s after the restart", cycle)
		}
		// The sessions were acknowledged, so they must come back.
		alive := map[int64]bool{}
		var lost []string
		for _, w := range workers {
			if err := waitSession(w.c, w.sid, 15*time.Second); err != nil {
				lost = append(lost, fmt.Sprintf("worker %d: %v", w.id, err))
				continue
			}
			alive[w.sid] = true
		}
		admin, err = dial()
		if err != nil {
			closeWorkers()
			fatal("cycle %d: connect after restart: %v", cycle, err)
		}
		k := &checker{c: admin, m: m, cycle: cycle, full: cycle == cycles-1 || cycle%5 == 4}
		for _, l := range lost {
			k.fail("session lost across the restart: %s", l)
		}
		k.check(alive)

		// Close the sessions; their ephemerals go, and must stay gone.
		closeWorkers()
		ephParent := fmt.Sprintf("%s/e/%d", root, cycle)
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if kids, _, err := admin.Children(ephParent); err == nil && len(kids) == 0 {
				m.mu.Lock()
				m.closedEph[cycle] = true
				m.mu.Unlock()
				break
			}
		}
		admin.Close()
		m.mu.Lock()
		for n := range m.seqNames {
			m.maxSeq = max(m.maxSeq, seqOf(n))
		}
		m.mu.Unlock()
		done++
		if len(k.errs) > 0 {
			if len(k.errs) > 40 {
				k.errs = append(k.errs[:40], fmt.Sprintf("... and %d more", len(k.errs)-40))
			}
			fatal("cycle %d (killed after %v, seed %d): %d violations:\n  %s", cycle, delay, seed,
				len(k.errs), strings.Join(k.errs, "\n  "))
		}
		t.Logf("cycle %2d: killed after %4v; restart %6v (load %.1f ms, %d nodes, %d replayed, data dir %.1f MB); %d violations",
			cycle, delay.Round(time.Millisecond), st.wall.Round(time.Microsecond), st.loadMs, st.nodes, st.replayed,
			float64(st.dataDir)/1e6, len(k.errs))
	}
	srv.kill()

	bad, warns := scanLogs(dir)
	for _, l := range bad {
		t.Errorf("server log: %s", l)
	}
	var wl []string
	for msg, n := range warns {
		wl = append(wl, fmt.Sprintf("%dx %s", n, msg))
	}
	sort.Strings(wl)
	m.mu.Lock()
	var sl []string
	for k, v := range m.stats {
		sl = append(sl, fmt.Sprintf("%s=%d", k, v))
	}
	m.mu.Unlock()
	sort.Strings(sl)
	var walls []time.Duration
	for _, s := range srv.stats {
		walls = append(walls, s.wall)
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	last := srv.stats[len(srv.stats)-1]
	t.Logf("%d cycles in %v: %d kills under load, %d kills during restart", done, time.Since(begin).Round(time.Millisecond), kills, startKills)
	t.Logf("writes: %s", strings.Join(sl, " "))
	t.Logf("restart (exec to serving): min %v median %v max %v; last: %d nodes, %d replayed, load %.1f ms, data dir %.1f MB",
		walls[0], walls[len(walls)/2], walls[len(walls)-1], last.nodes, last.replayed, last.loadMs, float64(last.dataDir)/1e6)
	if len(wl) > 0 {
		t.Logf("server warnings: %s", strings.Join(wl, "; "))
	}
}

// TestCheckerCatchesViolations feeds the checker a model that disagrees with the server in
// each way the crash test looks for, so a passing crash run means something.
func TestCheckerCatchesViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server process")
	}
	bin := buildServer(t, false)
	dir := t.TempDir()
	port := zktest.FreePort(t)
	srv := &serverProc{t: t, bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"),
		cfg: filepath.Join(dir, "zoo.cfg"), addr: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n", srv.dataDir, port)
	if err := os.WriteFile(srv.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.kill() })
	if _, err := srv.start(20 * time.Second); err != nil {
		t.Fatalf("start: %v\n%s", err, srv.tail(20))
	}
	c, err := connect(srv.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{root, root + "/u", root + "/u/0", root + "/e", root + "/e/0", root + "/m",
		root + "/seq", root + "/c", root + "/c/0", root + "/mc", root + "/mc/0"} {
		if err := ensure(c, p, "init"); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate := func(p, data string) {
		if _, err := c.Create(p, []byte(data), 0, acl); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	mustCreate(root+"/u/0/present", "right")
	mustCreate(root+"/u/0/wrongdata", "other")
	mustCreate(root+"/u/0/rejected", "x")
	mustCreate(root+"/u/0/phantom", "x")
	mustCreate(root+"/m/m1-a", "m1") // b missing: a partial multi
	seq, err := c.Create(root+"/seq/s-", []byte("s1"), zk.FlagSequence, acl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(root+"/c/0", []byte("c-unknown"), -1); err != nil {
		t.Fatal(err)
	}

	m := newModel()
	add := func(p, data string, o outcome) { m.creates[p] = &createRec{path: p, data: data, out: o} }
	add(root+"/u/0/present", "right", acked)
	add(root+"/u/0/lost", "gone", acked)
	add(root+"/u/0/wrongdata", "right", acked)
	add(root+"/u/0/rejected", "x", rejected)
	m.multis["m1"] = &multiRec{id: "m1", a: root + "/m/m1-a", b: root + "/m/m1-b", target: root + "/mc/0", ver: 1, shape: "ok", out: unknown}
	m.multiPath[root+"/m/m1-a"], m.multiPath[root+"/m/m1-b"] = m.multis["m1"], m.multis["m1"]
	m.vnodes[root+"/mc/0"] = &vnode{path: root + "/mc/0", attempts: []vAttempt{{ver: 1, data: "m1", out: unknown}}}
	// c/0 is at version 1 with "c-unknown", but the model says version 1 was rejected and
	// version 3 acknowledged.
	m.vnodes[root+"/c/0"] = &vnode{path: root + "/c/0", attempts: []vAttempt{{ver: 1, data: "c-unknown", out: rejected}, {ver: 3, data: "c3", out: acked}}}
	m.seqs["s1"] = &seqRec{data: "s1", out: acked, name: seq + "0"}
	m.seqNames[seq+"0"] = "s1"

	k := &checker{c: c, m: m, cycle: 0, full: true}
	k.check(map[int64]bool{})
	all := strings.Join(k.errs, "\n")
	for _, want := range []string{
		"acknowledged create of " + root + "/u/0/lost",
		root + "/u/0/wrongdata holds",
		"rejected create " + root + "/u/0/rejected",
		"node " + root + "/u/0/phantom exists but was never created",
		"multi m1 (unknown) applied in part",
		root + "/c/0 is at version 1, but version 3",
		"sequential node " + seq + "0",
		"sequential node " + seq + " holds",
		"multi m1 is applied but " + root + "/mc/0 is at version 0",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("checker missed %q; it reported:\n%s", want, all)
		}
	}
}
