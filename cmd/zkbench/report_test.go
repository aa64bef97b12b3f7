package main

import (
	"strings"
	"testing"
)

// benchResult is a run of workload (at rate, if > 0) for the report tests.
func benchResult(label, workload string, rate, tput, p50, p99 float64) Result {
	return Result{Label: label, Workload: workload, Rate: rate, Unit: "ops/s", Throughput: tput,
		Latency: LatencyMS{P50: p50, P99: p99, P999: 4}}
}

// reportHas checks that the report of results against apache holds every line of want.
func reportHas(t *testing.T, results []Result, want ...string) {
	t.Helper()
	got := renderReport(results, "apache")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("report lacks %q:\n%s", w, got)
		}
	}
}

func TestRenderReportMedianAndRatio(t *testing.T) {
	mk := func(label string, tput, p99 float64) Result { return benchResult(label, "get", 0, tput, 1, p99) }
	reportHas(t, []Result{
		mk("apache", 1000, 2), mk("zkgo", 900, 9), mk("apache", 3000, 2),
		mk("zkgo", 2000, 1), mk("apache", 2000, 2), mk("zkgo", 5000, 9),
	},
		"| get | apache | 2000 ops/s | 1.000 | 2.000 | 4.000 |", // median of 1000, 2000, 3000
		"| get | zkgo | 2000 ops/s | 1.000 | 1.000 | 4.000 |",   // median run's own latencies
		"| get | 1.00× | 1.00× | 0.50× | 1.00× |",
		"| 3 |\n",
	)
}

// TestRenderReportFixedRateMedianP99: runs at a fixed rate have the same throughput; the one
// with the median p99 is shown, whatever their order or tiny throughput differences.
func TestRenderReportFixedRateMedianP99(t *testing.T) {
	mk := func(label string, tput, p99 float64) Result {
		return benchResult(label, "set@3000/s", 3000, tput, 0.5, p99)
	}
	reportHas(t, []Result{
		mk("apache", 3000, 3.2), mk("zkgo", 3000.2, 1.2), mk("zkgo", 2999.9, 1.5),
		mk("apache", 2999.8, 1.6), mk("apache", 3000.1, 1.7), mk("zkgo", 3000, 1.6),
	},
		"| set@3000/s | apache | 3000 ops/s | 0.500 | 1.700 |", // p99s 1.6, 1.7, 3.2
		"| set@3000/s | zkgo | 3000 ops/s | 0.500 | 1.500 |",   // p99s 1.2, 1.5, 1.6
		"| set@3000/s | 1.00× | 1.00× | 0.88× |",
	)
}

func TestParseStatusKiB(t *testing.T) {
	status := "Name:\tjava\nVmPeak:\t 5000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	if got := parseStatusKiB(status, "VmRSS"); got != 102400 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := parseStatusKiB(status, "VmHWM"); got != 204800 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := parseStatusKiB(status, "VmSwap"); got != 0 {
		t.Errorf("VmSwap = %d", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--server", "a:1,b:2", "--server", "c:3", "--workload", "mixed"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.servers, " ") != "a:1 b:2 c:3" || cfg.sessions != 32 || cfg.valueSize != 100 {
		t.Errorf("parsed %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--workload", "delete"}, {"--sessions", "0"}, {"--pipeline", "0"}, {"--root", "x"}, {"extra"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
