package server

import (
	"time"

	"github.com/zkgo/zkgo/jute"
)

// Local sessions (localSessionsEnabled=true on an ensemble member): a session a client opens
// is local to the member it connects to, created and closed there without a txn and kept
// alive and expired there alone, so that connecting costs the ensemble nothing. Such a
// session's writes still go through the leader, which takes them from a session it does not
// know when its id is another member's (checkSession). Its first ephemeral create makes it
// global first, through a createSession of the same id ahead of the create
// (localSessionsUpgradingEnabled; off by default, as in ZooKeeper 3.8), or fails with EPHEMERALONLOCALSESSION.
// A client that moves to another member with a local session finds it expired there, as
// ZooKeeper's does. Standalone servers have no local sessions.

// localSession handles r when it concerns a local session and reports whether it did:
// creating one, closing or expiring one, or a local session's ephemeral create (upgraded, or
// marked to be refused). Anything else goes on as usual.
func (s *Server) localSession(rr *roleRun, r *request) bool {
	if r.remote {
		return false // a learner's request: its sessions are not this member's local ones
	}
	switch r.op {
	case jute.OpCreateSession:
		if r.conn == nil || r.upgrade {
			return false
		}
		s.sessions.addLocal(r.session, r.timeout, time.Now().UnixMilli())
		s.reply(r)
		return true
	case jute.OpCloseSession:
		if !s.sessions.isLocal(r.session) {
			return false
		}
		s.sessions.remove(r.session)
		s.reply(r) // the client's close is answered; an expiry closes the connection
		return true
	case jute.OpCreate, jute.OpCreate2, jute.OpMulti:
		if r.conn == nil || !createsEphemeral(r) {
			return false
		}
		if !s.sessions.check(r.session) {
			// Expired or closed meanwhile: its ephemeral must not reach the leader under a
			// session no one tracks (LearnerSessionTracker.checkSession).
			r.errCode = jute.SessionExpired
			s.reply(r)
			return true
		}
		if !s.sessions.isLocal(r.session) {
			return false
		}
		if !s.upgradeLocal {
			// Refused, but as a txn like any failed write (so it uses a zxid), as
			// ZooKeeper's request processors carry the EphemeralOnLocalSessionException:
			// a leader fails the ephemeral op with it (prepCreate); a follower's request
			// reaches the leader from a session the leader does not know, which fails the
			// op with SESSIONEXPIRED, and the follower answers a single create with
			// EPHEMERALONLOCALSESSION and a multi with the leader's per-op results.
			r.ephemeralLocal = true
			return false
		}
		if timeout, ok := s.sessions.upgrade(r.session); ok {
			s.submit(&request{session: r.session, op: jute.OpCreateSession, pipeline: true, upgrade: true,
				timeout: timeout, start: time.Now()})
		}
	}
	return false
}

// createsEphemeral reports whether a create or multi request creates an ephemeral node
// (ZooKeeperServer.checkUpgradeSession).
func createsEphemeral(r *request) bool {
	ephemeral := func(flags int32) bool {
		return flags == jute.ModeEphemeral || flags == jute.ModeEphemeralSequential
	}
	if r.op != jute.OpMulti {
		var req jute.CreateRequest
		return jute.Unmarshal(r.body, &req) == nil && ephemeral(req.Flags)
	}
	ops, code := decodeMulti(r.body, false)
	if code != jute.OK {
		return false
	}
	for _, op := range ops {
		if op.create != nil && ephemeral(op.create.Flags) {
			return true
		}
	}
	return false
}
