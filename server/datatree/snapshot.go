package datatree

import (
	"fmt"
	"sort"

	"github.com/zkgo/zkgo/jute"
)

// SnapNode is one node as a snapshot stores it.
type SnapNode struct {
	Path   string // "" for the root, as Apache ZooKeeper writes it
	Data   []byte
	ACLRef int64
	Stat   jute.StatPersisted
}

// SnapshotView is a fuzzy copy of the tree for a snapshot: node metadata copied under short
// read locks (data slices are shared; they are never modified in place), and every ACL list
// the copied nodes refer to.
type SnapshotView struct {
	Zxid int64 // lastProcessedZxid when the copy started: the snapshot's name
	// DigestZxid and Digest are the tree digest at the end of the copy and the zxid it
	// belongs to: replay reaches exactly that state at DigestZxid (ZxidDigest).
	DigestZxid int64
	Digest     uint64
	Nodes      []SnapNode
	ACLs       map[int64][]jute.ACL
}

// CopyForSnapshot copies the tree without holding the lock for long: writers proceed between
// chunks, so the copy is fuzzy, and replaying the log from Zxid makes it exact (the apply of
// every txn is idempotent over it). Parents precede children; a node whose parent was not
// copied is skipped (it was created after its parent's turn and the log recreates it).
func (t *Tree) CopyForSnapshot() *SnapshotView {
	const chunk = 2048
	t.RLock()
	v := &SnapshotView{Zxid: t.lastZxid, ACLs: make(map[int64][]jute.ACL)}
	paths := make([]string, 0, len(t.nodes))
	for p := range t.nodes {
		paths = append(paths, p)
	}
	t.RUnlock()
	// Sorted paths put every parent before its children: a prefix sorts first.
	sort.Strings(paths)
	v.Nodes = make([]SnapNode, 0, len(paths))
	// Paths missing at their turn (deleted meanwhile); their descendants are skipped too,
	// since a recreated parent would not be in the copy. Rare, so the set stays small.
	skipped := make(map[string]struct{})
	for i := 0; i < len(paths); i += chunk {
		end := min(i+chunk, len(paths))
		t.RLock()
		for _, p := range paths[i:end] {
			n := t.nodes[p]
			if n == nil {
				skipped[p] = struct{}{}
				continue
			}
			if p != "/" && len(skipped) > 0 {
				parent, _ := Split(p)
				if _, ok := skipped[parent]; ok {
					skipped[p] = struct{}{}
					continue
				}
			}
			sp := p
			if p == "/" {
				sp = ""
			}
			v.Nodes = append(v.Nodes, SnapNode{Path: sp, Data: n.Data, ACLRef: n.acl, Stat: n.Stat})
			if n.acl != OpenACLRef {
				if _, ok := v.ACLs[n.acl]; !ok {
					v.ACLs[n.acl] = t.acls.get(n.acl)
				}
			}
		}
		if end == len(paths) {
			v.DigestZxid, v.Digest = t.lastZxid, t.digest
		}
		t.RUnlock()
	}
	if len(paths) == 0 {
		t.RLock()
		v.DigestZxid, v.Digest = t.lastZxid, t.digest
		t.RUnlock()
	}
	return v
}

// Loader rebuilds a tree from a snapshot: AddACL for the cache, then AddNode in snapshot order.
type Loader struct {
	t    *Tree
	acls map[int64][]jute.ACL
}

// NewLoader starts a load into a fresh, empty tree (no built-in nodes: the snapshot has them).
// extendedTypes must match the server's, as it decides how ephemeral owners are read;
// sizeHint is the expected number of nodes (0 if unknown), to build the index in one go.
func NewLoader(extendedTypes bool, sizeHint int) *Loader {
	t := New()
	t.ExtendedTypes = extendedTypes
	t.nodes = make(map[string]*Node, sizeHint)
	t.acls = newACLCache()
	t.dataSize = 0
	t.digest = 0
	return &Loader{t: t, acls: make(map[int64][]jute.ACL)}
}

// AddACL records an ACL cache entry of the snapshot.
func (l *Loader) AddACL(ref int64, acl []jute.ACL) { l.acls[ref] = acl }

// AddNode adds a node; its parent must already be loaded.
func (l *Loader) AddNode(path string, data []byte, aclRef int64, stat jute.StatPersisted) error {
	t := l.t
	if path == "" {
		path = "/"
	}
	n := &Node{Data: data, Stat: stat}
	if aclRef == OpenACLRef {
		n.acl = OpenACLRef
	} else {
		acl, ok := l.acls[aclRef]
		if !ok {
			return fmt.Errorf("node %s refers to ACL %d missing from the snapshot", path, aclRef)
		}
		n.acl = t.acls.ref(acl)
	}
	if path == "/" {
		t.nodes["/"] = n
		t.dataSize += int64(1 + len(data))
		t.addDigest("/", n)
		return nil
	}
	parentPath, _ := Split(path)
	parent := t.nodes[parentPath]
	if parent == nil {
		return fmt.Errorf("invalid snapshot: no parent %s of %s", parentPath, path)
	}
	t.addNode(parent, path, n)
	t.addDigest(path, n)
	t.index(path, n)
	return nil
}

// Tree finishes the load: built-in nodes missing from an old snapshot are added, and the
// quota index is rebuilt.
func (l *Loader) Tree(zxid int64) (*Tree, error) {
	t := l.t
	if t.nodes["/"] == nil {
		return nil, fmt.Errorf("invalid snapshot: no root")
	}
	fresh := New()
	for _, p := range []string{ZookeeperPath, QuotaPath, ConfigPath} {
		if t.nodes[p] == nil {
			parent, _ := Split(p)
			fn := fresh.nodes[p]
			n := &Node{Data: []byte{}, Stat: fn.Stat, acl: t.acls.ref(fresh.ACL(fn))}
			if fn.acl == OpenACLRef {
				n.acl = OpenACLRef
			}
			t.addNode(t.nodes[parent], p, n)
			t.addDigest(p, n)
		}
	}
	t.lastZxid = zxid
	return t, nil
}

// index adds a loaded node to the ephemeral/container/TTL/quota indexes.
func (t *Tree) index(path string, n *Node) {
	switch owner := n.Stat.EphemeralOwner; t.OwnerType(owner) {
	case OwnerSession:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
	case OwnerContainer:
		t.containers[path] = struct{}{}
	case OwnerTTL:
		t.ttls[path] = struct{}{}
	}
	parentPath, name := Split(path)
	if name == LimitNode && len(parentPath) >= len(QuotaPath) && parentPath[:len(QuotaPath)] == QuotaPath {
		t.quotas[trimQuotaPath(parentPath)] = struct{}{}
	}
}
