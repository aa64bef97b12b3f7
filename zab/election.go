package zab

import (
	"math"
	"slices"
)

// ElectionConfig configures fast leader election for one peer.
type ElectionConfig struct {
	ID        uint64
	Voters    []uint64 // participants (server.N lines without :observer), this peer included if it votes
	Observers []uint64 // non-voting members

	// FinalizeTicks is how long a peer keeps draining notifications once its proposal has a
	// quorum before it decides (finalizeWait, 200 ms in Apache ZooKeeper).
	FinalizeTicks int
	// MinNotificationTicks is the first re-send interval (minNotificationInterval, by
	// default finalizeWait: FinalizeTicks when 0); MaxNotificationTicks caps its doubling
	// (maxNotificationInterval, 60 s).
	MinNotificationTicks, MaxNotificationTicks int

	// Config is this peer's QuorumVerifier string, sent with every notification; opaque here.
	Config []byte

	// Oracle (oraclePath, QuorumOracleMaj): in a configuration of two voters, the oracle
	// stands in for the other one when it says so (SetOracle), see oracleQuorum.
	Oracle bool
}

// NoVote is the leader, zxid and peer epoch a non-voting peer proposes (Long.MIN_VALUE in
// FastLeaderElection.getInitId, getInitLastLoggedZxid and getPeerEpoch). As a leader id it
// is stored as uint64(math.MinInt64), which package quorum/wire writes as Long.MIN_VALUE.
const NoVote = math.MinInt64

// noVoteLeader is NoVote as a leader id.
const noVoteLeader = uint64(1) << 63

// fleVote is FastLeaderElection's Vote: a proposal (leader, zxid, peerEpoch) seen in a round
// (electionEpoch) from a peer in some state.
type fleVote struct {
	leader        uint64
	zxid          Zxid
	electionEpoch int64
	peerEpoch     int64
	state         ServerState
	// oldFormat marks votes Apache builds with version 0 (recvset entries of FOLLOWING or
	// LEADING notifications); Vote.equals then compares the leader id only.
	oldFormat bool
}

// equal is Vote.equals: a LOOKING side compares everything but the state; two votes of
// peers out of election compare leader and peerEpoch only (ZOOKEEPER-1805), and the leader
// only when just one of them is in the old format (ZOOKEEPER-1732).
func (v fleVote) equal(o fleVote) bool {
	if v.state == Looking || o.state == Looking {
		return v.leader == o.leader && v.zxid == o.zxid && v.electionEpoch == o.electionEpoch && v.peerEpoch == o.peerEpoch
	}
	if v.oldFormat != o.oldFormat {
		return v.leader == o.leader
	}
	return v.leader == o.leader && v.peerEpoch == o.peerEpoch
}

// Election is one peer's FastLeaderElection. It lives as long as the peer: while the peer
// is LOOKING it runs lookForLeader; while the peer follows, leads or observes it still
// answers LOOKING peers with the vote it settled on (WorkerReceiver), so they can join.
//
// It is deterministic: Step, Tick, Start and SetServing go in; Messages and Decision come
// out. Messages carry only Vote. Notifications to this peer itself never appear in
// Messages: they are looped back inside, as QuorumCnxManager.toSend does for its own sid.
//
// Deliberate differences from Apache: an observer never answers anyone (see receive), and
// notifications carry no format version, all being treated as version 2.
//
// Time: one Tick is FinalizeTicks-th of finalizeWait. Like lookForLeader's poll, the
// re-send timer and the finalize timer count ticks without a received notification: every
// notification taken in restarts them.
type Election struct {
	cfg       ElectionConfig
	voters    []uint64     // sorted, deduplicated: voters of every known configuration (validVoter)
	quorums   []Membership // the committed and each pending configuration
	leadable  []uint64     // voters of the committed configuration that can lead (canLead)
	observers []uint64
	voter     bool // cfg.ID is a voter of the committed configuration
	// oracleSays: the oracle authorises this peer (SetOracle; cfg.Oracle).
	oracleSays bool

	started bool
	state   ServerState // Looking during a round, else the decided or serving state
	decided bool

	logicalclock int64
	// init is this round's own vote (getInitId, getInitLastLoggedZxid, getPeerEpoch).
	init fleVote
	// proposal is proposedLeader, proposedZxid, proposedEpoch.
	proposal fleVote
	// current is QuorumPeer.currentVote: the last decided vote (with its electionEpoch and
	// the peerEpoch UpdateElectionVote set), or the peer's own vote before its first decision.
	current fleVote

	recvset       map[uint64]fleVote
	outofelection map[uint64]fleVote

	notTimeout int // re-send interval, doubling from MinNotificationTicks up to MaxNotificationTicks
	idle       int // ticks since the last notification was taken in
	sinceSend  int // ticks since this peer last notified every voter
	finalizing bool
	finIdle    int // ticks of the finalize wait without a notification

	// decidedBy lists the peers whose votes formed the deciding quorum, and byLooking says
	// it was a quorum of this round's LOOKING votes (tests check the elected leader's
	// history against theirs).
	decidedBy []uint64
	byLooking bool

	loopback []Notification
	msgs     []Message

	clock    int64            // ticks since creation
	answered map[uint64]int64 // clock of the last answer to a non-voter
}

// NewElection returns an election for one peer, not looking yet. FinalizeTicks below 1 is
// taken as 1, MinNotificationTicks below 1 as FinalizeTicks, and MaxNotificationTicks below
// MinNotificationTicks as MinNotificationTicks.
func NewElection(cfg ElectionConfig) *Election {
	if cfg.FinalizeTicks < 1 {
		cfg.FinalizeTicks = 1
	}
	if cfg.MinNotificationTicks < 1 {
		cfg.MinNotificationTicks = cfg.FinalizeTicks
	}
	if cfg.MaxNotificationTicks < cfg.MinNotificationTicks {
		cfg.MaxNotificationTicks = cfg.MinNotificationTicks
	}
	e := &Election{cfg: cfg}
	e.SetMembers(Members{Committed: Membership{Voters: cfg.Voters, Observers: cfg.Observers, Raw: cfg.Config}})
	return e
}

// SetMembers changes the configurations the election works with: votes count from the
// voters of any of them, a decision needs a quorum of each (termPredicate with the last
// seen QuorumVerifier), and only a voter of the committed one can be elected
// (totalOrderPredicate's weight check). Notifications carry the committed one.
func (e *Election) SetMembers(ms Members) {
	c := normalize(ms.Committed)
	e.leadable = nil
	for _, id := range c.Voters {
		if c.canLead(id) {
			e.leadable = append(e.leadable, id)
		}
	}
	e.observers = c.Observers
	e.quorums = []Membership{c}
	all := slices.Clone(c.Voters)
	for _, m := range ms.Pending {
		m = normalize(m)
		e.quorums = append(e.quorums, m)
		all = append(all, m.Voters...)
	}
	e.voters = slices.Compact(slices.Sorted(slices.Values(all)))
	e.voter = c.isVoter(e.cfg.ID)
	e.cfg.Config = c.Raw
}

// isVoter is validVoter: id has a vote in some known configuration.
func (e *Election) isVoter(id uint64) bool { return has(e.voters, id) }

// canLead: id is a voter of the committed configuration.
func (e *Election) canLead(id uint64) bool { return has(e.leadable, id) }

func (e *Election) isObserver(id uint64) bool { return has(e.observers, id) }

// Start begins a round of lookForLeader: logicalclock++, the peer proposes itself with its
// last logged zxid and currentEpoch (an observer proposes nothing) and notifies every voter.
func (e *Election) Start(lastZxid Zxid, currentEpoch int64) {
	if !e.started {
		// QuorumPeer.startLeaderElection: before any decision the peer answers non-voters
		// with its own vote, observers included.
		e.current = fleVote{leader: e.cfg.ID, zxid: lastZxid, peerEpoch: currentEpoch, state: Looking}
	}
	e.started = true
	e.state = Looking
	e.decided = false
	e.decidedBy = nil
	e.logicalclock++
	if e.voter {
		e.init = fleVote{leader: e.cfg.ID, zxid: lastZxid, peerEpoch: currentEpoch, state: Looking}
	} else {
		e.init = fleVote{leader: noVoteLeader, zxid: NoVote, peerEpoch: NoVote, state: Looking}
	}
	e.proposal = e.init
	e.recvset = map[uint64]fleVote{}
	e.outofelection = map[uint64]fleVote{}
	e.notTimeout = e.cfg.MinNotificationTicks
	e.idle = 0
	e.finalizing = false
	e.finIdle = 0
	e.loopback = e.loopback[:0]
	e.sendNotifications()
	e.drain()
}

// Step processes a notification received from another peer.
func (e *Election) Step(from uint64, n Notification) {
	if !e.started || from == e.cfg.ID {
		return
	}
	e.receive(from, n)
	e.drain()
}

// receive is WorkerReceiver.run for one notification.
func (e *Election) receive(from uint64, n Notification) {
	if !e.isVoter(from) {
		// A non-voter (observer, or a server joining the ensemble) is answered with
		// QuorumPeer.currentVote (while LOOKING, still the previous round's result), and
		// its notification is not counted. Unlike Apache, only a LOOKING non-voter is
		// answered, at most once per FinalizeTicks: two peers whose configurations each
		// lack the other (one has not heard of a reconfig yet) would otherwise answer each
		// other's answers forever.
		if n.State == Looking && e.mayAnswer(from) {
			e.send(from, e.state, e.current.leader, e.current.zxid, e.logicalclock, e.current.peerEpoch)
		}
		return
	}
	if n.State < Looking || n.State > Observing {
		return // WorkerReceiver skips unknown states
	}
	if !e.voter {
		// Deliberately unlike Apache, a LOOKING observer answers nobody: a voter drops
		// what a non-voter sends after answering it, so such an answer carries nothing
		// and provokes another one (Apache's observer and a LOOKING voter ping-pong for as
		// long as the voter looks). A settled non-voter (an observer, or a follower the
		// committed configuration does not list yet) tells a LOOKING voter whom it
		// follows, which that voter may need: its own configuration can be older, and
		// the answer carries the committed one.
		switch {
		case e.state == Looking:
			e.process(from, n)
		case n.State == Looking && e.mayAnswer(from):
			e.send(from, e.state, e.current.leader, e.current.zxid, e.current.electionEpoch, e.current.peerEpoch)
		}
		return
	}
	if e.state == Looking {
		// A LOOKING sender behind my logicalclock gets my proposal so it can catch up.
		if n.State == Looking && n.ElectionEpoch < e.logicalclock {
			e.send(from, Looking, e.proposal.leader, e.proposal.zxid, e.logicalclock, e.proposal.peerEpoch)
		} else if n.State == Looking && n.ElectionEpoch == e.logicalclock && !e.finalizing &&
			e.totalOrder(e.proposal.leader, e.proposal.zxid, e.proposal.peerEpoch, fleVote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch}) {
			// Unlike Apache, a sender of my round whose vote mine beats gets mine at once. My
			// own notifications may have been lost, and the re-send timer counts from the
			// last notification received: peers that keep sending me worse votes would hold
			// it back forever, and them with it. The sender adopts my vote (or cannot, and
			// then it sends no faster than before), so this does not go back and forth.
			e.send(from, Looking, e.proposal.leader, e.proposal.zxid, e.logicalclock, e.proposal.peerEpoch)
		}
		e.process(from, n)
		return
	}
	if n.State == Looking {
		// Not looking myself: tell the LOOKING peer whom I follow or that I lead, so it can
		// join (the reply carries the decided vote's electionEpoch, not logicalclock).
		e.send(from, e.state, e.current.leader, e.current.zxid, e.current.electionEpoch, e.current.peerEpoch)
	}
}

// mayAnswer rate-limits answers to a peer outside the voting view: at most one per
// FinalizeTicks (a lost answer is made up for by the peer's next notification).
func (e *Election) mayAnswer(id uint64) bool {
	if e.answered == nil {
		e.answered = map[uint64]int64{}
	}
	if last, ok := e.answered[id]; ok && e.clock-last < int64(e.cfg.FinalizeTicks) {
		return false
	}
	e.answered[id] = e.clock
	return true
}

// process is one pass of lookForLeader's loop for a notification taken from recvqueue.
func (e *Election) process(from uint64, n Notification) {
	if e.finalizing {
		// The finalize wait drains the queue: a notification that does not beat my
		// proposal is dropped unprocessed and the wait starts over; a better one ends the
		// wait and is processed as usual.
		if !e.totalOrder(n.Leader, n.Zxid, n.PeerEpoch, e.proposal) {
			e.finIdle = 0
			return
		}
		e.finalizing = false
	}
	e.idle = 0
	if !e.isVoter(n.Leader) {
		// Only votes for a voter count. A later round still moves mine forward: a peer
		// outside my committed configuration (a voter of a pending one) proposes no one
		// until it hears a vote of its own round, and would otherwise never hear mine.
		// Apache ignores these notifications entirely and can stall there.
		if n.State == Looking && n.Leader == noVoteLeader && n.ElectionEpoch > e.logicalclock {
			e.logicalclock = n.ElectionEpoch
			clear(e.recvset)
			e.proposal = e.init
			e.sendNotifications()
		}
		return
	}
	switch n.State {
	case Looking:
		if e.init.zxid == -1 || n.Zxid == -1 {
			return // a -1 zxid (database not loaded) neither votes nor is voted for
		}
		switch {
		case n.ElectionEpoch > e.logicalclock:
			e.logicalclock = n.ElectionEpoch
			clear(e.recvset)
			if e.totalOrder(n.Leader, n.Zxid, n.PeerEpoch, e.init) {
				e.proposal = fleVote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch, state: Looking}
			} else {
				e.proposal = e.init
			}
			e.sendNotifications()
		case n.ElectionEpoch < e.logicalclock:
			return
		case e.totalOrder(n.Leader, n.Zxid, n.PeerEpoch, e.proposal):
			e.proposal = fleVote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch, state: Looking}
			e.sendNotifications()
		}
		e.recvset[from] = fleVote{leader: n.Leader, zxid: n.Zxid, electionEpoch: n.ElectionEpoch, peerEpoch: n.PeerEpoch, state: Looking}
		e.finalizeIfQuorum()
	case Observing:
		// Observers' notifications never count.
	case Following, Leading:
		nv := fleVote{leader: n.Leader, zxid: n.Zxid, electionEpoch: n.ElectionEpoch, peerEpoch: n.PeerEpoch, state: n.State}
		if n.ElectionEpoch == e.logicalclock {
			// Peers that settled in my round count with the LOOKING votes (stored, as
			// Apache does, in the old format: compared by leader id).
			old := nv
			old.oldFormat = true
			e.recvset[from] = old
			if q := e.quorumFor(e.recvset, nv); q != nil && e.checkLeader(e.recvset, n.Leader, n.ElectionEpoch) {
				e.decide(nv, q, false)
				return
			}
		}
		// Joining an established ensemble: a quorum must follow the same leader, whatever
		// round they settled in (ZOOKEEPER-1732); outofelection keeps this round's too.
		// Only the committed configuration counts here: a reconfig this peer logged and the
		// established leader never committed would otherwise keep it out for good (its
		// voters may include this peer, whose vote is not in outofelection), and following
		// elects no one: the leader's sync truncates that reconfig away.
		e.outofelection[from] = nv
		if q := e.quorumIn(e.outofelection, nv, e.quorums[:1]); q != nil && e.checkLeader(e.outofelection, n.Leader, n.ElectionEpoch) {
			e.logicalclock = n.ElectionEpoch
			e.decide(nv, q, false)
			return
		}
		if n.State == Leading && from == n.Leader && e.cfg.Oracle && !e.oracleSays &&
			len(e.quorums[0].Voters) == 2 && e.quorums[0].Groups == nil && has(e.quorums[0].Voters, e.cfg.ID) {
			// A two-voter configuration whose oracle does not authorise me: I follow the other
			// voter when it leads alone (receivedLeadingNotification), which a quorum of
			// followers could not tell me.
			e.decide(nv, []uint64{from}, false)
			return
		}
		if n.State == Leading && from == n.Leader && n.ElectionEpoch != e.logicalclock && e.init.zxid != -1 &&
			e.totalOrder(n.Leader, n.Zxid, n.PeerEpoch, e.proposal) {
			// Unlike Apache, the better vote of a leader settled in another round becomes my
			// proposal (sent with my next notifications, and at once to a peer of my round
			// whose vote it beats). Otherwise two candidates that take turns at leading
			// without followers (each elected by a swing voter whose pending configuration
			// needs both) never meet in one round: each starts its next round voting for
			// itself and the swing voter moves with it. The vote is the leader's history,
			// or the epoch it established, which its history is never below. Only the
			// leader's own word counts: its followers may outlive it, and adopting their
			// vote for a dead leader keeps a whole ensemble electing it. A peer at zxid -1
			// (its data not trusted) keeps voting for itself, which nobody counts: passing on
			// another vote would be voting for a history it does not hold.
			e.proposal = fleVote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch, state: Looking}
		}
	}
}

// totalOrder is totalOrderPredicate: does (leader, zxid, peerEpoch) beat cur? Only a voter
// can win; ids compare as Java longs.
func (e *Election) totalOrder(leader uint64, zxid Zxid, peerEpoch int64, cur fleVote) bool {
	if !e.canLead(leader) {
		return false
	}
	if peerEpoch != cur.peerEpoch {
		return peerEpoch > cur.peerEpoch
	}
	if zxid != cur.zxid {
		return zxid > cur.zxid
	}
	if !e.canLead(cur.leader) {
		// Unlike Apache: a vote for a server that cannot lead (weight 0) gives way to one
		// with the same history that can, whatever their ids. Otherwise such a server with
		// the highest id keeps voting for itself, and while a pending configuration needs
		// its vote no quorum ever forms.
		return true
	}
	return int64(leader) > int64(cur.leader)
}

// SetOracle is what the oracle says now (QuorumOracleMaj.askOracle): true authorises this
// peer to go on without the other voter of a two-voter configuration.
func (e *Election) SetOracle(ok bool) {
	was := e.oracleSays
	e.oracleSays = ok
	if ok && !was && e.started && !e.decided && e.state == Looking && !e.finalizing {
		// My vote may be a quorum now (Apache rechecks on its next notification timeout).
		e.finalizeIfQuorum()
	}
}

// finalizeIfQuorum starts the finalize wait when the LOOKING votes for my proposal in my
// round are a quorum (termPredicate).
func (e *Election) finalizeIfQuorum() {
	mine := e.proposal
	mine.electionEpoch = e.logicalclock
	if q := e.quorumFor(e.recvset, mine); q != nil {
		e.finalizing = true
		e.finIdle = 0
		e.decidedBy = q
	}
}

// oracleQuorum reports whether the oracle makes a set that is no majority of m a quorum of
// it: m has two voters, this peer one of them, and the oracle says yes
// (QuorumOracleMaj.containsQuorum, which asks nothing of the set; ZooKeeper gives every
// configuration it parses the oracle, pending ones included).
func oracleQuorum(on, says bool, m *Membership, self uint64) bool {
	return on && says && m.Groups == nil && len(m.Voters) == 2 && has(m.Voters, self)
}

// quorumFor is termPredicate (getVoteTracker + hasAllQuorums): the voters whose vote in
// votes equals v, when they are a quorum of every configuration; nil otherwise.
func (e *Election) quorumFor(votes map[uint64]fleVote, v fleVote) []uint64 {
	return e.quorumIn(votes, v, e.quorums)
}

// quorumIn is quorumFor over the given configurations.
func (e *Election) quorumIn(votes map[uint64]fleVote, v fleVote, quorums []Membership) []uint64 {
	var q []uint64
	for _, id := range e.voters {
		if w, ok := votes[id]; ok && v.equal(w) {
			q = append(q, id)
		}
	}
	in := func(id uint64) bool { return has(q, id) }
	for i := range quorums {
		if !quorums[i].majority(in) && (len(q) == 0 || !oracleQuorum(e.cfg.Oracle, e.oracleSays, &quorums[i], e.cfg.ID)) {
			return nil
		}
	}
	if len(q) == 0 {
		return nil
	}
	return q
}

// checkLeader: a leader other than me must itself have said it is LEADING (so a crashed
// leader is not elected over and over); if it is me, the round must be my current one.
func (e *Election) checkLeader(votes map[uint64]fleVote, leader uint64, electionEpoch int64) bool {
	if leader != e.cfg.ID {
		v, ok := votes[leader]
		return ok && v.state == Leading
	}
	return e.logicalclock == electionEpoch
}

// decide ends the round with v (leaveInstance: what is still queued is dropped).
func (e *Election) decide(v fleVote, by []uint64, byLooking bool) {
	switch {
	case v.leader == e.cfg.ID:
		e.state = Leading
	case e.isObserver(e.cfg.ID):
		e.state = Observing
	default:
		// A voter, or a server not in the configuration yet: it follows without a vote
		// until a reconfig makes it a voter.
		e.state = Following
	}
	e.decided = true
	e.finalizing = false
	e.decidedBy = by
	e.byLooking = byLooking
	v.state = e.state
	v.oldFormat = false
	e.current = v
	e.loopback = e.loopback[:0]
}

// Tick advances logical time by one tick (re-send timers, finalize wait).
func (e *Election) Tick() {
	e.clock++
	if !e.started || e.decided {
		return
	}
	if e.finalizing {
		e.finIdle++
		if e.finIdle >= e.cfg.FinalizeTicks {
			v := e.proposal
			v.electionEpoch = e.logicalclock
			e.decide(v, e.decidedBy, true)
		}
		return
	}
	e.idle++
	e.sinceSend++
	if e.idle >= e.notTimeout {
		// Nothing heard for a whole interval: notify every voter again, and back off.
		e.idle = 0
		e.sendNotifications()
		e.notTimeout = min(2*e.notTimeout, e.cfg.MaxNotificationTicks)
		e.drain()
	} else if e.sinceSend >= 2*e.notTimeout {
		// Unlike Apache, notifications that keep coming do not hold mine back for good:
		// peers whose votes equal mine (non-voters of my committed configuration that
		// vote in a pending one) can each restart the interval above, while the voter
		// whose notifications were lost never hears mine again (found by TestSim).
		e.sendNotifications()
		e.drain()
	}
}

// sendNotifications sends my proposal, LOOKING, to every voter (myself included, through
// the loopback).
func (e *Election) sendNotifications() {
	e.sinceSend = 0
	for _, id := range e.voters {
		e.send(id, Looking, e.proposal.leader, e.proposal.zxid, e.logicalclock, e.proposal.peerEpoch)
	}
}

func (e *Election) send(to uint64, state ServerState, leader uint64, zxid Zxid, electionEpoch, peerEpoch int64) {
	n := Notification{State: state, Leader: leader, Zxid: zxid, ElectionEpoch: electionEpoch, PeerEpoch: peerEpoch, Config: e.cfg.Config}
	if to == e.cfg.ID {
		e.loopback = append(e.loopback, n)
		return
	}
	e.msgs = append(e.msgs, Message{From: e.cfg.ID, To: to, Vote: &n})
}

// drain processes the notifications this peer sent itself.
func (e *Election) drain() {
	for len(e.loopback) > 0 {
		n := e.loopback[0]
		e.loopback = e.loopback[1:]
		if e.state == Looking {
			e.process(e.cfg.ID, n)
		}
	}
}

// Messages returns and clears the notifications to send.
func (e *Election) Messages() []Message {
	m := e.msgs
	e.msgs = nil
	return m
}

// Decision reports the outcome of the current round once it is decided: the leader, this
// peer's new state (Leading, Following or Observing) and the round's electionEpoch. ok is
// false while the peer is still looking (or was never started).
func (e *Election) Decision() (leader uint64, state ServerState, electionEpoch int64, ok bool) {
	if !e.decided {
		return 0, Looking, 0, false
	}
	return e.current.leader, e.state, e.current.electionEpoch, true
}

// SetServing records the state the peer settled in (Leading, Following, Observing) with its
// vote, so that LOOKING peers are answered with it; the peer calls it after Decision and
// calls Start again when it goes back to LOOKING.
//
// The decision itself already sets the state (FastLeaderElection.setPeerState), so this
// only matters when the peer settles differently; it is ignored before a decision and for
// Looking (use Start).
func (e *Election) SetServing(state ServerState) {
	if !e.decided || state == Looking {
		return
	}
	e.state = state
	e.current.state = state
}

// UpdateElectionVote sets the peerEpoch of the vote this peer answers with to the epoch it
// now serves in (QuorumPeer.updateElectionVote, ZOOKEEPER-1732): the leader calls it once
// the new epoch is established, a learner once it is synchronised, so that every member
// reports the same vote to a peer that joins later. Ignored until a decision.
func (e *Election) UpdateElectionVote(peerEpoch int64) {
	if e.decided {
		e.current.peerEpoch = peerEpoch
	}
}

// LogicalClock returns the current round (FastLeaderElection.getLogicalClock).
func (e *Election) LogicalClock() int64 { return e.logicalclock }

// Vote returns the vote this peer currently stands for: its proposal while looking, the
// decided vote (peerEpoch as updated) afterwards.
func (e *Election) Vote() (leader uint64, zxid Zxid, peerEpoch int64) {
	if e.decided {
		return e.current.leader, e.current.zxid, e.current.peerEpoch
	}
	return e.proposal.leader, e.proposal.zxid, e.proposal.peerEpoch
}
