package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepPrecise sleeps d in clock_nanosleep(2), a blocking system call whose thread wakes
// tens of microseconds after d. time.Sleep wakes through the Go runtime's poller, whose
// timeout is in whole milliseconds: workers paced by --rate then woke together at
// millisecond boundaries, and about 70% of their requests went out within 50 us of the
// one before, in bursts, instead of on the schedule they stand for. The thread asleep in
// the call gives its P up, as in any blocking system call.
func sleepPrecise(d time.Duration) {
	if d <= 0 {
		return
	}
	// The kernel may defer a sleeper's wake-up by its thread's timer slack (50 us by
	// default) to batch wake-ups; 1 us keeps the schedule.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	// A signal (the runtime preempts goroutines with SIGURG) ends the sleep early with
	// the time left in ts.
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
	}
}
