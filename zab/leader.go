package zab

import (
	"encoding/binary"
	"errors"
	"slices"
)

// ErrNoLearner is returned by SyncFor when the learner is not connected and up to date.
var ErrNoLearner = errors.New("zab: not a synchronised learner")

// lphase is the leader's phase (Leader.lead).
type lphase int

const (
	lDiscover  lphase = iota // collecting FOLLOWERINFO from a quorum (getEpochToPropose)
	lEpochAck                // LEADERINFO sent, collecting ACKEPOCH (waitForEpochAck)
	lNewLeader               // learners synchronised, collecting ACK(NEWLEADER) (waitForNewLeaderAck)
	lServing                 // broadcast
)

// hstate is a learner's progress as its LearnerHandler sees it.
type hstate int

const (
	hInfo           hstate = iota // FOLLOWERINFO received, epoch not fixed yet
	hEpoch                        // LEADERINFO sent
	hAckEpoch                     // ACKEPOCH received, waiting for the epoch quorum
	hSynced                       // sync packets and NEWLEADER queued; live traffic forwarded
	hNewLeaderAcked               // ACK(NEWLEADER) received, UPTODATE not sent yet
	hUpToDate                     // UPTODATE sent: broadcast
)

// learnerHandler is the leader's view of one learner connection (LearnerHandler).
type learnerHandler struct {
	id        uint64
	observer  bool
	state     hstate
	peerLast  Zxid // from ACKEPOCH
	wantSnap  bool // ACKEPOCH asked for a SNAP (State.NeedSnapshot)
	lastHeard int  // leader tick of the last packet received
	// pings holds the sequence numbers of PINGs sent and not answered yet; the learner
	// answers every PING once, in order (the basis of Sync, ZOOKEEPER-1675).
	pings     []uint64
	confirmed uint64   // sequence number of the last PING answered
	sync      syncKind // the kind of this learner's sync while it is in flight
}

// maxLogDiffTxns caps a DIFF read from the log: ZooKeeper streams one from its learner
// handler's thread, where this leader reads it into memory on its own loop, so a longer one
// (possible with snapshotSizeFactor=0 or a large snapshot) goes as a SNAP instead of stalling
// the leader's pings and proposals.
var maxLogDiffTxns = 100000 // a variable for tests

// syncKind is what a learner sync counts against (LearnerSyncThrottler.SyncType).
type syncKind int

const (
	noSync syncKind = iota
	diffSync
	snapSync
)

type proposal struct {
	txn  Txn
	acks []uint64 // who acknowledged it (a few ids: a slice allocates less than a map)
}

func (pr *proposal) acked(id uint64) bool { return slices.Contains(pr.acks, id) }

// pendingSync is a Sync (local) or SyncFor (h) waiting for its conditions.
type pendingSync struct {
	local bool
	id    uint64
	h     *learnerHandler
	zxid  Zxid   // last proposed when asked: must be committed
	seq   uint64 // last PING sequence number when asked: a quorum must answer a later one
}

// leader is the Leader side of Zab for one leadership attempt.
type leader struct {
	p          *Peer
	phase      lphase
	now        int
	phaseStart int
	epoch      int64
	// summary is (currentEpoch, last zxid) when leadership began (leaderStateSummary).
	sumEpoch int64
	sumZxid  Zxid

	handlers map[uint64]*learnerHandler

	maxAccepted   int64           // highest acceptedEpoch seen in discovery
	connecting    map[uint64]bool // voters (me included) whose acceptedEpoch is known
	electing      map[uint64]bool // voters whose ACKEPOCH counts (me included)
	newLeaderAcks map[uint64]bool // voters that acknowledged NEWLEADER (me once durable)

	outstanding  []*proposal // proposed, not committed, in zxid order
	lastProposed Zxid
	nextZxid     Zxid

	pingSeq uint64
	syncs   []pendingSync

	throttle syncThrottle // learner syncs in flight

	// handOver: a committed reconfig designated another leader (this one lost its vote or
	// its quorum address), so it steps down once that is sent (checkStillVoter).
	handOver bool
}

func (p *Peer) becomeLeader() {
	l := &leader{p: p, handlers: map[uint64]*learnerHandler{},
		sumEpoch: p.currentEpoch, sumZxid: p.lastZxid,
		maxAccepted: p.acceptedEpoch,
		connecting:  map[uint64]bool{p.cfg.ID: true}, electing: map[uint64]bool{},
		newLeaderAcks: map[uint64]bool{}}
	p.lead = l
	p.learn = nil
	p.setRole(Role{State: Leading, Leader: p.cfg.ID})
	l.checkDiscovery()
}

func (l *leader) learnerIDs() []uint64 { return handlerIDs(l.handlers) }

// handlerIDs are the learners of hs in id order (a deterministic order of sends).
func handlerIDs(hs map[uint64]*learnerHandler) []uint64 {
	ids := make([]uint64, 0, len(hs))
	for id := range hs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (l *leader) abandon() { l.p.goLooking() }

// reportLooking is Leader.reportLookingSid (ZOOKEEPER-3769): a voter that is LOOKING again
// while this leader still waits for a quorum's epochs has changed its mind (or lost its
// connection), and once the wait has lasted longer than EpochWaitTicks the leader quits
// and elects again rather than wait out initLimit. ZooKeeper asks only of the voters that
// voted for it; any voter of the configuration counts here.
func (l *leader) reportLooking(sid uint64) {
	p := l.p
	if !p.cfg.QuitEpochWait || l.phase != lDiscover || sid == p.cfg.ID || !p.mem.isVoter(sid) ||
		l.now-l.phaseStart <= p.cfg.EpochWaitTicks {
		return
	}
	p.rd.QuitLeading = true
	l.abandon()
}

func (l *leader) step(from uint64, pkt *Packet) {
	p := l.p
	if pkt.Type == FollowerInfo || pkt.Type == ObserverInfo {
		l.learnerInfo(from, pkt)
		return
	}
	h := l.handlers[from]
	if h == nil {
		p.closeConn(from)
		return
	}
	h.lastHeard = l.now
	switch pkt.Type {
	case AckEpoch:
		l.ackEpoch(h, pkt)
	case Ack:
		l.ack(h, pkt.Zxid)
	case Ping:
		if len(h.pings) > 0 {
			h.confirmed, h.pings = h.pings[0], h.pings[1:]
			l.checkSyncs()
		}
	default:
		// REQUEST, REVALIDATE and the like are the caller's business.
	}
}

// learnerInfo handles FOLLOWERINFO / OBSERVERINFO: a new learner connection.
func (l *leader) learnerInfo(from uint64, pkt *Packet) {
	p := l.p
	observer := pkt.Type == ObserverInfo
	// A learner need not be in the configuration: a server about to be added follows
	// without a vote until the reconfig commits (its ACKs do not count before), and an
	// observer that missed its removal learns it from NEWLEADER and comes back as one.
	if from == p.cfg.ID {
		p.closeConn(from)
		return
	}
	if old := l.handlers[from]; old != nil {
		// A second connection from the same learner replaces the first.
		l.gone(from)
	}
	// Its ACKs so far no longer hold: the synchronisation may truncate what it acknowledged
	// (outstanding proposals are not committed, so it is synchronised below them and gets
	// them again), and a stale ACK would commit a txn that only the leader still holds.
	for _, pr := range l.outstanding {
		pr.acks = slices.DeleteFunc(pr.acks, func(id uint64) bool { return id == from })
	}
	h := &learnerHandler{id: from, observer: observer, state: hInfo, lastHeard: l.now}
	l.handlers[from] = h
	accepted := pkt.Zxid.EpochOf()
	if l.phase == lDiscover {
		// getEpochToPropose: every learner's acceptedEpoch raises the epoch, only voters
		// make the quorum.
		l.maxAccepted = max(l.maxAccepted, accepted)
		if !observer {
			l.connecting[from] = true
		}
		l.checkDiscovery()
		return
	}
	l.sendLeaderInfo(h)
}

func (l *leader) sendLeaderInfo(h *learnerHandler) {
	l.p.send(h.id, Packet{Type: LeaderInfo, Zxid: MakeZxid(uint32(l.epoch), 0), Data: int32Bytes(ProtocolVersion)})
	h.state = hEpoch
}

func (l *leader) checkDiscovery() {
	p := l.p
	if l.phase != lDiscover || !p.quorum(func(id uint64) bool { return l.connecting[id] }) {
		return
	}
	l.epoch = l.maxAccepted + 1
	p.persist(Action{Kind: SetAcceptedEpoch, Epoch: l.epoch})
	p.acceptedEpoch = l.epoch
	l.phase, l.phaseStart = lEpochAck, l.now
	for _, id := range l.learnerIDs() {
		if h := l.handlers[id]; h.state == hInfo {
			l.sendLeaderInfo(h)
		}
	}
	// The leader's own epoch acknowledgement: its summary is by definition not ahead.
	l.electing[p.cfg.ID] = true
	l.checkEpochAck()
}

func (l *leader) ackEpoch(h *learnerHandler, pkt *Packet) {
	if h.state != hEpoch || len(pkt.Data) < 4 || len(pkt.Data) > 5 {
		l.drop(h)
		return
	}
	cur := int64(int32(binary.BigEndian.Uint32(pkt.Data)))
	h.peerLast = pkt.Zxid
	h.wantSnap = len(pkt.Data) == 5 && pkt.Data[4] == ackEpochWantSnap
	h.state = hAckEpoch
	if l.phase == lEpochAck {
		// waitForEpochAck: a learner that had already accepted this epoch (-1) is not
		// counted; one whose history is more recent than ours ends this leadership.
		if cur != -1 {
			if cur > l.sumEpoch || (cur == l.sumEpoch && pkt.Zxid > l.sumZxid) {
				l.abandon()
				return
			}
			if !h.observer {
				l.electing[h.id] = true
			}
		}
		l.checkEpochAck()
		return
	}
	if l.phase > lEpochAck {
		l.syncLearner(h)
	}
}

func (l *leader) checkEpochAck() {
	p := l.p
	if l.phase != lEpochAck || !p.quorum(func(id uint64) bool { return l.electing[id] }) {
		return
	}
	p.persist(Action{Kind: SetCurrentEpoch, Epoch: l.epoch})
	p.currentEpoch = l.epoch
	if p.cfg.ReconfigEnabled && p.cfg.ConfigWithVersion != nil && p.mem.Version == 0 && len(p.pending) == 0 {
		// ZOOKEEPER-1783: the static configuration becomes the NEWLEADER zxid's version,
		// pending until a quorum acknowledges NEWLEADER (which carries it), before any
		// learner is sent NEWLEADER. Its voters are the same, so are its quorums.
		m := p.mem
		m.Version = int64(MakeZxid(uint32(l.epoch), 0))
		m.Raw = p.cfg.ConfigWithVersion(p.mem.Raw, m.Version)
		p.addPending(m)
	}
	l.phase, l.phaseStart = lNewLeader, l.now
	l.nextZxid = MakeZxid(uint32(l.epoch), 1)
	l.lastProposed = MakeZxid(uint32(l.epoch), 0)
	for _, id := range l.learnerIDs() {
		if h := l.handlers[id]; h.state == hAckEpoch {
			l.syncLearner(h)
		}
	}
	// The leader acknowledges NEWLEADER itself once currentEpoch is durable.
	p.onAdvance(func() {
		l.newLeaderAcks[p.cfg.ID] = true
		l.checkNewLeader()
	})
}

// syncLearner queues the synchronisation of one learner (LearnerHandler.syncFollower and
// Leader.startForwarding), then NEWLEADER. Live traffic follows on the same stream, so the
// learner sees a gap-free history.
func (l *leader) syncLearner(h *learnerHandler) {
	p := l.p
	pkts, queued := p.syncPackets(h.peerLast, h.wantSnap)
	if !l.throttle.begin(p, h, pkts[0].Type == Snap, h.observer) {
		l.drop(h)
		return
	}
	for _, pk := range pkts {
		p.send(h.id, pk)
	}
	if !h.observer {
		for _, pr := range l.outstanding {
			if pr.txn.Zxid > queued {
				p.send(h.id, Packet{Type: Proposal, Zxid: pr.txn.Zxid, Data: pr.txn.Data})
			}
		}
	}
	p.send(h.id, Packet{Type: NewLeader, Zxid: MakeZxid(uint32(l.epoch), 0), Data: p.latestConfig().Raw})
	h.state = hSynced
}

// ackEpochWantSnap, after ACKEPOCH's epoch, asks for a SNAP (State.NeedSnapshot).
const ackEpochWantSnap = 1

// syncPackets chooses DIFF, TRUNC or SNAP for a learner whose last logged zxid is peerLast
// (quorum-protocol.md §5.3) and returns the packets plus the last zxid they bring the
// learner to: this peer's committed history, as a leader or as an observer master.
func (p *Peer) syncPackets(peerLast Zxid, wantSnap bool) ([]Packet, Zxid) {
	last := p.committed
	if peerLast == last {
		return []Packet{{Type: Diff, Zxid: peerLast}}, peerLast
	}
	clog := p.committedLog()
	if len(clog) > 0 && clog[len(clog)-1].Zxid != last {
		clog = nil // not a suffix of our history: do without
	}
	minC, maxC := last, last
	if len(clog) > 0 {
		minC, maxC = clog[0].Zxid, clog[len(clog)-1].Zxid
	}
	// The SNAP names the newest configuration its snapshot holds: a learner that installs
	// it and loses the leader before NEWLEADER must still count that configuration's
	// quorum (package quorum reads it from the snapshot's /zookeeper/config instead).
	snap := []Packet{{Type: Snap, Zxid: last, Data: p.configAt(last).Raw}}
	switch {
	case wantSnap:
		return snap, last
	case peerLast > maxC && peerLast.Counter() != 0:
		// The learner has txns we never committed. TRUNC never crosses an epoch: the
		// learner's log need not hold maxC then (the learner would be corrupted); SNAP.
		if peerLast.Epoch() != maxC.Epoch() {
			return snap, last
		}
		return []Packet{{Type: Trunc, Zxid: maxC}}, maxC
	case peerLast >= minC && peerLast <= maxC && len(clog) > 0:
		if pk, q, ok := walkHistory(clog, peerLast, last); ok {
			return pk, q
		}
		return snap, last
	case peerLast < minC:
		// Read the txn log from peerLast itself (so that we know whether we have it) up to
		// the committed end, never across a hole (ZOOKEEPER-2099): the log answers
		// ErrCompacted instead, and a short read means SNAP. Its size is bounded as in
		// ZooKeeper (snapshotSizeFactor), and its length by maxLogDiffTxns.
		if !p.log.DiffFromLog(peerLast) {
			return snap, last
		}
		after := peerLast
		if peerLast.Counter() != 0 {
			after = peerLast - 1
		}
		txns, more, err := p.log.Entries(after, maxLogDiffTxns)
		if err != nil || more {
			return snap, last
		}
		i := len(txns)
		for i > 0 && txns[i-1].Zxid > maxC {
			i--
		}
		txns = txns[:i]
		if len(txns) == 0 || txns[len(txns)-1].Zxid != maxC {
			return snap, last
		}
		if pk, q, ok := walkHistory(txns, peerLast, last); ok {
			return pk, q
		}
	}
	return snap, last
}

// walkHistory is LearnerHandler.queueCommittedProposals over a gap-free run of committed
// txns: DIFF (or TRUNC to the last common txn) then PROPOSAL+COMMIT for each txn above
// peerLast. ok is false when only a snapshot will do.
func walkHistory(txns []Txn, peerLast, lastCommitted Zxid) (pkts []Packet, queued Zxid, ok bool) {
	newEpochPeer := peerLast.Counter() == 0
	needOp := true
	queued = peerLast
	prev, havePrev := Zxid(0), false
	for _, t := range txns {
		z := t.Zxid
		if z < peerLast {
			prev, havePrev = z, true
			continue
		}
		if needOp {
			switch {
			case z == peerLast:
				pkts = append(pkts, Packet{Type: Diff, Zxid: lastCommitted})
				needOp = false
				continue
			case newEpochPeer:
				pkts = append(pkts, Packet{Type: Diff, Zxid: lastCommitted})
			default:
				// The learner has a txn we lack. Truncating it is only possible within one
				// epoch and when we know the txn before it.
				if z.Epoch() != peerLast.Epoch() || !havePrev {
					return nil, 0, false
				}
				pkts = append(pkts, Packet{Type: Trunc, Zxid: prev})
				queued = prev
			}
			needOp = false
		}
		if z <= queued {
			continue
		}
		pkts = append(pkts, Packet{Type: Proposal, Zxid: z, Data: t.Data}, Packet{Type: Commit, Zxid: z})
		queued = z
	}
	if needOp {
		if !newEpochPeer {
			return nil, 0, false
		}
		pkts = append(pkts, Packet{Type: Diff, Zxid: lastCommitted})
	}
	return pkts, queued, true
}

func (l *leader) ack(h *learnerHandler, z Zxid) {
	if z == MakeZxid(uint32(l.epoch), 0) {
		if h.state != hSynced {
			return // the second ACK, after UPTODATE
		}
		h.state = hNewLeaderAcked
		if !h.observer {
			l.newLeaderAcks[h.id] = true
		}
		switch l.phase {
		case lNewLeader:
			l.checkNewLeader()
		case lServing:
			l.upToDate(h)
		}
		return
	}
	// ACKs of proposals before the leader serves (ZOOKEEPER-4685), of txns committed
	// already (a DIFF-synced follower ACKs its sync proposals after UPTODATE) and from
	// observers are ignored.
	if l.phase != lServing || h.observer || h.state < hSynced || z <= l.p.committed {
		return
	}
	l.ackFrom(h.id, z)
}

func (l *leader) ackFrom(id uint64, z Zxid) {
	for _, pr := range l.outstanding {
		if pr.txn.Zxid == z {
			if !pr.acked(id) {
				pr.acks = append(pr.acks, id)
			}
			break
		}
	}
	l.tryCommit()
}

func (l *leader) checkNewLeader() {
	p := l.p
	if l.phase != lNewLeader || !p.quorum(func(id uint64) bool { return l.newLeaderAcks[id] }) {
		return
	}
	l.phase = lServing
	// The whole history is committed now, reconfigs in it included, and so is the
	// configuration NEWLEADER carried.
	p.commitConfigs(max(p.lastZxid, MakeZxid(uint32(l.epoch), 0)))
	p.setRole(Role{State: Leading, Leader: p.cfg.ID, Epoch: l.epoch, Serving: true, NextZxid: l.nextZxid})
	p.updateElectionVote(l.epoch)
	for _, id := range l.learnerIDs() {
		h := l.handlers[id]
		h.lastHeard = l.now
		if h.state == hNewLeaderAcked {
			l.upToDate(h)
		}
	}
	l.checkStillVoter()
}

// checkStillVoter steps down, once what is queued has been sent, when a committed
// reconfig left this leader without a vote or moved its quorum address (the followers of
// the new configuration would look for it elsewhere); the next election picks a leader
// among the new voters (Apache hands over to a designated leader instead), which listens
// where the new configuration says.
func (l *leader) checkStillVoter() {
	p := l.p
	if p.mem.isVoter(p.cfg.ID) && !l.handOver {
		return
	}
	p.onAdvance(func() {
		if p.lead == l {
			p.goLooking()
		}
	})
}

func (l *leader) upToDate(h *learnerHandler) {
	l.endSync(h)
	l.p.send(h.id, Packet{Type: UpToDate, Zxid: -1})
	h.state = hUpToDate
}

// endSync ends h's sync if one is in flight: after its ACK of NEWLEADER once the leader is
// established (LearnerHandler's endSync after waitForNewLeaderAck), or when it goes.
func (l *leader) endSync(h *learnerHandler) { l.throttle.end(l.p, h) }

// syncThrottle is LearnerSyncThrottler: the learner syncs in flight, by kind, of a leader or
// an observer master.
type syncThrottle struct{ inflight [3]int }

// begin counts h's sync (a SNAP, or a DIFF or TRUNC); false, with the refusal reported, when
// a refusable (an observer's) sync would pass the limit.
func (t *syncThrottle) begin(p *Peer, h *learnerHandler, snap, refusable bool) bool {
	kind, limit := diffSync, p.cfg.MaxConcurrentDiffSyncs
	if snap {
		kind, limit = snapSync, p.cfg.MaxConcurrentSnapSyncs
	}
	if refusable && t.inflight[kind] >= limit {
		p.rd.Syncs = append(p.rd.Syncs, SyncCount{Learner: h.id, Snap: snap, InFlight: t.inflight[kind] + 1, Refused: true})
		return false
	}
	t.inflight[kind]++
	h.sync = kind
	p.rd.Syncs = append(p.rd.Syncs, SyncCount{Learner: h.id, Snap: snap, InFlight: t.inflight[kind]})
	return true
}

// end ends h's sync if one is in flight.
func (t *syncThrottle) end(p *Peer, h *learnerHandler) {
	if h.sync == noSync {
		return
	}
	t.inflight[h.sync]--
	p.rd.Syncs = append(p.rd.Syncs, SyncCount{Learner: h.id, Snap: h.sync == snapSync, InFlight: t.inflight[h.sync]})
	h.sync = noSync
}

func (l *leader) propose(t Txn) error {
	p := l.p
	if t.Zxid != l.nextZxid {
		return ErrZxidOrder
	}
	if t.Zxid.Counter() == 0xffffffff {
		// ZOOKEEPER-1277: the counter is exhausted; a new epoch is needed.
		l.abandon()
		return ErrNotLeader
	}
	if _, ok := p.configOf(t); ok && len(p.pending) > 0 {
		return ErrReconfigInProgress
	}
	pr := &proposal{txn: t, acks: make([]uint64, 0, 4)}
	l.outstanding = append(l.outstanding, pr)
	l.lastProposed = t.Zxid
	l.nextZxid = t.Zxid + 1
	p.appendTxns(t)
	for _, id := range l.learnerIDs() {
		if h := l.handlers[id]; !h.observer && h.state >= hSynced {
			p.send(id, Packet{Type: Proposal, Zxid: t.Zxid, Data: t.Data})
		}
	}
	// The leader's own ACK counts once its append is durable.
	p.onAdvance(func() { l.ackFrom(p.cfg.ID, t.Zxid) })
	return nil
}

// quorumSynced is Leader.isQuorumSynced: this leader and the followers synchronised with it
// and heard from within syncLimit are a majority of m's voters, so m can commit and serve.
// Observers do not count: an observer made a voter would never send the FOLLOWERINFO that
// counts it (Apache answers NEWCONFIGNOQUORUM too; remove it, then add it as a participant).
func (l *leader) quorumSynced(m *Membership) bool {
	return m.majority(func(id uint64) bool {
		if id == l.p.cfg.ID {
			return true
		}
		h := l.handlers[id]
		// A follower that the committed configuration made an observer is about to
		// reconnect as one.
		return h != nil && !h.observer && !l.p.mem.isObserver(id) && h.state >= hSynced && l.now-h.lastHeard <= l.p.cfg.SyncTicks
	})
}

// hasVotingFollower: a voter follows this leader, synchronised (Leader.forwardingFollowers);
// while one does, the oracle does not stand in for it (QuorumOracleMaj.updateNeedOracle).
func (l *leader) hasVotingFollower() bool {
	for _, h := range l.handlers {
		if !h.observer && !l.p.mem.isObserver(h.id) && h.state >= hSynced {
			return true
		}
	}
	return false
}

// tryCommit commits outstanding proposals strictly in zxid order, each once a quorum of
// voters has acknowledged it.
func (l *leader) tryCommit() {
	p := l.p
	for len(l.outstanding) > 0 {
		pr := l.outstanding[0]
		if !p.quorum(pr.acked) {
			break
		}
		l.outstanding = l.outstanding[1:]
		// A reconfig goes out as COMMITANDACTIVATE and INFORMANDACTIVATE, naming the
		// leader the learners should follow (Leader.commitAndActivate): a ZooKeeper learner
		// activates the new configuration only on these.
		var designated []byte
		if m, ok := p.configOf(pr.txn); ok {
			d := l.designatedLeader(&m, pr)
			l.handOver = l.handOver || d != p.cfg.ID
			designated = binary.BigEndian.AppendUint64(nil, d)
		}
		p.apply(pr.txn)
		for _, id := range l.learnerIDs() {
			h := l.handlers[id]
			if h.state < hSynced {
				continue
			}
			switch {
			case h.observer && designated != nil:
				p.send(id, Packet{Type: InformAndActivate, Zxid: pr.txn.Zxid, Data: append(slices.Clone(designated), pr.txn.Data...)})
			case h.observer:
				p.send(id, Packet{Type: Inform, Zxid: pr.txn.Zxid, Data: pr.txn.Data})
			case designated != nil:
				p.send(id, Packet{Type: CommitAndActivate, Zxid: pr.txn.Zxid, Data: designated})
			default:
				p.send(id, Packet{Type: Commit, Zxid: pr.txn.Zxid})
			}
		}
	}
	l.checkSyncs()
}

// designatedLeader is Leader.getDesignatedLeader for a committed reconfig to m: this leader
// if it still votes in m with the same quorum address; otherwise, among m's voters that acknowledged the reconfig, the
// one that acknowledged the longest run of the proposals after it (the most up to date),
// the lowest id on a tie. zkgo learners ignore it (a leader that is no longer a voter steps
// down and the voters elect again); ZooKeeper's vote for it.
func (l *leader) designatedLeader(m *Membership, pr *proposal) uint64 {
	self := l.p.cfg.ID
	same := l.p.cfg.SameQuorumAddr
	if m.isVoter(self) && (same == nil || same(l.p.members().Committed.Raw, m.Raw, self)) {
		return self
	}
	var cands []uint64
	for _, id := range m.Voters {
		if id != self && pr.acked(id) {
			cands = append(cands, id)
		}
	}
	if len(cands) == 0 {
		return self // cannot happen: the reconfig committed with a quorum of m
	}
	for _, next := range l.outstanding {
		kept := slices.DeleteFunc(slices.Clone(cands), func(id uint64) bool { return !next.acked(id) })
		if len(kept) == 0 {
			break
		}
		cands = kept
		if len(cands) == 1 {
			break
		}
	}
	return cands[0]
}

func (l *leader) addSync(s pendingSync) {
	s.zxid = l.lastProposed
	s.seq = l.pingSeq
	l.syncs = append(l.syncs, s)
	// Ask the followers at once rather than at the next tick.
	l.ping()
	l.checkSyncs()
}

// checkSyncs completes the syncs whose proposals are committed and after whose call a
// quorum of voters answered a PING.
func (l *leader) checkSyncs() {
	p := l.p
	for len(l.syncs) > 0 {
		s := l.syncs[0]
		if s.zxid > p.committed {
			return
		}
		ok := p.quorum(func(id uint64) bool {
			if id == p.cfg.ID {
				return true
			}
			h := l.handlers[id]
			return h != nil && h.confirmed > s.seq
		})
		if !ok {
			return
		}
		l.syncs = l.syncs[1:]
		if s.local {
			p.rd.SyncsDone = append(p.rd.SyncsDone, s.id)
		} else if l.handlers[s.h.id] == s.h {
			p.send(s.h.id, Packet{Type: Sync, Zxid: 0})
		}
	}
}

// ping sends PING(lastProposed) to every learner that is up to date.
func (l *leader) ping() {
	for _, id := range l.learnerIDs() {
		h := l.handlers[id]
		if h.state != hUpToDate {
			continue
		}
		l.pingSeq++
		h.pings = append(h.pings, l.pingSeq)
		l.p.send(id, Packet{Type: Ping, Zxid: l.lastProposed})
	}
}

func (l *leader) drop(h *learnerHandler) {
	l.p.closeConn(h.id)
	l.gone(h.id)
}

func (l *leader) disconnected(id uint64) { l.gone(id) }

// gone forgets a learner whose connection ended. Its ACK of NEWLEADER no longer counts
// while the epoch waits for a quorum: it may have gone on to accept a later epoch, and a
// quorum of acknowledgements from connected followers is what establishes this one (the
// simulation found a leader established with a crashed follower's earlier ACK after a
// later epoch had committed; ZooKeeper keeps such ACKs and steps down at its next tick).
func (l *leader) gone(id uint64) {
	if h := l.handlers[id]; h != nil {
		l.endSync(h)
	}
	delete(l.handlers, id)
	if l.phase == lNewLeader {
		delete(l.newLeaderAcks, id)
	}
}

func (l *leader) tick() {
	p := l.p
	l.now++
	if l.phase != lServing && l.now-l.phaseStart > p.cfg.InitTicks {
		// Discovery or synchronisation did not reach a quorum within initLimit.
		l.abandon()
		return
	}
	for _, id := range l.learnerIDs() {
		h := l.handlers[id]
		limit := p.cfg.SyncTicks
		if h.state < hUpToDate {
			limit = p.cfg.InitTicks
		}
		if l.now-h.lastHeard > limit {
			l.drop(h)
		}
	}
	if l.phase != lServing {
		return
	}
	// Leader.lead's loop: a quorum of voters must still be in touch, or we step down. With an
	// oracle, a follower still synchronising counts too (LearnerHandler.synced: its deadline
	// runs from initLimit): it keeps the oracle from standing in, and the leader must not
	// step down while it joins.
	synced := hNewLeaderAcked
	if p.cfg.Election.Oracle {
		synced = hSynced
	}
	if !p.quorum(func(id uint64) bool {
		if id == p.cfg.ID {
			return true
		}
		h := l.handlers[id]
		return h != nil && h.state >= synced && (h.state < hNewLeaderAcked || l.now-h.lastHeard <= p.cfg.SyncTicks)
	}) {
		l.abandon()
		return
	}
	if p.cfg.Election.Oracle {
		// Proposals and syncs that waited for a follower now gone go on with the oracle
		// (revalidateOutstandingProp).
		l.tryCommit()
		l.checkSyncs()
	}
	l.ping()
}
