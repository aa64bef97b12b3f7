package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	flag "github.com/spf13/pflag"
)

// reportMain implements `zkbench report [--baseline LABEL] FILE...`: it reads --json result lines
// and prints Markdown tables, one row per (workload, label), and the ratio of every other label
// to the baseline. With several runs of the same pair (BENCH_ROUNDS) the run with the median
// throughput (at a fixed rate: the median p99) is shown, so that one noisy run on a shared
// machine does not decide the table.
func reportMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("zkbench report", flag.ContinueOnError)
	baseline := fs.String("baseline", "apache", "label the ratios are relative to")
	var targetSpecs []string
	fs.StringArrayVar(&targetSpecs, "target", nil, "WORKLOAD:METRIC:OP:RATIO, e.g. get:throughput:>=:2 or failover:median:<=:1 (metric: throughput, p50, p99, p999, median; op >= or <=): adds a table of each other label's ratio to the baseline against it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var targets []target
	for _, spec := range targetSpecs {
		t, err := parseTarget(spec)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	var results []Result
	var failovers []FailoverResult
	for _, name := range fs.Args() {
		rs, fos, err := readResults(name)
		if err != nil {
			return err
		}
		results = append(results, rs...)
		failovers = append(failovers, fos...)
	}
	if len(results) == 0 && len(failovers) == 0 {
		return fmt.Errorf("no results (usage: zkbench report [--baseline LABEL] [--target SPEC]... FILE...)")
	}
	var b strings.Builder
	if len(results) > 0 {
		b.WriteString(renderReport(results, *baseline))
	}
	if len(failovers) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(renderFailover(failovers, *baseline))
	}
	if len(targets) > 0 {
		b.WriteString("\n")
		b.WriteString(renderTargets(results, failovers, *baseline, targets))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// readResults reads --json lines: closed-loop results and failover results (told apart by
// their workload).
func readResults(name string) ([]Result, []FailoverResult, error) {
	f := os.Stdin
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, nil, err
		}
		defer f.Close()
	}
	var rs []Result
	var fos []FailoverResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var kind struct {
			Workload string `json:"workload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if kind.Workload == "failover" {
			var r FailoverResult
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			fos = append(fos, r)
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rs = append(rs, r)
	}
	return rs, fos, sc.Err()
}

type reportKey struct{ workload, label string }

// medianRuns keeps, per (workload, label), the run with the median throughput (the lower
// middle one for an even count), in first-seen order of workloads and labels. Runs at a fixed
// rate (--rate) all carry the same throughput, so for them it keeps the run with the median
// p99, the figure they are there to compare.
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
		key := func(r Result) float64 { return r.Throughput }
		if rs[0].Rate > 0 {
			key = func(r Result) float64 { return r.Latency.P99 }
		}
		slices.SortStableFunc(rs, func(a, b Result) int {
			switch {
			case key(a) < key(b):
				return -1
			case key(a) > key(b):
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

// failoverTimes pools the completed rounds of every failover run, per label, in first-seen
// label order.
func failoverTimes(fos []FailoverResult) (labels []string, times map[string][]float64, leader map[string][]float64, errs map[string]uint64, runs map[string]int) {
	times, leader = map[string][]float64{}, map[string][]float64{}
	errs, runs = map[string]uint64{}, map[string]int{}
	for _, f := range fos {
		if !slices.Contains(labels, f.Label) {
			labels = append(labels, f.Label)
		}
		runs[f.Label]++
		errs[f.Label] += f.Errors
		for _, rd := range f.Rounds {
			if rd.FailoverMS >= 0 {
				times[f.Label] = append(times[f.Label], rd.FailoverMS)
			}
			if rd.NewLeaderMS >= 0 {
				leader[f.Label] = append(leader[f.Label], rd.NewLeaderMS)
			}
		}
	}
	return labels, times, leader, errs, runs
}

// renderFailover prints, per label, the kill -9 → first acknowledged write times of all
// rounds of all runs (pooled), and the ratio of medians to the baseline.
func renderFailover(fos []FailoverResult, baseline string) string {
	labels, times, leader, errs, runs := failoverTimes(fos)
	var b strings.Builder
	b.WriteString("Failover: kill -9 of the leader → first acknowledged write issued after the kill (ms; all rounds of all runs)\n\n")
	b.WriteString("| Server | Kills | min | median | max | every round | new leader seen (median) | failed writes | Runs |\n")
	b.WriteString("|---|--:|--:|--:|--:|---|--:|--:|--:|\n")
	med := func(xs []float64) string {
		if len(xs) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f", median(xs))
	}
	for _, l := range labels {
		ts := times[l]
		kills := 0
		for _, f := range fos {
			if f.Label == l {
				kills += len(f.Rounds)
			}
		}
		every := make([]string, len(ts))
		for i, t := range ts {
			every[i] = fmt.Sprintf("%.0f", t)
		}
		lo, hi := "–", "–"
		if len(ts) > 0 {
			lo, hi = fmt.Sprintf("%.0f", slices.Min(ts)), fmt.Sprintf("%.0f", slices.Max(ts))
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %d | %d |\n", labelName(l), kills, lo, med(ts), hi,
			strings.Join(every, ", "), med(leader[l]), errs[l], runs[l])
	}
	for _, l := range labels {
		if l == baseline || len(times[l]) == 0 || len(times[baseline]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nFailover median %s / %s: %s (lower is better)\n", labelName(l), labelName(baseline),
			ratio(median(times[l]), median(times[baseline])))
	}
	return b.String()
}

// target is one acceptance criterion on a ratio to the baseline.
type target struct {
	workload, metric, op string
	limit                float64
}

func parseTarget(spec string) (target, error) {
	f := strings.Split(spec, ":")
	if len(f) != 4 {
		return target{}, fmt.Errorf("--target %q: want WORKLOAD:METRIC:OP:RATIO", spec)
	}
	t := target{workload: f[0], metric: f[1], op: f[2]}
	switch t.metric {
	case "throughput", "p50", "p99", "p999", "median":
	default:
		return target{}, fmt.Errorf("--target %q: metric must be throughput, p50, p99, p999 or median", spec)
	}
	if (t.metric == "median") != (t.workload == "failover") {
		return target{}, fmt.Errorf("--target %q: the failover workload has (only) the metric median", spec)
	}
	if t.op != ">=" && t.op != "<=" {
		return target{}, fmt.Errorf("--target %q: op must be >= or <=", spec)
	}
	var err error
	if t.limit, err = strconv.ParseFloat(f[3], 64); err != nil || t.limit <= 0 {
		return target{}, fmt.Errorf("--target %q: bad ratio", spec)
	}
	return t, nil
}

func (t target) String() string {
	name := t.metric
	switch t.metric {
	case "median":
		name = "median time"
	case "p999":
		name = "p99.9"
	}
	return fmt.Sprintf("%s %s", t.workload, name)
}

// renderTargets checks every non-baseline label's ratio to the baseline against the targets.
func renderTargets(results []Result, fos []FailoverResult, baseline string, targets []target) string {
	_, labels, pick := medianRuns(results)
	flabels, times, _, _, _ := failoverTimes(fos)
	for _, l := range flabels {
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	var b strings.Builder
	for _, l := range labels {
		if l == baseline {
			continue
		}
		fmt.Fprintf(&b, "Targets (%s / %s)\n\n| Target | Ratio | Limit | Result |\n|---|--:|--:|---|\n", labelName(l), labelName(baseline))
		for _, t := range targets {
			var a, base float64
			ok := false
			if t.workload == "failover" {
				if len(times[l]) > 0 && len(times[baseline]) > 0 {
					a, base, ok = median(times[l]), median(times[baseline]), true
				}
			} else {
				r, ok1 := pick[reportKey{t.workload, l}]
				rb, ok2 := pick[reportKey{t.workload, baseline}]
				if ok = ok1 && ok2; ok {
					a, base = metricOf(r, t.metric), metricOf(rb, t.metric)
				}
			}
			if !ok || base == 0 {
				fmt.Fprintf(&b, "| %s | – | %s %g | not measured |\n", t, t.op, t.limit)
				continue
			}
			x := a / base
			pass := x >= t.limit
			if t.op == "<=" {
				pass = x <= t.limit
			}
			verdict := "**missed**"
			if pass {
				verdict = "met"
			}
			fmt.Fprintf(&b, "| %s | %.2f | %s %g | %s |\n", t, x, t.op, t.limit, verdict)
		}
	}
	return b.String()
}

func metricOf(r Result, metric string) float64 {
	switch metric {
	case "throughput":
		return r.Throughput
	case "p50":
		return r.Latency.P50
	case "p99":
		return r.Latency.P99
	case "p999":
		return r.Latency.P999
	}
	return 0
}
