package quorum

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/zab"
)

// memberMetrics is what one member's Apache ServerMetrics counters and summary counts read.
type memberMetrics map[string]int64

func readMetrics(n *Node) memberMetrics {
	s := n.srv
	m := memberMetrics{}
	for name, c := range map[string]server.Counter{
		"looking": server.LookingCount, "diff": server.DiffCount, "snap": server.SnapCount,
		"proposals": server.ProposalCount, "commits": server.CommitCount,
		"learnerProposals": server.LearnerProposalReceivedCount, "learnerCommits": server.LearnerCommitReceivedCount,
		"unrecoverable": server.UnrecoverableErrorCount,
	} {
		m[name] = s.Counted(c)
	}
	for name, x := range map[string]server.Metric{
		"election": server.ElectionTime, "unavailable": server.UnavailableTime,
		"leaderUnavailable": server.LeaderUnavailableTime, "followerSync": server.FollowerSyncTime,
		"observerSync": server.ObserverSyncTime, "quorumAck": server.QuorumAckLatency,
		"proposalLatency": server.ProposalLatency, "ackCreation": server.ProposalAckCreationLatency,
		"commitPropagation": server.CommitPropagationLatency, "snapLoad": server.StartupSnapLoadTime,
	} {
		m[name], _ = s.Observed(x)
	}
	_, m["batchedTxns"] = s.Observed(server.SyncProcessorBatchSize)
	return m
}

func (m memberMetrics) minus(o memberMetrics) memberMetrics {
	d := memberMetrics{}
	for k, v := range m {
		d[k] = v - o[k]
	}
	return d
}

// TestEnsembleMetricsFollowTheProtocol: the ServerMetrics counters and summaries an ensemble
// member shows in mntr move where Apache's do, by role: the election and sync of a fresh
// ensemble with an observer, then writes through a follower, then a follower's restart.
func TestEnsembleMetricsFollowTheProtocol(t *testing.T) {
	e := newEnsembleWithObservers(t, 3, 1, "")
	leader := e.startAll()
	const obs = 4
	f := follower(e, leader)
	g := 6 - leader - f
	role := func(i int) string {
		switch i {
		case leader:
			return "leader"
		case obs:
			return "observer"
		}
		return "follower"
	}
	// The learners start serving a little after the leader sees them synced.
	waitMetrics := func(what string, ok func(i int, m memberMetrics) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			bad := ""
			for i := 1; i <= 4; i++ {
				if m := readMetrics(e.nodes[i]); !ok(i, m) {
					bad = fmt.Sprintf("%s (node %d) %v", role(i), i, m)
					break
				}
			}
			if bad == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s", what, bad)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitMetrics("after the election", func(i int, m memberMetrics) bool {
		voter := i != obs
		ok := m["looking"] >= 1 && m["unavailable"] == 1 && m["snapLoad"] == 1 &&
			(m["election"] == 1) == voter && (m["leaderUnavailable"] == 1) == (i == leader) &&
			(m["followerSync"] == 1) == (voter && i != leader) && (m["observerSync"] == 1) == (i == obs)
		if i == leader {
			return ok && m["diff"]+m["snap"] == 3
		}
		return ok && m["diff"]+m["snap"] == 0
	})

	c := e.connect(f) // its session is a txn too: counted before the writes
	if _, err := c.Create("/m", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// Every member done with the txns so far (the session's and /m's): the baseline. The
	// leader's count is read afresh each time: it answers nobody, so it may count last.
	settled := func(what string) {
		t.Helper()
		waitMetrics(what, func(i int, m memberMetrics) bool {
			commits := readMetrics(e.nodes[leader])["commits"]
			switch i {
			case leader:
				return m["ackCreation"] == m["proposals"] && m["commits"] == m["proposals"]
			case obs: // it counts an INFORM as it reads it and applies it a moment later
				return m["learnerCommits"] == commits && m["commitPropagation"] == commits
			}
			return m["learnerCommits"] == commits && m["commitPropagation"] == commits &&
				m["ackCreation"] == m["learnerProposals"]
		})
	}
	settled("after the first write")
	before := map[int]memberMetrics{}
	for i := 1; i <= 4; i++ {
		before[i] = readMetrics(e.nodes[i])
	}
	const writes = 5
	for k := 0; k < writes; k++ {
		if _, err := c.Set("/m", []byte{byte(k)}, -1); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]int64{
		"leader": {"proposals": writes, "commits": writes, "quorumAck": writes, "ackCreation": writes,
			"batchedTxns": writes, "learnerProposals": 0, "learnerCommits": 0, "proposalLatency": 0, "commitPropagation": 0},
		"follower": {"proposals": 0, "commits": 0, "quorumAck": 0, "ackCreation": writes, "batchedTxns": writes,
			"learnerProposals": writes, "learnerCommits": writes, "proposalLatency": writes, "commitPropagation": writes},
		"observer": {"proposals": 0, "commits": 0, "quorumAck": 0, "ackCreation": 0,
			"learnerProposals": 0, "learnerCommits": writes, "proposalLatency": 0, "commitPropagation": writes},
	}
	waitMetrics(fmt.Sprintf("after the writes (before: %v)", before), func(i int, m memberMetrics) bool {
		d := m.minus(before[i])
		for k, v := range want[role(i)] {
			if d[k] != v {
				return false
			}
		}
		return true
	})

	// A restarted follower loads its data, elects and syncs again; the leader serves it a
	// sync and the rest see nothing of it.
	lb := readMetrics(e.nodes[leader])
	gb := readMetrics(e.nodes[g])
	e.stop(f)
	e.start(f)
	if got := e.waitServing(20 * time.Second); got != leader {
		t.Fatalf("leader %d after a follower's restart, want %d", got, leader)
	}
	waitMetrics("after a follower's restart", func(i int, m memberMetrics) bool {
		switch i {
		case leader:
			d := m.minus(lb)
			return d["diff"]+d["snap"] == 1 && d["looking"] == 0 && d["election"] == 0
		case f:
			return m["looking"] >= 1 && m["election"] == 1 && m["followerSync"] == 1 && m["snapLoad"] == 1 && m["unavailable"] == 1
		case g:
			d := m.minus(gb)
			return d["looking"] == 0 && d["followerSync"] == 0 && d["diff"]+d["snap"] == 0
		}
		return true
	})
}

// TestEnsembleLogFailureCountsAsUnrecoverable: a member that stops because it cannot write
// its log counts unrecoverable_error_count, as a ZooKeeperCriticalThread that dies does.
func TestEnsembleLogFailureCountsAsUnrecoverable(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/w", 1)
	f := follower(e, leader)
	if got := e.nodes[f].srv.Counted(server.UnrecoverableErrorCount); got != 0 {
		t.Fatalf("unrecoverable_error_count %d before any failure", got)
	}
	e.nodes[f].store.log.InjectFailure(func() error { return errors.New("disk gone") })
	c := e.connect(leader)
	if _, err := c.Create("/fail", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.nodes[f].srv.Counted(server.UnrecoverableErrorCount) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("unrecoverable_error_count %d after the follower's log failed, want 1 (role %v)",
				e.nodes[f].srv.Counted(server.UnrecoverableErrorCount), e.nodes[f].Status().Role.State == zab.Following)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.nodes[leader].srv.Counted(server.UnrecoverableErrorCount); got != 0 {
		t.Fatalf("leader's unrecoverable_error_count %d, want 0", got)
	}
}
