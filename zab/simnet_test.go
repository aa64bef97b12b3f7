package zab

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file is the simulated ensemble: every node's disk (memLog, epochs), its data tree
// (the sequence of applied txns), an election network that loses, duplicates and reorders,
// and quorum connections that are FIFO and die on loss, with crashes at every persistence
// point. It checks the Zab properties as it goes (see checkDelivery).

// memLog is a durable txn log with a snapshot: hist[:compacted] is only in the snapshot.
type memLog struct {
	hist      []Txn
	compacted int // hist[:compacted] is in a snapshot of committed txns only
	snapAt    int // hist[:snapAt] came with a SNAP (may hold txns never committed)
	maxDiff   int // DiffFromLog: more txns after the learner's than this is too big a read
}

func (l *memLog) last() Zxid {
	if len(l.hist) == 0 {
		return 0
	}
	return l.hist[len(l.hist)-1].Zxid
}

func (l *memLog) Entries(after Zxid, max int) ([]Txn, bool, error) {
	i := sort.Search(len(l.hist), func(i int) bool { return l.hist[i].Zxid > after })
	if i < l.compacted || i < l.snapAt {
		return nil, false, ErrCompacted
	}
	out := l.hist[i:]
	more := false
	if len(out) > max {
		out, more = out[:max], true
	}
	return slices.Clone(out), more, nil
}

// DiffFromLog stands in for snapshotSizeFactor with a count of txns, so that schedules
// reach the SNAP a log too big for a DIFF gives.
func (l *memLog) DiffFromLog(peerLast Zxid) bool {
	i := sort.Search(len(l.hist), func(i int) bool { return l.hist[i].Zxid > peerLast })
	return len(l.hist)-i <= l.maxDiff
}

// simParams shape one schedule.
type simParams struct {
	voters, observers int
	spares            int     // servers outside the initial configuration (reconfigs add them)
	pReconfig         float64 // per client round on a serving leader: propose a reconfig
	rounds            int
	pCrash            float64 // per Ready with work: crash somewhere in it
	pRestart          float64 // per round per down node
	pLoss             float64 // per quorum packet: the connection breaks
	pDelay            float64 // per delivery attempt: wait
	pVoteLoss         float64 // per election message
	pVoteDup          float64
	pPartition        float64 // per round: cut or heal a link
	pCompact          float64
	pPropose          float64
	pSync             float64
	commitLogCount    int
	maxDiffTxns       int
	maxSyncs          int  // MaxConcurrentSnapSyncs and DiffSyncs; 0: the defaults
	quitEpochWait     bool // leaders quit waiting for epochs on a LOOKING voter after a tick
	initTicks         int
	syncTicks         int
	realElection      bool
	electionTicks     int  // election ticks per broadcast tick
	hierarchical      bool // the initial configuration is a hierarchical quorum (simGroups)
	observerMaster    bool // observers synchronise through followers (Config.ObserverMaster)
	observerDelays    bool // observers wait at random before electing and registering
}

type simNode struct {
	id   uint64
	cfg  Config
	p    *Peer
	up   bool
	inc  int
	log  *memLog
	acc  int64
	cur  int64
	tree []Txn
	role Role
	next Zxid
	snap []Txn // last SNAP payload received
	// truncFailed: the last Truncate went below the snapshot a SNAP installed, which the
	// caller cannot undo; needSnap: the peer was restarted to ask for a SNAP.
	truncFailed, needSnap bool
	// untrusted: the data dir came back empty and is not trusted (db.autocreate=false): the
	// peer restarts at zxid -1 with epochs -1 until a SNAP is installed.
	untrusted bool
	checked   int             // tree[:checked] was checked against the committed history
	syncs     map[uint64]int  // pending Sync id -> len(G) when called
	oracle    *oracleElection // stand-in election, when used

	lastKind ActionKind // last action persisted
	members  *Members   // committed configuration as last persisted (Ready.Members)

	readies int   // Readies with work executed (scenario crash plans count them)
	crashAt []int // scenario plan: crash in Ready number crashAt[0] at point crashAt[1]
}

type conn struct {
	id    int
	a, b  uint64 // a dialled
	q     map[uint64][]simMsg
	alive bool
}

type simMsg struct {
	m    Message
	snap []Txn
	cn   *conn
	inc  int // sender's incarnation (votes)
}

type cluster struct {
	t      testing.TB
	seed   int64
	rng    *rand.Rand
	prm    simParams
	nodes  map[uint64]*simNode
	ids    []uint64
	voters []uint64
	obs    []uint64
	conns  map[[2]uint64]*conn
	nconn  int
	votes  []simMsg
	events []func()
	cut    map[[2]uint64]bool
	G      []Txn
	gIdx   map[Zxid]int
	prop   map[Zxid]string
	syncID uint64
	round  int
	faults bool // fault injection on

	// scenario hooks
	onPersist  func(n *simNode, a Action)  // after each persisted action
	onSend     func(n *simNode, m Message) // before each send
	syncCounts []SyncCount                 // every leader's Ready.Syncs, in order

	trace   []string
	traceOn bool
	failed  bool

	// statistics
	nCommitted, nSyncs, nLeaders, nCrashes, nTruncSnap, nRepairs int
	nMasterInforms                                               int // INFORMs an observer master sent
	nObserverWaits                                               int // observers' random waits drawn
}

func pair(a, b uint64) [2]uint64 {
	if a > b {
		a, b = b, a
	}
	return [2]uint64{a, b}
}

func newCluster(t testing.TB, seed int64, prm simParams) *cluster {
	c := &cluster{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), prm: prm,
		nodes: map[uint64]*simNode{}, conns: map[[2]uint64]*conn{}, cut: map[[2]uint64]bool{},
		gIdx: map[Zxid]int{}, prop: map[Zxid]string{}, faults: true}
	for i := 1; i <= prm.voters; i++ {
		c.voters = append(c.voters, uint64(i))
	}
	for i := 1; i <= prm.observers; i++ {
		c.obs = append(c.obs, uint64(prm.voters+i))
	}
	c.ids = append(slices.Clone(c.voters), c.obs...)
	for i := 1; i <= prm.spares; i++ {
		c.ids = append(c.ids, uint64(prm.voters+prm.observers+i))
	}
	initial := simConfigData(c.voters, c.obs, 0)
	if prm.hierarchical {
		initial = "cfg h " + strings.TrimPrefix(initial, "cfg ")
	}
	for _, id := range c.ids {
		n := &simNode{id: id, log: &memLog{}, syncs: map[uint64]int{}}
		n.cfg = Config{ID: id, Voters: c.voters, Observers: c.obs,
			InitTicks: prm.initTicks, SyncTicks: prm.syncTicks,
			CommitLogCount:         prm.commitLogCount,
			MaxConcurrentSnapSyncs: prm.maxSyncs, MaxConcurrentDiffSyncs: prm.maxSyncs,
			QuitEpochWait: prm.quitEpochWait, EpochWaitTicks: 1,
			Election:    ElectionConfig{FinalizeTicks: 2, MaxNotificationTicks: 8, Config: []byte(initial)},
			ConfigTxn:   func(t Txn) (Membership, bool) { return parseSimConfig(t.Data) },
			ParseConfig: parseSimConfig,
			// Schedules that reconfigure also version the static configuration at the
			// first NEWLEADER (ZOOKEEPER-1783).
			ReconfigEnabled:   prm.pReconfig > 0,
			ConfigWithVersion: simConfigWithVersion,
			ObserverMaster:    prm.observerMaster}
		if prm.observerDelays {
			n.cfg.ObserverElectionDelayTicks, n.cfg.ObserverReconnectDelayTicks = 6, 3
			n.cfg.Rand = func(k int) int {
				w := c.rng.Intn(k)
				if w > 0 {
					c.nObserverWaits++
				}
				return w
			}
		}
		c.nodes[id] = n
	}
	return c
}

func (c *cluster) logf(format string, args ...any) {
	if !c.traceOn {
		return
	}
	c.trace = append(c.trace, fmt.Sprintf("r%d ", c.round)+fmt.Sprintf(format, args...))
}

func (c *cluster) fail(format string, args ...any) {
	if c.failed {
		return
	}
	c.failed = true
	msg := fmt.Sprintf(format, args...)
	if c.traceOn {
		tail := c.trace
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		c.t.Logf("trace:\n%s", strings.Join(tail, "\n"))
	}
	if c.faults || c.prm.rounds > 0 {
		c.t.Fatalf("seed %d (replay: ZAB_SEED=%d go test -run TestSim -v ./zab/): round %d: %s", c.seed, c.seed, c.round, msg)
	}
	c.t.Fatalf("round %d: %s", c.round, msg)
}

// start boots every node from its (empty or given) disk.
func (c *cluster) start() {
	for _, id := range c.ids {
		c.restart(c.nodes[id])
	}
	c.drain()
}

func (c *cluster) newElector(n *simNode) elector {
	if c.prm.realElection {
		ec := n.cfg.Election
		ec.ID, ec.Voters, ec.Observers = n.id, c.voters, c.obs
		return NewElection(ec)
	}
	n.oracle = &oracleElection{}
	return n.oracle
}

func (c *cluster) restart(n *simNode) {
	last := n.log.last()
	if n.untrusted {
		last = -1
	}
	if !(n.acc >= n.cur && n.acc >= last.EpochOf()) {
		c.fail("node %d restarts with acceptedEpoch %d currentEpoch %d last zxid %s", n.id, n.acc, n.cur, last)
		return
	}
	repair := n.cur < last.EpochOf()
	if repair && n.lastKind != InstallSnapshot {
		// Only a crash between a SNAP's install and its SetCurrentEpoch may leave this.
		c.fail("node %d restarts with currentEpoch %d behind its last zxid %s after %v (ZOOKEEPER-1653)", n.id, n.cur, last, n.lastKind)
		return
	}
	n.up = true
	n.inc++
	n.tree = slices.Clone(n.log.hist)
	n.checked = 0
	n.role = Role{State: Looking}
	n.snap = nil
	n.syncs = map[uint64]int{}
	st := State{AcceptedEpoch: n.acc, CurrentEpoch: n.cur, LastZxid: last, NeedSnapshot: n.needSnap}
	{
		// The persisted configuration plus the reconfigs logged after it (what the tree
		// replayed from the log holds), as package quorum rebuilds it.
		initial, _ := parseSimConfig(n.cfg.Election.Config)
		ms := Members{Committed: initial}
		if n.members != nil {
			ms.Committed = n.members.Committed
		}
		for _, t := range n.log.hist {
			if m, ok := parseSimConfig(t.Data); ok && m.Version > ms.Committed.Version {
				ms.Pending = append(ms.Pending, m)
			}
		}
		st.Members = &ms
	}
	n.log.maxDiff = c.prm.maxDiffTxns
	n.p = newPeer(n.cfg, st, n.log, c.newElector(n))
	c.logf("restart %d acc=%d cur=%d last=%s", n.id, n.acc, n.cur, last)
	c.process(n)
	if n.up && n.cur < last.EpochOf() {
		c.fail("node %d: currentEpoch %d behind its last zxid %s after start (ZOOKEEPER-1653)", n.id, n.cur, last)
	}
	if repair {
		c.nRepairs++
	}
}

func (c *cluster) crash(n *simNode) {
	if !n.up {
		return
	}
	c.logf("crash %d", n.id)
	n.needSnap = false // in memory only: a restarted server meets the same TRUNC again
	c.nCrashes++
	n.up = false
	n.inc++
	n.p = nil
	n.role = Role{State: Looking}
	// In key order: the disconnections become events, and a seed must replay exactly.
	keys := slices.Collect(maps.Keys(c.conns))
	slices.SortFunc(keys, func(a, b [2]uint64) int {
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		return int(a[1]) - int(b[1])
	})
	for _, k := range keys {
		if k[0] == n.id || k[1] == n.id {
			c.breakConn(c.conns[k], true, true)
		}
	}
}

// process runs the node's Ready loop until it has nothing to do.
func (c *cluster) process(n *simNode) {
	for i := 0; n.up && n.p.HasReady(); i++ {
		if i > 1000 {
			c.fail("node %d: Ready loop does not settle", n.id)
			return
		}
		c.execReady(n)
	}
}

// execReady executes one Ready as the caller must: persist, apply, send, Advance, with
// a crash possibly anywhere in between.
func (c *cluster) execReady(n *simNode) {
	rd := n.p.Ready()
	c.syncCounts = append(c.syncCounts, rd.Syncs...)
	crashAt := -1
	work := len(rd.Persist) + len(rd.Messages) + len(rd.Committed)
	if c.faults && work > 0 && c.rng.Float64() < c.prm.pCrash {
		crashAt = c.rng.Intn(len(rd.Persist) + 2)
	}
	if work > 0 {
		n.readies++
		if n.crashAt != nil && n.readies == n.crashAt[0] {
			crashAt = min(n.crashAt[1], len(rd.Persist)+1)
			n.crashAt = nil
		}
	}
	for i, a := range rd.Persist {
		if i == crashAt {
			// A crash in the middle of an Append keeps a prefix of its txns.
			if a.Kind == Append && len(a.Txns) > 1 && c.rng.Intn(2) == 0 {
				c.persist(n, Action{Kind: Append, Txns: a.Txns[:c.rng.Intn(len(a.Txns))]})
			}
			c.crash(n)
			return
		}
		c.persist(n, a)
		if c.failed {
			return
		}
		if n.truncFailed {
			// Nothing of this Ready after the refused Truncate happens; the peer starts
			// again from the durable state, which the Truncate left as it was.
			n.truncFailed = false
			c.crash(n)
			n.needSnap = true
			c.restart(n)
			return
		}
		if c.onPersist != nil {
			c.onPersist(n, a)
		}
	}
	if crashAt == len(rd.Persist) {
		c.crash(n)
		return
	}
	for _, t := range rd.Committed {
		c.applyTxn(n, t)
		if c.failed {
			return
		}
	}
	if rd.Members != nil {
		c.logf("node %d members committed %s pending %d", n.id, rd.Members.Committed.Raw, len(rd.Members.Pending))
		ms := Members{Committed: rd.Members.Committed}
		n.members = &ms
	}
	if rd.Role != nil {
		c.logf("node %d role %+v", n.id, *rd.Role)
		n.role = *rd.Role
		if rd.Role.State == Looking {
			n.tree = slices.Clone(n.log.hist)
			n.checked = 0
			n.syncs = map[uint64]int{}
		}
		if rd.Role.State == Leading && rd.Role.Serving {
			n.next = rd.Role.NextZxid
			c.nLeaders++
			c.checkLeaderHistory(n)
		}
	}
	if n.role.Serving {
		c.checkServing(n)
		if c.failed {
			return
		}
	}
	for _, id := range rd.Close {
		if cn := c.conns[pair(n.id, id)]; cn != nil {
			c.logf("%d closes %d", n.id, id)
			// The closing side knows; the other side learns it.
			c.breakConn(cn, n.id != cn.a, n.id != cn.b)
		}
	}
	for _, m := range rd.Messages {
		if c.onSend != nil {
			c.onSend(n, m)
		}
		c.send(n, m)
	}
	for _, id := range rd.SyncsDone {
		c.syncDone(n, id)
	}
	if crashAt == len(rd.Persist)+1 {
		c.crash(n)
		return
	}
	n.p.Advance()
}

func (c *cluster) persist(n *simNode, a Action) {
	n.lastKind = a.Kind
	switch a.Kind {
	case SetAcceptedEpoch:
		n.acc = a.Epoch
	case SetCurrentEpoch:
		if a.Epoch > n.acc {
			c.fail("node %d: currentEpoch %d above acceptedEpoch %d", n.id, a.Epoch, n.acc)
		}
		n.cur = a.Epoch
	case Append:
		for _, t := range a.Txns {
			if t.Zxid <= n.log.last() {
				c.fail("node %d appends %s after %s", n.id, t.Zxid, n.log.last())
				return
			}
			if d, ok := c.prop[t.Zxid]; !ok || d != string(t.Data) {
				c.fail("node %d logs txn %s %q that was never proposed (integrity)", n.id, t.Zxid, t.Data)
				return
			}
			n.log.hist = append(n.log.hist, t)
		}
	case Truncate:
		i := sort.Search(len(n.log.hist), func(i int) bool { return n.log.hist[i].Zxid > a.Zxid })
		if i < n.log.compacted {
			c.fail("node %d truncates to %s, below its committed snapshot", n.id, a.Zxid)
			return
		}
		if i < n.log.snapAt {
			// The snapshot a SNAP installed held txns the next leader did not have. Like
			// package quorum, this caller cannot roll a snapshot back: nothing changes,
			// and the peer is restarted to ask for a SNAP (execReady).
			c.nTruncSnap++
			n.truncFailed = true
			c.logf("node %d cannot truncate to %s below its snapshot; asks for a SNAP", n.id, a.Zxid)
			return
		}
		if i < len(n.log.hist) {
			c.logf("node %d truncates %d txns after %s", n.id, len(n.log.hist)-i, a.Zxid)
		}
		n.log.hist = n.log.hist[:i:i]
		n.tree = slices.Clone(n.log.hist)
		n.checked = 0
	case InstallSnapshot:
		s := n.snap
		last := Zxid(0)
		if len(s) > 0 {
			last = s[len(s)-1].Zxid
		}
		if last != a.Zxid {
			c.fail("node %d installs snapshot %s but holds one at %s", n.id, a.Zxid, last)
			return
		}
		n.log.hist = slices.Clone(s)
		n.log.snapAt = len(s)
		n.needSnap = false
		n.untrusted = false
		n.log.compacted = 0
		n.tree = slices.Clone(s)
		n.checked = 0
	}
}

// applyTxn applies a committed txn: it must be the next logged one.
func (c *cluster) applyTxn(n *simNode, t Txn) {
	if k := len(n.tree); k >= len(n.log.hist) || n.log.hist[k].Zxid != t.Zxid || string(n.log.hist[k].Data) != string(t.Data) {
		c.fail("node %d applies %s which is not the next logged txn (tree %d, log %d)", n.id, t.Zxid, len(n.tree), len(n.log.hist))
		return
	}
	n.tree = append(n.tree, t)
	c.nCommitted++
}

// checkServing: what a serving node has applied (what its clients can see) is a prefix of
// the one committed history G (integrity, agreement, total and primary order). A serving
// leader's commits extend G; a learner only ever applies what is in G already. Txns a
// learner applies while it synchronises are not committed yet (the epoch may never be
// established): they are checked once the learner serves.
func (c *cluster) checkServing(n *simNode) {
	if !n.role.Serving {
		return
	}
	leader := n.role.State == Leading
	tr := n.tree
	for i := n.checked; i < len(tr); i++ {
		t := tr[i]
		if i < len(c.G) {
			if c.G[i].Zxid != t.Zxid || string(c.G[i].Data) != string(t.Data) {
				c.fail("node %d (%s) applied history differs from the committed one at position %d: %s %q vs %s %q",
					n.id, n.role.State, i, t.Zxid, t.Data, c.G[i].Zxid, c.G[i].Data)
				return
			}
			continue
		}
		if !leader {
			c.fail("learner %d applied %s, which no leader committed", n.id, t.Zxid)
			return
		}
		if len(c.G) > 0 && t.Zxid <= c.G[len(c.G)-1].Zxid {
			c.fail("node %d: history out of order at %s", n.id, t.Zxid)
			return
		}
		c.G = append(c.G, t)
	}
	n.checked = len(tr)
}

// checkLeaderHistory: a leader that starts serving holds every committed txn (no
// committed txn is lost), and its whole history is committed from now on.
func (c *cluster) checkLeaderHistory(n *simNode) {
	h := n.log.hist
	if len(h) < len(c.G) {
		c.fail("leader %d (epoch %d) has %d txns, %d were committed: lost %s", n.id, n.role.Epoch, len(h), len(c.G), c.G[len(h)].Zxid)
		return
	}
	for i, t := range c.G {
		if h[i].Zxid != t.Zxid || string(h[i].Data) != string(t.Data) {
			c.fail("leader %d history differs from the committed one at %d: %s vs %s", n.id, i, h[i].Zxid, t.Zxid)
			return
		}
	}
	if len(n.tree) != len(h) {
		c.fail("leader %d serves with %d txns applied and %d logged", n.id, len(n.tree), len(h))
		return
	}
	n.checked = 0
	c.checkServing(n)
}

func (c *cluster) syncDone(n *simNode, id uint64) {
	k, ok := n.syncs[id]
	if !ok {
		c.fail("node %d completes unknown sync %d", n.id, id)
		return
	}
	delete(n.syncs, id)
	c.nSyncs++
	if len(n.tree) < k {
		c.fail("node %d: sync %d completes with %d txns applied, %d were committed when it was called (last %s)", n.id, id, len(n.tree), k, c.G[k-1].Zxid)
		return
	}
	for i := 0; i < k; i++ {
		if n.tree[i].Zxid != c.G[i].Zxid {
			c.fail("node %d: sync %d sees %s at %d, committed %s", n.id, id, n.tree[i].Zxid, i, c.G[i].Zxid)
			return
		}
	}
}

func (c *cluster) reachable(a, b uint64) bool {
	return c.nodes[a].up && c.nodes[b].up && !c.cut[pair(a, b)]
}

func (c *cluster) send(n *simNode, m Message) {
	if m.From != n.id {
		c.fail("node %d sends a message from %d", n.id, m.From)
		return
	}
	if m.Vote != nil {
		c.votes = append(c.votes, simMsg{m: m, inc: n.inc})
		return
	}
	if m.Packet.Type == Inform && n.role.State == Following {
		c.nMasterInforms++
	}
	k := pair(n.id, m.To)
	cn := c.conns[k]
	if t := m.Packet.Type; t == FollowerInfo || t == ObserverInfo {
		if cn != nil {
			// Replaced: only the far side notices, before the new connection speaks.
			c.breakConn(cn, cn.a == m.To, cn.b == m.To)
		}
		if !c.reachable(n.id, m.To) {
			id, inc, to := n.id, n.inc, m.To
			c.events = append(c.events, func() {
				if nn := c.nodes[id]; nn.up && nn.inc == inc {
					nn.p.Disconnected(to)
					c.process(nn)
				}
			})
			return
		}
		c.nconn++
		cn = &conn{id: c.nconn, a: n.id, b: m.To, q: map[uint64][]simMsg{}, alive: true}
		c.conns[k] = cn
	}
	if cn == nil || !cn.alive {
		return // nobody dials a learner: the packet is lost with its connection
	}
	sm := simMsg{m: m, cn: cn}
	if m.Packet.Type == Snap {
		k := sort.Search(len(n.tree), func(i int) bool { return n.tree[i].Zxid > m.Packet.Zxid })
		if k > 0 && n.tree[k-1].Zxid != m.Packet.Zxid || k == 0 && m.Packet.Zxid != 0 {
			c.fail("leader %d sends SNAP(%s) without that txn applied", n.id, m.Packet.Zxid)
			return
		}
		sm.snap = slices.Clone(n.tree[:k])
	}
	cn.q[m.To] = append(cn.q[m.To], sm)
}

// breakConn ends a quorum connection: what is in flight is lost, and the ends asked for
// get Disconnected.
func (c *cluster) breakConn(cn *conn, notifyA, notifyB bool) {
	if !cn.alive {
		return
	}
	cn.alive = false
	cn.q = nil
	k := pair(cn.a, cn.b)
	if c.conns[k] == cn {
		delete(c.conns, k)
	}
	note := func(id, other uint64) {
		n := c.nodes[id]
		if !n.up {
			return
		}
		inc := n.inc
		c.events = append(c.events, func() {
			if n.up && n.inc == inc {
				c.logf("%d disconnected from %d", id, other)
				n.p.Disconnected(other)
				c.process(n)
			}
		})
	}
	if notifyA {
		note(cn.a, cn.b)
	}
	if notifyB {
		note(cn.b, cn.a)
	}
}

// drain runs the queued events (disconnections) in order.
func (c *cluster) drain() {
	for len(c.events) > 0 && !c.failed {
		e := c.events[0]
		c.events = c.events[1:]
		e()
	}
}

// deliverOne delivers the head of one connection direction; false when nothing is in flight.
func (c *cluster) deliverConn(cn *conn, to uint64) {
	q := cn.q[to]
	sm := q[0]
	cn.q[to] = q[1:]
	if c.faults && c.rng.Float64() < c.prm.pLoss {
		c.logf("lost %s: connection breaks", sm.m)
		c.breakConn(cn, true, true)
		return
	}
	n := c.nodes[to]
	from := sm.m.From
	if !c.reachable(from, to) {
		c.breakConn(cn, true, true)
		return
	}
	c.logf("deliver %s", sm.m)
	if sm.m.Packet.Type == Request {
		// A learner's forwarded sync; an observer master forwards it on to its leader.
		if n.role.State == Following {
			if err := n.p.RelaySync(from); err != nil {
				c.logf("RelaySync(%d) on %d: %v", from, to, err)
			} else {
				c.send(n, Message{From: n.id, To: n.role.Leader, Packet: &Packet{Type: Request, Zxid: -1, Data: []byte("sync")}})
			}
		} else if err := n.p.SyncFor(from); err != nil {
			c.logf("SyncFor(%d) on %d: %v", from, to, err)
		}
		c.process(n)
		return
	}
	if sm.m.Packet.Type == Snap {
		n.snap = sm.snap
	}
	n.p.Step(sm.m)
	c.process(n)
}

func (c *cluster) deliverVote(i int) {
	sm := c.votes[i]
	c.votes = slices.Delete(c.votes, i, i+1)
	from, to := sm.m.From, sm.m.To
	if c.faults && c.rng.Float64() < c.prm.pVoteLoss {
		return
	}
	if !c.reachable(from, to) {
		return
	}
	if c.faults && c.rng.Float64() < c.prm.pVoteDup {
		c.votes = append(c.votes, sm)
	}
	n := c.nodes[to]
	c.logf("deliver %s", sm.m)
	n.p.Step(sm.m)
	c.process(n)
}

// deliverRound delivers messages in a random order, each connection FIFO, some delayed.
func (c *cluster) deliverRound() {
	type head struct {
		cn *conn
		to uint64
	}
	// The network is fast next to a tick: usually everything in flight arrives.
	inflight := len(c.votes)
	for _, cn := range c.conns {
		for _, q := range cn.q {
			inflight += len(q)
		}
	}
	budget := (1 + c.rng.Intn(3)) * max(inflight, 8*len(c.ids))
	blocked := map[*conn]map[uint64]bool{}
	for ; budget > 0 && !c.failed; budget-- {
		c.drain()
		var heads []head
		keys := make([][2]uint64, 0, len(c.conns))
		for k := range c.conns {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b [2]uint64) int {
			if a[0] != b[0] {
				return int(a[0]) - int(b[0])
			}
			return int(a[1]) - int(b[1])
		})
		for _, k := range keys {
			cn := c.conns[k]
			for _, to := range []uint64{cn.a, cn.b} {
				if len(cn.q[to]) > 0 && !blocked[cn][to] {
					heads = append(heads, head{cn, to})
				}
			}
		}
		nv := len(c.votes)
		if len(heads)+nv == 0 {
			return
		}
		i := c.rng.Intn(len(heads) + nv)
		if i < len(heads) {
			h := heads[i]
			if c.faults && c.rng.Float64() < c.prm.pDelay {
				if blocked[h.cn] == nil {
					blocked[h.cn] = map[uint64]bool{}
				}
				blocked[h.cn][h.to] = true
				continue
			}
			c.deliverConn(h.cn, h.to)
		} else {
			j := i - len(heads)
			if c.faults && c.rng.Float64() < c.prm.pDelay {
				continue // stays in flight, possibly overtaken
			}
			c.deliverVote(j)
		}
	}
	c.drain()
}

// tickAll advances every running node's clocks.
func (c *cluster) tickAll() {
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.up {
			continue
		}
		for i := 0; i < c.prm.electionTicks && n.up; i++ {
			n.p.ElectionTick()
			c.process(n)
		}
		if n.up {
			n.p.Tick()
			c.process(n)
		}
		c.drain()
	}
	if !c.prm.realElection {
		c.runOracle()
	}
}

// clientOps proposes on serving leaders and issues syncs on serving nodes.
func (c *cluster) clientOps() {
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.up || !n.role.Serving {
			continue
		}
		if n.role.State == Leading && c.rng.Float64() < c.prm.pReconfig {
			c.reconfig(n)
		}
		if n.up && n.role.State == Leading && n.role.Serving && c.rng.Float64() < c.prm.pPropose {
			for k := c.rng.Intn(3); k >= 0 && n.up; k-- {
				c.propose(n)
			}
		}
		if n.up && c.rng.Float64() < c.prm.pSync {
			c.sync(n)
		}
		c.drain()
	}
}

func (c *cluster) propose(n *simNode) error {
	z := n.next
	data := fmt.Sprintf("n%d-%s", n.id, z)
	if _, dup := c.prop[z]; dup {
		c.fail("zxid %s proposed twice", z)
	}
	c.prop[z] = data
	err := n.p.Propose(Txn{Zxid: z, Data: []byte(data)})
	if err != nil {
		delete(c.prop, z)
		return err
	}
	n.next++
	c.process(n)
	return nil
}

// reconfig proposes a new configuration: a random non-empty set of voters among all
// servers, and sometimes observers among the rest.
func (c *cluster) reconfig(n *simNode) {
	var voters, observers []uint64
	if c.rng.Float64() < 0.3 {
		// Sometimes only observers join and leave.
		voters = n.p.Members().Committed.Voters
		for _, id := range c.ids {
			if !slices.Contains(voters, id) && c.rng.Float64() < 0.5 {
				observers = append(observers, id)
			}
		}
	}
	for len(voters) == 0 {
		voters, observers = nil, nil
		for _, id := range c.ids {
			switch r := c.rng.Float64(); {
			case r < 0.55:
				voters = append(voters, id)
			case r < 0.65:
				observers = append(observers, id)
			}
		}
	}
	if err := n.p.CheckReconfig(Membership{Voters: voters, Observers: observers}); err != nil {
		return
	}
	z := n.next
	data := simConfigData(voters, observers, int64(z))
	c.prop[z] = data
	if err := n.p.Propose(Txn{Zxid: z, Data: []byte(data)}); err != nil {
		delete(c.prop, z)
		return
	}
	c.logf("leader %d proposes %s", n.id, data)
	n.next++
	c.process(n)
}

// simConfigData is a reconfig txn's data and a configuration's Raw form.
func simConfigData(voters, observers []uint64, version int64) string {
	return fmt.Sprintf("cfg v=%v o=%v ver=%d", voters, observers, version)
}

func simConfigWithVersion(raw []byte, version int64) []byte {
	m, ok := parseSimConfig(raw)
	if !ok {
		return raw
	}
	data := simConfigData(m.Voters, m.Observers, version)
	if m.Groups != nil {
		data = "cfg h " + strings.TrimPrefix(data, "cfg ")
	}
	return []byte(data)
}

func parseSimConfig(b []byte) (Membership, bool) {
	s, ok := strings.CutPrefix(string(b), "cfg ")
	if !ok {
		return Membership{}, false
	}
	m := Membership{Raw: slices.Clone(b)}
	s, hier := strings.CutPrefix(s, "h ")
	for _, f := range strings.SplitAfter(s, "] ") {
		f = strings.TrimSpace(f)
		var ids *[]uint64
		switch {
		case strings.HasPrefix(f, "v="):
			ids = &m.Voters
		case strings.HasPrefix(f, "o="):
			ids = &m.Observers
		default:
			continue
		}
		for _, x := range strings.Fields(strings.Trim(f[2:], "[] ")) {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return Membership{}, false
			}
			*ids = append(*ids, v)
		}
	}
	if i := strings.LastIndex(s, "ver="); i >= 0 {
		v, err := strconv.ParseInt(s[i+4:], 10, 64)
		if err != nil {
			return Membership{}, false
		}
		m.Version = v
	}
	if hier {
		m.Groups = simGroups(m.Voters)
	}
	return m, true
}

// simGroups is the hierarchical quorum of a configuration marked "h": the voters in three
// groups (round robin by id), the first weighing 2 and, of three or more, the last 0 (it
// cannot lead, and its group may weigh nothing).
func simGroups(voters []uint64) []Group {
	groups := make([]Group, min(3, len(voters)))
	for i, id := range voters {
		w := int64(1)
		switch {
		case i == 0:
			w = 2
		case i == len(voters)-1 && len(voters) >= 3:
			w = 0
		}
		g := &groups[i%len(groups)]
		g.Members = append(g.Members, id)
		g.Weights = append(g.Weights, w)
	}
	return groups
}

func (c *cluster) sync(n *simNode) {
	c.syncID++
	id := c.syncID
	if err := n.p.Sync(id); err != nil {
		return
	}
	n.syncs[id] = len(c.G)
	if n.role.State != Leading {
		// The caller forwards the sync to the leader (or its observer master) on the
		// quorum connection.
		c.send(n, Message{From: n.id, To: n.role.Master, Packet: &Packet{Type: Request, Zxid: -1, Data: []byte("sync")}})
	}
	c.process(n)
}

// faultsRound injects crashes, restarts, partitions and snapshots.
func (c *cluster) faultsRound() {
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.up && c.rng.Float64() < c.prm.pRestart {
			c.restart(n)
			c.drain()
		}
	}
	if c.rng.Float64() < c.prm.pPartition {
		a, b := c.ids[c.rng.Intn(len(c.ids))], c.ids[c.rng.Intn(len(c.ids))]
		if a != b {
			k := pair(a, b)
			if c.cut[k] {
				delete(c.cut, k)
				c.logf("heal %d-%d", a, b)
			} else {
				c.cut[k] = true
				c.logf("cut %d-%d", a, b)
				if cn := c.conns[k]; cn != nil {
					c.breakConn(cn, true, true)
				}
			}
		}
	}
	if c.rng.Float64() < c.prm.pCompact {
		c.compact(c.nodes[c.ids[c.rng.Intn(len(c.ids))]])
	}
	c.drain()
}

// compact moves a committed prefix of a serving node's log into its snapshot (Apache
// snapshots the tree from SyncRequestProcessor, which runs only while serving).
func (c *cluster) compact(n *simNode) {
	if !n.up || !n.role.Serving {
		return
	}
	h := n.log.hist
	k := 0
	for k < len(h) && k < len(c.G) && k < len(n.tree) && h[k].Zxid == c.G[k].Zxid {
		k++
	}
	if k > n.log.compacted {
		n.log.compacted = n.log.compacted + c.rng.Intn(k-n.log.compacted+1)
	}
}

// healAll ends every fault: partitions healed, nodes restarted, no more losses or crashes.
func (c *cluster) healAll() {
	c.faults = false
	c.cut = map[[2]uint64]bool{}
	for _, id := range c.ids {
		if n := c.nodes[id]; !n.up {
			c.restart(n)
		}
	}
	c.drain()
}

func (c *cluster) runRound() {
	c.round++
	if c.faults {
		c.faultsRound()
	}
	c.clientOps()
	c.deliverRound()
	c.tickAll()
}

// converge checks liveness once faults stop: a leader serves, every node applies a new
// txn, and a sync completes.
func (c *cluster) converge(maxRounds int) {
	c.healAll()
	var mark Zxid
	for r := 0; r < maxRounds && !c.failed; r++ {
		c.round++
		c.deliverRound()
		c.tickAll()
		if mark == 0 {
			for _, id := range c.ids {
				if n := c.nodes[id]; n.up && n.role.State == Leading && n.role.Serving {
					z := n.next
					if c.propose(n) == nil {
						mark = z
					}
				}
			}
			continue
		}
		all := true
		for _, id := range c.ids {
			n := c.nodes[id]
			if n.acc > int64(mark.Epoch()) {
				// It accepted the epoch of a leader that failed, after this leader's
				// epoch was chosen: it refuses this leader until the next election, as
				// Apache's learners do ("Leaders epoch is less than accepted epoch").
				continue
			}
			if len(n.tree) == 0 || n.tree[len(n.tree)-1].Zxid < mark || !n.role.Serving {
				all = false
			}
		}
		if all {
			return
		}
	}
	if !c.failed {
		var st []string
		for _, id := range c.ids {
			n := c.nodes[id]
			cfg := ""
			if n.p != nil {
				ms := n.p.Members()
				cfg = " cfg=" + string(ms.Committed.Raw)
				for _, m := range ms.Pending {
					cfg += " pending=" + string(m.Raw)
				}
			}
			st = append(st, fmt.Sprintf("%d:%s/%d serving=%v tree=%d last=%s%s", id, n.role.State, n.role.Leader, n.role.Serving, len(n.tree), n.log.last(), cfg))
		}
		c.fail("no convergence after faults stopped (mark %s): %s", mark, strings.Join(st, " "))
	}
}

// oracleElection is a stand-in for FastLeaderElection: the cluster decides the roles of
// looking nodes by looking at all of them (the leader is the most up to date of a quorum
// of looking voters, FLE's guarantee, or an existing leader).
type oracleElection struct {
	looking bool
	zxid    Zxid
	epoch   int64
	decided bool
	leader  uint64
	state   ServerState
}

func (o *oracleElection) Start(z Zxid, e int64) {
	o.looking, o.decided, o.zxid, o.epoch = true, false, z, e
}
func (o *oracleElection) Step(uint64, Notification) {}
func (o *oracleElection) Tick()                     {}
func (o *oracleElection) Messages() []Message       { return nil }
func (o *oracleElection) SetServing(ServerState)    { o.looking = false }
func (o *oracleElection) SetMembers(Members)        {}
func (o *oracleElection) SetOracle(bool)            {}
func (o *oracleElection) Decision() (uint64, ServerState, int64, bool) {
	return o.leader, o.state, 0, o.decided
}

func (c *cluster) runOracle() {
	if c.faults && c.rng.Intn(2) == 0 {
		return
	}
	for _, id := range c.ids {
		n := c.nodes[id]
		if !n.up || !n.oracle.looking || n.oracle.decided {
			continue
		}
		// Join a leader we can reach.
		joined := false
		for _, lid := range c.voters {
			l := c.nodes[lid]
			if lid != id && l.up && l.role.State == Leading && c.reachable(id, lid) {
				c.decide(n, lid)
				joined = true
				break
			}
		}
		if joined {
			continue
		}
		var cand []*simNode
		for _, vid := range c.voters {
			v := c.nodes[vid]
			if (vid == id || c.reachable(id, vid)) && v.up && v.oracle.looking && !v.oracle.decided {
				cand = append(cand, v)
			}
		}
		if 2*len(cand) <= len(c.voters) {
			continue
		}
		best := cand[0]
		for _, v := range cand[1:] {
			b, o := best.oracle, v.oracle
			if o.epoch > b.epoch || o.epoch == b.epoch && (o.zxid > b.zxid || o.zxid == b.zxid && v.id > best.id) {
				best = v
			}
		}
		c.decide(best, best.id)
		for _, v := range cand {
			if v != best {
				c.decide(v, best.id)
			}
		}
		for _, oid := range c.obs {
			if o := c.nodes[oid]; o.up && o.oracle.looking && !o.oracle.decided && c.reachable(oid, best.id) {
				c.decide(o, best.id)
			}
		}
	}
	c.drain()
}

func (c *cluster) decide(n *simNode, leader uint64) {
	o := n.oracle
	o.decided, o.leader = true, leader
	switch {
	case leader == n.id:
		o.state = Leading
	case slices.Contains(c.obs, n.id):
		o.state = Observing
	default:
		o.state = Following
	}
	c.logf("oracle: %d -> %s of %d", n.id, o.state, leader)
	n.p.ElectionTick()
	c.process(n)
}
