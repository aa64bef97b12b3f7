// Command zkbench drives any ZooKeeper-compatible server with a closed-loop workload and reports
// throughput and latency percentiles, so that zkgo and Apache ZooKeeper can be compared with the
// same client on the same machine.
//
//	zkbench --server 127.0.0.1:2181 --workload get --sessions 32 --duration 10s
//	zkbench report --baseline apache results.jsonl   # Markdown table from --json lines
//	zkbench --server a,b,c --workload get             # sessions spread: session i on server i mod 3
//	zkbench --server a,b,c --workload failover --pid-file 'DIR/node{n}/pid' --restart-cmd 'CMD {n}'
//	    # kill -9 the leader, time to the first acknowledged write, restart it (failover.go)
//
// Every worker issues one synchronous request at a time (closed loop); --pipeline P runs P
// workers per session, which gives P outstanding requests on the connection. The get, set,
// mixed and create load goes by default through the raw driver (driver.go: the wire protocol,
// one connection per session, each worker writing its request and reading its reply), whose
// CPU cost per request is about half of github.com/go-zookeeper/zk's; on a machine where the
// client and the server share the CPUs that leaves more of them to the server under test.
// The watch workload's watchers and setter go through the same driver. --driver gozk carries
// all of it with go-zookeeper instead, which also sets up and cleans up every run and carries
// the failover workload (one zk.Conn per session).
// --rate R paces get/set/mixed/create at R requests/s in total (each worker's requests are due
// on a fixed schedule), to compare latencies of two servers at the same load.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	flag "github.com/spf13/pflag"
)

type config struct {
	servers        []string
	sessions       int
	pipeline       int
	duration       time.Duration
	warmup         time.Duration
	valueSize      int
	workload       string
	rate           float64 // total requests/s for get/set/mixed/create (0: closed loop)
	znodes         int
	maxOps         int64
	pid            int
	json           bool
	label          string
	rootPrefix     string
	sessionTimeout time.Duration
	connectTimeout time.Duration
	verbose        bool
	driver         string // get/set/mixed/create load: driverRaw or driverGozk
	// storage modes (storage.go)
	fanout  int
	popRoot string
	since   int64
	path    string
	timeout time.Duration
	poll    time.Duration
	// failover mode (failover.go)
	rounds     int
	pidFile    string
	restartCmd string
	settle     time.Duration
}

var workloads = []string{"create", "set", "get", "mixed", "watch"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "report" {
		if err := reportMain(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "zkbench report:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		os.Exit(2)
	}
	// SIGINT/SIGTERM end the run early but still remove the run's znodes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if isStorageWorkload(cfg.workload) {
		code := storageMain(ctx, cfg)
		stop()
		os.Exit(code)
	}
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		os.Exit(1)
	}
	if cfg.json {
		err = json.NewEncoder(os.Stdout).Encode(res)
	} else {
		err = res.writeText(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("zkbench", flag.ContinueOnError)
	fs.StringSliceVar(&cfg.servers, "server", []string{"127.0.0.1:2181"}, "server host:port (repeatable or comma list); session i uses server i mod n first")
	fs.IntVar(&cfg.sessions, "sessions", 32, "concurrent sessions (watch: number of watchers; the setter has its own session)")
	fs.IntVar(&cfg.pipeline, "pipeline", 1, "outstanding requests per session (workers sharing one connection)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before the measured duration")
	fs.IntVar(&cfg.valueSize, "value-size", 100, "znode value size in bytes")
	fs.StringVar(&cfg.workload, "workload", "get", "create|set|get|mixed (90% get, 10% set)|watch (fan-out of one setter to --sessions watchers)|populate (--znodes N left in place under --pop-root)|firstread (time from --since to the first answered getData/setData of --path)|failover (--rounds times: kill -9 the leader, time to the first acknowledged write of --sessions writers, restart it)")
	fs.Float64Var(&cfg.rate, "rate", 0, "get/set/mixed/create: issue this many requests per second in total, each worker on a fixed schedule (0: closed loop, as fast as answers come)")
	fs.IntVar(&cfg.znodes, "znodes", 1000, "keyspace size for get/set/mixed, created before and removed after the run")
	fs.Int64Var(&cfg.maxOps, "max-ops", 50_000_000, "stop after this many operations even if --duration has not passed")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id; reports its resident memory (VmRSS, VmHWM) after the run")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object instead of text")
	fs.StringVar(&cfg.label, "label", "", "name of the server under test, carried into --json output (e.g. apache, zkgo)")
	fs.StringVar(&cfg.rootPrefix, "root", "/zkbench", "prefix of the per-run root znode")
	fs.DurationVar(&cfg.sessionTimeout, "session-timeout", 30*time.Second, "requested session timeout")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", 30*time.Second, "time allowed to establish all sessions")
	fs.BoolVar(&cfg.verbose, "verbose", false, "log client library messages to stderr")
	fs.StringVar(&cfg.driver, "driver", driverRaw, "client carrying the get/set/mixed/create load and the watch workload: raw (the wire protocol on one connection per session, written and read by the worker: the least client CPU) or gozk (github.com/go-zookeeper/zk); setup and failover always use gozk")
	fs.IntVar(&cfg.fanout, "fanout", 1000, "populate: children per parent znode")
	fs.StringVar(&cfg.popRoot, "pop-root", "/pop", "populate: root of the znodes, which are left in place")
	fs.Int64Var(&cfg.since, "since", 0, "firstread: start time in Unix nanoseconds (date +%s%N) that times are measured from (0 = now)")
	fs.StringVar(&cfg.path, "path", "/pop/p0000/k0000000", "firstread: znode to getData and then setData")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "populate, firstread, failover: give up after this long (firstread: after --since; failover: per wait)")
	fs.DurationVar(&cfg.poll, "poll", 2*time.Millisecond, "firstread: pause between failed attempts")
	fs.IntVar(&cfg.rounds, "rounds", 3, "failover: leader kills")
	fs.StringVar(&cfg.pidFile, "pid-file", "", "failover: pid file of server {n} (1-based position in --server), read before each kill")
	fs.StringVar(&cfg.restartCmd, "restart-cmd", "", "failover: bash command that starts node {n} again in the background (ZKBENCH_NODE=n) and returns")
	fs.DurationVar(&cfg.settle, "settle", 2*time.Second, "failover: pause after the killed node rejoined, before the next round")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var servers []string
	for _, s := range cfg.servers {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	cfg.servers = servers
	switch {
	case len(cfg.servers) == 0:
		return nil, errors.New("--server is empty")
	case cfg.sessions < 1:
		return nil, errors.New("--sessions must be >= 1")
	case cfg.pipeline < 1:
		return nil, errors.New("--pipeline must be >= 1")
	case cfg.duration <= 0 || cfg.warmup < 0:
		return nil, errors.New("--duration must be > 0 and --warmup >= 0")
	case cfg.valueSize < 0:
		return nil, errors.New("--value-size must be >= 0")
	case cfg.znodes < 1:
		return nil, errors.New("--znodes must be >= 1")
	case cfg.maxOps < 1:
		return nil, errors.New("--max-ops must be >= 1")
	case !strings.HasPrefix(cfg.rootPrefix, "/") || strings.HasSuffix(cfg.rootPrefix, "/"):
		return nil, errors.New("--root must start and not end with /")
	case cfg.fanout < 1:
		return nil, errors.New("--fanout must be >= 1")
	case !strings.HasPrefix(cfg.popRoot, "/") || strings.HasSuffix(cfg.popRoot, "/"):
		return nil, errors.New("--pop-root must start and not end with /")
	case !strings.HasPrefix(cfg.path, "/"):
		return nil, errors.New("--path must start with /")
	case cfg.timeout <= 0 || cfg.poll < 0:
		return nil, errors.New("--timeout must be > 0 and --poll >= 0")
	case cfg.rounds < 1 || cfg.settle < 0:
		return nil, errors.New("--rounds must be >= 1 and --settle >= 0")
	case cfg.rate < 0 || (cfg.rate > 0 && !slices.Contains([]string{"get", "set", "mixed", "create"}, cfg.workload)):
		return nil, errors.New("--rate must be >= 0, and is for get, set, mixed and create")
	case cfg.driver != driverRaw && cfg.driver != driverGozk:
		return nil, fmt.Errorf("--driver %q: want raw or gozk", cfg.driver)
	case cfg.workload == "failover" && cfg.pidFile == "":
		return nil, errors.New("--workload failover needs --pid-file")
	case cfg.workload == "failover" && cfg.rounds > 1 && cfg.restartCmd == "":
		return nil, errors.New("--workload failover with --rounds > 1 needs --restart-cmd")
	}
	valid := isStorageWorkload(cfg.workload)
	for _, w := range workloads {
		valid = valid || w == cfg.workload
	}
	if !valid {
		return nil, fmt.Errorf("--workload %q: want one of %s", cfg.workload,
			strings.Join(append(append([]string{}, workloads...), storageWorkloads...), ", "))
	}
	return cfg, nil
}

// Result is one run's outcome; its JSON form is what `zkbench report` reads.
type Result struct {
	Label      string         `json:"label,omitempty"`
	Workload   string         `json:"workload"` // with --rate R: "W@R/s"
	Rate       float64        `json:"rate,omitempty"`
	Servers    []string       `json:"servers"`
	Sessions   int            `json:"sessions"`
	Pipeline   int            `json:"pipeline"`
	Driver     string         `json:"driver,omitempty"` // client of the get/set/mixed/create load and of watch
	ValueSize  int            `json:"value_size"`
	Znodes     int            `json:"znodes"`
	WarmupS    float64        `json:"warmup_s"`
	DurationS  float64        `json:"duration_s"`
	Ops        uint64         `json:"ops"`        // completed in the measured window (watch: notifications)
	Throughput float64        `json:"throughput"` // Ops per second
	Unit       string         `json:"unit"`       // "ops/s" or, for watch, "events/s"
	Sets       uint64         `json:"sets,omitempty"`
	Errors     uint64         `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	Latency    LatencyMS      `json:"latency_ms"`
	// Mixed: the latencies of its sets alone. Its reads answer from memory and its sets
	// wait for log syncs and the quorum, so the p99 of the mix is about the sets' p90.
	WriteLatency *LatencyMS `json:"write_latency_ms,omitempty"`
	Pid          int        `json:"pid,omitempty"`
	RSSKiB       int64      `json:"rss_kib,omitempty"`
	HWMKiB       int64      `json:"hwm_kib,omitempty"`
	Start        time.Time  `json:"start"`
}

// LatencyMS holds latencies in milliseconds (watch: set issued to notification received).
type LatencyMS struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90,omitempty"` // WriteLatency only
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func latencyOf(h *Histogram) LatencyMS {
	return LatencyMS{
		Min: ms(h.Min()), Mean: h.Mean() / 1e6, P50: ms(h.Quantile(50)),
		P99: ms(h.Quantile(99)), P999: ms(h.Quantile(99.9)), Max: ms(h.Max()),
	}
}

func (r *Result) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "zkbench: workload=%s servers=%s sessions=%d pipeline=%d value-size=%d znodes=%d warmup=%gs duration=%gs\n",
		r.Workload, strings.Join(r.Servers, ","), r.Sessions, r.Pipeline, r.ValueSize, r.Znodes, r.WarmupS, r.DurationS)
	fmt.Fprintf(&b, "  throughput  %.1f %s (%d in window", r.Throughput, r.Unit, r.Ops)
	if r.Workload == "watch" {
		fmt.Fprintf(&b, ", %d sets", r.Sets)
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "  errors      %d", r.Errors)
	for k, n := range r.ErrorKinds {
		fmt.Fprintf(&b, " [%s: %d]", k, n)
	}
	b.WriteString("\n")
	l := r.Latency
	fmt.Fprintf(&b, "  latency ms  min %.3f  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
		l.Min, l.P50, l.P99, l.P999, l.Max, l.Mean)
	if wl := r.WriteLatency; wl != nil {
		fmt.Fprintf(&b, "  sets ms     min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
			wl.Min, wl.P50, wl.P90, wl.P99, wl.Max, wl.Mean)
	}
	if r.Pid != 0 {
		fmt.Fprintf(&b, "  server rss  %.1f MiB (peak %.1f MiB, pid %d)\n", float64(r.RSSKiB)/1024, float64(r.HWMKiB)/1024, r.Pid)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hostList is a HostProvider with a fixed order, so that session i starts on server i mod n
// (zk.Connect shuffles, which would make multi-server runs uneven and unrepeatable).
//
// With pause > 0 (failover) it never reports a full unsuccessful pass to the client, which would
// then fail queued requests and sleep a whole second (so a reconnect time would be measured in
// seconds), and pauses for that long itself after each such pass instead.
type hostList struct {
	hosts []string
	next  int
	tried int
	pause time.Duration
}

func (h *hostList) Init([]string) error { return nil }
func (h *hostList) Len() int            { return len(h.hosts) }
func (h *hostList) Connected()          { h.tried = 0 }
func (h *hostList) Next() (string, bool) {
	if h.pause > 0 && h.tried > 0 && h.tried%len(h.hosts) == 0 {
		time.Sleep(h.pause)
	}
	s := h.hosts[h.next]
	h.next = (h.next + 1) % len(h.hosts)
	h.tried++
	return s, h.pause <= 0 && h.tried > len(h.hosts)
}

// sessionOrder is the server order of session i: server i mod n first, then the ones after it.
func sessionOrder(servers []string, i int) []string {
	k := i % len(servers)
	return append(append([]string{}, servers[k:]...), servers[:k]...)
}

// connectAll opens n sessions and waits until each has one.
func connectAll(ctx context.Context, cfg *config, n int) ([]*zk.Conn, error) {
	logger := zk.Logger(log.New(io.Discard, "", 0))
	if cfg.verbose {
		logger = log.New(os.Stderr, "zk: ", log.LstdFlags)
	}
	servers := zk.FormatServers(cfg.servers)
	conns := make([]*zk.Conn, 0, n)
	ready := make(chan error, n)
	for i := 0; i < n; i++ {
		hosts := &hostList{hosts: sessionOrder(servers, i)}
		if cfg.workload == "failover" {
			hosts.pause = 20 * time.Millisecond
		}
		c, events, err := zk.Connect(cfg.servers, cfg.sessionTimeout,
			zk.WithLogger(logger), zk.WithHostProvider(hosts))
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connect: %w", err)
		}
		conns = append(conns, c)
		go func() {
			// Drain the session channel for the life of the connection (it closes on Close);
			// report the first session establishment.
			reported := false
			for ev := range events {
				if !reported && ev.State == zk.StateHasSession {
					reported = true
					ready <- nil
				}
			}
		}()
	}
	timeout := time.NewTimer(cfg.connectTimeout)
	defer timeout.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ready:
		case <-timeout.C:
			closeAll(conns)
			return nil, fmt.Errorf("only %d of %d sessions established within %v", i, n, cfg.connectTimeout)
		case <-ctx.Done():
			closeAll(conns)
			return nil, ctx.Err()
		}
	}
	return conns, nil
}

func closeAll(conns []*zk.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// window is the measured part of the run, as offsets on the monotonic clock from epoch.
type window struct {
	epoch      time.Time
	start, end time.Duration
}

func (w window) now() time.Duration { return time.Since(w.epoch) }
func (w window) in(t0, t1 time.Duration) bool {
	return t0 >= w.start && t1 <= w.end
}

// workerStats is owned by one worker goroutine and merged after the run.
type workerStats struct {
	hist   *Histogram
	writes *Histogram // mixed: the sets' latencies (also in hist)
	ops    uint64
	errors map[string]int
	nerr   uint64
}

func newWorkerStats() *workerStats {
	return &workerStats{hist: NewHistogram(), writes: NewHistogram(), errors: map[string]int{}}
}

// fail counts an error seen in the window and backs off briefly when the connection is down, so
// that a dead server yields a bounded error count rather than a hot loop.
func (s *workerStats) fail(err error, counted bool) {
	if counted {
		s.nerr++
		s.errors[err.Error()]++
	}
	if errors.Is(err, errBroken) || errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing) {
		time.Sleep(10 * time.Millisecond)
	}
}

func run(ctx context.Context, cfg *config) (*Result, error) {
	nconns := cfg.sessions
	switch {
	case cfg.workload == "watch" && cfg.driver == driverGozk:
		nconns++ // the setter
	case cfg.driver == driverRaw:
		// These carry only setup and cleanup; the load has its own sessions. Few, so that
		// both stay under a server's per-address limit (maxClientCnxns, 60 by default).
		nconns = min(nconns, 4)
	}
	conns, err := connectAll(ctx, cfg, nconns)
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
	var keys []string // znodes to remove afterwards, besides the root
	defer func() {
		// Cleanup must run even when ctx was cancelled by a signal, but is bounded in time.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := removeAll(cctx, conns, keys, root); err != nil {
			fmt.Fprintf(os.Stderr, "zkbench: cleanup of %s: %v\n", root, err)
		}
	}()

	switch cfg.workload {
	case "get", "set", "mixed":
		keys = make([]string, cfg.znodes)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s/k%07d", root, i)
		}
		if err := createAll(ctx, conns, keys, value, acl); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	case "watch":
		keys = []string{root + "/watched"}
		if _, err := conns[0].Create(keys[0], value, 0, acl); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}

	var load []loadConn // the sessions carrying a get/set/mixed/create load
	if cfg.workload != "watch" {
		load = make([]loadConn, cfg.sessions)
		if cfg.driver == driverRaw {
			raw, err := dialRawAll(cfg, cfg.sessions, cfg.pipeline)
			if err != nil {
				return nil, err
			}
			defer func() {
				for _, c := range raw {
					c.Close()
				}
			}()
			for i, c := range raw {
				load[i] = c
			}
		} else {
			for i := range load {
				load[i] = gozkConn{c: conns[i], acl: acl}
			}
		}
	}
	w := window{epoch: time.Now(), start: cfg.warmup, end: cfg.warmup + cfg.duration}
	res := &Result{
		Label: cfg.label, Workload: cfg.workload, Rate: cfg.rate, Servers: cfg.servers, Sessions: cfg.sessions,
		Pipeline: cfg.pipeline, ValueSize: cfg.valueSize, Znodes: cfg.znodes,
		WarmupS: cfg.warmup.Seconds(), DurationS: cfg.duration.Seconds(), Unit: "ops/s",
		Start: w.epoch.UTC(), Pid: cfg.pid,
	}
	var watchers []watchConn // the watch workload's, and its setter
	var setter loadConn
	var interrupt func() // ends the watchers' waits at the end of the run
	if cfg.workload == "watch" {
		if cfg.driver == driverRaw {
			raw, err := dialRawAll(cfg, cfg.sessions+1, 1)
			if err != nil {
				return nil, err
			}
			closeRaw := func() {
				for _, c := range raw {
					c.Close()
				}
			}
			defer closeRaw()
			interrupt = closeRaw
			kctx, stop := context.WithCancel(ctx)
			defer stop()
			go keepAlive(kctx, raw[:cfg.sessions])
			for _, c := range raw[:cfg.sessions] {
				watchers = append(watchers, c)
			}
			setter = raw[cfg.sessions]
		} else {
			for _, c := range conns[:cfg.sessions] {
				watchers = append(watchers, &gozkWatcher{c: c})
			}
			setter = gozkConn{c: conns[cfg.sessions], acl: acl}
		}
	}
	res.Driver = cfg.driver
	if cfg.rate > 0 {
		// Runs at a fixed rate are reported apart from the closed-loop runs.
		res.Workload = fmt.Sprintf("%s@%g/s", cfg.workload, cfg.rate)
	}
	var stats []*workerStats
	if cfg.workload == "watch" {
		res.Unit = "events/s"
		var sets uint64
		stats, sets = runWatch(ctx, cfg, watchers, setter, interrupt, keys[0], value, w)
		res.Sets = sets
	} else {
		var created []string
		stats, created = runLoad(ctx, cfg, load, root, keys, value, w)
		keys = append(keys, created...)
	}
	// Read memory while the server still holds the run's data, before cleanup.
	if cfg.pid != 0 {
		res.RSSKiB, res.HWMKiB, err = procMemory(cfg.pid)
		if err != nil {
			fmt.Fprintf(os.Stderr, "zkbench: %v\n", err)
		}
	}

	hist, writes := NewHistogram(), NewHistogram()
	res.ErrorKinds = map[string]int{}
	for _, s := range stats {
		hist.Merge(s.hist)
		writes.Merge(s.writes)
		res.Ops += s.ops
		res.Errors += s.nerr
		for k, n := range s.errors {
			res.ErrorKinds[k] += n
		}
	}
	measured := cfg.duration
	if elapsed := w.now() - w.start; elapsed < measured {
		measured = max(elapsed, time.Millisecond) // stopped early by --max-ops or a signal
	}
	res.DurationS = measured.Seconds()
	res.Throughput = float64(res.Ops) / measured.Seconds()
	res.Latency = latencyOf(hist)
	if cfg.workload == "mixed" {
		wl := latencyOf(writes)
		wl.P90 = ms(writes.Quantile(90))
		res.WriteLatency = &wl
	}
	// An interrupted run still reports what it measured (DurationS says how long).
	return res, nil
}

// runLoad runs the closed-loop create/get/set/mixed workers and returns their stats and the
// paths they may have created.
func runLoad(ctx context.Context, cfg *config, conns []loadConn, root string, keys []string,
	value []byte, w window) ([]*workerStats, []string) {
	nworkers := cfg.sessions * cfg.pipeline
	stats := make([]*workerStats, nworkers)
	attempted := make([]int, nworkers) // creates issued per worker, for cleanup
	var issued atomic.Int64
	var wg sync.WaitGroup
	for id := 0; id < nworkers; id++ {
		stats[id] = newWorkerStats()
		conn := conns[id%cfg.sessions]
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stats[id]
			rng := rand.New(rand.NewPCG(uint64(id), uint64(w.epoch.UnixNano())))
			prefix := fmt.Sprintf("%s/c%d-", root, id)
			var name []byte
			var write bool // mixed: this request is a set
			// With --rate, this worker's requests are due every interval from a random
			// phase, and it sleeps until then with sleepPrecise: with the runtime's timers,
			// which wake in whole milliseconds, the workers' requests went out in bursts at
			// millisecond boundaries. Latency counts from when a request is sent: counting
			// from when it was due would add the client's own wake-up lateness, which on a
			// busy machine dominates the tail. A server that falls behind still shows: each
			// worker has one request outstanding.
			var interval, due time.Duration
			if cfg.rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(nworkers) / cfg.rate)
				due = w.now() + time.Duration(rng.Int64N(int64(max(interval, 1))))
			}
			for ctx.Err() == nil && issued.Add(1) <= cfg.maxOps {
				t0 := w.now()
				if interval > 0 {
					if due > t0 {
						conn.Idle(due - t0)
						t0 = w.now()
					}
					due += interval
				}
				if t0 >= w.end {
					return
				}
				var err error
				write = false
				switch cfg.workload {
				case "get":
					err = conn.Get(keys[rng.IntN(len(keys))])
				case "set":
					err = conn.Set(keys[rng.IntN(len(keys))], value)
				case "mixed":
					if write = rng.IntN(10) == 0; write {
						err = conn.Set(keys[rng.IntN(len(keys))], value)
					} else {
						err = conn.Get(keys[rng.IntN(len(keys))])
					}
				case "create":
					name = strconv.AppendInt(append(name[:0], prefix...), int64(attempted[id]), 10)
					attempted[id]++
					err = conn.Create(string(name), value)
				}
				t1 := w.now()
				counted := w.in(t0, t1)
				if err != nil {
					st.fail(err, counted)
					continue
				}
				if counted {
					st.ops++
					st.hist.Record(int64(t1 - t0))
					if write {
						st.writes.Record(int64(t1 - t0))
					}
				}
			}
		}()
	}
	wg.Wait()
	var created []string
	if cfg.workload == "create" {
		for id, n := range attempted {
			for i := 0; i < n; i++ {
				created = append(created, fmt.Sprintf("%s/c%d-%d", root, id, i))
			}
		}
	}
	return stats, created
}

// runWatch measures notification fan-out: each round the setter waits until all watchers hold a
// data watch on node, stamps the time, and sets node; each watcher records the time from the
// stamp to its notification and re-arms. Watches are one-shot, so the barrier is what makes
// every set reach every watcher; throughput is notifications delivered per second. interrupt,
// if not nil, ends the watchers' waits once the run is over.
func runWatch(ctx context.Context, cfg *config, watchers []watchConn, setter loadConn, interrupt func(),
	node string, value []byte, w window) ([]*workerStats, uint64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	armed := make(chan struct{}, len(watchers))
	var stamp atomic.Int64 // offset from w.epoch at which the current round's set was issued
	stats := make([]*workerStats, len(watchers)+1)
	var wg sync.WaitGroup
	for i, conn := range watchers {
		stats[i] = newWorkerStats()
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stats[i]
			for rounds := int64(0); ctx.Err() == nil && rounds < cfg.maxOps; rounds++ {
				if err := conn.Arm(node); err != nil {
					st.fail(err, w.in(w.now(), w.now()))
					continue
				}
				select {
				case armed <- struct{}{}:
				case <-ctx.Done():
					return
				}
				ev, err := conn.Next(ctx)
				if ctx.Err() != nil {
					return
				}
				t1 := w.now()
				t0 := time.Duration(stamp.Load())
				if ev != int32(zk.EventNodeDataChanged) || err != nil {
					st.fail(fmt.Errorf("unexpected watch event %v (err %v)", zk.EventType(ev), err), w.in(t0, t1))
					continue
				}
				if w.in(t0, t1) {
					st.ops++
					st.hist.Record(int64(t1 - t0))
				}
			}
		}()
	}
	st := newWorkerStats()
	stats[len(watchers)] = st
	var sets uint64
	const armTimeout = 10 * time.Second
	timer := time.NewTimer(armTimeout)
	defer timer.Stop()
	needArm := true // false after a failed set: the watchers are still armed from before
rounds:
	for n := int64(0); ctx.Err() == nil && n < cfg.maxOps && w.now() < w.end; n++ {
		timer.Reset(armTimeout)
	arm:
		for got := 0; needArm && got < len(watchers); got++ {
			select {
			case <-armed:
			case <-timer.C:
				// A watcher is stuck (its errors are counted); go on with the others.
				st.fail(fmt.Errorf("watchers not re-armed within %v", armTimeout), w.in(w.now(), w.now()))
				break arm
			case <-ctx.Done():
				break rounds
			}
		}
		t0 := w.now()
		stamp.Store(int64(t0))
		err := setter.Set(node, value)
		needArm = err == nil
		if err != nil {
			st.fail(err, w.in(t0, w.now()))
			continue
		}
		if w.in(t0, t0) {
			sets++
		}
	}
	// Let the last round's notifications arrive before stopping the watchers.
	time.Sleep(100 * time.Millisecond)
	cancel()
	if interrupt != nil {
		interrupt()
	}
	wg.Wait()
	return stats, sets
}

// createAll creates paths in parallel, one goroutine per session.
func createAll(ctx context.Context, conns []*zk.Conn, paths []string, value []byte, acl []zk.ACL) error {
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < len(paths) && ctx.Err() == nil; j += len(conns) {
				if _, err := c.Create(paths[j], value, 0, acl); err != nil {
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

// removeAll deletes paths (leaves, in any order) and then root. Deletes go in multi batches,
// falling back to single deletes for a batch that has missing paths (a create that failed).
func removeAll(ctx context.Context, conns []*zk.Conn, paths []string, root string) error {
	const batch = 200
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := i * batch; lo < len(paths) && ctx.Err() == nil; lo += len(conns) * batch {
				part := paths[lo:min(lo+batch, len(paths))]
				ops := make([]any, len(part))
				for k, p := range part {
					ops[k] = &zk.DeleteRequest{Path: p, Version: -1}
				}
				if _, err := c.Multi(ops...); err == nil {
					continue
				}
				for _, p := range part {
					if err := c.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
						errs <- fmt.Errorf("delete %s: %w", p, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return conns[0].Delete(root, -1)
}

// procMemory reads VmRSS and VmHWM (peak RSS) of pid, in KiB, from /proc/PID/status.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("server memory: %w", err)
	}
	return parseStatusKiB(string(b), "VmRSS"), parseStatusKiB(string(b), "VmHWM"), nil
}

// parseStatusKiB returns the value of a "Key:   123 kB" line of /proc/PID/status, 0 if absent.
func parseStatusKiB(status, key string) int64 {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		return n
	}
	return 0
}
