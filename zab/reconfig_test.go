package zab

import (
	"encoding/binary"
	"maps"
	"slices"
	"testing"
)

// reconfigCluster starts three voters and one spare server with the real election and no
// faults, tracing.
func reconfigCluster(t *testing.T, seed int64, commitLogCount, maxDiffTxns int) *cluster {
	prm := simParams{voters: 3, spares: 1, commitLogCount: commitLogCount, maxDiffTxns: maxDiffTxns,
		initTicks: 10, syncTicks: 5, electionTicks: 4, realElection: true}
	c := newCluster(t, seed, prm)
	c.faults = false
	c.traceOn = true
	c.start()
	return c
}

// settledLeader runs reconfigCluster's ensemble until a leader serves with the spare (4)
// following, then lets the network go quiet.
func (c *cluster) settledLeader() *simNode {
	c.t.Helper()
	for i := 0; i < 300; i++ {
		c.round++
		c.deliverRound()
		c.tickAll()
		for _, id := range c.ids {
			if n := c.nodes[id]; n.up && n.role.State == Leading && n.role.Serving && c.nodes[4].role.Serving {
				c.settle()
				return n
			}
		}
	}
	c.t.Fatal("no serving leader with the spare following")
	return nil
}

// otherVoter is the first of the voters 1-3 that is not l.
func (c *cluster) otherVoter(l *simNode) *simNode {
	for _, id := range []uint64{1, 2, 3} {
		if id != l.id {
			return c.nodes[id]
		}
	}
	return nil
}

// TestReconfigAddParticipantRemoveLeader walks the documented procedure on the simulated
// ensemble with the real election and no faults: a server outside the configuration joins
// as a non-voting follower, a reconfig makes it a voter (its ACK is then needed: joint
// quorum), and a second reconfig removes the leader, which steps down and keeps following
// without a vote while the new voters elect a leader among themselves and go on committing.
func TestReconfigAddParticipantRemoveLeader(t *testing.T) {
	c := reconfigCluster(t, 7, 500, 1000)
	leader := func() *simNode {
		for _, id := range c.ids {
			if n := c.nodes[id]; n.up && n.role.State == Leading && n.role.Serving {
				return n
			}
		}
		return nil
	}
	runUntil := func(what string, ok func() bool) {
		t.Helper()
		for i := 0; i < 300 && !c.failed; i++ {
			if ok() {
				return
			}
			c.round++
			c.deliverRound()
			c.tickAll()
		}
		c.fail("%s: not reached in 300 rounds", what)
	}
	servingAll := func() bool {
		for _, id := range c.ids {
			if !c.nodes[id].role.Serving {
				return false
			}
		}
		return true
	}
	committedVoters := func(id uint64) []uint64 { return c.nodes[id].p.Members().Committed.Voters }
	// What the leader sends a serving follower for a reconfig txn: COMMITANDACTIVATE naming
	// the designated leader (Leader.commitAndActivate), never a plain COMMIT.
	designated := map[Zxid]map[uint64]uint64{} // reconfig zxid -> follower -> designated leader
	c.onSend = func(n *simNode, m Message) {
		if m.Packet == nil || n.role.State != Leading {
			return
		}
		if _, ok := c.nodes[n.id].p.configOf(Txn{Zxid: m.Packet.Zxid, Data: []byte(c.prop[m.Packet.Zxid])}); !ok {
			return
		}
		switch m.Packet.Type {
		case Commit:
			if c.nodes[m.To].role.Serving { // a DIFF to a syncing learner has plain COMMITs, as Apache's
				c.fail("reconfig %s committed to %d with a plain COMMIT", m.Packet.Zxid, m.To)
			}
		case CommitAndActivate:
			if designated[m.Packet.Zxid] == nil {
				designated[m.Packet.Zxid] = map[uint64]uint64{}
			}
			designated[m.Packet.Zxid][m.To] = binary.BigEndian.Uint64(m.Packet.Data)
		}
	}
	reconfigZxid := func() Zxid {
		var zs []Zxid
		for z := range designated {
			zs = append(zs, z)
		}
		slices.Sort(zs)
		return zs[len(zs)-1]
	}
	reconfig := func(l *simNode, voters []uint64) {
		t.Helper()
		if err := l.p.CheckReconfig(Membership{Voters: voters}); err != nil {
			c.fail("CheckReconfig(%v): %v", voters, err)
		}
		z := l.next
		data := simConfigData(voters, nil, int64(z))
		c.prop[z] = data
		if err := l.p.Propose(Txn{Zxid: z, Data: []byte(data)}); err != nil {
			c.fail("Propose(%s): %v", data, err)
		}
		l.next++
		c.process(l)
		// A second reconfig while this one is pending is refused.
		if err := l.p.CheckReconfig(Membership{Voters: []uint64{1, 2}}); err != ErrReconfigInProgress {
			c.fail("second reconfig while one is pending: %v, want ErrReconfigInProgress", err)
		}
	}

	runUntil("first leader and every member serving, the spare as a non-voting follower", func() bool { return leader() != nil && servingAll() })
	l := leader()
	if s := c.nodes[4].role.State; s != Following {
		t.Fatalf("the spare is %s, want FOLLOWING (non-voting)", s)
	}
	// A voter set without a synchronised quorum is refused (server 9 does not exist).
	if err := l.p.CheckReconfig(Membership{Voters: []uint64{l.id, 9, 10}}); err != ErrNewConfigNoQuorum {
		t.Fatalf("reconfig to absent voters: %v, want ErrNewConfigNoQuorum", err)
	}

	reconfig(l, []uint64{1, 2, 3, 4})
	runUntil("every member committed {1,2,3,4}", func() bool {
		for _, id := range c.ids {
			if !slices.Equal(committedVoters(id), []uint64{1, 2, 3, 4}) {
				return false
			}
		}
		return true
	})
	// The leader stays a voter: it designates itself, to each of its followers.
	if d := designated[reconfigZxid()]; len(d) != 3 || d[c.otherVoter(l).id] != l.id {
		t.Fatalf("first reconfig: designated leaders %v, want %d for each follower", d, l.id)
	}

	old := leader()
	rest := slices.DeleteFunc([]uint64{1, 2, 3, 4}, func(id uint64) bool { return id == old.id })
	reconfig(old, rest)
	runUntil("a new leader among the remaining voters, every member serving", func() bool {
		n := leader()
		return n != nil && n.id != old.id && servingAll()
	})
	if s := old.role.State; s != Following {
		t.Fatalf("the removed leader is %s, want FOLLOWING (non-voting)", s)
	}
	nl := leader()
	if !slices.Contains(rest, nl.id) {
		t.Fatalf("new leader %d is not a voter of %v", nl.id, rest)
	}
	// The removed leader designates a remaining voter, the same for every follower.
	d := designated[reconfigZxid()]
	var first uint64
	for _, id := range d {
		if first == 0 {
			first = id
		}
		if id != first || !slices.Contains(rest, id) {
			t.Fatalf("second reconfig: designated leaders %v, want one voter of %v", d, rest)
		}
	}
	if len(d) == 0 {
		t.Fatal("second reconfig: no COMMITANDACTIVATE sent")
	}
	// A leader that stays a voter but whose quorum address the reconfig changes designates
	// another voter (Leader.getDesignatedLeader) and steps down, keeping its vote: the next
	// leader (itself again, possibly) listens where the new configuration says.
	for _, id := range c.ids {
		c.nodes[id].p.cfg.SameQuorumAddr = func(_, _ []byte, id uint64) bool { return id != nl.id }
	}
	moved, epoch := nl, nl.role.Epoch
	reconfig(moved, rest) // the same voters, a new version
	runUntil("the moved leader stepped down and the ensemble serves again", func() bool {
		n := leader()
		return n != nil && n.role.Epoch > epoch && servingAll()
	})
	if d := designated[reconfigZxid()]; len(d) == 0 || slices.ContainsFunc(slices.Collect(maps.Values(d)), func(id uint64) bool { return id == moved.id || !slices.Contains(rest, id) }) {
		t.Fatalf("address change: designated leaders %v, want a voter of %v other than %d", d, rest, moved.id)
	}
	if !slices.Contains(committedVoters(moved.id), moved.id) {
		t.Fatalf("the moved leader %d is no longer a voter: %v", moved.id, committedVoters(moved.id))
	}
	for _, id := range c.ids {
		c.nodes[id].p.cfg.SameQuorumAddr = nil
	}
	nl = leader()
	c.onSend = nil
	mark := nl.next
	if err := c.propose(nl); err != nil {
		t.Fatalf("propose on the new leader: %v", err)
	}
	runUntil("every member applied the txn after the removal", func() bool {
		for _, id := range c.ids {
			tr := c.nodes[id].tree
			if len(tr) == 0 || tr[len(tr)-1].Zxid < mark {
				return false
			}
		}
		return true
	})
}

// TestReconfigSnapCarriesConfiguration: a learner synchronised with a SNAP whose snapshot
// holds a committed reconfig must count that configuration's quorum even if its leader dies
// before NEWLEADER (which otherwise tells it). The simulation found the schedule where it did
// not: such a learner, knowing only the old configuration, was elected with a quorum of the
// old voters alone and committed a txn the new voters never saw, later lost. The learner
// here is past the election (so no notification tells it) when the reconfig commits.
func TestReconfigSnapCarriesConfiguration(t *testing.T) {
	c := reconfigCluster(t, 11, 2, 1)
	l := c.settledLeader()
	// A voter other than the leader goes down and falls behind by more than a DIFF.
	lag := c.otherVoter(l)
	c.crash(lag)
	c.settle()
	c.proposeN(l.id, 5)
	c.settle()
	// It comes back and gets as far as LEADERINFO; its ACKEPOCH waits.
	c.restart(lag)
	c.deliverUntil(func(from, to uint64, p *Packet) bool { return p != nil && to == lag.id && p.Type == LeaderInfo })
	// Meanwhile the leader commits a reconfig adding server 4 as a voter.
	voters := []uint64{1, 2, 3, 4}
	if err := l.p.CheckReconfig(Membership{Voters: voters}); err != nil {
		t.Fatalf("CheckReconfig: %v", err)
	}
	z := l.next
	data := simConfigData(voters, nil, int64(z))
	c.prop[z] = data
	if err := l.p.Propose(Txn{Zxid: z, Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
	l.next++
	c.process(l)
	for c.deliverNext(func(from, to uint64, p *Packet) bool { return from != lag.id && to != lag.id }) {
	}
	if got := l.p.Members().Committed.Version; got != int64(z) {
		t.Fatalf("leader's committed configuration is version %s, want %s", Zxid(got), z)
	}
	// The ACKEPOCH gets a SNAP holding the reconfig; the leader dies before NEWLEADER.
	c.deliverUntil(func(from, to uint64, p *Packet) bool { return p != nil && to == lag.id && p.Type == Snap })
	c.crash(l)
	ms := lag.p.Members()
	found := ms.Committed.Version == int64(z)
	for _, m := range ms.Pending {
		found = found || m.Version == int64(z)
	}
	if !found {
		t.Fatalf("after the SNAP the learner knows configurations %+v, not the committed reconfig %s", ms, z)
	}
	c.finish()
}

// A peer started with NeedSnapshot (its caller could not truncate below the snapshot a SNAP
// installed) gets a SNAP from the leader where its history would get a DIFF, and asks no more
// once that SNAP is installed.
func TestNeedSnapshotGetsASnap(t *testing.T) {
	c := reconfigCluster(t, 5, 500, 1000)
	l := c.settledLeader()
	for _, needSnap := range []bool{false, true} {
		f := c.otherVoter(l)
		c.crash(f)
		c.proposeN(l.id, 3) // the follower falls behind: a DIFF would do
		c.settle()
		f.needSnap = needSnap
		c.restart(f)
		var got PacketType
		c.deliverUntil(func(from, to uint64, p *Packet) bool {
			if p != nil && to == f.id && (p.Type == Diff || p.Type == Trunc || p.Type == Snap) {
				got = p.Type
			}
			return got != 0
		})
		want := map[bool]PacketType{false: Diff, true: Snap}[needSnap]
		if got != want {
			t.Fatalf("NeedSnapshot=%v: the leader sent %s, want %s", needSnap, got, want)
		}
		c.settle()
		if f.p.needSnap {
			t.Fatalf("NeedSnapshot=%v: still asking for a SNAP after the sync", needSnap)
		}
	}
	c.finish()
}
