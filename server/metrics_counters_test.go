package server

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
)

// Tests that the ServerMetrics counters and summaries of the client side move where Apache
// ZooKeeper 3.8's do, driven through the client port.

// startTuned is startConfigured for a server whose address the test takes from it.
func startTuned(t *testing.T, props map[string]string, tune func(*config.Config)) *Server {
	t.Helper()
	s, _ := startConfigured(t, props, tune, nil)
	return s
}

// waitFor polls cond for up to 3 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitNoConns waits until the server has torn down every client connection.
func waitNoConns(t *testing.T, s *Server) {
	t.Helper()
	waitFor(t, "the server to drop its connections", func() bool { return len(s.connList()) == 0 })
}

func wantCount(t *testing.T, s *Server, c Counter, want int64) {
	t.Helper()
	if got := s.Counted(c); got != want {
		t.Errorf("%s = %d, want %d", counterNames[c], got, want)
	}
}

func wantObserved(t *testing.T, s *Server, m Metric, cnt, sum int64) {
	t.Helper()
	if c, su := s.Observed(m); c != cnt || su != sum {
		t.Errorf("%s: cnt %d sum %d, want cnt %d sum %d", metricDefs[m].name, c, su, cnt, sum)
	}
}

func rawSession(t *testing.T, addr string, o rawzk.ConnectOptions) *rawzk.Conn {
	t.Helper()
	c, err := rawzk.Dial(addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMetricConnectionRevalidateCount: every ConnectRequest naming a session counts once
// the session is reopened, with a good password or not (ZooKeeperServer.processConnectRequest
// counts after reopenSession); a new session and a refusal before the reopen do not.
func TestMetricConnectionRevalidateCount(t *testing.T) {
	s := startTuned(t, nil, nil)
	addr := s.Addr().String()
	c := rawSession(t, addr, rawzk.ConnectOptions{})
	id, pw := c.SessionID(), c.Passwd()
	wantCount(t, s, ConnectionRevalidateCount, 0)

	if r := rawSession(t, addr, rawzk.ConnectOptions{SessionID: id, Passwd: pw}); r.SessionID() != id {
		t.Fatalf("resume: session 0x%x, want 0x%x", r.SessionID(), id)
	}
	wantCount(t, s, ConnectionRevalidateCount, 1)
	if r := rawSession(t, addr, rawzk.ConnectOptions{SessionID: id, Passwd: make([]byte, 16)}); r.SessionID() != 0 {
		t.Fatalf("wrong password: session 0x%x, want 0 (expired)", r.SessionID())
	}
	wantCount(t, s, ConnectionRevalidateCount, 2)
	// A client that has seen a later zxid is refused before the reopen.
	if _, err := rawzk.Dial(addr, rawzk.ConnectOptions{SessionID: id, Passwd: pw, LastZxid: 1 << 40}); err == nil {
		t.Fatal("a client ahead of the server was answered")
	}
	wantCount(t, s, ConnectionRevalidateCount, 2)
	wantCount(t, s, ConnectionRequestCount, 4)
}

// TestMetricConnectionRejected: a connection over maxClientCnxns is refused and counted.
func TestMetricConnectionRejected(t *testing.T) {
	s := startTuned(t, nil, func(c *config.Config) { c.MaxClientCnxns = 1 })
	addr := s.Addr().String()
	rawSession(t, addr, rawzk.ConnectOptions{})
	if _, err := rawzk.Dial(addr, rawzk.ConnectOptions{}); err == nil {
		t.Fatal("a second connection from the address was accepted")
	}
	wantCount(t, s, ConnectionRejected, 1)
	wantCount(t, s, ConnectionRequestCount, 1)
	wantCount(t, s, ConnectionDropCount, 0)
}

// TestMaxCnxnsLimitsAllClientConnections: zookeeper.maxCnxns (the zoo.cfg key maxCnxns) caps
// the client connections of all addresses together, four-letter-word ones included
// (NIOServerCnxnFactory.limitTotalNumberOfCnxns); a refused one is counted, and a place
// freed by a closed connection is taken again.
func TestMaxCnxnsLimitsAllClientConnections(t *testing.T) {
	s := startTuned(t, map[string]string{"zookeeper.maxCnxns": "2"}, nil)
	addr := s.Addr().String()
	a := rawSession(t, addr, rawzk.ConnectOptions{})
	idle, err := net.Dial("tcp", addr) // no session yet: it counts all the same
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	waitFor(t, "two connections", func() bool { return len(s.connList()) == 2 })
	if _, err := rawzk.Dial(addr, rawzk.ConnectOptions{}); err == nil {
		t.Fatal("a third connection was accepted with zookeeper.maxCnxns=2")
	}
	wantCount(t, s, ConnectionRejected, 1)
	a.Close()
	waitFor(t, "a connection to go", func() bool { return len(s.connList()) == 1 })
	rawSession(t, addr, rawzk.ConnectOptions{})
	wantCount(t, s, ConnectionRejected, 1)
}

// TestMetricConnectionDropCount: a read that hits the client's EOF counts; a connection the
// server closes (closeSession, expiry) does not, though the client's FIN follows it.
func TestMetricConnectionDropCount(t *testing.T) {
	s := startTuned(t, nil, nil)
	addr := s.Addr().String()

	c := rawSession(t, addr, rawzk.ConnectOptions{})
	mustCall(t, c, jute.OpPing, nil)
	c.Close()
	waitNoConns(t, s)
	wantCount(t, s, ConnectionDropCount, 1)

	// Before any byte, and in the middle of a frame.
	for _, send := range [][]byte{nil, {0, 0, 0, 40, 1, 2}} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(send)
		nc.Close()
	}
	waitFor(t, "drops counted", func() bool { return s.Counted(ConnectionDropCount) == 3 })

	c = rawSession(t, addr, rawzk.ConnectOptions{})
	mustCall(t, c, jute.OpCloseSession, nil)
	if !c.WaitClosed(3 * time.Second) {
		t.Fatal("the server did not close the connection after closeSession")
	}
	c.Close()
	waitNoConns(t, s)
	wantCount(t, s, ConnectionDropCount, 3)
}

// TestMetricSessionlessConnectionsExpired: a connection that opens no session within
// zookeeper.nio.sessionlessCnxnTimeout is closed and counted; one with a session is not.
func TestMetricSessionlessConnectionsExpired(t *testing.T) {
	s := startTuned(t, map[string]string{"zookeeper.nio.sessionlessCnxnTimeout": "100"}, nil)
	addr := s.Addr().String()
	c := rawSession(t, addr, rawzk.ConnectOptions{})
	for _, send := range [][]byte{nil, {0, 0, 0, 40}} { // silent; a connect frame cut short
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write(send)
		nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(nc, make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection without a session: read %v, want EOF (closed by the server)", err)
		}
	}
	wantCount(t, s, SessionlessConnectionsExpired, 2)
	mustCall(t, c, jute.OpPing, nil) // the session's connection outlived the timeout
	wantCount(t, s, SessionlessConnectionsExpired, 2)
	wantCount(t, s, ConnectionDropCount, 0)
}

// TestMetricStaleSessionsExpiredAndPropagation: each session the tracker expires counts.
// Its closeSession's propagation latency is measured only when no connection of the session
// is left here to close (FinalRequestProcessor.applyRequest returns early otherwise).
func TestMetricStaleSessionsExpiredAndPropagation(t *testing.T) {
	s := startTuned(t, nil, func(c *config.Config) { c.TickTime = 20 })
	addr := s.Addr().String()

	// A silent client: its session expires while its connection is open.
	c := rawSession(t, addr, rawzk.ConnectOptions{TimeoutMs: 100})
	if !c.WaitClosed(3 * time.Second) {
		t.Fatal("the expired session's connection was not closed")
	}
	wantCount(t, s, StaleSessionsExpired, 1)
	wantCount(t, s, ConnectionDropCount, 0) // the server closed it
	waitNoConns(t, s)
	propagations := func() int64 { cnt, _ := s.Observed(PropagationLatency); return cnt }
	if n := propagations(); n != 1 { // createSession only
		t.Errorf("propagation_latency cnt %d, want 1", n)
	}

	// A client that went away: nothing here to close, so its closeSession is measured.
	c = rawSession(t, addr, rawzk.ConnectOptions{TimeoutMs: 100})
	c.Close()
	waitNoConns(t, s)
	wantCount(t, s, ConnectionDropCount, 1)
	waitFor(t, "the second closeSession measured", func() bool { return propagations() >= 3 })
	wantCount(t, s, StaleSessionsExpired, 2)
	if n := propagations(); n != 3 {
		t.Errorf("propagation_latency cnt %d, want 3", n)
	}
}

// frameLen is the size of a request frame: the payload and its 4-byte length prefix.
func frameLen(payload []byte) int64 { return int64(4 + len(payload)) }

// TestMetricBytesReceivedCount: every request frame counts with its length prefix, the
// ConnectRequest included (NIOServerCnxn.readPayload); a four-letter word counts 4.
func TestMetricBytesReceivedCount(t *testing.T) {
	s := startTuned(t, nil, nil)
	addr := s.Addr().String()
	c := rawSession(t, addr, rawzk.ConnectOptions{})
	want := frameLen(jute.Marshal(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	wantCount(t, s, BytesReceivedCount, want)

	mustCall(t, c, jute.OpPing, nil)
	want += 4 + 8
	body := rawzk.CreateBody("/b", []byte("value"), openACL, 0)
	mustCall(t, c, jute.OpCreate, body)
	want += 4 + 8 + int64(len(body))
	wantCount(t, s, BytesReceivedCount, want)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("ruok")) // not whitelisted: refused, but received all the same
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, _ := io.ReadAll(nc); len(b) == 0 {
		t.Fatal("no answer to ruok")
	}
	wantCount(t, s, BytesReceivedCount, want+4)
}

// TestMetricWatchBytes: each notification sent counts its serialized size without the
// length prefix (NIOServerCnxn.process adds sendResponse's return value); replies do not.
func TestMetricWatchBytes(t *testing.T) {
	s := startTuned(t, nil, nil)
	addr := s.Addr().String()
	w := rawSession(t, addr, rawzk.ConnectOptions{})
	c := rawSession(t, addr, rawzk.ConnectOptions{})
	if code := call(t, w, jute.OpExists, rawzk.PathWatchBody("/watched/node", true)); code != jute.NoNode {
		t.Fatalf("exists: %d", code)
	}
	mustCall(t, w, jute.OpGetChildren, rawzk.PathWatchBody("/", true))
	mustCall(t, c, jute.OpCreate, rawzk.CreateBody("/watched", nil, openACL, 0))
	mustCall(t, c, jute.OpCreate, rawzk.CreateBody("/watched/node", nil, openACL, 0))
	if got := events(t, w); !sameList(got, []string{"children:/", "created:/watched/node"}) {
		t.Fatalf("events %v", got)
	}
	var want int64
	for _, p := range w.Packets() {
		if p.IsNotification() {
			want += 16 + int64(len(p.Body)) // ReplyHeader and WatcherEvent
		}
	}
	if want != 2*(16+12)+int64(len("/")+len("/watched/node")) {
		t.Fatalf("notification sizes add up to %d", want)
	}
	wantCount(t, s, WatchBytes, want)
}

// TestMetricWatchCounts: for each event that fires watchers, the number it fired, by event
// type, once per watch table, the suppressed watchers included (WatchManager.triggerWatch).
func TestMetricWatchCounts(t *testing.T) {
	s := startTuned(t, nil, nil)
	addr := s.Addr().String()
	a := rawSession(t, addr, rawzk.ConnectOptions{})
	b := rawSession(t, addr, rawzk.ConnectOptions{})
	mustCall(t, a, jute.OpCreate, rawzk.CreateBody("/unwatched", nil, openACL, 0))
	for _, m := range []Metric{NodeCreatedWatchCount, NodeDeletedWatchCount, NodeChangedWatchCount, NodeChildrenWatchCount} {
		wantObserved(t, s, m, 0, 0)
	}

	for _, c := range []*rawzk.Conn{a, b} {
		if code := call(t, c, jute.OpExists, rawzk.PathWatchBody("/n", true)); code != jute.NoNode {
			t.Fatalf("exists: %d", code)
		}
	}
	mustCall(t, a, jute.OpGetChildren, rawzk.PathWatchBody("/", true))
	mustCall(t, a, jute.OpCreate, rawzk.CreateBody("/n", nil, openACL, 0))
	wantObserved(t, s, NodeCreatedWatchCount, 1, 2)
	wantObserved(t, s, NodeChildrenWatchCount, 1, 1)

	mustCall(t, a, jute.OpGetData, rawzk.PathWatchBody("/n", true))
	mustCall(t, b, jute.OpGetData, rawzk.PathWatchBody("/n", true))
	mustCall(t, a, jute.OpGetChildren, rawzk.PathWatchBody("/n", true))
	mustCall(t, a, jute.OpSetData, rawzk.SetDataBody("/n", []byte("x"), -1))
	wantObserved(t, s, NodeChangedWatchCount, 1, 2)

	// The data table fires a's data watch; the child table fires a's child watch, whose
	// event is suppressed (a already has it) but still counted. "/" has no watch left.
	mustCall(t, a, jute.OpGetData, rawzk.PathWatchBody("/n", true))
	mustCall(t, a, jute.OpDelete, rawzk.PathVersionBody("/n", -1))
	wantObserved(t, s, NodeDeletedWatchCount, 2, 2)
	wantObserved(t, s, NodeChildrenWatchCount, 1, 1)
	wantObserved(t, s, NodeCreatedWatchCount, 1, 2)
	wantObserved(t, s, NodeChangedWatchCount, 1, 2)
}

// TestMetricPropagationLatency: every txn applied by the request path is measured from its
// header time, error txns included, reads not.
func TestMetricPropagationLatency(t *testing.T) {
	s := startTuned(t, nil, nil)
	c := rawSession(t, s.Addr().String(), rawzk.ConnectOptions{})
	body := rawzk.CreateBody("/p", nil, openACL, 0)
	mustCall(t, c, jute.OpCreate, body)
	if code := call(t, c, jute.OpCreate, body); code != jute.NodeExists {
		t.Fatalf("second create: %d", code)
	}
	mustCall(t, c, jute.OpGetData, rawzk.PathWatchBody("/p", false))
	if cnt, _ := s.Observed(PropagationLatency); cnt != 3 { // createSession, create, error
		t.Fatalf("propagation_latency cnt %d, want 3", cnt)
	}
}

// TestMetricPropagationLatencyOnLearner: a learner measures the txns it applies while
// serving, from the leader's header time; not those of its sync, nor negative ages.
func TestMetricPropagationLatencyOnLearner(t *testing.T) {
	s := startMember(t, &neverCommits{}, 2)
	var zxid int64
	apply := func(path string, created time.Time) {
		t.Helper()
		zxid++
		hdr := jute.TxnHeader{ClientID: 7, Cxid: 1, Zxid: 1<<32 | zxid, Time: created.UnixMilli(), Type: jute.OpCreate}
		txn := &jute.CreateTxn{Path: path, ACL: openACL, ParentCVersion: -1}
		if err := s.ApplyCommitted(persistence.RecordTxn(persistence.EncodeRecord(&hdr, txn, nil))); err != nil {
			t.Fatal(err)
		}
	}
	apply("/synced", time.Now().Add(-time.Second)) // not serving yet: the sync
	wantObserved(t, s, PropagationLatency, 0, 0)
	s.BecomeLearner(false)
	apply("/a", time.Now().Add(-500*time.Millisecond))
	apply("/b", time.Now().Add(time.Minute)) // the leader's clock ahead: dropped
	cnt, sum := s.Observed(PropagationLatency)
	if cnt != 1 || sum < 500 || sum > 5000 {
		t.Fatalf("propagation_latency cnt %d sum %d, want one age of about 500 ms", cnt, sum)
	}
}

// TestMetricResponseBytes: each reply FinalRequestProcessor sends counts its size without
// the length prefix (sendResponse's return value); not the ConnectResponse, a ping's reply
// (returned before the count), an auth reply (processPacket) or a notification.
func TestMetricResponseBytes(t *testing.T) {
	s := startTuned(t, nil, nil)
	c := rawSession(t, s.Addr().String(), rawzk.ConnectOptions{})
	var want int64
	reply := func(op int32, body []byte, code jute.Code) {
		t.Helper()
		p, err := c.Call(op, body)
		if err != nil {
			t.Fatal(err)
		}
		if jute.Code(p.Hdr.Err) != code {
			t.Fatalf("%s: error %d, want %d", jute.OpName(op), p.Hdr.Err, code)
		}
		want += 16 + int64(len(p.Body)) // ReplyHeader and body
	}
	mustCall(t, c, jute.OpPing, nil)
	mustCall(t, c, jute.OpAuth, rawzk.AuthBody("digest", []byte("u:p")))
	wantCount(t, s, ResponseBytes, 0)

	reply(jute.OpGetChildren, rawzk.PathWatchBody("/", true), jute.OK)
	body := rawzk.CreateBody("/r", []byte("value"), openACL, 0)
	reply(jute.OpCreate, body, jute.OK)
	reply(jute.OpCreate, body, jute.NodeExists)
	reply(jute.OpGetData, rawzk.PathWatchBody("/r", false), jute.OK)
	mustCall(t, c, jute.OpPing, nil)
	if s.Counted(WatchBytes) == 0 {
		t.Fatal("no notification was sent")
	}
	wantCount(t, s, ResponseBytes, want)
	reply(jute.OpCloseSession, nil, jute.OK)
	wantCount(t, s, ResponseBytes, want)
}

// TestDatadirAutocreateFalseRefusesAMissingDataDir: with zookeeper.datadir.autocreate=false
// a server does not start on a data dir whose version-2 directory is missing (an unmounted
// disk must not become an empty tree), and starts once it exists (FileTxnSnapLog).
func TestDatadirAutocreateFalseRefusesAMissingDataDir(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), map[string]string{"zookeeper.datadir.autocreate": "false"})
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "zookeeper.datadir.autocreate is false") {
		s.Close()
		t.Fatalf("started on a missing data dir: %v", err)
	}
	if entries, _ := os.ReadDir(cfg.DataDir); len(entries) != 0 {
		t.Fatalf("the refused start left %d entries in the data dir", len(entries))
	}
	if err := os.Mkdir(persistence.SnapDir(cfg.DataDir), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err = New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start with the data dir in place: %v", err)
	}
	s.Close()
}
