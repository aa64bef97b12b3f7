package server

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zkgo/zkgo/internal/nbwrite"
	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// maxQueuedOut bounds what a connection may have waiting to be written; a client that stops
// reading its replies is disconnected instead of growing the server's memory.
const maxQueuedOut = 64 << 20

// maxPending bounds a connection's requests queued behind its own writes (like
// globalOutstandingLimit, per connection): the reader stops reading until they drain.
const maxPending = 1000

// holdOffOut is how much may wait to be written (queued or in the writer's hands) before the
// reader stops reading requests: a client that does not read its replies is then held back
// by its own socket, as the direct write of a read's reply does, instead of having its
// replies queued up to maxQueuedOut and being disconnected.
const holdOffOut = 1 << 20

// conn is one client connection (ServerCnxn). Requests are answered strictly in the order
// they arrive: reads run at once unless an earlier write of this connection is still in the
// pipeline, in which case they queue behind it.
type conn struct {
	s  *Server
	nc net.Conn // the accepted connection (close, deadlines, addresses)
	// rw carries the bytes: nc, or the TLS connection over it (secureClientPort, or a TLS
	// client on a port-unified clientPort). Set before the reader and writer start.
	rw         io.ReadWriter
	tlsc       *tls.Conn       // the TLS connection, if it is one (set with rw)
	securePort bool            // accepted on secureClientPort (the AdminServer lists it apart)
	raw        syscall.RawConn // nc's file descriptor (plain TCP only), for sendNow
	ip         string          // remote address without port, for ip auth and maxClientCnxns
	remote     string          // host:port

	sessionID atomic.Int64
	timeout   int32
	readOnly  bool        // client sent the readOnly flag
	resuming  atomic.Bool // its ConnectRequest names a session that is not answered yet

	auth atomic.Pointer[[]jute.Id]

	mu       sync.Mutex
	pending  []*request   // this connection's requests waiting for an earlier write to finish
	npending atomic.Int64 // len(pending), for the reader's globalOutstandingLimit check
	drained  *sync.Cond
	closing  bool
	saslSrv  *saslServer
	saslDone bool

	// Output queue, drained by the writer goroutine in one write per batch.
	outMu     sync.Mutex
	out       [][]byte
	outBytes  int
	flying    int         // bytes of the batch the writer is writing
	backlog   atomic.Bool // outBytes+flying > holdOffOut: the reader waits (waitForRoom)
	outRoom   *sync.Cond  // on outMu: the backlog shrank or the connection closed
	outClosed bool
	closeOut  bool // close after the queue is written (closeSession, auth failure)
	writing   bool // a goroutine is writing to the socket (writer or a direct reply)
	outSignal chan struct{}

	closeOnce sync.Once
	stale     atomic.Bool // no more watches: the connection is closing (ServerCnxn.isStale)
	done      chan struct{}
	flushed   chan struct{} // closed once a final reply is written (sendAndClose)

	// Statistics for cons/stat.
	established time.Time
	received    atomic.Int64
	sent        atomic.Int64
	lastOp      atomic.Int32
	lastCxid    atomic.Int32
	lastZxid    atomic.Int64
	lastResp    atomic.Int64
	lastLat     atomic.Int64
	minLat      atomic.Int64
	maxLat      atomic.Int64
	sumLat      atomic.Int64
	cntLat      atomic.Int64
	fourLetter  atomic.Bool // answering a four-letter word (cons shows interest ops 0)
}

func newConn(s *Server, nc net.Conn, secure bool) *conn {
	c := &conn{s: s, nc: nc, rw: nc, securePort: secure, remote: nc.RemoteAddr().String(), outSignal: make(chan struct{}, 1), done: make(chan struct{}), flushed: make(chan struct{}),
		established: time.Now()} // ServerCnxn.established: when the connection was accepted
	c.ip, _, _ = net.SplitHostPort(c.remote)
	if c.ip == "" {
		c.ip = c.remote
	}
	c.drained = sync.NewCond(&c.mu)
	c.outRoom = sync.NewCond(&c.outMu)
	if tc, ok := nc.(*net.TCPConn); ok {
		c.raw, _ = tc.SyscallConn()
	}
	if secure {
		c.startTLS()
	}
	ids := []jute.Id{{Scheme: schemeIP, ID: c.ip}}
	c.auth.Store(&ids)
	c.minLat.Store(-1)
	c.lastOp.Store(-1000)
	c.lastCxid.Store(-1)
	c.lastZxid.Store(-1)
	return c
}

func (c *conn) authIDs() []jute.Id { return *c.auth.Load() }

// addAuth adds id once. The reader (addauth) and the apply goroutine (a SASL packet queued
// behind a write) may add at once: compare-and-swap, so that neither id is lost.
func (c *conn) addAuth(id jute.Id) {
	for {
		p := c.auth.Load()
		old := *p
		for _, o := range old {
			if o == id {
				return
			}
		}
		ids := make([]jute.Id, len(old), len(old)+1)
		copy(ids, old)
		ids = append(ids, id)
		javaIDOrder(ids)
		if c.auth.CompareAndSwap(p, &ids) {
			return
		}
	}
}

// javaIDOrder puts ids, kept in this order as they are added, in the order ZooKeeper's
// ServerCnxn.authInfo (a ConcurrentHashMap key set) iterates them, which whoami, the audit
// log's users and an "auth" ACL's expansion show: by bin of Id.hashCode, each bin in the
// order of insertion (exact below 12 ids, where the table is not resized: a resize may
// reverse part of a bin).
func javaIDOrder(ids []jute.Id) {
	n := 16
	for len(ids) >= n*3/4 { // ConcurrentHashMap resizes when its count reaches 0.75n
		n *= 2
	}
	bin := func(id jute.Id) uint32 {
		// The jute record's hashCode: 37*(37*17 + scheme.hashCode()) + id.hashCode().
		h := 37*(37*17+datatree.JavaStringHash(id.Scheme)) + datatree.JavaStringHash(id.ID)
		return (h ^ h>>16) & uint32(n-1)
	}
	sort.SliceStable(ids, func(i, j int) bool { return bin(ids[i]) < bin(ids[j]) })
}

// Process delivers a watch event (datatree.Watcher). Apache ZooKeeper 3.8 sends zxid -1.
// An event about a node this connection may not READ is dropped (NIOServerCnxn.process with
// the CVE-2024-23944 fix); the watch that fired is gone all the same.
func (c *conn) Process(ev jute.WatcherEvent, acl []jute.ACL) {
	if c.s.checkACL(acl, jute.PermRead, c.authIDs()) != jute.OK {
		return
	}
	b := frame(jute.ReplyHeader{Xid: jute.XidNotification, Zxid: -1}, &ev)
	c.s.Count(WatchBytes, int64(len(b)-4)) // sendResponse's size: no length prefix
	c.sendNow(b)
}

// frame builds a length-prefixed reply.
func frame(h jute.ReplyHeader, body jute.Record) []byte {
	// Most replies (a stat, or a small value and its stat) fit without regrowing.
	e := jute.NewEncoder(256)
	e.Int(0)
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	binary.BigEndian.PutUint32(e.B, uint32(len(e.B)-4))
	return e.B
}

// send queues a frame for the writer.
func (c *conn) send(b []byte) {
	c.outMu.Lock()
	if c.outClosed {
		c.outMu.Unlock()
		return
	}
	c.out = append(c.out, b)
	c.outBytes += len(b)
	if c.outBytes+c.flying > holdOffOut {
		c.backlog.Store(true)
	}
	over := c.outBytes > maxQueuedOut
	c.outMu.Unlock()
	c.sentStats(b)
	if over {
		c.s.log.Warn().Str("client", c.remote).Msg("closing connection: client does not read its replies")
		// Asynchronously: send may run with c.mu held.
		go c.close()
		return
	}
	c.signalWriter()
}

func (c *conn) signalWriter() {
	select {
	case c.outSignal <- struct{}{}:
	default:
	}
}

// reserveDirect is the fast path of a reply produced on the connection's own reader
// goroutine: when nothing is queued or being written, the caller may write b itself
// (after releasing any lock) instead of handing it to the writer goroutine, which saves
// a goroutine switch per read. It returns false when b was queued as usual. Order is
// kept: while the direct write is reserved, everything else queues behind it.
func (c *conn) reserveDirect(b []byte) bool {
	c.outMu.Lock()
	if c.outClosed || c.writing || len(c.out) > 0 || c.closeOut {
		c.outMu.Unlock()
		c.send(b)
		return false
	}
	c.writing = true
	c.outMu.Unlock()
	c.sentStats(b)
	return true
}

// writeDirect writes a reserved reply and lets the writer continue with what queued up.
// What the socket takes at once goes with a raw write (package nbwrite: no scheduler
// syscall state, which woke the runtime's monitor per reply on a server between requests);
// the rest, for a client slow to read, is waited for here, so that such a client holds up
// only its own reader and sends no more requests meanwhile.
func (c *conn) writeDirect(b []byte) {
	if c.raw != nil {
		b = b[nbwrite.Write(c.raw, b):]
	}
	var err error
	if len(b) > 0 {
		_, err = c.rw.Write(b)
	}
	c.outMu.Lock()
	c.writing = false
	more := len(c.out) > 0 || c.closeOut
	c.outMu.Unlock()
	if err != nil {
		c.close()
		return
	}
	if more {
		c.signalWriter()
	}
}

// sendNow is send for the apply stage's replies: when nothing is queued or being written,
// it writes b at once with one non-blocking write, which saves waking the writer goroutine
// per reply; whatever the socket does not take at once is left to the writer, so a client
// that does not read never holds up the apply stage.
func (c *conn) sendNow(b []byte) {
	c.outMu.Lock()
	if c.raw == nil || c.outClosed || c.writing || len(c.out) > 0 || c.closeOut {
		c.outMu.Unlock()
		c.send(b)
		return
	}
	c.writing = true
	c.outMu.Unlock()
	c.sentStats(b)
	n := nbwrite.Write(c.raw, b)
	c.outMu.Lock()
	c.writing = false
	if n < len(b) && !c.outClosed {
		c.out = append([][]byte{b[n:]}, c.out...)
		c.outBytes += len(b) - n
		if c.outBytes > holdOffOut {
			c.backlog.Store(true)
		}
	}
	more := len(c.out) > 0 || c.closeOut
	c.outMu.Unlock()
	if more {
		c.signalWriter()
	}
}

func (c *conn) sentStats(b []byte) {
	if c.resuming.Load() && c.resuming.CompareAndSwap(true, false) {
		// The answer to a resume, valid or not, goes once the session is reopened; what
		// connect refuses before (not serving, client ahead of us, read-only) closes
		// unanswered, as Apache's processConnectRequest throws before reopenSession and
		// connection_revalidate_count.
		c.s.Count(ConnectionRevalidateCount, 1)
	}
	c.s.stats.packetsSent.Add(1)
	c.s.metrics.responseSize(len(b) - 4) // ops hook: client_response sizes, without the length prefix
	c.sent.Add(1)
}

// sendAndClose queues a last frame (may be nil) and closes once everything is written.
func (c *conn) sendAndClose(b []byte) {
	if b != nil {
		c.send(b)
	}
	c.outMu.Lock()
	c.closeOut = true
	c.outMu.Unlock()
	select {
	case c.outSignal <- struct{}{}:
	default:
	}
}

// lastWords queues a final frame and waits (bounded) until it is written and the
// connection closed, so the reader does not tear the socket down before the reply leaves.
func (c *conn) lastWords(b []byte) {
	c.sendAndClose(b)
	select {
	case <-c.flushed:
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	// Read what the client still sends until it closes, so that our close is a FIN and
	// not a reset that could destroy the reply before the client reads it.
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, c.rw)
}

func (c *conn) writer() {
	var bufs net.Buffers
	var joined []byte // TLS connections: the batch in one buffer
	for {
		select {
		case <-c.outSignal:
		case <-c.done:
			return
		}
		c.outMu.Lock()
		if c.writing {
			// A direct write is in progress; it signals again when done.
			c.outMu.Unlock()
			continue
		}
		batch := c.out
		c.out = nil
		c.flying = c.outBytes
		c.outBytes = 0
		closeAfter := c.closeOut
		c.writing = len(batch) > 0
		c.outMu.Unlock()
		if len(batch) > 0 {
			var err error
			if c.tlsc != nil {
				// One write, so that a batch goes out in as few TLS records as it can
				// (net.Buffers writes a TLS connection a buffer at a time).
				joined = joined[:0]
				for _, b := range batch {
					joined = append(joined, b...)
				}
				_, err = c.rw.Write(joined)
				if cap(joined) > holdOffOut {
					joined = nil // a burst's buffer is not kept for the connection's life
				}
			} else {
				bufs = append(bufs[:0], batch...)
				_, err = bufs.WriteTo(c.rw)
			}
			c.outMu.Lock()
			c.writing = false
			c.flying = 0
			if c.backlog.Load() && c.outBytes <= holdOffOut {
				c.backlog.Store(false)
				c.outRoom.Broadcast()
			}
			more := len(c.out) > 0
			c.outMu.Unlock()
			if err != nil {
				c.close()
				return
			}
			if more && !closeAfter {
				c.signalWriter()
			}
		}
		if closeAfter {
			// Half-close: the client reads the last reply and then EOF; the reader sees the
			// client's FIN (or a deadline) and finishes the teardown. The watches go now,
			// as Apache's close drops them before the client can see the EOF.
			c.retire()
			c.outMu.Lock()
			c.outClosed = true
			c.outRoom.Broadcast()
			c.outMu.Unlock()
			if tc, ok := c.nc.(*net.TCPConn); ok {
				if c.tlsc != nil {
					c.tlsc.CloseWrite() // close_notify, then the socket's FIN, as Netty's close
				}
				tc.CloseWrite()
				c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			} else {
				c.close()
			}
			close(c.flushed)
			return
		}
	}
}

// retire drops the connection's watches and refuses new ones, which requests still in
// flight would otherwise set (WatchManager.addWatch ignores a stale cnxn: isDeadWatcher).
func (c *conn) retire() {
	c.stale.Store(true)
	c.s.dt().RemoveWatcher(c)
}

// Dead reports whether the connection takes no more watches (datatree.Watcher).
func (c *conn) Dead() bool { return c.stale.Load() }

// close tears the connection down; the session lives on until it expires or is resumed.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.outMu.Lock()
		c.outClosed = true
		c.out = nil
		c.outRoom.Broadcast()
		c.outMu.Unlock()
		close(c.done)
		c.nc.Close()
		c.mu.Lock()
		c.countPending(-len(c.pending))
		c.closing = true
		for _, r := range c.pending {
			c.requestFinished(r) // answered to no one
		}
		c.drained.Broadcast()
		c.mu.Unlock()
		c.retire()
		c.s.wakeThrottled()
		if c.sid() != 0 {
			c.s.sessions.unbind(c.sid(), c)
		}
		c.s.removeConn(c)
	})
}

var errFrameTooLarge = errors.New("frame exceeds jute.maxbuffer")

// readFrame reads one length-prefixed frame; lengths outside [0, jute.maxbuffer] close the
// connection as Apache ZooKeeper does ("Len error").
func (c *conn) readFrame(r *bufio.Reader, first []byte) ([]byte, error) {
	var hdr [4]byte
	if first != nil {
		copy(hdr[:], first)
	} else if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || int(n) > c.s.maxBuffer {
		return nil, errFrameTooLarge
	}
	if !c.s.large.fits(int(n)) {
		c.s.Count(LargeRequestsRejected, 1)
		return nil, errLargeRequest
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// serve is the connection's reader: handshake (or a four-letter word), then requests.
func (c *conn) serve() {
	defer c.close()
	if c.tlsc == nil && c.s.unified && x509util.LooksLikeTLS(c.nc, c.s.sessionless) {
		c.startTLS() // a TLS client on the plain port (client.portUnification)
	}
	if c.tlsc != nil && !c.tlsHandshake() {
		return
	}
	go c.writer()
	var src io.Reader = c.rw
	if c.raw != nil {
		src = nbwrite.NewReader(c.raw) // raw reads: see package nbwrite
	}
	r := bufio.NewReaderSize(src, 64<<10)
	// A connection must open a session (or send a four-letter word) within the sessionless
	// connection timeout (zookeeper.nio.sessionlessCnxnTimeout, 10 s), or it is closed.
	c.nc.SetReadDeadline(time.Now().Add(c.s.sessionless))
	var first [4]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		c.readFailed(err, true)
		return
	}
	if cmd := string(first[:]); isFourLetterWord(cmd) {
		c.s.fourLetterWord(c, cmd, r)
		return
	}
	b, err := c.readFrame(r, first[:])
	if err != nil {
		c.readFailed(err, true)
		c.s.logFrameError(c, err)
		return
	}
	c.s.stats.packetsReceived.Add(1)
	c.received.Add(1)
	c.s.Count(BytesReceivedCount, int64(4+len(b)))
	// Bytes 16-23 of a ConnectRequest are its sessionId.
	c.resuming.Store(len(b) >= 24 && binary.BigEndian.Uint64(b[16:24]) != 0)
	ok := c.s.connect(c, b)
	c.resuming.Store(false)
	if !ok {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	for {
		b, err := c.readFrame(r, nil)
		if err != nil {
			c.readFailed(err, false)
			c.s.logFrameError(c, err)
			return
		}
		c.s.stats.packetsReceived.Add(1)
		c.received.Add(1)
		c.s.Count(BytesReceivedCount, int64(4+len(b))) // NIOServerCnxn.readPayload: the prefix too
		if c.backlog.Load() {
			c.waitForRoom()
		}
		if c.s.queued.Load() > c.s.queuedLimit && c.npending.Load() > 0 {
			c.waitOutstanding()
		}
		if !c.s.handle(c, b) {
			return
		}
	}
}

// waitForRoom holds the reader while more than holdOffOut of this connection's replies wait
// to be written. It holds no lock of the request pipeline's, so replies of earlier writes
// keep being queued meanwhile.
func (c *conn) waitForRoom() {
	c.outMu.Lock()
	for c.backlog.Load() && !c.outClosed {
		c.outRoom.Wait()
	}
	c.outMu.Unlock()
}

// readFailed counts why the reader stopped: the client closed its socket (not in answer to
// the server's own close), or the connection opened no session in time.
func (c *conn) readFailed(err error, sessionless bool) {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.outMu.Lock()
		byServer := c.closeOut || c.outClosed
		c.outMu.Unlock()
		if !byServer {
			c.s.Count(ConnectionDropCount, 1)
		}
	case sessionless && errors.Is(err, os.ErrDeadlineExceeded):
		c.s.Count(SessionlessConnectionsExpired, 1)
	}
}

// enqueueOrRun runs a local request now if nothing of this connection is ahead of it in the
// pipeline, otherwise queues it behind. Called only by the reader goroutine.
func (c *conn) enqueueOrRun(r *request) {
	c.mu.Lock()
	for len(c.pending) >= maxPending && !c.closing {
		c.drained.Wait()
	}
	var direct []byte
	if len(c.pending) == 0 {
		direct = c.s.runLocal(r, true)
		c.requestFinished(r)
	} else {
		c.pending = append(c.pending, r)
		c.countPending(1)
		if c.closing {
			c.requestFinished(r)
		}
	}
	c.mu.Unlock()
	// Written with no lock held: a client that does not read blocks only itself.
	if direct != nil {
		c.writeDirect(direct)
		c.s.readAnswered()
	}
}

// enqueueWrite records a pipeline request in the connection's order before it is submitted.
func (c *conn) enqueueWrite(r *request) {
	c.mu.Lock()
	for len(c.pending) >= maxPending && !c.closing {
		c.drained.Wait()
	}
	c.pending = append(c.pending, r)
	c.countPending(1)
	if c.closing {
		c.requestFinished(r)
	}
	c.mu.Unlock()
}

// countPending adds delta to the server-wide count of requests waiting in connections
// (globalOutstandingLimit), c.mu held. A closing connection took its own out (close).
func (c *conn) countPending(delta int) {
	if !c.closing {
		c.npending.Add(int64(delta))
		c.s.countQueued(delta)
	}
}

// countQueued moves the count of requests waiting in connections; readers held by
// waitOutstanding look again whenever it falls.
func (s *Server) countQueued(delta int) {
	s.queued.Add(int64(delta))
	if delta < 0 {
		s.wakeThrottled()
	}
}

// wakeThrottled wakes the readers held by waitOutstanding, if any.
func (s *Server) wakeThrottled() {
	if s.throttleWaiters.Load() > 0 {
		s.throttleMu.Lock()
		s.throttleCond.Broadcast()
		s.throttleMu.Unlock()
	}
}

// waitOutstanding holds the reader while more requests than zookeeper.globalOutstandingLimit
// wait in this server's connections and some of them are this connection's, as
// ZooKeeperServer.shouldThrottle stops reading from such connections. One with nothing
// waiting goes on, so that every client progresses.
func (c *conn) waitOutstanding() {
	s := c.s
	s.throttleMu.Lock()
	s.throttleWaiters.Add(1)
	for s.queued.Load() > s.queuedLimit && c.npending.Load() > 0 && !c.stale.Load() {
		s.throttleCond.Wait()
	}
	s.throttleWaiters.Add(-1)
	s.throttleMu.Unlock()
}

// writeDone is called by the committer once r (the head of pending) is applied: it answers
// r and then runs the local requests that were waiting behind it.
//
// In an ensemble a request can be done before one ahead of it (a sync waits for a quorum
// while the writes behind it commit): its answer then waits until everything ahead of it
// was answered.
func (c *conn) writeDone(r *request) {
	c.mu.Lock()
	r.answered = true
	queued := false
	for _, p := range c.pending {
		if p == r {
			queued = true
			break
		}
	}
	// Released before the answer is queued: a client that read it sees what it held given
	// back (the writer sends without c.mu).
	if !queued {
		c.requestFinished(r)
		c.s.writeReply(r)
	}
	// Answered requests leave the front of pending; the rest move down so that the slice
	// keeps its backing array (one append per write, no allocation once it has grown).
	i := 0
	for ; i < len(c.pending); i++ {
		h := c.pending[i]
		if h.pipeline {
			if !h.answered {
				break
			}
			c.requestFinished(h)
			c.s.writeReply(h)
			continue
		}
		c.requestFinished(h)
		c.s.runLocal(h, false) // on the apply goroutine: always queued
	}
	n := copy(c.pending, c.pending[i:])
	clear(c.pending[n:])
	c.pending = c.pending[:n]
	c.countPending(-i)
	c.drained.Broadcast()
	c.mu.Unlock()
}

func (c *conn) recordLatency(op int32, cxid int32, zxid int64, start time.Time) {
	now := time.Now()
	lat := now.Sub(start).Milliseconds()
	c.lastOp.Store(op)
	if cxid >= 0 {
		c.lastCxid.Store(cxid)
	}
	c.lastZxid.Store(zxid)
	c.lastResp.Store(now.UnixMilli())
	c.lastLat.Store(lat)
	if m := c.minLat.Load(); m < 0 || lat < m {
		c.minLat.Store(lat)
	}
	if lat > c.maxLat.Load() {
		c.maxLat.Store(lat)
	}
	c.sumLat.Add(lat)
	c.cntLat.Add(1)
	c.s.stats.recordLatency(lat)
	c.s.metrics.request(op, lat) // ops hook: readlatency/updatelatency, requests by op
}

// sid is the session bound to this connection (0 before the handshake completes).
func (c *conn) sid() int64 { return c.sessionID.Load() }
