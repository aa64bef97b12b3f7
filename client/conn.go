// Package client is a ZooKeeper client speaking the 3.x wire protocol (the jute records of
// package jute): sessions with timeout negotiation and the readOnly flag, pings, reconnects
// across a server list that keep the session and re-register watches (setWatches /
// setWatches2), one-shot and persistent (recursive) watches, digest and other auth schemes,
// and every request a ZooKeeper 3.8 client can send, with ZooKeeper's error codes as Go errors.
//
// It follows the Java client (ClientCnxn, ZKWatchManager) in the behaviour applications can
// observe: requests are queued while connecting and sent in order once the session is
// established; a lost connection fails the requests in flight with ConnectionLoss and
// reconnects in the background; watch events are delivered in order on one goroutine; a
// watcher registered several times for one event is called once.
package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
)

// maxFrame bounds a frame from the server (jute.maxbuffer's default is 1 MiB of data; a
// reply also holds headers and stats).
const maxFrame = 16 << 20

// setWatchesMaxLength bounds one setWatches request (ClientCnxn.SET_WATCHES_MAX_LENGTH).
const setWatchesMaxLength = 128 * 1024

// Option configures Connect.
type Option func(*Conn)

// WithWatcher sets the default watcher: it gets every session event and the events of
// watches set with DefaultWatcher.
func WithWatcher(w Watcher) Option { return func(c *Conn) { c.watches.def = w } }

// WithReadOnly allows the session to be served by a read-only server (the readOnly byte of
// the ConnectRequest, zkCli's -r).
func WithReadOnly(ro bool) Option { return func(c *Conn) { c.readOnly = ro } }

// WithReconnectDelay bounds the random pause before each reconnect attempt (Java: up to 1s).
func WithReconnectDelay(d time.Duration) Option { return func(c *Conn) { c.reconnectDelay = d } }

// WithDialer replaces net.Dialer (tests).
func WithDialer(dial func(network, addr string, timeout time.Duration) (net.Conn, error)) Option {
	return func(c *Conn) { c.dial = dial }
}

// defaultWatcherMarker stands for the connection's default watcher in calls that take a
// Watcher (Java's `boolean watch` overloads).
type defaultWatcherMarker struct{}

func (*defaultWatcherMarker) Process(Event) {}

// DefaultWatcher, passed as a Watcher, registers the connection's default watcher.
var DefaultWatcher Watcher = &defaultWatcherMarker{}

// Conn is a ZooKeeper session. All methods are safe for concurrent use.
type Conn struct {
	servers        []string
	timeoutMs      int32 // requested session timeout
	readOnly       bool
	reconnectDelay time.Duration
	dial           func(network, addr string, timeout time.Duration) (net.Conn, error)

	watches *watchManager
	events  *eventQueue

	mu          sync.Mutex
	state       States
	sessionID   int64
	passwd      []byte
	negotiated  int32
	lastZxid    int64
	seenRW      bool
	closing     bool
	auth        []authData
	outgoing    []*request // queued, not yet written
	pending     []*request // written, waiting for their reply
	nc          net.Conn   // current connection, nil while connecting
	xid         int32
	wake        chan struct{}
	stop        chan struct{}
	stopOnce    sync.Once
	loopDone    chan struct{}
	serverIndex int
}

type authData struct {
	scheme string
	data   []byte
}

// request is one packet: a request and, once answered, its reply.
type request struct {
	xid     int32
	op      int32
	body    jute.Record // nil: header only
	decode  func(d *jute.Decoder)
	path    string // client path, for errors
	reg     *watchReg
	dereg   *watchDereg
	noReply bool // auth and setWatches: nobody waits

	err  Code
	zxid int64
	done chan struct{}
}

type watchReg struct {
	kind watchKind // kindData means "exists" when exists is set
	path string
	w    Watcher
	exis bool
}

type watchDereg struct {
	path  string
	w     Watcher
	typ   WatcherType
	local bool
}

// Connect starts a session with one of servers ("host:port,host:port" or several
// arguments). It returns at once: the connection is made in the background and requests
// wait for it; session events go to the default watcher (WithWatcher).
func Connect(servers []string, sessionTimeout time.Duration, opts ...Option) (*Conn, error) {
	var list []string
	for _, s := range servers {
		for _, h := range strings.Split(s, ",") {
			if h = strings.TrimSpace(h); h != "" {
				if i := strings.IndexByte(h, '/'); i >= 0 {
					h = h[:i] // a chroot suffix is not supported; the address is used
				}
				if _, _, err := net.SplitHostPort(h); err != nil {
					h = net.JoinHostPort(h, "2181")
				}
				list = append(list, h)
			}
		}
	}
	if len(list) == 0 {
		return nil, errors.New("zk: no server addresses")
	}
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	c := &Conn{
		servers:        list,
		timeoutMs:      int32(sessionTimeout / time.Millisecond),
		reconnectDelay: time.Second,
		watches:        newWatchManager(nil),
		state:          Connecting,
		passwd:         make([]byte, 16),
		wake:           make(chan struct{}, 1),
		stop:           make(chan struct{}),
		loopDone:       make(chan struct{}),
		dial: func(network, addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout(network, addr, timeout)
		},
	}
	for _, o := range opts {
		o(c)
	}
	c.events = newEventQueue()
	go c.loop()
	return c, nil
}

// State is the connection state.
func (c *Conn) State() States {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID is the session id (0 before the first connection).
func (c *Conn) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionTimeout is the timeout the server negotiated (0 before the first connection).
func (c *Conn) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.negotiated) * time.Millisecond
}

// Server is the address of the current connection ("" while connecting).
func (c *Conn) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc == nil {
		return ""
	}
	return c.nc.RemoteAddr().String()
}

// LastZxid is the highest zxid seen in a reply.
func (c *Conn) LastZxid() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastZxid
}

func (c *Conn) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// deliver queues an event for the watchers it materializes to.
func (c *Conn) deliver(e Event) {
	c.events.push(e, c.watches.materialize(e))
}

// submit queues r and waits for its reply; the error is the reply's error code, with r.path.
func (c *Conn) submit(r *request) error {
	r.done = make(chan struct{})
	c.mu.Lock()
	if !c.state.IsAlive() || c.closing {
		code := c.lossCode()
		c.mu.Unlock()
		r.err = code
		c.finish(r)
		return newError(int32(r.err), r.path)
	}
	if r.op == jute.OpCloseSession {
		c.closing = true
	}
	c.outgoing = append(c.outgoing, r)
	c.mu.Unlock()
	c.wakeWriter()
	<-r.done
	return newError(int32(r.err), r.path)
}

// lossCode is the code a request gets when it cannot be sent (ClientCnxn.conLossPacket).
func (c *Conn) lossCode() Code {
	switch c.state {
	case AuthFailed:
		return ErrAuthFailed
	case Closed:
		return ErrSessionExpired
	}
	return ErrConnectionLoss
}

// finish completes a request: watch (de)registration as Java's finishPacket does, then the
// waiter is released.
func (c *Conn) finish(r *request) {
	if r.reg != nil {
		c.register(r.reg, r.err)
	}
	if r.dereg != nil {
		d := r.dereg
		rem, err := c.watches.removeWatcher(d.path, d.w, d.typ, d.local, r.err)
		if err != nil {
			r.err = ErrorCode(err)
		} else {
			st := StateSyncConnected
			if r.err == ErrSessionExpired || r.err == ErrConnectionLoss {
				st = StateDisconnected
			}
			for _, x := range rem {
				c.events.push(Event{Type: x.typ, State: st, Path: d.path}, x.watchers)
				r.err = 0 // removed locally: not an error
			}
		}
	}
	if r.done != nil {
		close(r.done)
	}
}

func (c *Conn) register(reg *watchReg, rc Code) {
	w := reg.w
	if w == DefaultWatcher {
		w = c.watches.def
		if w == nil {
			return
		}
	}
	switch {
	case reg.exis:
		if rc == 0 {
			c.watches.add(kindData, reg.path, w)
		} else if rc == ErrNoNode {
			c.watches.add(kindExist, reg.path, w)
		}
	case rc == 0:
		c.watches.add(reg.kind, reg.path, w)
	}
}

// AddAuth sends authentication data (e.g. "digest", "user:password"); like Java's
// addAuthInfo it does not wait for the answer: a rejected one ends the session with an
// AuthFailed event. The data is sent again after every reconnect.
func (c *Conn) AddAuth(scheme string, auth []byte) {
	c.mu.Lock()
	if !c.state.IsAlive() {
		c.mu.Unlock()
		return
	}
	c.auth = append(c.auth, authData{scheme, auth})
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.outgoing = append(c.outgoing, &request{xid: jute.XidAuth, op: jute.OpAuth,
		body: &jute.AuthPacket{Scheme: scheme, Auth: auth}, noReply: true})
	c.mu.Unlock()
	c.wakeWriter()
}

// Close ends the session (closeSession) and the connection; a Closed event follows. Calling
// it on a session that is no longer alive does nothing.
func (c *Conn) Close() error {
	c.mu.Lock()
	if !c.state.IsAlive() {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	r := &request{op: jute.OpCloseSession}
	done := make(chan error, 1)
	go func() { done <- c.submit(r) }()
	select {
	case <-done:
	case <-time.After(c.requestedTimeout()):
	}
	c.shutdown(Closed)
	<-c.loopDone
	// Let the watchers see the Closed event before Close returns (bounded, in case Close
	// was called by a watcher, which runs on the delivering goroutine).
	select {
	case <-c.events.done:
	case <-time.After(time.Second):
	}
	return nil
}

func (c *Conn) requestedTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiated > 0 {
		return time.Duration(c.negotiated) * time.Millisecond
	}
	return time.Duration(c.timeoutMs) * time.Millisecond
}

// shutdown ends the connection loop with the given final state.
func (c *Conn) shutdown(final States) {
	c.mu.Lock()
	if c.state.IsAlive() {
		c.state = final
	}
	nc := c.nc
	c.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stop) })
	if nc != nil {
		nc.Close()
	}
}

// failAll fails every queued and in-flight request (ClientCnxn.cleanup).
func (c *Conn) failAll() {
	c.mu.Lock()
	code := c.lossCode()
	reqs := append(c.pending, c.outgoing...)
	c.pending, c.outgoing = nil, nil
	c.mu.Unlock()
	for _, r := range reqs {
		if r.noReply {
			continue
		}
		r.err = code
		c.finish(r)
	}
}

func (c *Conn) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// loop is the connection's life (Java's SendThread): connect, serve, reconnect.
func (c *Conn) loop() {
	defer close(c.loopDone)
	first := true
	for !c.stopped() {
		if !first {
			d := time.Duration(0)
			if c.reconnectDelay > 0 {
				d = rand.N(c.reconnectDelay)
			}
			select {
			case <-c.stop:
			case <-time.After(d):
			}
			if c.stopped() {
				break
			}
		}
		first = false
		addr := c.servers[c.serverIndex%len(c.servers)]
		c.serverIndex++
		expired := c.session(addr)
		c.failAll()
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if expired || closing {
			break // a closed session is not resumed
		}
	}
	c.failAll()
	c.mu.Lock()
	st := c.state
	if st.IsAlive() {
		c.state = Closed
	}
	c.mu.Unlock()
	if st != AuthFailed {
		c.deliver(Event{Type: EventNone, State: StateClosed})
	}
	c.events.kill()
}

// connectTimeout is the time one connection attempt may take (ClientCnxn: the session
// timeout divided among the servers).
func (c *Conn) connectTimeout() time.Duration {
	c.mu.Lock()
	t := c.negotiated
	if t <= 0 {
		t = c.timeoutMs
	}
	c.mu.Unlock()
	d := time.Duration(t) * time.Millisecond / time.Duration(len(c.servers))
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	return d
}

// session makes one connection and serves it until it breaks; true means the session is
// over for good (expired or stopped).
func (c *Conn) session(addr string) (over bool) {
	ct := c.connectTimeout()
	nc, err := c.dial("tcp", addr, ct)
	if err != nil {
		return false
	}
	c.mu.Lock()
	if c.stopped() {
		c.mu.Unlock()
		nc.Close()
		return true
	}
	c.nc = nc
	sid := int64(0)
	if c.seenRW {
		sid = c.sessionID
	}
	req := jute.ConnectRequest{LastZxidSeen: c.lastZxid, TimeOut: c.timeoutMs, SessionID: sid,
		Passwd: c.passwd, ReadOnly: c.readOnly, HasReadOnly: true}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.nc = nil
		c.mu.Unlock()
		nc.Close()
	}()
	_ = nc.SetDeadline(time.Now().Add(ct))
	if err := writeFrame(nc, jute.Marshal(&req)); err != nil {
		return false
	}
	frame, err := readFrame(nc)
	if err != nil {
		return false
	}
	_ = nc.SetDeadline(time.Time{})
	var resp jute.ConnectResponse
	if err := jute.Unmarshal(frame, &resp); err != nil {
		return false
	}
	if resp.TimeOut <= 0 {
		// the server no longer knows the session
		c.mu.Lock()
		c.state = Closed
		c.mu.Unlock()
		c.deliver(Event{Type: EventNone, State: StateExpired})
		c.events.kill() // Java's event thread dies after Expired
		c.stopOnce.Do(func() { close(c.stop) })
		return true
	}
	c.mu.Lock()
	if !c.state.IsAlive() {
		c.mu.Unlock()
		return true
	}
	c.negotiated = resp.TimeOut
	c.sessionID = resp.SessionID
	c.passwd = resp.Passwd
	evState := StateSyncConnected
	if resp.ReadOnly {
		c.state = ConnectedReadOnly
		evState = StateConnectedReadOnly
	} else {
		c.state = Connected
		c.seenRW = true
	}
	c.outgoing = append(c.primeRequests(), c.outgoing...)
	c.mu.Unlock()
	c.deliver(Event{Type: EventNone, State: evState})
	return c.serve(nc, time.Duration(resp.TimeOut)*time.Millisecond)
}

// primeRequests are the packets sent first on a new connection: setWatches for the watches
// the client holds, then the auth data (ClientCnxn.primeConnection). c.mu is held.
func (c *Conn) primeRequests() []*request {
	var out []*request
	kinds := []watchKind{kindData, kindExist, kindChild, kindPersistent, kindPersistentRecursive}
	var lists [numKinds][]string
	total := 0
	for _, k := range kinds {
		lists[k] = c.watches.paths(k)
		total += len(lists[k])
	}
	for total > 0 {
		var batch [numKinds][]string
		n := 0
		for _, k := range kinds {
			for len(lists[k]) > 0 && n < setWatchesMaxLength {
				p := lists[k][0]
				lists[k] = lists[k][1:]
				batch[k] = append(batch[k], p)
				n += len(p)
				total--
			}
		}
		sw := &jute.SetWatches{RelativeZxid: c.lastZxid, DataWatches: batch[kindData],
			ExistWatches: batch[kindExist], ChildWatches: batch[kindChild]}
		op := jute.OpSetWatches
		if len(batch[kindPersistent])+len(batch[kindPersistentRecursive]) > 0 {
			sw.V2 = true
			sw.PersistentWatches = batch[kindPersistent]
			sw.PersistentRecursive = batch[kindPersistentRecursive]
			op = jute.OpSetWatches2
		}
		out = append(out, &request{xid: jute.XidSetWatches, op: op, body: sw, noReply: true})
	}
	for _, a := range c.auth {
		out = append(out, &request{xid: jute.XidAuth, op: jute.OpAuth,
			body: &jute.AuthPacket{Scheme: a.scheme, Auth: a.data}, noReply: true})
	}
	return out
}

// serve runs one established connection: this goroutine writes (requests and pings), a
// second one reads. It returns when the connection breaks or the session ends.
func (c *Conn) serve(nc net.Conn, timeout time.Duration) (over bool) {
	readTimeout := timeout * 2 / 3
	pingEvery := readTimeout / 2 // a third of the session timeout
	readErr := make(chan error, 1)
	go func() { readErr <- c.readLoop(nc, readTimeout) }()
	lastSend := time.Now()
	ticker := time.NewTicker(pingEvery / 4)
	defer ticker.Stop()
	wasConnected := true
	defer func() {
		nc.Close()
		<-readErr
		c.mu.Lock()
		alive := c.state.IsAlive() && !c.closing // the server ends a closed session's connection
		if alive {
			c.state = Connecting
		}
		c.mu.Unlock()
		if alive && wasConnected && !c.stopped() {
			c.deliver(Event{Type: EventNone, State: StateDisconnected})
		}
	}()
	for {
		if err := c.flush(nc); err != nil {
			return false
		}
		select {
		case <-c.stop:
			return true
		case err := <-readErr:
			readErr <- err // for the deferred wait
			c.mu.Lock()
			over = !c.state.IsAlive()
			c.mu.Unlock()
			return over
		case <-c.wake:
		case <-ticker.C:
			if time.Since(lastSend) >= pingEvery {
				c.mu.Lock()
				c.outgoing = append(c.outgoing, &request{xid: jute.XidPing, op: jute.OpPing, noReply: true})
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		if len(c.outgoing) > 0 {
			lastSend = time.Now()
		}
		c.mu.Unlock()
	}
}

// flush writes every queued request.
func (c *Conn) flush(nc net.Conn) error {
	for {
		c.mu.Lock()
		if len(c.outgoing) == 0 {
			c.mu.Unlock()
			return nil
		}
		r := c.outgoing[0]
		c.outgoing = c.outgoing[1:]
		if !r.noReply {
			c.xid++
			if c.xid <= 0 {
				c.xid = 1
			}
			r.xid = c.xid
			c.pending = append(c.pending, r)
		}
		c.mu.Unlock()
		e := jute.NewEncoder(64)
		hdr := jute.RequestHeader{Xid: r.xid, Type: r.op}
		hdr.Encode(e)
		if r.body != nil {
			r.body.Encode(e)
		}
		_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := writeFrame(nc, e.B); err != nil {
			return err
		}
	}
}

// readLoop reads replies and notifications until the connection fails.
func (c *Conn) readLoop(nc net.Conn, readTimeout time.Duration) error {
	for {
		_ = nc.SetReadDeadline(time.Now().Add(readTimeout))
		frame, err := readFrame(nc)
		if err != nil {
			return err
		}
		d := jute.NewDecoder(frame)
		var hdr jute.ReplyHeader
		hdr.Decode(d)
		if d.Err() != nil {
			return d.Err()
		}
		switch hdr.Xid {
		case jute.XidPing, jute.XidSetWatches:
			continue
		case jute.XidAuth:
			if Code(hdr.Err) == ErrAuthFailed {
				c.mu.Lock()
				c.state = AuthFailed
				c.mu.Unlock()
				c.deliver(Event{Type: EventNone, State: StateAuthFailed})
				c.events.kill()
				c.stopOnce.Do(func() { close(c.stop) })
				return errors.New("zk: auth failed")
			}
			continue
		case jute.XidNotification:
			var we jute.WatcherEvent
			we.Decode(d)
			if d.Err() != nil {
				return d.Err()
			}
			c.deliver(Event{Type: EventType(we.Type), State: KeeperState(we.State), Path: we.Path})
			continue
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return fmt.Errorf("zk: reply xid %d with nothing pending", hdr.Xid)
		}
		r := c.pending[0]
		if r.xid != hdr.Xid {
			c.mu.Unlock()
			return fmt.Errorf("zk: reply xid %d, expected %d", hdr.Xid, r.xid)
		}
		c.pending = c.pending[1:]
		if hdr.Zxid > 0 {
			c.lastZxid = hdr.Zxid
		}
		c.mu.Unlock()
		r.err = Code(hdr.Err)
		r.zxid = hdr.Zxid
		if r.err == 0 && r.decode != nil {
			r.decode(d)
			if d.Err() != nil {
				r.err = ErrMarshallingError
			}
		}
		c.finish(r)
	}
}

func writeFrame(w io.Writer, payload []byte) error {
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(lb[:]))
	if n < 0 || n > maxFrame {
		return nil, fmt.Errorf("zk: bad frame length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
