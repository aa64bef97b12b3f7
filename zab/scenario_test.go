package zab

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Named scenarios: the interleavings that once broke Apache ZooKeeper, scripted on the
// simulated ensemble (simnet_test.go) with the stand-in election deciding roles where the
// script says so. Every scenario ends by healing everything and checking convergence, and
// the Zab properties are checked throughout as in TestSim.

// scenario is a cluster driven by hand: no random faults, deterministic delivery.
func scenario(t *testing.T, voters, observers int) *cluster {
	t.Helper()
	prm := simParams{voters: voters, observers: observers, commitLogCount: 500, maxDiffTxns: 1000,
		initTicks: 10, syncTicks: 5, electionTicks: 4}
	c := newCluster(t, 1, prm)
	c.faults = false
	c.traceOn = true
	return c
}

func (c *cluster) node(id uint64) *simNode { return c.nodes[id] }

// boot starts the given nodes (the others stay down).
func (c *cluster) boot(ids ...uint64) {
	for _, id := range ids {
		c.restart(c.nodes[id])
	}
	c.drain()
}

// elect makes the stand-in election decide: leader leads, the others follow or observe.
func (c *cluster) elect(leader uint64, others ...uint64) {
	c.t.Helper()
	c.drain()
	for _, id := range append([]uint64{leader}, others...) {
		n := c.nodes[id]
		if !n.up || n.oracle == nil || !n.oracle.looking || n.oracle.decided {
			c.fail("elect: node %d is not looking (up %v, %+v)", id, n.up, n.oracle)
		}
		c.decide(n, leader)
	}
	c.drain()
}

// join makes looking nodes join a running leader.
func (c *cluster) join(leader uint64, ids ...uint64) {
	c.t.Helper()
	c.drain()
	for _, id := range ids {
		n := c.nodes[id]
		if !n.up || !n.oracle.looking || n.oracle.decided {
			c.fail("join: node %d is not looking", id)
		}
		c.decide(n, leader)
	}
	c.drain()
}

// settle delivers every message in flight, FIFO per connection, until the network is quiet.
func (c *cluster) settle() {
	for i := 0; i < 100000 && !c.failed; i++ {
		c.drain()
		if !c.deliverNext(func(from, to uint64, p *Packet) bool { return true }) {
			return
		}
	}
}

// deliverNext delivers the first in-flight packet that ok accepts (lowest connection
// first); false when there is none.
func (c *cluster) deliverNext(ok func(from, to uint64, p *Packet) bool) bool {
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
			if q := cn.q[to]; len(q) > 0 && ok(q[0].m.From, to, q[0].m.Packet) {
				c.deliverConn(cn, to)
				c.drain()
				return true
			}
		}
	}
	if len(c.votes) > 0 {
		c.deliverVote(0)
		c.drain()
		return true
	}
	return false
}

// deliverUntil delivers packets until one matching stop has been delivered.
func (c *cluster) deliverUntil(stop func(from, to uint64, p *Packet) bool) {
	c.t.Helper()
	for !c.failed {
		hit := false
		if !c.deliverNext(func(from, to uint64, p *Packet) bool { hit = stop(from, to, p); return true }) {
			c.t.Fatalf("deliverUntil: the network went quiet first")
		}
		if hit {
			return
		}
	}
}

// dropTo discards every packet in flight to `to` on its connections (a stalled peer).
func (c *cluster) dropTo(to uint64) {
	for _, cn := range c.conns {
		cn.q[to] = nil
	}
}

func (c *cluster) ticks(n int) {
	for i := 0; i < n && !c.failed; i++ {
		c.round++
		c.tickAll()
		c.settle()
	}
}

func (c *cluster) proposeN(leader uint64, k int) []Zxid {
	c.t.Helper()
	n := c.nodes[leader]
	var zs []Zxid
	for i := 0; i < k; i++ {
		z := n.next
		if err := c.propose(n); err != nil {
			c.t.Fatalf("propose on %d: %v", leader, err)
		}
		zs = append(zs, z)
	}
	return zs
}

func (c *cluster) mustServe(leader uint64, others ...uint64) {
	c.t.Helper()
	if r := c.nodes[leader].role; r.State != Leading || !r.Serving {
		c.t.Fatalf("node %d is not a serving leader: %+v", leader, r)
	}
	for _, id := range others {
		if r := c.nodes[id].role; r.Leader != leader || !r.Serving {
			c.t.Fatalf("node %d does not serve under %d: %+v", id, leader, r)
		}
	}
}

func (c *cluster) hasTxn(id uint64, z Zxid) bool {
	return slices.ContainsFunc(c.nodes[id].tree, func(t Txn) bool { return t.Zxid == z })
}

// finish heals everything, checks liveness and that every node holds the committed history.
func (c *cluster) finish() {
	c.t.Helper()
	c.converge(300)
	for _, id := range c.ids {
		n := c.nodes[id]
		if len(n.tree) < len(c.G) {
			c.t.Fatalf("node %d ends with %d txns, %d committed", id, len(n.tree), len(c.G))
		}
	}
}

// withCrashSweep runs script once per crash point of node id's Readies numbered from..to
// (counted from the node's boot), then heals, restarts and checks, so that a crash at every
// persistence point of that stretch is tried.
func withCrashSweep(t *testing.T, id uint64, from, to int, script func(c *cluster)) {
	for r := from; r <= to; r++ {
		for pt := 0; pt <= 6; pt++ {
			t.Run(fmt.Sprintf("ready%d-point%d", r, pt), func(t *testing.T) {
				c := script0(t)
				c.nodes[id].crashAt = []int{r, pt}
				script(c)
				c.finish()
			})
		}
	}
}

// script0 is the common three-voter cluster of the crash sweeps.
func script0(t *testing.T) *cluster { return scenario(t, 3, 0) }

// epochOneHistory: 1 leads {1,2} in epoch 1 and commits k txns while 3 is down.
func epochOneHistory(c *cluster, k int) []Zxid {
	c.boot(1, 2)
	c.elect(1, 2)
	c.settle()
	c.mustServe(1, 2)
	zs := c.proposeN(1, k)
	c.settle()
	c.ticks(1)
	return zs
}

// ZOOKEEPER-3911 (Data inconsistency caused by DIFF sync uncommitted log): a follower
// acknowledged NEWLEADER before logging the proposals of its DIFF; the quorum then crashed
// and the txns were gone. Here the follower's ACK(NEWLEADER) leaves only once every synced
// txn is in its log, and a crash anywhere in its synchronisation loses nothing committed.
func TestZK3911DiffSyncLoggedBeforeNewLeaderAck(t *testing.T) {
	script := func(c *cluster) {
		zs := epochOneHistory(c, 3)
		c.crash(c.node(1)) // the old leader is gone; 2 and 3 must carry its txns
		c.onSend = func(n *simNode, m Message) {
			if n.id == 3 && m.Packet != nil && m.Packet.Type == Ack && m.Packet.Zxid.Counter() == 0 {
				if n.log.last() < zs[len(zs)-1] {
					c.fail("3 acknowledges NEWLEADER with its log at %s, synced up to %s", n.log.last(), zs[len(zs)-1])
				}
			}
		}
		c.boot(3)
		c.elect(2, 3)
		c.settle()
		c.ticks(2)
		c.boot(1)
	}
	t.Run("no-crash", func(t *testing.T) {
		c := script0(t)
		script(c)
		c.mustServe(2, 3)
		c.finish()
	})
	withCrashSweep(t, 3, 1, 10, script)
}

// ZOOKEEPER-4643 (Committed txns may be improperly truncated if follower crashes right
// after updating currentEpoch but before persisting txns to disk): at no persistence point
// may a learner's currentEpoch claim an epoch whose synchronised history it lacks.
func TestZK4643CurrentEpochAfterSyncedTxns(t *testing.T) {
	script := func(c *cluster) {
		zs := epochOneHistory(c, 3)
		c.crash(c.node(1))
		c.onPersist = func(n *simNode, a Action) {
			if n.id == 3 && a.Kind == SetCurrentEpoch && a.Epoch >= 2 && n.log.last() < zs[len(zs)-1] {
				c.fail("3 writes currentEpoch %d with its log at %s, synced up to %s", a.Epoch, n.log.last(), zs[len(zs)-1])
			}
		}
		c.boot(3)
		c.elect(2, 3)
		c.settle()
		c.boot(1)
	}
	withCrashSweep(t, 3, 1, 10, script)
}

// ZOOKEEPER-3104 (NEWLEADER sent too early during SNAP sync): a SNAP-synced follower
// acknowledged NEWLEADER before its snapshot was on disk. Here InstallSnapshot is in the
// same Ready as, or an earlier one than, the ACK.
func TestZK3104SnapDurableBeforeNewLeaderAck(t *testing.T) {
	script := func(c *cluster) {
		epochOneHistory(c, 4)
		c.node(2).log.compacted = len(c.node(2).log.hist) // 2 can only offer a SNAP to an empty learner
		c.crash(c.node(1))
		installed := false
		c.onPersist = func(n *simNode, a Action) {
			if n.id == 3 && a.Kind == InstallSnapshot {
				installed = true
			}
		}
		c.onSend = func(n *simNode, m Message) {
			if n.id == 3 && m.Packet != nil && m.Packet.Type == Ack && m.Packet.Zxid.Counter() == 0 && !installed {
				c.fail("3 acknowledges NEWLEADER before its snapshot is installed")
			}
		}
		c.boot(3)
		c.elect(2, 3)
		c.settle()
		c.boot(1)
	}
	t.Run("no-crash", func(t *testing.T) {
		c := script0(t)
		script(c)
		c.finish()
	})
	withCrashSweep(t, 3, 1, 4, script)
}

// ZOOKEEPER-1653 (fails to start because of inconsistent epoch): a learner crashed after
// installing the snapshot of a newer epoch but before writing currentEpoch. Here a later
// epoch's snapshot is followed by SetCurrentEpoch, and a peer that restarts between the two
// repairs currentEpoch from its last zxid (Apache's updatingEpoch file) instead of failing.
func TestZK1653SnapshotBeforeCurrentEpoch(t *testing.T) {
	c := scenario(t, 3, 0)
	epochOneHistory(c, 2)
	// Epoch 2 under leader 2, with txns, while 3 is still down.
	c.crash(c.node(1))
	c.boot(1)
	c.crash(c.node(2))
	c.boot(2)
	c.elect(2, 1)
	c.settle()
	c.mustServe(2, 1)
	c.proposeN(2, 2)
	c.settle()
	c.node(2).log.compacted = len(c.node(2).log.hist) // 3 (empty) gets a SNAP of epoch 2
	c.boot(3)
	// 3's Readies: 1 FOLLOWERINFO, 2 ACKEPOCH, 3 SNAP..NEWLEADER; crash after InstallSnapshot.
	var seen []ActionKind
	c.onPersist = func(n *simNode, a Action) {
		if n.id == 3 {
			seen = append(seen, a.Kind)
		}
	}
	c.node(3).crashAt = []int{c.node(3).readies + 3, 1}
	c.join(2, 3)
	c.settle()
	if c.node(3).up || !slices.Contains(seen, InstallSnapshot) {
		t.Fatalf("3 did not crash right after installing the snapshot (persisted %v)", seen)
	}
	n := c.node(3)
	if n.cur >= int64(n.log.last().Epoch()) {
		t.Fatalf("the crash left currentEpoch %d with last zxid %s: nothing to repair", n.cur, n.log.last())
	}
	c.boot(3) // restart checks currentEpoch >= epoch of the last zxid after the first Ready
	if n.cur != int64(n.log.last().Epoch()) {
		t.Fatalf("currentEpoch %d not repaired to the epoch of %s", n.cur, n.log.last())
	}
	c.finish()
}

// ZOOKEEPER-1154 (inconsistency when the node with the highest zxid is absent at election)
// and ZOOKEEPER-335 (servers must commit the new leader txn to their logs): an old leader
// logged a txn nobody else saw; a new epoch goes on without it. When it rejoins, its txn is
// truncated (TRUNC within the epoch) or overwritten (SNAP once the new epoch has txns), and
// never resurrected by its higher zxid.
func TestZK1154And335TruncUncommittedOnRejoin(t *testing.T) {
	for _, newTxns := range []int{0, 2} {
		t.Run(fmt.Sprintf("new-epoch-txns-%d", newTxns), func(t *testing.T) {
			c := scenario(t, 3, 0)
			c.boot(1, 2, 3)
			c.elect(1, 2, 3)
			c.settle()
			c.proposeN(1, 2)
			c.settle()
			lost := c.proposeN(1, 1)[0]
			c.dropTo(2) // nobody receives the last PROPOSAL
			c.dropTo(3)
			c.crash(c.node(1))
			c.drain()
			c.elect(2, 3)
			c.settle()
			c.mustServe(2, 3)
			c.proposeN(2, newTxns)
			c.settle()
			var sync []PacketType
			c.onSend = func(n *simNode, m Message) {
				if n.id == 2 && m.To == 1 && m.Packet != nil && len(sync) == 0 {
					switch m.Packet.Type {
					case Diff, Trunc, Snap:
						sync = append(sync, m.Packet.Type)
					}
				}
			}
			c.boot(1)
			c.join(2, 1)
			c.settle()
			c.ticks(1)
			want := Trunc
			if newTxns > 0 {
				want = Snap // TRUNC never crosses an epoch
			}
			if len(sync) == 0 || sync[0] != want {
				t.Fatalf("old leader synchronised with %v, want %v", sync, want)
			}
			if c.hasTxn(1, lost) || slices.ContainsFunc(c.node(1).log.hist, func(x Txn) bool { return x.Zxid == lost }) {
				t.Fatalf("uncommitted %s survived on the old leader", lost)
			}
			c.finish()
		})
	}
}

// ZOOKEEPER-2099 (Using txnlog to sync a learner can corrupt the learner's datatree): a
// leader whose log starts after a SNAP it received must not DIFF a learner from before
// that point across the hole; it sends a SNAP.
func TestZK2099NoDiffAcrossLogHole(t *testing.T) {
	c := scenario(t, 3, 0)
	c.prm.commitLogCount = 2
	for _, id := range c.ids {
		c.nodes[id].cfg.CommitLogCount = 2
	}
	c.boot(1, 2, 3)
	c.elect(1, 2, 3)
	c.settle()
	c.proposeN(1, 2)
	c.settle()
	c.ticks(1)
	c.crash(c.node(3)) // 3 stops at two txns
	c.proposeN(1, 5)
	c.settle()
	c.node(1).log.compacted = len(c.node(1).log.hist)
	// 2 loses its disk and comes back: it gets a SNAP, so its log has a hole before it.
	c.crash(c.node(2))
	c.node(2).log = &memLog{}
	c.node(2).acc, c.node(2).cur = 0, 0
	c.boot(2)
	c.join(1, 2)
	c.settle()
	c.ticks(1)
	if c.node(2).log.snapAt == 0 {
		t.Fatal("2 was not synchronised with a SNAP")
	}
	c.crash(c.node(1))
	c.drain()
	c.boot(3)
	var sync []PacketType
	c.onSend = func(n *simNode, m Message) {
		if n.id == 2 && m.To == 3 && m.Packet != nil && len(sync) == 0 {
			switch m.Packet.Type {
			case Diff, Trunc, Snap:
				sync = append(sync, m.Packet.Type)
			}
		}
	}
	c.elect(2, 3)
	c.settle()
	if len(sync) == 0 || sync[0] != Snap {
		t.Fatalf("learner behind the hole synchronised with %v, want SNAP", sync)
	}
	c.finish()
}

// ZOOKEEPER-962 (coherence issue when a follower is receiving a DIFF), ZOOKEEPER-2355
// (ephemeral node never deleted if the follower fails while reading the proposals) and
// ZOOKEEPER-3642 (the leader crashes right after sending a SNAP): a learner whose
// synchronisation is cut short must come back with a tree equal to its log and announce
// the last zxid it logged, not one it only received or applied.
func TestZK962And2355And3642InterruptedSync(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snap  bool
		crash bool // the learner crashes (962) rather than losing its leader (2355, 3642)
	}{
		{"ZK-962-diff-follower-crash", false, true},
		{"ZK-2355-diff-connection-lost", false, false},
		{"ZK-3642-snap-leader-crash", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := scenario(t, 3, 0)
			epochOneHistory(c, 4)
			if tc.snap {
				c.node(1).log.compacted = len(c.node(1).log.hist)
			}
			c.boot(3)
			c.join(1, 3)
			// Deliver up to the second txn of the sync (or the SNAP), not NEWLEADER.
			n := 0
			c.deliverUntil(func(from, to uint64, p *Packet) bool {
				if to == 3 && (p.Type == Commit || p.Type == Snap) {
					n++
				}
				return to == 3 && (p.Type == Snap || n == 2)
			})
			n3 := c.node(3)
			if tc.crash {
				c.crash(n3)
				c.boot(3)
			} else {
				c.crash(c.node(1)) // the leader is gone before NEWLEADER
				c.drain()
			}
			if n3.role.State != Looking {
				t.Fatalf("3 is %s, want LOOKING", n3.role.State)
			}
			if !slices.Equal(zxids(n3.tree), zxids(n3.log.hist)) {
				t.Fatalf("3's tree %v differs from its log %v", zxids(n3.tree), zxids(n3.log.hist))
			}
			if got := n3.p.Status().LastZxid; got != n3.log.last() {
				t.Fatalf("3 announces %s, its log ends at %s", got, n3.log.last())
			}
			c.finish()
		})
	}
}

func zxids(ts []Txn) []Zxid {
	out := make([]Zxid, len(ts))
	for i, t := range ts {
		out[i] = t.Zxid
	}
	return out
}

// ZOOKEEPER-1367 (data inconsistencies and unexpired ephemeral nodes after cluster
// restart): after syncs of every kind and a restart of the whole ensemble, every node has
// the same history, with every committed txn (sessions are txns here) and nothing else.
func TestZK1367WholeEnsembleRestart(t *testing.T) {
	c := scenario(t, 3, 1)
	epochOneHistory(c, 3)
	c.boot(3, 4)
	c.join(1, 3, 4)
	c.settle()
	c.crash(c.node(2)) // 2 misses the last commits
	c.proposeN(1, 3)
	c.settle()
	for _, id := range c.ids {
		c.crash(c.node(id))
	}
	c.boot(1, 2, 3, 4)
	c.elect(1, 2, 3, 4)
	c.settle()
	c.finish()
	ref := zxids(c.node(1).tree)
	for _, id := range c.ids {
		if got := zxids(c.node(id).tree); !slices.Equal(got, ref) {
			t.Fatalf("node %d has %v, node 1 %v", id, got, ref)
		}
	}
}

// ZOOKEEPER-4685 (unnecessary leader shutdown when a follower ACKs a proposal before
// ACKing NEWLEADER): such ACKs are ignored while the leader waits for NEWLEADER ACKs.
func TestZK4685ProposalAckBeforeNewLeaderAck(t *testing.T) {
	c := scenario(t, 3, 0)
	epochOneHistory(c, 2)
	c.crash(c.node(1))
	c.boot(3)
	c.elect(2, 3)
	// Before 3's ACK(NEWLEADER), inject an ACK of a synced proposal as a 3.9 learner sends it.
	c.deliverUntil(func(from, to uint64, p *Packet) bool { return to == 3 && p.Type == NewLeader })
	n2 := c.node(2)
	n2.p.Step(Message{From: 3, To: 2, Packet: &Packet{Type: Ack, Zxid: MakeZxid(1, 2)}})
	c.process(n2)
	if n2.role.State != Leading {
		t.Fatalf("leader gave up on an early proposal ACK: %+v", n2.role)
	}
	c.settle()
	c.mustServe(2, 3)
	c.finish()
}

// ZOOKEEPER-1675 (sync is not linearizable): Apache's leader answers a sync at once, so a
// deposed leader that has not noticed yet completes it without the new epoch's writes.
// Here a sync completes only once a quorum confirmed the leadership after the call.
func TestZK1675SyncNeedsQuorumAfterCall(t *testing.T) {
	c := scenario(t, 3, 0)
	c.boot(1, 2, 3)
	c.elect(1, 2, 3)
	c.settle()
	c.proposeN(1, 1)
	c.settle()
	c.ticks(1)
	// 1 is cut off but does not know yet; 2 and 3 move on and commit a txn.
	c.cut[pair(1, 2)], c.cut[pair(1, 3)] = true, true
	c.syncID++
	id := c.syncID
	if err := c.node(1).p.Sync(id); err != nil {
		t.Fatal(err)
	}
	c.node(1).syncs[id] = len(c.G)
	for _, k := range [][2]uint64{pair(1, 2), pair(1, 3)} {
		if cn := c.conns[k]; cn != nil {
			// The connections are dead but nobody noticed: packets vanish.
			cn.q = map[uint64][]simMsg{}
		}
	}
	c.process(c.node(1))
	if _, done := c.node(1).syncs[id]; !done {
		t.Fatal("sync completed on a leader no quorum confirmed after the call")
	}
	c.finish()
}

// ZOOKEEPER-1419 (leader election never settles for a 5-node cluster): with the real
// election, five peers whose epochs and zxids disagree in order elect the one with the
// highest (currentEpoch, zxid) and settle.
func TestZK1419ElectionSettles(t *testing.T) {
	if !realElectionReady() {
		t.Skip("Election not implemented yet")
	}
	prm := simParams{voters: 5, commitLogCount: 500, maxDiffTxns: 1000, initTicks: 10, syncTicks: 5,
		electionTicks: 4, realElection: true}
	c := newCluster(t, 1, prm)
	c.faults, c.traceOn = false, true
	var h []Txn
	for i := uint32(1); i <= 10; i++ {
		t := Txn{Zxid: MakeZxid(1, i), Data: []byte(fmt.Sprintf("h%d", i))}
		c.prop[t.Zxid] = string(t.Data)
		h = append(h, t)
	}
	// (acceptedEpoch, currentEpoch, txns): 4 has the most txns of epoch 1, 5 the highest
	// epoch with fewer; 5 must win.
	disks := map[uint64][3]int{1: {1, 1, 6}, 2: {2, 2, 7}, 3: {3, 1, 8}, 4: {1, 1, 10}, 5: {3, 3, 9}}
	for id, d := range disks {
		n := c.node(id)
		n.acc, n.cur = int64(d[0]), int64(d[1])
		n.log.hist = slices.Clone(h[:d[2]])
	}
	c.start()
	for r := 0; r < 60; r++ {
		c.round++
		c.deliverRound()
		c.tickAll()
		if c.node(5).role.Serving {
			break
		}
	}
	c.mustServe(5)
	for _, id := range c.ids {
		if got := c.node(id).role.Leader; got != 5 {
			t.Fatalf("node %d settled on leader %d, want 5", id, got)
		}
	}
	c.finish()
}

// A ZooKeeper leader commits a reconfig txn with COMMITANDACTIVATE to its followers and
// INFORMANDACTIVATE to its observers (the designated leader's sid first). Learners take them
// as COMMIT and INFORM; ignored, they left the txn uncommitted (an observer without it) and
// the learner fell out of sync at the next commit and went back to electing.
func TestLearnerTakesActivatePackets(t *testing.T) {
	c := scenario(t, 3, 1)
	c.boot(1, 2, 3, 4)
	c.elect(1, 2, 3, 4)
	c.settle()
	c.mustServe(1, 2, 3, 4)
	sid := binary.BigEndian.AppendUint64(nil, 1)
	c.onSend = func(n *simNode, m Message) {
		switch p := m.Packet; {
		case p == nil:
		case p.Type == Commit:
			p.Type, p.Data = CommitAndActivate, sid
		case p.Type == Inform:
			p.Type, p.Data = InformAndActivate, append(slices.Clone(sid), p.Data...)
		}
	}
	zs := c.proposeN(1, 5)
	c.settle()
	c.mustServe(1, 2, 3, 4)
	for _, id := range []uint64{2, 3, 4} {
		for _, z := range zs {
			if !c.hasTxn(id, z) {
				t.Fatalf("node %d has not applied %s", id, z)
			}
		}
	}
	c.onSend = nil
	c.finish()
}

// reconfigEnabledScenario is scenario with three voters that version their static
// configuration (reconfigEnabled), 1 and 2 booted and 2 elected.
func reconfigEnabledScenario(t *testing.T) *cluster {
	t.Helper()
	c := scenario(t, 3, 0)
	for _, id := range c.ids {
		c.nodes[id].cfg.ReconfigEnabled = true
	}
	c.boot(1, 2)
	c.elect(2, 1)
	return c
}

// ZOOKEEPER-1783 (reconfigEnabled): the first leader gives the static configuration (version
// 0) the version of its NEWLEADER zxid, committed with the epoch on every member, including
// one that joins later; a later leader keeps it.
func TestZK1783StaticConfigGetsNewLeaderVersion(t *testing.T) {
	c := reconfigEnabledScenario(t)
	c.settle()
	c.mustServe(2, 1)
	want := int64(MakeZxid(1, 0))
	check := func(ids ...uint64) {
		t.Helper()
		for _, id := range ids {
			ms := c.nodes[id].p.Members()
			if ms.Committed.Version != want || len(ms.Pending) != 0 || !strings.HasSuffix(string(ms.Committed.Raw), fmt.Sprintf("ver=%d", want)) ||
				!slices.Equal(ms.Committed.Voters, []uint64{1, 2, 3}) {
				t.Fatalf("node %d: committed %+v pending %d, want version %x", id, ms.Committed, len(ms.Pending), want)
			}
		}
	}
	check(1, 2)
	c.proposeN(2, 3)
	c.settle()
	c.boot(3)
	c.join(2, 3)
	c.settle()
	check(1, 2, 3)
	// A new leader: the configuration has a version, so it stays.
	c.crash(c.node(2))
	c.boot(2)
	c.elect(3, 1, 2)
	c.settle()
	c.mustServe(3, 1, 2)
	check(1, 2, 3)
	c.finish()
}

// ZOOKEEPER-1783 after a failed epoch: the leader versioned its static configuration and
// sent it with NEWLEADER, but no quorum acknowledged NEWLEADER; it leads again in a later
// epoch with that configuration still pending (ZooKeeper's lastSeenQuorumVerifier), whose
// version is an earlier epoch's NEWLEADER zxid. A learner that never saw it must take it
// from the new NEWLEADER as ZooKeeper's learners do, or leader and learner commit
// different versions of the same configuration.
func TestZK1783VersionFromAFailedEpoch(t *testing.T) {
	c := reconfigEnabledScenario(t)
	c.deliverUntil(func(from, to uint64, p *Packet) bool { return to == 1 && p.Type == NewLeader })
	c.crash(c.node(1)) // its ACK of NEWLEADER never reaches 2
	c.ticks(40)        // 2 gives up on the epoch (initLimit)
	if r := c.node(2).role; r.State != Looking {
		t.Fatalf("node 2 still %+v after its epoch could not be established", r)
	}
	c.boot(3)
	c.elect(2, 3)
	c.settle()
	c.mustServe(2, 3)
	v2, v3 := c.node(2).p.Members().Committed.Version, c.node(3).p.Members().Committed.Version
	if v2 != v3 || v2 == 0 {
		t.Fatalf("committed configuration version: leader %x, learner %x", v2, v3)
	}
	c.finish()
}

// TestSyncThrottle: the leader counts its learner syncs in flight, from the sync packets to
// the UPTODATE that follows the learner's ACK of NEWLEADER, and refuses an observer's sync
// over the limit by closing its connection; a follower's sync is never refused but counts
// (LearnerSyncThrottler, LearnerHandler.run). The refused observer comes back.
func TestSyncThrottle(t *testing.T) {
	c := scenario(t, 3, 2)
	c.node(1).cfg.MaxConcurrentDiffSyncs = 1
	c.boot(1, 2, 3)
	c.elect(1, 2, 3)
	c.settle()
	c.mustServe(1, 2, 3)
	want := []SyncCount{{Learner: 2, InFlight: 1}, {Learner: 2, InFlight: 0}, {Learner: 3, InFlight: 1}, {Learner: 3, InFlight: 0}}
	if !slices.Equal(c.syncCounts, want) {
		t.Fatalf("followers' syncs: %+v, want %+v", c.syncCounts, want)
	}
	c.syncCounts = nil
	c.proposeN(1, 3)
	c.settle()
	// Observer 4's DIFF stays in flight (its ACK of NEWLEADER held back) when 5's begins,
	// then when follower 3's does.
	held := func(from, to uint64, p *Packet) bool { return !(from == 4 && p.Type == Ack) }
	c.boot(4, 5)
	c.join(1, 4, 5)
	for c.deliverNext(held) {
	}
	if r := c.node(5).role; r.Serving {
		t.Fatalf("observer 5 serves after its sync was refused: %+v", r)
	}
	c.crash(c.node(3))
	c.boot(3)
	c.join(1, 3)
	for c.deliverNext(held) {
	}
	want = []SyncCount{{Learner: 4, InFlight: 1}, {Learner: 5, InFlight: 2, Refused: true}, {Learner: 3, InFlight: 2}, {Learner: 3, InFlight: 1}}
	if !slices.Equal(c.syncCounts, want) {
		t.Fatalf("syncs: %+v, want %+v", c.syncCounts, want)
	}
	c.settle()
	c.mustServe(1, 2, 3, 4)
	c.finish()
	c.mustServe(1, 2, 3, 4, 5)
}

// A DIFF read from the log longer than maxLogDiffTxns goes as a SNAP: the leader reads it
// into memory on its own loop (ZooKeeper streams it from a learner handler's thread).
func TestDiffFromLogIsCapped(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  PacketType
	}{{100000, Diff}, {2, Snap}} {
		maxLogDiffTxns = tc.limit
		c := scenario(t, 3, 0)
		for _, n := range c.nodes {
			n.cfg.CommitLogCount = 1 // behind the committed log: the txn log is read
		}
		c.boot(1, 2, 3)
		c.elect(1, 2, 3)
		c.settle()
		c.mustServe(1, 2, 3)
		c.crash(c.node(3))
		c.proposeN(1, 4)
		c.settle()
		var got []PacketType
		c.onSend = func(n *simNode, m Message) {
			if n.id == 1 && m.To == 3 && m.Packet != nil && (m.Packet.Type == Diff || m.Packet.Type == Snap || m.Packet.Type == Trunc) {
				got = append(got, m.Packet.Type)
			}
		}
		c.boot(3)
		c.join(1, 3)
		c.settle()
		c.mustServe(1, 2, 3)
		c.finish()
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("limit %d: node 3 was synchronised with %v, want %v", tc.limit, got, tc.want)
		}
	}
	maxLogDiffTxns = 100000
}

// zookeeper.leader.maxTimeToWaitForEpoch (ZOOKEEPER-3769): a leader still waiting for a
// quorum's epochs quits when a voter reports LOOKING after the wait has lasted longer than
// the limit, not before, and not at all when the setting is off.
func TestQuitWaitingForEpoch(t *testing.T) {
	for _, on := range []bool{false, true} {
		c := scenario(t, 3, 0)
		c.node(1).cfg.QuitEpochWait, c.node(1).cfg.EpochWaitTicks = on, 2
		c.boot(1, 2, 3)
		c.elect(1) // 2 and 3 stay LOOKING: no quorum of epochs
		n := c.node(1)
		looking := func() {
			n.p.Step(Message{From: 2, To: 1, Vote: &Notification{State: Looking, Leader: 2}})
			c.process(n)
		}
		looking()
		if n.role.State != Leading {
			t.Fatalf("on=%v: a voter LOOKING at once made the leader quit: %+v", on, n.role)
		}
		for i := 0; i < 3; i++ {
			n.p.Tick()
			c.process(n)
		}
		// A peer at zxid -1 votes for no one (Apache's voteSet never holds it): not counted.
		n.p.Step(Message{From: 2, To: 1, Vote: &Notification{State: Looking, Leader: 2, Zxid: -1}})
		c.process(n)
		if n.role.State != Leading {
			t.Fatalf("on=%v: an untrusted (-1) peer LOOKING made the leader quit: %+v", on, n.role)
		}
		looking()
		if want := map[bool]ServerState{false: Leading, true: Looking}[on]; n.role.State != want {
			t.Fatalf("on=%v: after 3 ticks a voter LOOKING left the leader %v, want %v", on, n.role.State, want)
		}
	}
}

// zookeeper.db.autocreate=false: a peer whose data dir came back empty restarts at zxid -1
// with epochs -1. Its FOLLOWERINFO does not raise the new epoch (its acceptedEpoch -1 keeps
// its sign), its ACKEPOCH of -1 is not counted, so a leader with only it cannot establish
// an epoch, and once a quorum is there it is synchronised with a SNAP.
func TestUntrustedEmptyPeerJoinsBySnap(t *testing.T) {
	c := scenario(t, 3, 0)
	epochOneHistory(c, 3)
	c.crash(c.node(1))
	c.crash(c.node(2))
	n3 := c.node(3)
	n3.untrusted, n3.acc, n3.cur = true, -1, -1
	snapTo3 := false
	c.onSend = func(n *simNode, m Message) {
		if m.To == 3 && m.Packet != nil && m.Packet.Type == Snap {
			snapTo3 = true
		}
	}
	c.boot(1, 3)
	c.elect(1, 3)
	c.settle()
	if r := c.node(1).p.role; r.Serving || c.node(1).p.acceptedEpoch != 2 {
		c.fail("leader 1 with only the untrusted peer: role %+v, acceptedEpoch %d (want not serving, 2)", r, c.node(1).p.acceptedEpoch)
	}
	c.boot(2)
	c.join(1, 2)
	c.settle()
	c.mustServe(1, 2, 3)
	if !snapTo3 || n3.untrusted || n3.log.last() != c.node(1).log.last() {
		c.fail("3: SNAP sent %v, untrusted %v, last %s (leader %s)", snapTo3, n3.untrusted, n3.log.last(), c.node(1).log.last())
	}
	c.finish()
}

// oraclePath in a two-voter ensemble: a leader whose follower is gone keeps serving and
// commits with its own ACK while its oracle says so, and steps down when it does not; while
// the follower is there, its ACKs are waited for whatever the oracle says.
func TestOracleLeaderWithoutFollower(t *testing.T) {
	for _, says := range []bool{false, true} {
		c := scenario(t, 2, 0)
		for _, n := range c.nodes {
			if n != nil {
				n.cfg.Election.Oracle = true
			}
		}
		c.boot(1, 2)
		c.elect(1, 2)
		c.settle()
		c.mustServe(1, 2)
		n := c.node(1)
		n.p.SetOracle(says)
		c.process(n)
		// While the leader still counts the follower (until syncLimit), a proposal waits
		// for its ACK, whatever the oracle says.
		c.crash(c.node(2))
		z := c.proposeN(1, 1)[0]
		c.settle()
		if n.p.committed >= z {
			c.fail("committed %s without the follower's ACK while it still counted", z)
		}
		c.ticks(c.prm.syncTicks + 2)
		if !says {
			if n.role.State == Leading {
				c.fail("leader without its follower and no oracle still leads: %+v", n.role)
			}
			continue
		}
		if r := n.role; r.State != Leading || !r.Serving || n.p.committed < z {
			c.fail("leader authorised by its oracle: role %+v, committed %s, want %s", r, n.p.committed, z)
		}
		z2 := c.proposeN(1, 1)[0]
		c.ticks(1)
		if n.p.committed < z2 {
			c.fail("a proposal with the oracle alone is not committed: %s < %s", n.p.committed, z2)
		}
		// The follower rejoins: while it synchronises (its ACK of NEWLEADER held back) the
		// leader neither steps down nor lets the oracle stand in for it.
		c.boot(2)
		c.join(1, 2)
		newLeaderAck := func(from, to uint64, p *Packet) bool {
			return !(from == 2 && p.Type == Ack && p.Zxid.Counter() == 0)
		}
		for c.deliverNext(newLeaderAck) {
			c.drain()
		}
		for i := 0; i < c.prm.syncTicks+2; i++ {
			n.p.Tick()
			c.process(n)
		}
		if r := n.role; r.State != Leading || !r.Serving {
			c.fail("the leader stepped down while its follower synchronised: %+v", r)
		}
		z3 := c.proposeN(1, 1)[0]
		c.drain()
		if n.p.committed >= z3 {
			c.fail("committed %s on the oracle while a follower synchronises", z3)
		}
		c.settle()
		c.mustServe(1, 2)
		if n.p.committed < z3 {
			c.fail("%s not committed once the follower is back", z3)
		}
	}
}

// Observer masters (observerMasterPort): observers synchronise with followers, spread by
// their ids, get each commit from them as an INFORM and their syncs relayed; when their
// follower goes they try the next one, and after every follower the leader.
func TestObserverMaster(t *testing.T) {
	c := scenario(t, 3, 2)
	for _, n := range c.nodes {
		n.cfg.ObserverMaster = true
	}
	c.boot(1, 2, 3)
	c.elect(1, 2, 3)
	c.settle()
	c.mustServe(1, 2, 3)
	c.proposeN(1, 3)
	c.settle()
	c.boot(4, 5)
	c.join(1, 4, 5)
	c.settle()
	c.mustServe(1, 2, 3, 4, 5)
	master := func(id uint64) uint64 { return c.node(id).role.Master }
	if master(4) != 2 || master(5) != 3 {
		t.Fatalf("observers 4 and 5 synchronise with %d and %d, want 2 and 3", master(4), master(5))
	}
	if l := c.node(1).p.Status().Learners; !slices.Equal(l, []uint64{2, 3}) {
		t.Fatalf("the leader's learners: %v, want the followers only", l)
	}
	if s := c.node(2).p.Status(); !slices.Equal(s.SyncedLearners, []uint64{4}) {
		t.Fatalf("follower 2's observers: %+v, want 4", s)
	}
	zs := c.proposeN(1, 2)
	c.settle()
	for _, id := range []uint64{4, 5} {
		if !c.hasTxn(id, zs[1]) {
			t.Fatalf("observer %d lacks %s", id, zs[1])
		}
	}
	informs := 0
	c.onSend = func(n *simNode, m Message) {
		if m.Packet != nil && m.Packet.Type == Inform && n.id == 1 {
			t.Errorf("the leader sent %s", m)
		}
		if m.Packet != nil && m.Packet.Type == Inform && n.id == 2 {
			informs++
		}
	}
	c.sync(c.node(4)) // relayed by 2 to the leader and back
	zs = c.proposeN(1, 1)
	c.settle()
	if len(c.node(4).syncs) != 0 || informs != 1 {
		t.Fatalf("observer 4: syncs pending %v, %d INFORMs from 2", c.node(4).syncs, informs)
	}
	c.onSend = nil

	// Follower 2 goes: its observer tries 3, then (3 cut off from it) the leader.
	c.crash(c.node(2))
	c.join(1, 4)
	c.settle()
	if master(4) != 3 || !c.node(4).role.Serving {
		t.Fatalf("observer 4 after follower 2 went: %+v, want to observe through 3", c.node(4).role)
	}
	c.breakConn(c.conns[pair(3, 4)], true, true)
	c.join(1, 4)
	c.settle()
	if master(4) != 1 || !c.node(4).role.Serving {
		t.Fatalf("observer 4 after 3 too: %+v, want to observe through the leader", c.node(4).role)
	}
	zs = c.proposeN(1, 1)
	c.settle()
	if !c.hasTxn(4, zs[0]) || !c.hasTxn(5, zs[0]) {
		t.Fatalf("observers lack %s", zs[0])
	}
	c.finish()
}

// A leader establishes its epoch with a quorum of NEWLEADER acknowledgements from
// followers still connected: one whose follower crashed after acknowledging, and went on
// to establish and commit a later epoch with others, must not count that follower (found by
// TestSim: the old leader served without a txn the later epoch had committed).
func TestNewLeaderAckOfAGoneFollower(t *testing.T) {
	c := scenario(t, 5, 0)
	c.boot(1, 2, 3, 4, 5)
	c.elect(3, 2, 4)
	held := func(from, to uint64, p *Packet) bool { return !(from == 2 && to == 3 && p.Type == Ack) }
	for c.deliverNext(held) {
	}
	if c.node(3).role.Serving {
		t.Fatal("leader 3 serves with two acknowledgements of five voters")
	}
	c.crash(c.node(4))
	c.boot(4)
	c.elect(4, 1, 5)
	for c.deliverNext(held) {
	}
	c.mustServe(4, 1, 5)
	c.proposeN(4, 1)
	for c.deliverNext(held) {
	}
	c.settle() // 2's ACK reaches 3 at last
	if r := c.node(3).role; r.State == Leading && r.Serving {
		t.Fatalf("leader 3 established its epoch with the ACK of follower 4, gone since: %+v", r)
	}
	c.finish()
}

// An observer that lost its leader waits before it elects again, and one that has decided
// waits before it registers (zookeeper.observer.election.DelayMs, reconnectDelayMs): its
// election is not started, then its OBSERVERINFO is not sent, for the ticks drawn.
func TestObserverWaits(t *testing.T) {
	c := scenario(t, 3, 1)
	o := c.node(4)
	o.cfg.ObserverElectionDelayTicks, o.cfg.ObserverReconnectDelayTicks = 5, 3
	o.cfg.Rand = func(n int) int { return n - 1 } // the longest wait
	c.boot(1, 2, 3, 4)
	c.elect(1, 2, 3)
	c.settle()
	sent := 0
	c.onSend = func(n *simNode, m Message) {
		if n.id == 4 && m.Packet != nil && m.Packet.Type == ObserverInfo {
			sent++
		}
	}
	c.join(1, 4) // the decision takes one election tick of the wait
	c.settle()
	if sent != 0 || o.role.State != Looking {
		t.Fatalf("observer registered at once: %d OBSERVERINFO, %+v", sent, o.role)
	}
	for o.p.afterWait != nil && !c.failed {
		o.p.ElectionTick()
		c.process(o)
		c.drain()
	}
	c.settle()
	if sent != 1 || !o.role.Serving {
		t.Fatalf("after its wait: %d OBSERVERINFO, %+v", sent, o.role)
	}

	// Its leader goes: no election for 4 election ticks.
	c.breakConn(c.conns[pair(1, 4)], true, true)
	c.drain()
	waited := 0
	for !o.oracle.looking && !c.failed {
		if waited++; waited > 10 {
			t.Fatal("the observer never elects again")
		}
		o.p.ElectionTick()
		c.process(o)
		c.drain()
	}
	if waited != 4 {
		t.Fatalf("the observer elected after %d election ticks, want 4", waited)
	}
	c.join(1, 4)
	c.ticks(1) // the reconnect wait again, then the sync
	c.settle()
	c.mustServe(1, 2, 3, 4)
	c.finish()
}

// A protocol started again while its observer waited to elect (an observer without a txn
// log restarts from disk when it loses its leader) waits on (State.ElectionDelayed).
func TestObserverWaitsOverARestart(t *testing.T) {
	cfg := Config{ID: 4, Voters: []uint64{1, 2, 3}, Observers: []uint64{4},
		ObserverElectionDelayTicks: 5, Rand: func(n int) int { return n - 1 }}
	o := &oracleElection{}
	p := newPeer(cfg, State{ElectionDelayed: true}, &memLog{}, o)
	if !p.ElectionDelayed() {
		t.Fatal("the restarted observer does not wait")
	}
	ticks := 0
	for !o.looking {
		if ticks++; ticks > 10 {
			t.Fatal("the observer never elects")
		}
		p.ElectionTick()
	}
	if ticks != 4 {
		t.Fatalf("elected after %d election ticks, want 4", ticks)
	}
	o = &oracleElection{}
	newPeer(cfg, State{}, &memLog{}, o)
	if !o.looking {
		t.Fatal("a fresh observer waits to elect")
	}
}
