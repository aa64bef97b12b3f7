// Package cnx is the election connection manager (Apache ZooKeeper's QuorumCnxManager):
// one TCP connection per pair of servers on the election port, over which fast leader
// election sends its notifications (quorum-protocol.md §3).
//
// Invariants and behaviour, as in QuorumCnxManager:
//   - Only a connection initiated by the server with the larger sid survives. A dialler with
//     the smaller sid sends its handshake and hangs up ("lost the challenge"); a listener
//     that receives a connection from a smaller sid drops whatever connection it had to that
//     peer, hangs up, and dials the peer itself.
//   - Each peer has a send queue of capacity 1 where the newest message replaces an unsent
//     one (older notifications are stale), and the last message sent to a peer is sent
//     again first on every new connection to it, since the old connection may have lost it.
//   - Received messages go to one queue (capacity RecvCapacity) that drops its oldest entry
//     when full; a message to myself is delivered to it directly.
//   - A frame with a length outside 1..wire.PacketMaxSize, or any read error, ends that
//     connection only. Reconnecting is driven by Send and ConnectAll, not by the manager.
//
// Handshakes are read one at a time by the accept loop, as QuorumCnxManager does without
// quorum SASL, each within SocketTimeout: connections from one peer must be applied in the
// order they arrived, or a stale connection could replace a newer one and leave the pair
// with none. Unlike QuorumCnxManager, dialling runs on its own goroutine, so Send never
// blocks.
package cnx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/wire"
)

// Defaults, as in Apache ZooKeeper.
const (
	DefaultConnectTimeout = 5 * time.Second  // zookeeper.cnxTimeout
	DefaultSocketTimeout  = 10 * time.Second // tickTime*syncLimit with the sample config
	DefaultBindRetry      = 3                // zookeeper.electionPortBindRetry
	DefaultRecvCapacity   = 100              // QuorumCnxManager.RECV_CAPACITY
	// BindRetryForever is the BindRetry that retries binding until Close.
	BindRetryForever = 0
	// ObserverID is the sid an observer without an id announces (QuorumPeer.OBSERVER_ID);
	// such peers get temporary ids counting down from math.MaxUint64 (Java's -1, -2, ...).
	ObserverID = math.MaxInt64
)

// Config configures a Manager.
type Config struct {
	MyID uint64
	// ListenAddr is the address the election port binds to: this server's own election
	// address, or "0.0.0.0:port" when quorumListenOnAllIPs is set. Port 0 picks a free port
	// (see Manager.Addr). With multiAddress, several joined by '|', each bound.
	ListenAddr string
	// MyAddr is this server's election address as sent in the handshake, "host:port" (the
	// server.N line's host and election port); several joined by '|' are sent with
	// ProtocolV2, as a multiAddress server does. Empty: ListenAddr as bound.
	MyAddr string
	// Peers maps every other server's sid to its election address "host:port", or to
	// several joined by '|' (multiAddress), tried in order until one connects.
	Peers map[uint64]string
	// LocalHost is the host or IP outgoing connections bind to (port 0), normally this
	// server's own server.N host, so per-host firewall rules see the right source. Empty:
	// chosen by the system. With multiAddress, several joined by '|': a dial to a peer's
	// i-th address binds the i-th (none if there is no i-th).
	LocalHost string
	// ConnectTimeout bounds dialling a peer (cnxTimeout); 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// SocketTimeout bounds reading and writing a handshake; 0 means DefaultSocketTimeout.
	SocketTimeout time.Duration
	// BindRetry is zookeeper.electionPortBindRetry: how many times binding the election
	// port is tried before Start (or a re-bind after an accept error) gives up. As in Java,
	// 0 (BindRetryForever) retries until Close and a negative value means DefaultBindRetry.
	// BindRetryInterval separates tries (default 1 s, as in Java).
	BindRetry         int
	BindRetryInterval time.Duration
	// RecvCapacity is the receive queue's capacity; 0 means DefaultRecvCapacity.
	RecvCapacity int
	// TLS, when set, secures connections (sslQuorum, portUnification) before the handshake.
	TLS Securer
	// Auth, when set, authenticates connections right after the handshake (quorum SASL),
	// before the connection challenge, as QuorumCnxManager does.
	Auth Authenticator
	// Log gets connection events (the zero Logger logs nothing).
	Log zerolog.Logger
}

// Securer wraps a connection in TLS (or lets it through in plain text, as configured):
// Dial for one this server opened to host, Accept for one it accepted, each within timeout.
// On error the connection is closed.
type Securer interface {
	Dial(c net.Conn, host string, timeout time.Duration) (net.Conn, error)
	Accept(c net.Conn, timeout time.Duration) (net.Conn, error)
}

// Authenticator runs quorum authentication: Learn on a connection this server opened to
// host, Serve on one it accepted (returning the connection to read from then on). On error
// the caller closes the connection.
type Authenticator interface {
	Learn(c net.Conn, host string) error
	Serve(c net.Conn) (net.Conn, error)
}

// Message is a received election message body.
type Message struct {
	From uint64
	Body []byte
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("cnx: manager closed")

// Manager keeps the election connections of one server.
type Manager struct {
	cfg   Config
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	recv  chan Message
	local []*net.TCPAddr

	mu        sync.Mutex
	closed    bool
	ln        net.Listener   // the first listener (Addr)
	lns       []net.Listener // every bound election address
	lnErr     error
	peers     map[uint64]*peer
	observers uint64 // temporary ids handed out so far
	pending   map[net.Conn]struct{}

	recvMu  sync.Mutex
	dropped uint64
}

// peer is the state kept per remote sid, guarded by Manager.mu.
type peer struct {
	pending []byte // the send queue of capacity 1: the newest message not sent yet
	last    []byte // last message taken by a connection's sender
	conn    *conn  // current connection, or nil
	dialing bool
	addr    string // election address learnt from its handshake, if not configured
}

// conn is one established connection with its sender and receiver goroutines.
type conn struct {
	sid       uint64
	c         net.Conn
	initiated bool          // dialled by me
	wake      chan struct{} // capacity 1: a message is pending
	done      chan struct{}
	once      sync.Once
}

func (c *conn) finish() {
	c.once.Do(func() {
		close(c.done)
		c.c.Close()
	})
}

// New checks cfg and returns a manager; Start starts accepting connections, Send works
// without it (outgoing connections only).
func New(cfg Config) (*Manager, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.SocketTimeout <= 0 {
		cfg.SocketTimeout = DefaultSocketTimeout
	}
	if cfg.BindRetry < 0 {
		cfg.BindRetry = DefaultBindRetry
	}
	if cfg.BindRetryInterval <= 0 {
		cfg.BindRetryInterval = time.Second
	}
	if cfg.RecvCapacity <= 0 {
		cfg.RecvCapacity = DefaultRecvCapacity
	}
	if cfg.MyID > math.MaxInt64 {
		return nil, fmt.Errorf("cnx: my id %d does not fit a Java long", cfg.MyID)
	}
	m := &Manager{
		cfg:     cfg,
		recv:    make(chan Message, cfg.RecvCapacity),
		peers:   make(map[uint64]*peer),
		pending: make(map[net.Conn]struct{}),
	}
	if cfg.LocalHost != "" {
		for _, h := range strings.Split(cfg.LocalHost, "|") {
			a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(h, "0"))
			if err != nil {
				return nil, fmt.Errorf("cnx: local host %q: %w", h, err)
			}
			m.local = append(m.local, a)
		}
	}
	for sid, addrs := range cfg.Peers {
		for _, addr := range strings.Split(addrs, "|") {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return nil, fmt.Errorf("cnx: election address of %d: %w", sid, err)
			}
		}
	}
	m.ctx, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// info and warn log a connection event.
func (m *Manager) info(format string, args ...any) {
	m.cfg.Log.Info().Uint64("myid", m.cfg.MyID).Msgf("election: "+format, args...)
}

func (m *Manager) warn(format string, args ...any) {
	m.cfg.Log.Warn().Uint64("myid", m.cfg.MyID).Msgf("election: "+format, args...)
}

// Recv returns the receive queue. It is closed by Close.
func (m *Manager) Recv() <-chan Message { return m.recv }

// Dropped is how many received messages were dropped because the queue was full.
func (m *Manager) Dropped() uint64 {
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	return m.dropped
}

// Start binds the election port, trying up to BindRetry times, and starts accepting
// connections. If accepting fails later, the port is bound again with the same budget;
// when that runs out, ListenErr reports why and the manager only dials out (Java then
// exits the process; the caller may do the same).
func (m *Manager) Start() error {
	// One listener per address (a ListenerHandler each in Java).
	var lns []net.Listener
	for _, addr := range strings.Split(m.cfg.ListenAddr, "|") {
		ln, err := m.bind(addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		for _, l := range lns {
			l.Close()
		}
		return ErrClosed
	}
	m.ln, m.lns = lns[0], lns
	m.wg.Add(len(lns))
	m.mu.Unlock()
	for i, ln := range lns {
		go m.acceptLoop(ln, i)
	}
	return nil
}

// bind tries to bind addr as QuorumCnxManager.Listener does.
func (m *Manager) bind(addr string) (net.Listener, error) {
	var lc net.ListenConfig // Go sets SO_REUSEADDR on listeners, as Java's setReuseAddress(true)
	var err error
	for try := 1; m.cfg.BindRetry == BindRetryForever || try <= m.cfg.BindRetry; try++ {
		var ln net.Listener
		ln, err = lc.Listen(m.ctx, "tcp", addr)
		if err == nil {
			return ln, nil
		}
		if m.ctx.Err() != nil {
			return nil, ErrClosed
		}
		m.warn("bind %s (try %d): %v", addr, try, err)
		select {
		case <-time.After(m.cfg.BindRetryInterval):
		case <-m.ctx.Done():
			return nil, ErrClosed
		}
	}
	return nil, fmt.Errorf("cnx: bind election port %s: %w", addr, err)
}

// Addr is the bound election address, nil before Start.
func (m *Manager) Addr() net.Addr {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ln == nil {
		return nil
	}
	return m.ln.Addr()
}

// ListenErr is why the listener stopped for good, if it did.
func (m *Manager) ListenErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lnErr
}

func (m *Manager) acceptLoop(ln net.Listener, i int) {
	defer m.wg.Done()
	addr := ln.Addr().String()
	for {
		c, err := ln.Accept()
		if err != nil {
			ln.Close()
			if m.ctx.Err() != nil {
				return
			}
			m.warn("accept: %v; binding again", err)
			if ln, err = m.bind(addr); err != nil {
				m.mu.Lock()
				m.lnErr = err
				m.mu.Unlock()
				return
			}
			m.mu.Lock()
			if m.closed {
				m.mu.Unlock()
				ln.Close()
				return
			}
			m.lns[i] = ln
			if i == 0 {
				m.ln = ln
			}
			m.mu.Unlock()
			continue
		}
		if !m.track(c) {
			return
		}
		if m.cfg.TLS == nil && m.cfg.Auth == nil {
			m.handleIncoming(c)
			continue
		}
		// A TLS handshake (or port unification's wait for the first bytes) or a quorum SASL
		// exchange must not hold up the other peers' connections: each runs apart
		// (receiveConnectionAsync, which ZooKeeper also uses with quorum SASL).
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.handleIncoming(c)
		}()
	}
}

// track records a connection whose handshake is under way, so that Close can end it;
// false (and c closed) if the manager is closed.
func (m *Manager) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		c.Close()
		return false
	}
	m.pending[c] = struct{}{}
	return true
}

func (m *Manager) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.pending, c)
	m.mu.Unlock()
}

// handleIncoming reads a handshake and applies the tie-break (handleConnection).
func (m *Manager) handleIncoming(c net.Conn) {
	defer m.untrack(c)
	m.setSockOpts(c)
	if m.cfg.TLS != nil {
		sc, err := m.cfg.TLS.Accept(c, m.cfg.SocketTimeout)
		if err != nil {
			m.warn("connection from %s: %v", c.RemoteAddr(), err)
			return
		}
		c = sc
	}
	c.SetDeadline(time.Now().Add(m.cfg.SocketTimeout))
	h, err := wire.ReadHandshake(c)
	if err != nil {
		m.warn("handshake from %s: %v", c.RemoteAddr(), err)
		c.Close()
		return
	}
	var addr string
	if addrs, err := h.Addrs(); err != nil {
		m.warn("handshake from %s: %v", c.RemoteAddr(), err)
		c.Close()
		return
	} else if len(addrs) > 0 {
		addr = strings.Join(addrs, "|") // a multiAddress peer's, tried in order
	}
	c.SetDeadline(time.Time{})
	if m.cfg.Auth != nil {
		ac, err := m.cfg.Auth.Serve(c)
		if err != nil {
			m.warn("authentication of %s: %v", c.RemoteAddr(), err)
			c.Close()
			return
		}
		c = ac
	}
	if h.SID < 0 {
		// A pre-3.5 sid is a non-negative long; V1/V2 sids too, unless corrupt.
		m.warn("handshake from %s: negative sid %d", c.RemoteAddr(), h.SID)
		c.Close()
		return
	}
	sid := uint64(h.SID)
	if h.SID == ObserverID {
		m.mu.Lock()
		m.observers++
		sid = math.MaxUint64 - m.observers + 1
		m.mu.Unlock()
	}
	switch {
	case sid == m.cfg.MyID:
		// ZOOKEEPER-2164: a configuration error or a bug.
		m.warn("connection from %s announces my own id", c.RemoteAddr())
		c.Close()
	case sid < m.cfg.MyID && h.SID != ObserverID:
		// I win the challenge: the peer believes it has no connection to me, so whatever
		// I have is stale. Drop it and dial the peer myself.
		m.info("connection from smaller id %d: dialling it back", sid)
		c.Close()
		m.mu.Lock()
		p := m.peerLocked(sid)
		if addr != "" {
			p.addr = addr
		}
		if p.conn != nil {
			p.conn.finish()
			p.conn = nil
		}
		m.dialLocked(sid, p, addr)
		m.mu.Unlock()
	default:
		m.establish(sid, c, false)
	}
}

// peerLocked returns sid's state, creating it.
func (m *Manager) peerLocked(sid uint64) *peer {
	p := m.peers[sid]
	if p == nil {
		p = &peer{}
		m.peers[sid] = p
	}
	return p
}

// establish makes c the connection to sid, replacing any previous one, and starts its
// sender and receiver.
func (m *Manager) establish(sid uint64, c net.Conn, initiated bool) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		c.Close()
		return
	}
	p := m.peerLocked(sid)
	if p.conn != nil {
		p.conn.finish()
	}
	cn := &conn{sid: sid, c: c, initiated: initiated, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.conn = cn
	m.wg.Add(2)
	m.mu.Unlock()
	m.info("connected to %d (%s->%s, initiated by %s)", sid, c.LocalAddr(), c.RemoteAddr(), map[bool]string{true: "me", false: "peer"}[initiated])
	go m.sender(p, cn)
	go m.receiver(cn)
}

// drop ends cn and forgets it if it is still sid's connection.
func (m *Manager) drop(cn *conn) {
	cn.finish()
	m.mu.Lock()
	if p := m.peers[cn.sid]; p != nil && p.conn == cn {
		p.conn = nil
	}
	m.mu.Unlock()
}

// sender writes sid's queued messages to cn (SendWorker). A new connection first carries
// the last message sent, unless a newer one is queued: the connection it replaces may have
// lost it. Only the peer's current connection takes queued messages, and taking one
// records it as the last message in the same step, so a message taken by a connection
// that dies is sent again by the next one.
func (m *Manager) sender(p *peer, cn *conn) {
	defer m.wg.Done()
	defer m.drop(cn)
	m.mu.Lock()
	var first []byte
	if p.pending == nil {
		first = p.last
	}
	m.mu.Unlock()
	if first != nil {
		if err := wire.WriteFrame(cn.c, first); err != nil {
			m.warn("send to %d: %v", cn.sid, err)
			return
		}
	}
	for {
		m.mu.Lock()
		if p.conn != cn {
			m.mu.Unlock()
			return
		}
		b := p.pending
		if b != nil {
			p.pending = nil
			p.last = b
		}
		m.mu.Unlock()
		if b != nil {
			if err := wire.WriteFrame(cn.c, b); err != nil {
				m.warn("send to %d: %v", cn.sid, err)
				return
			}
			continue
		}
		select {
		case <-cn.done:
			return
		case <-m.ctx.Done():
			return
		case <-cn.wake:
		}
	}
}

// receiver reads frames from cn until it fails (RecvWorker).
func (m *Manager) receiver(cn *conn) {
	defer m.wg.Done()
	defer m.drop(cn)
	for {
		body, err := wire.ReadFrame(cn.c)
		if err != nil {
			select {
			case <-cn.done:
			default:
				m.warn("connection to %d broken: %v (%s->%s)", cn.sid, err, cn.c.LocalAddr(), cn.c.RemoteAddr())
			}
			return
		}
		m.deliver(Message{From: cn.sid, Body: body})
	}
}

// deliver queues a received message, dropping the oldest if the queue is full
// (CircularBlockingQueue).
func (m *Manager) deliver(msg Message) {
	m.recvMu.Lock()
	defer m.recvMu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	for {
		select {
		case m.recv <- msg:
			return
		default:
		}
		select {
		case <-m.recv:
			m.dropped++
		default:
		}
	}
}

// Send queues body for sid, replacing a queued message not sent yet, and dials sid if
// there is no connection (toSend). A message to myself goes straight to the receive queue.
// body must not be changed afterwards; it must be 1..wire.PacketMaxSize bytes.
func (m *Manager) Send(sid uint64, body []byte) {
	if sid == m.cfg.MyID {
		m.deliver(Message{From: sid, Body: body})
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	p := m.peerLocked(sid)
	p.pending = body
	if p.conn != nil {
		select {
		case p.conn.wake <- struct{}{}:
		default:
		}
	}
	m.dialLocked(sid, p, "")
}

// SetPeers replaces the configured election addresses (after a reconfiguration): new
// members become reachable, and a member's changed address is used from its next dial.
func (m *Manager) SetPeers(peers map[uint64]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg.Peers = peers
}

// ConnectAll dials every peer a message was ever queued for that has no connection
// (connectAll, which election calls when it has heard nothing for a while).
func (m *Manager) ConnectAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for sid, p := range m.peers {
		m.dialLocked(sid, p, "")
	}
}

// Connected reports whether there is a connection to sid.
func (m *Manager) Connected(sid uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.peers[sid]
	return p != nil && p.conn != nil
}

// HaveDelivered reports whether some peer's send queue is empty (haveDelivered, whose
// Java form also answers true as soon as one queue is empty).
func (m *Manager) HaveDelivered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if p.pending == nil {
			return true
		}
	}
	return false
}

// dialLocked starts dialling sid unless connected or already dialling (connectOne). addr,
// if set, is where the peer said it listens; otherwise the configured address, else the
// one its last handshake gave.
func (m *Manager) dialLocked(sid uint64, p *peer, addr string) {
	if p.conn != nil || p.dialing || m.closed {
		return
	}
	if addr == "" {
		addr = m.cfg.Peers[sid]
	}
	if addr == "" {
		addr = p.addr
	}
	if addr == "" {
		m.warn("no election address for %d", sid)
		return
	}
	p.dialing = true
	m.wg.Add(1)
	go m.dial(sid, p, addr)
}

func (m *Manager) dial(sid uint64, p *peer, addr string) {
	defer m.wg.Done()
	established := false
	defer func() {
		if !established {
			m.mu.Lock()
			p.dialing = false
			m.mu.Unlock()
		}
	}()
	// multiAddress: the peer's addresses in order, the first that connects (Java picks
	// the first that answers a reachability probe, then connects to it).
	var c net.Conn
	var host string
	for i, a := range strings.Split(addr, "|") {
		d := net.Dialer{Timeout: m.cfg.ConnectTimeout}
		switch {
		case i < len(m.local):
			d.LocalAddr = m.local[i]
		case len(m.local) == 1:
			d.LocalAddr = m.local[0]
		}
		var err error
		if c, err = d.DialContext(m.ctx, "tcp", a); err == nil {
			host, _, _ = net.SplitHostPort(a)
			break
		}
		m.warn("dial %d at %s: %v", sid, a, err)
		if m.ctx.Err() != nil {
			return
		}
	}
	if c == nil {
		return
	}
	if !m.track(c) {
		return
	}
	defer m.untrack(c)
	m.setSockOpts(c)
	if m.cfg.TLS != nil {
		sc, err := m.cfg.TLS.Dial(c, host, m.cfg.SocketTimeout)
		if err != nil {
			m.warn("TLS to %d at %s: %v", sid, c.RemoteAddr(), err)
			return
		}
		c = sc
	}
	h := wire.Handshake{Version: wire.ProtocolV1, SID: int64(m.cfg.MyID), Addr: m.electionAddr()}
	if strings.Contains(h.Addr, "|") {
		h.Version = wire.ProtocolV2 // several addresses (multiAddress.enabled)
	}
	c.SetDeadline(time.Now().Add(m.cfg.SocketTimeout))
	if _, err := c.Write(wire.AppendHandshake(nil, &h)); err != nil {
		m.warn("handshake to %d: %v", sid, err)
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if m.cfg.Auth != nil {
		if err := m.cfg.Auth.Learn(c, host); err != nil {
			m.warn("authentication to %d at %s: %v", sid, c.RemoteAddr(), err)
			c.Close()
			return
		}
	}
	if sid > m.cfg.MyID {
		// Lost the challenge: the peer drops this connection and dials me.
		m.info("dropping my connection to %d: it has the larger id", sid)
		c.Close()
		return
	}
	m.mu.Lock()
	p.dialing = false
	established = true
	m.mu.Unlock()
	m.establish(sid, c, true)
}

// electionAddr is what the handshake announces.
func (m *Manager) electionAddr() string {
	if m.cfg.MyAddr != "" {
		return m.cfg.MyAddr
	}
	if a := m.Addr(); a != nil {
		return a.String()
	}
	return m.cfg.ListenAddr
}

func (m *Manager) setSockOpts(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	setUserTimeout(c, m.cfg.SocketTimeout)
}

// Close stops listening, ends every connection and waits for all goroutines; Recv's
// channel is then closed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.stop()
	for _, ln := range m.lns {
		ln.Close()
	}
	for _, p := range m.peers {
		if p.conn != nil {
			p.conn.finish()
		}
	}
	for c := range m.pending {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.recvMu.Lock()
	close(m.recv)
	m.recvMu.Unlock()
	return nil
}
