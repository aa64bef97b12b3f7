package quorum

import (
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// memberView is the membership as the member last learnt it from zab: the committed
// configuration (srvr, /zookeeper/config after a reload) and every server of the committed
// and pending ones (addresses to reach them).
type memberView struct {
	committed *config.Verifier
	version   int64
	all       map[int64]*config.ServerSpec
}

func (v *memberView) voters() int {
	n := 0
	for _, s := range v.committed.Servers {
		if s.Type == config.Participant {
			n++
		}
	}
	return n
}

func (n *Node) view() *memberView { return n.mview.Load() }

// spec is server id's line in any known configuration (nil when unknown).
func (n *Node) spec(id int64) *config.ServerSpec {
	if s := n.view().all[id]; s != nil {
		return s
	}
	return n.cfg.Servers[id]
}

// membershipOf turns a parsed configuration into zab's form, with the given version.
func membershipOf(v *config.Verifier, version int64) zab.Membership {
	m := zab.Membership{Version: version, Raw: []byte(v.String(version))}
	for id, s := range v.Servers {
		if s.Type == config.Observer {
			m.Observers = append(m.Observers, uint64(id))
		} else {
			m.Voters = append(m.Voters, uint64(id))
		}
	}
	if v.Hierarchical() {
		m.Groups = []zab.Group{} // non-nil: a hierarchical quorum, even of no group
		for _, gid := range slices.Sorted(maps.Keys(v.Groups)) {
			var g zab.Group
			for _, id := range slices.Sorted(slices.Values(v.Groups[gid])) {
				g.Members = append(g.Members, uint64(id))
				g.Weights = append(g.Weights, v.Weights[id])
			}
			m.Groups = append(m.Groups, g)
		}
	}
	return m
}

// parseConfig is zab.Config.ParseConfig: a QuorumVerifier string from a notification.
func parseConfig(b []byte) (zab.Membership, bool) {
	v, err := config.ParseVerifier(b)
	if err != nil || len(v.Servers) == 0 {
		return zab.Membership{}, false
	}
	m := membershipOf(v, v.Version)
	m.Raw = append([]byte(nil), b...)
	return m, true
}

// sameQuorumAddr is zab.Config.SameQuorumAddr: server id's quorum addresses are the same in
// both configurations (either one unreadable, or without the server, counts as the same).
func sameQuorumAddr(oldRaw, newRaw []byte, id uint64) bool {
	a, err1 := config.ParseVerifier(oldRaw)
	b, err2 := config.ParseVerifier(newRaw)
	if err1 != nil || err2 != nil {
		return true
	}
	sa, sb := a.Servers[int64(id)], b.Servers[int64(id)]
	return sa == nil || sb == nil || slices.Equal(quorumAddrs(sa), quorumAddrs(sb))
}

// configWithVersion is zab.Config.ConfigWithVersion: raw with another version line.
func configWithVersion(raw []byte, version int64) []byte {
	v, err := config.ParseVerifier(raw)
	if err != nil {
		return raw
	}
	return []byte(v.String(version))
}

// txnTypeOffset is where TxnHeader.type starts: clientId (8), cxid (4), zxid (8), time (8).
const txnTypeOffset = 28

// configTxn is zab.Config.ConfigTxn: a reconfig txn sets /zookeeper/config to the new
// QuorumVerifier string. Only the header's type is read for other txns (every append goes
// through here).
func configTxn(t zab.Txn) (zab.Membership, bool) {
	if len(t.Data) < txnTypeOffset+4 || int32(binary.BigEndian.Uint32(t.Data[txnTypeOffset:])) != jute.OpReconfig {
		return zab.Membership{}, false
	}
	lt, err := persistence.DecodeTxn(t.Data)
	if err != nil {
		return zab.Membership{}, false
	}
	sd, ok := lt.Rec.(*jute.SetDataTxn)
	if !ok {
		return zab.Membership{}, false
	}
	return parseConfig(sd.Data)
}

// startMembers is what the member knows of the configuration at start: the static or
// dynamic file's (what it last persisted as committed), plus the tree's /zookeeper/config
// when a logged reconfig set it later (pending until the member learns its commit).
func (n *Node) startMembers(t *datatree.Tree) *zab.Members {
	ms := &zab.Members{Committed: membershipOf(n.cfg.Verifier(), n.cfg.ConfigVersion)}
	if node := t.Get(datatree.ConfigPath); node != nil {
		if m, ok := parseConfig(node.Data); ok && m.Version > n.cfg.ConfigVersion {
			ms.Pending = append(ms.Pending, m)
		}
	}
	n.setView(ms)
	return ms
}

func (n *Node) setView(ms *zab.Members) {
	v := &memberView{committed: &config.Verifier{}, version: ms.Committed.Version, all: map[int64]*config.ServerSpec{}}
	if cv, err := config.ParseVerifier(ms.Committed.Raw); err == nil {
		v.committed = cv
	}
	maps.Copy(v.all, v.committed.Servers)
	for _, m := range ms.Pending {
		if pv, err := config.ParseVerifier(m.Raw); err == nil {
			for id, s := range pv.Servers {
				if v.all[id] == nil {
					v.all[id] = s
				}
			}
		}
	}
	n.mview.Store(v)
}

// membersChanged handles Ready.Members: the new addresses go to the election, and a newly
// committed configuration is written to zoo.cfg.dynamic.<version> with zoo.cfg pointing at
// it, as Apache does (a member that crashes before this only keeps using joint quorums).
func (n *Node) membersChanged(ms *zab.Members) {
	old := n.view()
	n.setView(ms)
	v := n.view()
	peers := make(map[uint64]string)
	for id, s := range v.all {
		peers[uint64(id)] = electionAddrs(s)
	}
	for id, s := range n.cfg.Servers {
		if _, ok := peers[uint64(id)]; !ok {
			peers[uint64(id)] = electionAddrs(s)
		}
	}
	if n.elect != nil {
		n.elect.SetPeers(peers)
	}
	if v.version == old.version {
		return
	}
	n.log.Info().Str("version", strconv.FormatInt(v.version, 16)).Int("voters", v.voters()).Msg("configuration committed")
	if v.version&0xffffffff == 0 {
		// A NEWLEADER zxid: the static configuration's new version (ZOOKEEPER-1783), which
		// no txn carries; /zookeeper/config shows it as initConfigInZKDatabase sets it.
		// This runs before the member serves in its new role.
		n.srv.Tree().InitConfig(ms.Committed.Raw, v.version, time.Now().UnixMilli())
	}
	if n.cfg.Path == "" {
		return
	}
	if path, err := config.WriteDynamicConfig(n.cfg.Path, string(ms.Committed.Raw), v.version); err != nil {
		n.log.Error().Err(err).Str("config", n.cfg.Path).Msg("cannot write the dynamic configuration file")
	} else {
		n.log.Info().Str("file", path).Msg("dynamic configuration file written")
	}
}

// CheckReconfig implements server.Ensemble: whether the leader can propose a reconfig to
// these members now (zab.Peer.CheckReconfig, asked in the loop).
//
// The wait is bounded: the caller is the server's request pipeline, which the loop itself
// waits for when the role changes, so an unanswered question must not hold it.
func (n *Node) CheckReconfig(next *config.Verifier) error {
	reply := make(chan error, 1)
	timeout := time.NewTimer(max(time.Second, 2*n.tickTime))
	defer timeout.Stop()
	select {
	case n.events <- evCheckReconfig{m: membershipOf(next, 0), reply: reply}:
	case <-n.stop:
		return zab.ErrNotLeader
	case <-timeout.C:
		return zab.ErrNotLeader
	}
	select {
	case err := <-reply:
		return err
	case <-n.stop:
		return zab.ErrNotLeader
	case <-timeout.C:
		return zab.ErrNotLeader
	}
}
