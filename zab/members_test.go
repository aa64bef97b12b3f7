package zab

import (
	"slices"
	"testing"
)

// hierarchy builds a hierarchical membership of the given groups; weights default to 1.
func hierarchy(groups [][]uint64, weights map[uint64]int64) Membership {
	m := Membership{Groups: []Group{}}
	for _, ids := range groups {
		g := Group{Members: ids}
		for _, id := range ids {
			w, ok := weights[id]
			if !ok {
				w = 1
			}
			g.Weights = append(g.Weights, w)
			m.Voters = append(m.Voters, id)
		}
		m.Groups = append(m.Groups, g)
	}
	return normalize(m)
}

func setOf(ids ...uint64) func(uint64) bool {
	return func(id uint64) bool { return slices.Contains(ids, id) }
}

// QuorumHierarchical.containsQuorum: more than half of a group's weight (Java integer
// division) in more than half of the groups whose weight is not zero.
func TestHierarchicalQuorum(t *testing.T) {
	nine := [][]uint64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
	cases := []struct {
		name    string
		m       Membership
		set     []uint64
		quorum  bool
		canLead map[uint64]bool
	}{
		{"two groups of three with two each", hierarchy(nine, nil), []uint64{1, 2, 4, 5}, true, nil},
		{"one whole group", hierarchy(nine, nil), []uint64{1, 2, 3}, false, nil},
		{"one of each group", hierarchy(nine, nil), []uint64{1, 4, 7}, false, nil},
		{"five servers, only one group won", hierarchy(nine, nil), []uint64{1, 2, 4, 7, 8}, true, nil},
		{"six servers, two in each group won", hierarchy(nine, nil), []uint64{1, 2, 4, 5, 7, 8}, true, nil},
		{"empty", hierarchy(nine, nil), nil, false, nil},
		// A zero-weight group does not count: the other two must both be won.
		{"zero-weight group ignored, both others won", hierarchy(nine, map[uint64]int64{7: 0, 8: 0, 9: 0}), []uint64{1, 2, 4, 5}, true,
			map[uint64]bool{1: true, 7: false}},
		{"zero-weight group ignored, one other won", hierarchy(nine, map[uint64]int64{7: 0, 8: 0, 9: 0}), []uint64{1, 2, 7, 8, 9}, false, nil},
		// Weights: 1 alone holds 3 of 5.
		{"heavy server wins its group", hierarchy([][]uint64{{1, 2, 3}, {4}}, map[uint64]int64{1: 3}), []uint64{1, 4}, true, nil},
		{"light servers lose it", hierarchy([][]uint64{{1, 2, 3}, {4}}, map[uint64]int64{1: 3}), []uint64{2, 3, 4}, false, nil},
		// An even weight needs more than half: 2 of 4 is not enough.
		{"half a group is not a majority", hierarchy([][]uint64{{1, 2, 3, 4}}, nil), []uint64{1, 2}, false, nil},
		{"three of four", hierarchy([][]uint64{{1, 2, 3, 4}}, nil), []uint64{1, 2, 3}, true, nil},
		// Three servers, each its own group, the third weighing nothing: 1 and 2 are both needed.
		{"weight-0 member cannot stand in", hierarchy([][]uint64{{1}, {2}, {3}}, map[uint64]int64{3: 0}), []uint64{1, 3}, false,
			map[uint64]bool{1: true, 2: true, 3: false}},
		{"weight-0 member not needed", hierarchy([][]uint64{{1}, {2}, {3}}, map[uint64]int64{3: 0}), []uint64{1, 2}, true, nil},
		// A plain majority for comparison.
		{"majority", Membership{Voters: []uint64{1, 2, 3}}, []uint64{1, 3}, true, map[uint64]bool{3: true, 4: false}},
	}
	for _, c := range cases {
		if got := c.m.majority(setOf(c.set...)); got != c.quorum {
			t.Errorf("%s: %v is a quorum: %v, want %v", c.name, c.set, got, c.quorum)
		}
		for id, want := range c.canLead {
			if got := c.m.canLead(id); got != want {
				t.Errorf("%s: canLead(%d) = %v, want %v", c.name, id, got, want)
			}
		}
	}
}

// electAll runs an election among servers 1-3 with the given configurations and last
// zxids, delivering every notification, until 1 and 2 decide; it returns each decision.
func electAll(t *testing.T, ms Members, zxids map[uint64]Zxid) map[uint64]string {
	t.Helper()
	es := map[uint64]*Election{}
	for id := uint64(1); id <= 3; id++ {
		e := NewElection(fleConfig(id, ms.Committed.Voters, nil))
		e.SetMembers(ms)
		es[id] = e
	}
	for id, e := range es {
		e.Start(zxids[id], 1)
	}
	for round := 0; round < 200; round++ {
		for _, id := range []uint64{1, 2, 3} {
			for _, msg := range es[id].Messages() {
				es[msg.To].Step(msg.From, *msg.Vote)
			}
		}
		if fleDecision(es[1]) != "looking" && fleDecision(es[2]) != "looking" {
			break
		}
		for _, e := range es {
			e.Tick()
		}
	}
	out := map[uint64]string{}
	for id, e := range es {
		out[id] = fleDecision(e)
	}
	return out
}

// An election among three servers, each its own group, where server 3 weighs nothing: with
// the longest history it is never elected (totalOrderPredicate) and the others settle on 2;
// with the same history as the others it gives way to 2 (unlike Apache, where it keeps its
// vote for itself), which a pending configuration that needs its vote depends on.
func TestElectionNeverElectsAZeroWeightServer(t *testing.T) {
	m := hierarchy([][]uint64{{1}, {2}, {3}}, map[uint64]int64{3: 0})
	got := electAll(t, Members{Committed: m}, map[uint64]Zxid{1: MakeZxid(1, 5), 2: MakeZxid(1, 5), 3: MakeZxid(1, 9)})
	if got[1] != "FOLLOWING 2 round 1" || got[2] != "LEADING 2 round 1" || got[3] == "LEADING 3 round 1" {
		t.Errorf("server 3 ahead: %v", got)
	}

	pending := Membership{Version: 7, Voters: []uint64{2, 3}}
	same := map[uint64]Zxid{1: MakeZxid(1, 5), 2: MakeZxid(1, 5), 3: MakeZxid(1, 5)}
	got = electAll(t, Members{Committed: m, Pending: []Membership{pending}}, same)
	if got[1] != "FOLLOWING 2 round 1" || got[2] != "LEADING 2 round 1" || got[3] != "FOLLOWING 2 round 1" {
		t.Errorf("same history, a pending configuration of 2 and 3: %v", got)
	}
}
