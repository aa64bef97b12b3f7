package server

import (
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// runLocal answers a request that needs no transaction: reads, watch management, ping,
// whoAmI and SASL. It runs with the tree read-locked, and queues its reply before unlocking,
// so the reply is ordered with the watch events of every transaction (FinalRequestProcessor).
//
// direct is set on the connection's reader goroutine: the reply may then be reserved for
// that goroutine to write itself, and is returned for it to write once it holds no lock
// (a client that does not read must never stall the server); otherwise it returns nil.
func (s *Server) runLocal(r *request, direct bool) []byte {
	c := r.conn
	if r.op == jute.OpSasl {
		s.handleSASL(r)
		return nil
	}
	t := s.dt()
	t.RLock()
	zxid := t.LastProcessedZxid()
	h := jute.ReplyHeader{Xid: r.xid, Zxid: zxid}
	var body jute.Record
	code := jute.ThrottledOp
	if !r.throttled {
		body, code = s.read(r, t)
	}
	if s.reqThrottle.stale(c, r) {
		s.Count(StaleReplies, 1)
	}
	h.Err = int32(code)
	if code != jute.OK {
		body = nil
	}
	var b []byte
	if r.op == jute.OpPing {
		b = frame(h, body) // FinalRequestProcessor returns before counting a ping's reply
	} else {
		b = s.replyFrame(h, body)
	}
	var out []byte
	if direct && c.reserveDirect(b) {
		out = b
	} else if !direct {
		c.send(b)
	}
	t.RUnlock()
	if r.op != jute.OpPing {
		c.recordLatency(r.op, r.xid, zxid, r.start)
	} else {
		c.recordLatency(r.op, -1, zxid, r.start)
	}
	return out
}

// read executes one local op against the (read-locked) tree.
func (s *Server) read(r *request, t *datatree.Tree) (jute.Record, jute.Code) {
	c := r.conn
	switch r.op {
	case jute.OpPing:
		return nil, jute.OK
	case jute.OpExists:
		var req jute.PathWatchRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		if containsNUL(req.Path) {
			return nil, jute.BadArguments
		}
		// No ACL check: Apache ZooKeeper 3.8 answers exists for anyone.
		n := t.Get(req.Path)
		// The watch is set even when the node is missing: it fires on creation.
		if req.Watch {
			t.AddDataWatch(req.Path, c)
		}
		if n == nil {
			return nil, jute.NoNode
		}
		var st jute.Stat
		t.Stat(n, &st)
		return &st, jute.OK
	case jute.OpGetData:
		var req jute.PathWatchRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		data, st, code := s.getData(r, t, req.Path, req.Watch)
		if code != jute.OK {
			return nil, code
		}
		return &getDataResponse{data: data, stat: st}, jute.OK
	case jute.OpGetChildren, jute.OpGetChildren2:
		var req jute.PathWatchRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		children, st, code := s.getChildren(r, t, req.Path, req.Watch)
		if code != jute.OK {
			return nil, code
		}
		return &childrenResponse{children: children, stat: st, withStat: r.op == jute.OpGetChildren2}, jute.OK
	case jute.OpGetACL:
		var req jute.PathRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		n := t.Get(req.Path)
		if n == nil {
			return nil, jute.NoNode
		}
		acl := t.ACL(n)
		if code := s.checkACL(acl, jute.PermRead|jute.PermAdmin, r.auth); code != jute.OK {
			return nil, code
		}
		if s.checkACL(acl, jute.PermAdmin, r.auth) != jute.OK {
			acl = maskDigests(acl)
		}
		resp := &aclResponse{acl: acl}
		t.Stat(n, &resp.stat)
		return resp, jute.OK
	case jute.OpGetAllChildrenNumber:
		var req jute.PathRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		n := t.Get(req.Path)
		if n == nil {
			return nil, jute.NoNode
		}
		if code := s.checkACL(t.ACL(n), jute.PermRead, r.auth); code != jute.OK {
			return nil, code
		}
		count := t.CountDescendants(n, req.Path)
		if req.Path == "" {
			// DataTree.getAllChildrenNumber counts the map keys under path+"/"; for "" that
			// is every key but "" itself, so "/" counts too: one more than for "/".
			count++
		}
		return &intResponse{v: int32(count)}, jute.OK
	case jute.OpGetEphemerals:
		var req jute.PathRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		all := t.Ephemerals(r.session)
		prefix := req.Path
		if prefix == "" || strings.TrimSpace(prefix) == "/" {
			return &stringsResponse{v: all}, jute.OK
		}
		out := make([]string, 0, len(all))
		for _, p := range all {
			if strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		return &stringsResponse{v: out}, jute.OK
	case jute.OpWhoAmI:
		return &whoAmIResponse{ids: c.authIDs(), auth: s.auth}, jute.OK
	case jute.OpAddWatch:
		var req jute.PathTypeRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		switch req.Type {
		case jute.AddWatchPersistent:
			t.AddPersistentWatch(req.Path, c, false)
		case jute.AddWatchPersistentRecursive:
			t.AddPersistentWatch(req.Path, c, true)
		default:
			return nil, jute.MarshallingError
		}
		return &intResponse{v: 0}, jute.OK
	case jute.OpCheckWatches, jute.OpRemoveWatches:
		var req jute.PathTypeRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		if req.Type < jute.WatcherChildren || req.Type > jute.WatcherPersistentRecursive {
			return nil, jute.MarshallingError
		}
		var found bool
		switch {
		case r.op == jute.OpCheckWatches && req.Type == jute.WatcherData:
			found = t.AnyWatcherOn(req.Path, true)
		case r.op == jute.OpCheckWatches && req.Type == jute.WatcherChildren:
			found = t.AnyWatcherOn(req.Path, false)
		case r.op == jute.OpCheckWatches && req.Type == jute.WatcherAny:
			found = t.AnyWatcherOn(req.Path, true) || t.AnyWatcherOn(req.Path, false)
		default:
			found = t.WatchQuery(req.Path, c, req.Type, r.op == jute.OpRemoveWatches)
		}
		if !found {
			return nil, jute.NoWatcher
		}
		return nil, jute.OK
	case jute.OpSetWatches, jute.OpSetWatches2:
		req := jute.SetWatches{V2: r.op == jute.OpSetWatches2}
		if jute.Unmarshal(r.body, &req) != nil {
			return nil, jute.MarshallingError
		}
		s.setWatches(t, c, &req)
		return nil, jute.OK
	case jute.OpMultiRead:
		ops, code := decodeMulti(r.body, true)
		if code != jute.OK {
			return nil, code
		}
		resp := &multiResponse{}
		for _, op := range ops {
			var req jute.PathWatchRequest
			jute.Unmarshal(op.body, &req)
			rr := readResult{op: op.typ}
			if op.typ == jute.OpGetData {
				rr.data, rr.stat, rr.err = s.getData(r, t, req.Path, false)
			} else {
				rr.children, _, rr.err = s.getChildren(r, t, req.Path, false)
			}
			resp.reads = append(resp.reads, rr)
		}
		return resp, jute.OK
	}
	return nil, jute.Unimplemented
}

func (s *Server) getData(r *request, t *datatree.Tree, path string, watch bool) ([]byte, jute.Stat, jute.Code) {
	var st jute.Stat
	n := t.Get(path)
	if n == nil {
		return nil, st, jute.NoNode
	}
	if code := s.checkACL(t.ACL(n), jute.PermRead, r.auth); code != jute.OK {
		return nil, st, code
	}
	t.Stat(n, &st)
	if watch {
		t.AddDataWatch(path, r.conn)
	}
	return n.Data, st, jute.OK
}

func (s *Server) getChildren(r *request, t *datatree.Tree, path string, watch bool) ([]string, jute.Stat, jute.Code) {
	var st jute.Stat
	n := t.Get(path)
	if n == nil {
		return nil, st, jute.NoNode
	}
	if code := s.checkACL(t.ACL(n), jute.PermRead, r.auth); code != jute.OK {
		return nil, st, code
	}
	t.Stat(n, &st)
	if watch {
		t.AddChildWatch(path, r.conn)
	}
	return t.Children(n), st, jute.OK
}

// setWatches re-arms a reconnecting client's watches, firing at once those whose event
// happened after relativeZxid, the last zxid the client saw (DataTree.setWatches).
func (s *Server) setWatches(t *datatree.Tree, c *conn, req *jute.SetWatches) {
	rz := req.RelativeZxid
	for _, p := range req.DataWatches {
		n := t.Get(p)
		switch {
		case n == nil:
			c.Process(jute.WatcherEvent{Type: jute.EventNodeDeleted, State: jute.StateSyncConnected, Path: p}, nil)
		case n.Stat.Mzxid > rz:
			c.Process(jute.WatcherEvent{Type: jute.EventNodeDataChanged, State: jute.StateSyncConnected, Path: p}, nil)
		default:
			t.AddDataWatch(p, c)
		}
	}
	for _, p := range req.ExistWatches {
		if t.Get(p) != nil {
			c.Process(jute.WatcherEvent{Type: jute.EventNodeCreated, State: jute.StateSyncConnected, Path: p}, nil)
		} else {
			t.AddDataWatch(p, c)
		}
	}
	for _, p := range req.ChildWatches {
		n := t.Get(p)
		switch {
		case n == nil:
			c.Process(jute.WatcherEvent{Type: jute.EventNodeDeleted, State: jute.StateSyncConnected, Path: p}, nil)
		case n.Stat.Pzxid > rz:
			c.Process(jute.WatcherEvent{Type: jute.EventNodeChildrenChanged, State: jute.StateSyncConnected, Path: p}, nil)
		default:
			t.AddChildWatch(p, c)
		}
	}
	for _, p := range req.PersistentWatches {
		t.AddPersistentWatch(p, c, false)
	}
	for _, p := range req.PersistentRecursive {
		t.AddPersistentWatch(p, c, true)
	}
}

type getDataResponse struct {
	data []byte
	stat jute.Stat
}

func (g *getDataResponse) Encode(e *jute.Encoder) { e.Buffer(g.data); g.stat.Encode(e) }
func (g *getDataResponse) Decode(d *jute.Decoder) { g.data = d.Buffer(); g.stat.Decode(d) }

type childrenResponse struct {
	children []string
	stat     jute.Stat
	withStat bool
}

func (g *childrenResponse) Encode(e *jute.Encoder) {
	e.Strings(g.children)
	if g.withStat {
		g.stat.Encode(e)
	}
}
func (g *childrenResponse) Decode(d *jute.Decoder) {}

type aclResponse struct {
	acl  []jute.ACL
	stat jute.Stat
}

func (a *aclResponse) Encode(e *jute.Encoder) { jute.EncodeACLs(e, a.acl); a.stat.Encode(e) }
func (a *aclResponse) Decode(d *jute.Decoder) {}

type intResponse struct{ v int32 }

func (i *intResponse) Encode(e *jute.Encoder) { e.Int(i.v) }
func (i *intResponse) Decode(d *jute.Decoder) { i.v = d.Int() }

type stringsResponse struct{ v []string }

func (s *stringsResponse) Encode(e *jute.Encoder) { e.Strings(s.v) }
func (s *stringsResponse) Decode(d *jute.Decoder) { s.v = d.Strings() }

// whoAmIResponse lists the connection's identities; the user of a scheme without a provider
// (super, or sasl without SASLAuthenticationProvider) is "", as AuthUtil.getClientInfos
// turns getUser's null into.
type whoAmIResponse struct {
	ids  []jute.Id
	auth *authConfig
}

func (w *whoAmIResponse) Encode(e *jute.Encoder) {
	e.Int(int32(len(w.ids)))
	for _, id := range w.ids {
		e.String(id.Scheme)
		user, _ := w.auth.userName(id)
		e.String(user)
	}
}
func (w *whoAmIResponse) Decode(d *jute.Decoder) {}
