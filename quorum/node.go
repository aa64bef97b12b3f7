// Package quorum runs an ensemble member: it wires the zab state machines to TCP (the
// election port through quorum/cnx, the quorum port here), to the durable store
// (persistence) and to the client side (server).
//
// One goroutine, the node loop, owns the zab.Peer and the store's log: every input
// (election notifications, quorum packets, broken connections, ticks, client proposals)
// becomes an event on one channel; after each event the loop executes the Peer's Ready in
// the contract's order: persist (fsync), apply, send.
package quorum

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/gomaxprocs"
	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/cnx"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

const (
	zabSnap = zab.Snap
	// electionTick is the election machine's clock: finalizeWait (200 ms) is 4 ticks.
	electionTick = 50 * time.Millisecond
)

// delayTicks converts a wait in ms to election ticks; none for 0 or less.
func delayTicks(ms int) int {
	if ms <= 0 {
		return 0
	}
	return electionTicks(ms)
}

// electionTicks converts a FastLeaderElection interval in ms to ticks of electionTick,
// rounding up, at least one.
func electionTicks(ms int) int {
	return max(1, int((time.Duration(ms)*time.Millisecond+electionTick-1)/electionTick))
}

// Node is one running ensemble member.
type Node struct {
	cfg  *config.Config
	myid uint64
	log  zerolog.Logger

	srv   *server.Server
	store *Store
	peer  *zab.Peer
	// reloads counts full reloads of the tree from disk after start (tests: a member that
	// starts looking fast-forwards instead).
	reloads atomic.Int64
	pcfg    zab.Config // what peer was made with (restartPeer)
	elect   *cnx.Manager
	// tls secures election and quorum connections (sslQuorum, portUnification); nil: plain.
	tls *x509util.Quorum

	readLimit     int // longest buffer read from another member (JuteReadLimit)
	extendedTypes datatree.OwnerTypes
	tickTime      time.Duration
	observer      bool

	events chan any
	stop   chan struct{}
	loopWG sync.WaitGroup // the node loop
	wg     sync.WaitGroup // the quorum port's accept loop
	fatal  chan error

	// Loop-owned state.
	role         zab.Role
	quorumLns    []net.Listener           // nil until listenQuorum; one per own quorum address
	omLns        []net.Listener           // observerMasterPort: a leader's or serving follower's
	learners     map[uint64]*peerConn     // leader: by learner sid; observer master: its observers
	unknown      map[*peerConn]bool       // leader, observer master: accepted, not yet identified
	leaderConn   *peerConn                // learner
	relayTouches map[int64]int32          // observer master: its observers' sessions, for the next PING
	snapTaken    map[zab.Zxid]*snapSource // observer master: SNAPs of this Ready, taken at their zxid
	pendingSnap  *persistence.Snapshot
	roEnabled    bool      // readonlymode.enabled
	readOnly     bool      // serving read-only clients now
	lookingSince time.Time // when the member last started electing
	ackTimes     []int64   // execute's scratch for Node.logged
	committed    int64     // leader: last committed zxid
	snapLimits   []int64   // leader: zxids of the SNAPs of the Ready being sent
	syncs        map[uint64]func()
	nextSync     uint64
	snapCount    int
	snapSize     int64 // zookeeper.snapSizeLimitInKb in bytes; 0: no size trigger
	snapSizeNext int64 // log bytes since the last roll that trigger the next snapshot
	logLimit     int64 // zookeeper.txnLogSizeLimitInKb in bytes: a roll without a snapshot; 0: none
	snapNext     int
	snapping     atomic.Bool
	snapWG       sync.WaitGroup
	// obsSync is syncEnabled (zookeeper.observer.syncEnabled): while observing, the member
	// logs txns and takes snapshots only with it (ObserverZooKeeperServer).
	obsSync bool
	// restarting: restartPeer is going LOOKING (its tree reload is the restart itself).
	restarting bool

	// unavailableSince is when the member stopped serving (or started): unavailable_time;
	// syncStart is when its leader began to synchronise it: follower/observer_sync_time.
	unavailableSince, syncStart time.Time

	// Pipelined log syncs (forceSync): a serving member's plain Ready (appends only) is
	// appended and written to the log, and its committed txns applied, while the sync
	// goroutine fsyncs it; what promises durability waits in pipe until that sync is done:
	// a learner's ACKs and the Ready's Advance hooks (a leader's own ACK). Any other Ready
	// waits for every sync in flight first.
	pipelined bool
	pipe      []*syncJob
	syncReqs  chan syncReq
	flush     persistence.FlushPolicy // zookeeper.flushDelay and co., for syncLoop
	auth      *quorumAuth             // quorum SASL; nil without quorum.auth.enableSasl
	// syncAwaited: the node loop waits for a sync (awaitSync); syncLoop must not hold it.
	syncAwaited atomic.Bool
	syncDone    chan syncResult
	syncSeq     uint64 // syncs requested
	syncedSeq   uint64 // syncs completed

	batching bool        // in sendMessages: packets are queued, flushed at its end
	touched  []*peerConn // connections with packets queued by sendMessages

	// leaderC is the learner's leader connection, for forwarding from client goroutines.
	leaderC atomic.Pointer[peerConn]
	revalMu sync.Mutex
	reval   map[int64][]revalWait // learner: REVALIDATEs waiting for the leader's answer
	status  atomic.Pointer[zab.Status]
	// oracleSays: the oracle file's last word (watchOracle), given to the peer every tick.
	oracleSays atomic.Bool
	mview      atomic.Pointer[memberView]

	appliedEarly               atomic.Int64 // committed txns applied while a log sync was in flight (tests)
	pendingSyncs               atomic.Int64
	leadingSince               atomic.Int64 // unix ms, while serving as leader
	propLast, propMin, propMax atomic.Int64
}

// Events of the node loop.
type (
	evPacket struct {
		c    *peerConn
		qp   wire.QuorumPacket
		snap *persistence.Snapshot
	}
	evConnDown      struct{ c *peerConn }
	evAccepted      struct{ c *peerConn }
	evPropose       struct{ batch []*server.Txn }
	evSyncLeader    struct{ done func() }
	evSyncFor       struct{ learner uint64 }
	evLearnerSync   struct{}
	evCheckReconfig struct {
		m     zab.Membership
		reply chan error
	}
	evObservers struct {
		reset bool
		reply chan []server.LearnerConnInfo
	}
)

// syncJob is a pipelined Ready waiting for the sync numbered seq (its own, or the one in
// flight when it came, for a Ready without appends).
type syncJob struct {
	seq   uint64
	ls    persistence.LogSync
	txns  int     // appended by its Ready
	times []int64 // their header times if this member ACKs them (Node.logged)
	msgs  []zab.Message
	hooks func()
}

type syncReq struct {
	seq  uint64
	ls   persistence.LogSync
	txns int
}

// syncResult reports that syncs up to seq are durable (or that one failed).
type syncResult struct {
	seq  uint64
	took time.Duration
	err  error
}

// maxExtendedServerID is EphemeralType.MAX_EXTENDED_SERVER_ID.
const maxExtendedServerID = 0xfe

// New prepares a node from an ensemble configuration (cfg.Standalone() is false).
func New(cfg *config.Config, log zerolog.Logger) (*Node, error) {
	if cfg.MyID <= 0 {
		return nil, errors.New("myid is not set")
	}
	me, ok := cfg.Servers[cfg.MyID]
	if !ok {
		return nil, fmt.Errorf("myid %d is not in the server list", cfg.MyID)
	}
	if cfg.ExtendedTypesEnabled() && cfg.MyID > maxExtendedServerID {
		// Session ids begin with the server id, and 0xFF begins a TTL owner
		// (EphemeralType.validateServerId, which ZooKeeper checks when it starts leading).
		return nil, fmt.Errorf("extendedTypesEnabled is true but Server ID is too large. Cannot be larger than %d", maxExtendedServerID)
	}
	n := &Node{
		cfg:           cfg,
		myid:          uint64(cfg.MyID),
		log:           log,
		readLimit:     cfg.JuteReadLimit(),
		extendedTypes: datatree.OwnerTypesFor(cfg.ExtendedTypesEnabled(), cfg.Emulate353TTLNodes()),
		tickTime:      time.Duration(cfg.TickTime) * time.Millisecond,
		observer:      me.Type == config.Observer,
		events:        make(chan any, 4096),
		stop:          make(chan struct{}),
		fatal:         make(chan error, 1),
		learners:      make(map[uint64]*peerConn),
		unknown:       make(map[*peerConn]bool),
		syncs:         make(map[uint64]func()),
		reval:         make(map[int64][]revalWait),
		relayTouches:  make(map[int64]int32),
		snapCount:     cfg.SnapCount(),
		snapSize:      cfg.SnapSizeLimitInKb() * 1024,
		logLimit:      cfg.TxnLogSizeLimit(),
		obsSync:       cfg.ObserverSyncEnabled(),
		flush:         cfg.FlushPolicy(),
		roEnabled:     cfg.ReadOnlyModeEnabled(),
		lookingSince:  time.Now(),
	}
	n.unavailableSince = n.lookingSince
	for _, a := range []*atomic.Int64{&n.propLast, &n.propMin, &n.propMax} {
		a.Store(-1)
	}
	n.setView(&zab.Members{Committed: membershipOf(cfg.Verifier(), cfg.ConfigVersion)})
	auth, err := newQuorumAuth(cfg, time.Duration(cfg.InitLimit*cfg.TickTime)*time.Millisecond, log)
	if err != nil {
		return nil, err
	}
	n.auth = auth
	srv, err := server.New(cfg, log)
	if err != nil {
		return nil, err
	}
	srv.SetEnsemble(n, cfg.MyID)
	n.srv = srv
	return n, nil
}

// Addr is the bound client address.
func (n *Node) Addr() net.Addr { return n.srv.Addr() }

// Server is the client side (tests, 4lw).
func (n *Node) Server() *server.Server { return n.srv }

// Fatal reports an error that stopped the node (a failed disk write).
func (n *Node) Fatal() <-chan error { return n.fatal }

func (n *Node) syncTimeout() time.Duration { return time.Duration(n.cfg.SyncLimit) * n.tickTime }

// leaderConnectTime is how long a learner tries to connect to its leader.
func leaderConnectTime(cfg *config.Config) time.Duration {
	ticks := cfg.InitLimit
	if cfg.ConnectToLearnerMasterLimit > 0 {
		ticks = cfg.ConnectToLearnerMasterLimit
	}
	return time.Duration(ticks*cfg.TickTime) * time.Millisecond
}

// QuorumTLS is the TLS of the ensemble's connections from sslQuorum, portUnification,
// sslQuorumReloadCertFiles and the ssl.quorum.* settings; nil when neither asks for it.
func QuorumTLS(cfg *config.Config) (*x509util.Quorum, error) {
	q, err := x509util.NewQuorum(cfg.Prop, cfg.SSLQuorum, cfg.PortUnification, cfg.SSLQuorumReloadCertFiles)
	if err != nil {
		key := "sslQuorum"
		if !cfg.SSLQuorum {
			key = "portUnification"
		}
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return q, nil
}

// electionSocketTimeout is QuorumCnxManager's socketTimeout: zookeeper.quorumCnxnTimeoutMs
// when positive, else tickTime*syncLimit.
func electionSocketTimeout(cfg *config.Config) time.Duration {
	if ms := cfg.PropInt("zookeeper.quorumCnxnTimeoutMs", -1); ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return time.Duration(cfg.SyncLimit*cfg.TickTime) * time.Millisecond
}

// authenticator is n.auth for the election connections, nil without quorum SASL.
func (n *Node) authenticator() cnx.Authenticator {
	if n.auth == nil {
		return nil
	}
	return n.auth
}

// securer is n.tls as the connections' wrapper, nil (no wrapping) without TLS.
func (n *Node) securer() cnx.Securer {
	if n.tls == nil {
		return nil
	}
	return n.tls
}

func (n *Node) readTimeout() time.Duration {
	return time.Duration(max(n.cfg.InitLimit, n.cfg.SyncLimit)) * n.tickTime
}

// post delivers an event to the loop (unless the node stopped).
func (n *Node) post(ev any) {
	select {
	case n.events <- ev:
	case <-n.stop:
	}
}

// Start loads the data, binds the client and election ports and starts electing. The
// audit log's serverStart tells how it went (QuorumPeerMain).
func (n *Node) Start() error {
	err := n.start()
	n.srv.AuditStart(err == nil)
	return err
}

func (n *Node) start() error {
	cfg := n.cfg
	if err := cfg.CheckSyncThrottles(); err != nil {
		return err
	}
	tq, err := QuorumTLS(cfg)
	if err != nil {
		return err
	}
	if tq != nil {
		tq.OnReloadError = func(err error) { n.log.Error().Err(err).Msg("quorum TLS") }
		n.tls = tq
		n.log.Info().Bool("sslQuorum", cfg.SSLQuorum).Bool("portUnification", cfg.PortUnification).
			Msg("TLS on election and quorum connections")
	}
	if !cfg.PropBoolDefault("zookeeper.datadir.autocreate", true) {
		if err := persistence.RequireDirs(persistence.SnapDir(cfg.DataDir), persistence.LogDir(cfg.DataLogDir)); err != nil {
			return err
		}
	}
	st, res, err := OpenStore(cfg.DataDir, cfg.DataLogDir, persistence.LogOptions{
		PreAllocBytes: int64(cfg.PreAllocSizeKB()) * 1024,
		ForceSync:     cfg.ForceSync(),
		WarnMs:        int64(cfg.FsyncWarningThresholdMs()),
		Log:           n.log,
		AsyncSync:     true,
		// Snapshots as zookeeper.snapshot.compression.method says (SnapStream).
		SnapCompression: persistence.ParseCompression(cfg.PropString("zookeeper.snapshot.compression.method", "")),
	}, persistence.RestoreOptions{
		ExtendedTypes:    n.extendedTypes,
		TrustEmpty:       cfg.PropBool("zookeeper.snapshot.trust.empty"),
		EmptyUntrusted:   !trustEmptyDB(cfg, n.log),
		Log:              n.log,
		EphemeralDeleted: n.srv.AuditEphemeralDeleted(),
	})
	if err != nil {
		return err
	}
	n.store = st
	factor, invalid := cfg.SnapshotSizeFactor()
	if invalid != "" {
		n.log.Warn().Str("value", cfg.PropString("zookeeper.snapshotSizeFactor", "")).Float64("default", factor).
			Msg("zookeeper.snapshotSizeFactor " + invalid + "; using the default")
	}
	n.log.Info().Float64("zookeeper.snapshotSizeFactor", factor).Msg("DIFF from the txn log bounded by the last snapshot's size")
	st.SetSnapshotSizeFactor(factor)
	n.srv.ObserveRestore(res)
	n.srv.Count(server.LookingCount, 1) // a member starts LOOKING (QuorumPeer.run)
	n.resetSnapThreshold()
	members := n.startMembers(res.Tree)
	n.replaceData(res.Tree, res.Sessions)
	acc, cur := st.Epochs()
	n.log.Info().Int("nodes", res.Tree.NodeCount()).Int("sessions", len(res.Sessions)).
		Str("lastZxid", zab.Zxid(res.LastZxid).String()).Int64("acceptedEpoch", acc).Int64("currentEpoch", cur).
		Msg("data loaded")

	voters, observers := n.members()
	commitLog := cfg.PropInt("zookeeper.commitLogCount", 500)
	maxEpochWait := cfg.PropInt("zookeeper.leader.maxTimeToWaitForEpoch", -1) // ms; negative: off
	if cfg.PropBool("zookeeper.forceSnapshotSync") {
		// Every learner behind the leader gets a SNAP (a testing switch in ZooKeeper too).
		commitLog = 0
	}
	pcfg := zab.Config{
		ID:             n.myid,
		Voters:         voters,
		Observers:      observers,
		InitTicks:      2 * cfg.InitLimit,
		SyncTicks:      2 * cfg.SyncLimit,
		CommitLogCount: commitLog,
		// LearnerMaster's throttles (validated at start: ZooKeeper's leader fails on them).
		MaxConcurrentSnapSyncs: cfg.MaxConcurrentSnapSyncs(),
		MaxConcurrentDiffSyncs: cfg.MaxConcurrentDiffSyncs(),
		// Broadcast ticks are half a tickTime (run's ticker).
		QuitEpochWait:  maxEpochWait >= 0,
		ObserverMaster: cfg.ObserverMasterPort > 0,
		EpochWaitTicks: maxEpochWait / max(cfg.TickTime/2, 1),
		// Observer's jitter before electing again and before connecting (Observer).
		ObserverElectionDelayTicks:  delayTicks(cfg.PropInt("zookeeper.observer.election.DelayMs", 200)),
		ObserverReconnectDelayTicks: delayTicks(cfg.PropInt("zookeeper.observer.reconnectDelayMs", 0)),
		Rand:                        rand.IntN,
		Election: zab.ElectionConfig{
			ID:                   n.myid,
			Voters:               voters,
			Observers:            observers,
			FinalizeTicks:        4,
			MinNotificationTicks: electionTicks(cfg.PropInt("zookeeper.fastleader.minNotificationInterval", 200)),
			MaxNotificationTicks: electionTicks(cfg.PropInt("zookeeper.fastleader.maxNotificationInterval", 60000)),
			Config:               []byte(verifierString(cfg)),
			Oracle:               cfg.OraclePath != "",
		},
	}
	pcfg.ConfigTxn, pcfg.ParseConfig = configTxn, parseConfig
	pcfg.ReconfigEnabled, pcfg.ConfigWithVersion = cfg.ReconfigEnabled, configWithVersion
	pcfg.SameQuorumAddr = sameQuorumAddr
	n.pcfg = pcfg
	n.peer = zab.NewPeer(pcfg, zab.State{AcceptedEpoch: acc, CurrentEpoch: cur, LastZxid: st.LastZxid(), Members: members}, st)
	n.askOracle()

	if err := n.srv.Start(); err != nil {
		st.Close()
		return err
	}
	peers := make(map[uint64]string)
	for id, s := range cfg.Servers {
		peers[uint64(id)] = electionAddrs(s)
	}
	me := cfg.Servers[cfg.MyID]
	listen := strings.Join(listenAddrs(me, cfg.QuorumListenOnAllIPs, func(a config.QuorumAddr) int { return a.ElectionPort }), "|")
	m, err := cnx.New(cnx.Config{
		MyID:       n.myid,
		ListenAddr: listen,
		MyAddr:     electionAddrs(me),
		LocalHost:  strings.Join(hostsOf(me), "|"),
		Peers:      peers,
		BindRetry:  cfg.PropInt("zookeeper.electionPortBindRetry", 3),
		// QuorumCnxManager: connect within zookeeper.cnxTimeout; a handshake read within
		// zookeeper.quorumCnxnTimeoutMs, by default tickTime*syncLimit (QuorumPeer).
		ConnectTimeout: time.Duration(max(1, cfg.PropInt("zookeeper.cnxTimeout", 5000))) * time.Millisecond,
		SocketTimeout:  electionSocketTimeout(cfg),
		Log:            n.log,
		TLS:            n.securer(),
		Auth:           n.authenticator(),
	})
	if err != nil {
		n.srv.Close()
		st.Close()
		return err
	}
	if err := m.Start(); err != nil {
		n.srv.Close()
		st.Close()
		return fmt.Errorf("bind election port %s: %w", listen, err)
	}
	n.elect = m
	n.pipelined = cfg.ForceSync()
	n.syncReqs = make(chan syncReq, maxSyncsInFlight)
	n.syncDone = make(chan syncResult, maxSyncsInFlight)
	n.loopWG.Add(1)
	go n.loop()
	if cfg.OraclePath != "" {
		n.wg.Add(1)
		go n.watchOracle()
	}
	if cfg.PurgeInterval > 0 {
		n.wg.Add(1)
		go n.autopurge()
	}
	return nil
}

// errNeedSnapshot: a TRUNC could not be carried out (ErrTruncBelowSnapshot, or an observer
// without a log), or such an observer lost its leader; nothing of that Ready from there on
// happened.
type errNeedSnapshot struct {
	err  error
	snap bool // the next sync must be a SNAP (a refused TRUNC)
}

func (e errNeedSnapshot) Error() string { return e.err.Error() }

// restartPeer starts the protocol again from the durable state (tree reloaded from disk), as
// a restart of the process would, asking the next leader for a SNAP
// (zab.State.NeedSnapshot) after a refused TRUNC; the SNAP's install then replaces the
// history.
func (n *Node) restartPeer(cause errNeedSnapshot) error {
	n.log.Warn().Err(cause.err).Bool("snap", cause.snap).Msg("starting the protocol again from disk")
	committed := n.peer.Members().Committed
	n.pendingSnap = nil
	n.restarting = true
	err := n.changeRole(zab.Role{State: zab.Looking}) // reloads the tree from disk
	n.restarting = false
	if err != nil {
		return err
	}
	ms := &zab.Members{Committed: committed}
	if node := n.srv.Tree().Get(datatree.ConfigPath); node != nil {
		if m, ok := parseConfig(node.Data); ok && m.Version > committed.Version {
			ms.Pending = append(ms.Pending, m)
		}
	}
	n.setView(ms)
	acc, cur := n.store.Epochs()
	n.peer = zab.NewPeer(n.pcfg, zab.State{AcceptedEpoch: acc, CurrentEpoch: cur, LastZxid: n.store.LastZxid(),
		Members: ms, NeedSnapshot: cause.snap, ObserverMasterTurn: n.peer.ObserverMasterTurn(),
		ElectionDelayed: n.peer.ElectionDelayed()}, n.store)
	n.askOracle()
	return nil
}

// Close stops the node: connections closed, log closed. Like a crash, nothing is lost:
// every acknowledged txn is on disk.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	n.loopWG.Wait()
	n.elect.Close()
	n.closeQuorum()
	n.wg.Wait()
	err := n.srv.Close()
	n.snapWG.Wait()
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}

func (n *Node) members() (voters, observers []uint64) {
	for _, id := range n.cfg.VotingMembers() {
		voters = append(voters, uint64(id))
	}
	for _, id := range n.cfg.ObservingMembers() {
		observers = append(observers, uint64(id))
	}
	return
}

// verifierString is the member's view of the membership (QuorumVerifier.toString).
func verifierString(cfg *config.Config) string {
	return cfg.Verifier().String(cfg.ConfigVersion)
}

func (n *Node) loop() {
	defer n.loopWG.Done()
	tick := time.NewTicker(n.tickTime / 2)
	defer tick.Stop()
	etick := time.NewTicker(electionTick)
	defer etick.Stop()
	recv := n.elect.Recv()
	if n.pipelined {
		var syncWG sync.WaitGroup
		syncWG.Add(1)
		go func() { defer syncWG.Done(); n.syncLoop() }()
		// The log is closed after the loop: no sync may still be running on it.
		defer syncWG.Wait()
		defer close(n.syncReqs)
	}
	n.drain()
	for {
		var err error
		select {
		case <-n.stop:
			n.abandonWaiters()
			return
		case ev := <-n.events:
			n.handle(ev)
			n.handleMore()
		case r := <-n.syncDone:
			err = n.synced(r)
		case m := <-recv:
			n.stepVote(m)
		case <-tick.C:
			n.askOracle()
			n.peer.Tick()
			n.maybeReadOnly()
		case <-etick.C:
			n.peer.ElectionTick()
		}
		if err == nil {
			err = n.drain()
		}
		if err != nil {
			n.log.Error().Err(err).Msg("cannot persist the quorum state; stopping this server")
			n.srv.Count(server.UnrecoverableErrorCount, 1)
			select {
			case n.fatal <- err:
			default:
			}
			n.abandonWaiters()
			return
		}
	}
}

// syncLoop is the sync goroutine of pipelined Readys: one fsync covers every request
// waiting when it starts (all on the same file: a roll waits for the syncs in flight).
// With zookeeper.flushDelay set it waits for more, as ZooKeeper's SyncRequestProcessor.
func (n *Node) syncLoop() {
	var last time.Time // when the last sync ended (SyncRequestProcessor's lastFlushTime)
	for req := range n.syncReqs {
		txns, closed := req.txns, false
		more := func() int {
			if n.syncAwaited.Load() {
				return -1 // the node loop waits for this sync: nothing more comes
			}
			for {
				select {
				case r, ok := <-n.syncReqs:
					if !ok {
						closed = true
						return -1 // stopping: no more waiting
					}
					req = r
					txns += r.txns
				default:
					return txns
				}
			}
		}
		if more(); !closed {
			n.flush.Hold(last, more)
		}
		start := time.Now()
		err := req.ls.Sync()
		last = time.Now()
		n.syncDone <- syncResult{seq: req.seq, took: time.Since(start), err: err}
	}
}

// synced completes the pipelined Readys that the sync r made durable: their messages are
// sent, then their Advance hooks run.
func (n *Node) synced(r syncResult) error {
	if r.err != nil {
		return r.err
	}
	n.syncedSeq = r.seq
	n.srv.ObserveFsync(r.took)
	k := 0
	for k < len(n.pipe) && n.pipe[k].seq <= r.seq {
		k++
	}
	done := n.pipe[:k]
	n.pipe = n.pipe[k:]
	var msgs []zab.Message
	batch := 0
	for _, j := range done {
		n.store.Synced(j.ls)
		msgs = append(msgs, j.msgs...)
		batch += j.txns
	}
	n.durable(batch)
	for _, j := range done {
		n.acked(j.times)
	}
	n.sendMessages(msgs)
	for _, j := range done {
		if j.hooks != nil {
			j.hooks()
		}
	}
	return nil
}

// waitSyncs waits until every sync in flight is done and its Readys completed.
func (n *Node) waitSyncs() error {
	for n.syncedSeq < n.syncSeq {
		if err := n.awaitSync(); err != nil {
			return err
		}
	}
	return nil
}

// awaitSync blocks the node loop until the next sync completes; meanwhile syncLoop does not
// wait for more txns (flushDelay), as none can come.
func (n *Node) awaitSync() error {
	n.syncAwaited.Store(true)
	r := <-n.syncDone
	n.syncAwaited.Store(false)
	return n.synced(r)
}

// handleMore takes every event already waiting (up to a bound) before the Ready is
// executed, so one Ready, and one fsync, covers all the proposals that arrived meanwhile
// (group commit on followers; several client batches on the leader).
func (n *Node) handleMore() {
	for i := 0; i < 1024; i++ {
		select {
		case ev := <-n.events:
			n.handle(ev)
			if p, ok := ev.(evPacket); ok && p.snap != nil {
				return // its InstallSnapshot must run before another SNAP arrives
			}
		default:
			return
		}
	}
}

func (n *Node) stepVote(m cnx.Message) {
	nt, _, err := wire.DecodeNotification(m.Body)
	if err != nil {
		n.log.Debug().Err(err).Uint64("from", m.From).Msg("dropping a bad election notification")
		return
	}
	n.peer.Step(zab.Message{From: m.From, To: n.myid, Vote: &nt})
}

// drain executes every pending Ready.
func (n *Node) drain() error {
	for n.peer.HasReady() {
		rd := n.peer.Ready()
		if n.canPipeline(rd) {
			if err := n.executePipelined(rd); err != nil {
				return err
			}
			continue
		}
		if err := n.waitSyncs(); err != nil {
			return err
		}
		if err := n.execute(rd); err != nil {
			var ns errNeedSnapshot
			if !errors.As(err, &ns) {
				return err
			}
			if err := n.restartPeer(ns); err != nil {
				return err
			}
			continue
		}
		n.peer.Advance()
	}
	st := n.peer.Status()
	n.status.Store(&st)
	n.pendingSyncs.Store(int64(len(n.syncs)))
	return nil
}

// Info implements server.Ensemble.
func (n *Node) Info() server.QuorumInfo {
	st := n.Status()
	qi := server.QuorumInfo{
		QuorumSize:   n.view().voters(),
		PeerState:    peerState(st.Role),
		PendingSyncs: int(n.pendingSyncs.Load()),
		ProposalLast: n.propLast.Load(),
		ProposalMin:  n.propMin.Load(),
		ProposalMax:  n.propMax.Load(),
	}
	qi.ObserverMaster, qi.LeaderID = -1, -1
	var lead uint64 // setLeaderAddressAndId: the leader, or an observer's learner master
	switch st.Role.State {
	case zab.Leading:
		lead = n.myid
	case zab.Following:
		qi.SyncedObservers = len(st.SyncedLearners) // an observer master's
		qi.ObserverMasters = n.cfg.ObserverMasterPort > 0
		lead = st.Role.Leader
	case zab.Observing:
		if st.Role.Serving {
			qi.ObserverMaster = int64(st.Role.Master)
		}
		lead = st.Role.Master
	}
	if spec := n.spec(int64(lead)); lead != 0 && spec != nil {
		qi.LeaderID, qi.LeaderHosts = int64(lead), strings.Join(slices.Compact(hostsOf(spec)), "|")
	}
	n.adminView(&qi, st.Role)
	if st.Role.State == zab.Leading {
		qi.Learners = len(st.Learners)
		for _, id := range st.SyncedLearners {
			if s := n.spec(int64(id)); s != nil && s.Type == config.Observer {
				qi.SyncedObservers++
			} else {
				qi.SyncedFollowers++
			}
		}
		if t := n.leadingSince.Load(); t > 0 {
			qi.LeaderUptimeMs = time.Now().UnixMilli() - t
		}
	}
	return qi
}

// adminView fills what the AdminServer's voting_view and zabstate show: the committed
// configuration's voters (QuorumPeer.getVotingView), this member's addresses and whether it
// votes with them, and its ZabState.
func (n *Node) adminView(qi *server.QuorumInfo, r zab.Role) {
	v := n.view().committed
	ids := make([]int64, 0, len(v.Servers))
	for id, s := range v.Servers {
		if s.Type == config.Participant {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	addrs := func(s *config.ServerSpec, port func(config.QuorumAddr) int) []string {
		var out []string
		for _, a := range addrsOf(s) {
			out = append(out, net.JoinHostPort(a.Host, strconv.Itoa(port(a))))
		}
		return out
	}
	quorumPort := func(a config.QuorumAddr) int { return a.QuorumPort }
	electionPort := func(a config.QuorumAddr) int { return a.ElectionPort }
	for _, id := range ids {
		s := v.Servers[id]
		vv := server.VoterView{ID: id, ServerAddrs: addrs(s, quorumPort), ElectionAddrs: addrs(s, electionPort)}
		switch {
		case s.ClientPort != 0:
			vv.ClientAddr = net.JoinHostPort(s.ClientAddr, strconv.Itoa(s.ClientPort))
		case id == n.cfg.MyID:
			vv.ClientAddr = n.clientAddr() // QuorumPeerConfig gives its own line the client port
		}
		qi.VotingView = append(qi.VotingView, vv)
	}
	me := n.spec(n.cfg.MyID)
	if me == nil {
		return // not in any configuration known here (being added)
	}
	for _, a := range addrsOf(me) {
		qi.QuorumAddrs = append(qi.QuorumAddrs, server.HostPort{Host: a.Host, Port: a.QuorumPort})
		qi.ElectionAddrs = append(qi.ElectionAddrs, server.HostPort{Host: a.Host, Port: a.ElectionPort})
	}
	qi.ClientAddr = n.clientAddr()
	if s := v.Servers[n.cfg.MyID]; s != nil && s.Type == config.Participant {
		qi.Voting = slices.Equal(addrsOf(s), addrsOf(me))
	}
	qi.ZabState = "election"
	switch {
	case r.State == zab.Looking:
	case r.Serving:
		qi.ZabState = "broadcast"
	default:
		qi.ZabState = "synchronization"
	}
}

// clientAddr is this member's client address, "host:port" (0.0.0.0 for all interfaces).
func (n *Node) clientAddr() string {
	host := n.cfg.ClientPortAddress
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(n.cfg.ClientPort))
}

// Observers implements server.Ensemble: a leader's synchronised observers
// (Leader.getObservingLearnersInfo) or an observer master's (ObserverMaster.getActiveObservers).
func (n *Node) Observers() ([]server.LearnerConnInfo, bool) {
	return n.askObservers(false)
}

// ResetObserverStats implements server.Ensemble.
func (n *Node) ResetObserverStats() { n.askObservers(true) }

func (n *Node) askObservers(reset bool) ([]server.LearnerConnInfo, bool) {
	reply := make(chan []server.LearnerConnInfo, 1)
	select {
	case n.events <- evObservers{reset: reset, reply: reply}:
	case <-n.stop:
		return nil, false
	}
	select {
	case list := <-reply:
		return list, list != nil
	case <-n.stop:
		return nil, false
	}
}

// observers is askObservers on the loop: nil when this member has no observers to list.
func (n *Node) observers(reset bool) []server.LearnerConnInfo {
	if n.role.State != zab.Leading && !n.observerMaster() {
		return nil
	}
	list := []server.LearnerConnInfo{}
	for _, id := range n.peer.Status().SyncedLearners {
		c := n.learners[id]
		if c == nil || n.role.State == zab.Leading && !n.isObserver(id) {
			continue
		}
		if reset {
			c.resetStats()
		}
		list = append(list, c.info())
	}
	return list
}

// isObserver reports whether server id is an observer in the configuration.
func (n *Node) isObserver(id uint64) bool {
	s := n.spec(int64(id))
	return s != nil && s.Type == config.Observer
}

// peerState is QuorumPeer.getDetailedPeerState: "leading - broadcast" and the like.
func peerState(r zab.Role) string {
	phase := "synchronization"
	switch {
	case r.State == zab.Looking:
		phase = "election"
	case r.Serving:
		phase = "broadcast"
	}
	return strings.ToLower(r.State.String()) + " - " + phase
}

// noteProposal records a PROPOSAL's serialized size (Leader.getProposalStats).
func (n *Node) noteProposal(qp *wire.QuorumPacket) {
	size := int64(4 + 8 + 4 + len(qp.Data) + 4)
	n.propLast.Store(size)
	if m := n.propMin.Load(); m < 0 || size < m {
		n.propMin.Store(size)
	}
	if size > n.propMax.Load() {
		n.propMax.Store(size)
	}
}

func (n *Node) execute(rd zab.Ready) error {
	// A serving leader sends before it logs, as Apache ZooKeeper's does (proposals go out
	// while its own fsync runs): none of its messages promises its own durability (its
	// ACK counts only at Advance, after the persist below), so the followers' fsyncs overlap
	// its own. Anything else keeps the order persist, apply, send.
	early := n.sendEarly(rd)
	if early {
		n.sendMessages(rd.Messages)
	}
	// 1. Persist.
	appended := 0
	for _, a := range rd.Persist {
		switch a.Kind {
		case zab.SetAcceptedEpoch:
			if err := n.store.SetAcceptedEpoch(a.Epoch); err != nil {
				return err
			}
		case zab.SetCurrentEpoch:
			if err := n.store.SetCurrentEpoch(a.Epoch); err != nil {
				return err
			}
		case zab.Append:
			if !n.logging() {
				n.noteLogged(a.Txns)
				continue
			}
			if err := n.store.Append(a.Txns); err != nil {
				return err
			}
			appended += len(a.Txns)
			n.noteLogged(a.Txns)
			n.ackTimes = n.logged(n.ackTimes[:0], a.Txns)
		case zab.Truncate:
			// An observer that does not log starts every sync from its disk (changeRole),
			// so a TRUNC is below its snapshot and answered as a follower's would be.
			if err := n.store.Commit(); err != nil {
				return err
			}
			n.snapWG.Wait()
			if err := n.store.Truncate(a.Zxid); err != nil {
				if errors.Is(err, ErrTruncBelowSnapshot) {
					return errNeedSnapshot{err: err, snap: true}
				}
				return err
			}
			n.srv.NoteLogged(int64(a.Zxid))
			if err := n.reload(); err != nil {
				return err
			}
		case zab.InstallSnapshot:
			snap := n.pendingSnap
			n.pendingSnap = nil
			if snap == nil || zab.Zxid(snap.Zxid) != a.Zxid {
				return fmt.Errorf("no snapshot received for SNAP %s", a.Zxid)
			}
			n.snapWG.Wait()
			snap.Tree.SetLastProcessedZxid(snap.Zxid)
			n.replaceData(snap.Tree, snap.Sessions)
			if err := n.store.InstallSnapshot(snap.Tree, snap.Sessions); err != nil {
				return err
			}
		}
	}
	if appended > 0 {
		start := time.Now()
		if err := n.store.Commit(); err != nil {
			return err
		}
		n.srv.ObserveFsync(time.Since(start))
		n.durable(appended)
		n.acked(n.ackTimes)
		if err := n.maybeSnapshot(appended); err != nil {
			return err
		}
	}

	// 2. Apply.
	if n.role.State == zab.Leading {
		// The leader's own txns: its server's apply stage applies them as the gate opens.
		// A SNAP in this Ready must copy the tree exactly at its zxid: the gate stops there
		// until the copy is taken (sendPacket).
		n.snapLimits = n.snapLimits[:0]
		for _, m := range rd.Messages {
			if m.Packet != nil && m.Packet.Type == zab.Snap {
				n.snapLimits = append(n.snapLimits, int64(m.Packet.Zxid))
			}
		}
		sort.Slice(n.snapLimits, func(i, j int) bool { return n.snapLimits[i] < n.snapLimits[j] })
	}
	if err := n.applyCommittedForSnaps(rd); err != nil {
		return err
	}

	// Role changes take effect between applying and sending: a learner serves once what
	// UPTODATE covered is applied; a member that lost its role reloads before it votes.
	if rd.Members != nil {
		n.membersChanged(rd.Members)
	}
	if rd.Role != nil {
		if err := n.changeRole(*rd.Role); err != nil {
			return err
		}
	}

	// 3. Send.
	if !early {
		n.sendMessages(rd.Messages)
	}
	clear(n.snapTaken) // those of observers gone meanwhile
	for _, id := range rd.Close {
		n.closePeer(id)
	}
	for _, id := range rd.SyncsDone {
		n.syncDoneFor(id)
	}
	n.syncCounts(rd.Syncs)
	n.quitLeading(rd.QuitLeading)
	return nil
}

// quitLeading records a leader that gave up waiting for epochs (Leader.quitLeading).
func (n *Node) quitLeading(quit bool) {
	if quit {
		n.srv.Count(server.QuitLeadingDueToDisloyalVoter, 1)
		n.log.Info().Msg("quit leading due to voter changed mind (zookeeper.leader.maxTimeToWaitForEpoch)")
	}
}

// syncCounts records the leader's learner syncs begun and ended (inflight_snap_count,
// inflight_diff_count) and logs those refused (LearnerHandler's SyncThrottleException).
func (n *Node) syncCounts(cs []zab.SyncCount) {
	for _, c := range cs {
		kind, m, limit := "diff", server.InflightDiffCount, n.pcfg.MaxConcurrentDiffSyncs
		if c.Snap {
			kind, m, limit = "snap", server.InflightSnapCount, n.pcfg.MaxConcurrentSnapSyncs
		}
		if c.Refused {
			n.log.Error().Uint64("learner", c.Learner).
				Msgf("too many concurrent syncs: new %s sync would make %d concurrently in progress; maximum is %d; closing the connection", kind, c.InFlight, limit)
			continue
		}
		n.srv.Observe(m, int64(c.InFlight))
	}
}

// logging reports whether txns go to the log: not on an observer with syncEnabled=false,
// which applies them only (ObserverZooKeeperServer.commitRequest) and so takes no snapshot
// either but those of its SNAP syncs.
func (n *Node) logging() bool { return n.obsSync || n.role.State != zab.Observing }

// noteLogged tells the server the last zxid now in the log (a proposal logged and not yet
// applied is a write in flight: server.YieldReads).
func (n *Node) noteLogged(txns []zab.Txn) {
	if len(txns) > 0 {
		n.srv.NoteLogged(int64(txns[len(txns)-1].Zxid))
	}
}

// applyCommitted applies a Ready's committed txns: a leader opens its commit gate to them
// (its server's apply stage applies its own txns; the gate also stops at a SNAP's zxid,
// snapLimits); a learner applies them here.
func (n *Node) applyCommitted(txns []zab.Txn) error {
	n.commitMetrics(txns)
	if n.role.State == zab.Leading {
		if len(txns) > 0 {
			n.committed = int64(txns[len(txns)-1].Zxid)
		}
		n.srv.Committed(n.committed, n.nextSnapLimit())
		return nil
	}
	for _, t := range txns {
		if err := n.srv.ApplyCommitted(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// applyCommittedForSnaps applies a Ready's committed txns; on an observer master whose
// Ready SNAPs observers, each snapshot is taken when the tree is exactly at its zxid (a
// commit after the sync was chosen may be in the same Ready), as the leader's gate does.
func (n *Node) applyCommittedForSnaps(rd zab.Ready) error {
	txns := rd.Committed
	if n.role.State != zab.Leading {
		var zs []zab.Zxid
		for _, m := range rd.Messages {
			if m.Packet != nil && m.Packet.Type == zab.Snap {
				zs = append(zs, m.Packet.Zxid)
			}
		}
		slices.Sort(zs)
		for _, z := range slices.Compact(zs) {
			i := 0
			for i < len(txns) && txns[i].Zxid <= z {
				i++
			}
			if err := n.applyCommitted(txns[:i]); err != nil {
				return err
			}
			txns = txns[i:]
			if n.snapTaken == nil {
				n.snapTaken = map[zab.Zxid]*snapSource{}
			}
			n.snapTaken[z] = n.snapSource(z)
		}
	}
	return n.applyCommitted(txns)
}

// commitMetrics records committed txns: on a serving leader commit_count and
// quorum_ack_latency (Leader.tryToCommit; a reconfig is committed by commitAndActivate,
// which counts neither), on a learner commit_propagation_latency (Follower.commit,
// Observer's INFORM).
func (n *Node) commitMetrics(txns []zab.Txn) {
	if n.role.State != zab.Leading {
		for _, t := range txns {
			if ts, ok := txnTime(t.Data); ok {
				n.srv.ObserveTxnAge(server.CommitPropagationLatency, ts)
			}
		}
		return
	}
	if !n.role.Serving {
		return
	}
	for _, t := range txns {
		if ts, ok := txnTime(t.Data); ok && txnType(t.Data) != jute.OpReconfig {
			n.srv.Count(server.CommitCount, 1)
			n.srv.ObserveTxnAge(server.QuorumAckLatency, ts)
		}
	}
}

// logged notes txns this member appended: a serving leader's proposals (proposal_count)
// and, on a member that ACKs them (leader or follower), their header times, which acked
// turns into proposal_ack_creation_latency once their log sync is done.
func (n *Node) logged(times []int64, txns []zab.Txn) []int64 {
	switch n.role.State {
	case zab.Observing:
		return times
	case zab.Leading:
		if n.role.Serving {
			n.srv.Count(server.ProposalCount, int64(len(txns)))
		}
	}
	for _, t := range txns {
		if ts, ok := txnTime(t.Data); ok {
			times = append(times, ts)
		}
	}
	return times
}

// durable records a log sync that made count txns durable (sync_processor_batch_size).
func (n *Node) durable(count int) {
	if count > 0 {
		n.srv.Observe(server.SyncProcessorBatchSize, int64(count))
	}
}

// acked records the age of each txn whose ACK a log sync released (times, from logged).
func (n *Node) acked(times []int64) {
	for _, ts := range times {
		n.srv.ObserveTxnAge(server.ProposalAckCreationLatency, ts)
	}
}

// txnTime is the time (wall-clock ms) in a serialized txn's TxnHeader (clientId, cxid,
// zxid, time, type): when the leader created it.
func txnTime(data []byte) (int64, bool) {
	if len(data) < 32 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(data[20:28])), true
}

// txnType is the op type in a serialized txn's TxnHeader (data holds one: txnTime).
func txnType(data []byte) int32 { return int32(binary.BigEndian.Uint32(data[28:32])) }

// syncDoneFor answers the client sync id that the Ready completed.
func (n *Node) syncDoneFor(id uint64) {
	if n.role.State == zab.Leading {
		if f := n.syncs[id]; f != nil {
			delete(n.syncs, id)
			f()
		}
	} else {
		n.srv.SyncDone()
	}
}

// canPipeline reports whether rd may be executed while earlier syncs are in flight
// (executePipelined): a serving member's plain Ready, which only appends txns, applies
// commits and sends messages (no epoch, role, membership or connection change, no SNAP,
// whose copy needs the tree at its zxid).
func (n *Node) canPipeline(rd zab.Ready) bool {
	if !n.pipelined || !n.role.Serving || rd.Role != nil || rd.Members != nil || len(rd.Close) > 0 {
		return false
	}
	for _, a := range rd.Persist {
		if a.Kind != zab.Append {
			return false
		}
	}
	for _, m := range rd.Messages {
		if m.Packet != nil && m.Packet.Type == zab.Snap {
			return false
		}
	}
	return true
}

// maxSyncsInFlight bounds the pipelined syncs requested and not yet completed (and so the
// channels between the loop and the sync goroutine, which never block).
const maxSyncsInFlight = 64

// executePipelined executes a plain Ready without waiting for its fsync: its txns are
// appended and written to the log and the sync goroutine syncs them, while the member goes
// on with the next events. Its committed txns are applied at once: a commit means a quorum
// holds the txn durably, and this member has it in its log (its proposal came first), so a
// client's answer does not wait for this member's disk (Apache's followers and leader apply
// committed txns independently of their own log sync too), and a leader counts its
// followers' ACKs while its own fsync runs. What promises this member's durability waits
// for the sync: a learner's ACKs (in order, behind those of earlier Readys) and the Ready's
// Advance hooks (the leader's own ACK); a leader's messages go out at once, as they promise
// nothing of its own disk.
func (n *Node) executePipelined(rd zab.Ready) error {
	hooks := n.peer.TakeHooks()
	leading := n.role.State == zab.Leading
	if leading {
		n.sendMessages(rd.Messages)
	}
	appended := 0
	var times []int64
	for _, a := range rd.Persist {
		if !n.logging() {
			n.noteLogged(a.Txns)
			continue
		}
		if err := n.store.Append(a.Txns); err != nil {
			return err
		}
		n.noteLogged(a.Txns)
		appended += len(a.Txns)
		times = n.logged(times, a.Txns)
	}
	var job *syncJob
	switch {
	case appended > 0:
		for n.syncSeq-n.syncedSeq >= maxSyncsInFlight {
			if err := n.awaitSync(); err != nil {
				return err
			}
		}
		ls, err := n.store.Flush()
		if err != nil {
			return err
		}
		n.syncSeq++
		job = &syncJob{seq: n.syncSeq, ls: ls, txns: appended, times: times}
		n.syncReqs <- syncReq{seq: n.syncSeq, ls: ls, txns: appended}
	case n.syncedSeq < n.syncSeq:
		job = &syncJob{seq: n.syncSeq} // behind the sync in flight
	}
	if job != nil {
		if !leading {
			// Only ACKs promise durability; the rest (PING answers above all: a slow
			// disk must not look like a dead follower) goes out now, as Apache's learner
			// sends ACKs from its sync thread and everything else from its own.
			var now []zab.Message
			for _, m := range rd.Messages {
				if m.Packet != nil && m.Packet.Type == zab.Ack {
					job.msgs = append(job.msgs, m)
				} else {
					now = append(now, m)
				}
			}
			n.sendMessages(now)
		}
		job.hooks = hooks
		n.pipe = append(n.pipe, job)
	}

	if len(rd.Committed) > 0 {
		if n.syncedSeq < n.syncSeq {
			n.appliedEarly.Add(int64(len(rd.Committed)))
		}
		if err := n.applyCommitted(rd.Committed); err != nil {
			return err
		}
	}
	for _, id := range rd.SyncsDone {
		n.syncDoneFor(id)
	}
	n.syncCounts(rd.Syncs)
	n.quitLeading(rd.QuitLeading)
	if job == nil {
		if !leading {
			n.sendMessages(rd.Messages)
		}
		if hooks != nil {
			hooks()
		}
	}
	if appended > 0 {
		return n.maybeSnapshot(appended)
	}
	return nil
}

// sendEarly reports whether a Ready's messages may go out before its persist step: on a
// serving leader whose Ready only appends its own proposals (no epoch, no role change) and
// carries no SNAP (whose copy waits for the apply step).
func (n *Node) sendEarly(rd zab.Ready) bool {
	if n.role.State != zab.Leading || !n.role.Serving || rd.Role != nil || len(rd.Messages) == 0 {
		return false
	}
	for _, a := range rd.Persist {
		if a.Kind != zab.Append {
			return false
		}
	}
	for _, m := range rd.Messages {
		if m.Packet != nil && m.Packet.Type == zab.Snap {
			return false
		}
	}
	return true
}

// sendMessages sends a Ready's messages; the packets for each quorum connection are
// queued first and flushed together, one write per connection.
func (n *Node) sendMessages(msgs []zab.Message) {
	n.batching = true
	for _, m := range msgs {
		if m.Vote != nil {
			n.elect.Send(m.To, wire.EncodeNotification(m.Vote))
			continue
		}
		if m.Packet != nil {
			n.sendPacket(m.To, m.Packet)
		}
	}
	n.batching = false
	for i, c := range n.touched {
		c.flush()
		n.touched[i] = nil
	}
	n.touched = n.touched[:0]
}

// queue sends p on c, or, within sendMessages, queues it for the flush at its end.
func (n *Node) queue(c *peerConn, p outPacket) {
	if !n.batching {
		c.send(p)
		return
	}
	if c.enqueue(p) && !slices.Contains(n.touched, c) {
		n.touched = append(n.touched, c)
	}
}

func (n *Node) changeRole(r zab.Role) error {
	prev := n.role
	n.role = r
	n.log.Info().Str("state", r.State.String()).Uint64("leader", r.Leader).Int64("epoch", r.Epoch).Bool("serving", r.Serving).Msg("quorum role")
	if prev.Serving || r.State == zab.Looking || n.readOnly {
		n.srv.StopServing()
		n.leadingSince.Store(0)
		n.readOnly = false
	}
	n.roleMetrics(prev, r)
	switch {
	case r.State == zab.Looking:
		n.abandonWaiters()
		n.closeQuorum()
		if prev.State == zab.Observing && !n.obsSync && !n.restarting {
			// Nothing this observer applied is on disk, and its protocol state counts
			// txns its tree may never have got (a DIFF cut between a PROPOSAL and its
			// COMMIT): both start again from its last snapshot (restartPeer), and the
			// next leader synchronises it from there. ZooKeeper keeps the tree and syncs
			// from its zxid; starting from disk costs a longer sync and cannot disagree.
			return errNeedSnapshot{err: errors.New("observer without a txn log (syncEnabled=false) lost its leader")}
		}
		return n.fastForward()
	case r.State == zab.Leading && !r.Serving:
		n.listenObserverMaster() // observers that try the leader on it (as ZooKeeper's do)
		return n.listenQuorum()
	case r.State == zab.Leading && r.Serving:
		n.leadingSince.Store(time.Now().UnixMilli())
		n.committed = int64(r.NextZxid) - 1
		n.srv.BecomeLeader(int64(r.NextZxid))
	case (r.State == zab.Following || r.State == zab.Observing) && r.Serving:
		n.leaderC.Store(n.leaderConn)
		n.srv.BecomeLearner(r.State == zab.Observing)
		if r.State == zab.Following {
			// Follower.followLeader: the ObserverMaster starts once synchronised.
			n.listenObserverMaster()
		}
	}
	return nil
}

// autopurge deletes old snapshots and logs every autopurge.purgeInterval hours, keeping
// autopurge.snapRetainCount snapshots, from the start on (DatadirCleanupManager, which
// QuorumPeerMain runs in every mode).
func (n *Node) autopurge() {
	defer n.wg.Done()
	server.Autopurge(n.stop, n.cfg.PurgeInterval, n.log, func() ([]string, error) {
		return n.store.Purge(n.cfg.SnapRetainCount)
	})
}

// roleMetrics records what a role change ends or starts: looking_count and election_time
// (QuorumPeer.run, Leader.lead, Follower.followLeader; an observer's election is not timed,
// as in Apache), unavailable_time from the last time the member stopped serving to serving
// again, and a learner's sync time from its leader's DIFF, TRUNC or SNAP to serving.
func (n *Node) roleMetrics(prev, r zab.Role) {
	now := time.Now()
	if r.State == zab.Looking && prev.State != zab.Looking {
		n.lookingSince = now
		n.srv.Count(server.LookingCount, 1)
	}
	if prev.Serving && !r.Serving || r.State == zab.Looking && n.unavailableSince.IsZero() {
		n.unavailableSince = now
	}
	if prev.State == zab.Looking && (r.State == zab.Leading || r.State == zab.Following) {
		n.srv.Observe(server.ElectionTime, now.Sub(n.lookingSince).Milliseconds())
	}
	if !r.Serving || prev.Serving {
		return
	}
	if !n.unavailableSince.IsZero() {
		ms := now.Sub(n.unavailableSince).Milliseconds()
		n.srv.Observe(server.UnavailableTime, ms)
		if r.State == zab.Leading {
			n.srv.Observe(server.LeaderUnavailableTime, ms)
		}
		n.unavailableSince = time.Time{}
	}
	if !n.syncStart.IsZero() {
		ms := now.Sub(n.syncStart).Milliseconds()
		switch r.State {
		case zab.Following:
			n.srv.Observe(server.FollowerSyncTime, ms)
		case zab.Observing:
			n.srv.Observe(server.ObserverSyncTime, ms)
		}
		n.syncStart = time.Time{}
	}
}

// maybeReadOnly starts serving read-only clients once the member has been without a quorum
// for max(2 s, tickTime) (readonlymode.enabled; QuorumPeer's LOOKING case).
func (n *Node) maybeReadOnly() {
	if !n.roEnabled || n.readOnly || n.role.State != zab.Looking {
		return
	}
	if time.Since(n.lookingSince) < max(2*time.Second, n.tickTime) {
		return
	}
	n.readOnly = true
	n.srv.BecomeReadOnly()
}

// replaceData installs a tree in the server, with /zookeeper/config set to the membership.
func (n *Node) replaceData(t *datatree.Tree, sessions map[int64]int32) {
	v := n.view()
	t.InitConfig([]byte(v.committed.String(v.version)), v.version, time.Now().UnixMilli())
	n.srv.ReplaceData(t, sessions)
}

// fastForward brings the tree to what the disk holds when a member starts looking
// (ZooKeeperServer.shutdown's fastForwardDataBase): the tree has every committed txn, and
// the log may hold proposals logged after them, which the election counts and a DIFF builds
// on. Only those are applied; reloading the snapshot and the whole log instead kept the
// election waiting for hundreds of milliseconds after a leader failed (seconds with a
// large tree). Whenever the tree is not a prefix of the log it reloads.
func (n *Node) fastForward() error {
	if err := n.store.Commit(); err != nil {
		return err
	}
	t := n.srv.Tree()
	t.RLock()
	last := zab.Zxid(t.LastProcessedZxid())
	t.RUnlock()
	if last > n.store.LastZxid() {
		return n.reload()
	}
	for last < n.store.LastZxid() {
		txns, _, err := n.store.Entries(last, 4096)
		if err != nil || len(txns) == 0 {
			n.log.Warn().Err(err).Str("tree", last.String()).Str("log", n.store.LastZxid().String()).Msg("cannot fast-forward the tree from the log; reloading it")
			return n.reload()
		}
		for _, tx := range txns {
			if err := n.srv.ApplyCommitted(tx.Data); err != nil {
				return err
			}
			last = tx.Zxid
		}
	}
	// As replaceData after a reload: /zookeeper/config shows the membership this member
	// knows, unless a logged reconfig set a newer one.
	v := n.view()
	t.InitConfig([]byte(v.committed.String(v.version)), v.version, time.Now().UnixMilli())
	return nil
}

// reload replaces the tree with what the disk holds (every logged txn applied).
func (n *Node) reload() error {
	n.reloads.Add(1)
	n.snapWG.Wait()
	res, err := n.store.Load()
	if err != nil {
		return err
	}
	n.srv.ObserveRestore(res)
	n.replaceData(res.Tree, res.Sessions)
	return nil
}

func (n *Node) abandonWaiters() {
	n.syncs = make(map[uint64]func())
}

// nextSnapLimit is the zxid the leader's apply stage must stop at for the next SNAP copy.
func (n *Node) nextSnapLimit() int64 {
	if len(n.snapLimits) > 0 {
		return n.snapLimits[0]
	}
	return math.MaxInt64
}

// closeQuorum closes the quorum listener and every quorum connection.
func (n *Node) closeQuorum() {
	for _, ln := range append(n.quorumLns, n.omLns...) {
		ln.Close()
	}
	n.quorumLns, n.omLns = nil, nil
	clear(n.relayTouches)
	n.dropRelayedRevalidations()
	for id, c := range n.learners {
		c.close()
		delete(n.learners, id)
	}
	for c := range n.unknown {
		c.close()
		delete(n.unknown, c)
	}
	if n.leaderConn != nil {
		n.leaderConn.close()
		n.leaderConn = nil
	}
	n.leaderC.Store(nil)
}

func (n *Node) closePeer(id uint64) {
	if c := n.learners[id]; c != nil {
		c.close()
		delete(n.learners, id)
	}
	if n.leaderConn != nil && n.leaderConn.peer == id {
		n.leaderConn.close()
		n.leaderConn = nil
		n.leaderC.Store(nil)
	}
}

// listenQuorum binds the quorum port (leader).
func (n *Node) listenQuorum() error {
	if n.quorumLns != nil {
		return nil
	}
	n.quorumLns = n.listenLearners(func(a config.QuorumAddr) int { return a.QuorumPort }, "quorum port")
	return nil
}

// listenObserverMaster binds observerMasterPort, when set, on this member's quorum hosts
// (ObserverMaster.start): a serving follower takes observers there, and so does a leader.
func (n *Node) listenObserverMaster() {
	if n.cfg.ObserverMasterPort <= 0 || n.omLns != nil {
		return
	}
	n.omLns = n.listenLearners(func(config.QuorumAddr) int { return n.cfg.ObserverMasterPort }, "observer master port")
}

// listenLearners binds the ports port picks on this member's addresses and accepts learner
// connections on them until they are closed. Failing to bind is not fatal: no learner
// connects there, and they look elsewhere (a new election, the next observer master).
func (n *Node) listenLearners(port func(config.QuorumAddr) int, what string) []net.Listener {
	lns := []net.Listener{} // tried, even if none binds: the next role tries again
	me := n.spec(n.cfg.MyID)
	for _, addr := range listenAddrs(me, n.cfg.QuorumListenOnAllIPs, port) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			n.log.Error().Err(err).Str("addr", addr).Msg("cannot bind the " + what)
			continue
		}
		lns = append(lns, ln)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			for {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				if n.tls == nil && n.auth == nil {
					n.post(evAccepted{c: newPeerConn(n, nc, 0)})
					continue
				}
				setSocketOptions(nc) // on the TCP connection, before TLS hides it
				n.wg.Add(1)
				go n.acceptSecured(nc) // a handshake must not hold up the next learner
			}
		}()
	}
	return lns
}

// acceptSecured completes a learner connection's TLS handshake (or lets a plain one through
// with portUnification) and its quorum SASL exchange, and hands it to the loop; the node's
// stop ends a handshake in progress, and a connection that arrives after it is closed.
func (n *Node) acceptSecured(nc net.Conn) {
	defer n.wg.Done()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-n.stop:
			nc.Close()
		case <-done:
		}
	}()
	sc := nc
	var err error
	if n.tls != nil {
		if sc, err = n.tls.Accept(nc, n.readTimeout()); err != nil {
			n.log.Warn().Err(err).Str("remote", nc.RemoteAddr().String()).Msg("learner connection refused")
			return
		}
	}
	if n.auth != nil {
		if sc, err = n.auth.Serve(sc); err != nil {
			n.log.Warn().Err(err).Str("remote", nc.RemoteAddr().String()).Msg("learner connection refused")
			nc.Close()
			return
		}
	}
	select {
	case n.events <- evAccepted{c: newPeerConn(n, sc, 0)}:
	case <-n.stop:
		sc.Close()
	}
}

// sendPacket routes a packet of the Peer: to a learner (leader) or to the leader (learner,
// dialling it first).
func (n *Node) sendPacket(to uint64, p *zab.Packet) {
	qp := wire.FromZab(p)
	if n.role.State == zab.Leading || to != n.role.Master {
		// To a learner: the leader's, or an observer master's observer. One that is gone
		// takes its packets with it (never the leader's connection: routed by role).
		c := n.learners[to]
		if c == nil {
			return
		}
		out := outPacket{qp: qp}
		switch p.Type {
		case zab.Proposal:
			n.noteProposal(&qp)
		case zab.Snap:
			qp.Data = nil // zab's note of the snapshot's configuration; the snapshot has it
			src := n.snapTaken[p.Zxid]
			if src != nil {
				delete(n.snapTaken, p.Zxid)
			} else {
				src = n.snapSource(p.Zxid)
			}
			out = outPacket{qp: qp, snap: src}
			n.srv.Count(server.SnapCount, 1)
			fallthrough
		case zab.Diff, zab.Trunc:
			if p.Type != zab.Snap {
				n.srv.Count(server.DiffCount, 1) // one of these opens each learner sync
			}
			n.log.Info().Uint64("learner", to).Str("mode", p.Type.String()).Str("zxid", p.Zxid.String()).Msg("synchronising learner")
		}
		n.queue(c, out)
		return
	}
	if p.Type == zab.Ping {
		ts := toWireTouches(n.srv.TouchTable())
		for id, to := range n.relayTouches {
			ts = append(ts, wire.SessionTouch{SessionID: id, Timeout: to})
		}
		clear(n.relayTouches)
		qp.Data = wire.EncodeTouches(ts)
	}
	c := n.leaderConn
	if c == nil || c.peer != to {
		if c != nil {
			c.close()
		}
		c = n.dialLeader(to)
		n.leaderConn = c
	}
	n.queue(c, outPacket{qp: qp})
}

func toWireTouches(ts []server.SessionTouch) []wire.SessionTouch {
	out := make([]wire.SessionTouch, len(ts))
	for i, t := range ts {
		out[i] = wire.SessionTouch{SessionID: t.ID, Timeout: t.Timeout}
	}
	return out
}

// snapSource captures the tree as of zxid for a SNAP. The leader's server applies committed
// txns on its own goroutine; nothing beyond zxid is committed yet (this loop commits), so
// once the tree reached zxid its copy is exact.
func (n *Node) snapSource(zxid zab.Zxid) *snapSource {
	t := n.srv.Tree()
	deadline := time.Now().Add(n.readTimeout())
	for {
		t.RLock()
		last := t.LastProcessedZxid()
		t.RUnlock()
		if last > int64(zxid) {
			// Nothing beyond zxid should have been applied: the copy would be fuzzy.
			n.log.Error().Str("zxid", zxid.String()).Str("tree", zab.Zxid(last).String()).Msg("the tree is past the SNAP zxid")
		}
		if last >= int64(zxid) {
			break
		}
		if time.Now().After(deadline) {
			n.log.Error().Str("zxid", zxid.String()).Msg("the tree did not reach the SNAP zxid; sending it as it is")
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	// The tree is serialized now, while the apply stage waits at zxid: the view streams
	// nodes from the live tree, so it must not move until the copy is complete.
	var buf bytes.Buffer
	if err := wire.WriteSnap(&buf, t.CopyForSnapshot(), n.srv.Sessions()); err != nil {
		n.log.Error().Err(err).Msg("serializing the SNAP payload failed")
	}
	src := &snapSource{payload: buf.Bytes()}
	if n.role.State != zab.Leading {
		return src // an observer master: this loop applied up to zxid and no further
	}
	if len(n.snapLimits) > 0 {
		n.snapLimits = n.snapLimits[1:]
	}
	n.srv.Committed(n.committed, n.nextSnapLimit())
	return src
}

// leaderRetry paces a learner's attempts to connect to its leader, within
// Learner.connectToLeader's time (tickTime*initLimit, or tickTime*connectToLearnerMasterLimit
// when set). A follower often decides a few milliseconds before its leader listens, so
// zkgo retries at once and backs off from there; with zookeeper.leaderConnectDelayDuringRetryMs
// set it retries as ZooKeeper does: that far apart, five attempts at most.
type leaderRetry struct {
	fixed time.Duration // the setting; negative: back off
	pause time.Duration
	tries int
}

func newLeaderRetry(cfg *config.Config) *leaderRetry {
	return &leaderRetry{fixed: time.Duration(cfg.PropInt("zookeeper.leaderConnectDelayDuringRetryMs", -1)) * time.Millisecond,
		pause: 5 * time.Millisecond}
}

// next is the wait before the next attempt after a failed one, with remaining the time
// left; false: give up.
func (r *leaderRetry) next(remaining time.Duration) (time.Duration, bool) {
	r.tries++
	if r.fixed >= 0 {
		return r.fixed, r.tries < 5 && remaining > r.fixed
	}
	p := r.pause
	r.pause = min(2*r.pause, 500*time.Millisecond)
	return p, remaining > 0
}

// dialLeader connects to the leader's quorum port in the background; packets queue
// meanwhile.
func (n *Node) dialLeader(id uint64) *peerConn {
	c := newPeerConn(n, nil, id)
	spec := n.spec(int64(id))
	if spec == nil {
		c.close()
		n.post(evConnDown{c: c})
		return c
	}
	addrs := quorumAddrs(spec)
	if n.role.State == zab.Observing && id != n.role.Leader {
		// An observer master: the follower's quorum hosts, on observerMasterPort.
		addrs = addrs[:0]
		for _, h := range hostsOf(spec) {
			addrs = append(addrs, net.JoinHostPort(h, strconv.Itoa(n.cfg.ObserverMasterPort)))
		}
	}
	addr := strings.Join(addrs, "|")
	locals := hostsOf(n.cfg.Servers[n.cfg.MyID])
	go func() {
		var nc net.Conn
		var err error
		retry := newLeaderRetry(n.cfg)
		for deadline := time.Now().Add(leaderConnectTime(n.cfg)); ; {
			nc, err = dialAny(addrs, locals, n.readTimeout(), n.securer())
			if err == nil && n.auth != nil {
				if err = n.auth.Learn(nc, nc.RemoteAddr().String()); err != nil {
					nc.Close() // ZooKeeper's learner gives up on this leader and elects again
					break
				}
			}
			pause, again := retry.next(time.Until(deadline))
			if err == nil || !again {
				break
			}
			select {
			case <-c.done:
				return
			case <-n.stop:
				return
			case <-time.After(pause):
			}
		}
		if err != nil {
			n.log.Warn().Err(err).Str("leader", addr).Msg("cannot connect to the leader")
			c.close()
			n.post(evConnDown{c: c})
			return
		}
		if !c.attach(nc) {
			nc.Close()
			return
		}
		go c.reader()
		c.writer()
	}()
	return c
}

func (n *Node) handle(ev any) {
	switch ev := ev.(type) {
	case evAccepted:
		if n.role.State != zab.Leading && !n.observerMaster() {
			ev.c.close()
			return
		}
		n.unknown[ev.c] = true
		go ev.c.reader()
		go ev.c.writer()
	case evConnDown:
		c := ev.c
		delete(n.unknown, c)
		if c.peer != 0 && n.learners[c.peer] == c {
			delete(n.learners, c.peer)
			n.peer.Disconnected(c.peer)
		}
		if n.leaderConn == c {
			n.leaderConn = nil
			n.leaderC.Store(nil)
			n.dropRelayedRevalidations()
			n.peer.Disconnected(c.peer)
		}
	case evPacket:
		n.handlePacket(ev)
	case evPropose:
		if n.role.State != zab.Leading || !n.role.Serving {
			return // the server's role is being stopped; nothing of it is applied
		}
		for _, t := range ev.batch {
			z := zab.Zxid(t.Hdr.Zxid)
			if err := n.peer.Propose(zab.Txn{Zxid: z, Data: persistence.RecordTxn(t.Record)}); err != nil {
				// The server and the broadcast disagree on the zxid sequence: a bug. Nothing
				// after this txn can commit, so leadership is given up (the learners are
				// dropped, the leader loses its quorum and the ensemble elects again).
				n.log.Error().Err(err).Str("zxid", z.String()).Msg("proposal refused; giving up leadership")
				for id, c := range n.learners {
					c.close()
					delete(n.learners, id)
					n.peer.Disconnected(id)
				}
				return
			}
		}
	case evSyncLeader:
		n.nextSync++
		if err := n.peer.Sync(n.nextSync); err != nil {
			return // not leading: the client's connection is being closed
		}
		n.syncs[n.nextSync] = ev.done
	case evSyncFor:
		n.peer.SyncFor(ev.learner)
	case evLearnerSync:
		n.nextSync++
		n.peer.Sync(n.nextSync)
	case evCheckReconfig:
		ev.reply <- n.peer.CheckReconfig(ev.m)
	case evObservers:
		ev.reply <- n.observers(ev.reset)
	}
}

// observerMaster reports whether this member takes observers as a follower now.
func (n *Node) observerMaster() bool {
	return n.cfg.ObserverMasterPort > 0 && n.role.State == zab.Following && n.role.Serving
}

func (n *Node) handlePacket(ev evPacket) {
	c, qp := ev.c, ev.qp
	if n.role.State == zab.Leading || c != n.leaderConn && n.observerMaster() {
		if c.peer == 0 {
			if !n.unknown[c] {
				return // closed meanwhile
			}
			if qp.Type != zab.FollowerInfo && qp.Type != zab.ObserverInfo {
				c.close()
				delete(n.unknown, c)
				return
			}
			li, err := wire.DecodeLearnerInfo(qp.Data)
			if err != nil || li.ServerID <= 0 || uint64(li.ServerID) == n.myid ||
				n.role.State != zab.Leading && uint64(li.ServerID) == n.role.Leader {
				n.log.Warn().Err(err).Msg("bad learner info; closing the connection")
				c.close()
				delete(n.unknown, c)
				return
			}
			delete(n.unknown, c)
			sid := uint64(li.ServerID)
			if old := n.learners[sid]; old != nil {
				old.close()
				delete(n.learners, sid)
				n.peer.Disconnected(sid)
			}
			c.peer = sid
			n.learners[sid] = c
		} else if n.learners[c.peer] != c {
			return // a replaced connection
		}
		if n.role.State != zab.Leading {
			n.observerPacket(c, qp)
			return
		}
		switch qp.Type {
		case zab.Request:
			fr, err := wire.DecodeForwardedRequest(qp.Data)
			if err != nil {
				n.log.Warn().Err(err).Uint64("learner", c.peer).Msg("bad REQUEST")
				return
			}
			body := append([]byte(nil), fr.Body...)
			auth := qp.AuthInfo
			if err := n.srv.SubmitRemote(c.peer, fr.SessionID, fr.Cxid, fr.Type, body, auth); err != nil {
				n.log.Debug().Err(err).Msg("dropping a forwarded request")
			}
			return
		case zab.Revalidate:
			rq, err := wire.DecodeRevalidateRequest(qp.Data)
			if err != nil {
				return
			}
			n.srv.Count(server.RevalidateCount, 1)
			valid := n.srv.ValidateSession(c.peer, rq.SessionID, rq.Timeout)
			rep := wire.RevalidateReply{SessionID: rq.SessionID, Valid: valid}
			c.send(outPacket{qp: wire.QuorumPacket{Type: zab.Revalidate, Zxid: -1, Data: rep.Encode()}})
			return
		case zab.Ping:
			if ts, err := wire.DecodeTouches(qp.Data); err == nil && len(ts) > 0 {
				list := make([]server.SessionTouch, len(ts))
				for i, t := range ts {
					list[i] = server.SessionTouch{ID: t.SessionID, Timeout: t.Timeout}
				}
				n.srv.TouchSessions(list)
			}
		}
		p := qp.Zab()
		n.peer.Step(zab.Message{From: c.peer, To: n.myid, Packet: &p})
		return
	}
	if n.leaderConn != c {
		return
	}
	switch qp.Type {
	case zab.Diff, zab.Trunc, zab.Snap:
		n.log.Info().Uint64("leader", c.peer).Str("mode", qp.Type.String()).Str("zxid", qp.Zxid.String()).Msg("synchronising with the leader")
		n.syncStart = time.Now()
	case zab.Proposal:
		if n.role.Serving { // Follower.processPacket: broadcast proposals only
			n.srv.Count(server.LearnerProposalReceivedCount, 1)
			if t, ok := txnTime(qp.Data); ok {
				n.srv.ObserveTxnAge(server.ProposalLatency, t)
			}
		}
	case zab.Commit, zab.Inform:
		if n.role.Serving {
			n.srv.Count(server.LearnerCommitReceivedCount, 1)
		}
	}
	switch qp.Type {
	case zab.Revalidate:
		if rep, err := wire.DecodeRevalidateReply(qp.Data); err == nil {
			n.revalidated(rep.SessionID, rep.Valid)
		}
		return
	case zab.Request:
		return
	case zab.Snap:
		n.pendingSnap = ev.snap
	}
	p := qp.Zab()
	if qp.Type == zab.Snap {
		// zab needs the newest configuration the snapshot holds (its /zookeeper/config):
		// the SNAP packet itself carries nothing on the wire, as in Apache.
		p.Data = nil
		if ev.snap != nil {
			if node := ev.snap.Tree.Get(datatree.ConfigPath); node != nil {
				p.Data = node.Data
			}
		}
	}
	n.peer.Step(zab.Message{From: c.peer, To: n.myid, Packet: &p})
}

// observerPacket handles a packet from an observer of this follower (ObserverMaster): its
// requests and revalidations go on to the leader, its sessions' touches with this member's
// next PING, the rest to the protocol.
func (n *Node) observerPacket(c *peerConn, qp wire.QuorumPacket) {
	switch qp.Type {
	case zab.Request:
		fr, err := wire.DecodeForwardedRequest(qp.Data)
		lc := n.leaderC.Load()
		if err != nil || lc == nil {
			return // the observer's client times out and tries again
		}
		if fr.Type == jute.OpSync && n.peer.RelaySync(c.peer) != nil {
			return // not synchronised yet: it sends no sync before it is
		}
		// The leader takes it as this member's (the session's owner is this member,
		// which its PINGs keep alive); the observer learns the outcome from the INFORM.
		lc.send(outPacket{qp: wire.QuorumPacket{Type: zab.Request, Zxid: -1, Data: qp.Data, AuthInfo: qp.AuthInfo}})
		return
	case zab.Revalidate:
		n.relayRevalidation(c, qp)
		return
	case zab.Ping:
		if ts, err := wire.DecodeTouches(qp.Data); err == nil {
			for _, t := range ts {
				n.relayTouches[t.SessionID] = t.Timeout
			}
		}
	}
	p := qp.Zab()
	n.peer.Step(zab.Message{From: c.peer, To: n.myid, Packet: &p})
}

// Propose implements server.Ensemble (leader; called by the server's sync stage).
func (n *Node) Propose(batch []*server.Txn) error {
	select {
	case n.events <- evPropose{batch: batch}:
		return nil
	case <-n.stop:
		return server.ErrNotLeader
	}
}

// Forward implements server.Ensemble (learner): REQUEST to the leader.
func (n *Node) Forward(session int64, cxid int32, op int32, body []byte, auth []jute.Id) error {
	c := n.leaderC.Load()
	if c == nil {
		return errors.New("no leader connection")
	}
	if op == jute.OpSync {
		n.post(evLearnerSync{})
	}
	fr := wire.ForwardedRequest{SessionID: session, Cxid: cxid, Type: op, Body: body}
	qp := wire.QuorumPacket{Type: zab.Request, Zxid: -1, Data: fr.Encode()}
	if op != jute.OpCreateSession {
		qp.AuthInfo = auth
		if qp.AuthInfo == nil {
			qp.AuthInfo = []jute.Id{}
		}
	}
	if !c.send(outPacket{qp: qp}) {
		return errors.New("leader connection closed")
	}
	return nil
}

// Revalidate implements server.Ensemble (learner): REVALIDATE to the leader, waiting for
// its answer up to syncLimit, or until that connection closes. Without an answer (no
// leader, the connection lost, no reply in time) it returns an error, not "invalid": the
// session may well be alive, and the client is to try again rather than be told that its
// session expired.
func (n *Node) Revalidate(session int64, timeout int32) (bool, error) {
	c := n.leaderC.Load()
	if c == nil {
		return false, errors.New("no leader")
	}
	ch := make(chan bool, 1)
	n.revalMu.Lock()
	n.reval[session] = append(n.reval[session], revalWait{ch: ch})
	n.revalMu.Unlock()
	rq := wire.RevalidateRequest{SessionID: session, Timeout: timeout}
	if !c.send(outPacket{qp: wire.QuorumPacket{Type: zab.Revalidate, Zxid: -1, Data: rq.Encode()}}) {
		n.dropRevalidation(session, ch)
		return false, errors.New("leader connection closed")
	}
	select {
	case ok := <-ch:
		return ok, nil
	case <-c.done:
		// The leader went away (killed, partitioned): its answer will not come, and the
		// client should not wait out syncLimit to hear so.
		n.dropRevalidation(session, ch)
		return false, errors.New("leader connection closed")
	case <-time.After(n.syncTimeout()):
		n.dropRevalidation(session, ch)
		return false, errors.New("no answer from the leader")
	case <-n.stop:
		n.dropRevalidation(session, ch)
		return false, errors.New("stopping")
	}
}

// revalWait is a REVALIDATE waiting for the leader's answer: this member's own (ch) or, on
// an observer master, one relayed for an observer (the answer goes back on its connection,
// ObserverMaster.revalidateSession).
type revalWait struct {
	ch    chan bool
	relay *peerConn
	to    int32 // the relayed session's timeout
}

// relayRevalidation passes an observer's REVALIDATE on to the leader (loop).
func (n *Node) relayRevalidation(c *peerConn, qp wire.QuorumPacket) {
	rq, err := wire.DecodeRevalidateRequest(qp.Data)
	lc := n.leaderC.Load()
	if err != nil || lc == nil {
		return // the observer's client tries again
	}
	n.revalMu.Lock()
	n.reval[rq.SessionID] = append(n.reval[rq.SessionID], revalWait{relay: c, to: rq.Timeout})
	n.revalMu.Unlock()
	lc.send(outPacket{qp: wire.QuorumPacket{Type: zab.Revalidate, Zxid: -1, Data: qp.Data}})
}

// dropRelayedRevalidations forgets the observers' REVALIDATEs when the leader connection
// that would answer them is gone: a later answer belongs to a later REVALIDATE.
func (n *Node) dropRelayedRevalidations() {
	n.revalMu.Lock()
	defer n.revalMu.Unlock()
	for id, waiting := range n.reval {
		waiting = slices.DeleteFunc(waiting, func(w revalWait) bool { return w.relay != nil })
		if len(waiting) == 0 {
			delete(n.reval, id)
		} else {
			n.reval[id] = waiting
		}
	}
}

// dropRevalidation forgets a REVALIDATE that will not be waited for, so that a late answer
// goes to the next one waiting for the same session, if any, in order.
func (n *Node) dropRevalidation(session int64, ch chan bool) {
	n.revalMu.Lock()
	defer n.revalMu.Unlock()
	waiting := n.reval[session]
	for i, w := range waiting {
		if w.ch == ch {
			waiting = append(waiting[:i:i], waiting[i+1:]...)
			break
		}
	}
	if len(waiting) == 0 {
		delete(n.reval, session)
	} else {
		n.reval[session] = waiting
	}
}

func (n *Node) revalidated(session int64, valid bool) {
	n.revalMu.Lock()
	waiting := n.reval[session]
	if len(waiting) == 0 {
		n.revalMu.Unlock()
		return
	}
	w := waiting[0]
	if len(waiting) == 1 {
		delete(n.reval, session)
	} else {
		n.reval[session] = waiting[1:]
	}
	n.revalMu.Unlock()
	if w.relay == nil {
		w.ch <- valid
		return
	}
	if valid {
		n.relayTouches[session] = w.to // the leader hears of it from this member from now on
	}
	rep := wire.RevalidateReply{SessionID: session, Valid: valid}
	w.relay.send(outPacket{qp: wire.QuorumPacket{Type: zab.Revalidate, Zxid: -1, Data: rep.Encode()}})
}

// SyncLeader implements server.Ensemble.
func (n *Node) SyncLeader(done func()) { n.post(evSyncLeader{done: done}) }

// SyncFor implements server.Ensemble.
func (n *Node) SyncFor(learner uint64) { n.post(evSyncFor{learner: learner}) }

// Status is the quorum status for srvr, mntr and zkserver status.
func (n *Node) Status() zab.Status {
	if s := n.status.Load(); s != nil {
		return *s
	}
	return zab.Status{}
}

// maybeSnapshot rolls the log and writes a fuzzy snapshot in the background every
// snapCount/2 + rand(snapCount/2) txns (SyncRequestProcessor).
func (n *Node) maybeSnapshot(appended int) error {
	n.snapNext -= appended
	bigLog := n.snapSize > 0 && n.store.BytesSinceRoll() > n.snapSizeNext
	if n.snapNext > 0 && !bigLog || n.snapping.Load() {
		if n.logLimit > 0 && n.store.LogFileBytes() > n.logLimit {
			// A new file, no snapshot (FileTxnLog.commit with txnLogSizeLimitInKb); the file
			// being rolled must have no sync in flight.
			if err := n.waitSyncs(); err != nil {
				return err
			}
			if err := n.store.RollLogFile(); err != nil {
				n.log.Error().Err(err).Msg("closing the transaction log for a roll failed")
			}
		}
		return nil
	}
	// The file being rolled must have no sync in flight.
	if err := n.waitSyncs(); err != nil {
		return err
	}
	if err := n.store.RollLog(); err != nil {
		n.log.Error().Err(err).Msg("closing the transaction log for a roll failed")
	}
	n.resetSnapThreshold()
	n.snapping.Store(true)
	n.snapWG.Add(1)
	tree := n.srv.Tree()
	go func() {
		defer n.snapWG.Done()
		defer n.snapping.Store(false)
		// The sessions are read once the snapshot's zxid is fixed: a session created
		// before that and missing from the table would be in neither the snapshot nor
		// the log replayed after it.
		// A member sharing its host runs one P: the walk gets a second (gomaxprocs.With).
		err := gomaxprocs.With(2, func() error {
			return n.store.WriteSnapshotFrom(tree, n.srv.Sessions)
		})
		if err != nil {
			n.log.Error().Err(err).Msg("writing snapshot failed")
		}
	}()
	return nil
}

// resetSnapThreshold draws when the next snapshot is due, as SyncRequestProcessor does: after
// snapCount/2 plus a random part of snapCount/2 txns, or once the log since the last one
// holds snapSizeLimitInKb/2 plus a random part of it, so members do not snapshot together.
func (n *Node) resetSnapThreshold() {
	half := max(n.snapCount/2, 1)
	n.snapNext = half + rand.IntN(half)
	if n.snapSize > 0 {
		halfSize := max(n.snapSize/2, 1)
		n.snapSizeNext = halfSize + rand.Int64N(halfSize)
	}
}

// trustEmptyDB reports whether an empty data dir is a new member's rather than one that lost
// its data: zookeeper.db.autocreate (default true), or an "initialize" file next to the txn
// log directory's version-2, which is removed once read (FileTxnSnapLog.restore).
func trustEmptyDB(cfg *config.Config, log zerolog.Logger) bool {
	initFile := filepath.Join(cfg.DataLogDir, "initialize")
	if err := os.Remove(initFile); err == nil {
		log.Info().Str("file", initFile).Msg("Initialize file found, an empty database will not block voting participation")
		return true
	}
	return cfg.PropBoolDefault("zookeeper.db.autocreate", true)
}

// askOracle tells the peer what the oracle (oraclePath) said last (watchOracle).
func (n *Node) askOracle() {
	if n.cfg.OraclePath != "" {
		n.peer.SetOracle(n.oracleSays.Load())
	}
}

// watchOracle reads the oracle file every tickTime/2, off the node loop (a file on a hung
// mount or a FIFO must not stop the ensemble's traffic): authorised when its first byte is
// '1', not when it holds anything else or cannot be read (QuorumOracleMaj.askOracle).
func (n *Node) watchOracle() {
	defer n.wg.Done()
	t := time.NewTicker(n.tickTime / 2)
	defer t.Stop()
	var lastErr string
	for {
		ok, err := readOracle(n.cfg.OraclePath)
		if was := n.oracleSays.Swap(ok); was != ok {
			n.log.Info().Str("oraclePath", n.cfg.OraclePath).Bool("authorised", ok).Msg("the oracle changed its mind")
		}
		if e := fmt.Sprint(err); e != lastErr {
			if err != nil {
				n.log.Warn().Err(err).Msg("cannot read the oracle; not authorised")
			}
			lastErr = e
		}
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
	}
}

func readOracle(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var b [1]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false, err
	}
	return b[0] == '1', nil
}
