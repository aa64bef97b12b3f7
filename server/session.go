package server

import (
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
)

// session is a client session as the session tracker knows it.
type session struct {
	id       int64
	timeout  int32 // negotiated, ms
	expireAt int64 // ms, a multiple of the tick (ExpiryQueue bucket)
	closing  bool
	conn     *conn // connection currently bound to it on this server, if any
	// owner is the ensemble member the session's client is connected to, as the leader
	// knows it (0: not known yet); a write from another member gets SESSIONMOVED.
	owner uint64
	// local: a local session (localSessionsEnabled) of this member, which the rest of the
	// ensemble does not know: no txn made it, this member alone keeps and expires it.
	// upgrading: its createSession went to the leader for its first ephemeral; it counts as
	// local until that commits (and goes with the role if it never does).
	local, upgrading bool
}

// sessionTracker keeps sessions alive and finds expired ones, bucketing expiry times by the
// tick as ExpiryQueue does, so a tick's work is proportional to what expires in it.
type sessionTracker struct {
	mu       sync.Mutex
	tick     int64
	sessions map[int64]*session
	buckets  map[int64]map[int64]*session
	nextID   int64
}

func newSessionTracker(tickMs int, serverID int64, now time.Time) *sessionTracker {
	return &sessionTracker{
		tick:     int64(tickMs),
		sessions: make(map[int64]*session),
		buckets:  make(map[int64]map[int64]*session),
		nextID:   initialSessionID(serverID, now.UnixMilli()),
	}
}

// initialSessionID is SessionTrackerImpl.initializeNextSessionId: the server id in the top
// byte, the low 40 bits of the start time in milliseconds below it, a 16-bit counter.
func initialSessionID(serverID, nowMs int64) int64 {
	next := int64(uint64(nowMs<<24) >> 8)
	return next | serverID<<56
}

func (st *sessionTracker) roundUp(t int64) int64 { return (t/st.tick + 1) * st.tick }

// newID allocates a session id; the session exists once its createSession txn is applied.
func (st *sessionTracker) newID() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	id := st.nextID
	st.nextID++
	return id
}

// add registers a session (createSession applied, or a restored session); a local session
// of the same id becomes global (its upgrade committed).
func (st *sessionTracker) add(id int64, timeout int32, nowMs int64) {
	st.addKind(id, timeout, nowMs, false)
}

// addLocal registers a local session of this member (LocalSessionTracker).
func (st *sessionTracker) addLocal(id int64, timeout int32, nowMs int64) {
	st.addKind(id, timeout, nowMs, true)
}

func (st *sessionTracker) addKind(id int64, timeout int32, nowMs int64, local bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil {
		s = &session{id: id, timeout: timeout}
		st.sessions[id] = s
	}
	s.timeout, s.local, s.upgrading = timeout, local, false
	st.touchLocked(s, timeout, nowMs)
}

// isLocal reports whether id is a local session of this member (not one being upgraded,
// whose requests, its close included, go to the leader behind its createSession).
func (st *sessionTracker) isLocal(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	return s != nil && s.local && !s.upgrading
}

// dropLocal forgets every local session (a role ends: ZooKeeper's next one has a new tracker).
func (st *sessionTracker) dropLocal() {
	st.mu.Lock()
	var ids []int64
	for id, s := range st.sessions {
		if s.local {
			ids = append(ids, id)
		}
	}
	st.mu.Unlock()
	for _, id := range ids {
		st.remove(id)
	}
}

// known reports whether this member tracks the session at all.
func (st *sessionTracker) known(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sessions[id] != nil
}

// upgrade turns a local session into a global one about to be created through the leader
// (UpgradeableSessionTracker.upgradeSession) and returns its timeout; false if it is not
// local (any more).
func (st *sessionTracker) upgrade(id int64) (int32, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || !s.local || s.upgrading || s.closing {
		return 0, false
	}
	s.upgrading = true
	return s.timeout, true
}

func (st *sessionTracker) touchLocked(s *session, timeout int32, nowMs int64) {
	at := st.roundUp(nowMs + int64(timeout))
	if at == s.expireAt {
		return
	}
	if b := st.buckets[s.expireAt]; b != nil {
		delete(b, s.id)
		if len(b) == 0 {
			delete(st.buckets, s.expireAt)
		}
	}
	s.expireAt = at
	b := st.buckets[at]
	if b == nil {
		b = make(map[int64]*session)
		st.buckets[at] = b
	}
	b[s.id] = s
}

// touch keeps a session alive; false if it is unknown or closing.
func (st *sessionTracker) touch(id int64, timeout int32, nowMs int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || s.closing {
		return false
	}
	if timeout <= 0 {
		timeout = s.timeout
	}
	st.touchLocked(s, timeout, nowMs)
	return true
}

// check is checkSession: the session must exist and not be closing.
func (st *sessionTracker) check(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	return s != nil && !s.closing
}

// setClosing marks a session as closing; later requests of it get SESSIONEXPIRED.
func (st *sessionTracker) setClosing(id int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil {
		s.closing = true
	}
}

// reopen undoes setClosing after a close that could not be made durable.
func (st *sessionTracker) reopen(id int64, nowMs int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil {
		s.closing = false
		st.touchLocked(s, s.timeout, nowMs)
	}
}

func (st *sessionTracker) remove(id int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil {
		return
	}
	if b := st.buckets[s.expireAt]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(st.buckets, s.expireAt)
		}
	}
	delete(st.sessions, id)
}

// expiry is an expired session as the expirer needs it (a copy, read under the lock).
type expiry struct {
	id      int64
	timeout int32
	local   bool
}

// expired marks and returns the sessions whose expiry time has passed; local ones are
// removed at once (no txn closes them). With localOnly (a learner, which expires only its
// local sessions) the global ones are left alone, out of the buckets until touched again.
func (st *sessionTracker) expired(nowMs int64, localOnly bool) []expiry {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []expiry
	for at, b := range st.buckets {
		if at > nowMs {
			continue
		}
		for id, s := range b {
			delete(b, id)
			if localOnly && !s.local {
				s.expireAt = 0 // bucketed again by its next touch
				continue
			}
			s.closing = true
			out = append(out, expiry{id: id, timeout: s.timeout, local: s.local})
			if s.local {
				delete(st.sessions, id)
			}
		}
		delete(st.buckets, at)
	}
	return out
}

// bind records the connection serving a session and returns the one it replaces.
func (st *sessionTracker) bind(id int64, c *conn) *conn {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil {
		return nil
	}
	old := s.conn
	s.conn = c
	return old
}

// unbind forgets c as the connection of session id, if it still is.
func (st *sessionTracker) unbind(id int64, c *conn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil && s.conn == c {
		s.conn = nil
	}
}

// connOf returns the connection bound to a session.
func (st *sessionTracker) connOf(id int64) *conn {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil {
		return s.conn
	}
	return nil
}

// count is the number of global sessions, and countLocal of local ones.
func (st *sessionTracker) count() int { g, _ := st.counts(); return g }

func (st *sessionTracker) countLocal() int { _, l := st.counts(); return l }

func (st *sessionTracker) counts() (global, local int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.sessions {
		if s.local {
			local++
		}
	}
	return len(st.sessions) - local, local
}

// snapshot returns id -> timeout of every global session (for dump and snapshots: local
// sessions are this member's alone and are not written).
func (st *sessionTracker) snapshot() map[int64]int32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[int64]int32, len(st.sessions))
	for id, s := range st.sessions {
		if !s.local {
			out[id] = s.timeout
		}
	}
	return out
}

// byExpiry returns expiry time -> global session ids (dump).
func (st *sessionTracker) byExpiry() map[int64][]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[int64][]int64, len(st.buckets))
	for at, b := range st.buckets {
		for id, s := range b {
			if !s.local {
				out[at] = append(out[at], id)
			}
		}
	}
	return out
}

// sessionPassword is the 16-byte password of a session: java.util.Random seeded with
// sessionId ^ superSecret, nextBytes(16). Every server must compute the same bytes.
func sessionPassword(id int64) []byte {
	const superSecret = 0xB3415C00
	const mult = 0x5DEECE66D
	const mask = (1 << 48) - 1
	seed := (id ^ superSecret ^ mult) & mask
	out := make([]byte, 16)
	for i := 0; i < 16; {
		seed = (seed*mult + 0xB) & mask
		r := int32(seed >> 16)
		for n := 0; n < 4 && i < 16; n++ {
			out[i] = byte(r)
			r >>= 8
			i++
		}
	}
	return out
}

// touchAll restarts every session's timeout (a new leader gives each session a full timeout).
func (st *sessionTracker) touchAll(nowMs int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.sessions {
		st.touchLocked(s, s.timeout, nowMs)
	}
}

// reset replaces the session table (data reloaded or received from the leader); sessions
// bound to connections lose them (those connections are closed by then).
func (st *sessionTracker) reset(sessions map[int64]int32, nowMs int64) {
	st.mu.Lock()
	st.sessions = make(map[int64]*session, len(sessions))
	st.buckets = make(map[int64]map[int64]*session)
	st.mu.Unlock()
	for id, to := range sessions {
		st.add(id, to, nowMs)
	}
}

// checkOwner is the leader's SessionTracker.checkSession(id, owner): the session must be
// live, and owned by the member the request came through (an unowned session is adopted).
func (st *sessionTracker) checkOwner(id int64, owner uint64) jute.Code {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sessions[id]
	if s == nil || s.closing {
		return jute.SessionExpired
	}
	if s.owner == 0 {
		s.owner = owner
	}
	if s.owner != owner {
		return jute.SessionMoved
	}
	return jute.OK
}

// setOwner records which member a session's client is connected to.
func (st *sessionTracker) setOwner(id int64, owner uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.sessions[id]; s != nil {
		s.owner = owner
	}
}
