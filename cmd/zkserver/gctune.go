package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// gcHeadroom is the least heap a server may allocate between two collections. GOGC alone
// (defaultGCPercent, for the resident size of a large tree) sets the next collection at
// live × 1.5, so a server with a small tree collected every few megabytes: an ensemble
// member with 2 MB of live data under load ran a collection every 50 ms, each with a
// 2-4 ms mark phase taking its CPU share, which showed in the write throughput and the
// latency tails. With the headroom a small server collects a few times less often and
// stays within live + 64 MiB; a tree larger than 128 MiB keeps defaultGCPercent.
const gcHeadroom = 64 << 20

// heapMinimumAt100 is the Go runtime's floor under the heap goal at GOGC=100
// (runtime.defaultHeapMinimum); the runtime scales it with GOGC.
const heapMinimumAt100 = 4 << 20

// gcPercentFor is the GC percent that gives a live heap of `live` bytes at least `headroom`
// bytes before the next collection, and never less than base. It is capped so that the
// runtime's own floor (heapMinimumAt100 × percent / 100) stays at the headroom: a tiny
// live heap gets a goal of about the headroom, not a multiple of it.
func gcPercentFor(live uint64, base int, headroom uint64) int {
	most := int(headroom * 100 / heapMinimumAt100)
	if live == 0 { // before the first collection
		return max(base, most)
	}
	pct := int(min(headroom*100/live, uint64(most)))
	return max(base, pct)
}

// gcTuner re-sets the GC percent after every collection from the live heap it left.
type gcTuner struct {
	base     int
	headroom uint64
	last     atomic.Int64 // percent set last (0: none yet)
	stopped  atomic.Bool
	sample   []metrics.Sample
	tunes    atomic.Int64 // collections seen (tests)
}

// sentinel is garbage whose finalizer runs once per collection (it holds a pointer, so it
// is not batched by the tiny allocator, whose objects may never be finalized).
type sentinel struct{ t *gcTuner }

// startGCTuner applies the headroom rule now and after each collection, unless the
// operator set GOGC (which then wins, as it always does).
func startGCTuner(getenv func(string) string, base int, headroom uint64) *gcTuner {
	if getenv("GOGC") != "" {
		return nil
	}
	t := &gcTuner{base: base, headroom: headroom, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.tune()
	t.arm()
	return t
}

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&sentinel{t: t}, func(s *sentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.tunes.Add(1)
		s.t.tune()
		s.t.arm()
	})
}

func (t *gcTuner) tune() {
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	pct := gcPercentFor(live, t.base, t.headroom)
	// A small change is not worth it: setting the percent recomputes the pacer.
	if last := int(t.last.Load()); last == 0 || pct*20 < last*19 || pct*20 > last*21 {
		debug.SetGCPercent(pct)
		t.last.Store(int64(pct))
	}
}

// stop ends the tuning at the next collection (tests).
func (t *gcTuner) stop() { t.stopped.Store(true) }
