package datatree

import (
	"bytes"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/zkgo/zkgo/jute"
)

// SnapNode is one node as a snapshot stores it.
type SnapNode struct {
	Path   string // "" for the root, as Apache ZooKeeper writes it
	Data   []byte
	ACLRef int64
	Stat   jute.StatPersisted
}

// SnapshotView is what a snapshot holds: the zxid it is named after, the ACL cache and the
// nodes. It is either a view of a live tree (CopyForSnapshot), whose nodes are read from the
// tree while EachNode walks it, or a materialised list of nodes (Nodes, filled by a reader).
type SnapshotView struct {
	Zxid int64 // lastProcessedZxid when the view was taken: the snapshot's name
	// DigestZxid and Digest are the tree digest at the end of the walk and the zxid it
	// belongs to: replay reaches exactly that state at DigestZxid (ZxidDigest).
	DigestZxid int64
	Digest     uint64
	// Nodes are the nodes of a materialised view, parents first. A view of a live tree
	// leaves it empty: EachNode reads the tree.
	Nodes []SnapNode
	ACLs  map[int64][]jute.ACL
	// Walked is the number of nodes the last EachNode visited.
	Walked int

	tree *Tree
}

// Walk batches: the tree's read lock is released after this many nodes or bytes of data.
const (
	walkBatchNodes = 128
	walkBatchBytes = 16 << 10
)

// CopyForSnapshot starts a fuzzy snapshot of the tree: it records the last zxid and copies
// the ACL cache (both under one short read lock); the nodes are read later, by EachNode,
// straight from the live tree in small steps while writers go on. Replaying the log from
// Zxid makes the result exact (the apply of every txn is idempotent over it), as for Apache
// ZooKeeper's fuzzy snapshots. Nothing of the tree is copied up front.
func (t *Tree) CopyForSnapshot() *SnapshotView {
	t.RLock()
	defer t.RUnlock()
	v := &SnapshotView{Zxid: t.lastZxid, ACLs: make(map[int64][]jute.ACL, len(t.acls.byRef)), tree: t}
	for r, acl := range t.acls.byRef {
		v.ACLs[int64(r)] = acl // lists in the cache are never modified
	}
	v.DigestZxid, v.Digest = t.lastZxid, t.digest
	return v
}

// EachNode calls node for every node of the view, parents before children, and pause between
// groups of nodes.
//
// For a view of a live tree, the nodes are read under the tree's read lock in steps of about a
// hundred nodes or 16 KiB of data, and node is called for a step's nodes after the lock is
// released; n (Path in particular) is only valid during the call. pause runs after each step
// and is where the caller does its I/O.
// A node created after its parent was visited is not visited (the log recreates it), nor is
// one deleted before its turn. Every ACL ref a node is written with is in ACLs: a node whose
// ACL is a list new since Zxid got it from a txn after Zxid, so if the node was created after
// Zxid it is left out with its subtree (all of it created after Zxid: the log recreates it),
// and otherwise (a setACL after Zxid, which replay repeats) it is written with OpenACLRef
// until then. The walk also sets DigestZxid and Digest: the tree's digest when it ended.
//
// For a materialised view, node is called for each of Nodes and pause after each.
func (v *SnapshotView) EachNode(node func(n *SnapNode), pause func()) {
	if v.tree == nil {
		for i := range v.Nodes {
			node(&v.Nodes[i])
			pause()
		}
		v.Walked = len(v.Nodes)
		return
	}
	v.tree.walk(v, node, pause)
}

// walkFrame is the children of one visited node still to visit.
type walkFrame struct {
	path string  // the parent's path ("" for the root)
	kids []*Node // copied when the parent was visited
	i    int
}

func (t *Tree) walk(v *SnapshotView, node func(n *SnapNode), pause func()) {
	var stack []walkFrame
	var path []byte
	var tmp []*Node // sortByAddress's scratch
	// A step's nodes are copied out under the read lock (their stat, data slice, ACL ref and
	// path, into paths) and handed to node after it is released, so writers wait only for the
	// walk itself, not for the encoding.
	var step []SnapNode
	var ends []int // end of each node's path in paths
	var paths []byte
	size := 0
	v.Walked = 0
	emit := func(n *Node, p []byte) {
		ref := int64(n.acl)
		if _, ok := v.ACLs[ref]; !ok && n.acl != openRef {
			ref = OpenACLRef // see above: only until the replayed setACL
		}
		step = append(step, SnapNode{Data: n.Data, ACLRef: ref, Stat: n.Stat})
		paths = append(paths, p...)
		ends = append(ends, len(paths))
		size += len(p) + len(n.Data)
	}
	// hand calls node for the step's nodes (without the lock) and empties it.
	hand := func() {
		start := 0
		for i := range step {
			sn := &step[i]
			if end := ends[i]; end > start {
				sn.Path = unsafe.String(&paths[start], end-start)
				start = end
			}
			node(sn)
			step[i] = SnapNode{}
		}
		v.Walked += len(step)
		step, ends, paths, size = step[:0], ends[:0], paths[:0], 0
	}
	push := func(p string, n *Node) {
		if n.kids == nil {
			return
		}
		kids := make([]*Node, 0, n.kids.n)
		n.kids.each(func(c *Node) { kids = append(kids, c) })
		if len(kids) >= sortKidsMin {
			if cap(tmp) < len(kids) {
				tmp = make([]*Node, len(kids))
			}
			sortByAddress(kids, tmp[:len(kids)])
			clear(tmp[:len(kids)])
		}
		stack = append(stack, walkFrame{path: p, kids: kids})
	}
	t.RLock()
	emit(t.root, nil)
	push("", t.root)
	for len(stack) > 0 {
		if len(step) >= walkBatchNodes || size >= walkBatchBytes {
			t.RUnlock()
			hand()
			pause()
			t.RLock()
		}
		f := &stack[len(stack)-1]
		if f.i == len(f.kids) {
			stack[len(stack)-1] = walkFrame{}
			stack = stack[:len(stack)-1]
			continue
		}
		c := f.kids[f.i]
		f.kids[f.i] = nil
		f.i++
		if c.removed() {
			continue // deleted (and maybe recreated) since its parent was visited
		}
		name := c.name()
		if _, ok := v.ACLs[int64(c.acl)]; !ok && c.acl != openRef && c.Stat.Czxid > v.Zxid {
			continue // created since Zxid with a new ACL list: the log recreates it
		}
		path = append(append(append(path[:0], f.path...), '/'), name...)
		emit(c, path)
		if c.kids != nil {
			push(string(path), c)
		}
	}
	v.DigestZxid, v.Digest = t.lastZxid, t.digest
	t.RUnlock()
	hand()
}

// sortKidsMin is the number of children from which the walk visits them in address order
// rather than in their table's (hash) order. Nodes allocated one after the other lie next to
// each other, and visiting them in that order lets the CPU stream them in instead of waiting
// for each (BenchmarkWriteSnapshotFlat, 300k znodes under one parent: 250 against 400 ns
// per znode). The order of siblings in a snapshot is free; a loader takes them in any order.
const sortKidsMin = 256

// sortByAddress sorts nodes by address: an LSD radix sort of the addresses' offsets from the
// lowest, in as few passes of at most 12 bits as the spread needs. tmp is scratch of the
// same length. The pointers are moved as pointers, so the collector sees every move.
func sortByAddress(nodes, tmp []*Node) {
	lo, hi := ^uintptr(0), uintptr(0)
	for _, n := range nodes {
		a := uintptr(unsafe.Pointer(n))
		lo, hi = min(lo, a), max(hi, a)
	}
	const align = 4 // nodes are at least 16-byte aligned
	nb := bits.Len64(uint64(hi-lo) >> align)
	if nb == 0 {
		return
	}
	passes := (nb + 11) / 12
	digit := uint((nb + passes - 1) / passes)
	var count [1 << 12]int
	src, dst := nodes, tmp
	for p := 0; p < passes; p++ {
		shift := align + uint(p)*digit
		mask := uintptr(1)<<digit - 1
		buckets := count[:1<<digit]
		clear(buckets)
		for _, n := range src {
			buckets[(uintptr(unsafe.Pointer(n))-lo)>>shift&mask]++
		}
		sum := 0
		for i, c := range buckets {
			buckets[i] = sum
			sum += c
		}
		for _, n := range src {
			d := (uintptr(unsafe.Pointer(n)) - lo) >> shift & mask
			dst[buckets[d]] = n
			buckets[d]++
		}
		src, dst = dst, src
	}
	if passes%2 == 1 {
		copy(nodes, src)
	}
}

// Loader rebuilds a tree from a snapshot: AddACL for the cache, then AddNode in snapshot order.
type Loader struct {
	t    *Tree
	acls map[int64][]jute.ACL
	refs map[int64]int32 // snapshot ref -> the tree's ref, as first used

	// The last node added and the last parent looked up: in a depth-first snapshot (Apache
	// ZooKeeper's, zkgo's) one of them is almost always the next node's parent.
	last, parent         *Node
	lastPath, parentPath []byte
}

// NewLoader starts a load into a fresh, empty tree (no built-in nodes: the snapshot has them).
// extendedTypes must match the server's, as it decides how ephemeral owners are read;
// sizeHint, the expected number of nodes, is not needed any more (the tree has no index by
// path to size) and is ignored.
func NewLoader(extendedTypes OwnerTypes, sizeHint int) *Loader {
	_ = sizeHint
	t := New()
	t.ExtendedTypes = extendedTypes
	t.root, t.count = nil, 0
	t.acls = newACLCache()
	t.dataSize = 0
	t.digest = 0
	return &Loader{t: t, acls: make(map[int64][]jute.ACL), refs: make(map[int64]int32)}
}

// AddACL records an ACL cache entry of the snapshot.
func (l *Loader) AddACL(ref int64, acl []jute.ACL) { l.acls[ref] = acl }

// AddNode adds a node; its parent must already be loaded. data is kept (not copied) when it
// is larger than a small value.
func (l *Loader) AddNode(path string, data []byte, aclRef int64, stat jute.StatPersisted) error {
	return l.add(unsafe.Slice(unsafe.StringData(path), len(path)), data, false, aclRef, &stat)
}

// AddNodeBytes is AddNode for a path and data that may point into a buffer the caller
// reuses (a snapshot file's bytes): both are copied. nil data is a null value.
func (l *Loader) AddNodeBytes(path, data []byte, aclRef int64, stat *jute.StatPersisted) error {
	return l.add(path, data, true, aclRef, stat)
}

func (l *Loader) aclRef(aclRef int64) (int32, error) {
	if aclRef == OpenACLRef {
		return openRef, nil
	}
	t := l.t
	r, ok := l.refs[aclRef]
	if !ok {
		acl, ok := l.acls[aclRef]
		if !ok {
			return 0, fmt.Errorf("refers to ACL %d missing from the snapshot", aclRef)
		}
		r = t.acls.ref(acl)
		l.refs[aclRef] = r
		return r, nil
	}
	t.acls.counts[r]++
	return r, nil
}

func (l *Loader) add(path, data []byte, copyData bool, aclRef int64, stat *jute.StatPersisted) error {
	t := l.t
	sp := unsafe.String(unsafe.SliceData(path), len(path)) // only for calls that keep nothing
	if len(path) == 0 || (len(path) == 1 && path[0] == '/') {
		if t.root != nil {
			return fmt.Errorf("invalid snapshot: root twice")
		}
		ref, err := l.aclRef(aclRef)
		if err != nil {
			return fmt.Errorf("node / %w", err)
		}
		n := newNode("", data, ref)
		n.Stat = *stat
		t.root, t.count = n, 1
		t.dataSize += int64(1 + len(data))
		t.addDigest("/", n)
		l.last, l.lastPath = n, append(l.lastPath[:0], path...)
		return nil
	}
	i := bytes.LastIndexByte(path, '/')
	if i < 0 || i == len(path)-1 {
		return fmt.Errorf("invalid snapshot: bad path %q", path)
	}
	pp, name := path[:i], path[i+1:]
	var parent *Node
	switch {
	case l.last != nil && bytes.Equal(pp, l.lastPath):
		parent = l.last
	case l.parent != nil && bytes.Equal(pp, l.parentPath):
		parent = l.parent
	default:
		if t.root != nil {
			parent = lookup(t.root, unsafe.String(unsafe.SliceData(pp), len(pp)))
		}
		if parent == nil {
			p := string(pp)
			if p == "" {
				p = "/"
			}
			return fmt.Errorf("invalid snapshot: no parent %s of %s", p, path)
		}
		l.parent, l.parentPath = parent, append(l.parentPath[:0], pp...)
	}
	ns := unsafe.String(unsafe.SliceData(name), len(name))
	if copyData && len(data) > inlineData {
		data = bytes.Clone(data)
	}
	n := newNode(ns, data, openRef)
	if parent.kids == nil {
		parent.kids = &childTable{}
	}
	if parent.kids.putNew(n) != nil {
		return fmt.Errorf("invalid snapshot: %s twice", path)
	}
	ref, err := l.aclRef(aclRef)
	if err != nil {
		return fmt.Errorf("node %s %w", path, err)
	}
	n.acl = ref
	n.Stat = *stat
	t.count++
	t.dataSize += int64(len(path) + len(n.Data))
	t.addDigest(sp, n)
	t.index(sp, n)
	l.last, l.lastPath = n, append(l.lastPath[:0], path...)
	return nil
}

// Tree finishes the load: built-in nodes missing from an old snapshot are added, and the
// quota index is rebuilt.
func (l *Loader) Tree(zxid int64) (*Tree, error) {
	t := l.t
	if t.root == nil {
		return nil, fmt.Errorf("invalid snapshot: no root")
	}
	fresh := New()
	for _, p := range []string{ZookeeperPath, QuotaPath, ConfigPath} {
		if t.Get(p) == nil {
			parentPath, name := Split(p)
			fn := fresh.Get(p)
			ref := openRef
			if fn.acl != openRef {
				ref = t.acls.ref(fresh.ACL(fn))
			}
			n := newNode(name, []byte{}, ref)
			n.Stat = fn.Stat
			t.addNode(t.Get(parentPath), p, n)
			t.addDigest(p, n)
		}
	}
	t.lastZxid = zxid
	return t, nil
}

// index adds a loaded node to the ephemeral/container/TTL/quota indexes. path may point
// into a reused buffer: it is copied where it is kept.
func (t *Tree) index(path string, n *Node) {
	switch owner := n.Stat.EphemeralOwner; t.OwnerType(owner) {
	case OwnerSession:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[string([]byte(path))] = struct{}{}
	case OwnerContainer:
		t.containers[string([]byte(path))] = struct{}{}
	case OwnerTTL:
		t.ttls[string([]byte(path))] = struct{}{}
	}
	parentPath, name := Split(path)
	if name == LimitNode && len(parentPath) >= len(QuotaPath) && parentPath[:len(QuotaPath)] == QuotaPath {
		t.quotas[string([]byte(trimQuotaPath(parentPath)))] = struct{}{}
	}
}
