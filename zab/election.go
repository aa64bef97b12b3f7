package zab

// ElectionConfig configures fast leader election for one peer.
type ElectionConfig struct {
	ID        uint64
	Voters    []uint64 // participants (server.N lines without :observer), this peer included if it votes
	Observers []uint64 // non-voting members

	// FinalizeTicks is how long a peer keeps draining notifications once its proposal has a
	// quorum before it decides (finalizeWait, 200 ms in Apache ZooKeeper).
	FinalizeTicks int
	// MaxNotificationTicks caps the doubling re-send interval (maxNotificationInterval, 60 s).
	MaxNotificationTicks int

	// Config is this peer's QuorumVerifier string, sent with every notification; opaque here.
	Config []byte
}

// Election is one peer's FastLeaderElection. It lives as long as the peer: while the peer
// is LOOKING it runs lookForLeader; while the peer follows, leads or observes it still
// answers LOOKING peers with the vote it settled on (WorkerReceiver), so they can join.
//
// It is deterministic: Step, Tick, Start and SetServing go in; Messages and Decision come
// out. Messages carry only Vote. Implemented in this file (see election_test.go for the
// properties checked).
type Election struct {
	cfg ElectionConfig
	// implementation state follows
}

// NewElection returns an election for one peer, not looking yet.
func NewElection(cfg ElectionConfig) *Election { return &Election{cfg: cfg} }

// Start begins a round of lookForLeader: logicalclock++, the peer proposes itself with its
// last logged zxid and currentEpoch (an observer proposes nothing) and notifies every voter.
func (e *Election) Start(lastZxid Zxid, currentEpoch int64) {
	panic("zab: Election.Start not implemented yet")
}

// Step processes a notification received from another peer.
func (e *Election) Step(from uint64, n Notification) { panic("zab: Election.Step not implemented yet") }

// Tick advances logical time by one tick (re-send timers, finalize wait).
func (e *Election) Tick() { panic("zab: Election.Tick not implemented yet") }

// Messages returns and clears the notifications to send.
func (e *Election) Messages() []Message { panic("zab: Election.Messages not implemented yet") }

// Decision reports the outcome of the current round once it is decided: the leader, this
// peer's new state (Leading, Following or Observing) and the round's electionEpoch. ok is
// false while the peer is still looking (or was never started).
func (e *Election) Decision() (leader uint64, state ServerState, electionEpoch int64, ok bool) {
	panic("zab: Election.Decision not implemented yet")
}

// SetServing records the state the peer settled in (Leading, Following, Observing) with its
// vote, so that LOOKING peers are answered with it; the peer calls it after Decision and
// calls Start again when it goes back to LOOKING.
func (e *Election) SetServing(state ServerState) {
	panic("zab: Election.SetServing not implemented yet")
}
