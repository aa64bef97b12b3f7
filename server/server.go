// Package server is the client side of a ZooKeeper node: connections, sessions, the request
// pipeline, the data tree, watches and ACLs.
//
// Every change flows through one ordered path (pipeline.go): a request is prepared into a
// zxid-stamped transaction (validation, ACL checks, sequence numbers against the tree plus
// the changes still in flight), the transaction is made durable by the txnSink, and then
// applied to the data tree, which fires watches before the reply is queued.
package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

// Version is the version this server reports where Apache ZooKeeper reports its own.
const Version = "3.8.0-zkgo"

// Server is a standalone ZooKeeper server.
type Server struct {
	cfg *config.Config
	log zerolog.Logger

	// treeP is the data tree; an ensemble member swaps it when it reloads (TRUNC, SNAP,
	// re-election) while it serves no client, so readers load it through dt().
	treeP    atomic.Pointer[datatree.Tree]
	sessions *sessionTracker

	// Settings resolved from the config once.
	tickMs         int
	minTimeout     int32
	maxTimeout     int32
	maxBuffer      int
	maxClientCnxns int
	maxCnxns       int           // zookeeper.maxCnxns: all client connections; 0 = unlimited
	sessionless    time.Duration // zookeeper.nio.sessionlessCnxnTimeout
	skipACL        bool
	superDigest    string
	digestHash     func([]byte) []byte // zookeeper.DigestAuthenticationProvider.digestAlg
	extendedTypes  datatree.OwnerTypes
	flushPolicy    persistence.FlushPolicy // zookeeper.flushDelay and co. (standalone log syncs)
	enforceQuota   bool
	whitelist      map[string]bool
	serverID       int64
	saslUsers      map[string]string // DIGEST-MD5 users from the JAAS Server section
	saslAnyUser    string            // zookeeper.letAnySaslUserDoX
	audit          *auditLog         // audit.enable; nil when off

	ln       net.Listener
	secureLn net.Listener // secureClientPort
	tls      *tlsServer   // secureClientPort's settings (tls.go)
	unified  bool         // zookeeper.client.portUnification: TLS clients on clientPort too

	eagerACL bool // zookeeper.enableEagerACLCheck: writes checked on an ensemble member first (eageracl.go)

	connThrottle *blueThrottle // zookeeper.connection_throttle_*: ConnectRequests draw from it (connthrottle.go)

	// localSessions: an ensemble member's new sessions are local to it (localsession.go);
	// upgradeLocal: a local session's first ephemeral makes it global.
	localSessions, upgradeLocal bool
	reqCh                       chan *request
	stopCh                      chan struct{}
	wg                          sync.WaitGroup
	started                     time.Time
	serving                     atomic.Bool
	// leaderAlone: this member leads with leaderServes=no, so its client port serves no
	// one (Leader.lead leaves the connection factory without a server); the AdminServer
	// still answers.
	leaderAlone  atomic.Bool
	leaderServes bool
	// auth: the schemes with a provider and the authentication a connection must have
	// (authprovider.go).
	auth *authConfig

	// queued counts the requests waiting in connections for earlier ones (conn.pending);
	// over queuedLimit (zookeeper.globalOutstandingLimit) readers of connections with
	// requests waiting stop reading (conn.waitOutstanding), woken through throttleCond.
	queued          atomic.Int64
	queuedLimit     int64
	large           *largeRequests
	reqThrottle     *requestThrottle
	throttleMu      sync.Mutex
	throttleCond    *sync.Cond
	throttleWaiters atomic.Int32

	// ens is the quorum of an ensemble member (nil: standalone); run is the role it
	// serves in now (nil while an ensemble member is electing).
	ens  Ensemble
	run  atomic.Pointer[roleRun]
	gate commitGate

	connMu sync.Mutex
	conns  map[*conn]struct{}
	perIP  map[string]int

	// Pipeline state, owned by the committer goroutine (see pipeline.go).
	nextZxid    int64
	outstanding *outstanding
	sink        TxnSink
	prepDigest  uint64 // tree digest once every prepared txn is applied (committer-owned)

	digestEnabled   bool
	closeSessionTxn bool // zookeeper.closeSessionTxn.enabled: closeSession txns list the ephemerals
	restoreDigests  struct{ checked, mismatched int }
	disk            *diskSink // nil when running without storage (tests of the pipeline alone)

	// For YieldReads (yield.go): reads answered, writes seen (and their count at the last
	// check), the zxid of the last txn this ensemble member logged (NoteLogged), and
	// sched_yield (tests count the calls).
	readsAnswered, writesSeen, writesSeenBefore, loggedZxid atomic.Int64
	yieldCPU                                                func()

	stats serverStats

	// Operator interface (admin.go, metrics.go).
	metrics       *serverMetrics
	traceMask     atomic.Int64
	initialConfig string
	admin         *adminHTTP
	metricsHTTP   *metricsHTTP
}

// New prepares a server from cfg; Start binds and serves.
func New(cfg *config.Config, log zerolog.Logger) (*Server, error) {
	s := &Server{
		cfg:             cfg,
		leaderServes:    cfg.PropString("zookeeper.leaderServes", "yes") != "no",
		unified:         cfg.PropBool("zookeeper.client.portUnification"),
		eagerACL:        cfg.PropBool("zookeeper.enableEagerACLCheck"),
		queuedLimit:     max(1, int64(cfg.PropInt("zookeeper.globalOutstandingLimit", 1000))),
		large:           newLargeRequests(cfg),
		reqThrottle:     newRequestThrottle(cfg),
		log:             log,
		tickMs:          cfg.TickTime,
		minTimeout:      int32(cfg.MinSessionTimeoutMs()),
		maxTimeout:      int32(cfg.MaxSessionTimeoutMs()),
		maxBuffer:       cfg.JuteMaxBuffer(),
		maxClientCnxns:  cfg.MaxClientCnxns,
		maxCnxns:        cfg.MaxCnxns(),
		skipACL:         cfg.SkipACL(),
		superDigest:     cfg.SuperDigest(),
		extendedTypes:   datatree.OwnerTypesFor(cfg.ExtendedTypesEnabled(), cfg.Emulate353TTLNodes()),
		flushPolicy:     cfg.FlushPolicy(),
		enforceQuota:    cfg.EnforceQuota(),
		whitelist:       cfg.FourLetterWhitelist(),
		digestEnabled:   cfg.DigestEnabled(),
		closeSessionTxn: cfg.CloseSessionTxnEnabled(),
		serverID:        1, // standalone servers use id 1 for session ids (createSessionTrackerServerId)
		reqCh:           make(chan *request, 4096),
		stopCh:          make(chan struct{}),
		conns:           make(map[*conn]struct{}),
		perIP:           make(map[string]int),
		outstanding:     newOutstanding(),
		sink:            nopSink{},
		yieldCPU:        yieldCPU,
	}
	s.throttleCond = sync.NewCond(&s.throttleMu)
	s.setTree(datatree.New())
	if s.tickMs <= 0 {
		return nil, errors.New("tickTime must be positive")
	}
	s.dt().ExtendedTypes = s.extendedTypes
	auth, err := newAuthConfig(cfg)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	users, err := loadSASLUsers(cfg)
	if err != nil {
		return nil, err
	}
	s.saslUsers = users
	if s.digestHash, err = digestHash(cfg.PropString("zookeeper.DigestAuthenticationProvider.digestAlg", "SHA1")); err != nil {
		return nil, err
	}
	s.saslAnyUser, _ = cfg.Prop(propLetAnySASLUserDoX)
	if s.connThrottle, err = newBlueThrottle(cfg, log); err != nil {
		return nil, err
	}
	s.sessionless = time.Duration(cfg.PropInt("zookeeper.nio.sessionlessCnxnTimeout", 10000)) * time.Millisecond
	if s.sessionless <= 0 {
		s.sessionless = 10 * time.Second // the default; Apache's ExpiryQueue fails on <= 0
	}
	if s.audit, err = newAuditLog(cfg, log); err != nil {
		return nil, err
	}
	s.auditTree(s.dt())
	s.stats.minLatency.Store(-1)
	s.metrics = newServerMetrics()
	s.traceMask.Store(defaultTraceMask)
	return s, nil
}

// Tree exposes the data tree (tests, 4lw, storage).
func (s *Server) Tree() *datatree.Tree { return s.dt() }

// dt is the current data tree.
func (s *Server) dt() *datatree.Tree { return s.treeP.Load() }

// setTree installs t, reporting its watch triggers to the node_*_watch_count metrics.
func (s *Server) setTree(t *datatree.Tree) {
	t.WatchesFired = s.watchesFired
	s.auditTree(t)
	s.treeP.Store(t)
}

func (s *Server) watchesFired(eventType int32, watchers int) {
	switch eventType {
	case jute.EventNodeCreated:
		s.Observe(NodeCreatedWatchCount, int64(watchers))
	case jute.EventNodeDeleted:
		s.Observe(NodeDeletedWatchCount, int64(watchers))
	case jute.EventNodeDataChanged:
		s.Observe(NodeChangedWatchCount, int64(watchers))
	case jute.EventNodeChildrenChanged:
		s.Observe(NodeChildrenWatchCount, int64(watchers))
	}
}

// Start binds the client port (and the TLS one, secureClientPort) and starts serving in the
// background.
func (s *Server) Start() error {
	err := s.start()
	if s.ens == nil {
		s.AuditStart(err == nil) // an ensemble member's comes once its node started
	}
	return err
}

// AuditStart writes the audit log's serverStart (ZooKeeperServerMain, QuorumPeerMain): a
// server that failed to start writes no more.
func (s *Server) AuditStart(ok bool) {
	if ok {
		s.audit.serverEvent(auditOpStart, auditSuccess)
		return
	}
	s.audit.serverEvent(auditOpStart, auditFailure)
	s.audit.close()
}

func (s *Server) start() error {
	s.started = time.Now()
	if s.cfg.SecureClientPort != 0 || s.unified {
		t, err := newTLSServer(s.cfg)
		if err != nil {
			return err
		}
		s.tls = t
	}
	if s.ens == nil {
		s.sessions = newSessionTracker(s.tickMs, s.serverID, s.started)
		if err := s.openStorage(); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		host   string
		port   int
		secure bool
	}{{s.cfg.ClientPortAddress, s.cfg.ClientPort, false}, {s.cfg.SecureClientPortAddress, s.cfg.SecureClientPort, true}} {
		if l.port == 0 && (l.secure || s.cfg.SecureClientPort != 0) {
			continue // no such port (a clientPort of 0 alone binds any free port: tests)
		}
		addr := net.JoinHostPort(l.host, fmt.Sprint(l.port))
		ln, err := listenBacklog(addr, s.cfg.ClientPortListenBacklog)
		if err != nil {
			if s.ln != nil {
				s.ln.Close()
				s.ln = nil
			}
			if s.disk != nil {
				s.disk.close()
			}
			return fmt.Errorf("bind client port %s: %w", addr, err)
		}
		if l.secure {
			s.secureLn = ln
		} else {
			s.ln = ln
		}
	}
	if s.ens == nil {
		s.startRun(roleStandalone, 0)
		if s.cfg.PurgeInterval > 0 {
			s.wg.Add(1)
			go s.autopurge()
		}
	}
	for _, ln := range s.listeners() {
		s.wg.Add(1)
		go s.acceptLoop(ln, ln == s.secureLn)
		s.log.Info().Str("addr", ln.Addr().String()).Bool("tls", ln == s.secureLn).Msg("listening for clients")
	}
	s.startAdmin()
	s.startMetrics()
	return nil
}

// listeners are the bound client ports.
func (s *Server) listeners() []net.Listener {
	var lns []net.Listener
	for _, ln := range []net.Listener{s.ln, s.secureLn} {
		if ln != nil {
			lns = append(lns, ln)
		}
	}
	return lns
}

// Addr is the bound client address (useful with clientPort=0 in tests), or the TLS one
// when there is only that.
func (s *Server) Addr() net.Addr {
	if lns := s.listeners(); len(lns) > 0 {
		return lns[0].Addr()
	}
	return nil
}

// SecureAddr is the bound TLS client address (secureClientPort), if any.
func (s *Server) SecureAddr() net.Addr {
	if s.secureLn == nil {
		return nil
	}
	return s.secureLn.Addr()
}

// Close stops serving and releases the port. Sessions are not closed: like a crash or a
// restart of Apache ZooKeeper, they survive in storage until they expire.
func (s *Server) Close() error {
	lns := s.listeners()
	if len(lns) == 0 {
		return nil
	}
	select {
	case <-s.stopCh:
		return nil
	default:
	}
	s.audit.serverEvent(auditOpStop, auditInvoked) // ZooKeeper's shutdown hook
	s.stopRun()
	close(s.stopCh)
	s.stopAdmin()
	s.stopMetrics()
	var err error
	for _, ln := range lns {
		if cerr := ln.Close(); err == nil {
			err = cerr
		}
	}
	s.connMu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	if s.disk != nil {
		if cerr := s.disk.close(); err == nil {
			err = cerr
		}
	}
	s.audit.close()
	return err
}

func (s *Server) acceptLoop(ln net.Listener, secure bool) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.stopCh:
				return
			default:
			}
			s.Count(ConnectionRejected, 1) // as AcceptThread.doAccept, a failed accept too
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error().Err(err).Msg("accept")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			tc.SetKeepAlive(true)
		}
		c := newConn(s, nc, secure) // a TLS handshake is the connection's first step (serve)
		if refused := s.addConn(c); refused != "" {
			s.Count(ConnectionRejected, 1)
			s.log.Warn().Str("ip", c.ip).Msg(refused)
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// addConn registers c unless a connection limit refuses it, and then says why: the total
// zookeeper.maxCnxns first, then maxClientCnxns per client IP (0 = unlimited), as
// NIOServerCnxnFactory.doAccept checks them.
func (s *Server) addConn(c *conn) (refused string) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.maxCnxns > 0 && len(s.conns) >= s.maxCnxns {
		return fmt.Sprintf("too many connections, max allowed is %d (zookeeper.maxCnxns); closing", s.maxCnxns)
	}
	if s.maxClientCnxns > 0 && s.perIP[c.ip] >= s.maxClientCnxns {
		return fmt.Sprintf("too many connections from this address, max is %d (maxClientCnxns); closing", s.maxClientCnxns)
	}
	s.perIP[c.ip]++
	s.conns[c] = struct{}{}
	return ""
}

func (s *Server) removeConn(c *conn) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	s.perIP[c.ip]--
	if s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
}

func (s *Server) connList() []*conn {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) logFrameError(c *conn, err error) {
	switch {
	case errors.Is(err, errFrameTooLarge):
		s.log.Warn().Str("client", c.remote).Int("jute.maxbuffer", s.maxBuffer).Msg("closing connection: packet length out of range")
	case errors.Is(err, errLargeRequest):
		s.log.Warn().Str("client", c.remote).Int64("zookeeper.largeRequestMaxBytes", s.large.max).
			Msg("closing connection: rejecting large request (too many large request bytes in flight)")
	}
}

// expirer closes sessions whose timeout passed, once per tick.
func (s *Server) expirer(rr *roleRun) {
	defer rr.wg.Done()
	t := time.NewTicker(time.Duration(s.tickMs) * time.Millisecond / 2)
	defer t.Stop()
	for {
		select {
		case <-rr.stop:
			return
		case now := <-t.C:
			for _, sess := range s.sessions.expired(now.UnixMilli(), rr.kind != roleLeader && rr.kind != roleStandalone) {
				s.Count(StaleSessionsExpired, 1)
				s.log.Info().Str("session", fmt.Sprintf("0x%x", sess.id)).Int32("timeout", sess.timeout).Bool("local", sess.local).Msg("session expired")
				if sess.local {
					s.closeConnsOfSession(sess.id) // gone already: no txn for a local session
					continue
				}
				s.submit(&request{session: sess.id, op: jute.OpCloseSession, pipeline: true, start: time.Now()})
			}
		}
	}
}

// serverStats are the counters of srvr/stat/mntr.
type serverStats struct {
	packetsReceived atomic.Int64
	packetsSent     atomic.Int64
	minLatency      atomic.Int64
	maxLatency      atomic.Int64
	sumLatency      atomic.Int64
	cntLatency      atomic.Int64
	outstanding     atomic.Int64
	tlsHandshakes   atomic.Int64 // in progress (outstanding_tls_handshake)
	authFailed      atomic.Int64 // failed TLS handshakes and x509 authentications (auth_failed_count)
}

func (st *serverStats) recordLatency(ms int64) {
	if m := st.minLatency.Load(); m < 0 || ms < m {
		st.minLatency.Store(ms)
	}
	if ms > st.maxLatency.Load() {
		st.maxLatency.Store(ms)
	}
	st.sumLatency.Add(ms)
	st.cntLatency.Add(1)
}

func (st *serverStats) reset() {
	st.packetsReceived.Store(0)
	st.packetsSent.Store(0)
	st.minLatency.Store(-1)
	st.maxLatency.Store(0)
	st.sumLatency.Store(0)
	st.cntLatency.Store(0)
}

// DigestMismatches counts transactions whose applied tree digest differed from the one
// prepared (and logged); always 0 unless there is a bug.
func (s *Server) DigestMismatches() int64 { return s.Counted(DigestMismatchesCount) }
