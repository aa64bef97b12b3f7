package zab

import (
	"bytes"
	"encoding/binary"
	"sort"
	"testing"
)

// FuzzPeerPackets: quorum packets come from whoever connects to the quorum port, and a peer
// must survive any of them, in any order, from its leader, from a learner or from an id no
// configuration knows: no panic, whatever it then decides (drop the sender, go looking).
// The script is a sequence of packets (to, from, type, zxid, length, data) delivered to an
// ensemble of three voters and an observer that is serving with a short history; what the
// peers answer is dropped, and their logs take what they persist.
func FuzzPeerPackets(f *testing.F) {
	pkt := func(to, from byte, typ PacketType, z Zxid, data []byte) []byte {
		b := []byte{to, from, byte(typ)}
		b = binary.BigEndian.AppendUint64(b, uint64(z))
		return append(append(b, byte(len(data))), data...)
	}
	f.Add(pkt(0, 1, Ack, MakeZxid(1, 9), nil))
	f.Add(append(pkt(1, 0, Proposal, MakeZxid(1, 4), []byte("x")), pkt(1, 0, Commit, MakeZxid(1, 4), nil)...))
	f.Add(append(pkt(0, 4, FollowerInfo, MakeZxid(7, 0), []byte{0, 0, 0, 1}), pkt(0, 4, AckEpoch, 0, []byte{0xff, 0xff, 0xff, 0xff, 1})...))
	f.Add(pkt(3, 0, InformAndActivate, MakeZxid(1, 4), []byte{0, 0, 0}))
	f.Add(append(pkt(2, 0, Diff, MakeZxid(1, 1), nil), pkt(2, 0, NewLeader, MakeZxid(1, 0), []byte("cfg v=[1 2 3] o=[] ver=-5"))...))
	f.Add(pkt(0, 5, Request, -1, []byte("sync")))
	f.Fuzz(func(t *testing.T, script []byte) {
		c := scenario(t, 3, 1)
		c.traceOn = false
		c.boot(1, 2, 3, 4)
		c.elect(1, 2, 3, 4)
		c.settle()
		c.proposeN(1, 3)
		c.settle()
		for len(script) >= 12 {
			n := c.nodes[uint64(script[0]%4)+1]
			p := &Packet{Type: PacketType(script[2] % 22), Zxid: Zxid(binary.BigEndian.Uint64(script[3:11]))}
			k := min(int(script[11]), len(script)-12)
			p.Data = bytes.Clone(script[12 : 12+k])
			from := uint64(script[1] % 6) // 0 and 5 are in no configuration
			script = script[12+k:]
			n.p.Step(Message{From: from, To: n.id, Packet: p})
			drainUnchecked(n)
			n.p.Tick()
			drainUnchecked(n)
		}
	})
}

// drainUnchecked runs a peer's Readies keeping only what its log needs (no invariant
// checks: forged packets break the simulation's model of honest peers, not the peer).
func drainUnchecked(n *simNode) {
	for i := 0; i < 1000 && n.p.HasReady(); i++ {
		rd := n.p.Ready()
		for _, a := range rd.Persist {
			switch a.Kind {
			case Append:
				for _, t := range a.Txns {
					if t.Zxid > n.log.last() {
						n.log.hist = append(n.log.hist, t)
					}
				}
			case Truncate:
				i := sort.Search(len(n.log.hist), func(i int) bool { return n.log.hist[i].Zxid > a.Zxid })
				n.log.hist = n.log.hist[:i:i]
			case InstallSnapshot:
				n.log.hist = nil
			}
		}
		n.p.Advance()
	}
}

// FuzzElectionNotifications: election notifications come from whoever connects to the
// election port. Three elections (one of a hierarchical configuration with a weight-0
// member) take any sequence of notifications (any state, leader, zxid, epochs, config) from
// voters and strangers, with ticks in between, and must not panic.
func FuzzElectionNotifications(f *testing.F) {
	note := func(to, from byte, state int32, leader uint64, z Zxid, ee, pe int64, cfg string) []byte {
		b := []byte{to, from}
		b = binary.BigEndian.AppendUint32(b, uint32(state))
		b = binary.BigEndian.AppendUint64(b, leader)
		b = binary.BigEndian.AppendUint64(b, uint64(z))
		b = binary.BigEndian.AppendUint64(b, uint64(ee))
		b = binary.BigEndian.AppendUint64(b, uint64(pe))
		return append(append(b, byte(len(cfg))), cfg...)
	}
	f.Add(note(0, 1, int32(Looking), 2, MakeZxid(1, 5), 1, 1, ""))
	f.Add(append(note(1, 2, int32(Leading), 2, MakeZxid(3, 0), 9, 3, "cfg v=[1 2 3] o=[] ver=99"), note(1, 3, int32(Following), 2, MakeZxid(3, 0), 9, 3, "")...))
	f.Add(note(2, 7, 77, 1<<63, NoVote, -1, NoVote, "cfg h v=[1 2 3 4] o=[] ver=1"))
	f.Fuzz(func(t *testing.T, script []byte) {
		hier := hierarchy([][]uint64{{1}, {2}, {3}}, map[uint64]int64{3: 0})
		es := []*Election{}
		for id := uint64(1); id <= 3; id++ {
			e := NewElection(fleConfig(id, []uint64{1, 2, 3}, nil))
			if id == 3 {
				e.SetMembers(Members{Committed: hier})
			}
			e.Start(MakeZxid(1, uint32(id)), 1)
			es = append(es, e)
		}
		const size = 2 + 4 + 8*4 + 1
		for len(script) >= size {
			e := es[script[0]%3]
			from := uint64(script[1] % 6)
			n := Notification{
				State:         ServerState(int32(binary.BigEndian.Uint32(script[2:]))),
				Leader:        binary.BigEndian.Uint64(script[6:]),
				Zxid:          Zxid(binary.BigEndian.Uint64(script[14:])),
				ElectionEpoch: int64(binary.BigEndian.Uint64(script[22:])),
				PeerEpoch:     int64(binary.BigEndian.Uint64(script[30:])),
			}
			k := min(int(script[38]), len(script)-size)
			n.Config = bytes.Clone(script[size : size+k])
			script = script[size+k:]
			e.Step(from, n)
			e.Messages()
			e.Decision()
			e.Tick()
			if ms, ok := parseSimConfig(n.Config); ok && n.State == Looking {
				e.SetMembers(Members{Committed: normalize(ms)})
			}
		}
	})
}
