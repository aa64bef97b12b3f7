package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentForKeepsTheHeadroom(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 1600},       // before the first collection: the goal is the headroom
		{1 * mb, 1600},  // capped: the runtime's floor (4 MB x 16) is the headroom
		{4 * mb, 1600},  // 4 + 64 MB
		{16 * mb, 400},  // 16 + 64 MB
		{100 * mb, 64},  // 100 + 64 MB
		{128 * mb, 50},  // the base: 128 + 64 MB
		{1024 * mb, 50}, // a large tree keeps the base
		{127 * mb, 50},  // 64*100/127 = 50
		{120 * mb, 53},  // 64*100/120 = 53
	} {
		if got := gcPercentFor(c.live, 50, 64*mb); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}

func TestGCTunerLeavesAnOperatorsGOGCAlone(t *testing.T) {
	if tu := startGCTuner(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}, 50, gcHeadroom); tu != nil {
		t.Fatal("tuner started although GOGC is set")
	}
}

func TestGCTunerRetunesAfterEachCollection(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	tu := startGCTuner(func(string) string { return "" }, 50, gcHeadroom)
	defer tu.stop()
	// The test binary's live heap is a few MB: the tuner raises the percent to the cap.
	if got := debug.SetGCPercent(7); got != 1600 {
		t.Fatalf("GC percent after start = %d, want 1600", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tu.tunes.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("tuner ran after %d collections, want 2", tu.tunes.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// Set back after each collection, by the finalizer: not left at the 7 set above (the
	// tuner re-sets only when its value changes, so make it differ first).
	tu.last.Store(7)
	runtime.GC()
	deadline = time.Now().Add(10 * time.Second)
	for {
		cur := debug.SetGCPercent(1600)
		if cur == 1600 {
			break
		}
		debug.SetGCPercent(cur)
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d after collections, want 1600", cur)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
