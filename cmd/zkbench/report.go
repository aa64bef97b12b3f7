package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	flag "github.com/spf13/pflag"
)

// reportMain implements `zkbench report [--baseline LABEL] FILE...`: it reads --json result lines
// and prints Markdown tables, one row per (workload, label), and the ratio of every other label
// to the baseline. With several runs of the same pair (BENCH_ROUNDS) the run with the median
// throughput is shown, so that one noisy run on a shared machine does not decide the table.
func reportMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("zkbench report", flag.ContinueOnError)
	baseline := fs.String("baseline", "apache", "label the ratios are relative to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []Result
	for _, name := range fs.Args() {
		rs, err := readResults(name)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	if len(results) == 0 {
		return fmt.Errorf("no results (usage: zkbench report [--baseline LABEL] FILE...)")
	}
	_, err := io.WriteString(out, renderReport(results, *baseline))
	return err
}

func readResults(name string) ([]Result, error) {
	f := os.Stdin
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	var rs []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

type reportKey struct{ workload, label string }

// medianRuns keeps, per (workload, label), the run with the median throughput (the lower
// middle one for an even count), in first-seen order of workloads and labels.
func medianRuns(results []Result) (workloads, labels []string, pick map[reportKey]Result) {
	groups := map[reportKey][]Result{}
	for _, r := range results {
		if !slices.Contains(workloads, r.Workload) {
			workloads = append(workloads, r.Workload)
		}
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		k := reportKey{r.Workload, r.Label}
		groups[k] = append(groups[k], r)
	}
	pick = map[reportKey]Result{}
	for k, rs := range groups {
		slices.SortStableFunc(rs, func(a, b Result) int {
			switch {
			case a.Throughput < b.Throughput:
				return -1
			case a.Throughput > b.Throughput:
				return 1
			}
			return 0
		})
		pick[k] = rs[(len(rs)-1)/2]
	}
	return workloads, labels, pick
}

func renderReport(results []Result, baseline string) string {
	workloads, labels, pick := medianRuns(results)
	var b strings.Builder
	b.WriteString("| Workload | Server | Throughput | p50 ms | p99 ms | p99.9 ms | max ms | Errors | RSS MiB (peak) | Runs |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	runs := map[reportKey]int{}
	for _, r := range results {
		runs[reportKey{r.Workload, r.Label}]++
	}
	for _, w := range workloads {
		for _, l := range labels {
			r, ok := pick[reportKey{w, l}]
			if !ok {
				continue
			}
			rss := "–"
			if r.RSSKiB > 0 {
				rss = fmt.Sprintf("%.0f (%.0f)", float64(r.RSSKiB)/1024, float64(r.HWMKiB)/1024)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f %s | %.3f | %.3f | %.3f | %.3f | %d | %s | %d |\n",
				w, labelName(l), r.Throughput, r.Unit, r.Latency.P50, r.Latency.P99, r.Latency.P999,
				r.Latency.Max, r.Errors, rss, runs[reportKey{w, l}])
		}
	}
	for _, l := range labels {
		if l == baseline {
			continue
		}
		fmt.Fprintf(&b, "\nRatio %s / %s (throughput: higher is better; latency: lower is better)\n\n", labelName(l), labelName(baseline))
		b.WriteString("| Workload | Throughput | p50 | p99 | p99.9 |\n|---|--:|--:|--:|--:|\n")
		for _, w := range workloads {
			r, ok1 := pick[reportKey{w, l}]
			base, ok2 := pick[reportKey{w, baseline}]
			if !ok1 || !ok2 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", w,
				ratio(r.Throughput, base.Throughput), ratio(r.Latency.P50, base.Latency.P50),
				ratio(r.Latency.P99, base.Latency.P99), ratio(r.Latency.P999, base.Latency.P999))
		}
	}
	return b.String()
}

func labelName(l string) string {
	if l == "" {
		return "(unlabelled)"
	}
	return l
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
