package gomaxprocs_test

import (
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/gomaxprocs"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// TestWithKeepsTheNetworkPolledDuringASnapshot writes a snapshot of a large tree the way a
// server on one P does (With 2) while a goroutine of the same process answers a loopback
// ping-pong. On one P alone the CPU-bound walk keeps the P busy, the runtime polls the
// network only every 10 ms from its monitor, and the ping-pong was stuck for most of the
// snapshot (checked by writing it without With).
func TestWithKeepsTheNetworkPolledDuringASnapshot(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	tr := datatree.New()
	zxid := int64(1)
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	create := func(p string) {
		tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Type: jute.OpCreate, Time: zxid}, &jute.CreateTxn{Path: p, Data: make([]byte, 100), ACL: acl, ParentCVersion: -1})
		zxid++
	}
	create("/pop")
	const parents, kids = 200, 1000
	for i := 0; i < parents; i++ {
		create(fmt.Sprintf("/pop/p%04d", i))
		for j := 0; j < kids; j++ {
			create(fmt.Sprintf("/pop/p%04d/k%07d", i, j))
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		for {
			if _, err := c.Read(b); err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	done := make(chan error, 1)
	t0 := time.Now()
	go func() {
		dir := t.TempDir()
		done <- gomaxprocs.With(2, func() error {
			_, err := persistence.WriteSnapshot(dir, tr.CopyForSnapshot(), nil)
			return err
		})
	}()
	var rtts []time.Duration
	b := make([]byte, 1)
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
			continue
		default:
		}
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(b); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(start))
	}
	took := time.Since(t0)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d after the snapshot, want 1 again", got)
	}
	// The time the ping-pong was stuck: round trips over 5 ms, which a poll of the network
	// by the monitor (every 10 ms) explains and a scheduling hiccup of the machine rarely.
	var stuck time.Duration
	for _, d := range rtts {
		if d > 5*time.Millisecond {
			stuck += d
		}
	}
	t.Logf("snapshot of %d nodes took %v; %d round trips, stuck in ones over 5 ms for %v", parents*kids, took, len(rtts), stuck)
	if stuck > took/3 {
		t.Fatalf("the loopback ping-pong was stuck for %v of the %v the snapshot took on one P, want under a third", stuck, took)
	}
}
