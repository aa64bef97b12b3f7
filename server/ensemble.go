package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/zkgo/zkgo/quorum/config"
	"math"
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// Ensemble is the quorum side of a server that is an ensemble member (package quorum
// implements it). The server keeps its client side: connections, sessions, the prepare
// stage on the leader, the data tree and watches on every member.
type Ensemble interface {
	// Propose hands a batch of prepared txns to the broadcast (leader), in zxid order. It
	// does not wait: the apply stage applies each txn once Committed says it is committed.
	Propose(batch []*Txn) error
	// Forward sends a client request to the leader (learner): REQUEST.
	Forward(session int64, cxid int32, op int32, body []byte, auth []jute.Id) error
	// SyncLeader calls done once a quorum confirmed this leader after the call (leader).
	SyncLeader(done func())
	// SyncFor answers a learner's forwarded sync the same way, with a SYNC packet.
	SyncFor(learner uint64)
	// Revalidate asks the leader whether a session a client resumes here is alive, and
	// makes this member its owner (learner: REVALIDATE). An error means the leader did
	// not answer: the session's state is unknown.
	Revalidate(session int64, timeout int32) (bool, error)
	// Info describes the quorum for srvr, mntr and the AdminServer.
	Info() QuorumInfo
	// CheckReconfig tells whether the leader may propose a reconfig to these members now
	// (zab.ErrReconfigInProgress, zab.ErrNewConfigNoQuorum, zab.ErrNotLeader).
	CheckReconfig(next *config.Verifier) error
	// Observers lists the synchronised observers of a leader or observer master, ok false
	// elsewhere (the AdminServer's observers command); ResetObserverStats zeroes their
	// connections' counters (observer_connection_stat_reset).
	Observers() (list []LearnerConnInfo, ok bool)
	ResetObserverStats()
}

// VoterView is one voter of the AdminServer's voting_view (Commands.QuorumServerView).
type VoterView struct {
	ID                         int64
	ServerAddrs, ElectionAddrs []string // "host:port"
	ClientAddr                 string   // "host:port", or "" when its line has none
}

// HostPort is one address of a member's MultipleAddresses.
type HostPort struct {
	Host string
	Port int
}

// LearnerConnInfo is one learner connection's LearnerHandler.getLearnerHandlerInfo.
type LearnerConnInfo struct {
	Remote                   string // "/host:port"
	SID                      int64
	Established              time.Time
	QueuedPackets            int
	QueuedSize               int64
	Received, Sent, Requests int64
	LastZxid                 int64
}

// QuorumInfo is what srvr and mntr show of the quorum (QuorumZooKeeperServer and
// LeaderZooKeeperServer gauges).
type QuorumInfo struct {
	QuorumSize int    // voting members
	PeerState  string // "leading - broadcast", "following - synchronization", ...
	// Leader only, but SyncedObservers: also an observer master's (a follower's) observers,
	// shown on a follower only with observer masters (ObserverMasters: ZooKeeper's gauge is
	// null, and not printed, on a follower without an ObserverMaster).
	Learners, SyncedFollowers, SyncedNonVotingFollowers, SyncedObservers int
	ObserverMasters                                                      bool
	// ObserverMaster is an observer's learner master: the leader or, with observer
	// masters, a follower; -1 while it has none (Observer.getLearnerMasterId).
	ObserverMaster int64
	// LeaderID and LeaderHosts are the server this member follows, observes through or is
	// (QuorumPeer.getLeaderId, getLeaderAddress: its quorum hosts, "|" between), for the
	// AdminServer's leader command; -1 and "" while there is none.
	LeaderID    int64
	LeaderHosts string
	// For the AdminServer's voting_view and zabstate: the committed configuration's voters,
	// this member's addresses and whether it votes with them, and its ZabState.
	VotingView                 []VoterView
	QuorumAddrs, ElectionAddrs []HostPort
	ClientAddr                 string // "host:port" (QuorumPeer.getClientAddress)
	Voting                     bool
	ZabState                   string // election, discovery, synchronization, broadcast
	PendingSyncs               int
	LeaderUptimeMs             int64
	// Sizes of the serialized PROPOSAL packets: last, min, max (-1 before the first).
	ProposalLast, ProposalMin, ProposalMax int64
}

// owner is the member a request came through: its learner, or this server.
func (s *Server) owner(r *request) uint64 {
	if r.remote {
		return r.from
	}
	return uint64(s.serverID)
}

// isLearner reports whether the server serves as a follower or observer now.
func (s *Server) isLearner() bool {
	rr := s.run.Load()
	return rr != nil && (rr.kind == roleFollower || rr.kind == roleObserver)
}

// commitGate holds the leader's apply stage back until a txn is committed (and, while the
// leader streams a SNAP, at the snapshot's zxid so the tree it copies is exact).
type commitGate struct {
	mu        sync.Mutex
	committed int64
	limit     int64
	ch        chan struct{}
}

func (g *commitGate) reset(committed int64) {
	g.mu.Lock()
	g.committed, g.limit = committed, math.MaxInt64
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	g.mu.Unlock()
}

func (g *commitGate) set(committed, limit int64) {
	g.mu.Lock()
	g.committed, g.limit = committed, limit
	if g.ch != nil {
		close(g.ch)
	}
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// wait returns once zxid may be applied, false if stop closed first.
func (g *commitGate) wait(zxid int64, stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		if zxid <= g.committed && zxid <= g.limit {
			g.mu.Unlock()
			return true
		}
		ch := g.ch
		g.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return false
		}
	}
}

// Committed lets the leader's apply stage apply txns up to zxid, but none beyond limit.
func (s *Server) Committed(zxid, limit int64) { s.gate.set(zxid, limit) }

// roleKind is what the server is doing now.
type roleKind int32

const (
	roleStandalone roleKind = iota + 1
	roleLeader
	roleFollower
	roleObserver
	// roleReadOnly: an ensemble member without a quorum, serving reads to clients that
	// asked for read-only mode (readonlymode.enabled, ReadOnlyZooKeeperServer).
	roleReadOnly
)

func (k roleKind) String() string {
	switch k {
	case roleStandalone:
		return "standalone"
	case roleLeader:
		return "leader"
	case roleFollower:
		return "follower"
	case roleObserver:
		return "observer"
	case roleReadOnly:
		return "read-only"
	}
	return "none"
}

// roleRun is one period of serving in a role; an ensemble member starts a new one after
// every election. Its goroutines stop when stop closes.
type roleRun struct {
	kind roleKind
	stop chan struct{}
	wg   sync.WaitGroup

	// Learner: forwarded requests waiting for their txn (by session and cxid) and
	// forwarded syncs waiting for the leader's SYNC, oldest first.
	mu      sync.Mutex
	waiting map[waitKey]*request
	syncs   []*request
}

type waitKey struct {
	session int64
	cxid    int32
}

// SetEnsemble makes the server an ensemble member with id myid (before Start). It then
// opens no storage of its own and serves only between BecomeLeader/BecomeLearner and
// StopServing.
func (s *Server) SetEnsemble(e Ensemble, myid int64) {
	s.ens = e
	s.serverID = myid
	s.sink = ensembleSink{e}
	s.sessions = newSessionTracker(s.tickMs, myid, time.Now())
	// QuorumPeerConfig: localSessionsUpgradingEnabled matters only with local sessions.
	s.localSessions = s.cfg.LocalSessionsEnabled
	s.upgradeLocal = s.cfg.LocalSessionsEnabled && s.cfg.LocalSessionsUpgradingEnabled
}

type ensembleSink struct{ e Ensemble }

// Persist hands the batch on; the sync stage reuses its slice for the next batch, so the
// ensemble gets its own copy.
func (k ensembleSink) Persist(batch []*Txn) error {
	return k.e.Propose(append([]*Txn(nil), batch...))
}

// startRun starts serving in a role; a leader's first proposal gets nextZxid (0: the one
// after the tree's last).
func (s *Server) startRun(kind roleKind, nextZxid int64) {
	rr := &roleRun{kind: kind, stop: make(chan struct{})}
	// A role's local sessions are its own: those of an earlier role are gone, as ZooKeeper
	// builds a new session tracker for each (their connections were closed with that role).
	s.sessions.dropLocal()
	s.connThrottle.reset()
	switch kind {
	case roleReadOnly, roleFollower, roleObserver:
		if kind != roleReadOnly {
			rr.waiting = make(map[waitKey]*request)
		}
		if s.localSessions {
			rr.wg.Add(1)
			go s.expirer(rr) // its local sessions (the leader expires the global ones)
		}
	default:
		// Requests a previous role left behind belong to connections that were closed.
		for len(s.reqCh) > 0 {
			<-s.reqCh
		}
		t := s.dt()
		t.RLock()
		s.nextZxid = t.LastProcessedZxid() + 1
		s.prepDigest = t.Digest()
		t.RUnlock()
		if nextZxid > 0 {
			s.nextZxid = nextZxid
		}
		s.outstanding = newOutstanding()
		rr.wg.Add(3)
		go s.committer(rr)
		go s.expirer(rr)
		go s.containerManager(rr)
	}
	s.run.Store(rr)
	s.leaderAlone.Store(kind == roleLeader && !s.leaderServes)
	s.serving.Store(true)
}

// clientServing reports whether the client port serves sessions and four-letter words.
func (s *Server) clientServing() bool { return s.serving.Load() && !s.leaderAlone.Load() }

// stopRun stops serving: new connections are refused, every client connection is closed
// (its clients reconnect, here or elsewhere, keeping their sessions) and the role's
// goroutines end.
func (s *Server) stopRun() {
	s.serving.Store(false)
	rr := s.run.Swap(nil)
	if rr == nil {
		return
	}
	close(rr.stop)
	for _, c := range s.connList() {
		c.close()
	}
	rr.wg.Wait()
}

// Role is the server's role as srvr and mntr show it.
func (s *Server) role() roleKind {
	if rr := s.run.Load(); rr != nil {
		return rr.kind
	}
	if s.ens == nil {
		return roleStandalone
	}
	return 0
}

// BecomeLeader starts serving as the leader; nextZxid is the first zxid it proposes.
func (s *Server) BecomeLeader(nextZxid int64) {
	now := time.Now().UnixMilli()
	s.sessions.touchAll(now)
	s.gate.reset(nextZxid - 1)
	s.startRun(roleLeader, nextZxid)
	s.expireDeadSessions(now)
	s.log.Info().Str("nextZxid", zxidHex(nextZxid)).Msg("serving clients as leader")
}

// expireDeadSessions has the sessions that own ephemerals but are not in the session table
// expire at the next tick. ZooKeeper's leader deletes their ephemerals in its own tree only
// (ZooKeeperServer.loadData); through closeSession txns every member does, at one zxid.
func (s *Server) expireDeadSessions(nowMs int64) {
	t := s.dt()
	t.RLock()
	dead := t.DeadSessions(s.sessions.known)
	t.RUnlock()
	for _, id := range dead {
		s.log.Info().Str("session", zxidHex(id)).Msg("closing a session that is gone but owns ephemerals")
		s.sessions.add(id, 0, nowMs)
	}
}

// BecomeLearner starts serving as a follower or observer: writes go to the leader,
// committed txns come back through ApplyCommitted.
func (s *Server) BecomeLearner(observer bool) {
	kind := roleFollower
	if observer {
		kind = roleObserver
	}
	s.startRun(kind, 0)
	s.log.Info().Str("role", kind.String()).Msg("serving clients")
}

// BecomeReadOnly serves reads to read-only clients while the member has no quorum.
func (s *Server) BecomeReadOnly() {
	s.startRun(roleReadOnly, 0)
	s.log.Info().Msg("no quorum: serving read-only clients")
}

// readOnlyAnswer answers a pipeline request of a read-only server: writes and syncs get
// NOTREADONLY (ReadOnlyRequestProcessor); closeSession closes the (local) session.
func (s *Server) readOnlyAnswer(r *request) {
	c := r.conn
	if c == nil {
		return
	}
	switch r.op {
	case jute.OpCreateSession:
		// A new session of a read-only server is local to it: no txn, no quorum (and, with
		// local sessions, counted and expired as one).
		if s.localSessions {
			s.sessions.addLocal(r.session, r.timeout, time.Now().UnixMilli())
		} else {
			s.sessions.add(r.session, r.timeout, time.Now().UnixMilli())
		}
		s.reply(r)
		return
	case jute.OpCloseSession:
		s.sessions.remove(r.session)
		s.reply(r)
		return
	}
	r.errCode = jute.NotReadOnly
	s.reply(r)
}

// StopServing ends the current role (the member is electing again).
func (s *Server) StopServing() {
	if s.run.Load() != nil {
		s.log.Info().Msg("stopped serving clients")
	}
	s.stopRun()
}

// ReplaceData installs a tree and session table (loaded from disk or received from the
// leader) while the server is not serving.
func (s *Server) ReplaceData(t *datatree.Tree, sessions map[int64]int32) {
	t.ExtendedTypes = s.extendedTypes
	s.setTree(t)
	s.sessions.reset(sessions, time.Now().UnixMilli())
}

// Sessions is the session table (id → timeout), for snapshots and SNAP.
func (s *Server) Sessions() map[int64]int32 { return s.sessions.snapshot() }

// forward sends a learner's client write, session change or sync to the leader; its
// answer comes with the committed txn (or the SYNC).
func (s *Server) forward(rr *roleRun, r *request) {
	if r.conn == nil && !r.upgrade {
		return // only the leader expires sessions and reaps containers
	}
	body := r.body
	switch r.op {
	case jute.OpCreateSession:
		body = binary.BigEndian.AppendUint32(nil, uint32(r.timeout))
	case jute.OpSync:
		var req jute.PathRequest
		if jute.Unmarshal(r.body, &req) != nil {
			r.errCode = jute.MarshallingError
			s.reply(r)
			return
		}
		r.path = req.Path
	}
	rr.mu.Lock()
	if r.op == jute.OpSync {
		rr.syncs = append(rr.syncs, r)
	} else {
		rr.waiting[waitKey{r.session, r.xid}] = r
	}
	rr.mu.Unlock()
	if err := s.ens.Forward(r.session, r.xid, r.op, body, r.auth); err != nil {
		// No leader to forward to: the connection goes, as when the learner loses its
		// leader; the client retries elsewhere.
		s.log.Debug().Err(err).Msg("cannot forward request to the leader; closing connection")
		if r.conn != nil {
			r.conn.close()
		} else {
			s.closeConnsOfSession(r.session) // an upgrade: the session's create cannot follow
		}
	}
}

// ApplyCommitted applies one committed txn on a learner, in zxid order, and answers the
// client of this server that sent it, if any.
func (s *Server) ApplyCommitted(raw []byte) error {
	lt, err := persistence.DecodeTxn(raw)
	if err != nil {
		return fmt.Errorf("committed txn: %w", err)
	}
	var bound *conn // a closeSession's connection here, before the apply forgets it
	if lt.Hdr.Type == jute.OpCloseSession {
		bound = s.sessions.connOf(lt.Hdr.ClientID)
	}
	t := s.dt()
	t.Lock()
	res := t.ProcessTxn(&lt.Hdr, lt.Rec)
	if lt.Digest != nil && s.digestEnabled && uint64(lt.Digest.TreeDigest) != t.Digest() {
		s.Count(DigestMismatchesCount, 1)
		s.log.Error().Str("zxid", zxidHex(lt.Hdr.Zxid)).Msg("digests are not matching: this tree differs from the leader's")
	}
	switch lt.Hdr.Type {
	case jute.OpCreateSession:
		s.sessions.add(lt.Hdr.ClientID, lt.Rec.(*jute.CreateSessionTxn).TimeOut, time.Now().UnixMilli())
	case jute.OpCloseSession:
		s.sessions.remove(lt.Hdr.ClientID)
	}
	t.Unlock()

	rr := s.run.Load()
	var r *request
	if rr != nil && rr.waiting != nil {
		k := waitKey{lt.Hdr.ClientID, lt.Hdr.Cxid}
		rr.mu.Lock()
		if w := rr.waiting[k]; w != nil && sameKind(w.op, lt.Hdr.Type) {
			r = w
			delete(rr.waiting, k)
		}
		rr.mu.Unlock()
	}
	// Only txns applied while serving went through Apache's FinalRequestProcessor: not
	// those of the sync with the leader or of a fast-forward from the log. Nor, as in
	// applyAndReply, a closeSession not asked for here that closes a connection here.
	if rr != nil && (r != nil || bound == nil) {
		s.ObserveTxnAge(PropagationLatency, lt.Hdr.Time)
	}
	if r == nil {
		if lt.Hdr.Type == jute.OpCloseSession {
			// Expired by the leader, or closed through another server.
			if bound != nil {
				bound.close()
			}
			s.closeConnsOfSession(lt.Hdr.ClientID)
		}
		return nil
	}
	r.hdr = lt.Hdr
	r.txn = lt.Rec
	r.result = res
	s.reply(r)
	return nil
}

// sameKind reports whether a committed txn of type typ can be the answer to a request of
// op (a failed request commits as an error txn).
func sameKind(op, typ int32) bool {
	return typ == op || typ == jute.OpError ||
		(op == jute.OpCreate2 && typ == jute.OpCreate) || (op == jute.OpCreate && typ == jute.OpCreate2)
}

// SyncDone answers the oldest forwarded sync (the leader's SYNC arrived, after the
// commits it covers were applied).
func (s *Server) SyncDone() {
	rr := s.run.Load()
	if rr == nil {
		return
	}
	rr.mu.Lock()
	if len(rr.syncs) == 0 {
		rr.mu.Unlock()
		return
	}
	r := rr.syncs[0]
	rr.syncs = rr.syncs[1:]
	rr.mu.Unlock()
	s.reply(r)
}

// ErrNotLeader is returned by SubmitRemote when this server does not lead now.
var ErrNotLeader = errors.New("not serving as leader")

// SubmitRemote runs a learner's forwarded request through the leader's commit path.
func (s *Server) SubmitRemote(from uint64, session int64, cxid int32, op int32, body []byte, auth []jute.Id) error {
	rr := s.run.Load()
	if rr == nil || rr.kind != roleLeader {
		return ErrNotLeader
	}
	r := &request{remote: true, from: from, session: session, xid: cxid, op: op, body: body, auth: auth,
		pipeline: true, start: time.Now()}
	if op == jute.OpCreateSession {
		if len(body) < 4 {
			return fmt.Errorf("createSession from learner %d: %d-byte body", from, len(body))
		}
		r.timeout = int32(binary.BigEndian.Uint32(body))
	}
	s.submit(r)
	return nil
}

// SessionTouch is a session kept alive by a learner's clients.
type SessionTouch struct {
	ID      int64
	Timeout int32
}

// TouchSessions extends sessions a learner reported in its PING (leader).
func (s *Server) TouchSessions(list []SessionTouch) {
	now := time.Now().UnixMilli()
	for _, t := range list {
		s.sessions.touch(t.ID, t.Timeout, now)
	}
}

// ValidateSession answers learner from's REVALIDATE: whether the session is alive; if it
// is, it is touched and from becomes its owner (Leader.revalidateSession).
func (s *Server) ValidateSession(from uint64, id int64, timeout int32) bool {
	if s.localSessions && s.sessions.isLocal(id) {
		return false // the leader's own local session moves nowhere (checkIfValidGlobalSession)
	}
	if !s.sessions.touch(id, timeout, time.Now().UnixMilli()) {
		return false
	}
	s.sessions.setOwner(id, from)
	return true
}

// TouchTable lists the global sessions of this learner's clients for the PING to the leader
// (its local sessions are its own to keep).
func (s *Server) TouchTable() []SessionTouch {
	var out []SessionTouch
	for _, c := range s.connList() {
		if id := c.sid(); id != 0 && !(s.localSessions && s.sessions.isLocal(id)) {
			out = append(out, SessionTouch{ID: id, Timeout: c.timeout})
		}
	}
	return out
}

// ObserveFsync records one fsync of the txn log done by the ensemble (fsynctime metric).
func (s *Server) ObserveFsync(d time.Duration) {
	s.metrics.fsync(d.Milliseconds(), s.cfg.FsyncWarningThresholdMs())
}
