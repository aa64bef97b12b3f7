// Package datatree is ZooKeeper's in-memory data tree: znodes with their Stat, ACLs, the
// ephemeral/container/TTL indexes, quota accounting and the two watch tables. It changes only
// by applying transactions (ProcessTxn), in zxid order, so a log replay, a follower and a
// standalone server all reach the same tree.
//
// Locking: the tree has one RWMutex. Readers hold RLock for the whole read, including
// registering a watch and queueing the reply, so a reply never overtakes an event of a later
// transaction. ProcessTxn must be called with Lock held.
package datatree

import (
	"slices"
	"sort"
	"sync"

	"github.com/zkgo/zkgo/jute"
)

// Tree is the data tree.
type Tree struct {
	sync.RWMutex

	root       *Node
	count      int // nodes in the tree, the root included
	acls       *aclCache
	ephemerals map[int64]map[string]struct{}
	// ephOrder mirrors ephemerals as Java HashSets, for the order closeSession deletes in
	// (EphemeralsJava). Created lazily; a set outlives its last node, as in DataTree.
	ephOrder   map[int64]*JavaStringSet
	containers map[string]struct{}
	ttls       map[string]struct{}
	quotas     map[string]struct{} // paths with a zookeeper_limits node

	dataWatches  *watchTable
	childWatches *watchTable

	// ExtendedTypes is how ephemeralOwner values are read (zookeeper.extendedTypesEnabled,
	// zookeeper.emulate353TTLNodes).
	ExtendedTypes OwnerTypes

	// WatchesFired, if set, learns how many watchers each event that fired any watch
	// fired, the suppressed ones included (the server's node_*_watch_count metrics:
	// WatchManager.triggerWatch). Called with the write lock held; it must not block.
	WatchesFired func(eventType int32, watchers int)

	// EphemeralDeleted, if set, learns of each ephemeral a closing session's txn deletes or,
	// for a path its txn lists that is gone, does not (the audit log: DataTree.deleteNodes).
	// Called with the write lock held.
	EphemeralDeleted func(session int64, path string, deleted bool)

	lastZxid int64
	dataSize int64 // sum of path and data lengths, as approximateDataSize

	// digest is Apache ZooKeeper's tree digest: the sum of every node's NodeDigest (AdHash),
	// kept as nodes change. Logs and snapshots carry it so both servers can check their trees.
	digest  uint64
	scratch digestScratch // nodeDigest's buffer (write lock held)
}

// Well-known paths.
const (
	ZookeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
	LimitNode     = "zookeeper_limits"
	StatNode      = "zookeeper_stats"
)

// New returns the initial tree: /, /zookeeper, /zookeeper/quota and /zookeeper/config.
func New() *Tree {
	t := &Tree{
		acls:         newACLCache(),
		ephemerals:   make(map[int64]map[string]struct{}),
		containers:   make(map[string]struct{}),
		ttls:         make(map[string]struct{}),
		quotas:       make(map[string]struct{}),
		dataWatches:  newWatchTable(),
		childWatches: newWatchTable(),
	}
	root := newNode("", []byte{}, openRef)
	t.root, t.count = root, 1
	zk := newNode("zookeeper", []byte{}, openRef)
	t.addNode(root, ZookeeperPath, zk)
	t.addNode(zk, QuotaPath, newNode("quota", []byte{}, openRef))
	// /zookeeper/config gets READ_ACL_UNSAFE through setACL(-1), hence aversion -1 (addConfigNode).
	cfg := newNode("config", []byte{}, t.acls.ref(jute.ReadACLUnsafe))
	cfg.Stat.Aversion = -1
	t.addNode(zk, ConfigPath, cfg)
	// Nodes under /zookeeper/ count 0 in the digest: only the root and /zookeeper add to it.
	t.addDigest("/", root)
	t.addDigest(ZookeeperPath, zk)
	return t
}

// Digest is the tree digest after the last applied transaction.
func (t *Tree) Digest() uint64 { return t.digest }

func (t *Tree) addDigest(path string, n *Node) { t.digest += t.nodeDigest(path, n.Data, &n.Stat) }
func (t *Tree) subDigest(path string, n *Node) { t.digest -= t.nodeDigest(path, n.Data, &n.Stat) }

// addNode links n (named as path's last component) under parent.
func (t *Tree) addNode(parent *Node, path string, n *Node) {
	parent.addChild(n)
	t.count++
	t.dataSize += int64(len(path) + len(n.Data))
}

// Get returns the node at path or nil. "" names the root too, as in Apache ZooKeeper's
// node map, so reads of "" answer for "/".
func (t *Tree) Get(path string) *Node { return lookup(t.root, path) }

// NodeCount is the number of znodes, the built-ins included.
func (t *Tree) NodeCount() int { return t.count }

// ReportedNodeCount is the node count ZooKeeper reports (srvr, mntr zk_znode_count, the
// AdminServer): DataTree.getNodeCount is the size of its path map, which holds the root
// twice, under "" and "/".
func (t *Tree) ReportedNodeCount() int { return t.count + 1 }

// ApproximateDataSize is the sum of path and data lengths (zk_approximate_data_size).
func (t *Tree) ApproximateDataSize() int64 { return t.dataSize }

// LastProcessedZxid is the zxid of the last applied transaction.
func (t *Tree) LastProcessedZxid() int64 { return t.lastZxid }

// SetLastProcessedZxid is used after restoring a tree from storage.
func (t *Tree) SetLastProcessedZxid(z int64) { t.lastZxid = z }

// ACL returns a node's ACL list (shared: do not modify).
func (t *Tree) ACL(n *Node) []jute.ACL { return t.acls.get(n.acl) }

// Children returns a node's child names, sorted for stable output.
func (t *Tree) Children(n *Node) []string {
	if n.kids == nil {
		return []string{}
	}
	out := make([]string, 0, n.kids.n)
	n.kids.each(func(c *Node) { out = append(out, c.name()) })
	sort.Strings(out)
	return out
}

// Stat fills the client-visible Stat of n. Container and TTL markers in ephemeralOwner are
// server-internal and shown to clients as 0, as Apache ZooKeeper 3.8 does.
func (t *Tree) Stat(n *Node, s *jute.Stat) {
	p := &n.Stat
	s.Czxid, s.Mzxid, s.Ctime, s.Mtime = p.Czxid, p.Mzxid, p.Ctime, p.Mtime
	s.Version, s.Aversion = p.Version, p.Aversion
	// The stored cversion counts creates; clients see creates plus deletes, i.e. every
	// create that has no live child has been deleted (DataNode.copyStat, v3 semantics).
	s.Cversion = p.Cversion*2 - int32(n.NumChildren())
	s.EphemeralOwner = p.EphemeralOwner
	if t.OwnerType(p.EphemeralOwner) != OwnerSession {
		s.EphemeralOwner = 0
	}
	s.DataLength = int32(len(n.Data))
	s.NumChildren = int32(n.NumChildren())
	s.Pzxid = p.Pzxid
}

// OwnerKind classifies an ephemeralOwner value (EphemeralType).
type OwnerKind int

const (
	OwnerNone OwnerKind = iota
	OwnerSession
	OwnerContainer
	OwnerTTL
)

// OwnerTypes says which ephemeralOwner values are TTLs (EphemeralType.get).
type OwnerTypes uint8

const (
	// OwnersBasic: none (extendedTypesEnabled=false); any owner but 0 and a container's
	// is a session.
	OwnersBasic OwnerTypes = iota
	// OwnersExtended (zookeeper.extendedTypesEnabled): owners with the high byte 0xFF.
	OwnersExtended
	// OwnersExtended353 (and zookeeper.emulate353TTLNodes): any negative owner too, as
	// ZooKeeper 3.5.3 wrote them (the TTL in the low bits; ZOOKEEPER-2901). A session
	// whose server id is 128 or more has such ids, and its ephemerals read as TTL nodes,
	// as in ZooKeeper.
	OwnersExtended353
)

// OwnerTypesFor maps the two settings to OwnerTypes; emulate353 only counts with extended
// types, as in ZooKeeper.
func OwnerTypesFor(extended, emulate353 bool) OwnerTypes {
	switch {
	case extended && emulate353:
		return OwnersExtended353
	case extended:
		return OwnersExtended
	}
	return OwnersBasic
}

// OwnerType decodes an ephemeralOwner.
func (t *Tree) OwnerType(owner int64) OwnerKind {
	switch {
	case owner == 0:
		return OwnerNone
	case owner == jute.ContainerEphemeralOwner:
		return OwnerContainer
	case t.ExtendedTypes == OwnersExtended353 && owner < 0:
		return OwnerTTL
	case t.ExtendedTypes != OwnersBasic && owner&jute.TTLMask == jute.TTLMask:
		return OwnerTTL
	}
	return OwnerSession
}

// TTLOf returns the TTL encoded in a TTL node's owner.
func TTLOf(owner int64) int64 { return owner & jute.MaxTTL }

// Ephemerals returns the ephemeral paths of a session, sorted.
func (t *Tree) Ephemerals(session int64) []string {
	set := t.ephemerals[session]
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// EphemeralsJava returns the session's ephemeral paths as the HashSet clone
// DataTree.getEphemerals hands closeSession, whose iteration order is the deletion order.
// Paths the model has not seen (a tree loaded from a snapshot) are added in sorted order.
func (t *Tree) EphemeralsJava(session int64) *JavaStringSet { return t.ephemeralsJava(session, true) }

// ephemeralsJava is the session's ephemerals as a Java HashSet: a copy of the tree's
// (clone: as HashSet.clone orders it), fixed up to hold exactly the session's ephemerals.
func (t *Tree) ephemeralsJava(session int64, clone bool) *JavaStringSet {
	js := t.ephOrder[session]
	if js == nil {
		js = NewJavaStringSet()
	}
	// Fixed up on a copy: EphemeralsJava's callers hold only the read lock.
	var c *JavaStringSet
	if clone {
		c = js.Clone()
	} else {
		c = js.Copy()
	}
	set := t.ephemerals[session]
	if c.Len() != len(set) {
		for _, p := range c.Order() {
			if _, ok := set[p]; !ok {
				c.Remove(p)
			}
		}
		for _, p := range t.Ephemerals(session) {
			c.Add(p)
		}
	}
	return c
}

// EphemeralsBySession returns every session's ephemeral paths (for dump).
func (t *Tree) EphemeralsBySession() map[int64][]string {
	out := make(map[int64][]string, len(t.ephemerals))
	for s := range t.ephemerals {
		out[s] = t.Ephemerals(s)
	}
	return out
}

// DeadSessions lists, in order, the sessions that own ephemerals and are not live: a data
// dir can hold such ephemerals (ZooKeeper 3.5.3's TTL nodes read without
// zookeeper.emulate353TTLNodes, or damage), which no expiry would ever remove.
func (t *Tree) DeadSessions(live func(session int64) bool) []int64 {
	var out []int64
	for s := range t.ephemerals {
		if !live(s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// KillSession deletes a session's ephemerals at zxid without a txn, as ZooKeeperServer.loadData
// does for dead sessions (DataTree.killSession). The caller holds the write lock.
func (t *Tree) KillSession(session, zxid int64) { t.killSession(session, nil, zxid) }

// EphemeralCount is the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// Containers returns the container paths.
func (t *Tree) Containers() []string { return keys(t.containers) }

// TTLs returns the TTL node paths.
func (t *Tree) TTLs() []string { return keys(t.ttls) }

func keys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CountDescendants counts the nodes below path (getAllChildrenNumber).
func (t *Tree) CountDescendants(n *Node, path string) int {
	if n.kids == nil {
		return 0
	}
	total := n.kids.n
	n.kids.each(func(c *Node) {
		if c.kids != nil {
			total += t.CountDescendants(c, "")
		}
	})
	return total
}

// AddWatch registers a watch. Data/exists watches go to the data table, child watches to the
// child table; PERSISTENT and PERSISTENT_RECURSIVE go to both, as 3.8's DataTree.addWatch
// and setWatches do (3.9 keeps recursive watches out of the child table). A recursive entry
// in the child table never fires NodeChildrenChanged, but checkWatches and removeWatches of
// type Children see it.
func (t *Tree) AddDataWatch(path string, w Watcher)  { t.dataWatches.add(path, w, Standard) }
func (t *Tree) AddChildWatch(path string, w Watcher) { t.childWatches.add(path, w, Standard) }
func (t *Tree) AddPersistentWatch(path string, w Watcher, recursive bool) {
	mode := Persistent
	if recursive {
		mode = PersistentRecursive
	}
	t.dataWatches.add(path, w, mode)
	t.childWatches.add(path, w, mode)
}

// RemoveWatcher drops every watch of w (its connection closed).
func (t *Tree) RemoveWatcher(w Watcher) {
	t.dataWatches.removeWatcher(w)
	t.childWatches.removeWatcher(w)
}

// AnyWatcherOn reports whether anyone watches path in the data (data=true) or child table.
// Apache ZooKeeper 3.8's checkWatches answers with exactly this, whoever asks
// (WatchManager.containsWatcher), and zkgo keeps that answer.
func (t *Tree) AnyWatcherOn(path string, data bool) bool {
	tb := t.childWatches
	if data {
		tb = t.dataWatches
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.byPath[path]) > 0
}

// WatchQuery finds (and optionally removes) w's watches on path by WatcherType, as
// checkWatches/removeWatches do. It reports whether any matched.
func (t *Tree) WatchQuery(path string, w Watcher, watcherType int32, remove bool) bool {
	op := t.dataWatches.has
	cop := t.childWatches.has
	if remove {
		op = t.dataWatches.remove
		cop = t.childWatches.remove
	}
	switch watcherType {
	// Children/Data match a watch of any mode in that table, as 3.8's removeWatcher(path,
	// watcher) does; the 3.9 types Persistent/PersistentRecursive match their mode only.
	case jute.WatcherChildren:
		return cop(path, w, Standard, Persistent, PersistentRecursive)
	case jute.WatcherData:
		return op(path, w, Standard, Persistent, PersistentRecursive)
	case jute.WatcherPersistent:
		a := op(path, w, Persistent)
		b := cop(path, w, Persistent)
		return a || b
	case jute.WatcherPersistentRecursive:
		a := op(path, w, PersistentRecursive)
		b := cop(path, w, PersistentRecursive)
		return a || b
	case jute.WatcherAny:
		a := op(path, w, Standard, Persistent, PersistentRecursive)
		b := cop(path, w, Standard, Persistent, PersistentRecursive)
		return a || b
	}
	return false
}

// WatchStats returns the totals over both tables (wchs): distinct watchers and paths, and
// the number of (watcher, path) pairs.
func (t *Tree) WatchStats() WatchStats {
	byW := t.WatchesByWatcher()
	paths := make(map[string]struct{})
	total := 0
	for _, ps := range byW {
		total += len(ps)
		for _, p := range ps {
			paths[p] = struct{}{}
		}
	}
	return WatchStats{Watchers: len(byW), Paths: len(paths), Watches: total}
}

// WatchesByWatcher merges both tables: watcher -> distinct paths.
func (t *Tree) WatchesByWatcher() map[Watcher][]string {
	out := t.dataWatches.byWatcherCopy()
	for w, ps := range t.childWatches.byWatcherCopy() {
		seen := make(map[string]struct{}, len(out[w]))
		for _, p := range out[w] {
			seen[p] = struct{}{}
		}
		for _, p := range ps {
			if _, ok := seen[p]; !ok {
				out[w] = append(out[w], p)
			}
		}
	}
	for w := range out {
		sort.Strings(out[w])
	}
	return out
}

// WatchCount is the number of watch registrations over both tables (zk_watch_count).
func (t *Tree) WatchCount() int {
	return t.dataWatches.stats().Watches + t.childWatches.stats().Watches
}
