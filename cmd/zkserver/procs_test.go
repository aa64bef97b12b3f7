package main

import (
	"runtime"
	"testing"

	"github.com/zkgo/zkgo/quorum/config"
)

func ensembleOf(hosts ...string) *config.Config {
	c := &config.Config{StandaloneEnabled: true, Servers: map[int64]*config.ServerSpec{}}
	for i, h := range hosts {
		id := int64(i + 1)
		c.Servers[id] = &config.ServerSpec{ID: id, Host: h, Type: config.Participant}
	}
	return c
}

func TestShareProcsGivesEachLocalMemberItsShareOfTheCPUs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(p int) { startProcs = p }(startProcs)
	defer procFloor.Store(procFloor.Load())
	local := func(h string) bool { return h == "here" }
	noEnv := func(string) string { return "" }

	for _, tc := range []struct {
		cpus  int
		hosts []string
		want  int // 0: GOMAXPROCS left alone
	}{
		{2, []string{"here", "here", "here"}, 1},
		{8, []string{"here", "here", "here"}, 3},
		{4, []string{"here", "here", "there"}, 2},
		{1, []string{"here", "here", "here", "here", "here"}, 1},
		{2, []string{"here", "there", "there"}, 0}, // one member per host: the minProcs floor stays
		{2, []string{"here"}, 0},                   // standalone
	} {
		startProcs = tc.cpus
		runtime.GOMAXPROCS(5)
		procFloor.Store(minProcs)
		got, _ := shareProcs(noEnv, ensembleOf(tc.hosts...), local)
		if got != tc.want {
			t.Fatalf("%d CPUs, members on %v: shareProcs = %d, want %d", tc.cpus, tc.hosts, got, tc.want)
		}
		wantProcs, wantFloor := tc.want, tc.want
		if tc.want == 0 {
			wantProcs, wantFloor = 5, minProcs
		}
		if p := runtime.GOMAXPROCS(0); p != wantProcs {
			t.Fatalf("%d CPUs, members on %v: GOMAXPROCS %d, want %d", tc.cpus, tc.hosts, p, wantProcs)
		}
		if f := int(procFloor.Load()); f != wantFloor {
			t.Fatalf("%d CPUs, members on %v: keepProcs floor %d, want %d", tc.cpus, tc.hosts, f, wantFloor)
		}
	}

	runtime.GOMAXPROCS(5)
	opSet := func(k string) string {
		if k == "GOMAXPROCS" {
			return "4"
		}
		return ""
	}
	got, members := shareProcs(opSet, ensembleOf("here", "here", "here"), local)
	if got != 0 || runtime.GOMAXPROCS(0) != 5 {
		t.Fatalf("with GOMAXPROCS set by the operator: shareProcs = %d, GOMAXPROCS %d; want both left alone", got, runtime.GOMAXPROCS(0))
	}
	// The members on this host are still counted: they yield between reads (server.YieldReads).
	if members != 3 {
		t.Fatalf("with GOMAXPROCS set by the operator: %d members on this host, want 3", members)
	}
	if _, members := shareProcs(noEnv, ensembleOf("here", "there", "there"), local); members != 1 {
		t.Fatalf("one member here: %d members on this host, want 1", members)
	}
}

func TestStandaloneProcsRunsOnePOnASmallHost(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(p int) { startProcs = p }(startProcs)
	defer procFloor.Store(procFloor.Load())
	noEnv := func(string) string { return "" }
	opSet := func(k string) string {
		if k == "GOMAXPROCS" {
			return "2"
		}
		return ""
	}
	for _, tc := range []struct {
		cpus  int
		hosts []string
		env   func(string) string
		want  int // 0: GOMAXPROCS left alone
	}{
		{1, []string{"here"}, noEnv, 1},
		{2, []string{"here"}, noEnv, 1},
		{2, nil, noEnv, 1}, // no server lines: standalone
		{3, []string{"here"}, noEnv, 0},
		{16, []string{"here"}, noEnv, 0},
		{2, []string{"here"}, opSet, 0},
		{2, []string{"here", "there", "there"}, noEnv, 0}, // ensemble: shareProcs / minProcs
	} {
		startProcs = tc.cpus
		runtime.GOMAXPROCS(minProcs)
		procFloor.Store(minProcs)
		got := standaloneProcs(tc.env, ensembleOf(tc.hosts...))
		if got != tc.want {
			t.Fatalf("%d CPUs, servers %v: standaloneProcs = %d, want %d", tc.cpus, tc.hosts, got, tc.want)
		}
		wantProcs, wantFloor := 1, 1
		if tc.want == 0 {
			wantProcs, wantFloor = minProcs, minProcs
		}
		if p, f := runtime.GOMAXPROCS(0), int(procFloor.Load()); p != wantProcs || f != wantFloor {
			t.Fatalf("%d CPUs, servers %v: GOMAXPROCS %d, floor %d; want %d, %d",
				tc.cpus, tc.hosts, p, f, wantProcs, wantFloor)
		}
	}
}

func TestIsLocalHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true,
		"127.0.0.3": true, // the fault tests' members
		"::1":       true,
		"localhost": true,
		"192.0.2.1": false, // TEST-NET-1: on no interface here
		"":          false,
	} {
		if got := isLocalHost(host); got != want {
			t.Errorf("isLocalHost(%q) = %v, want %v", host, got, want)
		}
	}
}
