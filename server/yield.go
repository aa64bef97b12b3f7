package server

import "sync/atomic"

// Members of a pseudo-cluster share their host's CPUs with each other and, usually, with
// their clients. A member answering reads back to back keeps its CPU for the kernel's whole
// time slice, and the sessions of a member waiting for that CPU stall meanwhile: on three
// members and their client sharing two CPUs, the p99 of closed-loop reads was ~50 times
// their median, every slow read a wait for another member's slice. So a member that shares
// its host gives up its CPU (sched_yield) after every readYieldEvery reads it answers
// (YieldReads), which lets the kernel run the others in shorter turns. It does so only in a
// stretch of reads: when no write came through it since its last readYieldEvery reads and
// none is in flight in it. A yield can hand the CPU away for a whole slice, and a write's
// next step in this member (its prep, log append, ACK or commit) would wait through it;
// with writes among the reads (a 90/10 mix), yielding between them raised its p99 by 10-15%.
// With nothing else runnable on its CPU, sched_yield returns at once.
const readYieldEvery = 32

// readYield is the number of reads between yields; 0 (the default) never yields.
var readYield atomic.Int64

// YieldReads makes every server of this process yield its CPU between reads as described
// above (cmd/zkserver: ensemble members sharing a host). It is process-wide, as the CPUs
// and GOMAXPROCS are.
func YieldReads(on bool) {
	if on {
		readYield.Store(readYieldEvery)
	} else {
		readYield.Store(0)
	}
}

// readAnswered counts a read answered by a connection's reader and, after every readYield
// of them, yields the CPU if they were a stretch of reads (see above).
func (s *Server) readAnswered() {
	every := readYield.Load()
	if every == 0 || s.readsAnswered.Add(1)%every != 0 {
		return
	}
	w := s.writesSeen.Load()
	if s.writesSeenBefore.Swap(w) != w || !s.WritesIdle() {
		return
	}
	s.yieldCPU()
}

// writeSeen counts a write (or other pipeline request) coming through this server: one
// submitted by its client or logged by its ensemble member.
func (s *Server) writeSeen() { s.writesSeen.Add(1) }

// WritesIdle reports whether no write is in flight in this server: none between submit and
// reply on its commit path (a leader or standalone server), and nothing its ensemble member
// logged left unapplied (a proposal awaiting its commit).
func (s *Server) WritesIdle() bool {
	if s.stats.outstanding.Load() != 0 {
		return false
	}
	t := s.dt()
	t.RLock()
	applied := t.LastProcessedZxid()
	t.RUnlock()
	return s.loggedZxid.Load() <= applied
}

// NoteLogged records the zxid of the last txn the ensemble member appended to its log.
func (s *Server) NoteLogged(zxid int64) {
	s.loggedZxid.Store(zxid)
	s.writeSeen()
}
