package main

// Storage-benchmark modes (scripts/bench-storage.sh):
//
//	zkbench --workload populate --znodes 1000000 --sessions 32 --pipeline 32
//	    creates N persistent znodes <pop-root>/pNNNN/kNNNNNNN (--fanout children per parent) and
//	    reports the creation rate. The znodes are left in place; that is the point.
//	zkbench --workload firstread --since UNIX_NS --path /pop/p0000/k0000000
//	    polls a (re)starting server with fresh raw connections until a getData of --path is
//	    answered, then until a setData of it is answered, and reports the times since --since
//	    (e.g. `date +%s%N` taken just before the server process was started).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

// storageWorkloads are the modes that do not run a timed closed loop (and are not in
// `workloads`, which the run tests iterate over).
var storageWorkloads = []string{"populate", "firstread", "failover"}

func isStorageWorkload(w string) bool {
	for _, s := range storageWorkloads {
		if s == w {
			return true
		}
	}
	return false
}

// PopulateResult is the outcome of --workload populate.
type PopulateResult struct {
	Label     string         `json:"label,omitempty"`
	Workload  string         `json:"workload"`
	Servers   []string       `json:"servers"`
	Root      string         `json:"root"`
	Znodes    int            `json:"znodes"`  // leaves requested
	Parents   int            `json:"parents"` // intermediate znodes (plus the root)
	Fanout    int            `json:"fanout"`
	Sessions  int            `json:"sessions"`
	Pipeline  int            `json:"pipeline"`
	ValueSize int            `json:"value_size"`
	Created   uint64         `json:"created"` // leaves created by this run
	Existed   uint64         `json:"existed"` // leaves that already existed (rerun)
	Errors    uint64         `json:"errors"`
	ErrorKind map[string]int `json:"error_kinds,omitempty"`
	ElapsedS  float64        `json:"elapsed_s"` // leaves only (parents are created first)
	TotalS    float64        `json:"total_s"`   // including connecting and the parents
	Rate      float64        `json:"rate"`      // leaves created per second
	Pid       int            `json:"pid,omitempty"`
	RSSKiB    int64          `json:"rss_kib,omitempty"`
	HWMKiB    int64          `json:"hwm_kib,omitempty"`
	Start     time.Time      `json:"start"`
}

// populatePath is the path of leaf i: parent i/fanout, 4+ digits, leaf index 7+ digits.
func populatePath(root string, fanout, i int) string {
	return fmt.Sprintf("%s/p%04d/k%07d", root, i/fanout, i)
}

func parentPath(root string, j int) string { return fmt.Sprintf("%s/p%04d", root, j) }

func runPopulate(ctx context.Context, cfg *config) (*PopulateResult, error) {
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	t0 := time.Now()
	conns, err := connectAll(ctx, cfg, cfg.sessions)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	value := make([]byte, cfg.valueSize)
	for i := range value {
		value[i] = 'a' + byte(rand.IntN(26))
	}
	acl := zk.WorldACL(zk.PermAll)
	nparents := (cfg.znodes + cfg.fanout - 1) / cfg.fanout
	res := &PopulateResult{
		Label: cfg.label, Workload: cfg.workload, Servers: cfg.servers, Root: cfg.popRoot,
		Znodes: cfg.znodes, Parents: nparents, Fanout: cfg.fanout, Sessions: cfg.sessions,
		Pipeline: cfg.pipeline, ValueSize: cfg.valueSize, Pid: cfg.pid, Start: t0.UTC(),
		ErrorKind: map[string]int{},
	}
	// The root and the parents, the latter in parallel; existing ones are fine.
	if _, err := conns[0].Create(cfg.popRoot, nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return nil, fmt.Errorf("create %s: %w", cfg.popRoot, err)
	}
	parents := make([]string, nparents)
	for j := range parents {
		parents[j] = parentPath(cfg.popRoot, j)
	}
	if err := createAllExisting(ctx, conns, parents, acl); err != nil {
		return nil, fmt.Errorf("parents: %w", err)
	}

	// Leaves: sessions*pipeline workers take the next index from a shared counter, so that
	// consecutive creates land under the same parent (as a bulk load would) from many sessions.
	var next atomic.Int64
	var created, existed, nerr atomic.Uint64
	var mu sync.Mutex
	kinds := map[string]int{}
	const maxErrors = 1000 // a broken server fails the run rather than looping over N errors
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	start := time.Now()
	done := make(chan struct{})
	go func() { // progress on stderr, so that a slow load is visible
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				c := created.Load() + existed.Load()
				fmt.Fprintf(os.Stderr, "zkbench populate: %d/%d after %.0fs (%.0f/s), errors %d\n",
					c, cfg.znodes, time.Since(start).Seconds(), float64(c)/time.Since(start).Seconds(), nerr.Load())
			}
		}
	}()
	var wg sync.WaitGroup
	for id := 0; id < cfg.sessions*cfg.pipeline; id++ {
		conn := conns[id%cfg.sessions]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.znodes {
					return
				}
				_, err := conn.Create(populatePath(cfg.popRoot, cfg.fanout, i), value, 0, acl)
				switch {
				case err == nil:
					created.Add(1)
				case errors.Is(err, zk.ErrNodeExists):
					existed.Add(1)
				default:
					mu.Lock()
					kinds[err.Error()]++
					mu.Unlock()
					if nerr.Add(1) >= maxErrors {
						lcancel()
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	elapsed := time.Since(start)
	res.Created, res.Existed, res.Errors = created.Load(), existed.Load(), nerr.Load()
	res.ErrorKind = kinds
	res.ElapsedS = elapsed.Seconds()
	res.TotalS = time.Since(t0).Seconds()
	res.Rate = float64(res.Created) / max(elapsed.Seconds(), 1e-3)
	if cfg.pid != 0 {
		res.RSSKiB, res.HWMKiB, err = procMemory(cfg.pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "zkbench: %v\n", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("populate stopped after %d of %d znodes: %w", res.Created+res.Existed, cfg.znodes, err)
	}
	if res.Errors > 0 {
		return res, fmt.Errorf("populate: %d errors %v", res.Errors, res.ErrorKind)
	}
	return res, nil
}

// createAllExisting is createAll with empty values that accepts znodes that already exist.
func createAllExisting(ctx context.Context, conns []*zk.Conn, paths []string, acl []zk.ACL) error {
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < len(paths) && ctx.Err() == nil; j += len(conns) {
				if _, err := c.Create(paths[j], nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
					errs <- fmt.Errorf("create %s: %w", paths[j], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// FirstReadResult is the outcome of --workload firstread. All times are milliseconds since
// --since; a stage that was not reached is -1.
type FirstReadResult struct {
	Label     string  `json:"label,omitempty"`
	Workload  string  `json:"workload"`
	Server    string  `json:"server"`
	Path      string  `json:"path"`
	Since     int64   `json:"since_unix_ns"`
	PollerMS  float64 `json:"poller_ms"`  // this process started polling
	ConnectMS float64 `json:"connect_ms"` // first TCP connection accepted
	SessionMS float64 `json:"session_ms"` // first session established (ConnectResponse with a session)
	ReadMS    float64 `json:"read_ms"`    // first getData of Path answered with data
	WriteMS   float64 `json:"write_ms"`   // first setData of Path answered OK
	Attempts  int     `json:"attempts"`   // connections tried
	DataLen   int     `json:"data_len"`   // length of the value read
	LastError string  `json:"last_error,omitempty"`
}

// runFirstRead polls addr until a read and then a write succeed, or until --timeout after
// --since. It never keeps more than one connection open.
func runFirstRead(ctx context.Context, cfg *config) (*FirstReadResult, error) {
	since := time.Unix(0, cfg.since)
	if cfg.since == 0 {
		since = time.Now()
	}
	// Wall-clock differences: --since comes from another process (date +%s%N).
	elapsed := func() float64 { return float64(time.Now().UnixNano()-since.UnixNano()) / 1e6 }
	res := &FirstReadResult{
		Label: cfg.label, Workload: cfg.workload, Server: cfg.servers[0], Path: cfg.path,
		Since: since.UnixNano(), PollerMS: elapsed(), ConnectMS: -1, SessionMS: -1, ReadMS: -1, WriteMS: -1,
	}
	deadline := since.Add(cfg.timeout)
	var value []byte
	var conn *rawzk.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	// call sends one request and waits for its reply, bounded by the deadline.
	call := func(op int32, body []byte) (rawzk.Packet, error) {
		xid := conn.XidFor(op)
		if err := conn.Send(xid, op, body); err != nil {
			return rawzk.Packet{}, err
		}
		return conn.WaitReply(xid, max(time.Until(deadline), time.Millisecond))
	}
	fail := func(err error) {
		res.LastError = err.Error()
		if conn != nil {
			conn.Close()
			conn = nil
		}
		time.Sleep(cfg.poll)
	}
	for res.WriteMS < 0 {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("no successful %s within %v of --since (last error: %s)",
				map[bool]string{true: "read", false: "write"}[res.ReadMS < 0], cfg.timeout, res.LastError)
		}
		if conn == nil {
			res.Attempts++
			dial := min(time.Until(deadline), 2*time.Second)
			c, err := rawzk.Dial(cfg.servers[0], rawzk.ConnectOptions{TimeoutMs: int32(cfg.sessionTimeout / time.Millisecond), Dial: dial})
			if err != nil {
				if res.ConnectMS < 0 && !isRefused(err) {
					// The handshake failed after the connection was accepted (a server that
					// listens before it serves): that is when it started accepting.
					res.ConnectMS = elapsed()
				}
				fail(err)
				continue
			}
			if res.ConnectMS < 0 {
				res.ConnectMS = elapsed()
			}
			conn = c
			if c.SessionID() == 0 {
				fail(errors.New("session rejected (timeout 0)"))
				continue
			}
			if res.SessionMS < 0 {
				res.SessionMS = elapsed()
			}
		}
		if res.ReadMS < 0 {
			p, err := call(jute.OpGetData, rawzk.PathWatchBody(cfg.path, false))
			if err == nil && p.Hdr.Err != 0 {
				err = fmt.Errorf("getData %s: error code %d", cfg.path, p.Hdr.Err)
			}
			if err == nil {
				d := jute.NewDecoder(p.Body)
				value = d.Buffer()
				if d.Err() != nil {
					err = fmt.Errorf("getData %s: bad reply: %w", cfg.path, d.Err())
				}
			}
			if err != nil {
				fail(err)
				continue
			}
			res.ReadMS = elapsed()
			res.DataLen = len(value)
		}
		p, err := call(jute.OpSetData, rawzk.SetDataBody(cfg.path, value, -1))
		if err == nil && p.Hdr.Err != 0 {
			err = fmt.Errorf("setData %s: error code %d", cfg.path, p.Hdr.Err)
		}
		if err != nil {
			fail(err)
			continue
		}
		res.WriteMS = elapsed()
	}
	return res, nil
}

// isRefused reports whether a dial error means nothing was listening yet.
func isRefused(err error) bool {
	return strings.Contains(err.Error(), "connection refused")
}

func (r *PopulateResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "zkbench: populate %s: %d znodes under %d parents of %s (%d sessions x %d pipeline, %d-byte values)\n"+
		"  created %d (existed %d, errors %d) in %.1fs: %.0f creates/s (total %.1fs)\n",
		strings.Join(r.Servers, ","), r.Znodes, r.Parents, r.Root, r.Sessions, r.Pipeline, r.ValueSize,
		r.Created, r.Existed, r.Errors, r.ElapsedS, r.Rate, r.TotalS)
	if err == nil && r.Pid != 0 {
		_, err = fmt.Fprintf(w, "  server rss  %.1f MiB (peak %.1f MiB, pid %d)\n", float64(r.RSSKiB)/1024, float64(r.HWMKiB)/1024, r.Pid)
	}
	return err
}

func (r *FirstReadResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "zkbench: firstread %s %s: connect %.1f ms, session %.1f ms, read %.1f ms, write %.1f ms after --since (%d attempts, poller up at %.1f ms)\n",
		r.Server, r.Path, r.ConnectMS, r.SessionMS, r.ReadMS, r.WriteMS, r.Attempts, r.PollerMS)
	return err
}

// storageMain runs a storage mode and prints its result; it returns the exit code. A failed
// run still prints what it measured (JSON or text) before the error on stderr.
func storageMain(ctx context.Context, cfg *config) int {
	var res interface{ writeText(io.Writer) error }
	var err error
	switch cfg.workload {
	case "populate":
		var r *PopulateResult
		r, err = runPopulate(ctx, cfg)
		if r != nil {
			res = r
		}
	case "firstread":
		var r *FirstReadResult
		r, err = runFirstRead(ctx, cfg)
		if r != nil {
			res = r
		}
	case "failover":
		var r *FailoverResult
		r, err = runFailover(ctx, cfg)
		if r != nil {
			res = r
		}
	}
	if res != nil {
		var werr error
		if cfg.json {
			werr = json.NewEncoder(os.Stdout).Encode(res)
		} else {
			werr = res.writeText(os.Stdout)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		return 1
	}
	return 0
}
