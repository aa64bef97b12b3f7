package main

import (
	"context"
	"io"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
)

// TestRunAgainstApache runs every workload briefly against a real Apache ZooKeeper and checks
// that it measures something, sees no errors, and leaves no znodes behind.
func TestRunAgainstApache(t *testing.T) {
	addr := zktest.StartApache(t)
	for _, wl := range workloads {
		t.Run(wl, func(t *testing.T) {
			cfg, err := parseFlags([]string{"--server", addr, "--workload", wl, "--sessions", "4",
				"--pipeline", "2", "--duration", "700ms", "--warmup", "200ms", "--znodes", "50"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops == 0 || res.Errors != 0 || res.Throughput <= 0 {
				t.Fatalf("ops=%d errors=%d %v throughput=%f", res.Ops, res.Errors, res.ErrorKinds, res.Throughput)
			}
			l := res.Latency
			if !(l.Min > 0 && l.Min <= l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				t.Errorf("latencies out of order: %+v", l)
			}
			switch w := res.WriteLatency; {
			case wl != "mixed" && w != nil:
				t.Errorf("%s reports its sets' latencies apart: %+v", wl, w)
			case wl == "mixed" && w == nil:
				t.Error("mixed does not report its sets' latencies apart")
			case wl == "mixed" && !(w.Min >= l.Min && w.Min <= w.P50 && w.P50 <= w.P90 && w.P90 <= w.P99 && w.P99 <= w.Max && w.Max <= l.Max):
				// Its sets are among all requests, so they lie within the mix's range.
				t.Errorf("mixed: sets' latencies out of order or outside the mix's: %+v, all %+v", w, l)
			}
			if wl == "watch" && res.Ops < res.Sets*uint64(cfg.sessions)/2 {
				t.Errorf("watch: %d notifications for %d sets to %d watchers", res.Ops, res.Sets, cfg.sessions)
			}
			assertNoLeftovers(t, addr)
		})
	}
}

func TestMaxOpsBoundsRun(t *testing.T) {
	addr := zktest.StartApache(t)
	cfg, err := parseFlags([]string{"--server", addr, "--workload", "create", "--sessions", "2",
		"--duration", "30s", "--warmup", "0s", "--max-ops", "100"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops > 100 || time.Since(start) > 20*time.Second {
		t.Fatalf("ops=%d after %v, want <= 100 well before --duration", res.Ops, time.Since(start))
	}
	assertNoLeftovers(t, addr)
}

func assertNoLeftovers(t *testing.T, addr string) {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kids, _, err := c.Children("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if strings.HasPrefix(k, "zkbench") {
			t.Errorf("run left /%s behind", k)
		}
	}
}

// TestRateHoldsTheSchedule: with --rate the throughput is the rate asked for (a server far
// from saturation keeps up), and the run is reported under "W@R/s".
func TestRateHoldsTheSchedule(t *testing.T) {
	addr := zktest.StartApache(t)
	cfg, err := parseFlags([]string{"--server", addr, "--workload", "mixed", "--sessions", "4",
		"--rate", "400", "--duration", "2s", "--warmup", "300ms", "--znodes", "20"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Workload != "mixed@400/s" || res.Rate != 400 {
		t.Fatalf("workload %q rate %v", res.Workload, res.Rate)
	}
	if res.Errors != 0 || res.Throughput < 300 || res.Throughput > 440 {
		t.Fatalf("throughput %.1f ops/s with --rate 400 (errors %d)", res.Throughput, res.Errors)
	}
	if _, err := parseFlags([]string{"--workload", "watch", "--rate", "10"}); err == nil {
		t.Fatal("--rate with watch accepted")
	}
	assertNoLeftovers(t, addr)
}
