package quorum

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
)

// TestMixedEnsembleCloseSessionTxnDisabled: with zookeeper.closeSessionTxn.enabled=false on
// every member a closeSession txn has no list of paths (a TxnDigest follows its header).
// zkgo members read the ones an Apache ZooKeeper 3.8 leader proposes and an Apache member
// reads zkgo's; the closed sessions' ephemerals are gone on every member either way.
func TestMixedEnsembleCloseSessionTxnDisabled(t *testing.T) {
	e := newEnsemble(t, 3, "closeSessionTxn.enabled=false\n")
	members := ensembleMembers(t, e)
	startApache := func() *zktest.ApachePeer {
		a := zktest.StartApacheQuorumPeer(t, 3, members, zktest.FreePort(t), []string{"closeSessionTxn.enabled=false"})
		e.clients[3] = a.ClientAddr
		return a
	}
	modes := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for i := 1; i <= 3; i++ {
			for want[i-1] != "" {
				out, _ := zktest.FourLetterWord(e.clients[i], "srvr", 2*time.Second)
				if strings.Contains(out, "Mode: "+want[i-1]) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("member %d is not a %s: %q", i, want[i-1], out)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	// Each session makes an ephemeral and closes; then no member has them.
	closeSessions := func(step string) {
		t.Helper()
		var paths []string
		for i := 1; i <= 3; i++ {
			c := e.connect(i)
			p := fmt.Sprintf("/%s-%d", step, i)
			if _, err := c.Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatalf("%s: create through member %d: %v", step, i, err)
			}
			c.Close()
			paths = append(paths, p)
		}
		for i := 1; i <= 3; i++ {
			for _, p := range paths {
				if _, err := e.readAfterSync(i, p); err != zk.ErrNoNode {
					t.Errorf("%s: member %d reads %s: %v, want it gone", step, i, p, err)
				}
			}
		}
		for i := 1; i <= 2; i++ {
			if m := fourLetter(t, e.clients[i], "mntr"); !strings.Contains(m, "zk_digest_mismatches_count\t0\n") {
				t.Errorf("%s: member %d counted digest mismatches:\n%s", step, i, m)
			}
		}
	}

	// 3 and 1 elect 3 (the highest id at equal zxids): an Apache leader.
	apache := startApache()
	e.start(1)
	modes("follower", "", "leader")
	e.start(2)
	modes("follower", "follower", "leader")
	closeSessions("apache-leads")

	// Without it 1 and 2 elect a zkgo leader; a new Apache member 3 joins it (SNAP).
	if err := apache.Stop(); err != nil {
		t.Fatal(err)
	}
	leader := e.waitServing(30 * time.Second)
	startApache()
	want := []string{"follower", "follower", "follower"}
	want[leader-1] = "leader"
	modes(want...)
	closeSessions("zkgo-leads")
}

// zkgo members may differ in zookeeper.closeSessionTxn.enabled: each reads both forms, so
// whichever leads, the closed sessions' ephemerals are gone everywhere.
func TestEnsembleCloseSessionTxnSettingsDiffer(t *testing.T) {
	e := newEnsemble(t, 3, "")
	e.appendCfg(1, "closeSessionTxn.enabled=false")
	check := func(want int) {
		t.Helper()
		leader := e.waitServing(30 * time.Second)
		if want != 0 && leader != want {
			t.Fatalf("leader %d, want %d", leader, want)
		}
		var paths []string
		for i := 1; i <= 3; i++ {
			if e.nodes[i] == nil {
				continue
			}
			c := e.connect(i)
			p := fmt.Sprintf("/leader%d-via%d", leader, i)
			if _, err := c.Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			c.Close()
			paths = append(paths, p)
		}
		for i := 1; i <= 3; i++ {
			for _, p := range paths {
				if e.nodes[i] == nil {
					continue
				}
				if _, err := e.readAfterSync(i, p); err != zk.ErrNoNode {
					t.Errorf("leader %d: member %d reads %s: %v, want it gone", leader, i, p, err)
				}
			}
		}
	}
	e.startAll()
	check(0)
	// Without 3, 1 and 2 go on and get ahead of it; then without 2, 1 (the setting off)
	// leads 3 (the setting on).
	e.stop(3)
	check(2)
	e.stop(2)
	e.start(3)
	check(1)
}

// A closeSession lists the session's ephemerals, so its txn can be longer than any request
// (jute.maxbuffer): members read up to jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize
// (another jute.maxbuffer by default), as BinaryInputArchive does. Here a 6 KB closeSession
// with jute.maxbuffer=4096 reaches every member, which go on following.
func TestEnsembleCloseSessionLongerThanMaxBuffer(t *testing.T) {
	e := newEnsemble(t, 3, "jute.maxbuffer=4096\n")
	leader := e.startAll()
	c := e.connect(follower(e, leader))
	var paths []string
	for i := 0; i < 60; i++ {
		p := fmt.Sprintf("/%s-%02d", strings.Repeat("e", 95), i)
		if _, err := c.Create(p, nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	c.Close()
	if l := e.waitServing(20 * time.Second); l != leader {
		t.Fatalf("leader %d after the close, was %d", l, leader)
	}
	for i := 1; i <= 3; i++ {
		for _, p := range []string{paths[0], paths[59]} {
			if _, err := e.readAfterSync(i, p); err != zk.ErrNoNode {
				t.Errorf("member %d reads %s: %v, want it gone", i, p, err)
			}
		}
		if r := e.nodes[i].Status().Role; !r.Serving || r.Epoch != e.nodes[leader].Status().Role.Epoch {
			t.Errorf("member %d: %+v", i, r)
		}
	}
}
