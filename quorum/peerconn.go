package quorum

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zkgo/zkgo/internal/nbwrite"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/zab"
)

// peerConn is one learner-leader connection on the quorum port: a reader goroutine that
// turns packets into node events and a writer goroutine draining an unbounded queue (the
// node's loop never blocks on a slow peer; a peer that stops reading is dropped after
// syncLimit by the protocol).
//
// When nothing is queued or being written, flush writes the queue itself with one
// non-blocking write instead of waking the writer: a leader's loop sends its proposals
// just before it fsyncs, and a goroutine woken then waits for the P the fsync holds (up
// to sysmon's retake, milliseconds on a busy host), which showed as the largest scheduling
// delay on the write path. What the socket does not take at once is left to the writer.
type peerConn struct {
	n    *Node
	nc   net.Conn
	raw  syscall.RawConn // nc's descriptor, for direct writes (nil until attached, or not TCP)
	peer uint64          // the other side's sid (0 until a learner identified itself)

	mu      sync.Mutex
	queue   []outPacket
	spare   []outPacket // an emptied queue, reused (a packet per proposal would allocate)
	writing bool        // the writer or a direct flush is writing to the socket
	buf     []byte      // direct flush's encoding buffer (used only while writing)
	wake    chan struct{}
	closed  bool
	done    chan struct{}
	once    sync.Once

	// LearnerHandler's connection statistics (the AdminServer's observers command).
	established         time.Time
	received, sent, req atomic.Int64
	lastZxid            atomic.Int64 // of the last packet sent with a zxid > 0; -1 before
}

// outPacket is a packet to write; snap, when set, is the snapshot streamed right after a
// SNAP packet; raw, when set, is the unwritten rest of a direct flush, written as is.
type outPacket struct {
	qp   wire.QuorumPacket
	snap *snapSource
	raw  []byte
}

// snapSource is the serialized snapshot (sessions, tree, signature) that follows a SNAP.
type snapSource struct {
	payload []byte
}

// newPeerConn wraps nc; a learner's connection to its leader starts with nc nil and is
// attached once dialled.
func newPeerConn(n *Node, nc net.Conn, peer uint64) *peerConn {
	setSocketOptions(nc)
	c := &peerConn{n: n, nc: nc, raw: rawConn(nc), peer: peer, wake: make(chan struct{}, 1), done: make(chan struct{}),
		established: time.Now()}
	c.lastZxid.Store(-1)
	return c
}

// counted notes the packets of q as sent (one atomic add per batch on the hot path).
func (c *peerConn) counted(q []outPacket) {
	n := int64(len(q))
	if n > 0 && q[0].raw != nil {
		n-- // the rest of a packet counted already (only ever first)
	}
	c.sent.Add(n)
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].raw == nil && q[i].qp.Zxid > 0 {
			c.lastZxid.Store(int64(q[i].qp.Zxid))
			break
		}
	}
}

// info is LearnerHandler.getLearnerHandlerInfo.
func (c *peerConn) info() server.LearnerConnInfo {
	c.mu.Lock()
	queued, size := len(c.queue), 0
	for i := range c.queue {
		size += 4 + 8 + 8 + 8 + len(c.queue[i].qp.Data) // LearnerHandler.packetSize
	}
	remote := "<null>"
	if c.nc != nil {
		remote = "/" + c.nc.RemoteAddr().String()
	}
	c.mu.Unlock()
	return server.LearnerConnInfo{Remote: remote, SID: int64(c.peer), Established: c.established,
		QueuedPackets: queued, QueuedSize: int64(size), Received: c.received.Load(), Sent: c.sent.Load(),
		Requests: c.req.Load(), LastZxid: c.lastZxid.Load()}
}

// resetStats is LearnerHandler.resetObserverConnectionStats.
func (c *peerConn) resetStats() {
	c.received.Store(0)
	c.sent.Store(0)
	c.req.Store(0)
	c.lastZxid.Store(-1)
}

func rawConn(nc net.Conn) syscall.RawConn {
	if tc, ok := nc.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			return raw
		}
	}
	return nil
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
	c.raw = rawConn(nc)
	return true
}

// send queues a packet and flushes; false when the connection is closed.
func (c *peerConn) send(p outPacket) bool {
	if !c.enqueue(p) {
		return false
	}
	c.flush()
	return true
}

// enqueue queues a packet without sending it (flush does); false when closed.
func (c *peerConn) enqueue(p outPacket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.queue == nil {
		c.queue, c.spare = c.spare, nil
	}
	c.queue = append(c.queue, p)
	return true
}

// recycle keeps q, written out, as the spare queue (under c.mu).
func (c *peerConn) recycle(q []outPacket) {
	if cap(q) > 1024 {
		return
	}
	clear(q)
	c.spare = q[:0]
}

// flush sends what is queued: at once with one non-blocking write when nobody is writing
// and the queue holds no snapshot, otherwise through the writer.
func (c *peerConn) flush() {
	c.mu.Lock()
	if c.writing || len(c.queue) == 0 {
		// A writer that is writing takes the queue when it is done.
		c.mu.Unlock()
		return
	}
	direct := c.raw != nil && !c.closed
	for i := range c.queue {
		if c.queue[i].snap != nil {
			direct = false
			break
		}
	}
	if !direct {
		c.mu.Unlock()
		c.wakeWriter()
		return
	}
	q := c.queue
	c.queue = nil
	c.writing = true
	b := c.buf[:0]
	c.mu.Unlock()

	for i := range q {
		if q[i].raw != nil {
			b = append(b, q[i].raw...)
		} else {
			b = wire.AppendQuorumPacket(b, &q[i].qp)
		}
	}
	n := nbwrite.Write(c.raw, b)
	c.counted(q)

	c.mu.Lock()
	c.writing = false
	c.recycle(q)
	if n < len(b) && !c.closed {
		rest := append([]byte(nil), b[n:]...)
		c.queue = append([]outPacket{{raw: rest}}, c.queue...)
	}
	if cap(b) <= 64<<10 {
		c.buf = b[:0]
	}
	more := len(c.queue) > 0
	c.mu.Unlock()
	if more {
		c.wakeWriter()
	}
}

func (c *peerConn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
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
			if len(q) == 0 || c.writing {
				// Empty, or a direct flush is writing (it wakes the writer for any rest).
				c.mu.Unlock()
				break
			}
			c.queue = nil
			c.writing = true
			c.mu.Unlock()
			// The deadline covers the whole batch: a packet larger than the buffer (or a
			// direct flush's rest) is written through before the final Flush. A snapshot
			// gets initLimit, as the synchronisation it belongs to.
			timeout := c.n.syncTimeout()
			for i := range q {
				if q[i].snap != nil {
					timeout = c.n.readTimeout()
				}
			}
			c.nc.SetWriteDeadline(time.Now().Add(timeout))
			for i := range q {
				if q[i].raw != nil {
					if _, err := w.Buffered().Write(q[i].raw); err != nil {
						c.fail(err)
						return
					}
					continue
				}
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
			if err := w.Flush(); err != nil {
				c.fail(err)
				return
			}
			c.counted(q)
			// No deadline between batches: an expired one would fail every direct flush
			// (its non-blocking write checks the deadline first).
			c.nc.SetWriteDeadline(time.Time{})
			c.mu.Lock()
			c.writing = false
			c.recycle(q)
			c.mu.Unlock()
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
	var src io.Reader = c.nc
	if raw := rawConn(c.nc); raw != nil {
		src = nbwrite.NewReader(raw) // raw reads: see package nbwrite
	}
	r := wire.NewReader(src, c.n.readLimit)
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.n.readTimeout()))
		qp, err := r.Read()
		if err != nil {
			c.fail(err)
			return
		}
		c.received.Add(1)
		if qp.Type == zab.Request {
			c.req.Add(1)
		}
		ev := evPacket{c: c, qp: qp}
		if qp.Type == zabSnap {
			snap, err := wire.ReadSnap(r.Buffered(), int64(qp.Zxid), c.n.extendedTypes, c.n.readLimit, nil)
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
