package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkgo/zkgo/internal/nbwrite"
	"github.com/zkgo/zkgo/jute"
)

// loadConn is what a get/set/mixed/create worker needs of a session.
type loadConn interface {
	Get(path string) error
	Set(path string, data []byte) error
	Create(path string, data []byte) error
	// Idle waits d without letting the session expire, waking within tens of
	// microseconds of d (sleepPrecise), so that paced requests keep their schedule.
	Idle(d time.Duration)
}

// Drivers: the client that carries the get/set/mixed/create load and the watch workload's
// watchers and setter. Setup, cleanup and failover always use go-zookeeper.
const (
	// driverRaw speaks the wire protocol directly: one connection per session, a request
	// written and its reply read by the worker itself (pipeline 1), no per-request goroutine
	// hand-offs, channels or timers. On a machine where the client and the server share the
	// CPUs, a lighter client leaves more of them to the server under test.
	driverRaw = "raw"
	// driverGozk is github.com/go-zookeeper/zk (a writer and a reader goroutine per session,
	// a channel per request).
	driverGozk = "gozk"
)

type gozkConn struct {
	c   *zk.Conn
	acl []zk.ACL
}

func (g gozkConn) Get(path string) error {
	_, _, err := g.c.Get(path)
	return err
}

func (g gozkConn) Set(path string, data []byte) error {
	_, err := g.c.Set(path, data, -1)
	return err
}

func (g gozkConn) Create(path string, data []byte) error {
	_, err := g.c.Create(path, data, 0, g.acl)
	return err
}

func (gozkConn) Idle(d time.Duration) { sleepPrecise(d) }

// watchConn is what a watch workload's watcher needs of a session.
type watchConn interface {
	// Arm sets a data watch on path (getData with watch=true).
	Arm(path string) error
	// Next waits for the next notification and returns its type (jute's event types);
	// ctx ending, or the run closing the connection, ends the wait.
	Next(ctx context.Context) (int32, error)
}

// gozkWatcher: a notification comes on the channel of the GetW that armed it.
type gozkWatcher struct {
	c  *zk.Conn
	ch <-chan zk.Event
}

func (g *gozkWatcher) Arm(path string) error {
	_, _, ch, err := g.c.GetW(path)
	g.ch = ch
	return err
}

func (g *gozkWatcher) Next(ctx context.Context) (int32, error) {
	select {
	case ev := <-g.ch:
		return int32(ev.Type), ev.Err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// errBroken: the raw session's connection failed; the worker stops using it.
var errBroken = errors.New("zk: connection closed")

// codeError is a non-zero error code in a reply.
type codeError int32

func (e codeError) Error() string { return fmt.Sprintf("zk: error code %d", int32(e)) }

// rawConn is one session of the raw driver. With one worker (pipeline 1) the worker writes
// and reads itself; with several, requests are written under wmu and a reader goroutine hands
// each reply to the oldest waiter (replies come in request order on a connection).
type rawConn struct {
	nc      net.Conn
	raw     syscall.RawConn // nc's, for raw reads and writes (nil if nc has none)
	br      *bufio.Reader
	timeout time.Duration // negotiated session timeout

	wmu     sync.Mutex
	xid     int32
	wbuf    []byte
	waiters []chan rawReply // multiplexed mode, in request order
	direct  bool
	broken  error
	last    time.Time // last request written (direct mode: keep-alive pings)
	events  []int32   // direct mode: notification types read while waiting for a reply
}

type rawReply struct {
	err error
}

// dialRaw opens a session on addr (the first of servers that answers).
func dialRaw(servers []string, sessionTimeout time.Duration, workers int, deadline time.Time) (*rawConn, error) {
	var lastErr error
	for _, addr := range servers {
		nc, err := net.DialTimeout("tcp", addr, time.Until(deadline))
		if err != nil {
			lastErr = err
			continue
		}
		c := &rawConn{nc: nc, direct: workers == 1}
		var rd io.Reader = nc
		if tc, ok := nc.(*net.TCPConn); ok {
			if raw, err := tc.SyscallConn(); err == nil {
				c.raw = raw
				rd = nbwrite.NewReader(raw)
			}
		}
		c.br = bufio.NewReaderSize(rd, 64<<10)
		if err := c.handshake(sessionTimeout, deadline); err != nil {
			nc.Close()
			lastErr = err
			continue
		}
		if !c.direct {
			go c.readLoop()
		}
		return c, nil
	}
	return nil, lastErr
}

func (c *rawConn) handshake(sessionTimeout time.Duration, deadline time.Time) error {
	_ = c.nc.SetDeadline(deadline)
	e := jute.NewEncoder(64)
	e.Int(0)
	req := jute.ConnectRequest{TimeOut: int32(sessionTimeout / time.Millisecond), Passwd: make([]byte, 16)}
	req.Encode(e)
	binary.BigEndian.PutUint32(e.B, uint32(len(e.B)-4))
	if _, err := c.nc.Write(e.B); err != nil {
		return err
	}
	frame, err := c.readFrame()
	if err != nil {
		return err
	}
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(frame, &resp); err != nil {
		return err
	}
	if resp.TimeOut <= 0 {
		return errors.New("zk: session refused (timeout 0)")
	}
	c.timeout = time.Duration(resp.TimeOut) * time.Millisecond
	c.last = time.Now()
	// Requests carry no deadline of their own (a timer per request is the cost this driver
	// avoids); a server that stops answering is caught by this one.
	_ = c.nc.SetDeadline(time.Time{})
	return nil
}

func (c *rawConn) readFrame() ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(c.br, lb[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(lb[:]))
	if n < 16 || n > 16<<20 {
		return nil, fmt.Errorf("zk: bad frame length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// readReply reads one reply and returns its header, discarding the body (the load needs
// only its error code), and for a notification its event type.
func (c *rawConn) readReply() (jute.ReplyHeader, int32, error) {
	var h [24]byte
	if _, err := io.ReadFull(c.br, h[:20]); err != nil {
		return jute.ReplyHeader{}, 0, err
	}
	n := int32(binary.BigEndian.Uint32(h[:4]))
	if n < 16 || n > 16<<20 {
		return jute.ReplyHeader{}, 0, fmt.Errorf("zk: bad frame length %d", n)
	}
	hdr := jute.ReplyHeader{
		Xid:  int32(binary.BigEndian.Uint32(h[4:])),
		Zxid: int64(binary.BigEndian.Uint64(h[8:])),
		Err:  int32(binary.BigEndian.Uint32(h[16:])),
	}
	body, event := int(n)-16, int32(0)
	if hdr.Xid == jute.XidNotification && body >= 4 {
		// A WatcherEvent: its type, state and path.
		if _, err := io.ReadFull(c.br, h[20:24]); err != nil {
			return jute.ReplyHeader{}, 0, err
		}
		event = int32(binary.BigEndian.Uint32(h[20:]))
		body -= 4
	}
	if _, err := c.br.Discard(body); err != nil {
		return jute.ReplyHeader{}, 0, err
	}
	return hdr, event, nil
}

// call writes one request (header plus body from enc) and waits for its reply.
func (c *rawConn) call(op int32, enc func(e *jute.Encoder)) error {
	c.wmu.Lock()
	if c.broken != nil {
		c.wmu.Unlock()
		return errBroken
	}
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	xid := c.xid
	e := jute.Encoder{B: append(c.wbuf[:0], 0, 0, 0, 0)}
	e.Int(xid)
	e.Int(op)
	enc(&e)
	binary.BigEndian.PutUint32(e.B, uint32(len(e.B)-4))
	c.wbuf = e.B
	var wait chan rawReply
	if !c.direct {
		wait = make(chan rawReply, 1)
		c.waiters = append(c.waiters, wait)
	}
	if err := c.write(e.B); err != nil {
		c.fail(err)
		c.wmu.Unlock()
		return errBroken
	}
	c.last = time.Now()
	c.wmu.Unlock()
	if !c.direct {
		r := <-wait
		return r.err
	}
	for {
		hdr, event, err := c.readReply()
		if err != nil {
			return c.readFailed(err)
		}
		switch {
		case hdr.Xid == jute.XidPing:
			continue
		case hdr.Xid == jute.XidNotification:
			c.events = append(c.events, event)
			continue
		case hdr.Xid != xid:
			return c.readFailed(fmt.Errorf("zk: reply xid %d, expected %d", hdr.Xid, xid))
		case hdr.Err != 0:
			return codeError(hdr.Err)
		}
		return nil
	}
}

// write sends b: what the socket takes at once with a raw non-blocking write (no trip
// through the Go scheduler's system call entry), the rest, if any, with a blocking write.
func (c *rawConn) write(b []byte) error {
	n := 0
	if c.raw != nil {
		n = nbwrite.Write(c.raw, b)
	}
	if n < len(b) {
		_, err := c.nc.Write(b[n:])
		return err
	}
	return nil
}

// fail marks the connection broken (under wmu) and closes it, which ends the reader.
func (c *rawConn) fail(err error) {
	if c.broken == nil {
		c.broken = err
		c.nc.Close()
	}
}

// readFailed fails the connection from its reader (which does not hold wmu) and returns
// errBroken, what the worker sees.
func (c *rawConn) readFailed(err error) error {
	c.wmu.Lock()
	c.fail(err)
	c.wmu.Unlock()
	return errBroken
}

// readLoop (multiplexed mode) completes the waiters in order.
func (c *rawConn) readLoop() {
	for {
		hdr, _, err := c.readReply()
		c.wmu.Lock()
		if err == nil && (hdr.Xid == jute.XidPing || hdr.Xid == jute.XidNotification) {
			c.wmu.Unlock()
			continue
		}
		if err == nil && len(c.waiters) == 0 {
			err = fmt.Errorf("zk: reply xid %d with nothing pending", hdr.Xid)
		}
		if err != nil {
			c.fail(err)
			for _, w := range c.waiters {
				w <- rawReply{err: errBroken}
			}
			c.waiters = nil
			c.wmu.Unlock()
			return
		}
		w := c.waiters[0]
		c.waiters = c.waiters[1:]
		c.wmu.Unlock()
		var r rawReply
		if hdr.Err != 0 {
			r.err = codeError(hdr.Err)
		}
		w <- r
	}
}

func (c *rawConn) Get(path string) error {
	return c.call(jute.OpGetData, func(e *jute.Encoder) { e.String(path); e.Bool(false) })
}

func (c *rawConn) Set(path string, data []byte) error {
	return c.call(jute.OpSetData, func(e *jute.Encoder) { e.String(path); e.Buffer(data); e.Int(-1) })
}

func (c *rawConn) Create(path string, data []byte) error {
	return c.call(jute.OpCreate, func(e *jute.Encoder) {
		e.String(path)
		e.Buffer(data)
		jute.EncodeACLs(e, jute.OpenACLUnsafe)
		e.Int(0)
	})
}

// Arm sets a data watch on path (watchConn; direct mode).
func (c *rawConn) Arm(path string) error {
	return c.call(jute.OpGetData, func(e *jute.Encoder) { e.String(path); e.Bool(true) })
}

// Next (watchConn; direct mode) reads until a notification comes, or takes one that came
// while a reply was awaited. Closing the connection ends it; keepAlive pings meanwhile.
func (c *rawConn) Next(ctx context.Context) (int32, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return ev, nil
	}
	for {
		hdr, event, err := c.readReply()
		switch {
		case err != nil:
			err = c.readFailed(err)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, err
		case hdr.Xid == jute.XidNotification:
			return event, nil
		case hdr.Xid != jute.XidPing:
			return 0, c.readFailed(fmt.Errorf("zk: reply xid %d while awaiting a notification", hdr.Xid))
		}
	}
}

// keepAlive pings every conn that wrote nothing for a third of its session timeout, until
// ctx ends: watchers only read while they wait for a notification.
func keepAlive(ctx context.Context, conns []*rawConn) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, c := range conns {
			c.sendPing(c.timeout / 3)
		}
	}
}

// Idle sleeps d, sending a ping whenever the connection would otherwise stay silent for a
// third of the session timeout.
func (c *rawConn) Idle(d time.Duration) {
	end := time.Now().Add(d)
	for {
		c.wmu.Lock()
		next := c.last.Add(c.timeout / 3)
		c.wmu.Unlock()
		if !next.Before(end) {
			sleepPrecise(time.Until(end))
			return
		}
		sleepPrecise(time.Until(next))
		c.ping()
	}
}

func (c *rawConn) ping() {
	if c.direct {
		// The worker is the reader: call waits for the ping's own reply (xid -2 matches).
		_ = c.callXid(jute.XidPing, jute.OpPing)
		return
	}
	c.sendPing(0)
}

// sendPing writes a ping, without waiting for its answer, if nothing was written for idle;
// whoever reads the connection skips the answer.
func (c *rawConn) sendPing(idle time.Duration) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken != nil || time.Since(c.last) < idle {
		return
	}
	b := headerOnly(jute.XidPing, jute.OpPing)
	if _, err := c.nc.Write(b[:]); err != nil {
		c.fail(err)
		return
	}
	c.last = time.Now()
}

// callXid (direct mode) sends a header-only request with a fixed xid and reads its reply.
func (c *rawConn) callXid(xid, op int32) error {
	c.wmu.Lock()
	if c.broken != nil {
		c.wmu.Unlock()
		return errBroken
	}
	b := headerOnly(xid, op)
	if _, err := c.nc.Write(b[:]); err != nil {
		c.fail(err)
		c.wmu.Unlock()
		return errBroken
	}
	c.last = time.Now()
	c.wmu.Unlock()
	hdr, _, err := c.readReply()
	if err != nil || hdr.Xid != xid {
		return c.readFailed(fmt.Errorf("zk: ping reply: %v (xid %d)", err, hdr.Xid))
	}
	return nil
}

// headerOnly frames a request that is only a RequestHeader (ping, closeSession).
func headerOnly(xid, op int32) [12]byte {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:], 8)
	binary.BigEndian.PutUint32(b[4:], uint32(xid))
	binary.BigEndian.PutUint32(b[8:], uint32(op))
	return b
}

// Close ends the session (closeSession, then the connection).
func (c *rawConn) Close() {
	c.wmu.Lock()
	if c.broken == nil {
		b := headerOnly(c.xid+1, jute.OpCloseSession)
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.nc.Write(b[:])
	}
	c.fail(errors.New("closed"))
	c.wmu.Unlock()
}

// dialRawAll opens n raw sessions with workers workers each, session i on server i mod len
// first.
func dialRawAll(cfg *config, n, workers int) ([]*rawConn, error) {
	deadline := time.Now().Add(cfg.connectTimeout)
	conns := make([]*rawConn, 0, n)
	for i := 0; i < n; i++ {
		c, err := dialRaw(sessionOrder(cfg.servers, i), cfg.sessionTimeout, workers, deadline)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("raw session %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}
