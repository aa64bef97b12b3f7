package datatree

import (
	"strings"

	"github.com/zkgo/zkgo/jute"
)

// Result is what applying one transaction produced (ProcessTxnResult).
type Result struct {
	Type  int32 // txn type
	Err   jute.Code
	Path  string
	Stat  jute.Stat // the node's Stat after create/setData/setACL
	Multi []Result
}

// ProcessTxn applies a transaction. The caller holds the write lock. Sessions are not the
// tree's business except that closeSession deletes the session's ephemerals.
func (t *Tree) ProcessTxn(hdr *jute.TxnHeader, txn jute.Record) Result {
	res := t.apply(hdr, hdr.Type, txn)
	if hdr.Zxid > t.lastZxid {
		t.lastZxid = hdr.Zxid
	}
	return res
}

func (t *Tree) apply(hdr *jute.TxnHeader, typ int32, txn jute.Record) Result {
	res := Result{Type: typ}
	switch r := txn.(type) {
	case *jute.CreateTxn:
		owner := int64(0)
		if r.Ephemeral {
			owner = hdr.ClientID
		}
		res.Path = r.Path
		res.Err = t.createNode(r.Path, r.Data, r.ACL, owner, r.ParentCVersion, hdr.Zxid, hdr.Time, &res.Stat)
	case *jute.CreateContainerTxn:
		res.Path = r.Path
		res.Err = t.createNode(r.Path, r.Data, r.ACL, jute.ContainerEphemeralOwner, r.ParentCVersion, hdr.Zxid, hdr.Time, &res.Stat)
	case *jute.CreateTTLTxn:
		res.Path = r.Path
		res.Err = t.createNode(r.Path, r.Data, r.ACL, jute.TTLMask|(r.TTL&jute.MaxTTL), r.ParentCVersion, hdr.Zxid, hdr.Time, &res.Stat)
	case *jute.DeleteTxn:
		res.Path = r.Path
		res.Err = t.deleteNode(r.Path, hdr.Zxid)
	case *jute.SetDataTxn:
		res.Path = r.Path
		res.Err = t.setData(r.Path, r.Data, r.Version, hdr.Zxid, hdr.Time, &res.Stat)
	case *jute.SetACLTxn:
		res.Path = r.Path
		res.Err = t.setACL(r.Path, r.ACL, r.Version, &res.Stat)
	case *jute.CheckVersionTxn:
		res.Path = r.Path
	case *jute.ErrorTxn:
		res.Err = jute.Code(r.Err)
	case *jute.CreateSessionTxn:
	case *jute.CloseSessionTxn:
		t.killSession(hdr.ClientID, r.Paths2Delete, hdr.Zxid)
	case *jute.MultiTxn:
		res.Multi = t.applyMulti(hdr, r)
	}
	return res
}

// applyMulti applies all sub-txns or none: a logged multi that failed holds an error sub-txn,
// and then every result is an error (the ones before it 0, the failing one its code, the
// rest RUNTIMEINCONSISTENCY), as the client expects.
func (t *Tree) applyMulti(hdr *jute.TxnHeader, m *jute.MultiTxn) []Result {
	failed := -1
	for i, st := range m.Txns {
		if e, ok := st.Txn.(*jute.ErrorTxn); ok && e.Err != 0 && failed < 0 {
			failed = i
		}
	}
	out := make([]Result, len(m.Txns))
	if failed >= 0 {
		for i, st := range m.Txns {
			code := jute.Code(0)
			if e, ok := st.Txn.(*jute.ErrorTxn); ok {
				code = jute.Code(e.Err)
			}
			out[i] = Result{Type: jute.OpError, Err: code}
		}
		return out
	}
	for i, st := range m.Txns {
		out[i] = t.apply(hdr, st.Type, st.Txn)
	}
	return out
}

func (t *Tree) createNode(path string, data []byte, acl []jute.ACL, owner int64, parentCVersion int32, zxid, time int64, stat *jute.Stat) jute.Code {
	parentPath, name := Split(path)
	parent := t.Get(parentPath)
	if parent == nil {
		return jute.NoNode
	}
	if parent.child(name) != nil {
		return jute.NodeExists
	}
	t.subDigest(parentPath, parent)
	if parentCVersion == -1 {
		parentCVersion = parent.Stat.Cversion + 1
	}
	// Replaying a txn over a fuzzy snapshot must not move cversion/pzxid backwards
	// (ZOOKEEPER-1046, ZOOKEEPER-3145).
	if parentCVersion > parent.Stat.Cversion {
		parent.Stat.Cversion = parentCVersion
		parent.Stat.Pzxid = zxid
	}
	n := newNode(name, data, t.acls.ref(acl))
	n.Stat = jute.StatPersisted{Czxid: zxid, Mzxid: zxid, Pzxid: zxid, Ctime: time, Mtime: time, EphemeralOwner: owner}
	t.addNode(parent, path, n)
	t.addDigest(parentPath, parent)
	t.addDigest(path, n)
	switch t.OwnerType(owner) {
	case OwnerSession:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
		if t.ephOrder == nil {
			t.ephOrder = make(map[int64]*JavaStringSet)
		}
		js := t.ephOrder[owner]
		if js == nil {
			js = NewJavaStringSet()
			t.ephOrder[owner] = js
		}
		js.Add(path)
	case OwnerContainer:
		t.containers[path] = struct{}{}
	case OwnerTTL:
		t.ttls[path] = struct{}{}
	}
	if strings.HasPrefix(parentPath, QuotaPath) {
		switch name {
		case LimitNode:
			t.quotas[trimQuotaPath(parentPath)] = struct{}{}
		case StatNode:
			t.refreshQuotaStats(trimQuotaPath(parentPath))
		}
	}
	if q := t.quotaPrefix(path); q != "" {
		t.updateQuotaStat(q, int64(len(data)), 1)
	}
	if stat != nil {
		t.Stat(n, stat)
	}
	t.trigger(t.dataWatches, path, jute.EventNodeCreated, acl, nil)
	t.trigger(t.childWatches, parentPath, jute.EventNodeChildrenChanged, t.acls.get(parent.acl), nil)
	return jute.OK
}

func (t *Tree) deleteNode(path string, zxid int64) jute.Code {
	parentPath, name := Split(path)
	parent := t.Get(parentPath)
	if parent == nil || path == "/" || path == "" {
		return jute.NoNode
	}
	n := parent.child(name)
	if n == nil {
		// As Apache ZooKeeper's deleteNode: the parent's pzxid moves on even when the child is
		// gone, which it can be when the delete is replayed over a fuzzy snapshot that was
		// taken while it ran (the parent written before, the child after the delete).
		if zxid > parent.Stat.Pzxid {
			t.subDigest(parentPath, parent)
			parent.Stat.Pzxid = zxid
			t.addDigest(parentPath, parent)
		}
		return jute.NoNode
	}
	// Taken before the reference is released: the delete events are filtered by it.
	acl := t.acls.get(n.acl)
	parent.removeChild(name)
	t.count--
	t.dataSize -= int64(len(path) + len(n.Data))
	t.subDigest(path, n)
	t.subDigest(parentPath, parent)
	// Only move pzxid forward: a replayed create may already have set a later one.
	if zxid > parent.Stat.Pzxid {
		parent.Stat.Pzxid = zxid
	}
	t.addDigest(parentPath, parent)
	t.acls.release(n.acl)
	switch owner := n.Stat.EphemeralOwner; t.OwnerType(owner) {
	case OwnerSession:
		if set := t.ephemerals[owner]; set != nil {
			delete(set, path)
			if len(set) == 0 {
				delete(t.ephemerals, owner)
			}
		}
		if js := t.ephOrder[owner]; js != nil {
			js.Remove(path)
		}
	case OwnerContainer:
		delete(t.containers, path)
	case OwnerTTL:
		delete(t.ttls, path)
	}
	if strings.HasPrefix(parentPath, QuotaPath) && name == LimitNode {
		delete(t.quotas, trimQuotaPath(parentPath))
	}
	if q := t.quotaPrefix(path); q != "" {
		t.updateQuotaStat(q, -int64(len(n.Data)), -1)
	}
	fired := t.trigger(t.dataWatches, path, jute.EventNodeDeleted, acl, nil)
	t.trigger(t.childWatches, path, jute.EventNodeDeleted, acl, fired)
	t.trigger(t.childWatches, parentPath, jute.EventNodeChildrenChanged, t.acls.get(parent.acl), nil)
	return jute.OK
}

func (t *Tree) setData(path string, data []byte, version int32, zxid, time int64, stat *jute.Stat) jute.Code {
	n := t.Get(path)
	if n == nil {
		return jute.NoNode
	}
	old := len(n.Data)
	t.subDigest(path, n)
	n.setData(data)
	n.Stat.Mtime = time
	n.Stat.Mzxid = zxid
	n.Stat.Version = version
	t.addDigest(path, n)
	t.dataSize += int64(len(data) - old)
	if q := t.quotaPrefix(path); q != "" {
		t.updateQuotaStat(q, int64(len(data)-old), 0)
	}
	if stat != nil {
		t.Stat(n, stat)
	}
	t.trigger(t.dataWatches, path, jute.EventNodeDataChanged, t.acls.get(n.acl), nil)
	return jute.OK
}

func (t *Tree) setACL(path string, acl []jute.ACL, version int32, stat *jute.Stat) jute.Code {
	n := t.Get(path)
	if n == nil {
		return jute.NoNode
	}
	t.acls.release(n.acl)
	n.acl = t.acls.ref(acl)
	t.subDigest(path, n)
	n.Stat.Aversion = version
	t.addDigest(path, n)
	if stat != nil {
		t.Stat(n, stat)
	}
	return jute.OK
}

// killSession deletes a closing session's ephemerals: those its txn lists (3.6+, unless
// zookeeper.closeSessionTxn.enabled=false), then the others the tree knows of.
func (t *Tree) killSession(session int64, paths []string, zxid int64) {
	for _, p := range paths {
		t.deleteEphemeral(session, p, zxid)
	}
	if len(t.ephemerals[session]) == 0 {
		delete(t.ephemerals, session)
		delete(t.ephOrder, session)
		return
	}
	// Then the session's ephemerals the txn did not name (all of them when it names none), in
	// the order of the set DataTree.killSession takes them from: an ephemeral never outlives
	// its session here, whatever the leader listed.
	for _, p := range t.ephemeralsJava(session, false).Order() {
		t.deleteEphemeral(session, p, zxid)
	}
	delete(t.ephemerals, session)
	delete(t.ephOrder, session)
}

func (t *Tree) deleteEphemeral(session int64, path string, zxid int64) {
	code := t.deleteNode(path, zxid)
	if t.EphemeralDeleted != nil {
		t.EphemeralDeleted(session, path, code == jute.OK)
	}
}
