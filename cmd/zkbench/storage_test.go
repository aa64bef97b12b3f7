package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
)

// TestPopulateAndFirstRead loads a small tree into a real Apache ZooKeeper (twice: the second
// run finds everything in place) and reads and writes a known znode with firstread.
func TestPopulateAndFirstRead(t *testing.T) {
	addr := zktest.StartApache(t)
	args := []string{"--server", addr, "--workload", "populate", "--znodes", "250", "--fanout", "100",
		"--sessions", "3", "--pipeline", "4", "--value-size", "100", "--pop-root", "/poptest"}
	for round := 0; round < 2; round++ {
		cfg, err := parseFlags(args)
		if err != nil {
			t.Fatal(err)
		}
		res, err := runPopulate(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Parents != 3 || res.Errors != 0 || res.Created+res.Existed != 250 {
			t.Fatalf("round %d: %+v", round, res)
		}
		if want := uint64(250 * (1 - round)); res.Created != want {
			t.Fatalf("round %d: created %d, want %d", round, res.Created, want)
		}
	}
	since := time.Now()
	cfg, err := parseFlags([]string{"--server", addr, "--workload", "firstread", "--path", populatePath("/poptest", 100, 249),
		"--since", "1", "--timeout", "1m"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.since = since.UnixNano()
	res, err := runFirstRead(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.DataLen != 100 || !(res.ConnectMS >= 0 && res.ConnectMS <= res.SessionMS && res.SessionMS <= res.ReadMS && res.ReadMS <= res.WriteMS) {
		t.Fatalf("%+v", res)
	}
	if !strings.HasSuffix(res.Path, "/p0002/k0000249") {
		t.Fatalf("path %s", res.Path)
	}
	// A missing znode is never read: bounded by --timeout.
	cfg.path, cfg.timeout, cfg.since = "/poptest/missing", 300*time.Millisecond, time.Now().UnixNano()
	if res, err := runFirstRead(context.Background(), cfg); err == nil || res.ReadMS >= 0 {
		t.Fatalf("missing znode: %+v, %v", res, err)
	}
}
