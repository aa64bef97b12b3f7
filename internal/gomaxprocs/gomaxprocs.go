// Package gomaxprocs runs background work with more Ps than a server otherwise uses.
package gomaxprocs

import "runtime"

// With runs f with GOMAXPROCS raised to n if it is lower (n <= 0: as it is), and restores it
// afterwards. A server running on one P (zkserver standalone on a small host, an ensemble
// member sharing a host with others) writes its snapshots this way: the walk of a large
// tree is CPU-bound and always runnable, and while a P has runnable work the runtime polls
// the network only from its monitor, every 10 ms; requests, and log syncs completing through
// the poller, waited that long (TestWithKeepsTheNetworkPolledDuringASnapshot: a loopback
// ping-pong was stuck for most of a snapshot), and the snapshot's fsync held the only P.
// It is called as With(2, ...), so that it does nothing with two Ps or more, and a snapshot
// written while the server starts (replay) gets its second P as well. Changing GOMAXPROCS
// stops the world for a moment, twice per call. Overlapping calls (members of an ensemble
// in one test process) leave GOMAXPROCS as they found it, though a call may then run on one P.
func With(n int, f func() error) error {
	if n > 0 && runtime.GOMAXPROCS(0) < n {
		prev := runtime.GOMAXPROCS(n)
		defer runtime.GOMAXPROCS(prev)
	}
	return f()
}
