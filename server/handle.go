package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// connect handles the ConnectRequest that opens every client connection. It returns false
// when the connection must close.
func (s *Server) connect(c *conn, b []byte) bool {
	var req jute.ConnectRequest
	if err := jute.Unmarshal(b, &req); err != nil {
		s.log.Warn().Str("client", c.remote).Err(err).Msg("bad connect request; closing")
		return false
	}
	if !s.clientServing() || !s.admitConnect(c, req.SessionID) {
		return false
	}
	s.dt().RLock()
	last := s.dt().LastProcessedZxid()
	s.dt().RUnlock()
	if req.LastZxidSeen > last {
		// The client has seen a newer state than ours: it must try another server.
		s.log.Info().Str("client", c.remote).Str("clientZxid", fmt.Sprintf("0x%x", req.LastZxidSeen)).
			Str("ourZxid", fmt.Sprintf("0x%x", last)).Msg("refusing session: client must try another server")
		return false
	}
	timeout := req.TimeOut
	if timeout < s.minTimeout {
		timeout = s.minTimeout
	}
	if timeout > s.maxTimeout {
		timeout = s.maxTimeout
	}
	c.readOnly = req.HasReadOnly && req.ReadOnly
	ro := s.role() == roleReadOnly
	if ro && !c.readOnly {
		s.log.Info().Str("client", c.remote).Msg("refusing session request for a client that is not read-only")
		return false
	}
	if req.SessionID == 0 {
		id := s.sessions.newID()
		r := &request{conn: c, session: id, op: jute.OpCreateSession, pipeline: true, timeout: timeout,
			hasRO: req.HasReadOnly, done: make(chan struct{}), start: time.Now()}
		// The connection has its session's timeout before the session is made (the request
		// throttler's latency check reads it), as processConnectRequest sets it first.
		c.timeout = timeout
		if s.reqThrottle.on && !s.admit(c, r) {
			return false
		}
		c.enqueueWrite(r)
		s.submit(r)
		select {
		case <-r.done:
		case <-c.done:
			return false
		case <-s.stopCh:
			return false
		}
		return true
	}
	// Resuming: drop any other connection of this session first, then check the password
	// (Apache ZooKeeper closes the old connection even when the password is wrong).
	if old := s.sessions.connOf(req.SessionID); old != nil && old != c {
		old.close()
	}
	valid := bytes.Equal(req.Passwd, sessionPassword(req.SessionID))
	switch {
	case !valid:
	case ro, s.localSessions && s.sessions.isLocal(req.SessionID):
		// A read-only server's or a local session is this member's alone to check
		// (LearnerZooKeeperServer.revalidateSession).
		valid = s.sessions.touch(req.SessionID, timeout, time.Now().UnixMilli())
	case s.isLearner():
		// The leader knows which sessions live; it also records this member as the
		// session's owner, so writes still in flight through the old one fail.
		var err error
		valid, err = s.ens.Revalidate(req.SessionID, timeout)
		if err != nil {
			// Unknown is not expired: telling the client so would end a live session
			// (its ephemerals, locks, leadership). As an Apache learner that cannot ask
			// its leader, answer nothing; the client tries again, here or elsewhere.
			s.log.Info().Err(err).Str("session", fmt.Sprintf("0x%x", req.SessionID)).Str("client", c.remote).
				Msg("cannot revalidate a resumed session with the leader; closing the connection")
			return false
		}
		if valid {
			s.sessions.touch(req.SessionID, timeout, time.Now().UnixMilli())
		}
	default:
		valid = s.sessions.touch(req.SessionID, timeout, time.Now().UnixMilli())
		if valid && s.ens != nil {
			s.sessions.setOwner(req.SessionID, uint64(s.serverID))
		}
	}
	resp := jute.ConnectResponse{HasReadOnly: req.HasReadOnly, ReadOnly: ro}
	if valid {
		resp.TimeOut = timeout
		resp.SessionID = req.SessionID
		resp.Passwd = sessionPassword(req.SessionID)
		c.timeout = timeout
		c.sessionID.Store(req.SessionID)
		s.sessions.bind(req.SessionID, c)
		c.send(connectFrame(&resp))
		s.log.Debug().Str("session", fmt.Sprintf("0x%x", req.SessionID)).Str("client", c.remote).Msg("session resumed")
		return true
	}
	resp.Passwd = make([]byte, 16)
	s.log.Info().Str("session", fmt.Sprintf("0x%x", req.SessionID)).Str("client", c.remote).Msg("invalid session or password; telling client it expired")
	c.lastWords(connectFrame(&resp))
	return false
}

func connectFrame(resp *jute.ConnectResponse) []byte {
	e := jute.NewEncoder(48)
	e.Int(0)
	resp.Encode(e)
	binary.BigEndian.PutUint32(e.B, uint32(len(e.B)-4))
	return e.B
}

// isPipelineOp reports whether an op changes state (or must be ordered with changes) and so
// goes through the commit path.
func isPipelineOp(op int32) bool {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL, jute.OpDelete,
		jute.OpSetData, jute.OpSetACL, jute.OpMulti, jute.OpSync, jute.OpCloseSession, jute.OpReconfig:
		return true
	}
	return false
}

func isLocalOp(op int32) bool {
	switch op {
	case jute.OpExists, jute.OpGetData, jute.OpGetACL, jute.OpGetChildren, jute.OpGetChildren2,
		jute.OpPing, jute.OpSetWatches, jute.OpSetWatches2, jute.OpAddWatch, jute.OpCheckWatches,
		jute.OpRemoveWatches, jute.OpGetEphemerals, jute.OpGetAllChildrenNumber, jute.OpWhoAmI,
		jute.OpMultiRead, jute.OpSasl:
		return true
	}
	return false
}

// handle dispatches one request frame; false closes the connection.
func (s *Server) handle(c *conn, b []byte) bool {
	d := jute.NewDecoder(b)
	var h jute.RequestHeader
	h.Decode(d)
	if d.Err() != nil {
		return false
	}
	body := b[d.Off:]
	if h.Type == jute.OpAuth {
		return s.handleAuth(c, h.Xid, body)
	}
	if s.auth.enforce && h.Type != jute.OpSasl && !s.auth.allows(c.authIDs()) {
		// zookeeper.enforce.auth.enabled: nothing but authentication before it succeeded
		// (AuthenticationHelper.enforceAuthentication); the session is left to expire.
		s.log.Error().Str("client", c.remote).Strs("schemes", s.auth.enforceSchemes).Msg("client has not authenticated with a required scheme; closing")
		c.lastWords(frame(jute.ReplyHeader{Xid: h.Xid, Err: int32(jute.SessionClosedRequireSASLAuth)}, nil))
		return false
	}
	if !isPipelineOp(h.Type) && !isLocalOp(h.Type) {
		// Unknown ops, notification (0) and a top-level check (13) are refused and the
		// connection closed (UnimplementedRequestProcessor; 3.9 semantics for check).
		s.log.Warn().Str("client", c.remote).Int32("type", h.Type).Msg("unknown request type; closing connection")
		c.lastWords(frame(jute.ReplyHeader{Xid: h.Xid, Zxid: -1, Err: int32(jute.Unimplemented)}, nil))
		return false
	}
	// Every packet but SASL's keeps the session alive (processSasl submits nothing, so an
	// unauthenticated client cannot keep an enforced session by SASL tokens alone); a session
	// that is gone or closing gets its requests dropped, as Apache ZooKeeper does
	// (MissingSessionException).
	if h.Type != jute.OpSasl && !s.sessions.touch(c.sid(), c.timeout, time.Now().UnixMilli()) {
		s.log.Debug().Str("session", fmt.Sprintf("0x%x", c.sid())).Int32("type", h.Type).Msg("dropping request of a closed session")
		return true
	}
	r := &request{conn: c, session: c.sid(), xid: h.Xid, op: h.Type, body: body, auth: c.authIDs(), start: time.Now()}
	if h.Type != jute.OpSasl && s.large.isLarge(len(body)) {
		// Counted until answered (processPacket: sasl and auth packets are not).
		if !s.large.take(len(body)) {
			s.Count(LargeRequestsRejected, 1)
			s.logFrameError(c, errLargeRequest)
			return false
		}
		r.large = int32(len(body))
	}
	if s.reqThrottle.on && h.Type != jute.OpSasl && !s.admit(c, r) {
		c.mu.Lock()
		c.requestFinished(r)
		c.mu.Unlock()
		return false
	}
	if r.throttled {
		// THROTTLEDOP, in this connection's order, without running it.
		c.enqueueOrRun(r)
		return true
	}
	if isPipelineOp(h.Type) {
		r.pipeline = true
		c.enqueueWrite(r)
		s.submit(r)
		return true
	}
	c.enqueueOrRun(r)
	return true
}

// handleAuth processes addauth at once (not queued), as processPacket does. The reply
// echoes the request's xid: -4 from Java clients, a normal xid from go-zookeeper.
func (s *Server) handleAuth(c *conn, xid int32, body []byte) bool {
	var ap jute.AuthPacket
	if jute.Unmarshal(body, &ap) != nil {
		c.lastWords(frame(jute.ReplyHeader{Xid: xid, Err: int32(jute.AuthFailed)}, nil))
		return false
	}
	ok := s.auth.providers[ap.Scheme]
	switch {
	case !ok:
	case ap.Scheme == schemeDigest:
		id := s.digestIDOf(string(ap.Auth))
		if s.superDigest != "" && id == s.superDigest {
			c.addAuth(jute.Id{Scheme: schemeSuper, ID: ""})
		}
		c.addAuth(jute.Id{Scheme: schemeDigest, ID: id})
	case ap.Scheme == schemeIP:
		c.addAuth(jute.Id{Scheme: schemeIP, ID: c.ip})
	case ap.Scheme == schemeX509:
		// X509AuthenticationProvider authenticates the connection's certificate again: only a
		// TLS client whose certificate its handshake accepted has one (and its ids already).
		ok = c.tlsc != nil && len(c.tlsc.ConnectionState().PeerCertificates) > 0
	case ap.Scheme == schemeEnsemble:
		if len(ap.Auth) == 0 || s.auth.ensembleNames == nil {
			s.Count(EnsembleAuthSkip, 1)
			break
		}
		if !s.auth.ensembleNames[string(ap.Auth)] {
			// Closed unanswered, so that the client tries another server rather than
			// failing for good (EnsembleAuthenticationProvider).
			s.Count(EnsembleAuthFail, 1)
			s.log.Warn().Str("client", c.remote).Str("ensemble", string(ap.Auth)).Msg("unexpected ensemble name; closing")
			return false
		}
		s.Count(EnsembleAuthSuccess, 1)
	default: // sasl: negotiated with sasl packets, never by addauth
		ok = false
	}
	if !ok {
		s.log.Warn().Str("client", c.remote).Str("scheme", ap.Scheme).Msg("authentication failed; closing")
		c.lastWords(frame(jute.ReplyHeader{Xid: xid, Err: int32(jute.AuthFailed)}, nil))
		return false
	}
	c.send(frame(jute.ReplyHeader{Xid: xid}, nil))
	return true
}

// reply answers a request that went through the commit path, then lets the connection run
// what was queued behind it.
func (s *Server) reply(r *request) {
	c := r.conn
	if r.op == jute.OpCloseSession && c == nil {
		// Expired: close the connection still bound to the session, without a reply.
		if bound := s.sessions.connOf(r.session); bound != nil {
			bound.close()
		}
		s.closeConnsOfSession(r.session)
		return
	}
	if c == nil {
		return
	}
	if s.audit != nil {
		s.auditRequest(r)
	}
	c.writeDone(r)
	if r.done != nil {
		close(r.done)
	}
}

func (s *Server) closeConnsOfSession(id int64) {
	for _, c := range s.connList() {
		if c.sid() == id {
			c.close()
		}
	}
}

// writeReply builds and queues the reply of a committed request.
func (s *Server) writeReply(r *request) {
	c := r.conn
	zxid := r.hdr.Zxid
	if r.txn == nil && !r.zeroZxid {
		s.dt().RLock()
		zxid = s.dt().LastProcessedZxid()
		s.dt().RUnlock()
	}
	defer c.recordLatency(r.op, r.xid, zxid, r.start)
	if s.reqThrottle.stale(c, r) {
		s.Count(StaleReplies, 1)
	}
	h := jute.ReplyHeader{Xid: r.xid, Zxid: zxid}
	if r.errCode != jute.OK && r.op == jute.OpCreateSession {
		// The session could not be logged: no session, the client tries again.
		go c.close()
		return
	}
	switch r.op {
	case jute.OpCreateSession:
		c.timeout = r.timeout
		c.sessionID.Store(r.session)
		s.sessions.bind(r.session, c)
		resp := jute.ConnectResponse{TimeOut: r.timeout, SessionID: r.session, Passwd: sessionPassword(r.session), HasReadOnly: r.hasRO,
			ReadOnly: s.role() == roleReadOnly}
		c.send(connectFrame(&resp))
		s.log.Debug().Str("session", fmt.Sprintf("0x%x", r.session)).Int32("timeout", r.timeout).Str("client", c.remote).Msg("session established")
		return
	case jute.OpCloseSession:
		if r.errCode != jute.OK {
			h.Err = int32(r.errCode)
			c.send(s.replyFrame(h, nil))
			return
		}
		c.sendAndClose(s.replyFrame(h, nil))
		return
	case jute.OpSync:
		if r.errCode != jute.OK {
			h.Err = int32(r.errCode)
			c.sendNow(s.replyFrame(h, nil))
			return
		}
		c.sendNow(s.replyFrame(h, &jute.PathRequest{Path: r.path}))
		return
	}
	if r.errCode != jute.OK {
		h.Err = int32(r.errCode)
		c.sendNow(s.replyFrame(h, nil))
		return
	}
	res := &r.result
	if r.op == jute.OpMulti {
		if res.Err != jute.OK { // the whole multi was refused (e.g. marshalling)
			h.Err = int32(res.Err)
			c.sendNow(s.replyFrame(h, nil))
			return
		}
		c.sendNow(s.replyFrame(h, &multiResponse{results: res.Multi}))
		return
	}
	if res.Err != jute.OK {
		h.Err = int32(res.Err)
		if r.ephemeralLocal {
			// The leader did not know this member's local session (SESSIONEXPIRED): the
			// client is told why (FinalRequestProcessor throws the request's own exception).
			h.Err = int32(jute.EphemeralOnLocalSession)
		}
		c.sendNow(s.replyFrame(h, nil))
		return
	}
	switch r.op {
	case jute.OpCreate:
		c.sendNow(s.replyFrame(h, &jute.PathRequest{Path: res.Path}))
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		c.sendNow(s.replyFrame(h, &pathStat{path: res.Path, stat: res.Stat}))
	case jute.OpSetData, jute.OpSetACL:
		c.sendNow(s.replyFrame(h, &res.Stat))
	case jute.OpReconfig:
		// GetDataResponse: the new configuration and the config node's Stat.
		var data []byte
		if sd, ok := r.txn.(*jute.SetDataTxn); ok {
			data = sd.Data
		}
		c.sendNow(s.replyFrame(h, &getDataResponse{data: data, stat: res.Stat}))
	default:
		c.sendNow(s.replyFrame(h, nil))
	}
}

// replyFrame is frame for a reply that FinalRequestProcessor sends with sendResponse: its
// size without the length prefix, that method's return value, adds to response_bytes.
func (s *Server) replyFrame(h jute.ReplyHeader, body jute.Record) []byte {
	b := frame(h, body)
	s.Count(ResponseBytes, int64(len(b)-4))
	return b
}

// pathStat is Create2Response.
type pathStat struct {
	path string
	stat jute.Stat
}

func (p *pathStat) Encode(e *jute.Encoder) { e.String(p.path); p.stat.Encode(e) }
func (p *pathStat) Decode(d *jute.Decoder) { p.path = d.String(); p.stat.Decode(d) }

// multiResponse encodes the results of a multi: one MultiHeader and body per op, then the
// done marker.
type multiResponse struct {
	results []datatree.Result
	reads   []readResult
}

type readResult struct {
	op       int32
	err      jute.Code
	data     []byte
	stat     jute.Stat
	children []string
}

func (m *multiResponse) Encode(e *jute.Encoder) {
	for _, res := range m.results {
		if res.Err != jute.OK || res.Type == jute.OpError {
			(&jute.MultiHeader{Type: jute.OpError, Err: int32(res.Err)}).Encode(e)
			e.Int(int32(res.Err))
			continue
		}
		op := res.Type
		switch op {
		case jute.OpCreate:
			(&jute.MultiHeader{Type: jute.OpCreate}).Encode(e)
			e.String(res.Path)
		case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
			(&jute.MultiHeader{Type: jute.OpCreate2}).Encode(e)
			e.String(res.Path)
			res.Stat.Encode(e)
		case jute.OpSetData:
			(&jute.MultiHeader{Type: jute.OpSetData}).Encode(e)
			res.Stat.Encode(e)
		default: // delete, check
			(&jute.MultiHeader{Type: op}).Encode(e)
		}
	}
	for _, rr := range m.reads {
		if rr.err != jute.OK {
			(&jute.MultiHeader{Type: jute.OpError, Err: int32(rr.err)}).Encode(e)
			e.Int(int32(rr.err))
			continue
		}
		(&jute.MultiHeader{Type: rr.op}).Encode(e)
		if rr.op == jute.OpGetData {
			e.Buffer(rr.data)
			rr.stat.Encode(e)
		} else {
			e.Strings(rr.children)
		}
	}
	(&jute.MultiHeader{Type: -1, Done: true, Err: -1}).Encode(e)
}

func (m *multiResponse) Decode(*jute.Decoder) {}

// trimPrefixPath reports whether p is within prefix for getEphemerals.
func hasPathPrefix(p, prefix string) bool { return strings.HasPrefix(p, prefix) }
