package datatree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"github.com/zkgo/zkgo/jute"
)

// The children table against a map, under random adds and removes (growth, shrink and
// backward-shift deletion included).
func TestChildTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parent := newNode("p", nil, openRef)
	want := map[string]*Node{}
	for step := 0; step < 200000; step++ {
		name := fmt.Sprintf("c%d", rng.IntN(3000))
		if step > 100000 && step < 150000 {
			name = fmt.Sprintf("c%d", rng.IntN(30)) // shrink back
		}
		if n, ok := want[name]; ok && rng.IntN(2) == 0 {
			if parent.child(name) != n {
				t.Fatalf("step %d: get %s", step, name)
			}
			if !parent.removeChild(name) {
				t.Fatalf("step %d: remove %s", step, name)
			}
			delete(want, name)
		} else if !ok {
			n := newNode(name, []byte(name), openRef)
			parent.addChild(n)
			want[name] = n
		}
		if parent.NumChildren() != len(want) {
			t.Fatalf("step %d: %d children, want %d", step, parent.NumChildren(), len(want))
		}
		if step%1000 == 0 {
			for k, n := range want {
				if parent.child(k) != n || string(n.Data) != k || n.name() != k {
					t.Fatalf("step %d: lost %s", step, k)
				}
			}
			if parent.child("nope") != nil {
				t.Fatal("found a missing child")
			}
		}
	}
	if parent.removeChild("nope") {
		t.Fatal("removed a missing child")
	}
}

func TestNodeNameData(t *testing.T) {
	n := newNode("abc", nil, openRef)
	if n.Data != nil || n.name() != "abc" {
		t.Fatalf("null data: %q %v", n.name(), n.Data)
	}
	if r := New().Get("/"); r.Data == nil || newNode("", []byte{}, openRef).Data == nil {
		t.Fatal("the root's empty data reads as null")
	}
	n = newNode("abc", []byte{}, openRef)
	if n.Data == nil || len(n.Data) != 0 || n.name() != "abc" {
		t.Fatalf("empty data: %q %v", n.name(), n.Data)
	}
	d := []byte("0123456789")
	n = newNode("abc", d, openRef)
	if string(n.Data) != "0123456789" || &n.Data[0] == &d[0] || cap(n.Data) != 10 || n.name() != "abc" {
		t.Fatalf("small data: %q %q cap %d", n.name(), n.Data, cap(n.Data))
	}
	big := make([]byte, inlineData+1)
	n = newNode("abc", big, openRef)
	if &n.Data[0] != &big[0] || n.name() != "abc" {
		t.Fatal("big data copied or name lost")
	}
	long := strings.Repeat("x", 1000)
	n = newNode(long, []byte("v"), openRef)
	if n.name() != long || string(n.Data) != "v" {
		t.Fatal("long name")
	}
	for size := 0; size <= 420; size++ {
		nm := strings.Repeat("n", size/2+1)
		v := make([]byte, size-size/2)
		n := newNode(nm, v, openRef)
		if n.name() != nm || len(n.Data) != len(v) {
			t.Fatalf("size %d", size)
		}
	}
}

func TestLookup(t *testing.T) {
	tr := New()
	for _, p := range []string{"/", "", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
		if tr.Get(p) == nil {
			t.Errorf("Get(%q) = nil", p)
		}
	}
	for _, p := range []string{"zookeeper", "//zookeeper", "/zookeeper/", "/zookeeper//quota", "/zoo", "/zookeeper/quota/x"} {
		if tr.Get(p) != nil {
			t.Errorf("Get(%q) found a node", p)
		}
	}
	if got := tr.Children(tr.Get("/zookeeper")); fmt.Sprint(got) != "[config quota]" {
		t.Errorf("children %v", got)
	}
	if tr.NodeCount() != 4 {
		t.Errorf("count %d", tr.NodeCount())
	}
}

// The walk hands nodes out with the tree's lock released: a writer waits for one step of
// the walk, not for the caller's encoding of the nodes (which held writes to ~9k/s while a
// 300k-node tree was being snapshotted, BenchmarkWritesDuringSnapshots).
func TestWalkHandsNodesOutWithoutTheLock(t *testing.T) {
	tr := buildPopulate(t, 2000, 100, 10)
	v := tr.CopyForSnapshot()
	nodes, pauses := 0, 0
	v.EachNode(func(n *SnapNode) {
		if !tr.TryLock() {
			t.Fatalf("node %q handed out with the tree locked", n.Path)
		}
		tr.Unlock()
		nodes++
	}, func() { pauses++ })
	if nodes != tr.NodeCount() || pauses < nodes/walkBatchNodes {
		t.Fatalf("%d nodes in %d steps; the tree has %d, steps are at most %d nodes", nodes, pauses, tr.NodeCount(), walkBatchNodes)
	}
}

// Children deleted after their parent was visited and before their own turn are not visited,
// nor are ones created since under the same names (the log recreates them): in a large
// directory, visited in address order, and in small ones.
func TestWalkSkipsChildrenDeletedBeforeTheirTurn(t *testing.T) {
	for _, shape := range []struct{ dirs, kids int }{{0, 3 * walkBatchNodes}, {30, 15}} {
		tr := New()
		zxid := int64(0)
		apply := func(typ int32, rec jute.Record) {
			zxid++
			tr.Lock()
			tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Time: zxid, Type: typ}, rec)
			tr.Unlock()
		}
		create := func(p, data string) {
			apply(jute.OpCreate, &jute.CreateTxn{Path: p, Data: []byte(data), ACL: jute.OpenACLUnsafe, ParentCVersion: -1})
		}
		var leaves []string
		for d := 0; d < max(shape.dirs, 1); d++ {
			dir := ""
			if shape.dirs > 0 {
				dir = fmt.Sprint("/d", d)
				create(dir, "")
			}
			for i := 0; i < shape.kids; i++ {
				leaves = append(leaves, fmt.Sprint(dir, "/k", i))
				create(leaves[len(leaves)-1], "x")
			}
		}
		v := tr.CopyForSnapshot()
		seen := map[string]bool{}
		gone := map[string]bool{}
		paused := false
		var late []string
		v.EachNode(func(n *SnapNode) {
			p := strings.Clone(n.Path) // n.Path is only valid during the call
			if gone[p] {
				late = append(late, p)
			}
			seen[p] = true
		}, func() {
			if paused {
				return
			}
			paused = true
			// Every leaf not handed out yet goes; every other one comes back, and is
			// visited only if its parent has not been (its children not yet copied).
			for i, p := range leaves {
				if !seen[p] {
					apply(jute.OpDelete, &jute.DeleteTxn{Path: p})
					parent, _ := Split(p)
					if i%2 == 0 {
						create(p, "y")
					}
					if i%2 != 0 || seen[parent] || parent == "/" {
						gone[p] = true
					}
				}
			}
		})
		if len(gone) == 0 || len(late) > 0 {
			t.Fatalf("%+v: %d leaves deleted during the walk, visited after that: %v", shape, len(gone), late)
		}
	}
}

// A snapshot walk of a quiescent tree visits every node once, parents first, and loading
// what it wrote gives the same tree.
func TestWalkAndLoad(t *testing.T) {
	tr := buildPopulate(t, 5000, 100, 10)
	v := tr.CopyForSnapshot()
	seen := map[string]bool{}
	l := NewLoader(OwnersBasic, 0)
	for r, acl := range v.ACLs {
		l.AddACL(r, acl)
	}
	var order []string
	v.EachNode(func(n *SnapNode) {
		p := strings.Clone(n.Path) // valid only during the call
		if p != "" {
			parent, _ := Split(p)
			if parent == "/" {
				parent = ""
			}
			if !seen[parent] {
				t.Fatalf("%s before its parent", p)
			}
		}
		if seen[p] {
			t.Fatalf("%s twice", p)
		}
		seen[p] = true
		order = append(order, p)
		st := n.Stat
		if err := l.AddNodeBytes([]byte(p), append([]byte(nil), n.Data...), n.ACLRef, &st); err != nil {
			t.Fatal(err)
		}
	}, func() {})
	if len(seen) != tr.NodeCount() || v.Walked != tr.NodeCount() {
		t.Fatalf("walked %d (%d), tree has %d", len(seen), v.Walked, tr.NodeCount())
	}
	if v.Digest != tr.Digest() {
		t.Fatal("digest")
	}
	lt, err := l.Tree(tr.LastProcessedZxid())
	if err != nil {
		t.Fatal(err)
	}
	if lt.Digest() != tr.Digest() || lt.NodeCount() != tr.NodeCount() || lt.ApproximateDataSize() != tr.ApproximateDataSize()+1 { // a loaded root counts its "/", as before
		t.Fatalf("loaded digest/count/size %d/%d/%d, want %d/%d/%d", lt.Digest(), lt.NodeCount(), lt.ApproximateDataSize(),
			tr.Digest(), tr.NodeCount(), tr.ApproximateDataSize())
	}
	sort.Strings(order)
	for _, p := range order[:50] {
		q := p
		if q == "" {
			q = "/"
		}
		a, b := tr.Get(q), lt.Get(q)
		if b == nil || a.Stat != b.Stat || string(a.Data) != string(b.Data) || fmt.Sprint(tr.ACL(a)) != fmt.Sprint(lt.ACL(b)) {
			t.Fatalf("%s differs", q)
		}
	}
	if len(lt.acls.byRef) != len(tr.acls.byRef) {
		t.Fatalf("acl cache %d entries, want %d", len(lt.acls.byRef), len(tr.acls.byRef))
	}
}

func TestNodeSize(t *testing.T) {
	if s := unsafe.Sizeof(Node{}); s != 112 {
		t.Errorf("Node is %d bytes, want 112 (a size class of its own, no slack)", s)
	}
}

// A fuzzy snapshot walk taken while writers run, loaded and replayed from its Zxid with the
// transactions after it, gives the writers' final tree (what Restore relies on).
func TestFuzzyWalkReplay(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		fuzzyWalkReplay(t, seed, 50)
	}
	// Directories of hundreds of children, which the walk visits in address order.
	for seed := uint64(41); seed <= 50; seed++ {
		fuzzyWalkReplay(t, seed, 3000)
	}
}

func fuzzyWalkReplay(t *testing.T, seed uint64, names int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	acls := [][]jute.ACL{
		{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}},
		{{Perms: jute.PermRead, Id: jute.Id{Scheme: "world", ID: "anyone"}}},
	}
	type logged struct {
		hdr jute.TxnHeader
		rec jute.Record
	}
	var log []logged
	tr := New()
	zxid := int64(0)
	var paths []string
	// gen makes one random txn against the tree's current state; the caller holds the lock.
	gen := func() {
		zxid++
		hdr := jute.TxnHeader{Zxid: zxid, Time: zxid, Type: jute.OpCreate}
		var rec jute.Record
		switch op := rng.IntN(10); {
		case op < 5 || len(paths) < 10:
			parent := "/"
			if len(paths) > 0 && rng.IntN(3) > 0 {
				parent = paths[rng.IntN(len(paths))]
			}
			p := Join(parent, fmt.Sprintf("n%d", rng.IntN(names)))
			data := []byte(fmt.Sprint(zxid))
			if rng.IntN(20) == 0 {
				data = make([]byte, inlineData+10)
			}
			acl := acls[rng.IntN(2)]
			if rng.IntN(10) == 0 { // a brand-new list: a ref the snapshot's cache may lack
				acl = []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "digest", ID: fmt.Sprint("u:", zxid)}}}
			}
			// An explicit parent cversion, as the prep stage (and Apache's) logs it.
			pcv := int32(-1)
			if pn := tr.Get(parent); pn != nil {
				pcv = pn.Stat.Cversion + 1
			}
			rec = &jute.CreateTxn{Path: p, Data: data, ACL: acl, ParentCVersion: pcv}
			if tr.Get(p) != nil {
				// A create that fails is logged as an error txn, as the prep stage (and
				// Apache's) logs it: a create txn in the log always succeeded when it was
				// applied, and over the fuzzy window its replay could succeed where it had
				// failed and move the parent's cversion.
				hdr.Type = jute.OpError
				rec = &jute.ErrorTxn{Err: int32(jute.NodeExists)}
			} else if tr.Get(parent) != nil {
				paths = append(paths, p)
			}
		case op < 7:
			i := rng.IntN(len(paths))
			p := paths[i]
			if n := tr.Get(p); n != nil && n.NumChildren() == 0 {
				hdr.Type = jute.OpDelete
				rec = &jute.DeleteTxn{Path: p}
				paths = append(paths[:i], paths[i+1:]...)
			} else {
				hdr.Type = jute.OpCheck
				rec = &jute.CheckVersionTxn{Path: p}
			}
		case op < 9:
			hdr.Type = jute.OpSetData
			rec = &jute.SetDataTxn{Path: paths[rng.IntN(len(paths))], Data: []byte(fmt.Sprint("s", zxid)), Version: int32(zxid)}
		default:
			hdr.Type = jute.OpSetACL
			acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "digest", ID: fmt.Sprint("a:", zxid)}}}
			rec = &jute.SetACLTxn{Path: paths[rng.IntN(len(paths))], ACL: acl, Version: int32(zxid)}
		}
		tr.ProcessTxn(&hdr, rec)
		log = append(log, logged{hdr, rec})
	}
	tr.Lock()
	for i := 0; i < 3000; i++ {
		gen()
	}
	tr.Unlock()
	if n := tr.Get("/").NumChildren(); names > sortKidsMin && n < sortKidsMin {
		t.Fatalf("seed %d: the root has %d children, too few for the walk's address order", seed, n)
	}
	v := tr.CopyForSnapshot()
	l := NewLoader(OwnersBasic, 0)
	for r, acl := range v.ACLs {
		l.AddACL(r, acl)
	}
	var loadErr error
	v.EachNode(func(n *SnapNode) {
		if loadErr == nil {
			st := n.Stat
			loadErr = l.AddNodeBytes([]byte(n.Path), bytes.Clone(n.Data), n.ACLRef, &st)
		}
	}, func() {
		// Writers run between the walk's steps.
		tr.Lock()
		for i := rng.IntN(40); i > 0; i-- {
			gen()
		}
		tr.Unlock()
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	tr.Lock()
	for i := 0; i < 200; i++ {
		gen()
	}
	tr.Unlock()
	lt, err := l.Tree(v.Zxid)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if e.hdr.Zxid > v.Zxid {
			h := e.hdr
			lt.ProcessTxn(&h, e.rec)
		}
		if e.hdr.Zxid == v.DigestZxid && lt.Digest() != v.Digest {
			ref := New()
			for _, f := range log {
				if f.hdr.Zxid <= v.DigestZxid {
					h := f.hdr
					ref.ProcessTxn(&h, f.rec)
				}
			}
			var diff func(p string)
			diff = func(p string) {
				a, b := ref.Get(p), lt.Get(p)
				if b == nil {
					t.Logf("%s missing", p)
					return
				}
				if a.Stat != b.Stat || string(a.Data) != string(b.Data) {
					t.Logf("%s: %+v %q / %+v %q", p, a.Stat, a.Data, b.Stat, b.Data)
				}
				for _, c := range ref.Children(a) {
					diff(Join(p, c))
				}
			}
			diff("/")
			t.Fatalf("seed %d: digest at 0x%x differs (snapshot zxid 0x%x); ref digest ok: %v", seed, v.DigestZxid, v.Zxid, ref.Digest() == v.Digest)
		}
	}
	if lt.Digest() != tr.Digest() || lt.NodeCount() != tr.NodeCount() {
		t.Fatalf("seed %d: replayed tree digest/count %d/%d, live %d/%d", seed, lt.Digest(), lt.NodeCount(), tr.Digest(), tr.NodeCount())
	}
	var check func(p string)
	check = func(p string) {
		a, b := tr.Get(p), lt.Get(p)
		if b == nil || a.Stat != b.Stat || string(a.Data) != string(b.Data) || (a.Data == nil) != (b.Data == nil) ||
			fmt.Sprint(tr.ACL(a)) != fmt.Sprint(lt.ACL(b)) || fmt.Sprint(tr.Children(a)) != fmt.Sprint(lt.Children(b)) {
			t.Fatalf("seed %d: %s differs: %+v %q %v %v / %+v %q %v %v", seed, p, a.Stat, a.Data, tr.ACL(a), tr.Children(a), b.Stat, b.Data, lt.ACL(b), lt.Children(b))
		}
		for _, c := range tr.Children(a) {
			check(Join(p, c))
		}
	}
	check("/")
}

func TestSortByAddress(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 300, 5000} {
		nodes := make([]*Node, n)
		for i := range nodes {
			nodes[i] = newNode(fmt.Sprint("n", i), make([]byte, rng.IntN(300)), openRef)
		}
		rng.Shuffle(n, func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		want := make(map[*Node]bool, n)
		for _, x := range nodes {
			want[x] = true
		}
		sortByAddress(nodes, make([]*Node, n))
		for i, x := range nodes {
			if !want[x] {
				t.Fatalf("%d nodes: %p at %d is not one of them or is there twice", n, x, i)
			}
			delete(want, x)
			if i > 0 && uintptr(unsafe.Pointer(nodes[i-1])) >= uintptr(unsafe.Pointer(x)) {
				t.Fatalf("%d nodes: %p before %p at %d", n, nodes[i-1], x, i)
			}
		}
	}
}
