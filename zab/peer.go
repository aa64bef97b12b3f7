package zab

import (
	"encoding/binary"
	"slices"
)

// Config configures one peer of an ensemble. Times are in ticks of the peer's broadcast
// clock: the caller ticks every tickTime/2 (the leader's ping interval), so initLimit and
// syncLimit (in tickTime units) become 2*initLimit and 2*syncLimit ticks here.
type Config struct {
	ID        uint64
	Voters    []uint64 // participants
	Observers []uint64 // non-voting members; this peer is one when ID is listed here

	InitTicks int // discovery + synchronisation must finish within this (initLimit)
	SyncTicks int // a learner silent this long is dropped; a leader silent this long is abandoned (syncLimit)
	// CommitLogCount is how many recent committed txns the leader keeps in memory to
	// synchronise learners with a DIFF (zookeeper.commitLogCount, 500).
	CommitLogCount int
	// MaxConcurrentSnapSyncs and MaxConcurrentDiffSyncs bound the leader's learner syncs in
	// flight, by SNAP and by DIFF or TRUNC (zookeeper.leader.maxConcurrentSnapSyncs, 10, and
	// maxConcurrentDiffSyncs, 100; LearnerSyncThrottler).
	MaxConcurrentSnapSyncs, MaxConcurrentDiffSyncs int
	// QuitEpochWait: a leader still waiting for a quorum's epochs quits (goes LOOKING) when
	// a voter reports LOOKING after it has waited more than EpochWaitTicks
	// (zookeeper.leader.maxTimeToWaitForEpoch, off by default; Leader.reportLookingSid).
	QuitEpochWait  bool
	EpochWaitTicks int

	Election ElectionConfig // ID, Voters and Observers are taken from above

	// ConfigTxn recognises a reconfig txn and returns the configuration it installs (its
	// Version is set to the txn's zxid here). Nil: the configuration never changes.
	ConfigTxn func(Txn) (Membership, bool)
	// ParseConfig parses a QuorumVerifier string as notifications carry it; nil: configs
	// in notifications are ignored.
	ParseConfig func([]byte) (Membership, bool)

	// ReconfigEnabled (reconfigEnabled) makes a leader whose configuration still has the
	// version 0 of a static file give it the version of its NEWLEADER zxid, committed with
	// the epoch (ZOOKEEPER-1783, Leader.lead): from then on it outranks the partial view of
	// a server that is still joining. ConfigWithVersion re-renders a configuration's
	// QuorumVerifier string with another version; nil disables the upgrade.
	ReconfigEnabled   bool
	ConfigWithVersion func(raw []byte, version int64) []byte
	// SameQuorumAddr reports whether server id has the same quorum address in two
	// configurations' QuorumVerifier strings; a leader whose own address a reconfig changes
	// designates another voter to lead (Leader.getDesignatedLeader). Nil: always the same.
	SameQuorumAddr func(oldRaw, newRaw []byte, id uint64) bool

	// ObserverMaster (observerMasterPort set): a serving follower takes observers and passes
	// the broadcast on to them; an observer synchronises with the followers in turn, then
	// the leader (observermaster.go).
	ObserverMaster bool

	// ObserverElectionDelayTicks and ObserverReconnectDelayTicks bound an observer's random
	// waits, in election ticks (zookeeper.observer.election.DelayMs, 200 ms, and
	// zookeeper.observer.reconnectDelayMs, 0): before it elects again once it has lost its
	// leader, and before it registers with its leader (with observer masters: each time it
	// has tried them all), so that many observers do not come back all at once
	// (Observer.waitForObserverElectionDelay, waitForReconnectDelay). Rand(n) draws the
	// wait in [0, n); nil: no wait.
	ObserverElectionDelayTicks, ObserverReconnectDelayTicks int
	Rand                                                    func(n int) int
}

// State is what a peer finds on disk when it starts.
type State struct {
	AcceptedEpoch int64
	CurrentEpoch  int64
	// LastZxid is the last logged txn; the caller has applied every logged txn to its tree
	// (Apache ZooKeeper's loadDataBase), so it is the last applied one too.
	LastZxid Zxid
	// Members is the configuration as last persisted (Ready.Members) plus the reconfig
	// txns logged after it; nil: Config's Voters and Observers, version 0.
	Members *Members
	// NeedSnapshot asks the next leader for a SNAP (unless the history is exactly the
	// leader's, when there is nothing to roll back): the caller could
	// not carry out a Truncate (its only snapshot is past the TRUNC zxid) and restarted
	// the peer from its unchanged durable state. A zkgo leader honours it (a flag byte
	// after ACKEPOCH's epoch, which Apache's leader ignores); it is cleared once a SNAP
	// is installed.
	NeedSnapshot bool
	// ObserverMasterTurn carries Peer.ObserverMasterTurn over a restart of the protocol,
	// so that an observer goes on to its next master rather than the first again.
	ObserverMasterTurn int
	// ElectionDelayed carries Peer.ElectionDelayed over a restart of the protocol: an
	// observer that lost its leader still waits before it elects.
	ElectionDelayed bool
}

// Log is the peer's durable txn log as the leader reads it to synchronise learners.
type Log interface {
	// Entries returns the logged txns with zxid > after, oldest first, at most max of them
	// (more = true when some were left out). It returns ErrCompacted when some txn after
	// `after` is no longer in the log, and never a sequence with a hole in it.
	Entries(after Zxid, max int) (txns []Txn, more bool, err error)
	// DiffFromLog reports whether the leader may read a DIFF for a learner whose last zxid
	// is peerLast from the log at all, or must send a snapshot: ZooKeeper reads the log only
	// while it is small next to the last snapshot (zookeeper.snapshotSizeFactor,
	// ZKDatabase.getProposalsFromTxnLog). A DIFF from the in-memory committed log does not
	// ask (LearnerHandler.syncFollower does not limit it either).
	DiffFromLog(peerLast Zxid) bool
}

// ActionKind says what a persistence action does.
type ActionKind int

const (
	// SetAcceptedEpoch writes acceptedEpoch = Epoch (version-2/acceptedEpoch, zkgo.meta).
	SetAcceptedEpoch ActionKind = iota + 1
	// SetCurrentEpoch writes currentEpoch = Epoch.
	SetCurrentEpoch
	// Append logs Txns at the end of the txn log; they are durable (fsynced) once the
	// Persist step ends.
	Append
	// Truncate cuts the log right after Zxid and rolls the data tree back to the state at
	// Zxid (TRUNC: reload from snapshot + log).
	Truncate
	// InstallSnapshot replaces the data tree and the log with the snapshot the leader sent
	// with SNAP(Zxid), durably: afterwards the peer's history ends at Zxid.
	InstallSnapshot
)

func (k ActionKind) String() string {
	switch k {
	case SetAcceptedEpoch:
		return "SetAcceptedEpoch"
	case SetCurrentEpoch:
		return "SetCurrentEpoch"
	case Append:
		return "Append"
	case Truncate:
		return "Truncate"
	case InstallSnapshot:
		return "InstallSnapshot"
	}
	return "ActionKind(?)"
}

// Action is one persistence action.
type Action struct {
	Kind  ActionKind
	Epoch int64
	Zxid  Zxid
	Txns  []Txn
}

// Role is the peer's role and phase, reported in Ready when it changes.
type Role struct {
	State  ServerState // Looking, Leading, Following, Observing
	Leader uint64      // the leader, when not Looking
	Epoch  int64       // the epoch being established or served
	// Serving is true once this peer may serve clients in Epoch: the leader after a quorum
	// acknowledged NEWLEADER, a learner after UPTODATE.
	Serving bool
	// NextZxid is the zxid of the leader's next proposal once it serves.
	NextZxid Zxid
	// Master is the server a learner synchronises with: Leader, or for an observer with
	// observer masters (Config.ObserverMaster) possibly a follower, on its observer master
	// port.
	Master uint64
}

// Ready is one batch of work for the caller, executed in the order persist, apply, send
// (see the package documentation), then acknowledged with Advance.
type Ready struct {
	Persist   []Action
	Committed []Txn // to apply, in zxid order
	Messages  []Message
	// Close lists peers whose quorum connection must be closed (a dropped learner, an
	// abandoned leader); what was queued to them before is discarded.
	Close []uint64
	// SyncsDone lists sync ids (Peer.Sync) whose sync completed: every write committed
	// before the sync was issued is in Committed of this or an earlier Ready.
	SyncsDone []uint64
	// Members is set when the configuration changed: the caller persists Committed (the
	// dynamic config file; no sync needed before the rest of the Ready, since a peer that
	// forgets a commit only uses joint quorums longer) and learns the members' addresses.
	Members *Members
	// Role is set when the role or phase changed. On a change to Looking the caller
	// reloads its tree from its durable log (every logged txn applied, as Apache ZooKeeper
	// does when it re-elects) before the next Ready.
	Role *Role
	// Syncs lists the changes of a leader's count of learner syncs in flight, in order.
	Syncs []SyncCount
	// QuitLeading: this leader gave up waiting for epochs because a voter went LOOKING
	// (QuitEpochWait); Role says LOOKING too.
	QuitLeading bool
}

// SyncCount is a change of the leader's count of learner syncs in flight, SNAP and DIFF
// apart (LearnerSyncThrottler): a sync begun (the sync packets queued) or ended (the
// learner's ACK of NEWLEADER taken and UPTODATE sent, or the learner gone), or one
// refused. An observer's sync is refused when the count is at its limit: its connection
// is closed and it comes back through an election. A follower's is never refused (it
// counts all the same): the quorum's servers must be kept up to date.
type SyncCount struct {
	Learner  uint64
	Snap     bool // SNAP; else DIFF or TRUNC
	InFlight int  // the count after the change; for a refusal, what it would have been
	Refused  bool
}

// elector is what the peer needs from its election: *Election, or a stand-in in tests.
type elector interface {
	Start(lastZxid Zxid, currentEpoch int64)
	Step(from uint64, n Notification)
	Tick()
	Messages() []Message
	Decision() (leader uint64, state ServerState, electionEpoch int64, ok bool)
	SetServing(state ServerState)
	SetMembers(Members)
	SetOracle(bool)
}

// Peer is one ensemble member: election, then leader, follower or observer, then election
// again when that ends. Not safe for concurrent use.
//
// Invariants kept by the machine (checked by the simulation tests):
//   - an epoch is persisted (SetAcceptedEpoch, SetCurrentEpoch) in a Ready before or with
//     the message that acknowledges it, so the acknowledgement follows it on disk;
//   - txns synchronised from a leader are appended before SetCurrentEpoch(new epoch) and
//     before the ACK of NEWLEADER (ZOOKEEPER-3911, 4643); a txn of a later epoch than
//     currentEpoch received while synchronising is preceded by SetCurrentEpoch(its epoch),
//     so currentEpoch never runs behind the last logged zxid (ZOOKEEPER-1653) nor ahead of
//     the history;
//   - the tree never holds a txn the log lacks: a txn is in Committed only in the Ready
//     that appends it or a later one.
type Peer struct {
	cfg   Config
	log   Log
	elect elector

	mem      Membership   // committed configuration
	pending  []Membership // logged reconfigs not known committed, oldest first
	observer bool         // this peer is an observer in the committed configuration

	acceptedEpoch int64
	currentEpoch  int64
	oracle        bool  // what the oracle says (SetOracle; Config.Election.Oracle)
	lastZxid      Zxid  // last logged (including appends in the pending Ready)
	committed     Zxid  // last applied (including the pending Ready's Committed)
	needSnap      bool  // State.NeedSnapshot, until a SNAP is installed
	hist          []Txn // committedLog: recent applied txns, gap-free, ending at committed

	role   Role
	omTurn int    // observer masters tried (nextObserverMaster)
	gen    uint64 // bumped on every role change; Advance hooks of an older role are void
	lead   *leader
	learn  *learner

	// An observer's wait (Config.ObserverElectionDelayTicks, ObserverReconnectDelayTicks):
	// election ticks left, and what comes after it. Before the election (electWait) the
	// election has not started, and notifications are dropped.
	waitTicks int
	afterWait func()
	electWait bool

	rd       Ready
	deferred []Message // packets to a peer closed in the pending Ready: for the next Ready
	carry    []Message // deferred packets of the Ready before, sent with the pending Ready
	hooks    []func()  // run at the Advance of the pending Ready
	inflight []func()  // hooks of the Ready handed out
}

// NewPeer returns a peer that starts LOOKING.
func NewPeer(cfg Config, st State, log Log) *Peer {
	ec := cfg.Election
	ec.ID, ec.Voters, ec.Observers = cfg.ID, cfg.Voters, cfg.Observers
	if st.Members != nil {
		ec.Voters, ec.Observers = st.Members.Committed.Voters, st.Members.Committed.Observers
	}
	return newPeer(cfg, st, log, NewElection(ec))
}

// newPeer is NewPeer with the election given (tests use a stand-in).
func newPeer(cfg Config, st State, log Log, e elector) *Peer {
	if cfg.CommitLogCount <= 0 {
		cfg.CommitLogCount = 500
	}
	if cfg.MaxConcurrentSnapSyncs <= 0 {
		cfg.MaxConcurrentSnapSyncs = 10
	}
	if cfg.MaxConcurrentDiffSyncs <= 0 {
		cfg.MaxConcurrentDiffSyncs = 100
	}
	if cfg.InitTicks <= 0 {
		cfg.InitTicks = 20
	}
	if cfg.SyncTicks <= 0 {
		cfg.SyncTicks = 10
	}
	p := &Peer{cfg: cfg, log: log, elect: e,
		acceptedEpoch: st.AcceptedEpoch, currentEpoch: st.CurrentEpoch,
		lastZxid: st.LastZxid, committed: st.LastZxid, needSnap: st.NeedSnapshot, omTurn: st.ObserverMasterTurn}
	p.mem = normalize(Membership{Voters: cfg.Voters, Observers: cfg.Observers, Raw: cfg.Election.Config})
	if st.Members != nil {
		p.mem = normalize(st.Members.Committed)
		for _, m := range st.Members.Pending {
			if m.Version > p.latestConfig().Version {
				p.pending = append(p.pending, normalize(m))
			}
		}
	}
	p.observer = p.mem.isObserver(cfg.ID)
	p.elect.SetMembers(p.members())
	if e := st.LastZxid.EpochOf(); e > p.currentEpoch && e <= p.acceptedEpoch {
		// A crash between installing a SNAP and writing its epoch (see raiseCurrentEpoch):
		// the history up to LastZxid is whole, so this is a follower of that epoch
		// (ZOOKEEPER-1653's updatingEpoch recovery).
		p.currentEpoch = e
		p.persist(Action{Kind: SetCurrentEpoch, Epoch: e})
	}
	p.role = Role{State: Looking}
	if !(st.ElectionDelayed && p.observer && p.observerWait(p.cfg.ObserverElectionDelayTicks, true, p.startElection)) {
		p.startElection()
	}
	return p
}

// Step delivers a message from another peer.
func (p *Peer) Step(m Message) {
	switch {
	case m.Vote != nil:
		if p.afterWait != nil && p.electWait {
			return // not looking yet; the election's first notifications will ask again
		}
		if p.lead != nil && m.Vote.State == Looking && m.Vote.Zxid != -1 {
			// A peer at zxid -1 never voted for this leader (not in Apache's voteSet).
			p.lead.reportLooking(m.From)
		}
		if p.role.State == Looking && p.cfg.ParseConfig != nil && len(m.Vote.Config) > 0 {
			// A configuration committed elsewhere: take it and start the round over with
			// it (FastLeaderElection's WorkerReceiver calls processReconfig).
			if nm, ok := p.cfg.ParseConfig(m.Vote.Config); ok && nm.Version > p.mem.Version && p.adoptConfig(nm) {
				p.afterWait = nil // an observer's wait to register: the round starts over
				p.elect.Start(p.lastZxid, p.currentEpoch)
			}
		}
		p.elect.Step(m.From, *m.Vote)
		p.afterElection()
	case m.Packet != nil:
		switch {
		case p.lead != nil:
			p.lead.step(m.From, m.Packet)
		case p.learn != nil:
			p.learn.step(m.From, m.Packet)
		default:
			// LOOKING: the quorum port is not accepting (Apache has no leader socket then).
			p.closeConn(m.From)
		}
	}
}

// Disconnected reports that the quorum connection to peer id broke (or could not be made).
func (p *Peer) Disconnected(id uint64) {
	switch {
	case p.lead != nil:
		p.lead.disconnected(id)
	case p.learn != nil && p.learn.leader == id:
		p.goLooking()
	case p.learn != nil && p.learn.om != nil:
		if h := p.learn.om.handlers[id]; h != nil {
			p.learn.omEndSync(h)
			delete(p.learn.om.handlers, id)
			// What was queued to it goes nowhere (a connection of the same id registered
			// later in this Ready queues after this).
			p.rd.Messages = slices.DeleteFunc(p.rd.Messages, func(m Message) bool { return m.Packet != nil && m.To == id })
		}
	}
}

// Tick advances logical time by one broadcast tick.
func (p *Peer) Tick() {
	switch {
	case p.lead != nil:
		p.lead.tick()
	case p.learn != nil:
		p.learn.tick()
	}
}

// SetOracle is what the oracle (oraclePath) says now: true authorises this peer to go on
// without the other voter of a two-voter configuration. The caller reads it every tick.
func (p *Peer) SetOracle(ok bool) {
	p.oracle = ok
	p.elect.SetOracle(ok)
	p.afterElection()
}

// ElectionTick advances the election clock by one tick (the caller's election tick is
// shorter than the broadcast tick: finalizeWait is 200 ms).
func (p *Peer) ElectionTick() {
	if p.afterWait != nil {
		if p.waitTicks--; p.waitTicks <= 0 {
			f := p.afterWait
			p.afterWait = nil
			f()
		}
	}
	p.elect.Tick()
	p.afterElection()
}

// observerWait runs then after a random wait of fewer than max election ticks, and reports
// whether it waits; with no wait drawn the caller goes on at once.
func (p *Peer) observerWait(max int, beforeElection bool, then func()) bool {
	if max <= 0 || p.cfg.Rand == nil {
		return false
	}
	k := p.cfg.Rand(max)
	if k <= 0 {
		return false
	}
	p.waitTicks, p.afterWait, p.electWait = k, then, beforeElection
	return true
}

// afterElection collects the election's messages and acts on its decision.
func (p *Peer) afterElection() {
	for _, m := range p.elect.Messages() {
		m.From = p.cfg.ID
		p.rd.Messages = append(p.rd.Messages, m)
	}
	if p.role.State != Looking || p.afterWait != nil {
		return // serving, or an observer waiting (its election's decision is an old one)
	}
	leader, state, _, ok := p.elect.Decision()
	if !ok {
		return
	}
	switch {
	case state == Leading && leader == p.cfg.ID && !p.observer:
		p.elect.SetServing(Leading)
		p.becomeLeader()
	case state == Observing || (p.observer && state != Leading):
		p.elect.SetServing(Observing)
		// ZooKeeper's observer waits before it registers every time, or with observer
		// masters each time it has tried them all (QuorumPeer.findLearnerMaster).
		master, wait := leader, p.cfg.ObserverReconnectDelayTicks
		if p.cfg.ObserverMaster {
			var wrapped bool
			if master, wrapped = p.nextObserverMaster(leader); !wrapped {
				wait = 0
			}
		}
		register := func() { p.becomeLearner(leader, master, true) }
		if !p.observerWait(wait, false, register) {
			register()
		}
	case state == Following && leader != p.cfg.ID:
		p.elect.SetServing(Following)
		p.becomeLearner(leader, leader, false)
	default:
		return
	}
	for _, m := range p.elect.Messages() {
		m.From = p.cfg.ID
		p.rd.Messages = append(p.rd.Messages, m)
	}
}

// updateElectionVote tells the election the epoch this peer now serves in, when it can
// take it (QuorumPeer.updateElectionVote).
func (p *Peer) updateElectionVote(epoch int64) {
	if u, ok := p.elect.(interface{ UpdateElectionVote(int64) }); ok {
		u.UpdateElectionVote(epoch)
	}
}

func (p *Peer) setRole(r Role) {
	p.role = r
	p.gen++
	rr := r
	p.rd.Role = &rr
}

// goLooking abandons the current role (any error path) and starts a new election round
// with the current (currentEpoch, last logged zxid). The caller reloads its tree from its
// log, so from here on applied == logged.
func (p *Peer) goLooking() {
	// Logged but uncommitted proposals become part of the applied history when the caller
	// reloads its tree; txns received but not logged yet are forgotten.
	if p.lead != nil {
		for _, id := range p.lead.learnerIDs() {
			p.closeConn(id)
		}
		for _, pr := range p.lead.outstanding {
			p.pushHist(pr.txn)
		}
		p.lead = nil
	}
	observed := p.learn != nil && p.learn.observer
	if p.learn != nil {
		p.learn.omClose()
		for _, t := range p.learn.pending {
			p.pushHist(t)
		}
		p.closeConn(p.learn.leader)
		p.learn = nil
	}
	p.committed = p.lastZxid
	p.setRole(Role{State: Looking})
	if observed && p.observerWait(p.cfg.ObserverElectionDelayTicks, true, p.startElection) {
		return
	}
	p.startElection()
}

// startElection starts a round of the election and acts on what it decides at once.
func (p *Peer) startElection() {
	p.elect.Start(p.lastZxid, p.currentEpoch)
	p.afterElection()
}

// ElectionDelayed reports whether this observer waits before it elects (State.ElectionDelayed).
func (p *Peer) ElectionDelayed() bool { return p.afterWait != nil && p.electWait }

// pushHist appends an applied txn to the in-memory committedLog.
func (p *Peer) pushHist(t Txn) {
	if n := len(p.hist); n > 0 && p.hist[n-1].Zxid >= t.Zxid {
		return
	}
	if len(p.hist) >= 2*p.cfg.CommitLogCount {
		p.hist = append(p.hist[:0:0], p.hist[len(p.hist)-p.cfg.CommitLogCount+1:]...)
	}
	p.hist = append(p.hist, t)
}

// committedLog returns the last CommitLogCount applied txns.
func (p *Peer) committedLog() []Txn {
	if len(p.hist) > p.cfg.CommitLogCount {
		return p.hist[len(p.hist)-p.cfg.CommitLogCount:]
	}
	return p.hist
}

func (p *Peer) persist(a Action) { p.rd.Persist = append(p.rd.Persist, a) }

func (p *Peer) appendTxns(ts ...Txn) {
	if len(ts) == 0 {
		return
	}
	p.persist(Action{Kind: Append, Txns: ts})
	p.lastZxid = ts[len(ts)-1].Zxid
	for _, t := range ts {
		p.logConfig(t)
	}
}

func (p *Peer) apply(t Txn) {
	p.rd.Committed = append(p.rd.Committed, t)
	p.committed = t.Zxid
	p.pushHist(t)
	if p.role.Serving {
		// Commits seen while synchronising count once the epoch is established (UPTODATE).
		p.commitConfigs(t.Zxid)
	}
}

// send queues a packet to a peer.
func (p *Peer) send(to uint64, pkt Packet) {
	m := Message{From: p.cfg.ID, To: to, Packet: &pkt}
	if slices.Contains(p.rd.Close, to) {
		// The connection is closed by this Ready; this packet belongs to a new one.
		p.deferred = append(p.deferred, m)
		return
	}
	p.rd.Messages = append(p.rd.Messages, m)
}

// closeConn closes the quorum connection to id; packets queued to it in the pending Ready
// are discarded.
func (p *Peer) closeConn(id uint64) {
	if slices.Contains(p.rd.Close, id) {
		return
	}
	p.rd.Close = append(p.rd.Close, id)
	p.rd.Messages = slices.DeleteFunc(p.rd.Messages, func(m Message) bool { return m.Packet != nil && m.To == id })
}

// onAdvance runs f at the Advance of the Ready being built, unless the role changed.
func (p *Peer) onAdvance(f func()) {
	gen := p.gen
	p.hooks = append(p.hooks, func() {
		if p.gen == gen {
			f()
		}
	})
}

// Propose broadcasts a txn. Only a serving leader accepts, and t.Zxid must be the next
// zxid (Role.NextZxid, then one more each time); otherwise it returns ErrNotLeader or
// ErrZxidOrder.
func (p *Peer) Propose(t Txn) error {
	if p.lead == nil || p.lead.phase != lServing {
		return ErrNotLeader
	}
	return p.lead.propose(t)
}

// Sync asks for a linearizable sync point for a client of this peer. On the leader it
// completes once every txn proposed before it is committed and a quorum has confirmed,
// after the call, that this peer still leads (ZOOKEEPER-1675: Apache's leader answers at
// once). On a learner the caller forwards the sync to the leader as a REQUEST and the
// sync completes when the leader's SYNC arrives (learner syncs complete in call order).
func (p *Peer) Sync(id uint64) error {
	switch {
	case p.lead != nil && p.lead.phase == lServing:
		p.lead.addSync(pendingSync{local: true, id: id})
		return nil
	case p.learn != nil && p.learn.phase == fServing:
		p.learn.syncs = append(p.learn.syncs, syncWait{id: id})
		return nil
	}
	return ErrNotServing
}

// SyncFor is the leader's side of a learner's forwarded sync: once it holds as for Sync,
// a SYNC packet goes to that learner.
func (p *Peer) SyncFor(learner uint64) error {
	if p.lead == nil || p.lead.phase != lServing {
		return ErrNotLeader
	}
	h := p.lead.handlers[learner]
	if h == nil || h.state != hUpToDate {
		return ErrNoLearner
	}
	p.lead.addSync(pendingSync{h: h})
	return nil
}

// RelaySync is an observer master's side of its observer's sync: the caller forwards the
// observer's REQUEST to the leader, as for Sync, and the leader's SYNC is passed on to the
// observer's connection (if it is still the one that asked).
func (p *Peer) RelaySync(observer uint64) error {
	f := p.learn
	if f == nil || f.om == nil {
		return ErrNotServing
	}
	h := f.om.handlers[observer]
	if h == nil || h.state != hUpToDate {
		return ErrNoLearner
	}
	f.syncs = append(f.syncs, syncWait{relay: h})
	return nil
}

// ObserverMasterTurn is how many observer masters this peer tried (State.ObserverMasterTurn).
func (p *Peer) ObserverMasterTurn() int { return p.omTurn }

// HasReady reports whether Ready has work.
func (p *Peer) HasReady() bool {
	r := &p.rd
	return len(r.Persist) > 0 || len(r.Committed) > 0 || len(r.Messages) > 0 || len(r.Close) > 0 ||
		len(r.SyncsDone) > 0 || r.Role != nil || r.Members != nil || len(p.carry) > 0 || len(p.deferred) > 0 || len(p.hooks) > 0
}

// Ready returns the pending work; the caller executes it and calls Advance before calling
// Ready again.
func (p *Peer) Ready() Ready {
	rd := p.rd
	p.rd = Ready{}
	if len(p.carry) > 0 {
		carry := slices.DeleteFunc(p.carry, func(m Message) bool { return slices.Contains(rd.Close, m.To) })
		rd.Messages = append(carry, rd.Messages...)
	}
	p.carry, p.deferred = p.deferred, nil
	p.inflight = append(p.inflight, p.hooks...)
	p.hooks = nil
	return rd
}

// Advance tells the peer the last Ready was executed: persisted, applied and sent.
func (p *Peer) Advance() {
	if run := p.TakeHooks(); run != nil {
		run()
	}
}

// TakeHooks is Advance deferred: it detaches what Advance would run for the Readys handed
// out so far and returns it as a func (nil: nothing), for a caller that persists a Ready in
// the background and goes on with later Readys meanwhile (their hooks are taken
// separately). The caller runs it once that Ready's persistence completed, as Advance.
func (p *Peer) TakeHooks() func() {
	hooks := p.inflight
	p.inflight = nil
	if len(hooks) == 0 {
		return nil
	}
	return func() {
		for _, f := range hooks {
			f()
		}
	}
}

// Status describes the peer for srvr/mntr.
type Status struct {
	Role           Role
	LastZxid       Zxid // last logged
	CommittedZxid  Zxid
	Learners       []uint64 // on the leader: connected learners; on an observer master: its observers
	SyncedLearners []uint64 // the same past NEWLEADER
}

// Status returns the peer's status.
func (p *Peer) Status() Status {
	s := Status{Role: p.role, LastZxid: p.lastZxid, CommittedZxid: p.committed}
	var handlers map[uint64]*learnerHandler
	switch {
	case p.lead != nil:
		s.Learners, handlers = p.lead.learnerIDs(), p.lead.handlers
	case p.learn != nil && p.learn.om != nil:
		s.Learners, handlers = p.learn.om.ids(), p.learn.om.handlers
	}
	for _, id := range s.Learners {
		if handlers[id].state >= hNewLeaderAcked {
			s.SyncedLearners = append(s.SyncedLearners, id)
		}
	}
	return s
}

// learnerInfo encodes LearnerInfo{sid, protocolVersion, configVersion} as jute does (20
// bytes, big-endian), the data of FOLLOWERINFO and OBSERVERINFO.
func learnerInfo(sid uint64, configVersion int64) []byte {
	b := make([]byte, 0, 20)
	b = binary.BigEndian.AppendUint64(b, sid)
	b = binary.BigEndian.AppendUint32(b, ProtocolVersion)
	return binary.BigEndian.AppendUint64(b, uint64(configVersion))
}

func int32Bytes(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// nextInHistory reports whether z may follow last in one history: the next counter of the
// same epoch, or the first txn of a later epoch.
func nextInHistory(last, z Zxid) bool {
	if z.Epoch() == last.Epoch() {
		return z.Counter() == last.Counter()+1
	}
	return z.Epoch() > last.Epoch() && z.Counter() == 1
}
