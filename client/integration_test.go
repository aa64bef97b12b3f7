package client_test

import (
	"errors"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zkgo/zkgo/client"
	"github.com/zkgo/zkgo/client/clienttest"
)

// events collects the events a watcher gets.
type events struct {
	mu  sync.Mutex
	got []client.Event
	ch  chan client.Event
}

func newEvents() *events { return &events{ch: make(chan client.Event, 100)} }

func (e *events) Process(ev client.Event) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
	e.ch <- ev
}

// next waits for the next event.
func (e *events) next(t *testing.T) client.Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return client.Event{}
}

// waitFor skips events until one matches.
func (e *events) waitFor(t *testing.T, typ client.EventType, state client.KeeperState, path string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ev.Type == typ && ev.State == state && ev.Path == path {
				return
			}
		case <-deadline:
			t.Fatalf("no %v/%v event for %q", typ, state, path)
		}
	}
}

// none checks that no event arrives for a while.
func (e *events) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-e.ch:
		t.Fatalf("unexpected event %v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}

func connect(t *testing.T, addrs []string, timeout time.Duration, opts ...client.Option) (*client.Conn, *events) {
	t.Helper()
	ev := newEvents()
	opts = append([]client.Option{client.WithWatcher(ev), client.WithReconnectDelay(50 * time.Millisecond)}, opts...)
	c, err := client.Connect(addrs, timeout, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ev.waitFor(t, client.EventNone, client.StateSyncConnected, "")
	return c, ev
}

func TestSessionEstablishment(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	// ZooKeeper bounds the timeout to [2, 20] ticks: 1s is raised to 4s, 100s lowered to 40s.
	for _, tc := range []struct{ ask, want time.Duration }{{time.Second, 4 * time.Second}, {100 * time.Second, 40 * time.Second}, {10 * time.Second, 10 * time.Second}} {
		c, _ := connect(t, []string{addr}, tc.ask)
		if c.SessionTimeout() != tc.want || c.SessionID() == 0 || c.State() != client.Connected {
			t.Errorf("asked %v: timeout %v, session %x, state %v", tc.ask, c.SessionTimeout(), c.SessionID(), c.State())
		}
	}
	// the readOnly byte is sent (-r): a read-write server answers as one
	c, _ := connect(t, []string{addr}, 10*time.Second, client.WithReadOnly(true))
	if c.State() != client.Connected {
		t.Errorf("readOnly client on a read-write server: %v", c.State())
	}
}

func TestRequestsQueuedWhileConnecting(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, err := client.Connect([]string{addr}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// no wait for the session: the request waits for it (zkCli's batch mode relies on this)
	if _, err := c.Create("/q", []byte("x"), client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
}

func TestCRUD(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, _ := connect(t, []string{addr}, 10*time.Second)
	p, err := c.Create("/a", []byte("x"), client.OpenACLUnsafe, client.ModePersistent)
	if err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	_, err = c.Create("/a", nil, client.OpenACLUnsafe, client.ModePersistent)
	if !errors.Is(err, client.ErrNodeExists) || err.Error() != "KeeperErrorCode = NodeExists for /a" {
		t.Fatalf("create again: %v", err)
	}
	if _, err := c.Create("/nope/x", nil, client.OpenACLUnsafe, client.ModePersistent); !errors.Is(err, client.ErrNoNode) {
		t.Fatalf("create under missing parent: %v", err)
	}
	if _, err := c.Create("a", nil, client.OpenACLUnsafe, client.ModePersistent); err == nil || err.Error() != "Path must start with / character" {
		t.Fatalf("relative path: %v", err)
	}
	if _, err := c.Create("/b", nil, nil, client.ModePersistent); !errors.Is(err, client.ErrInvalidACL) {
		t.Fatalf("empty ACL: %v", err)
	}
	seq, err := c.Create("/a/s-", nil, client.OpenACLUnsafe, client.ModePersistentSequential)
	if err != nil || seq != "/a/s-0000000000" {
		t.Fatalf("sequential: %q %v", seq, err)
	}
	p, st, err := c.Create2("/a/c", []byte("cc"), client.OpenACLUnsafe, client.ModePersistent)
	if err != nil || p != "/a/c" || st == nil || st.DataLength != 2 {
		t.Fatalf("create2: %q %+v %v", p, st, err)
	}
	data, st, err := c.GetData("/a", nil)
	if err != nil || string(data) != "x" || st.NumChildren != 2 {
		t.Fatalf("get: %q %+v %v", data, st, err)
	}
	// null data stays null
	if _, err := c.Create("/null", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := c.GetData("/null", nil); data != nil {
		t.Fatalf("null data read as %q", data)
	}
	st, err = c.SetData("/a", []byte("y"), 0)
	if err != nil || st.Version != 1 {
		t.Fatalf("set: %+v %v", st, err)
	}
	if _, err := c.SetData("/a", []byte("z"), 0); !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("set with an old version: %v", err)
	}
	if st, err := c.Exists("/missing", nil); st != nil || err != nil {
		t.Fatalf("exists of a missing node: %+v %v", st, err)
	}
	kids, err := c.GetChildren("/a", nil)
	sort.Strings(kids)
	if err != nil || len(kids) != 2 || kids[0] != "c" {
		t.Fatalf("children: %v %v", kids, err)
	}
	kids, st, err = c.GetChildren2("/a", nil)
	if err != nil || len(kids) != 2 || st.NumChildren != 2 {
		t.Fatalf("children2: %v %+v %v", kids, st, err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, client.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if n, err := c.GetAllChildrenNumber("/a"); err != nil || n != 2 {
		t.Fatalf("getAllChildrenNumber: %d %v", n, err)
	}
	if p, err := c.Sync("/a"); err != nil || p != "/a" {
		t.Fatalf("sync: %q %v", p, err)
	}
	acl, st, err := c.GetACL("/a")
	if err != nil || len(acl) != 1 || acl[0].Id.Scheme != "world" || acl[0].Perms != client.PermAll || st == nil {
		t.Fatalf("getACL: %v %v", acl, err)
	}
	if st, err := c.SetACL("/a", []client.ACL{{Perms: client.PermRead | client.PermDelete | client.PermCreate, Id: client.ID{Scheme: "world", ID: "anyone"}}}, -1); err != nil || st.Aversion != 1 {
		t.Fatalf("setACL: %v", err)
	}
	if _, err := c.SetData("/a", nil, -1); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("set without write permission: %v", err)
	}
	for _, p := range []string{"/a/s-0000000000", "/a/c", "/a", "/null"} {
		if err := c.Delete(p, -1); err != nil {
			t.Fatalf("delete %s: %v", p, err)
		}
	}
	if err := c.Delete("/a", -1); !errors.Is(err, client.ErrNoNode) || err.Error() != "KeeperErrorCode = NoNode for /a" {
		t.Fatalf("delete again: %v", err)
	}
}

func TestEphemeralsAndWhoAmI(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, _ := connect(t, []string{addr}, 10*time.Second)
	for _, p := range []string{"/e1", "/e2"} {
		if _, err := c.Create(p, nil, client.OpenACLUnsafe, client.ModeEphemeral); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create("/e1/x", nil, client.OpenACLUnsafe, client.ModePersistent); !errors.Is(err, client.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of an ephemeral: %v", err)
	}
	eph, err := c.GetEphemerals("/")
	sort.Strings(eph)
	if err != nil || len(eph) != 2 || eph[0] != "/e1" {
		t.Fatalf("getEphemerals: %v %v", eph, err)
	}
	if eph, _ := c.GetEphemerals("/e2"); len(eph) != 1 {
		t.Fatalf("prefix: %v", eph)
	}
	ids, err := c.WhoAmI()
	if err != nil || len(ids) != 1 || ids[0].AuthScheme != "ip" || ids[0].User != "127.0.0.1" {
		t.Fatalf("whoAmI: %v %v", ids, err)
	}
	// ephemerals go with the session
	c.Close()
	c2, _ := connect(t, []string{addr}, 10*time.Second)
	if st, _ := c2.Exists("/e1", nil); st != nil {
		t.Fatal("ephemeral survived its session")
	}
}

func TestOneShotWatches(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, ev := connect(t, []string{addr}, 10*time.Second)
	w := newEvents()
	if _, err := c.Create("/w", []byte("d"), client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetData("/w", w); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetData("/w", w); err != nil { // same watcher twice: one event
		t.Fatal(err)
	}
	if _, err := c.GetChildren("/w", client.DefaultWatcher); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Exists("/w/new", client.DefaultWatcher); st != nil || err != nil {
		t.Fatal(st, err)
	}
	if _, err := c.SetData("/w", []byte("e"), -1); err != nil {
		t.Fatal(err)
	}
	if got := w.next(t); got != (client.Event{Type: client.EventNodeDataChanged, State: client.StateSyncConnected, Path: "/w"}) {
		t.Fatalf("data watch: %v", got)
	}
	w.none(t)
	if _, err := c.Create("/w/new", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	// exists watch (NodeCreated) and child watch (NodeChildrenChanged), on the default watcher
	got := []client.Event{ev.next(t), ev.next(t)}
	sort.Slice(got, func(i, j int) bool { return got[i].Type < got[j].Type })
	if got[0].Type != client.EventNodeCreated || got[0].Path != "/w/new" || got[1].Type != client.EventNodeChildrenChanged || got[1].Path != "/w" {
		t.Fatalf("events: %v", got)
	}
	if _, err := c.SetData("/w", []byte("f"), -1); err != nil {
		t.Fatal(err)
	}
	w.none(t)
	ev.none(t)
}

func TestPersistentWatchesAndRemoval(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, ev := connect(t, []string{addr}, 10*time.Second)
	if _, err := c.Create("/p", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if err := c.AddWatch("/p", client.DefaultWatcher, client.AddWatchPersistentRecursive); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/p/a", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, client.EventNodeCreated, client.StateSyncConnected, "/p/a")
	for i := 0; i < 2; i++ { // stays after firing
		if _, err := c.SetData("/p/a", []byte{byte(i)}, -1); err != nil {
			t.Fatal(err)
		}
		ev.waitFor(t, client.EventNodeDataChanged, client.StateSyncConnected, "/p/a")
	}
	if err := c.RemoveWatches("/p", nil, client.WatcherAny, false); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(t); got.Type != client.EventPersistentWatchRemoved || got.Path != "/p" {
		t.Fatalf("removal event: %v", got)
	}
	if _, err := c.SetData("/p/a", []byte("z"), -1); err != nil {
		t.Fatal(err)
	}
	ev.none(t)
	if err := c.RemoveWatches("/p", nil, client.WatcherAny, false); !errors.Is(err, client.ErrNoWatcher) || err.Error() != "KeeperErrorCode = No such watcher for /p" {
		t.Fatalf("second removal: %v", err)
	}
	// data watch removed by type, locally
	if _, _, err := c.GetData("/p", client.DefaultWatcher); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckWatches("/p", client.WatcherData); err != nil {
		t.Fatalf("checkWatches: %v", err)
	}
	if err := c.RemoveWatches("/p", nil, client.WatcherData, true); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(t); got.Type != client.EventDataWatchRemoved {
		t.Fatalf("data removal event: %v", got)
	}
	// non-recursive persistent watch: the node's own changes and its children list
	if err := c.AddWatch("/p", client.DefaultWatcher, client.AddWatchPersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/p/b", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, client.EventNodeChildrenChanged, client.StateSyncConnected, "/p")
	if _, err := c.SetData("/p/b", nil, -1); err != nil {
		t.Fatal(err)
	}
	ev.none(t)
}

func TestMulti(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, _ := connect(t, []string{addr}, 10*time.Second)
	res, err := c.Multi(
		&client.CreateOp{Path: "/m", Data: []byte("1"), ACL: client.OpenACLUnsafe},
		&client.CreateOp{Path: "/m/x", ACL: client.OpenACLUnsafe, Stat: true},
		&client.SetDataOp{Path: "/m", Data: []byte("2"), Version: 0},
		&client.CheckOp{Path: "/m", Version: 1},
	)
	if err != nil || len(res) != 4 || res[0].Path != "/m" || res[1].Path != "/m/x" || res[2].Stat.Version != 1 {
		t.Fatalf("multi: %+v %v", res, err)
	}
	res, err = c.Multi(&client.DeleteOp{Path: "/m/x", Version: -1}, &client.DeleteOp{Path: "/m/nope", Version: -1})
	if !errors.Is(err, client.ErrNoNode) || len(res) != 2 {
		t.Fatalf("failing multi: %+v %v", res, err)
	}
	if st, _ := c.Exists("/m/x", nil); st == nil {
		t.Fatal("a failed multi must change nothing")
	}
	if _, err := c.Multi(&client.DeleteOp{Path: "bad"}); err == nil {
		t.Fatal("invalid path in a multi")
	}
}

func TestAuth(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, _ := connect(t, []string{addr}, 10*time.Second)
	c.AddAuth("digest", []byte("user1:pass1"))
	acl := []client.ACL{{Perms: client.PermAll, Id: client.ID{Scheme: "auth", ID: ""}}}
	if _, err := c.Create("/sec", []byte("s"), acl, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	ids, _ := c.WhoAmI()
	if len(ids) != 2 {
		t.Fatalf("whoami after addauth: %v", ids)
	}
	other, _ := connect(t, []string{addr}, 10*time.Second)
	if _, _, err := other.GetData("/sec", nil); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("unauthenticated read: %v", err)
	}
	other.AddAuth("digest", []byte("user1:pass1"))
	if data, _, err := other.GetData("/sec", nil); err != nil || string(data) != "s" {
		t.Fatalf("authenticated read: %q %v", data, err)
	}
	// an unknown scheme ends the session: AuthFailed, then no further use
	bad, ev := connect(t, []string{addr}, 10*time.Second)
	bad.AddAuth("foo", []byte("bar"))
	ev.waitFor(t, client.EventNone, client.StateAuthFailed, "")
	if bad.State() != client.AuthFailed {
		t.Fatalf("state %v", bad.State())
	}
	if _, err := bad.Exists("/", nil); !errors.Is(err, client.ErrAuthFailed) {
		t.Fatalf("request after auth failure: %v", err)
	}
}

func TestTTLAndContainer(t *testing.T) {
	_, addr := clienttest.Start(t, 0, map[string]string{"zookeeper.extendedTypesEnabled": "true"})
	c, _ := connect(t, []string{addr}, 10*time.Second)
	p, st, err := c.CreateTTL("/t-", []byte("t"), client.OpenACLUnsafe, client.ModePersistentSequentialWithTTL, 60000)
	if err != nil || p != "/t-0000000000" || st == nil || st.EphemeralOwner != 0 {
		t.Fatalf("createTTL: %q %+v %v", p, st, err)
	}
	if _, _, err := c.CreateTTL("/t0", nil, client.OpenACLUnsafe, client.ModePersistentWithTTL, 0); err == nil {
		t.Fatal("ttl 0 accepted")
	}
	if _, err := c.Create("/cont", nil, client.OpenACLUnsafe, client.ModeContainer); err != nil {
		t.Fatal(err)
	}
}

func TestConfigAndReconfig(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, _ := connect(t, []string{addr}, 10*time.Second)
	if _, st, err := c.GetConfig(client.DefaultWatcher); err != nil || st == nil {
		t.Fatalf("getConfig: %v", err)
	}
	_, _, err := c.Reconfig("server.2=127.0.0.1:2888:3888;2181", "", "", -1)
	if !errors.Is(err, client.ErrReconfigDisabled) || err.Error() != "KeeperErrorCode = Reconfig is disabled" {
		t.Fatalf("reconfig: %v", err)
	}
}

// proxy forwards one address to another and can cut every connection, so tests can make a
// client lose its server.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	block  bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			blocked := p.block
			p.mu.Unlock()
			if blocked {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setBlock(b bool) {
	p.mu.Lock()
	p.block = b
	p.mu.Unlock()
}

// A lost connection is re-established (here through the next server of the list) with the
// same session; ephemerals survive and watches are set again (setWatches / setWatches2).
func TestReconnectKeepsSessionAndWatches(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	p1, p2 := newProxy(t, addr), newProxy(t, addr)
	c, ev := connect(t, []string{p1.addr(), p2.addr()}, 10*time.Second)
	other, _ := connect(t, []string{addr}, 10*time.Second)
	sid := c.SessionID()
	if _, err := c.Create("/r", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/eph", nil, client.OpenACLUnsafe, client.ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GetData("/r", client.DefaultWatcher); err != nil {
		t.Fatal(err)
	}
	if err := c.AddWatch("/r", client.DefaultWatcher, client.AddWatchPersistentRecursive); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Exists("/r/later", client.DefaultWatcher); st != nil || err != nil {
		t.Fatal(st, err)
	}
	// change the data while the client is away: the data watch fires on reconnect
	p1.setBlock(true)
	p2.setBlock(true)
	p1.cut()
	p2.cut()
	ev.waitFor(t, client.EventNone, client.StateDisconnected, "")
	if _, err := other.SetData("/r", []byte("changed"), -1); err != nil {
		t.Fatal(err)
	}
	p2.setBlock(false) // p1 stays down: the client must move on to p2
	ev.waitFor(t, client.EventNone, client.StateSyncConnected, "")
	if c.SessionID() != sid {
		t.Fatalf("session changed: %x -> %x", sid, c.SessionID())
	}
	ev.waitFor(t, client.EventNodeDataChanged, client.StateSyncConnected, "/r")
	if _, err := other.Create("/r/later", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, client.EventNodeCreated, client.StateSyncConnected, "/r/later")
	if st, err := other.Exists("/eph", nil); st == nil || err != nil || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral after reconnect: %+v %v", st, err)
	}
}

// Requests in flight when the connection drops fail with ConnectionLoss; later ones work.
func TestConnectionLossThenRecovery(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	p := newProxy(t, addr)
	c, ev := connect(t, []string{p.addr()}, 10*time.Second)
	p.cut()
	ev.waitFor(t, client.EventNone, client.StateDisconnected, "")
	ev.waitFor(t, client.EventNone, client.StateSyncConnected, "")
	if _, err := c.Create("/after", nil, client.OpenACLUnsafe, client.ModePersistent); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
}

// A session the server has expired is reported once the client gets back: Expired, and the
// connection is closed for good.
func TestSessionExpiry(t *testing.T) {
	_, addr := clienttest.Start(t, 100, nil) // tickTime 100ms: session timeouts from 200ms
	p := newProxy(t, addr)
	c, ev := connect(t, []string{p.addr()}, 400*time.Millisecond)
	p.setBlock(true)
	p.cut()
	ev.waitFor(t, client.EventNone, client.StateDisconnected, "")
	time.Sleep(1500 * time.Millisecond) // well past the timeout: the server expires the session
	p.setBlock(false)
	ev.waitFor(t, client.EventNone, client.StateExpired, "")
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != client.Closed && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.State() != client.Closed {
		t.Fatalf("state after expiry: %v", c.State())
	}
	if _, err := c.Exists("/", nil); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("request on an expired session: %v", err)
	}
}

// Pings (every third of the timeout) keep an idle session alive well past its timeout.
func TestPingsKeepSessionAlive(t *testing.T) {
	_, addr := clienttest.Start(t, 100, nil)
	c, ev := connect(t, []string{addr}, 400*time.Millisecond)
	sid := c.SessionID()
	time.Sleep(2 * time.Second)
	ev.none(t)
	if _, err := c.Exists("/", nil); err != nil || c.SessionID() != sid {
		t.Fatalf("after idling: %v", err)
	}
}

func TestCloseDeliversClosed(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	c, ev := connect(t, []string{addr}, 10*time.Second)
	if _, err := c.Create("/gone", nil, client.OpenACLUnsafe, client.ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Close returns after the watchers saw Closed
	ev.mu.Lock()
	last := ev.got[len(ev.got)-1]
	ev.mu.Unlock()
	if last.State != client.StateClosed || c.State() != client.Closed {
		t.Fatalf("last event %v, state %v", last, c.State())
	}
	if _, err := c.Exists("/", nil); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("request after close: %v", err)
	}
	c.Close() // idempotent
	other, _ := connect(t, []string{addr}, 10*time.Second)
	if st, _ := other.Exists("/gone", nil); st != nil {
		t.Fatal("closeSession did not remove the ephemeral")
	}
}
