package faulttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

var acl = zk.WorldACL(zk.PermAll)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// connect opens a session on servers from clientIP; operations wait until it is connected.
func connect(servers []string, timeout time.Duration) (*zk.Conn, error) {
	c, _, err := zk.Connect(servers, timeout, zk.WithDialer(dialClient), zk.WithLogger(nopLogger{}))
	return c, err
}

// outcome of a write as the client saw it.
type outcome int

const (
	acked   outcome = iota
	failed          // the server answered with an error: no effect
	unknown         // no answer: all or nothing
)

func (o outcome) String() string { return [...]string{"ok", "failed", "unknown"}[o] }

// classify maps a client error to an outcome: only an error code of the server is a
// definite failure; connection loss, an expired session, a closed client are unknown.
func classify(err error) outcome {
	if err == nil {
		return acked
	}
	for _, e := range []error{zk.ErrNoNode, zk.ErrNodeExists, zk.ErrBadVersion, zk.ErrNotEmpty,
		zk.ErrNoChildrenForEphemerals, zk.ErrInvalidACL, zk.ErrNoAuth, zk.ErrBadArguments} {
		if errors.Is(err, e) {
			return failed
		}
	}
	return unknown
}

// seqCreate is one sequential create: its unique data and what the client saw.
type seqCreate struct {
	data string
	out  outcome
	name string // acked only
	err  error
}

// recorder collects the history of every worker.
type recorder struct {
	base   time.Time
	mu     sync.Mutex
	ops    []porcupine.Operation
	seqs   []*seqCreate
	counts map[string]int
}

func newRecorder() *recorder { return &recorder{base: time.Now(), counts: map[string]int{}} }

func (r *recorder) now() int64 { return int64(time.Since(r.base)) }

func (r *recorder) add(op porcupine.Operation, kind string) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.counts[kind]++
	r.mu.Unlock()
}

func (r *recorder) count(kind string) {
	r.mu.Lock()
	r.counts[kind]++
	r.mu.Unlock()
}

// worker is one client of the workload: one session at a time, one operation at a time.
type worker struct {
	id       int
	servers  []string
	timeout  time.Duration
	keys     []string // numKeys registers per generation
	root     string
	rng      *rand.Rand
	rec      *recorder
	c        *zk.Conn
	n        int
	mu       sync.Mutex
	sessions []*zk.Conn // every session it opened, closed at the end
}

func (w *worker) next() string {
	w.n++
	return fmt.Sprintf("w%d-%d", w.id, w.n)
}

func (w *worker) open() error {
	c, err := connect(w.servers, w.timeout)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.c = c
	w.sessions = append(w.sessions, c)
	w.mu.Unlock()
	return nil
}

func (w *worker) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range w.sessions {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
}

func (w *worker) run(stop *atomic.Bool) {
	for !stop.Load() {
		switch p := w.rng.IntN(100); {
		case p < 32:
			w.write()
		case p < 64:
			w.read()
		case p < 80:
			w.cas()
		case p < 94:
			w.sequential()
		case p < 99:
			w.ephemeral()
		default:
			// A new session: the old one's ephemerals must go.
			old := w.c
			old.Close()
			w.rec.count("session.closed")
			if err := w.open(); err != nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(w.rng.IntN(3)) * time.Millisecond)
	}
}

// key picks a register of the current generation.
func (w *worker) key() string {
	g := min(int(time.Duration(w.rec.now())/keyGeneration), len(w.keys)/numKeys-1)
	return w.keys[g*numKeys+w.rng.IntN(numKeys)]
}

func (w *worker) write() {
	key, val := w.key(), w.next()
	call := w.rec.now()
	st, err := w.c.Set(key, []byte(val), -1)
	ret := w.rec.now()
	out := regOutput{}
	switch classify(err) {
	case acked:
		out.ver = st.Version
	case failed:
		w.rec.count("write.failed") // no effect: not part of the history
		return
	default:
		out.unknown, ret = true, never
	}
	w.rec.add(porcupine.Operation{ClientId: w.id, Input: regInput{key: key, kind: opWrite, val: val},
		Call: call, Output: out, Return: ret}, "write."+classify(err).String())
}

// read is sync + getData: linearizable in ZooKeeper only with the sync.
func (w *worker) read() {
	key := w.key()
	call := w.rec.now()
	if _, err := w.c.Sync(key); err != nil {
		w.rec.count("read.failed")
		return
	}
	data, st, err := w.c.Get(key)
	ret := w.rec.now()
	if err != nil {
		w.rec.count("read.failed") // a read without an answer has no effect
		return
	}
	w.rec.add(porcupine.Operation{ClientId: w.id, Input: regInput{key: key, kind: opRead},
		Call: call, Output: regOutput{val: string(data), ver: st.Version}, Return: ret}, "read.ok")
}

func (w *worker) cas() {
	key := w.key()
	_, st, err := w.c.Get(key) // any recent version; a stale one makes a BADVERSION
	if err != nil {
		return
	}
	exp := st.Version
	if w.rng.IntN(8) == 0 {
		// Now and then surely wrong (never -1: that is setData's "any version").
		exp = st.Version + 1
	}
	val := w.next()
	call := w.rec.now()
	nst, err := w.c.Set(key, []byte(val), exp)
	ret := w.rec.now()
	out := regOutput{}
	o := classify(err)
	switch {
	case o == acked:
		out.ok, out.ver = true, nst.Version
	case o == failed && errors.Is(err, zk.ErrBadVersion):
	case o == failed:
		w.rec.count("cas.failed-other")
		return
	default:
		out.unknown, ret = true, never
	}
	w.rec.add(porcupine.Operation{ClientId: w.id, Input: regInput{key: key, kind: opCAS, val: val, expVer: exp},
		Call: call, Output: out, Return: ret}, "cas."+o.String())
}

func (w *worker) sequential() {
	data := "s-" + w.next()
	name, err := w.c.Create(w.root+"/seq/s-", []byte(data), zk.FlagSequence, acl)
	s := &seqCreate{data: data, out: classify(err), err: err}
	if s.out == acked {
		s.name = name
	}
	w.rec.mu.Lock()
	w.rec.seqs = append(w.rec.seqs, s)
	w.rec.counts["seq."+s.out.String()]++
	w.rec.mu.Unlock()
}

func (w *worker) ephemeral() {
	_, err := w.c.Create(fmt.Sprintf("%s/eph/%s", w.root, w.next()), nil, zk.FlagEphemeral, acl)
	w.rec.count("ephemeral." + classify(err).String())
}
