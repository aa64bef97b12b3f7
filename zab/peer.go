package zab

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
	// MaxDiffTxns caps a DIFF read from the log (beyond it the leader sends SNAP), standing
	// in for zookeeper.snapshotSizeFactor.
	MaxDiffTxns int

	Election ElectionConfig // ID, Voters and Observers are taken from above
}

// State is what a peer finds on disk when it starts.
type State struct {
	AcceptedEpoch int64
	CurrentEpoch  int64
	// LastZxid is the last logged txn; the caller has applied every logged txn to its tree
	// (Apache ZooKeeper's loadDataBase), so it is the last applied one too.
	LastZxid Zxid
}

// Log is the peer's durable txn log as the leader reads it to synchronise learners.
type Log interface {
	// Entries returns the logged txns with zxid > after, oldest first, at most max of them
	// (more = true when some were left out). It returns ErrCompacted when some txn after
	// `after` is no longer in the log, and never a sequence with a hole in it.
	Entries(after Zxid, max int) (txns []Txn, more bool, err error)
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
	// Role is set when the role or phase changed. On a change to Looking the caller
	// reloads its tree from its durable log (every logged txn applied, as Apache ZooKeeper
	// does when it re-elects) before the next Ready.
	Role *Role
}

// Peer is one ensemble member: election, then leader, follower or observer, then election
// again when that ends. Not safe for concurrent use.
type Peer struct {
	cfg Config
	log Log
	// implementation state follows
}

// NewPeer returns a peer that starts LOOKING.
func NewPeer(cfg Config, st State, log Log) *Peer { return &Peer{cfg: cfg, log: log} }

// Step delivers a message from another peer.
func (p *Peer) Step(m Message) { panic("zab: Peer.Step not implemented yet") }

// Disconnected reports that the quorum connection to peer id broke (or could not be made).
func (p *Peer) Disconnected(id uint64) { panic("zab: Peer.Disconnected not implemented yet") }

// Tick advances logical time by one broadcast tick.
func (p *Peer) Tick() { panic("zab: Peer.Tick not implemented yet") }

// ElectionTick advances the election clock by one tick (the caller's election tick is
// shorter than the broadcast tick: finalizeWait is 200 ms).
func (p *Peer) ElectionTick() { panic("zab: Peer.ElectionTick not implemented yet") }

// Propose broadcasts a txn. Only a serving leader accepts, and t.Zxid must be the next
// zxid (Role.NextZxid, then one more each time); otherwise it returns ErrNotLeader or
// ErrZxidOrder.
func (p *Peer) Propose(t Txn) error { panic("zab: Peer.Propose not implemented yet") }

// Sync asks for a linearizable sync point for a client of this peer. On the leader it
// completes once every txn proposed before it is committed and a quorum has confirmed,
// after the call, that this peer still leads (ZOOKEEPER-1675: Apache's leader answers at
// once). On a learner the caller forwards the sync to the leader as a REQUEST and the
// sync completes when the leader's SYNC arrives (learner syncs complete in call order).
func (p *Peer) Sync(id uint64) error { panic("zab: Peer.Sync not implemented yet") }

// SyncFor is the leader's side of a learner's forwarded sync: once it holds as for Sync,
// a SYNC packet goes to that learner.
func (p *Peer) SyncFor(learner uint64) error { panic("zab: Peer.SyncFor not implemented yet") }

// HasReady reports whether Ready has work.
func (p *Peer) HasReady() bool { panic("zab: Peer.HasReady not implemented yet") }

// Ready returns the pending work; the caller executes it and calls Advance before calling
// Ready again.
func (p *Peer) Ready() Ready { panic("zab: Peer.Ready not implemented yet") }

// Advance tells the peer the last Ready was executed: persisted, applied and sent.
func (p *Peer) Advance() { panic("zab: Peer.Advance not implemented yet") }

// Status describes the peer for srvr/mntr.
type Status struct {
	Role           Role
	LastZxid       Zxid // last logged
	CommittedZxid  Zxid
	Learners       []uint64 // on the leader: connected learners
	SyncedLearners []uint64 // on the leader: learners past NEWLEADER
}

// Status returns the peer's status.
func (p *Peer) Status() Status { panic("zab: Peer.Status not implemented yet") }
