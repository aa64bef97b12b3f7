package cnx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/zab"
)

const waitFor = 10 * time.Second

func testLog(t *testing.T) zerolog.Logger { return zerolog.New(zerolog.NewTestWriter(t)) }

// noLeaks fails the test if goroutines started during it are still running once its
// cleanups (registered later, so run earlier) have closed everything.
func noLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// cluster is n managers with ids 1..n on loopback.
type cluster struct {
	t     *testing.T
	addrs map[uint64]string
	ms    map[uint64]*Manager
}

func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, addrs: map[uint64]string{}, ms: map[uint64]*Manager{}}
	for id := uint64(1); id <= uint64(n); id++ {
		c.addrs[id] = fmt.Sprintf("127.0.0.1:%d", zktest.FreePort(t))
	}
	for id := range c.addrs {
		c.start(id)
	}
	return c
}

func (c *cluster) config(id uint64) Config {
	peers := map[uint64]string{}
	for pid, a := range c.addrs {
		if pid != id {
			peers[pid] = a
		}
	}
	return Config{MyID: id, ListenAddr: c.addrs[id], Peers: peers, LocalHost: "127.0.0.1",
		ConnectTimeout: 2 * time.Second, SocketTimeout: 2 * time.Second, BindRetry: 3, BindRetryInterval: 100 * time.Millisecond,
		Log: testLog(c.t)}
}

func (c *cluster) start(id uint64) *Manager {
	c.t.Helper()
	m, err := New(c.config(id))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { m.Close() })
	c.ms[id] = m
	return m
}

func vote(from, round uint64) []byte {
	return wire.EncodeNotification(&zab.Notification{State: zab.Looking, Leader: from, Zxid: zab.MakeZxid(1, uint32(round)),
		ElectionEpoch: int64(round), PeerEpoch: 1, Config: []byte("version=0")})
}

// recvN collects n messages from m.
func recvN(t *testing.T, m *Manager, n int) []Message {
	t.Helper()
	var out []Message
	timeout := time.After(waitFor)
	for len(out) < n {
		select {
		case msg, ok := <-m.Recv():
			if !ok {
				t.Fatalf("manager %d closed", m.cfg.MyID)
			}
			out = append(out, msg)
		case <-timeout:
			t.Fatalf("manager %d: %d of %d messages after %v", m.cfg.MyID, len(out), n, waitFor)
		}
	}
	return out
}

// expectVotes waits until m got the vote of round from every other member. A vote may come
// more than once, and an older one may come again: a new connection re-sends the last
// message, as in Apache ZooKeeper, whose election ignores duplicates.
func (c *cluster) expectVotes(id, round uint64) {
	c.t.Helper()
	m := c.ms[id]
	got := map[uint64]bool{}
	timeout := time.After(waitFor)
	for len(got) < len(c.ms)-1 {
		select {
		case msg, ok := <-m.Recv():
			if !ok {
				c.t.Fatalf("manager %d closed", id)
			}
			n, _, err := wire.DecodeNotification(msg.Body)
			if err != nil {
				c.t.Fatal(err)
			}
			if n.Leader != msg.From || uint64(n.ElectionEpoch) > round {
				c.t.Fatalf("manager %d: unexpected vote %+v from %d in round %d", id, n, msg.From, round)
			}
			if uint64(n.ElectionEpoch) == round {
				got[msg.From] = true
			}
		case <-timeout:
			c.t.Fatalf("manager %d: votes of round %d from %v only", id, round, got)
		}
	}
}

// checkTieBreak waits until every pair has exactly one connection, dialled by the larger id.
func (c *cluster) checkTieBreak() {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		bad := ""
		for i, mi := range c.ms {
			for j := range c.ms {
				if i == j {
					continue
				}
				mi.mu.Lock()
				p := mi.peers[j]
				switch {
				case p == nil || p.conn == nil:
					bad = fmt.Sprintf("%d has no connection to %d", i, j)
				case p.conn.initiated != (i > j):
					bad = fmt.Sprintf("%d's connection to %d initiated=%v", i, j, p.conn.initiated)
				}
				mi.mu.Unlock()
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal(bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) broadcast(round uint64) {
	for id, m := range c.ms {
		for pid := range c.ms {
			if pid != id {
				m.Send(pid, vote(id, round))
			}
		}
	}
}

func testExchange(t *testing.T, n int) {
	noLeaks(t)
	c := newCluster(t, n)
	for round := uint64(1); round <= 3; round++ {
		c.broadcast(round)
		for id := range c.ms {
			c.expectVotes(id, round)
		}
	}
	c.checkTieBreak()
}

func TestExchange3(t *testing.T) { testExchange(t, 3) }
func TestExchange5(t *testing.T) { testExchange(t, 5) }

// TestSimultaneousDial: both sides dial at the same moment; one connection survives, the
// one the larger id dialled, and messages flow both ways.
func TestSimultaneousDial(t *testing.T) {
	noLeaks(t)
	for i := 0; i < 5; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c := newCluster(t, 2)
			var start, done sync.WaitGroup
			start.Add(1)
			for id, m := range c.ms {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					m.Send(3-id, vote(id, 1))
				}()
			}
			start.Done()
			done.Wait()
			c.expectVotes(1, 1)
			c.expectVotes(2, 1)
			c.checkTieBreak()
			c.broadcast(2)
			c.expectVotes(1, 2)
			c.expectVotes(2, 2)
		})
	}
}

// TestReconnectResendsLast: a peer restarts; the new connection carries the last message
// again (whichever side dials), so a notification lost with the old process is not lost.
func TestReconnectResendsLast(t *testing.T) {
	noLeaks(t)
	for _, restart := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("restart%d", restart), func(t *testing.T) {
			c := newCluster(t, 2)
			other := 3 - restart
			c.ms[other].Send(restart, vote(other, 7))
			c.expectVotes(restart, 7)
			c.ms[restart].Close()
			waitUntil(t, func() bool { return !c.ms[other].Connected(restart) })
			c.start(restart)
			c.ms[other].ConnectAll()
			c.expectVotes(restart, 7)
			// And the link works both ways afterwards.
			c.broadcast(8)
			c.expectVotes(1, 8)
			c.expectVotes(2, 8)
			c.checkTieBreak()
		})
	}
}

// TestNewestWins: an unsent message is replaced by a newer one.
func TestNewestWins(t *testing.T) {
	noLeaks(t)
	c := newCluster(t, 2)
	m1 := c.ms[1]
	// Peer 3 is configured nowhere, so nothing is sent: the queue keeps only the newest.
	m1.mu.Lock()
	p := m1.peerLocked(3)
	m1.mu.Unlock()
	for r := uint64(1); r <= 5; r++ {
		m1.Send(3, vote(1, r))
	}
	m1.mu.Lock()
	defer m1.mu.Unlock()
	if !bytes.Equal(p.pending, vote(1, 5)) {
		t.Fatal("queue does not hold the newest message")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawDial connects to m's election port and sends a V1 handshake for sid.
func rawDial(t *testing.T, m *Manager, sid int64) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := wire.Handshake{Version: wire.ProtocolV1, SID: sid, Addr: "127.0.0.1:1"}
	if _, err := c.Write(wire.AppendHandshake(nil, &h)); err != nil {
		t.Fatal(err)
	}
	return c
}

// expectClosed waits for the manager to hang up on c.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed by the manager: %v", err)
	}
}

func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// TestBadInputClosesOnlyThatConnection: bad handshakes and frames end their own
// connection; the manager's other connections keep working.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	noLeaks(t)
	c := newCluster(t, 2)
	m1 := c.ms[1]
	c.broadcast(1)
	c.expectVotes(1, 1)
	c.expectVotes(2, 1)
	// Let the start-up churn settle (a late dial-back replaces a connection).
	c.checkTieBreak()
	current := func() *conn {
		m1.mu.Lock()
		defer m1.mu.Unlock()
		return m1.peers[2].conn
	}
	good := current()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		if now := current(); now == good && now != nil {
			break
		}
		good = current()
	}

	cases := map[string][]byte{
		"zero-length frame":  be32(0),
		"negative frame":     be32(-5),
		"oversized frame":    be32(wire.PacketMaxSize + 1),
		"huge frame":         be32(math.MaxInt32),
		"frame cut short":    append(be32(100), 1, 2, 3),
		"garbage after data": append(append(be32(4), 1, 2, 3, 4), 0xff, 0xff, 0xff, 0xff),
	}
	for name, b := range cases {
		conn := rawDial(t, m1, 9)
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		if name == "frame cut short" {
			conn.(*net.TCPConn).CloseWrite()
		}
		expectClosed(t, conn)
	}
	// The one valid frame before the garbage was delivered.
	for {
		msg := recvN(t, m1, 1)[0]
		if msg.From == 2 {
			continue // a re-sent vote
		}
		if msg.From != 9 || !bytes.Equal(msg.Body, []byte{1, 2, 3, 4}) {
			t.Fatalf("got %+v", msg)
		}
		break
	}
	// Bad handshakes.
	for name, b := range map[string][]byte{
		"bad version":    append(make([]byte, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd),
		"address length": append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}, make([]byte, 8)...), be32(4096)...),
		"bad address":    wire.AppendHandshake(nil, &wire.Handshake{Version: wire.ProtocolV1, SID: 9, Addr: "no port"}),
		"my own id":      wire.AppendHandshake(nil, &wire.Handshake{Version: wire.ProtocolV1, SID: 1, Addr: "127.0.0.1:1"}),
	} {
		conn, err := net.Dial("tcp", m1.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(b)
		expectClosed(t, conn)
		conn.Close()
		_ = name
	}
	if current() != good {
		t.Fatal("the good connection was replaced")
	}
	c.broadcast(2)
	c.expectVotes(1, 2)
	c.expectVotes(2, 2)
}

// TestObserverID: a peer announcing OBSERVER_ID gets a temporary id (Java's -1).
func TestObserverID(t *testing.T) {
	noLeaks(t)
	c := newCluster(t, 1)
	m := c.ms[1]
	conn := rawDial(t, m, ObserverID)
	conn.Write(wire.AppendFrame(nil, []byte("hi")))
	if msg := recvN(t, m, 1)[0]; msg.From != math.MaxUint64 || string(msg.Body) != "hi" {
		t.Fatalf("got %+v", msg)
	}
	// And the manager can answer it on that connection.
	m.Send(math.MaxUint64, []byte("back"))
	conn.SetReadDeadline(time.Now().Add(waitFor))
	body, err := wire.ReadFrame(conn)
	if err != nil || string(body) != "back" {
		t.Fatalf("reply %q %v", body, err)
	}
}

// TestSmallerIDIsDialledBack: a connection from a smaller id is closed and replaced by
// one the manager dials, to the address the handshake gave.
func TestSmallerIDIsDialledBack(t *testing.T) {
	noLeaks(t)
	m, err := New(Config{MyID: 5, ListenAddr: "127.0.0.1:0", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(wire.AppendHandshake(nil, &wire.Handshake{Version: wire.ProtocolV1, SID: 2, Addr: ln.Addr().String()}))
	expectClosed(t, conn)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(waitFor))
	back, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	h, err := wire.ReadHandshake(back)
	if err != nil || h.SID != 5 || h.Version != wire.ProtocolV1 || h.Addr != m.Addr().String() {
		t.Fatalf("dial-back handshake %+v %v", h, err)
	}
}

// TestLocalAddr: outgoing connections come from the configured local address.
func TestLocalAddr(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m, err := New(Config{MyID: 2, ListenAddr: "127.0.0.1:0", MyAddr: "127.0.0.2:3888",
		Peers: map[uint64]string{1: ln.Addr().String()}, LocalHost: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Send(1, []byte("x"))
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(waitFor))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ip := c.RemoteAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.2" {
		t.Fatalf("connection from %s", ip)
	}
	h, err := wire.ReadHandshake(c)
	if err != nil || h.SID != 2 || h.Addr != "127.0.0.2:3888" {
		t.Fatalf("handshake %+v %v", h, err)
	}
	// Larger id dialled: the connection is kept and carries the message.
	if body, err := wire.ReadFrame(c); err != nil || string(body) != "x" {
		t.Fatalf("frame %q %v", body, err)
	}
}

// TestBindRetry: the listener tries BindRetry times, BindRetryInterval apart.
func TestBindRetry(t *testing.T) {
	noLeaks(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := busy.Addr().String()
	m, _ := New(Config{MyID: 1, ListenAddr: addr, BindRetry: 2, BindRetryInterval: 50 * time.Millisecond})
	start := time.Now()
	if err := m.Start(); err == nil || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("Start on a busy port: %v after %v", err, time.Since(start))
	}
	m.Close()
	// Forever: succeeds once the port is freed.
	m, _ = New(Config{MyID: 1, ListenAddr: addr, BindRetry: BindRetryForever, BindRetryInterval: 20 * time.Millisecond})
	defer m.Close()
	time.AfterFunc(200*time.Millisecond, func() { busy.Close() })
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if m.Addr().String() != addr {
		t.Fatalf("bound %v", m.Addr())
	}
	// Close while retrying ends Start.
	busy2, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy2.Close()
	m2, _ := New(Config{MyID: 1, ListenAddr: busy2.Addr().String(), BindRetry: BindRetryForever, BindRetryInterval: 20 * time.Millisecond})
	time.AfterFunc(100*time.Millisecond, func() { m2.Close() })
	if err := m2.Start(); err != ErrClosed {
		t.Fatalf("Start after Close: %v", err)
	}
}

// TestRecvQueueDropsOldest: the receive queue keeps the newest RecvCapacity messages.
func TestRecvQueueDropsOldest(t *testing.T) {
	noLeaks(t)
	m, _ := New(Config{MyID: 1, ListenAddr: "127.0.0.1:0", RecvCapacity: 10})
	for i := 0; i < 25; i++ {
		m.Send(1, []byte{byte(i)})
	}
	if m.Dropped() != 15 {
		t.Fatalf("dropped %d", m.Dropped())
	}
	if msg := <-m.Recv(); msg.From != 1 || msg.Body[0] != 15 {
		t.Fatalf("oldest kept %+v", msg)
	}
	m.Close()
	// Close closes the channel; Send afterwards is harmless.
	for range m.Recv() {
	}
	m.Send(1, []byte{1})
	m.Send(2, []byte{1})
}

// TestCloseWhileDialling: Close ends dials to unreachable peers and handshakes in progress.
func TestCloseWhileDialling(t *testing.T) {
	noLeaks(t)
	// A listener that never accepts reads: the dial succeeds (backlog), the peer is silent.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	m, _ := New(Config{MyID: 1, ListenAddr: "127.0.0.1:0",
		Peers: map[uint64]string{2: silent.Addr().String(), 3: "10.255.255.1:3888"}})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	m.Send(2, []byte("a"))
	m.Send(3, []byte("b"))
	// A connection that never sends its handshake.
	idle, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(100 * time.Millisecond)
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked")
	}
}

// TestConfigErrors: bad addresses are refused up front.
func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{MyID: 1, Peers: map[uint64]string{2: "nohostport"}}); err == nil || !strings.Contains(err.Error(), "2") {
		t.Fatalf("bad peer address: %v", err)
	}
	if _, err := New(Config{MyID: 1 << 63}); err == nil {
		t.Fatal("id over MaxInt64 accepted")
	}
}
