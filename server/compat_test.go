package server

import (
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// Regression tests for behaviours the differential test (internal/difftest) found, so they
// stay fixed without an Apache ZooKeeper to compare with.

var (
	openACL  = []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	aliceACL = []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "auth", ID: ""}}}
)

func rawDial(t *testing.T, addr string) *rawzk.Conn {
	t.Helper()
	c, err := rawzk.Dial(addr, rawzk.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// call sends op and returns the reply's error code; a transport failure fails the test.
func call(t *testing.T, c *rawzk.Conn, op int32, body []byte) jute.Code {
	t.Helper()
	p, err := c.Call(op, body)
	if err != nil {
		t.Fatalf("%s: %v", jute.OpName(op), err)
	}
	return jute.Code(p.Hdr.Err)
}

func mustCall(t *testing.T, c *rawzk.Conn, op int32, body []byte) {
	t.Helper()
	if code := call(t, c, op, body); code != jute.OK {
		t.Fatalf("%s: error %d", jute.OpName(op), code)
	}
}

// events returns the watch events c received so far, decoded, as "type:path".
func events(t *testing.T, c *rawzk.Conn) []string {
	t.Helper()
	mustCall(t, c, jute.OpPing, nil) // events queued before the ping reply have arrived
	var out []string
	for _, p := range c.Packets() {
		if !p.IsNotification() {
			continue
		}
		var ev jute.WatcherEvent
		if err := jute.Unmarshal(p.Body, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, eventName(ev.Type)+":"+ev.Path)
	}
	return out
}

func eventName(typ int32) string {
	switch typ {
	case jute.EventNodeCreated:
		return "created"
	case jute.EventNodeDeleted:
		return "deleted"
	case jute.EventNodeDataChanged:
		return "changed"
	case jute.EventNodeChildrenChanged:
		return "children"
	}
	return "other"
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The Debian build of 3.8.0 that is the reference carries the CVE-2024-23944 fix
// (ZOOKEEPER-4799): a connection gets a watch event only if it may READ the node it is about
// (the parent for NodeChildrenChanged). A filtered one-shot watch is used up all the same; a
// persistent one stays.
func TestCompatWatchEventsFilteredByReadACL(t *testing.T) {
	_, addr := startServer(t, nil)
	alice, eve := rawDial(t, addr), rawDial(t, addr)
	mustCall(t, alice, jute.OpAuth, rawzk.AuthBody("digest", []byte("alice:secret")))
	mustCall(t, alice, jute.OpCreate, rawzk.CreateBody("/p", nil, aliceACL, 0))

	// Persistent watch (addWatch has no ACL check in 3.8): filtered while /p is alice's.
	mustCall(t, eve, jute.OpAddWatch, rawzk.PathTypeBody("/p", jute.AddWatchPersistent))
	mustCall(t, alice, jute.OpSetData, rawzk.SetDataBody("/p", []byte("1"), -1))
	mustCall(t, alice, jute.OpCreate, rawzk.CreateBody("/p/c", nil, openACL, 0))
	if got := events(t, eve); len(got) != 0 {
		t.Fatalf("events about a node eve cannot read: %v", got)
	}

	// One-shot exists watch on a missing node created unreadable: consumed, not delivered.
	if code := call(t, eve, jute.OpExists, rawzk.PathWatchBody("/n", true)); code != jute.NoNode {
		t.Fatalf("exists /n: %d", code)
	}
	mustCall(t, alice, jute.OpCreate, rawzk.CreateBody("/n", nil, aliceACL, 0))
	mustCall(t, alice, jute.OpSetACL, rawzk.SetACLBody("/n", openACL, -1))
	mustCall(t, alice, jute.OpSetData, rawzk.SetDataBody("/n", []byte("x"), -1))

	// Once /p is readable the persistent watch delivers again.
	mustCall(t, alice, jute.OpSetACL, rawzk.SetACLBody("/p", openACL, -1))
	mustCall(t, alice, jute.OpSetData, rawzk.SetDataBody("/p", []byte("2"), -1))
	want := []string{"changed:/p"}
	if got := events(t, eve); !sameList(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// In 3.8 a (watcher, path) has one mode per table and the last add wins
// (WatcherModeManager.setWatcherMode): a getData watch on a persistently watched path turns
// the data-table watch into a one-shot one (3.9's ZOOKEEPER-4466 keeps both).
func TestCompatStandardWatchReplacesPersistent(t *testing.T) {
	_, addr := startServer(t, nil)
	a, b := rawDial(t, addr), rawDial(t, addr)
	mustCall(t, b, jute.OpCreate, rawzk.CreateBody("/a", nil, openACL, 0))
	mustCall(t, a, jute.OpAddWatch, rawzk.PathTypeBody("/a", jute.AddWatchPersistent))
	mustCall(t, a, jute.OpGetData, rawzk.PathWatchBody("/a", true))
	mustCall(t, b, jute.OpSetData, rawzk.SetDataBody("/a", []byte("1"), -1))
	mustCall(t, b, jute.OpSetData, rawzk.SetDataBody("/a", []byte("2"), -1))
	// The child table still holds the persistent watch.
	mustCall(t, b, jute.OpCreate, rawzk.CreateBody("/a/c", nil, openACL, 0))
	want := []string{"changed:/a", "children:/a"}
	if got := events(t, a); !sameList(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// 3.8's addWatch/setWatches put a PERSISTENT_RECURSIVE watch in the child table too
// (DataTree.addWatch), so checkWatches and removeWatches of type Children find it; it
// still never fires NodeChildrenChanged.
func TestCompatRecursiveWatchInChildTable(t *testing.T) {
	_, addr := startServer(t, nil)
	a, b := rawDial(t, addr), rawDial(t, addr)
	mustCall(t, b, jute.OpCreate, rawzk.CreateBody("/r", nil, openACL, 0))
	mustCall(t, a, jute.OpAddWatch, rawzk.PathTypeBody("/r", jute.AddWatchPersistentRecursive))
	mustCall(t, a, jute.OpCheckWatches, rawzk.PathTypeBody("/r", jute.WatcherChildren))
	mustCall(t, b, jute.OpCreate, rawzk.CreateBody("/r/x", nil, openACL, 0))
	want := []string{"created:/r/x"}
	if got := events(t, a); !sameList(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	mustCall(t, a, jute.OpRemoveWatches, rawzk.PathTypeBody("/r", jute.WatcherChildren))
	if code := call(t, a, jute.OpCheckWatches, rawzk.PathTypeBody("/r", jute.WatcherChildren)); code != jute.NoWatcher {
		t.Fatalf("checkWatches Children after remove: %d, want NOWATCHER", code)
	}
	// The data-table entry is separate and still recursive.
	mustCall(t, b, jute.OpSetData, rawzk.SetDataBody("/r/x", []byte("1"), -1))
	want = append(want, "changed:/r/x")
	if got := events(t, a); !sameList(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// DataTree.getAllChildrenNumber counts node-map keys under path+"/": for "" that includes
// "/" itself, one more than for "/".
func TestCompatAllChildrenNumberOfEmptyPath(t *testing.T) {
	_, addr := startServer(t, nil)
	c := rawDial(t, addr)
	mustCall(t, c, jute.OpCreate, rawzk.CreateBody("/a", nil, openACL, 0))
	count := func(p string) int32 {
		pk, err := c.Call(jute.OpGetAllChildrenNumber, rawzk.PathBody(p))
		if err != nil || pk.Hdr.Err != 0 {
			t.Fatalf("getAllChildrenNumber %q: %v %d", p, err, pk.Hdr.Err)
		}
		v, err := rawzk.DecodeBody(jute.OpGetAllChildrenNumber, pk.Body)
		if err != nil {
			t.Fatal(err)
		}
		return v.(rawzk.IntResp).N
	}
	root, empty := count("/"), count("")
	if root != 4 { // /zookeeper, /zookeeper/quota, /zookeeper/config, /a
		t.Fatalf(`"/" counts %d, want 4`, root)
	}
	if empty != root+1 {
		t.Fatalf(`"" counts %d, want %d`, empty, root+1)
	}
}

// closeSession deletes the session's ephemerals in the iteration order of the Java HashSet
// PrepRequestProcessor puts into CloseSessionTxn.paths2Delete, and watchers see the events
// in that order.
func TestCompatCloseSessionDeletesInJavaSetOrder(t *testing.T) {
	_, addr := startServer(t, nil)
	owner, watcher := rawDial(t, addr), rawDial(t, addr)
	mustCall(t, owner, jute.OpCreate, rawzk.CreateBody("/x", nil, openACL, 0))
	names := []string{"b", "a", "c0000000001", "c0000000000", "zz", "y"}
	js := datatree.NewJavaStringSet()
	for _, n := range names {
		mustCall(t, owner, jute.OpCreate, rawzk.CreateBody("/x/"+n, nil, openACL, 1))
		js.Add("/x/" + n)
	}
	for _, n := range names {
		mustCall(t, watcher, jute.OpExists, rawzk.PathWatchBody("/x/"+n, true))
	}
	order := js.Clone().Order()
	if sorted := []string{"/x/a", "/x/b", "/x/c0000000000", "/x/c0000000001", "/x/y", "/x/zz"}; sameList(order, sorted) {
		t.Fatal("test paths must not be in sorted order in a Java HashSet")
	}
	if got, want := closeSessionEvents(t, owner, watcher, order); !sameList(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// closeSessionEvents closes owner's session and returns the events watcher got, and the
// deletions of order, in that order, it should have got.
func closeSessionEvents(t *testing.T, owner, watcher *rawzk.Conn, order []string) (got, want []string) {
	t.Helper()
	mustCall(t, owner, jute.OpCloseSession, nil)
	owner.WaitClosed(5 * time.Second)
	for _, p := range order {
		want = append(want, "deleted:"+p)
	}
	return events(t, watcher), want
}

// A connection the server closes (here for an unknown opcode) loses its watches before the
// client sees the close, as Apache's NIOServerCnxn.close removes the cnxn's watches; in 3.8
// checkWatches answers for any watcher on the path, so a leftover would show.
func TestCompatWatchesGoWhenServerClosesConnection(t *testing.T) {
	_, addr := startServer(t, nil)
	a, b := rawDial(t, addr), rawDial(t, addr)
	mustCall(t, a, jute.OpAddWatch, rawzk.PathTypeBody("/w", jute.AddWatchPersistent))
	mustCall(t, b, jute.OpCheckWatches, rawzk.PathTypeBody("/w", jute.WatcherData))
	if err := a.Send(a.NextXid(), 999, nil); err != nil {
		t.Fatal(err)
	}
	if !a.WaitClosed(5 * time.Second) {
		t.Fatal("connection not closed after an unknown opcode")
	}
	if code := call(t, b, jute.OpCheckWatches, rawzk.PathTypeBody("/w", jute.WatcherData)); code != jute.NoWatcher {
		t.Fatalf("checkWatches after the watcher's connection closed: %d, want NOWATCHER", code)
	}
}
