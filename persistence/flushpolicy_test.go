package persistence

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestFlushPolicyHold(t *testing.T) {
	hold := func(f FlushPolicy, last time.Time, pending func() int) time.Duration {
		start := time.Now()
		f.Hold(last, pending)
		return time.Since(start)
	}
	one := func() int { return 1 }
	if d := hold(FlushPolicy{}, time.Now(), one); d > 50*time.Millisecond {
		t.Errorf("no flushDelay: held %v", d)
	}
	f := FlushPolicy{Delay: 300 * time.Millisecond, Poll: 100 * time.Millisecond, MaxBatch: 1000}
	// Nothing more comes: the poll time.
	if d := hold(f, time.Now(), one); d < 90*time.Millisecond || d > 290*time.Millisecond {
		t.Errorf("idle: held %v, want about the 100 ms poll time", d)
	}
	// The previous sync is older than the delay: no wait.
	if d := hold(f, time.Now().Add(-time.Second), one); d > 50*time.Millisecond {
		t.Errorf("after the delay: held %v", d)
	}
	// Txns keep coming: until the delay is over.
	var n atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				n.Add(1)
			}
		}
	}()
	if d := hold(f, time.Now(), func() int { return int(n.Load()) }); d < 250*time.Millisecond {
		t.Errorf("busy: held %v, want about the 300 ms delay", d)
	}
	// A full batch goes at once.
	full := FlushPolicy{Delay: 5 * time.Second, Poll: 5 * time.Second, MaxBatch: 4}
	m := 0
	if d := hold(full, time.Now(), func() int { m++; return m }); d > 2*time.Second || m < 4 {
		t.Errorf("batch of 4: held %v over %d looks", d, m)
	}
}
