package quorum

import (
	"net"
	"sync"
	"time"

	"github.com/zkgo/zkgo/quorum/wire"
)

// peerConn is one learner-leader connection on the quorum port: a reader goroutine that
// turns packets into node events and a writer goroutine draining an unbounded queue (the
// node's loop never blocks on a slow peer; a peer that stops reading is dropped after
// syncLimit by the protocol).
type peerConn struct {
	n    *Node
	nc   net.Conn
	peer uint64 // the other side's sid (0 until a learner identified itself)

	mu     sync.Mutex
	queue  []outPacket
	wake   chan struct{}
	closed bool
	done   chan struct{}
	once   sync.Once
}

// outPacket is a packet to write; snap, when set, is the snapshot streamed right after a
// SNAP packet.
type outPacket struct {
	qp   wire.QuorumPacket
	snap *snapSource
}

// snapSource is the serialized snapshot (sessions, tree, signature) that follows a SNAP.
type snapSource struct {
	payload []byte
}

// newPeerConn wraps nc; a learner's connection to its leader starts with nc nil and is
// attached once dialled.
func newPeerConn(n *Node, nc net.Conn, peer uint64) *peerConn {
	setSocketOptions(nc)
	return &peerConn{n: n, nc: nc, peer: peer, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func setSocketOptions(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
		tc.SetKeepAlive(true)
	}
}

// attach sets the dialled connection; false if the peerConn was closed meanwhile.
func (c *peerConn) attach(nc net.Conn) bool {
	setSocketOptions(nc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.nc = nc
	return true
}

// send queues a packet; false when the connection is closed.
func (c *peerConn) send(p outPacket) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *peerConn) close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.queue = nil
		nc := c.nc
		c.mu.Unlock()
		close(c.done)
		if nc != nil {
			nc.Close()
		}
	})
}

func (c *peerConn) writer() {
	w := wire.NewWriter(c.nc)
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			q := c.queue
			c.queue = nil
			c.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for i := range q {
				if err := w.Write(&q[i].qp); err != nil {
					c.fail(err)
					return
				}
				if q[i].snap != nil {
					if _, err := w.Buffered().Write(q[i].snap.payload); err != nil {
						c.fail(err)
						return
					}
				}
			}
			c.nc.SetWriteDeadline(time.Now().Add(c.n.syncTimeout()))
			if err := w.Flush(); err != nil {
				c.fail(err)
				return
			}
		}
	}
}

func (c *peerConn) fail(err error) {
	c.n.log.Debug().Err(err).Uint64("peer", c.peer).Msg("quorum connection failed")
	c.close()
	c.n.post(evConnDown{c: c})
}

// reader reads packets until the connection fails; a learner connection's first packet
// (FOLLOWERINFO / OBSERVERINFO) names the learner.
func (c *peerConn) reader() {
	r := wire.NewReader(c.nc, c.n.maxBuffer+1024)
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.n.readTimeout()))
		qp, err := r.Read()
		if err != nil {
			c.fail(err)
			return
		}
		ev := evPacket{c: c, qp: qp}
		if qp.Type == zabSnap {
			snap, err := wire.ReadSnap(r.Buffered(), int64(qp.Zxid), c.n.extendedTypes, c.n.maxBuffer, nil)
			if err != nil {
				c.fail(err)
				return
			}
			ev.snap = snap
		}
		select {
		case c.n.events <- ev:
		case <-c.done:
			return
		case <-c.n.stop:
			return
		}
	}
}
