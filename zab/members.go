package zab

import (
	"errors"
	"slices"
)

// Membership is one configuration of the ensemble (a QuorumVerifier).
type Membership struct {
	// Version is the zxid of the reconfig txn that made it (0 for the static configuration),
	// as in Apache ZooKeeper: versions order configurations.
	Version   int64
	Voters    []uint64 // participants
	Observers []uint64 // non-voting members
	// Groups makes the quorum hierarchical (QuorumHierarchical, group.G and weight.N
	// lines): a set is a quorum when it holds more than half the weight of more than half
	// of the groups of non-zero weight, and a participant of weight 0 cannot lead. Nil:
	// a majority of Voters (QuorumMaj).
	Groups []Group
	Raw    []byte // its QuorumVerifier string, opaque here (notifications, NEWLEADER)
}

// Group is one group of a hierarchical quorum: its servers and their weights.
type Group struct {
	Members []uint64
	Weights []int64 // Weights[i] is Members[i]'s
}

// Members is what a peer knows of the configuration: the last committed one and the ones
// logged after it whose commit it has not seen (Apache's lastSeenQuorumVerifier). While one
// is pending every decision needs a quorum of each (joint consensus): electing a leader,
// establishing it, committing a txn, confirming a sync.
type Members struct {
	Committed Membership
	Pending   []Membership // oldest first
}

// ErrReconfigInProgress is returned by Propose for a reconfig txn while an earlier one is
// not committed yet (ZRECONFIGINPROGRESS).
var ErrReconfigInProgress = errors.New("zab: a reconfiguration is in progress")

// ErrNewConfigNoQuorum is returned by Propose for a reconfig txn whose voters do not have a
// quorum among the leader and its synchronised followers (ZNEWCONFIGNOQUORUM).
var ErrNewConfigNoQuorum = errors.New("zab: the new configuration has no synchronised quorum")

func normalize(m Membership) Membership {
	m.Voters = slices.Compact(slices.Sorted(slices.Values(m.Voters)))
	m.Observers = slices.Compact(slices.Sorted(slices.Values(m.Observers)))
	return m
}

// has reports whether the sorted ids hold id.
func has(sorted []uint64, id uint64) bool {
	_, ok := slices.BinarySearch(sorted, id)
	return ok
}

func (m *Membership) isVoter(id uint64) bool    { return has(m.Voters, id) }
func (m *Membership) isObserver(id uint64) bool { return has(m.Observers, id) }

// canLead: id is a voter of m and, in a hierarchical quorum, weighs something
// (FastLeaderElection.totalOrderPredicate never prefers a server of weight 0).
func (m *Membership) canLead(id uint64) bool {
	if !m.isVoter(id) {
		return false
	}
	if m.Groups == nil {
		return true
	}
	for _, g := range m.Groups {
		for i, gid := range g.Members {
			if gid == id {
				return g.Weights[i] != 0
			}
		}
	}
	return false
}

// majority reports whether the members in set are a quorum of m: more than half of its
// voters, or for a hierarchical quorum as QuorumHierarchical.containsQuorum (in Java's
// integer arithmetic: more than half of a group's weight, in more than half of the groups
// whose weight is not zero).
func (m *Membership) majority(set func(id uint64) bool) bool {
	if m.Groups != nil {
		groups, won := 0, 0
		for _, g := range m.Groups {
			var total, in int64
			for i, id := range g.Members {
				total += g.Weights[i]
				if set(id) {
					in += g.Weights[i]
				}
			}
			if total == 0 {
				continue
			}
			groups++
			if in > total/2 {
				won++
			}
		}
		return won > groups/2
	}
	n := 0
	for _, v := range m.Voters {
		if set(v) {
			n++
		}
	}
	return 2*n > len(m.Voters)
}

// configOf returns the configuration a txn installs, if it is a reconfig txn; its version
// is the txn's zxid.
func (p *Peer) configOf(t Txn) (Membership, bool) {
	if p.cfg.ConfigTxn == nil {
		return Membership{}, false
	}
	m, ok := p.cfg.ConfigTxn(t)
	if !ok {
		return Membership{}, false
	}
	m.Version = int64(t.Zxid)
	return normalize(m), true
}

// isVoter: id votes in the committed or a pending configuration (validVoter).
func (p *Peer) isVoter(id uint64) bool {
	if p.mem.isVoter(id) {
		return true
	}
	for i := range p.pending {
		if p.pending[i].isVoter(id) {
			return true
		}
	}
	return false
}

func (p *Peer) isObserver(id uint64) bool {
	if p.mem.isObserver(id) {
		return true
	}
	for i := range p.pending {
		if p.pending[i].isObserver(id) {
			return true
		}
	}
	return false
}

// quorum reports whether the voters in set (observers and strangers ignored) are a
// majority of the committed configuration and of every pending one.
func (p *Peer) quorum(set func(id uint64) bool) bool {
	if !p.mem.majority(set) && !p.oracleQuorum(&p.mem, set) {
		return false
	}
	for i := range p.pending {
		if !p.pending[i].majority(set) && !p.oracleQuorum(&p.pending[i], set) {
			return false
		}
	}
	return true
}

// oracleQuorum: the oracle (QuorumOracleMaj) stands in for the missing voter of a two-voter
// configuration m, but on a leader only while no voter follows it (updateNeedOracle: a
// follower's ACKs are waited for while it is there), and never for this peer's own part (its
// ACK is durability; ZooKeeper's oracle can commit without it).
func (p *Peer) oracleQuorum(m *Membership, set func(id uint64) bool) bool {
	return p.cfg.Election.Oracle && oracleQuorum(true, p.oracle, m, p.cfg.ID) && set(p.cfg.ID) &&
		(p.lead == nil || !p.lead.hasVotingFollower())
}

// latestConfig is the newest configuration this peer knows, pending or committed (what
// NEWLEADER carries).
func (p *Peer) latestConfig() Membership {
	if n := len(p.pending); n > 0 {
		return p.pending[n-1]
	}
	return p.mem
}

// configAt is the newest configuration logged at or before z.
func (p *Peer) configAt(z Zxid) Membership {
	for i := len(p.pending) - 1; i >= 0; i-- {
		if p.pending[i].Version <= int64(z) {
			return p.pending[i]
		}
	}
	return p.mem
}

// logConfig notes a logged reconfig txn as pending.
func (p *Peer) logConfig(t Txn) {
	if m, ok := p.configOf(t); ok {
		p.addPending(m)
	}
}

func (p *Peer) addPending(m Membership) {
	if m.Version <= p.latestConfig().Version {
		return
	}
	p.pending = append(p.pending, m)
	p.membersChanged()
}

// commitConfigs makes the pending configurations up to zxid z committed.
func (p *Peer) commitConfigs(z Zxid) {
	i := 0
	for i < len(p.pending) && p.pending[i].Version <= int64(z) {
		i++
	}
	if i == 0 {
		return
	}
	p.mem = p.pending[i-1]
	p.pending = slices.Clone(p.pending[i:])
	p.membersChanged()
}

// adoptConfig takes a configuration committed elsewhere (from a notification).
func (p *Peer) adoptConfig(m Membership) bool {
	m = normalize(m)
	if m.Version <= p.mem.Version {
		return false
	}
	p.mem = m
	p.pending = slices.DeleteFunc(p.pending, func(q Membership) bool { return q.Version <= m.Version })
	p.membersChanged()
	return true
}

// truncateConfigs forgets pending configurations logged after z (TRUNC, SNAP).
func (p *Peer) truncateConfigs(z Zxid) {
	n := len(p.pending)
	p.pending = slices.DeleteFunc(p.pending, func(q Membership) bool { return q.Version > int64(z) })
	if len(p.pending) != n {
		p.membersChanged()
	}
}

// membersChanged tells the election and the caller.
func (p *Peer) membersChanged() {
	p.observer = p.mem.isObserver(p.cfg.ID)
	ms := p.members()
	p.elect.SetMembers(ms)
	p.rd.Members = &ms
	switch {
	case p.lead != nil && p.lead.phase == lServing:
		p.lead.checkStillVoter()
	case p.learn != nil && p.learn.phase == fServing:
		p.learn.checkRole()
	}
}

func (p *Peer) members() Members {
	return Members{Committed: p.mem, Pending: slices.Clone(p.pending)}
}

// Members returns the configurations this peer knows.
func (p *Peer) Members() Members { return p.members() }

// CheckReconfig tells whether the serving leader may propose a reconfig to m now
// (PrepRequestProcessor's checks): no other reconfig pending (ErrReconfigInProgress), and
// a quorum of m's voters among this leader and its synchronised followers
// (ErrNewConfigNoQuorum), so that m can commit. Propose itself refuses only the first.
func (p *Peer) CheckReconfig(m Membership) error {
	if p.lead == nil || p.lead.phase != lServing {
		return ErrNotLeader
	}
	if len(p.pending) > 0 {
		return ErrReconfigInProgress
	}
	m = normalize(m)
	if !p.lead.quorumSynced(&m) {
		return ErrNewConfigNoQuorum
	}
	return nil
}
