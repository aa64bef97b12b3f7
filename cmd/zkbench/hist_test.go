package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactQuantile is the nearest-rank percentile of a sorted sample, the definition Quantile
// approximates.
func exactQuantile(sorted []int64, p float64) int64 {
	return sorted[nearestRank(p, uint64(len(sorted)))-1]
}

func TestBucketRoundTrip(t *testing.T) {
	// Every bucket's range maps back to the bucket, ranges tile the line without gaps, and
	// each bucket is narrow enough for the stated ~0.1% precision.
	var next int64
	for i := 0; i < numBuckets-1; i++ {
		lo, hi := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d range [%d,%d] maps to %d,%d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/halfCount {
			t.Fatalf("bucket %d [%d,%d] wider than 1/%d", i, lo, hi, halfCount)
		}
		next = hi + 1
	}
	if got := bucketOf(math.MaxInt64); got != numBuckets-1 {
		t.Fatalf("bucketOf(MaxInt64) = %d", got)
	}
}

func TestQuantileSmall(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"single", []int64{42}, 99.9, 42},
		{"p0 is min", []int64{5, 1, 9}, 0, 1},
		{"p100 is max", []int64{5, 1, 9}, 100, 9},
		{"median odd", []int64{3, 1, 2}, 50, 2},
		{"median even nearest rank", []int64{1, 2, 3, 4}, 50, 2},
		{"p99 of 1..100", seq(1, 100), 99, 99},
		{"p99.9 of 1..1000", seq(1, 1000), 99.9, 999},
		{"negative clamps to zero", []int64{-5, 7}, 50, 0},
		{"large value is exact max", []int64{1, 1 << 50}, 100, 1 << 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			for _, v := range tt.values {
				h.Record(v)
			}
			if got := h.Quantile(tt.p); got != tt.want {
				t.Fatalf("Quantile(%v) = %d, want %d", tt.p, got, tt.want)
			}
		})
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for v := from; v <= to; v++ {
		s = append(s, v)
	}
	return s
}

func TestQuantileMatchesSortedSample(t *testing.T) {
	// Latency-like data (lognormal around ~200µs with a heavy tail) compared against the exact
	// sorted sample: the histogram may only be above, and by at most one bucket width.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	vals := make([]int64, n)
	h := NewHistogram()
	for i := range vals {
		v := int64(math.Exp(rng.NormFloat64()*1.2 + 12))
		if rng.IntN(1000) == 0 {
			v *= 100 // stalls, as from GC or fsync
		}
		vals[i] = v
		h.Record(v)
	}
	slices.Sort(vals)
	for _, p := range []float64{0, 1, 50, 90, 99, 99.9, 99.99, 100} {
		want := exactQuantile(vals, p)
		got := h.Quantile(p)
		if got < want || float64(got-want) > float64(want)/halfCount+1 {
			t.Errorf("p%v = %d, exact %d (allowed +%.2f%%)", p, got, want, 100.0/halfCount)
		}
	}
	if h.Count() != n || h.Max() != vals[n-1] || h.Min() != vals[0] {
		t.Errorf("count/min/max = %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), n, vals[0], vals[n-1])
	}
	var sum float64
	for _, v := range vals {
		sum += float64(v)
	}
	if math.Abs(h.Mean()-sum/n) > 1e-6*sum/n {
		t.Errorf("mean = %f, want %f", h.Mean(), sum/n)
	}
}

func TestMerge(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for v := int64(1); v <= 5000; v++ {
		if v%3 == 0 {
			a.Record(v * 1000)
		} else {
			b.Record(v * 1000)
		}
		all.Record(v * 1000)
	}
	a.Merge(b)
	a.Merge(NewHistogram()) // empty must not disturb min
	for _, p := range []float64{0, 50, 99, 99.9, 100} {
		if a.Quantile(p) != all.Quantile(p) {
			t.Errorf("merged p%v = %d, want %d", p, a.Quantile(p), all.Quantile(p))
		}
	}
	if a.Count() != all.Count() || a.Min() != 1000 || a.Max() != 5_000_000 {
		t.Errorf("merged count/min/max = %d/%d/%d", a.Count(), a.Min(), a.Max())
	}
}

func BenchmarkRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; i < b.N; i++ {
		h.Record(int64(i) * 997)
	}
}

func TestQuantileOverflowBucket(t *testing.T) {
	// Values beyond the tracked range must not be reported below what was recorded.
	h := NewHistogram()
	for i := 0; i < 10; i++ {
		h.Record(1 << 50)
	}
	h.Record(1)
	if got := h.Quantile(50); got != 1<<50 {
		t.Fatalf("p50 = %d, want %d", got, int64(1<<50))
	}
}
