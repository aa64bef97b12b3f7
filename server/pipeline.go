package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// request is one client (or internal) request on its way through the server.
type request struct {
	conn     *conn // nil for internal requests (session expiry, container reaping)
	session  int64
	xid      int32
	op       int32
	body     []byte
	auth     []jute.Id
	pipeline bool // goes through prep/commit rather than being answered locally
	start    time.Time

	// remote: forwarded by learner `from` (REQUEST); answered there, not here.
	remote bool
	from   uint64
	// answered: the request is done and its reply may go; the connection sends replies in
	// request order (conn.writeDone), which a sync completed later than the writes behind it
	// in an ensemble needs.
	answered bool

	// zeroZxid: answered before any txn (an eager ACL check), with zxid 0 as Java does.
	zeroZxid bool
	// large: body bytes counted against zookeeper.largeRequestMaxBytes until answered
	// (largereq.go); inProcess: counted by the request throttler until answered; both
	// guarded by conn.mu once the request is queued. throttled: waited too long in the
	// throttler, answered THROTTLEDOP without being run (reqthrottle.go).
	large     int32
	inProcess bool
	throttled bool
	// ephemeralLocal: a local session's request that creates an ephemeral while sessions are
	// not upgraded (localsession.go): its ephemeral op fails with EPHEMERALONLOCALSESSION.
	ephemeralLocal bool

	// createSession
	upgrade bool // a local session's own createSession, made for its first ephemeral (no reply)
	timeout int32
	passwd  []byte
	hasRO   bool
	done    chan struct{}

	// Set by prep.
	hdr     jute.TxnHeader
	txn     jute.Record // nil: nothing to log or apply (sync)
	errCode jute.Code   // set when the whole request failed before it became a txn
	path    string      // sync: echoed path

	result datatree.Result

	// prevDigest is the prepared tree digest before this request; digest the one after its
	// txn, logged with it (nil for error txns and when digests are off).
	prevDigest uint64
	digest     *jute.TxnDigest

	// logged is the txn as the sync stage logs it, its record framed by the prep stage.
	logged Txn
}

// TxnSink makes transactions durable before they are applied: the transaction log in
// standalone mode, the quorum later. Persist returns once every txn of the batch is safe.
type TxnSink interface {
	Persist(batch []*Txn) error
}

// Txn is a transaction as it is logged.
type Txn struct {
	Hdr    jute.TxnHeader
	Rec    jute.Record
	Digest *jute.TxnDigest
	// Record is the txn framed by persistence.EncodeRecord (nil: the sink encodes it).
	Record []byte
}

type nopSink struct{}

func (nopSink) Persist([]*Txn) error { return nil }

// SetSink installs the durability stage (before Start).
func (s *Server) SetSink(sink TxnSink) { s.sink = sink }

// submit hands a pipeline request to the role serving now: the commit path of a
// standalone server or a leader, the leader of a learner. Without a role (an ensemble
// member that is electing) it is dropped; its connection is being closed.
func (s *Server) submit(r *request) {
	s.writeSeen()
	rr := s.run.Load()
	if rr == nil {
		return
	}
	quorumRole := rr.kind == roleLeader || rr.kind == roleFollower || rr.kind == roleObserver
	if s.eagerACL && quorumRole && r.conn != nil && !r.remote && s.eagerACLCheck(r) {
		return
	}
	if s.localSessions && quorumRole && s.localSession(rr, r) {
		return
	}
	switch rr.kind {
	case roleFollower, roleObserver:
		s.forward(rr, r)
		return
	case roleReadOnly:
		s.readOnlyAnswer(r)
		return
	}
	s.stats.outstanding.Add(1)
	select {
	case s.reqCh <- r:
	case <-rr.stop:
		s.stats.outstanding.Add(-1)
	}
}

// The commit path is a pipeline of three goroutines, each handling requests in arrival
// (= zxid) order, so that the fsync of one batch overlaps the preparation of the next and
// the application of the previous one (SyncRequestProcessor / FinalRequestProcessor):
//
//  1. prep (committer): takes requests from reqCh, prepares each against the tree plus the
//     outstanding changes of everything prepared before it, frames its log record, and
//     appends it to the open batch.
//  2. sync: takes the whole open batch when the intake runs dry (group commit), makes its
//     txns durable with one sink call (the only goroutine that touches the txn log, so log
//     rolls fall between batches), and hands it to the apply stage.
//  3. apply: applies each txn to the tree and answers in zxid order; conn.writeDone runs
//     the reads queued behind a write right after its apply, on this goroutine.
//
// At most maxBatch requests wait in the open batch, one batch is being synced, applyDepth
// batches wait for the apply stage and one is being applied. An ensemble leader's "sync" is
// the proposal: its apply stage waits for each batch to commit, which takes a round trip
// to the followers and their fsyncs, so it lets ensembleApplyDepth batches wait there,
// proposed, instead of holding later requests back until the batch before commits (as
// Apache's leader, which proposes each request as it comes).
const (
	maxBatch           = 256
	applyDepth         = 1
	ensembleApplyDepth = 64
)

// pipe is the handoff between the stages. Its mutex is held by the prep stage while it
// prepares a request and appends it, so the sync stage, holding it, sees every prepared
// request either in a batch it took or in open, never half-prepared.
type pipe struct {
	mu       sync.Mutex
	work     *sync.Cond // sync stage: open is ready (flush) or the prep stage stopped
	space    *sync.Cond // prep stage: open has room, or inflight went down
	open     []*request // prepared and not yet taken by the sync stage, in zxid order
	flush    bool       // open should be taken: the intake ran dry, it is full, or a barrier
	inflight int        // requests prepared and not yet answered (or dropped)
	closed   bool       // the prep stage stopped: the sync stage drains open and stops
	barrier  bool       // the prep stage waits for inflight to drain (closeSession)

	max     int // requests in open at most (maxBatch, or a smaller zookeeper.maxBatchSize)
	applyCh chan applyBatch
}

// applyBatch is a batch on its way to the apply stage.
type applyBatch struct {
	reqs   []*request
	failed bool // not made durable: nothing of it is applied, each write fails with SYSTEMERROR
}

func newPipe(depth, max int) *pipe {
	p := &pipe{applyCh: make(chan applyBatch, depth), max: max}
	p.work = sync.NewCond(&p.mu)
	p.space = sync.NewCond(&p.mu)
	return p
}

// done releases n answered (or dropped) requests.
func (p *pipe) done(n int) {
	p.mu.Lock()
	p.inflight -= n
	p.space.Broadcast()
	p.mu.Unlock()
}

// committer is the prep stage; it starts the other two and, once stopped, waits until
// they have drained everything it prepared.
func (s *Server) committer(rr *roleRun) {
	defer rr.wg.Done()
	depth := applyDepth
	if s.ens != nil {
		depth = ensembleApplyDepth
	}
	batch := maxBatch
	if s.ens == nil && s.flushPolicy.MaxBatch > 0 {
		// Standalone, the batch is the log sync, which zookeeper.maxBatchSize bounds. An
		// ensemble leader's batch is a proposal, synced by the quorum layer.
		batch = min(batch, s.flushPolicy.MaxBatch)
	}
	p := newPipe(depth, batch)
	var stages sync.WaitGroup
	stages.Add(2)
	go func() { defer stages.Done(); s.syncStage(p) }()
	go func() { defer stages.Done(); s.applyStage(p, rr) }()
	for {
		var r *request
		select {
		case r = <-s.reqCh:
		case <-rr.stop:
			p.mu.Lock()
			p.closed = true
			p.work.Signal()
			p.mu.Unlock()
			// Not deferred: a panic in this stage must end the process (an ensemble then
			// elects another leader), not wait here forever for stages nobody closes, as
			// it did with a deferred Wait, leaving a leader that pinged its followers and
			// never wrote again.
			stages.Wait()
			return
		}
		p.mu.Lock()
		for len(p.open) >= p.max {
			p.space.Wait()
		}
		if r.op == jute.OpCloseSession {
			// closeSession lists the session's ephemerals from the tree, then replays the
			// pending changes over them; the apply stage must not move the tree between
			// the two reads. Wait until it has answered everything prepared before, as the
			// committer did when it prepared and applied on one goroutine.
			p.flush = true
			p.barrier = true
			p.work.Signal()
			for p.inflight > 0 {
				p.space.Wait()
			}
			p.barrier = false
		}
		s.prepForLog(r)
		p.open = append(p.open, r)
		p.inflight++
		if len(s.reqCh) == 0 || len(p.open) >= p.max {
			p.flush = true
			p.work.Signal()
		}
		p.mu.Unlock()
	}
}

// prepForLog prepares r and frames its log record (prep stage, under p.mu).
func (s *Server) prepForLog(r *request) {
	r.prevDigest = s.prepDigest
	s.prep(r)
	if r.txn == nil {
		return
	}
	if s.digestEnabled && r.hdr.Type != jute.OpError {
		r.digest = &jute.TxnDigest{Version: datatree.DigestVersion, TreeDigest: int64(s.prepDigest)}
	}
	r.logged = Txn{Hdr: r.hdr, Rec: r.txn, Digest: r.digest}
	if s.disk != nil || s.ens != nil {
		r.logged.Record = persistence.EncodeRecord(&r.hdr, r.txn, r.digest)
	}
}

// syncStage makes batches durable, one sink call each, and passes them on in order.
func (s *Server) syncStage(p *pipe) {
	defer close(p.applyCh)
	txns := make([]*Txn, 0, p.max)
	stopped := false
	var last time.Time // when the last sync ended (SyncRequestProcessor's lastFlushTime)
	hold := s.flushPolicy
	hold.MaxBatch = p.max // open holds no more
	for {
		p.mu.Lock()
		for !p.closed && !(p.flush && len(p.open) > 0) {
			p.work.Wait()
		}
		if s.ens == nil && hold.Delay > 0 && !p.closed && !p.barrier && hasTxn(p.open) {
			// zookeeper.flushDelay: wait for more to share the sync, unless nothing more can
			// come (the prep stage stopped, or waits for this batch at a closeSession).
			p.mu.Unlock()
			hold.Hold(last, func() int {
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.closed || p.barrier {
					return -1
				}
				return len(p.open)
			})
			p.mu.Lock()
		}
		batch := p.open
		if len(batch) == 0 { // closed and drained
			p.mu.Unlock()
			return
		}
		p.open = make([]*request, 0, len(batch))
		p.flush = false
		p.space.Broadcast()
		p.mu.Unlock()
		if stopped {
			// The log's state is unknown and the server is stopping: nothing more is
			// logged, applied or answered.
			p.done(len(batch))
			continue
		}
		txns = txns[:0]
		for _, r := range batch {
			if r.txn != nil {
				txns = append(txns, &r.logged)
			}
		}
		if len(txns) > 0 {
			err := s.sink.Persist(txns)
			last = time.Now()
			if err != nil {
				if s.ens != nil {
					// Leadership was lost: the role is being stopped and every client
					// connection closed; nothing more is applied or answered here.
					stopped = true
					p.done(len(batch))
					continue
				}
				failed, ok := s.persistFailed(p, batch, txns, err)
				if !ok {
					stopped = true
					p.done(len(batch))
					continue
				}
				p.applyCh <- applyBatch{reqs: failed, failed: true}
				continue
			}
		}
		p.applyCh <- applyBatch{reqs: batch}
	}
}

// hasTxn reports whether a request of batch has a txn to log (a batch of syncs and errors
// does not wait for more: SyncRequestProcessor passes such requests on at once).
func hasTxn(batch []*request) bool {
	for _, r := range batch {
		if r.txn != nil {
			return true
		}
	}
	return false
}

// applyStage applies and answers the batches in order.
func (s *Server) applyStage(p *pipe, rr *roleRun) {
	stopped := false
	for b := range p.applyCh {
		switch {
		case stopped:
		case b.failed:
			s.answerFailed(b.reqs)
		default:
			for _, r := range b.reqs {
				if s.ens != nil && r.txn != nil && !s.gate.wait(r.hdr.Zxid, rr.stop) {
					// Leadership lost before this txn committed: nothing more is applied
					// or answered (the connections are being closed).
					stopped = true
					break
				}
				s.applyAndReply(r)
			}
		}
		p.done(len(b.reqs))
	}
}

func (s *Server) applyAndReply(r *request) {
	if r.txn == nil && r.op == jute.OpSync && r.errCode == jute.OK && s.ens != nil {
		// An ensemble leader answers a sync once a quorum confirmed it still leads, so a
		// read after it sees every write committed before it (ZOOKEEPER-1675).
		s.stats.outstanding.Add(-1)
		if r.remote {
			s.ens.SyncFor(r.from)
			return
		}
		s.ens.SyncLeader(func() { s.reply(r) })
		return
	}
	if r.txn != nil {
		// FinalRequestProcessor.applyRequest returns before measuring the propagation
		// latency when it closes the connection of a session closed without one (expired).
		quiet := r.op == jute.OpCloseSession && r.conn == nil && s.sessions.connOf(r.session) != nil
		s.dt().Lock()
		r.result = s.dt().ProcessTxn(&r.hdr, r.txn)
		if r.digest != nil && uint64(r.digest.TreeDigest) != s.dt().Digest() {
			// Prep and apply disagree on the tree: a bug; Apache ZooKeeper logs the same.
			s.Count(DigestMismatchesCount, 1)
			s.log.Error().Str("zxid", zxidHex(r.hdr.Zxid)).Msg("digests are not matching: the applied tree differs from the prepared one")
		}
		switch r.hdr.Type {
		case jute.OpCreateSession:
			s.sessions.add(r.hdr.ClientID, r.txn.(*jute.CreateSessionTxn).TimeOut, time.Now().UnixMilli())
			if s.ens != nil {
				s.sessions.setOwner(r.hdr.ClientID, s.owner(r))
			}
		case jute.OpCloseSession:
			s.sessions.remove(r.hdr.ClientID)
		}
		s.dt().Unlock()
		if !quiet {
			s.ObserveTxnAge(PropagationLatency, r.hdr.Time)
		}
		s.applied(r.hdr.Zxid)
	}
	s.stats.outstanding.Add(-1)
	s.reply(r)
}

func (s *Server) newHeader(r *request, typ int32) {
	r.hdr = jute.TxnHeader{ClientID: r.session, Cxid: r.xid, Zxid: s.nextZxid, Time: time.Now().UnixMilli(), Type: typ}
	s.nextZxid++
}

// fail turns a prepared request into an error txn: it keeps its zxid, as in Apache ZooKeeper.
func (r *request) fail(code jute.Code) {
	r.hdr.Type = jute.OpError
	r.txn = &jute.ErrorTxn{Err: int32(code)}
}

// prep turns a request into a transaction (PrepRequestProcessor).
func (s *Server) prep(r *request) {
	switch r.op {
	case jute.OpSync:
		var req jute.PathRequest
		if jute.Unmarshal(r.body, &req) != nil {
			r.errCode = jute.MarshallingError
			return
		}
		r.path = req.Path
		return
	case jute.OpCreateSession:
		s.newHeader(r, jute.OpCreateSession)
		r.txn = &jute.CreateSessionTxn{TimeOut: r.timeout}
		if s.ens != nil {
			// A leader tracks the new global session as it prepares it, as Apache's
			// PrepRequestProcessor does (trackSession, setOwner): a member may apply the
			// commit and answer the client before this leader has applied it, and the
			// client's next request, forwarded here, must not find the session unknown.
			s.sessions.add(r.session, r.timeout, time.Now().UnixMilli())
			s.sessions.setOwner(r.session, s.owner(r))
		}
		return
	case jute.OpCloseSession:
		s.newHeader(r, jute.OpCloseSession)
		r.txn = s.prepCloseSession(r)
		return
	}
	s.newHeader(r, r.op)
	if r.op == jute.OpMulti {
		s.prepMulti(r)
		return
	}
	rec, code := s.prepOp(r, r.op, r.body, nil)
	if code != jute.OK {
		r.fail(code)
		return
	}
	r.txn = rec
}

// prepOp prepares one write op (top level or inside a multi), recording its changes.
func (s *Server) prepOp(r *request, op int32, body []byte, create *jute.CreateRequest) (jute.Record, jute.Code) {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		if create != nil {
			return s.prepCreate(r, op, create)
		}
		req := jute.CreateRequest{HasTTL: op == jute.OpCreateTTL}
		if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		if !req.HasTTL {
			req.TTL = -1
		}
		return s.prepCreate(r, op, &req)
	case jute.OpDelete, jute.OpDeleteContainer:
		var req jute.PathVersionRequest
		if op == jute.OpDeleteContainer {
			var p jute.PathRequest
			if jute.Unmarshal(body, &p) != nil {
				return nil, jute.MarshallingError
			}
			req.Path, req.Version = p.Path, -1
		} else if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		return s.prepDelete(r, op, &req)
	case jute.OpSetData:
		var req jute.SetDataRequest
		if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		return s.prepSetData(r, &req)
	case jute.OpSetACL:
		var req jute.SetACLRequest
		if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		return s.prepSetACL(r, &req)
	case jute.OpCheck:
		var req jute.PathVersionRequest
		if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		return s.prepCheck(r, &req)
	case jute.OpReconfig:
		var req jute.ReconfigRequest
		if jute.Unmarshal(body, &req) != nil {
			return nil, jute.MarshallingError
		}
		if !s.cfg.ReconfigEnabled {
			return nil, jute.ReconfigDisabled
		}
		return s.prepReconfig(r, &req)
	}
	return nil, jute.MarshallingError
}

func (s *Server) checkSession(r *request) jute.Code { return s.checkSessionFor(r, false) }

// checkSessionFor is checkSession; an ephemeral's owner must be a global session the
// leader knows (checkGlobalSession), never another member's local one.
func (s *Server) checkSessionFor(r *request, ephemeral bool) jute.Code {
	if r.conn == nil && !r.remote {
		return jute.OK
	}
	if s.ens != nil {
		code := s.sessions.checkOwner(r.session, s.owner(r))
		if code == jute.SessionExpired && !ephemeral && s.localSessions && r.remote && !s.sessions.known(r.session) &&
			uint64(r.session)>>56 != uint64(s.serverID) {
			// Another member's local session, which only that member knows
			// (LeaderSessionTracker.checkSession).
			return jute.OK
		}
		return code
	}
	if !s.sessions.check(r.session) {
		return jute.SessionExpired
	}
	return jute.OK
}

func (s *Server) prepCreate(r *request, op int32, req *jute.CreateRequest) (jute.Record, jute.Code) {
	mode := req.Flags
	if mode < jute.ModePersistent || mode > jute.ModePersistentSequentialWithTTL {
		return nil, jute.BadArguments
	}
	isTTL := mode == jute.ModePersistentWithTTL || mode == jute.ModePersistentSequentialWithTTL
	ephemeral := mode == jute.ModeEphemeral || mode == jute.ModeEphemeralSequential
	sequential := mode == jute.ModePersistentSequential || mode == jute.ModeEphemeralSequential || mode == jute.ModePersistentSequentialWithTTL
	// The op decides the kind of node as in Apache ZooKeeper (a container flag on op 1
	// makes a persistent node); only createTTL without a TTL mode is refused, where Java
	// would log a txn it cannot apply.
	if isTTL && s.extendedTypes == datatree.OwnersBasic {
		return nil, jute.Unimplemented
	}
	if isTTL {
		if req.TTL <= 0 || req.TTL > jute.MaxTTL {
			return nil, jute.BadArguments
		}
	} else if req.TTL >= 0 {
		return nil, jute.BadArguments
	}
	if ephemeral && r.ephemeralLocal {
		return nil, jute.EphemeralOnLocalSession // validateCreateRequest: before the session check
	}
	if c := s.checkSessionFor(r, ephemeral); c != jute.OK {
		return nil, c
	}
	path := req.Path
	slash := lastSlash(path)
	if slash < 0 || containsNUL(path) {
		return nil, jute.BadArguments
	}
	acl, code := s.fixupACL(req.ACL, r.auth)
	if code != jute.OK {
		return nil, code
	}
	parentPath := path[:slash]
	if parentPath == "" {
		parentPath = "/"
	}
	parent := s.record(parentPath)
	if parent == nil {
		return nil, jute.NoNode
	}
	if c := s.checkACL(parent.acl, jute.PermCreate, r.auth); c != jute.OK {
		return nil, c
	}
	if sequential {
		path += fmt.Sprintf("%010d", parent.stat.Cversion)
	}
	if datatree.ValidatePath(path) != nil {
		return nil, jute.BadArguments
	}
	if s.record(path) != nil {
		return nil, jute.NodeExists
	}
	if s.dt().OwnerType(parent.stat.EphemeralOwner) == datatree.OwnerSession {
		return nil, jute.NoChildrenForEphemerals
	}
	newCversion := parent.stat.Cversion + 1
	if c := s.checkQuota(path, 0, len(req.Data), 1); c != jute.OK {
		return nil, c
	}
	var owner int64
	var rec jute.Record
	switch {
	case op == jute.OpCreateContainer:
		owner = jute.ContainerEphemeralOwner
		rec = &jute.CreateContainerTxn{Path: path, Data: req.Data, ACL: acl, ParentCVersion: newCversion}
	case op == jute.OpCreateTTL && !isTTL:
		// Apache ZooKeeper logs a CreateTTLTxn without a TTL here and then fails to
		// apply it; refuse it once every check Java makes has passed.
		return nil, jute.BadArguments
	case op == jute.OpCreateTTL:
		owner = jute.TTLMask | req.TTL
		rec = &jute.CreateTTLTxn{Path: path, Data: req.Data, ACL: acl, ParentCVersion: newCversion, TTL: req.TTL}
	default:
		if ephemeral {
			owner = r.session
		}
		rec = &jute.CreateTxn{Path: path, Data: req.Data, ACL: acl, Ephemeral: ephemeral, ParentCVersion: newCversion}
	}
	zxid := r.hdr.Zxid
	parent.zxid = zxid
	parent.childCount++
	parent.stat.Cversion = newCversion
	parent.stat.Pzxid = zxid
	s.addChange(parent)
	s.addChange(&changeRecord{zxid: zxid, path: path, exists: true, acl: acl, data: req.Data,
		stat: jute.StatPersisted{Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: r.hdr.Time, Mtime: r.hdr.Time, EphemeralOwner: owner}})
	return rec, jute.OK
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}

func containsNUL(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == 0 {
			return true
		}
	}
	return false
}

func isSpecialPath(p string) bool {
	return p == "/" || p == datatree.ZookeeperPath || p == datatree.QuotaPath || p == datatree.ConfigPath
}

func checkVersion(current, expected int32) (int32, jute.Code) {
	if expected != -1 && expected != current {
		return 0, jute.BadVersion
	}
	return current + 1, jute.OK
}

func (s *Server) prepDelete(r *request, op int32, req *jute.PathVersionRequest) (jute.Record, jute.Code) {
	if op == jute.OpDelete {
		if c := s.checkSession(r); c != jute.OK {
			return nil, c
		}
	}
	path := req.Path
	slash := lastSlash(path)
	if slash < 0 || containsNUL(path) || isSpecialPath(path) {
		return nil, jute.BadArguments
	}
	parentPath := path[:slash]
	if parentPath == "" {
		parentPath = "/"
	}
	parent := s.record(parentPath)
	if parent == nil {
		return nil, jute.NoNode
	}
	if op == jute.OpDelete {
		if c := s.checkACL(parent.acl, jute.PermDelete, r.auth); c != jute.OK {
			return nil, c
		}
	}
	node := s.record(path)
	if node == nil {
		return nil, jute.NoNode
	}
	if op == jute.OpDelete {
		if _, c := checkVersion(node.stat.Version, req.Version); c != jute.OK {
			return nil, c
		}
	}
	if node.childCount > 0 {
		return nil, jute.NotEmpty
	}
	if op == jute.OpDeleteContainer {
		if k := s.dt().OwnerType(node.stat.EphemeralOwner); k != datatree.OwnerContainer && k != datatree.OwnerTTL {
			return nil, jute.BadVersion
		}
	}
	zxid := r.hdr.Zxid
	parent.zxid = zxid
	parent.childCount--
	parent.stat.Pzxid = zxid
	s.addChange(parent)
	s.addChange(&changeRecord{zxid: zxid, path: path})
	return &jute.DeleteTxn{Path: path}, jute.OK
}

func (s *Server) prepSetData(r *request, req *jute.SetDataRequest) (jute.Record, jute.Code) {
	if c := s.checkSession(r); c != jute.OK {
		return nil, c
	}
	if datatree.ValidatePath(req.Path) != nil {
		return nil, jute.BadArguments
	}
	node := s.record(req.Path)
	if node == nil {
		return nil, jute.NoNode
	}
	if c := s.checkACL(node.acl, jute.PermWrite, r.auth); c != jute.OK {
		return nil, c
	}
	if c := s.checkQuota(req.Path, len(node.data), len(req.Data), 0); c != jute.OK {
		return nil, c
	}
	v, c := checkVersion(node.stat.Version, req.Version)
	if c != jute.OK {
		return nil, c
	}
	node.zxid = r.hdr.Zxid
	node.stat.Version = v
	node.stat.Mtime = r.hdr.Time
	node.stat.Mzxid = r.hdr.Zxid
	node.data = req.Data
	s.addChange(node)
	return &jute.SetDataTxn{Path: req.Path, Data: req.Data, Version: v}, jute.OK
}

func (s *Server) prepSetACL(r *request, req *jute.SetACLRequest) (jute.Record, jute.Code) {
	if c := s.checkSession(r); c != jute.OK {
		return nil, c
	}
	if datatree.ValidatePath(req.Path) != nil {
		return nil, jute.BadArguments
	}
	acl, code := s.fixupACL(req.ACL, r.auth)
	if code != jute.OK {
		return nil, code
	}
	node := s.record(req.Path)
	if node == nil {
		return nil, jute.NoNode
	}
	if c := s.checkACL(node.acl, jute.PermAdmin, r.auth); c != jute.OK {
		return nil, c
	}
	v, c := checkVersion(node.stat.Aversion, req.Version)
	if c != jute.OK {
		return nil, c
	}
	node.zxid = r.hdr.Zxid
	node.stat.Aversion = v
	node.acl = acl
	s.addChange(node)
	return &jute.SetACLTxn{Path: req.Path, ACL: acl, Version: v}, jute.OK
}

func (s *Server) prepCheck(r *request, req *jute.PathVersionRequest) (jute.Record, jute.Code) {
	if c := s.checkSession(r); c != jute.OK {
		return nil, c
	}
	if datatree.ValidatePath(req.Path) != nil {
		return nil, jute.BadArguments
	}
	node := s.record(req.Path)
	if node == nil {
		return nil, jute.NoNode
	}
	if c := s.checkACL(node.acl, jute.PermRead, r.auth); c != jute.OK {
		return nil, c
	}
	v, c := checkVersion(node.stat.Version, req.Version)
	if c != jute.OK {
		return nil, c
	}
	return &jute.CheckVersionTxn{Path: req.Path, Version: v}, jute.OK
}

// checkQuota enforces hard quotas when enforceQuota is on (ZooKeeperServer.checkQuota).
func (s *Server) checkQuota(path string, oldLen, newLen int, countDiff int64) jute.Code {
	if !s.enforceQuota {
		return jute.OK
	}
	s.dt().RLock()
	defer s.dt().RUnlock()
	prefix := s.dt().QuotaPrefix(path)
	if prefix == "" {
		return jute.OK
	}
	limits, usage := s.dt().QuotaUsage(prefix)
	if limits == nil || usage == nil {
		return jute.OK
	}
	bytesDiff := int64(newLen - oldLen)
	if countDiff != 0 && (limits.Get(datatree.QuotaCount) > -1 || limits.Get(datatree.QuotaCountHardLimit) > -1) {
		hard := limits.Get(datatree.QuotaCountHardLimit) > -1
		if hard && usage.Get(datatree.QuotaCount)+countDiff > limits.Get(datatree.QuotaCountHardLimit) {
			return jute.QuotaExceeded
		}
	}
	if bytesDiff != 0 && (limits.Get(datatree.QuotaBytes) > -1 || limits.Get(datatree.QuotaByteHardLimit) > -1) {
		hard := limits.Get(datatree.QuotaByteHardLimit) > -1
		if hard && usage.Get(datatree.QuotaBytes)+bytesDiff > limits.Get(datatree.QuotaByteHardLimit) {
			return jute.QuotaExceeded
		}
	}
	return jute.OK
}

// prepMulti prepares every sub-op under one zxid. When one fails, the changes of the earlier
// ones are rolled back, it becomes an error sub-txn and the later ones RUNTIMEINCONSISTENCY.
func (s *Server) prepMulti(r *request) {
	ops, code := decodeMulti(r.body, false)
	if code != jute.OK {
		r.fail(code)
		return
	}
	before := s.prepDigest
	m := &jute.MultiTxn{Txns: make([]jute.SubTxn, 0, len(ops))}
	var failed jute.Code
	for _, op := range ops {
		if failed != jute.OK {
			m.Txns = append(m.Txns, jute.SubTxn{Type: jute.OpError, Txn: &jute.ErrorTxn{Err: int32(jute.RuntimeInconsistency)}})
			continue
		}
		if op.poison {
			s.rollback(r.hdr.Zxid)
			s.prepDigest = before
			s.prepDigest = before
			r.fail(jute.MarshallingError)
			return
		}
		rec, c := s.prepOp(r, op.typ, op.body, op.create)
		if c != jute.OK {
			failed = c
			s.rollback(r.hdr.Zxid)
			s.prepDigest = before
			m.Txns = append(m.Txns, jute.SubTxn{Type: jute.OpError, Txn: &jute.ErrorTxn{Err: int32(c)}})
			continue
		}
		m.Txns = append(m.Txns, jute.SubTxn{Type: op.typ, Txn: rec})
	}
	r.txn = m
}

type multiOp struct {
	typ    int32
	body   []byte
	create *jute.CreateRequest // decoded create ops, their type fixed by the mode
	poison bool                // fails the whole multi if prepared (Java's ClassCastException)
}

// decodeMulti splits a MultiRequest into its ops. Reads and writes cannot mix; an op of the
// wrong kind or an unknown type is a marshalling error, as MultiOperationRecord rejects it.
func decodeMulti(b []byte, read bool) ([]multiOp, jute.Code) {
	d := jute.NewDecoder(b)
	var ops []multiOp
	for {
		var h jute.MultiHeader
		h.Decode(d)
		if d.Err() != nil {
			return nil, jute.MarshallingError
		}
		if h.Done {
			return ops, jute.OK
		}
		start := d.Off
		var create *jute.CreateRequest
		poison := false
		switch h.Type {
		case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
			if read {
				return nil, jute.MarshallingError
			}
			// Apache ZooKeeper rebuilds each create through Op.create(flags[, ttl]): the mode
			// picks create/createContainer/createTTL, create2 answers like create, a TTL mode
			// without a ttl field fails the whole multi, and a ttl without a TTL mode is dropped.
			create = &jute.CreateRequest{HasTTL: h.Type == jute.OpCreateTTL}
			create.Decode(d)
			if d.Err() != nil {
				return nil, jute.MarshallingError
			}
			ttlMode := create.Flags == jute.ModePersistentWithTTL || create.Flags == jute.ModePersistentSequentialWithTTL
			switch {
			case ttlMode && !create.HasTTL:
				poison = true
			case ttlMode:
				h.Type = jute.OpCreateTTL
			case create.Flags == jute.ModeContainer:
				h.Type = jute.OpCreateContainer
				create.HasTTL, create.TTL = false, -1
			default:
				h.Type = jute.OpCreate
				create.HasTTL, create.TTL = false, -1
			}
		case jute.OpDelete, jute.OpCheck:
			if read {
				return nil, jute.MarshallingError
			}
			var req jute.PathVersionRequest
			req.Decode(d)
		case jute.OpSetData:
			if read {
				return nil, jute.MarshallingError
			}
			var req jute.SetDataRequest
			req.Decode(d)
		case jute.OpGetChildren, jute.OpGetData:
			if !read {
				return nil, jute.MarshallingError
			}
			var req jute.PathWatchRequest
			req.Decode(d)
		default:
			return nil, jute.MarshallingError
		}
		if d.Err() != nil {
			return nil, jute.MarshallingError
		}
		ops = append(ops, multiOp{typ: h.Type, body: d.B[start:d.Off], create: create, poison: poison})
	}
}

// prepCloseSession lists the session's ephemerals, pending creates included, so that
// applying the txn deletes exactly those (CloseSessionTxn.paths2Delete, 3.6+).
func (s *Server) prepCloseSession(r *request) jute.Record {
	s.dt().RLock()
	set := s.dt().EphemeralsJava(r.session)
	s.dt().RUnlock()
	s.pendingEphemerals(r.session, set)
	// Java HashSet order, not sorted: the txn's list order is the order the nodes are
	// deleted and their watches fire in.
	paths := set.Order()
	zxid := r.hdr.Zxid
	for _, p := range paths {
		parentPath, _ := datatree.Split(p)
		if parent := s.record(parentPath); parent != nil {
			parent.zxid = zxid
			parent.childCount--
			parent.stat.Pzxid = zxid
			s.addChange(parent)
		}
		s.addChange(&changeRecord{zxid: zxid, path: p})
	}
	s.sessions.setClosing(r.session)
	if !s.closeSessionTxn {
		// Each member deletes the session's ephemerals it has when it applies the txn.
		return &jute.CloseSessionTxn{NoBody: true}
	}
	return &jute.CloseSessionTxn{Paths2Delete: paths}
}

// abandoner is a sink that can undo a failed batch on disk.
type abandoner interface{ Abandon() error }

// persistFailed handles a batch the sink could not make durable (disk full, I/O error), on
// the sync stage: the log is cut back to its last committed record, and the batch and every
// request prepared after it (all still in open: nothing later was taken) are failed: their
// prepared changes and zxids are rolled back, so the next request is prepared afresh from
// the first failed zxid, against the state of the last durable txn. Nothing of them was
// applied or acknowledged. It returns the requests to answer in order (SYSTEMERROR for each
// write), or false when the log's state on disk is unknown, in which case the server stops
// rather than risk a divergence.
func (s *Server) persistFailed(p *pipe, batch []*request, txns []*Txn, err error) ([]*request, bool) {
	p.mu.Lock() // the prep stage is between two requests
	defer p.mu.Unlock()
	later := p.open
	s.log.Error().Err(err).Int("txns", len(txns)).Int("later", len(later)).Msg("cannot write the transaction log; failing this batch")
	if a, ok := s.sink.(abandoner); ok {
		if aerr := a.Abandon(); aerr != nil {
			s.log.Error().Err(aerr).Msg("cannot restore the transaction log after a failed write; stopping")
			go s.Close()
			return nil, false
		}
	}
	p.open = make([]*request, 0, p.max)
	p.flush = false
	p.space.Broadcast()
	first := txns[0].Hdr.Zxid
	s.rollbackFrom(first)
	s.nextZxid = first
	failed := append(batch, later...)
	for _, r := range failed {
		if r.txn != nil {
			s.prepDigest = r.prevDigest
			break
		}
	}
	for _, r := range failed {
		if r.txn != nil && r.op == jute.OpCloseSession {
			// The session stays open; expiry will try again.
			s.sessions.reopen(r.session, time.Now().UnixMilli())
		}
	}
	return failed, true
}

// answerFailed answers the requests of a failed batch in order (apply stage).
func (s *Server) answerFailed(batch []*request) {
	for _, r := range batch {
		if r.txn == nil {
			s.applyAndReply(r)
			continue
		}
		s.stats.outstanding.Add(-1)
		r.txn = nil
		r.errCode = jute.SystemError
		switch {
		case r.op == jute.OpCloseSession && r.conn == nil:
			continue
		case r.op == jute.OpDeleteContainer:
			continue
		}
		s.reply(r)
	}
}
