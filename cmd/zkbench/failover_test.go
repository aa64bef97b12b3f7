package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
)

func TestSessionOrder(t *testing.T) {
	s := []string{"a", "b", "c"}
	for i, want := range []string{"a b c", "b c a", "c a b", "a b c", "b c a"} {
		if got := strings.Join(sessionOrder(s, i), " "); got != want {
			t.Errorf("session %d: %s, want %s", i, got, want)
		}
	}
	if got := strings.Join(s, " "); got != "a b c" {
		t.Errorf("servers modified: %s", got)
	}
}

func TestHostListRetry(t *testing.T) {
	// Without pause: the client library is told after one full unsuccessful pass.
	h := &hostList{hosts: []string{"a", "b"}}
	var got []string
	for i := 0; i < 3; i++ {
		s, retry := h.Next()
		got = append(got, fmt.Sprintf("%s:%v", s, retry))
	}
	if strings.Join(got, " ") != "a:false b:false a:true" {
		t.Errorf("no pause: %v", got)
	}
	h.Connected()
	if _, retry := h.Next(); retry {
		t.Error("retry right after Connected")
	}
	// With pause: never told, but each full pass pauses.
	h = &hostList{hosts: []string{"a", "b"}, pause: 30 * time.Millisecond}
	start := time.Now()
	for i := 0; i < 7; i++ { // passes complete after 2, 4, 6: three pauses
		if _, retry := h.Next(); retry {
			t.Fatalf("retry reported with pause (call %d)", i)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Errorf("7 calls took %v, want three pauses of 30ms", d)
	}
}

func TestSrvrMode(t *testing.T) {
	answer := "Zookeeper version: 3.8.0-x, built on 2022\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n"
	if m := srvrMode(answer); m != "follower" {
		t.Errorf("mode %q", m)
	}
	if m := srvrMode("This ZooKeeper instance is not currently serving requests\n"); m != "" {
		t.Errorf("not serving: mode %q", m)
	}
	for _, tc := range []struct {
		modes []string
		want  int
	}{
		{[]string{"follower", "leader", "follower"}, 1},
		{[]string{"follower", "", "follower"}, -1},
		{[]string{"leader", "leader", "follower"}, -1},
		{[]string{"standalone"}, -1},
	} {
		if got := soleLeader(tc.modes); got != tc.want {
			t.Errorf("soleLeader(%q) = %d, want %d", tc.modes, got, tc.want)
		}
	}
}

func TestPidHelpers(t *testing.T) {
	if got := expand("/x/node{n}/pid {n}", 2); got != "/x/node2/pid 2" {
		t.Errorf("expand: %s", got)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "pid")
	os.WriteFile(p, []byte("1234\n"), 0o644)
	if pid, err := readPid(p); err != nil || pid != 1234 {
		t.Errorf("readPid = %d, %v", pid, err)
	}
	for _, bad := range []string{"", "x", "1", "-5"} {
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := readPid(p); err == nil {
			t.Errorf("readPid accepted %q", bad)
		}
	}
	if processGone(os.Getpid()) {
		t.Error("this process is gone")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	// Not reaped yet: a zombie counts as gone.
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("killed child not seen as gone")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Wait()
	if !processGone(cmd.Process.Pid) {
		t.Error("reaped child not gone")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("odd: %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("even: %v", m)
	}
}

func TestRenderFailoverAndTargets(t *testing.T) {
	fo := func(label string, ms ...float64) FailoverResult {
		f := FailoverResult{Label: label, Workload: "failover"}
		for i, m := range ms {
			f.Rounds = append(f.Rounds, FailoverRound{Round: i + 1, FailoverMS: m, NewLeaderMS: m / 2})
		}
		return f
	}
	// A round that never got a write (-1) counts as a kill but not as a time.
	fos := []FailoverResult{fo("apache", 1000, 3000), fo("zkgo", 500, -1), fo("apache", 2000), fo("zkgo", 700, 900)}
	got := renderFailover(fos, "apache")
	for _, want := range []string{
		"| apache | 3 | 1000 | 2000 | 3000 | 1000, 3000, 2000 | 1000 | 0 | 2 |",
		"| zkgo | 4 | 500 | 700 | 900 | 500, 700, 900 | 350 | 0 | 2 |",
		"Failover median zkgo / apache: 0.35×",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failover table lacks %q:\n%s", want, got)
		}
	}
	mk := func(label, wl string, tput, p99 float64) Result {
		return Result{Label: label, Workload: wl, Unit: "ops/s", Throughput: tput, Latency: LatencyMS{P50: 1, P99: p99}}
	}
	results := []Result{mk("apache", "get", 1000, 4), mk("zkgo", "get", 2500, 1), mk("apache", "set", 1000, 4), mk("zkgo", "set", 1200, 3)}
	var targets []target
	for _, spec := range []string{"get:throughput:>=:2", "set:throughput:>=:1.5", "get:p99:<=:0.5", "set:p99:<=:0.5", "mixed:p99:<=:0.5", "failover:median:<=:1"} {
		tg, err := parseTarget(spec)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	got = renderTargets(results, fos, "apache", targets)
	for _, want := range []string{
		"Targets (zkgo / apache)",
		"| get throughput | 2.50 | >= 2 | met |",
		"| set throughput | 1.20 | >= 1.5 | **missed** |",
		"| get p99 | 0.25 | <= 0.5 | met |",
		"| set p99 | 0.75 | <= 0.5 | **missed** |",
		"| mixed p99 | – | <= 0.5 | not measured |",
		"| failover median time | 0.35 | <= 1 | met |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("targets lack %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"get:throughput:>=", "get:p98:>=:2", "get:p99:==:1", "get:median:<=:1", "failover:p99:<=:1", "get:p99:<=:x"} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) accepted", bad)
		}
	}
}

func TestReadResultsMixed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(p, []byte(`{"label":"a","workload":"get","throughput":5,"latency_ms":{"p99":1}}
{"label":"a","workload":"failover","rounds":[{"round":1,"failover_ms":1500,"new_leader_ms":900}],"median_ms":1500}

`), 0o644)
	rs, fos, err := readResults(p)
	if err != nil || len(rs) != 1 || len(fos) != 1 || fos[0].Rounds[0].FailoverMS != 1500 || rs[0].Throughput != 5 {
		t.Fatalf("%+v %+v %v", rs, fos, err)
	}
}

func TestParseFlagsFailover(t *testing.T) {
	ok := []string{"--workload", "failover", "--server", "a:1,b:2,c:3", "--pid-file", "/d/node{n}/pid", "--restart-cmd", "start {n}", "--rounds", "5"}
	cfg, err := parseFlags(ok)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rounds != 5 || cfg.pidFile != "/d/node{n}/pid" || cfg.restartCmd != "start {n}" || cfg.settle != 2*time.Second {
		t.Errorf("parsed %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--workload", "failover"},                                     // no pid file
		{"--workload", "failover", "--pid-file", "p", "--rounds", "2"}, // no restart command
		{"--workload", "failover", "--pid-file", "p", "--rounds", "0"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	if _, err := parseFlags([]string{"--workload", "failover", "--pid-file", "p", "--rounds", "1"}); err != nil {
		t.Errorf("one round without restart: %v", err)
	}
}

// TestFailoverAgainstApacheEnsemble runs two failover rounds against a three-node Apache
// ZooKeeper ensemble started the way scripts/bench-ensemble.sh starts one (a start script that
// writes a pid file, which zkbench reads, and that zkbench runs again to restart the killed
// leader).
func TestFailoverAgainstApacheEnsemble(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three JVMs and kills two leaders")
	}
	if !zktest.ApacheAvailable() {
		t.Skip("Apache ZooKeeper not installed")
	}
	dir := t.TempDir()
	ports := lowPorts(t, 9)
	var servers, lines []string
	for n := 1; n <= 3; n++ {
		servers = append(servers, fmt.Sprintf("127.0.0.1:%d", ports[3*(n-1)]))
		lines = append(lines, fmt.Sprintf("server.%d=127.0.0.1:%d:%d", n, ports[3*(n-1)+1], ports[3*(n-1)+2]))
	}
	for n := 1; n <= 3; n++ {
		nd := filepath.Join(dir, fmt.Sprintf("node%d", n))
		os.MkdirAll(filepath.Join(nd, "data"), 0o755)
		os.WriteFile(filepath.Join(nd, "data", "myid"), []byte(fmt.Sprintf("%d\n", n)), 0o644)
		cfg := fmt.Sprintf("dataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\ntickTime=2000\ninitLimit=10\nsyncLimit=5\n"+
			"admin.enableServer=false\n4lw.commands.whitelist=*\n%s\n", nd, ports[3*(n-1)], strings.Join(lines, "\n"))
		os.WriteFile(filepath.Join(nd, "zoo.cfg"), []byte(cfg), 0o644)
	}
	script := filepath.Join(dir, "start-node.sh")
	os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/bash
d=%s/node$1
nohup java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp %s org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >>"$d/zk.log" 2>&1 </dev/null &
echo $! >"$d/pid"
`, dir, zktest.Classpath())), 0o755)
	t.Cleanup(func() {
		for n := 1; n <= 3; n++ {
			nd := filepath.Join(dir, fmt.Sprintf("node%d", n))
			pid, err := readPid(filepath.Join(nd, "pid"))
			if err != nil {
				continue
			}
			// Only a process started with this node's config (pids are reused).
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil &&
				strings.Contains(string(b), filepath.Join(nd, "zoo.cfg")) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(nd, "zk.log"))
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("node%d log tail:\n%s", n, b)
			}
		}
	})
	for n := 1; n <= 3; n++ {
		if out, err := exec.Command("bash", script, fmt.Sprint(n)).CombinedOutput(); err != nil {
			t.Fatalf("start node %d: %v %s", n, err, out)
		}
	}
	cfg, err := parseFlags([]string{"--server", strings.Join(servers, ","), "--workload", "failover",
		"--sessions", "3", "--rounds", "2", "--warmup", "500ms", "--settle", "500ms", "--timeout", "2m",
		"--pid-file", filepath.Join(dir, "node{n}", "pid"), "--restart-cmd", "bash " + script + " {n}",
		"--connect-timeout", "2m"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runFailover(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v (%+v)", err, res)
	}
	if len(res.Rounds) != 2 {
		t.Fatalf("rounds: %+v", res.Rounds)
	}
	for _, rd := range res.Rounds {
		if rd.FailoverMS <= 0 || rd.DeadMS < 0 || rd.DeadMS > rd.FailoverMS || rd.RejoinMS <= 0 || rd.KilledPid <= 1 {
			t.Errorf("round %+v", rd)
		}
		if rd.NewLeader == rd.Killed {
			t.Errorf("round %d: new leader is the killed node %s", rd.Round, rd.Killed)
		}
	}
	if res.Rounds[0].KilledPid == res.Rounds[1].KilledPid {
		t.Errorf("same pid killed twice: %+v", res.Rounds)
	}
	if res.MedianMS <= 0 || res.Writes == 0 {
		t.Errorf("result %+v", res)
	}
	var sb strings.Builder
	res.writeText(&sb)
	t.Log(sb.String())
	// The run's znodes are gone.
	assertNoLeftovers(t, servers[0])
}

// lowPorts returns n distinct free ports under 32768, outside Linux's default ephemeral range,
// so that the nodes' connections to each other cannot take one before its node binds it.
func lowPorts(t *testing.T, n int) []int {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n && tries < 10000; tries++ {
		p := 10000 + rand.IntN(22000)
		if seen[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		seen[p] = true
		ports = append(ports, p)
	}
	if len(ports) < n {
		t.Fatal("no free ports")
	}
	return ports
}
