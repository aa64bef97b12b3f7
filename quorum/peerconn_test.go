package quorum

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/zab"
)

// TestPeerConnDirectFlushKeepsOrder sends packets from several goroutines, each through
// the direct non-blocking write, into a connection whose reader has stopped, so the socket
// fills and the writes come out partial: the rest must go out through the writer goroutine,
// before anything queued later, and every goroutine's packets must arrive complete and in
// its order.
func TestPeerConnDirectFlushKeepsOrder(t *testing.T) {
	nc, rc := tcpPair(t)
	nc.(*net.TCPConn).SetWriteBuffer(16 << 10)

	n := &Node{cfg: &config.Config{SyncLimit: 5}, tickTime: time.Second, log: zerolog.Nop(),
		events: make(chan any, 16), stop: make(chan struct{})}
	c := newPeerConn(n, nc, 2)
	defer c.close()
	go c.writer()

	const senders, each = 4, 400
	payload := bytes.Repeat([]byte("x"), 700) // several packets fill the small buffers
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// The zxid carries the sender in its high bits and the sequence below.
				z := int64(s)<<32 | int64(i)
				if !c.send(outPacket{qp: wire.QuorumPacket{Type: zab.Proposal, Zxid: zab.Zxid(z), Data: payload}}) {
					t.Errorf("sender %d: connection closed at %d", s, i)
					return
				}
			}
		}()
	}
	// Read only once the senders have filled the socket (or are done).
	time.Sleep(100 * time.Millisecond)
	r := wire.NewReader(rc, 1<<20)
	next := make([]int64, senders)
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for got := 0; got < senders*each; got++ {
		qp, err := r.Read()
		if err != nil {
			c.mu.Lock()
			left, writing, closed := len(c.queue), c.writing, c.closed
			c.mu.Unlock()
			t.Fatalf("after %d packets: %v (%d queued, writing %v, closed %v)", got, err, left, writing, closed)
		}
		s, i := int(qp.Zxid>>32), int64(qp.Zxid&0xffffffff)
		if qp.Type != zab.Proposal || s < 0 || s >= senders || !bytes.Equal(qp.Data, payload) {
			t.Fatalf("packet %d is damaged: type %d zxid %#x, %d data bytes", got, qp.Type, qp.Zxid, len(qp.Data))
		}
		if i != next[s] {
			t.Fatalf("sender %d: packet %d arrived when %d was due", s, i, next[s])
		}
		next[s]++
	}
	wg.Wait()
	c.mu.Lock()
	left, writing := len(c.queue), c.writing
	c.mu.Unlock()
	if left != 0 || writing {
		t.Fatalf("after every packet arrived: %d queued, writing %v", left, writing)
	}
}

// TestPeerConnDirectFlushAfterTheWritersDeadline: the writer's write deadline must not
// outlive its batch, or every later direct flush (whose non-blocking write checks it first)
// fails and falls back to waking the writer.
func TestPeerConnDirectFlushAfterTheWritersDeadline(t *testing.T) {
	nc, rc := tcpPair(t)
	n := &Node{cfg: &config.Config{SyncLimit: 1, InitLimit: 1}, tickTime: 10 * time.Millisecond, log: zerolog.Nop(),
		events: make(chan any, 16), stop: make(chan struct{})}
	c := newPeerConn(n, nc, 2)
	defer c.close()
	go c.writer()
	r := wire.NewReader(rc, 1<<20)
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))

	// A batch through the writer, which sets a 10ms deadline for it.
	c.enqueue(outPacket{qp: wire.QuorumPacket{Type: zab.Ping, Zxid: 1}})
	c.wakeWriter()
	if qp, err := r.Read(); err != nil || qp.Zxid != 1 {
		t.Fatalf("first packet: %v %v", qp.Zxid, err)
	}
	time.Sleep(50 * time.Millisecond) // past that deadline
	for z := zab.Zxid(2); z < 5; z++ {
		c.send(outPacket{qp: wire.QuorumPacket{Type: zab.Ping, Zxid: z}})
		c.mu.Lock()
		left, writing := len(c.queue), c.writing
		c.mu.Unlock()
		if left != 0 || writing {
			t.Fatalf("packet %d was left to the writer (%d queued, writing %v): the direct write failed", z, left, writing)
		}
		if qp, err := r.Read(); err != nil || qp.Zxid != z {
			t.Fatalf("packet %d: got %v %v", z, qp.Zxid, err)
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection, closed when the test ends.
func tcpPair(t *testing.T) (dialled, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			ch <- c
		}
	}()
	dialled, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case accepted = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { dialled.Close(); accepted.Close() })
	return dialled, accepted
}
