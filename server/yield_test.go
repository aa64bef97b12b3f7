package server

import (
	"sync/atomic"
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestReadYieldOnlyInAStretchOfReads: with YieldReads on, the server gives up its CPU once
// per readYieldEvery reads answered, but not after reads among which a write came through
// it, nor while a write is in flight (submitted and not answered, or logged by its ensemble
// member and not applied); with it off, never.
func TestReadYieldOnlyInAStretchOfReads(t *testing.T) {
	defer YieldReads(false)
	var yields atomic.Int64
	s, _ := startServerWith(t, nil, func(s *Server) { s.yieldCPU = func() { yields.Add(1) } })
	reads := func(n int) int64 {
		before := yields.Load()
		for i := 0; i < n; i++ {
			s.readAnswered()
		}
		return yields.Load() - before
	}
	if got := reads(4 * readYieldEvery); got != 0 {
		t.Fatalf("YieldReads off: %d yields, want 0", got)
	}
	YieldReads(true)
	if got := reads(4 * readYieldEvery); got != 4 {
		t.Fatalf("%d reads: %d yields, want 4 (one per %d)", 4*readYieldEvery, got, readYieldEvery)
	}
	for i := 0; i < 8; i++ { // a write every readYieldEvery/2 reads
		s.writeSeen()
		if got := reads(readYieldEvery / 2); got != 0 {
			t.Fatalf("with writes among the reads: %d yields, want 0", got)
		}
	}
	reads(readYieldEvery) // the check that sees the last write
	s.stats.outstanding.Add(1)
	if got := reads(2 * readYieldEvery); got != 0 {
		t.Fatalf("with a write outstanding: %d yields, want 0", got)
	}
	s.stats.outstanding.Add(-1)
	last := s.dt().LastProcessedZxid()
	s.NoteLogged(last + 1)
	if got := reads(3 * readYieldEvery); got != 0 {
		t.Fatalf("with a logged txn not applied: %d yields, want 0", got)
	}
	s.NoteLogged(last) // as after a truncation to what the tree holds
	reads(readYieldEvery)
	if got := reads(2 * readYieldEvery); got != 2 {
		t.Fatalf("with the log no ahead of the tree: %d yields in %d reads, want 2", got, 2*readYieldEvery)
	}
}

// TestClientReadsAndWritesReachTheYield: a client's reads are counted for YieldReads and
// its writes are seen as writes.
func TestClientReadsAndWritesReachTheYield(t *testing.T) {
	defer YieldReads(false)
	YieldReads(true)
	var yields atomic.Int64
	s, addr := startServerWith(t, nil, func(s *Server) { s.yieldCPU = func() { yields.Add(1) } })
	c, _ := connect(t, addr)
	if _, err := c.Create("/y", []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	w := s.writesSeen.Load()
	if _, err := c.Set("/y", []byte("w"), -1); err != nil {
		t.Fatal(err)
	}
	if got := s.writesSeen.Load(); got <= w {
		t.Fatalf("writes seen %d after a setData, %d before", got, w)
	}
	for i := 0; i < 10*readYieldEvery; i++ {
		if _, _, err := c.Get("/y"); err != nil {
			t.Fatal(err)
		}
	}
	// The reply to a read is written before the server counts it, so the last may lag.
	if got := yields.Load(); got < 8 {
		t.Fatalf("%d reads: %d yields, want at least 8", 10*readYieldEvery, got)
	}
}
