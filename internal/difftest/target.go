package difftest

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

const (
	nSlots       = 3
	replyTimeout = 5 * time.Second
	closeTimeout = 3 * time.Second
	sessionMs    = 30000
)

// slot is one client session of a target: its current connection and what has been read
// from it so far.
type slot struct {
	conn      *rawzk.Conn
	from      int               // first packet not yet put in a transcript
	ops       map[int32][]int32 // xid -> ops sent with it, oldest first (special xids repeat)
	sessionID int64
	passwd    []byte
	gen       int
	lastZxid  int64 // highest reply zxid seen by this session over all its connections
	up        bool  // a connection is open from our side
}

// target is one server under test with the sessions of the current seed.
type target struct {
	name  string
	addr  string
	slots [nSlots]*slot
	norm  *normalizer
	lines []string // transcript of the current step
}

func newTarget(name, addr string) *target {
	t := &target{name: name, addr: addr, norm: newNormalizer()}
	for i := range t.slots {
		t.slots[i] = &slot{ops: map[int32][]int32{}}
	}
	return t
}

// normalizer maps server-specific values to stable names: zxids to ordinals in order of
// appearance, session ids to slot.generation.
type normalizer struct {
	zx    map[int64]int
	sess  map[int64]string
	nextZ int
}

func newNormalizer() *normalizer {
	return &normalizer{zx: map[int64]int{}, sess: map[int64]string{}}
}

func (n *normalizer) zxid(z int64) string {
	if z == 0 || z == -1 {
		return fmt.Sprint(z)
	}
	o, ok := n.zx[z]
	if !ok {
		n.nextZ++
		o = n.nextZ
		n.zx[z] = o
	}
	return fmt.Sprintf("Z%d", o)
}

func (n *normalizer) owner(id int64) string {
	if id == 0 {
		return "0"
	}
	if s, ok := n.sess[id]; ok {
		return s
	}
	return fmt.Sprintf("foreign(%#x)", uint64(id))
}

func (n *normalizer) stat(s *jute.Stat) string {
	times := "t:ok"
	switch {
	case s.Ctime == 0 && s.Mtime == 0:
		times = "t:0"
	case s.Ctime == 0 && s.Mtime > 0:
		// The root (ctime 0 in both servers) after a setData "/": only "set" compares.
		times = "t:0,set"
	case s.Ctime == 0 || s.Mtime < s.Ctime:
		times = fmt.Sprintf("t:bad(%d,%d)", s.Ctime, s.Mtime)
	}
	return fmt.Sprintf("{cz=%s mz=%s pz=%s v=%d cv=%d av=%d eo=%s dl=%d nc=%d %s}",
		n.zxid(s.Czxid), n.zxid(s.Mzxid), n.zxid(s.Pzxid), s.Version, s.Cversion, s.Aversion,
		n.owner(s.EphemeralOwner), s.DataLength, s.NumChildren, times)
}

func fmtData(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

func fmtACL(acl []jute.ACL) string {
	if acl == nil {
		return "null"
	}
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%d:%s:%s", a.Perms, a.Id.Scheme, a.Id.ID)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func sortedList(v []string) string {
	if v == nil {
		return "null"
	}
	s := append([]string(nil), v...)
	sort.Strings(s)
	return "[" + strings.Join(s, ",") + "]"
}

func (n *normalizer) body(v any) string {
	switch r := v.(type) {
	case rawzk.CreateResp:
		if r.Stat == nil {
			return "path=" + r.Path
		}
		return "path=" + r.Path + " stat=" + n.stat(r.Stat)
	case rawzk.StatResp:
		return "stat=" + n.stat(&r.Stat)
	case rawzk.DataResp:
		return "data=" + fmtData(r.Data) + " stat=" + n.stat(&r.Stat)
	case rawzk.ACLResp:
		return "acl=" + fmtACL(r.ACL) + " stat=" + n.stat(&r.Stat)
	case rawzk.ChildrenResp:
		s := "children=" + sortedList(r.Children)
		if r.Stat != nil {
			s += " stat=" + n.stat(r.Stat)
		}
		return s
	case rawzk.PathResp:
		return "path=" + r.Path
	case rawzk.StringsResp:
		return "list=" + sortedList(r.Strings)
	case rawzk.IntResp:
		return fmt.Sprintf("int=%d", r.N)
	case rawzk.WhoAmIResp:
		parts := make([]string, len(r.Infos))
		for i, c := range r.Infos {
			parts[i] = c.AuthScheme + ":" + c.User
		}
		return "whoami=" + sortedList(parts)
	case rawzk.MultiResp:
		parts := make([]string, len(r.Results))
		for i, m := range r.Results {
			parts[i] = fmt.Sprintf("(%s err=%d %s)", opName(m.Type), m.Err, n.body(m.Body))
		}
		return "results=[" + strings.Join(parts, " ") + "]"
	case rawzk.EmptyResp:
		return "-"
	case nil:
		return "-"
	}
	return fmt.Sprintf("%#v", v)
}

func opName(op int32) string {
	if op == -1 {
		return "error"
	}
	return jute.OpName(op)
}

// send sends op on slot i, remembering the op for decoding the reply; it returns the xid.
func (t *target) send(i int, op int32, body []byte) (int32, error) {
	s := t.slots[i]
	xid := s.conn.XidFor(op)
	s.ops[xid] = append(s.ops[xid], op)
	return xid, s.conn.Send(xid, op, body)
}

// call sends op and waits for its reply (or the connection closing).
func (t *target) call(i int, op int32, body []byte) error {
	xid, err := t.send(i, op, body)
	if err != nil {
		return nil // the write failing means the server closed the socket; the transcript shows it
	}
	return t.wait(i, xid)
}

func (t *target) wait(i int, xid int32) error {
	_, err := t.slots[i].conn.WaitReply(xid, replyTimeout)
	if err == rawzk.ErrClosed {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: slot %d xid %d: %w", t.name, i, xid, err)
	}
	return nil
}

// collect appends to the step transcript everything slot i received since the last collect.
func (t *target) collect(i int) {
	s := t.slots[i]
	if s.conn == nil {
		return
	}
	for _, p := range s.conn.PacketsSince(s.from) {
		s.from = p.Seq + 1
		t.lines = append(t.lines, fmt.Sprintf("s%d %s", i, t.packetLine(s, p)))
	}
	if z := s.conn.LastZxid(); z > s.lastZxid {
		s.lastZxid = z
	}
}

func (t *target) packetLine(s *slot, p rawzk.Packet) string {
	n := t.norm
	if p.Closed {
		return "closed"
	}
	if p.IsNotification() {
		if p.Event == nil {
			return "notification(undecodable " + hex.EncodeToString(p.Body) + ")"
		}
		return fmt.Sprintf("event type=%d state=%d path=%s", p.Event.Type, p.Event.State, p.Event.Path)
	}
	op := int32(-999)
	if q := s.ops[p.Hdr.Xid]; len(q) > 0 {
		op = q[0]
		s.ops[p.Hdr.Xid] = q[1:]
	}
	head := fmt.Sprintf("reply xid=%d %s zxid=%s err=%d", p.Hdr.Xid, opName(op), n.zxid(p.Hdr.Zxid), p.Hdr.Err)
	if p.Hdr.Err != 0 {
		return head // clients never read the body of an error reply
	}
	v, err := rawzk.DecodeBody(op, p.Body)
	if err != nil {
		return head + " body-error=" + err.Error() + " raw=" + hex.EncodeToString(p.Body)
	}
	return head + " " + n.body(v)
}

// connect opens a connection for slot i: a new session (resume false) or a resume of the
// slot's session.
func (t *target) connect(i int, resume, noReadOnly bool) error {
	s := t.slots[i]
	o := rawzk.ConnectOptions{TimeoutMs: sessionMs, NoReadOnly: noReadOnly}
	if resume {
		o.SessionID, o.Passwd, o.LastZxid = s.sessionID, s.passwd, s.lastZxid
	}
	if s.conn != nil {
		t.collect(i)
		_ = s.conn.Close()
		t.collect(i)
	}
	c, err := rawzk.Dial(t.addr, o)
	if err != nil {
		return fmt.Errorf("%s: connect slot %d: %w", t.name, i, err)
	}
	s.conn, s.from, s.ops, s.up = c, 0, map[int32][]int32{}, true
	r := c.Resp
	line := fmt.Sprintf("s%d connected timeout=%d readOnlyByte=%v pwlen=%d", i, r.TimeOut, r.HasReadOnly, len(r.Passwd))
	if !resume {
		s.gen++
		s.sessionID, s.passwd = r.SessionID, r.Passwd
		t.norm.sess[r.SessionID] = fmt.Sprintf("S%d.%d", i, s.gen)
	} else {
		line += fmt.Sprintf(" sameSession=%v", r.SessionID == s.sessionID)
	}
	t.lines = append(t.lines, line)
	return nil
}

// disconnect closes slot i's socket from the client side (no closeSession).
func (t *target) disconnect(i int) {
	s := t.slots[i]
	if s.conn == nil {
		return
	}
	t.collect(i)
	_ = s.conn.Close()
	t.collect(i)
	s.up = false
}

// barrier pings every open connection except skip so that the notifications caused by the
// step have arrived everywhere, then collects all transcripts.
func (t *target) barrier(skip int) error {
	for i, s := range t.slots {
		if i == skip || s.conn == nil || !s.up || s.conn.IsClosed() {
			continue
		}
		if err := t.call(i, jute.OpPing, nil); err != nil {
			return err
		}
	}
	for i := range t.slots {
		t.collect(i)
	}
	return nil
}

func (t *target) closeAll() {
	for _, s := range t.slots {
		// A seed that diverged skipped its teardown: end its sessions now, or they expire
		// sessionMs later, in the middle of a later seed, and shift that seed's zxids.
		if s.sessionID != 0 {
			c := s.conn
			if c == nil || !s.up || c.IsClosed() {
				c, _ = rawzk.Dial(t.addr, rawzk.ConnectOptions{TimeoutMs: sessionMs, SessionID: s.sessionID, Passwd: s.passwd})
			}
			if c != nil {
				_, _ = c.Call(jute.OpCloseSession, nil)
				_ = c.Close()
			}
			s.sessionID = 0
		}
		if s.conn != nil {
			_ = s.conn.Close()
			s.conn = nil
		}
		s.up = false
	}
}
