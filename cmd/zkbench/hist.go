package main

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is an HDR-style log-linear latency histogram: values below 2^subBits are counted
// exactly, and every power-of-two range above is split into 2^(subBits-1) equal buckets, so any
// reported value is within 1/2^(subBits-1) (about 0.1%) of a recorded one. Recording is O(1) and
// allocation-free, which keeps the measuring cheaper than the thing measured; each worker owns
// one and they are merged at the end, so no locking is needed.
type Histogram struct {
	counts []uint64
	n      uint64
	min    int64
	max    int64
	sum    float64
}

const (
	subBits   = 11
	subCount  = 1 << subBits // values below are exact
	halfCount = subCount / 2 // buckets per power of two above
	// maxShift bounds the range to 2^(subBits+maxShift) ns (about 73 minutes); larger values
	// land in the last bucket but min, max and mean stay exact.
	maxShift   = 31
	numBuckets = subCount + maxShift*halfCount
)

// NewHistogram returns an empty histogram of nanosecond values.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // v>>shift is in [halfCount, subCount)
	if shift > maxShift {
		return numBuckets - 1
	}
	return subCount + (shift-1)*halfCount + int(v>>shift) - halfCount
}

// bucketRange returns the smallest and largest values that map to bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i-subCount)/halfCount + 1
	m := int64((i-subCount)%halfCount + halfCount)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one value in nanoseconds; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// RecordDuration adds one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds all of o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() int64 {
	if h.n == 0 {
		return 0
	}
	return h.max
}

// Min is the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() int64 {
	if h.n == 0 {
		return 0
	}
	return h.min
}

// Mean is the exact arithmetic mean, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at percentile p (0..100) by the nearest-rank definition: the
// smallest recorded value v such that at least p% of values are <= v. As in HdrHistogram it
// reports the top of v's bucket, so it never understates a tail, clamped to the exact min/max.
func (h *Histogram) Quantile(p float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := nearestRank(p, h.n)
	if rank >= h.n {
		return h.max
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			if i == numBuckets-1 {
				return h.max // the overflow bucket has no useful upper bound
			}
			_, hi := bucketRange(i)
			return min(max(hi, h.min), h.max)
		}
	}
	return h.max
}

// nearestRank is the 1-based rank of percentile p among n values: ceil(p/100*n), at least 1.
// The tiny shrink keeps float error from rounding e.g. 99.9% of 1000 up to rank 1000.
func nearestRank(p float64, n uint64) uint64 {
	x := p / 100 * float64(n)
	return max(uint64(math.Ceil(x*(1-1e-12))), 1)
}
