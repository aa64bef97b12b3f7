package server

import (
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

// The request throttler (RequestThrottler): with request_throttle_max_requests in process, a
// connection's next request waits (request_throttle_wait_count); one that waited longer
// than throttled_op_wait_time is answered THROTTLEDOP without running; one whose connection
// the server closed meanwhile is dropped (stale_requests_dropped) and never runs.
func TestRequestThrottle(t *testing.T) {
	ens, s, addr := startHeldLeader(t, map[string]string{
		"zookeeper.request_throttle_max_requests": "2",
		"zookeeper.request_throttle_stall_time":   "20",
		"zookeeper.throttled_op_wait_time":        "150",
		"zookeeper.4lw.commands.whitelist":        "mntr",
	}, nil)
	a, b, c := rawSession(t, addr, rawzk.ConnectOptions{}), rawSession(t, addr, rawzk.ConnectOptions{}), rawSession(t, addr, rawzk.ConnectOptions{})
	acl := jute.OpenACLUnsafe

	ens.setHold(true)
	a.Send(1, jute.OpCreate, rawzk.CreateBody("/a1", nil, acl, 0))
	a.Send(2, jute.OpCreate, rawzk.CreateBody("/a2", nil, acl, 0))
	deadline := time.Now().Add(5 * time.Second)
	for ens.held() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ens.held() != 2 {
		t.Fatalf("%d creates in process, want 2", ens.held())
	}

	// Two requests in process: a read waits, however cheap.
	b.Send(1, jute.OpExists, rawzk.PathWatchBody("/", false))
	if p, err := b.WaitReply(1, 300*time.Millisecond); err == nil {
		t.Fatalf("exists answered while 2 requests were in process: %+v", p.Hdr)
	}
	if n := mntrValue(t, addr, "zk_request_throttle_wait_count"); n == 0 {
		t.Fatal("zk_request_throttle_wait_count = 0 with a request waiting")
	}

	// A create waits as well; its session moves to another connection, which closes this
	// one: the create is stale, dropped, and never runs.
	c.Send(1, jute.OpCreate, rawzk.CreateBody("/c", nil, acl, 0))
	time.Sleep(50 * time.Millisecond)
	d := rawSession(t, addr, rawzk.ConnectOptions{SessionID: c.SessionID(), Passwd: c.Passwd()})
	if !c.WaitClosed(5 * time.Second) {
		t.Fatal("the moved session's old connection stayed open")
	}
	for mntrValue(t, addr, "zk_stale_requests_dropped") != 1 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("zk_stale_requests_dropped did not reach 1")
		}
		time.Sleep(10 * time.Millisecond)
	}

	ens.setHold(false)
	ens.release()
	for xid := int32(1); xid <= 2; xid++ {
		if p, err := a.WaitReply(xid, 10*time.Second); err != nil || p.Hdr.Err != 0 {
			t.Fatalf("create %d: %+v, %v", xid, p.Hdr, err)
		}
	}
	p, err := b.WaitReply(1, 10*time.Second)
	if err != nil || p.Hdr.Err != int32(jute.ThrottledOp) {
		t.Fatalf("exists that waited over throttled_op_wait_time: %+v, %v; want THROTTLEDOP", p.Hdr, err)
	}
	if p, err := b.Call(jute.OpExists, rawzk.PathWatchBody("/", false)); err != nil || p.Hdr.Err != 0 {
		t.Fatalf("exists with nothing in process: %+v, %v", p.Hdr, err)
	}
	if p, err := d.Call(jute.OpExists, rawzk.PathWatchBody("/c", false)); err != nil || p.Hdr.Err != int32(jute.NoNode) {
		t.Fatalf("exists /c after its create was dropped: %+v, %v; want NONODE", p.Hdr, err)
	}
	if n := mntrValue(t, addr, "zk_throttled_ops"); n != 1 {
		t.Fatalf("zk_throttled_ops = %d, want 1", n)
	}
	// A write's slot is given back just after its reply is queued: allow the apply
	// goroutine a moment.
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.reqThrottle.mu.Lock()
		n := s.reqThrottle.inProcess
		s.reqThrottle.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d requests still in process after every one was answered", n)
		}
	}
}

// With request_stale_latency_check a request is stale once older than its session timeout:
// a new session's createSession has the negotiated timeout from the start, so it is neither
// stale nor dropped (processConnectRequest sets the timeout first).
func TestRequestThrottleLatencyCheckKeepsNewSessions(t *testing.T) {
	_, _, addr := startHeldLeader(t, map[string]string{
		"zookeeper.request_throttle_max_requests": "5",
		"zookeeper.request_stale_latency_check":   "true",
		"zookeeper.4lw.commands.whitelist":        "mntr",
	}, nil)
	for i := 0; i < 3; i++ {
		c, err := rawzk.Dial(addr, rawzk.ConnectOptions{})
		if err != nil || c.SessionID() == 0 {
			t.Fatalf("session %d: %v (id %#x)", i, err, c.SessionID())
		}
		c.Close()
	}
	for _, key := range []string{"zk_stale_requests", "zk_stale_requests_dropped", "zk_stale_replies"} {
		if n := mntrValue(t, addr, key); n != 0 {
			t.Errorf("%s = %d after opening sessions", key, n)
		}
	}
}

// A waiting request whose connection closed, with stale requests kept
// (request_throttle_drop_stale=false), waits like any other: once per stall time, not in a
// loop on the closed connection.
func TestRequestThrottleClosedConnectionWaits(t *testing.T) {
	ens, _, addr := startHeldLeader(t, map[string]string{
		"zookeeper.request_throttle_max_requests": "1",
		"zookeeper.request_throttle_stall_time":   "100",
		"zookeeper.request_throttle_drop_stale":   "false",
		"zookeeper.4lw.commands.whitelist":        "mntr",
	}, nil)
	a, b := rawSession(t, addr, rawzk.ConnectOptions{}), rawSession(t, addr, rawzk.ConnectOptions{})
	ens.setHold(true)
	a.Send(1, jute.OpCreate, rawzk.CreateBody("/a", nil, jute.OpenACLUnsafe, 0))
	deadline := time.Now().Add(5 * time.Second)
	for ens.held() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b.Send(1, jute.OpCreate, rawzk.CreateBody("/b", nil, jute.OpenACLUnsafe, 0))
	time.Sleep(50 * time.Millisecond)
	rawSession(t, addr, rawzk.ConnectOptions{SessionID: b.SessionID(), Passwd: b.Passwd()}) // closes b
	if !b.WaitClosed(5 * time.Second) {
		t.Fatal("the moved session's old connection stayed open")
	}
	before := mntrValue(t, addr, "zk_request_throttle_wait_count")
	time.Sleep(500 * time.Millisecond)
	if n := mntrValue(t, addr, "zk_request_throttle_wait_count") - before; n > 10 {
		t.Fatalf("%d waits in 500 ms with a stall time of 100 ms: the closed connection's reader spins", n)
	}
	ens.setHold(false)
	ens.release()
}
