package difftest

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

type stepKind int

const (
	kReq stepKind = iota
	kDisconnect
	kReconnect
	kCloseSession
)

// request is one request of a step; body is computed per target because a few bodies
// (setWatches' relativeZxid) depend on what that server has said before.
type request struct {
	op   int32
	body func(t *target, slot int) []byte
	desc string
	// mayClose: the server may legitimately close the connection after replying (auth,
	// malformed or unknown requests); the step waits briefly so that a close is recorded
	// deterministically. mustClose: closeSession.
	mayClose, mustClose bool
}

type step struct {
	kind       stepKind
	slot       int
	reqs       []request // more than one: pipelined (all sent before any reply is read)
	noReadOnly bool      // reconnect without the readOnly byte
	desc       string
}

func (s step) String() string {
	switch s.kind {
	case kDisconnect:
		return fmt.Sprintf("s%d disconnect (socket close, no closeSession)", s.slot)
	case kReconnect:
		d := fmt.Sprintf("s%d reconnect (resume session, readOnlyByte=%v)", s.slot, !s.noReadOnly)
		for _, r := range s.reqs {
			d += "; " + r.desc
		}
		return d
	case kCloseSession:
		return fmt.Sprintf("s%d closeSession, then new session", s.slot)
	}
	if len(s.reqs) == 1 {
		return fmt.Sprintf("s%d %s", s.slot, s.reqs[0].desc)
	}
	parts := make([]string, len(s.reqs))
	for i, r := range s.reqs {
		parts[i] = r.desc
	}
	return fmt.Sprintf("s%d pipelined{ %s }", s.slot, strings.Join(parts, " | "))
}

func fixed(b []byte) func(*target, int) []byte { return func(*target, int) []byte { return b } }

func digestID(user, pw string) string {
	h := sha1.Sum([]byte(user + ":" + pw))
	return user + ":" + base64.StdEncoding.EncodeToString(h[:])
}

type aclChoice struct {
	label string
	acl   []jute.ACL
}

func world(perms int32) jute.ACL {
	return jute.ACL{Perms: perms, Id: jute.Id{Scheme: "world", ID: "anyone"}}
}

var aclChoices = []aclChoice{
	{"open", []jute.ACL{world(jute.PermAll)}},
	{"open", []jute.ACL{world(jute.PermAll)}},
	{"open", []jute.ACL{world(jute.PermAll)}},
	{"worldRead", []jute.ACL{world(jute.PermRead)}},
	{"worldNoDelete", []jute.ACL{world(jute.PermAll &^ jute.PermDelete)}},
	{"worldReadCreate", []jute.ACL{world(jute.PermRead | jute.PermCreate)}},
	{"worldNoAdmin", []jute.ACL{world(jute.PermAll &^ jute.PermAdmin)}},
	{"digestAlice", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "digest", ID: digestID("alice", "secret")}}}},
	{"digestAlice+worldRead", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "digest", ID: digestID("alice", "secret")}}, world(jute.PermRead)}},
	{"digestBobWrite+worldRead", []jute.ACL{{Perms: jute.PermWrite | jute.PermAdmin, Id: jute.Id{Scheme: "digest", ID: digestID("bob", "pw")}}, world(jute.PermRead)}},
	{"ipLocal", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "ip", ID: "127.0.0.1"}}}},
	{"ipLocalNet/8:RW", []jute.ACL{{Perms: jute.PermRead | jute.PermWrite, Id: jute.Id{Scheme: "ip", ID: "127.0.0.0/8"}}}},
	{"ipOther", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "ip", ID: "10.0.0.0/8"}}}},
	{"auth", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "auth", ID: ""}}}},
	{"authAdmin+worldRead", []jute.ACL{{Perms: jute.PermAdmin, Id: jute.Id{Scheme: "auth", ID: ""}}, world(jute.PermRead)}},
	{"dupOpen", []jute.ACL{world(jute.PermAll), world(jute.PermAll)}},
	{"bad:unknownScheme", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "foo", ID: "bar"}}}},
	{"bad:worldSomeone", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "someone"}}}},
	{"bad:digestNoColon", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "digest", ID: "alice"}}}},
	{"bad:ip", []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "ip", ID: "999.1.1.1"}}}},
	{"bad:empty", []jute.ACL{}},
	{"bad:null", rawzk.NullACL},
	{"perms63", []jute.ACL{world(63)}},
	{"perms0", []jute.ACL{world(0)}},
}

var relPaths = []string{"", "/a", "/a/b", "/a/b/c", "/c", "/c/d", "/e", "/e/f", "/q", "/t"}

type gen struct {
	r       *rand.Rand
	root    string
	known   []string // sequential names learnt from the reference server
	up      [nSlots]bool
	down    [nSlots]int // steps since the slot went down
	stepNo  int
	skipped map[string]bool
}

func newGen(seed int64, root string) *gen {
	g := &gen{r: rand.New(rand.NewSource(seed)), root: root}
	for i := range g.up {
		g.up[i] = true
	}
	return g
}

func (g *gen) pct(p int) bool { return g.r.Intn(100) < p }

func (g *gen) pick(n int) int { return g.r.Intn(n) }

func (g *gen) path() string {
	switch {
	case g.pct(6):
		return g.invalidPath()
	case g.pct(3):
		return []string{"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"}[g.pick(4)]
	case len(g.known) > 0 && g.pct(20):
		return g.known[g.pick(len(g.known))]
	}
	return g.root + relPaths[g.pick(len(relPaths))]
}

// existingish is a path likely to exist (for setData/delete and friends).
func (g *gen) parentish() string {
	return g.root + relPaths[g.pick(len(relPaths))]
}

func (g *gen) invalidPath() string {
	c := []string{"", "noslash", g.root + "/a/", g.root + "//a", g.root + "/a/./b", g.root + "/..",
		g.root + "/a\x00b", g.root + "/a\x01b", g.root + "/a/\u007f", g.root + "/\ufff5"}
	return c[g.pick(len(c))]
}

func (g *gen) data() []byte {
	switch g.pick(6) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		return []byte("x")
	case 3:
		return []byte("hello")
	case 4:
		return []byte(fmt.Sprintf("v%d", g.pick(1000)))
	}
	b := make([]byte, 1+g.pick(12))
	g.r.Read(b)
	return b
}

func (g *gen) version() int32 {
	if g.pct(65) {
		return -1
	}
	return int32(g.pick(4)) - 0
}

func (g *gen) acl() aclChoice { return aclChoices[g.pick(len(aclChoices))] }

// createOp returns a create of some kind as a multi Op and a description.
func (g *gen) createOp(inMulti bool) (rawzk.Op, string) {
	ops := []int32{jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL}
	op := ops[g.pick(len(ops))]
	if g.pct(40) {
		op = jute.OpCreate2
	}
	var flags int32
	switch op {
	case jute.OpCreate, jute.OpCreate2:
		flags = []int32{0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7}[g.pick(11)]
	case jute.OpCreateContainer:
		flags = []int32{4, 4, 4, 0}[g.pick(4)]
	case jute.OpCreateTTL:
		flags = []int32{5, 5, 6, 0, 1}[g.pick(5)]
	}
	p := g.path()
	if flags == 2 || flags == 3 || flags == 6 {
		if !strings.HasPrefix(p, g.root) {
			// keep sequential nodes out of / and /zookeeper: seeds share the servers
			p = g.parentish() + "/"
		} else if g.pct(50) {
			p = g.parentish() + "/s-"
		} else if g.pct(30) {
			p = g.parentish() + "/"
		}
	}
	ac := g.acl()
	o := rawzk.Op{Type: op, Path: p, Data: g.data(), ACL: ac.acl, Flags: flags, TTL: -1}
	desc := fmt.Sprintf("%s %q data=%s acl=%s flags=%d", jute.OpName(op), p, fmtData(o.Data), ac.label, flags)
	if op == jute.OpCreateTTL {
		o.TTL = []int64{3600000, 3600000, 0, -1, 1 << 41}[g.pick(5)]
		if o.TTL < 0 && flags != 5 && flags != 6 {
			// Intended difference: a non-TTL mode with a negative ttl passes 3.8's
			// validateTTL, and if every later check passes too Apache logs a CreateTTLTxn it
			// cannot apply and its SyncThread exits (the server shuts down); zkgo answers
			// BADARGUMENTS instead (prepCreate). A ttl >= 0 is refused by both.
			o.TTL = 0
		}
		desc += fmt.Sprintf(" ttl=%d", o.TTL)
	}
	_ = inMulti
	return o, desc
}

func (g *gen) single() request {
	w := g.pick(100)
	switch {
	case w < 20:
		o, d := g.createOp(false)
		return request{op: o.Type, body: fixed(o.Body()), desc: d}
	case w < 27:
		p, v := g.path(), g.version()
		return request{op: jute.OpDelete, body: fixed(rawzk.PathVersionBody(p, v)), desc: fmt.Sprintf("delete %q v=%d", p, v)}
	case w < 34:
		p, wt := g.path(), g.pct(60)
		return request{op: jute.OpExists, body: fixed(rawzk.PathWatchBody(p, wt)), desc: fmt.Sprintf("exists %q watch=%v", p, wt)}
	case w < 41:
		p, wt := g.path(), g.pct(60)
		return request{op: jute.OpGetData, body: fixed(rawzk.PathWatchBody(p, wt)), desc: fmt.Sprintf("getData %q watch=%v", p, wt)}
	case w < 49:
		p, d, v := g.path(), g.data(), g.version()
		if g.pct(50) {
			p = g.parentish()
		}
		return request{op: jute.OpSetData, body: fixed(rawzk.SetDataBody(p, d, v)), desc: fmt.Sprintf("setData %q data=%s v=%d", p, fmtData(d), v)}
	case w < 52:
		p := g.path()
		return request{op: jute.OpGetACL, body: fixed(rawzk.PathBody(p)), desc: fmt.Sprintf("getACL %q", p)}
	case w < 56:
		p, a, v := g.path(), g.acl(), g.version()
		return request{op: jute.OpSetACL, body: fixed(rawzk.SetACLBody(p, a.acl, v)), desc: fmt.Sprintf("setACL %q acl=%s v=%d", p, a.label, v)}
	case w < 63:
		op := []int32{jute.OpGetChildren, jute.OpGetChildren2}[g.pick(2)]
		p, wt := g.path(), g.pct(60)
		return request{op: op, body: fixed(rawzk.PathWatchBody(p, wt)), desc: fmt.Sprintf("%s %q watch=%v", jute.OpName(op), p, wt)}
	case w < 65:
		p := g.path()
		return request{op: jute.OpSync, body: fixed(rawzk.PathBody(p)), desc: fmt.Sprintf("sync %q", p)}
	case w < 72:
		return g.multi()
	case w < 75:
		return g.multiRead()
	case w < 77:
		p := []string{"/", "", g.root, g.root + "/e", g.root + "/a/"}[g.pick(5)]
		return request{op: jute.OpGetEphemerals, body: fixed(rawzk.PathBody(p)), desc: fmt.Sprintf("getEphemerals %q", p)}
	case w < 79:
		p := g.path()
		return request{op: jute.OpGetAllChildrenNumber, body: fixed(rawzk.PathBody(p)), desc: fmt.Sprintf("getAllChildrenNumber %q", p)}
	case w < 80:
		return request{op: jute.OpWhoAmI, body: fixed(nil), desc: "whoAmI"}
	case w < 85:
		p := g.path()
		mode := []int32{0, 1, 1, 0, 2}[g.pick(5)]
		return request{op: jute.OpAddWatch, body: fixed(rawzk.PathTypeBody(p, mode)), desc: fmt.Sprintf("addWatch %q mode=%d", p, mode)}
	case w < 90:
		op := []int32{jute.OpRemoveWatches, jute.OpCheckWatches}[g.pick(2)]
		p := g.path()
		// Types 4 and 5 are a known, intended difference (3.9 behaviour); 0 and 6 are invalid.
		typ := []int32{1, 2, 3, 3, 1, 2, 0, 6}[g.pick(8)]
		if op == jute.OpCheckWatches && p != "" && !strings.Contains(p, "/") {
			// Intended difference: 3.8's WatchManager.containsWatcher walks the path with
			// PathParentIterator, whose first next() cuts at lastIndexOf('/') and throws on
			// a path without '/' (recursive watches or not), so Apache answers
			// MARSHALLINGERROR; zkgo answers NOWATCHER. removeWatches does not walk the path
			// and agrees, so only checkWatches gets a rooted path instead.
			p = g.root + "/" + p
		}
		return request{op: op, body: fixed(rawzk.PathTypeBody(p, typ)), desc: fmt.Sprintf("%s %q type=%d", jute.OpName(op), p, typ)}
	case w < 91:
		return request{op: jute.OpPing, body: fixed(nil), desc: "ping"}
	case w < 94:
		return g.auth()
	case w < 95:
		return request{op: jute.OpReconfig, body: fixed(rawzk.ReconfigBody("", "", "", -1)), desc: "reconfig (standalone)"}
	}
	return g.malformed()
}

func (g *gen) auth() request {
	type a struct{ scheme, auth string }
	c := []a{{"digest", "bob:pw"}, {"digest", "alice:secret"}, {"digest", "carol:x"}, {"ip", "127.0.0.1"},
		{"digest", "nocolon"}, {"unknownscheme", "x"}}
	x := c[g.pick(len(c))]
	return request{op: jute.OpAuth, body: fixed(rawzk.AuthBody(x.scheme, []byte(x.auth))),
		desc: fmt.Sprintf("auth %s %q", x.scheme, x.auth), mayClose: true}
}

func (g *gen) malformed() request {
	p := g.parentish()
	switch g.pick(8) {
	case 0:
		return request{op: jute.OpGetData, body: fixed([]byte{0, 0}), desc: "getData with 2-byte body", mayClose: true}
	case 1:
		return request{op: jute.OpExists, body: fixed(nil), desc: "exists with empty body", mayClose: true}
	case 2:
		b := rawzk.CreateBody(p+"/m", []byte("x"), aclChoices[0].acl, 0)
		return request{op: jute.OpCreate, body: fixed(b[:len(b)-2]), desc: fmt.Sprintf("create %q truncated body", p+"/m"), mayClose: true}
	case 3:
		return request{op: 999, body: fixed(nil), desc: "unknown opcode 999", mayClose: true}
	case 4:
		return request{op: jute.OpSetData, body: fixed(append(rawzk.SetDataBody(p, []byte("x"), -1), 1, 2, 3)), desc: fmt.Sprintf("setData %q with 3 trailing bytes", p), mayClose: true}
	case 5:
		return request{op: jute.OpGetChildren, body: fixed(rawzk.PathWatchBody(p, true)[:6]), desc: "getChildren truncated path", mayClose: true}
	case 6:
		return request{op: jute.OpCreateTTL, body: fixed(rawzk.CreateBody(p+"/m", nil, aclChoices[0].acl, 5)), desc: fmt.Sprintf("createTTL %q without ttl field", p+"/m"), mayClose: true}
	}
	return request{op: jute.OpDelete, body: fixed(rawzk.PathBody(p)), desc: fmt.Sprintf("delete %q without version", p), mayClose: true}
}

func (g *gen) multi() request {
	n := 1 + g.pick(4)
	if g.pct(5) {
		n = 0
	}
	var ops []rawzk.Op
	var descs []string
	for i := 0; i < n; i++ {
		switch g.pick(5) {
		case 0, 1:
			o, d := g.createOp(true)
			ops, descs = append(ops, o), append(descs, d)
		case 2:
			p, v := g.parentish(), g.version()
			ops = append(ops, rawzk.Op{Type: jute.OpDelete, Path: p, Version: v})
			descs = append(descs, fmt.Sprintf("delete %q v=%d", p, v))
		case 3:
			p, d, v := g.parentish(), g.data(), g.version()
			ops = append(ops, rawzk.Op{Type: jute.OpSetData, Path: p, Data: d, Version: v})
			descs = append(descs, fmt.Sprintf("setData %q data=%s v=%d", p, fmtData(d), v))
		case 4:
			p, v := g.path(), g.version()
			ops = append(ops, rawzk.Op{Type: jute.OpCheck, Path: p, Version: v})
			descs = append(descs, fmt.Sprintf("check %q v=%d", p, v))
		}
	}
	if g.pct(4) {
		p := g.parentish()
		ops = append(ops, rawzk.Op{Type: jute.OpGetData, Path: p})
		descs = append(descs, fmt.Sprintf("getData %q (read in write multi)", p))
	}
	return request{op: jute.OpMulti, body: fixed(rawzk.MultiBody(ops)), desc: "multi[" + strings.Join(descs, "; ") + "]"}
}

func (g *gen) multiRead() request {
	n := 1 + g.pick(3)
	var ops []rawzk.Op
	var descs []string
	for i := 0; i < n; i++ {
		p := g.path()
		if g.pct(50) {
			ops = append(ops, rawzk.Op{Type: jute.OpGetData, Path: p, Watch: g.pct(30)})
			descs = append(descs, fmt.Sprintf("getData %q", p))
		} else {
			ops = append(ops, rawzk.Op{Type: jute.OpGetChildren, Path: p, Watch: g.pct(30)})
			descs = append(descs, fmt.Sprintf("getChildren %q", p))
		}
	}
	if g.pct(5) {
		p := g.parentish()
		ops = append(ops, rawzk.Op{Type: jute.OpSetData, Path: p, Version: -1})
		descs = append(descs, fmt.Sprintf("setData %q (write in multiRead)", p))
	}
	return request{op: jute.OpMultiRead, body: fixed(rawzk.MultiBody(ops)), desc: "multiRead[" + strings.Join(descs, "; ") + "]"}
}

// setWatches builds a setWatches/setWatches2 request over random paths; relativeZxid is the
// target's own last zxid for the slot (or 0), so it is resolved per server.
func (g *gen) setWatches() request {
	pick := func() []string {
		var v []string
		for _, rp := range relPaths {
			if g.pct(25) {
				v = append(v, g.root+rp)
			}
		}
		return v
	}
	v2 := g.pct(50)
	sw := jute.SetWatches{DataWatches: pick(), ExistWatches: pick(), ChildWatches: pick(), V2: v2}
	if v2 {
		sw.PersistentWatches, sw.PersistentRecursive = pick(), pick()
	}
	zero := g.pct(25)
	op := jute.OpSetWatches
	if v2 {
		op = jute.OpSetWatches2
	}
	desc := fmt.Sprintf("%s rel=%s data=%v exist=%v child=%v", jute.OpName(op), map[bool]string{true: "0", false: "lastZxid"}[zero],
		sw.DataWatches, sw.ExistWatches, sw.ChildWatches)
	if v2 {
		desc += fmt.Sprintf(" persistent=%v recursive=%v", sw.PersistentWatches, sw.PersistentRecursive)
	}
	return request{op: op, desc: desc, body: func(t *target, slot int) []byte {
		s := sw
		if !zero {
			s.RelativeZxid = t.slots[slot].lastZxid
		}
		return rawzk.SetWatchesBody(s)
	}}
}

// next returns the next step.
func (g *gen) next() step {
	g.stepNo++
	for i := range g.up {
		if !g.up[i] {
			g.down[i]++
			if g.down[i] > 4 || g.pct(25) {
				st := step{kind: kReconnect, slot: i, noReadOnly: g.pct(30)}
				if g.pct(85) {
					st.reqs = []request{g.setWatches()}
				}
				return st
			}
		}
	}
	var ups []int
	for i, u := range g.up {
		if u {
			ups = append(ups, i)
		}
	}
	if len(ups) == 0 {
		return step{kind: kReconnect, slot: 0, reqs: []request{g.setWatches()}}
	}
	slot := ups[g.pick(len(ups))]
	switch {
	case g.pct(2):
		return step{kind: kDisconnect, slot: slot}
	case g.pct(1):
		return step{kind: kCloseSession, slot: slot}
	case g.pct(6):
		n := 2 + g.pick(5)
		st := step{kind: kReq, slot: slot}
		for i := 0; i < n; i++ {
			r := g.single()
			if r.mayClose {
				r = request{op: jute.OpGetData, body: fixed(rawzk.PathWatchBody(g.root, true)), desc: fmt.Sprintf("getData %q watch=true", g.root)}
			}
			st.reqs = append(st.reqs, r)
		}
		return st
	}
	return step{kind: kReq, slot: slot, reqs: []request{g.single()}}
}

// observe updates the generator from the reference server's state after a step.
func (g *gen) observe(st step, ref *target) {
	for i, s := range ref.slots {
		up := s.up && s.conn != nil && !s.conn.IsClosed()
		if g.up[i] && !up {
			g.down[i] = 0
		}
		g.up[i] = up
	}
	for _, l := range ref.lines {
		// learn created sequential names
		if i := strings.Index(l, " path="); i >= 0 && strings.Contains(l, "create") {
			p := l[i+6:]
			if j := strings.IndexByte(p, ' '); j >= 0 {
				p = p[:j]
			}
			if strings.HasPrefix(p, g.root) && !contains(g.known, p) && len(g.known) < 30 {
				g.known = append(g.known, p)
			}
		}
	}
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

// run executes st on t and leaves the normalised transcript in t.lines.
func (st step) run(t *target) error {
	t.lines = nil
	i := st.slot
	switch st.kind {
	case kDisconnect:
		t.disconnect(i)
	case kReconnect:
		if err := t.connect(i, true, st.noReadOnly); err != nil {
			return err
		}
		s := t.slots[i]
		if s.conn.Resp.TimeOut > 0 {
			for _, r := range st.reqs {
				if err := t.call(i, r.op, r.body(t, i)); err != nil {
					return err
				}
			}
		} else {
			s.conn.WaitClosed(closeTimeout)
		}
	case kCloseSession:
		if err := t.call(i, jute.OpCloseSession, nil); err != nil {
			return err
		}
		if !t.slots[i].conn.WaitClosed(closeTimeout) {
			t.lines = append(t.lines, fmt.Sprintf("s%d not closed after closeSession", i))
		}
		t.collect(i)
		if err := t.connect(i, false, false); err != nil {
			return err
		}
		if i == 0 {
			if err := t.call(0, jute.OpAuth, rawzk.AuthBody("digest", []byte("alice:secret"))); err != nil {
				return err
			}
		}
	case kReq:
		var xids []int32
		for _, r := range st.reqs {
			xid, err := t.send(i, r.op, r.body(t, i))
			if err != nil {
				break
			}
			xids = append(xids, xid)
		}
		for _, x := range xids {
			if err := t.wait(i, x); err != nil {
				return err
			}
		}
		for _, r := range st.reqs {
			if r.mayClose {
				t.slots[i].conn.WaitClosed(300 * time.Millisecond)
				break
			}
		}
	}
	if err := t.barrier(i); err != nil {
		return err
	}
	for j, s := range t.slots {
		if s.conn != nil && s.conn.IsClosed() && s.up {
			s.up = false
			_ = j
		}
	}
	return nil
}
