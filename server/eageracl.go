package server

import (
	"github.com/zkgo/zkgo/jute"
)

// eagerACLCheck is zookeeper.enableEagerACLCheck on an ensemble member: a client's create,
// delete, setData or setACL is checked against the ACL this member has before it goes on
// (ZooKeeperServer.authWriteRequest), so that one its client may not make is refused here,
// with no txn and a zxid of 0, instead of becoming an error txn at the leader. A node this
// member does not have, or a path it cannot take apart, is left to the leader, as in Java.
// It reports whether it answered r.
func (s *Server) eagerACLCheck(r *request) bool {
	var (
		path string
		perm int32
		acl  []jute.ACL
	)
	parent := func(p string) (string, bool) {
		i := lastSlash(p)
		if i < 0 || containsNUL(p) || isSpecialPath(p) {
			return "", false
		}
		if i == 0 {
			return "/", true
		}
		return p[:i], true
	}
	ok := true
	switch r.op {
	case jute.OpCreate, jute.OpCreate2:
		var req jute.CreateRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return false
		}
		path, ok = parent(req.Path)
		perm, acl = jute.PermCreate, req.ACL
	case jute.OpDelete:
		var req jute.PathVersionRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return false
		}
		path, ok = parent(req.Path)
		perm = jute.PermDelete
	case jute.OpSetData:
		var req jute.SetDataRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return false
		}
		path, perm = req.Path, jute.PermWrite
	case jute.OpSetACL:
		var req jute.SetACLRequest
		if jute.Unmarshal(r.body, &req) != nil {
			return false
		}
		path, perm, acl = req.Path, jute.PermAdmin, req.ACL
	default:
		return false
	}
	if !ok {
		return false
	}
	ids := r.conn.authIDs()
	code := jute.OK
	if r.op != jute.OpDelete && r.op != jute.OpSetData {
		_, code = s.fixupACL(acl, ids) // only whether it is well formed
	}
	if code == jute.OK {
		t := s.dt()
		t.RLock()
		if n := t.Get(path); n != nil {
			code = s.checkACL(t.ACL(n), perm, ids)
		}
		t.RUnlock()
	}
	if code == jute.OK {
		return false
	}
	r.errCode, r.zeroZxid = code, true
	s.reply(r)
	return true
}
