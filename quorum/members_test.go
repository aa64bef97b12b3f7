package quorum

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/server"
)

// A hierarchical quorum (group.N, weight.N) decides who may lead and what a quorum is:
// three servers, each its own group, server 3 weighing nothing. 1 and 2 are both needed
// (two groups of non-zero weight, more than half of them), 3 never leads, losing 3 changes
// nothing, and losing 1 or 2 stops the ensemble although two of three servers still run
// (a plain majority would go on). /zookeeper/config shows the groups and weights as
// QuorumHierarchical.toString does.
func TestEnsembleHierarchicalQuorum(t *testing.T) {
	e := newEnsemble(t, 3, "group.1=1\ngroup.2=2\ngroup.3=3\nweight.3=0\n")
	leader := e.startAll()
	if leader == 3 {
		t.Fatal("server 3 (weight 0) leads")
	}
	c := e.connect(3)
	data, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatal(err)
	}
	if want := "group.1=1\ngroup.2=2\ngroup.3=3\nweight.1=1\nweight.2=1\nweight.3=0\nversion=0"; !strings.HasSuffix(string(data), "participant\n"+want) {
		t.Fatalf("/zookeeper/config = %q, want it to end in %q", data, want)
	}
	if _, err := c.Create("/h", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// conf adds the member's quorum settings and the membership (QuorumZooKeeperServer.dumpConf).
	var quorumPort, electionPort string
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "server.2=127.0.0.1:"); ok {
			parts := strings.Split(v, ":")
			quorumPort, electionPort = parts[0], parts[1]
		}
	}
	want := "\nserverId=2\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=" + electionPort + "\nquorumPort=" + quorumPort +
		"\npeerType=0\nmembership: \n" + string(data)
	if got := fourLetter(t, e.clients[2], "conf"); !strings.HasSuffix(got, want) {
		t.Fatalf("conf of node 2:\n%s\nwant it to end in\n%s", got, want)
	}

	// Without server 3 the other two go on.
	e.stop(3)
	c = e.connect(leader)
	if _, err := c.Create("/h-without-3", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write without the weight-0 server: %v", err)
	}
	e.start(3)
	leader = e.waitServing(20 * time.Second)

	// Without the other weighted server nobody serves: 3 does not stand in for it.
	other := 3 - leader // 1 <-> 2
	e.stop(other)
	// Server 3 stops when it notices that its leader quit, which may be a moment later.
	deadline := time.Now().Add(10 * time.Second)
	for _, i := range []int{leader, 3} {
		for e.nodes[i].Status().Role.Serving {
			if time.Now().After(deadline) {
				t.Fatalf("node %d still serves with only the weight-0 server", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// And no new leader: 1 (or 2) and 3 are no quorum, for several election rounds.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, i := range []int{leader, 3} {
			if e.nodes[i].Status().Role.Serving {
				t.Fatalf("node %d serves (%+v) without a hierarchical quorum", i, e.nodes[i].Status().Role)
			}
		}
	}
	e.start(other)
	if l := e.waitServing(20 * time.Second); l == 3 {
		t.Fatal("server 3 (weight 0) leads")
	}
	if b, err := e.readAfterSync(3, "/h-without-3"); err != nil || b != nil && len(b) != 0 {
		t.Fatalf("after the quorum came back: %q %v", b, err)
	}
}

// Reconfig of a hierarchical ensemble: an incremental reconfig is refused (BADARGUMENTS:
// "last configuration seen has a non-majority quorum system"), a bulk one may carry group
// and weight lines, or none and so return to a majority quorum, after which incremental
// reconfigs work again.
func TestEnsembleReconfigHierarchical(t *testing.T) {
	super := server.DigestID("super:test")
	e := newEnsemble(t, 3, "reconfigEnabled=true\nDigestAuthenticationProvider.superDigest="+super+"\ngroup.1=1\ngroup.2=2\ngroup.3=3\n")
	leader := e.startAll()
	c := e.connect(follower(e, leader))
	if err := c.AddAuth("digest", []byte("super:test")); err != nil {
		t.Fatal(err)
	}
	observer := "server.100=0.0.0.0:1:2:observer;0.0.0.0:3"
	if _, err := c.IncrementalReconfig([]string{observer}, nil, -1); err != zk.ErrBadArguments {
		t.Fatalf("incremental reconfig of a hierarchical quorum: %v, want ErrBadArguments", err)
	}
	data, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "server.") {
			servers = append(servers, l)
		}
	}
	if _, err := c.Reconfig(append(slices.Clone(servers), "group.1=1:2", "group.2=3", "weight.3=0"), -1); err != nil {
		t.Fatalf("bulk reconfig to new groups: %v", err)
	}
	for i := 1; i <= 3; i++ {
		got, err := e.readAfterSync(i, "/zookeeper/config")
		if err != nil || !strings.Contains(string(got), "participant\ngroup.1=1:2\ngroup.2=3\nweight.1=1\nweight.2=1\nweight.3=0\nversion=") {
			t.Fatalf("node %d config after the bulk reconfig: %q %v", i, got, err)
		}
	}
	if _, err := c.Reconfig(append(slices.Clone(servers), "group.1=1:2", "group.2=2"), -1); err != zk.ErrBadArguments {
		t.Fatalf("bulk reconfig with a server in two groups: %v, want ErrBadArguments", err)
	}
	if _, err := c.Reconfig(servers, -1); err != nil {
		t.Fatalf("bulk reconfig back to a majority: %v", err)
	}
	if _, err := c.IncrementalReconfig([]string{observer}, nil, -1); err != nil {
		t.Fatalf("incremental reconfig of a majority quorum: %v", err)
	}
	got, err := e.readAfterSync(leader, "/zookeeper/config")
	if err != nil || strings.Contains(string(got), "group.") || strings.Contains(string(got), "weight.") || !strings.Contains(string(got), observer+"\n") {
		t.Fatalf("config after returning to a majority and adding an observer: %q %v", got, err)
	}
}

// leaderServes=no (zookeeper.leaderServes): the leader's client port serves no session and
// its four-letter words say it is not serving, as Leader.lead leaves its connection factory
// without a server; the followers serve, writes through them commit, and a follower that
// becomes leader stops serving clients in turn.
func TestEnsembleLeaderServesNo(t *testing.T) {
	e := newEnsemble(t, 3, "leaderServes=no\n")
	leader := e.startAll()
	refused := func(i int) {
		t.Helper()
		c, err := rawzk.Dial(e.clients[i], rawzk.ConnectOptions{TimeoutMs: 4000})
		if err == nil {
			defer c.Close()
			if c.SessionID() != 0 && !c.WaitClosed(2*time.Second) {
				t.Fatalf("node %d (leader) gave a client session 0x%x", i, c.SessionID())
			}
		}
		if got := fourLetter(t, e.clients[i], "srvr"); got != "This ZooKeeper instance is not currently serving requests\n" {
			t.Fatalf("srvr on the leader: %q", got)
		}
	}
	refused(leader)
	f := follower(e, leader)
	c := e.connect(f)
	if _, err := c.Create("/via-follower", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fourLetter(t, e.clients[f], "srvr"), "Mode: follower\n") {
		t.Fatal("the follower does not serve")
	}
	e.stop(leader)
	next := e.waitServing(20 * time.Second)
	refused(next)
	if b, err := e.readAfterSync(follower(e, next), "/via-follower"); err != nil || string(b) != "x" {
		t.Fatalf("after the leader changed: %q %v", b, err)
	}
}

// With reconfigEnabled the first leader gives the static configuration its NEWLEADER zxid
// as version (ZOOKEEPER-1783): /zookeeper/config ends in version=<epoch>00000000 with that
// mzxid on every member, each writes it to zoo.cfg.dynamic.<version> and points zoo.cfg at
// it, and after a restart of every member the version stays.
func TestEnsembleStaticConfigVersionedByFirstLeader(t *testing.T) {
	e := newEnsemble(t, 3, "reconfigEnabled=true\n")
	leader := e.startAll()
	epoch := e.nodes[leader].Status().Role.Epoch
	version := epoch << 32
	check := func() {
		t.Helper()
		for i := 1; i <= 3; i++ {
			c := e.connect(i)
			data, st, err := c.Get("/zookeeper/config")
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(data), fmt.Sprintf("\nversion=%x", version)) || st.Mzxid != version || st.Version != -1 {
				t.Fatalf("node %d /zookeeper/config = %q, mzxid %x, want version and mzxid %x", i, data, st.Mzxid, version)
			}
			dyn := fmt.Sprintf("%s.dynamic.%x", e.cfgs[i], version)
			if b, err := os.ReadFile(dyn); err != nil || !strings.Contains(string(b), "server.3=") {
				t.Fatalf("node %d: %s: %q %v", i, dyn, b, err)
			}
			if b, _ := os.ReadFile(e.cfgs[i]); !strings.Contains(string(b), "dynamicConfigFile="+dyn) {
				t.Fatalf("node %d zoo.cfg does not point at %s:\n%s", i, dyn, b)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := e.readAfterSync(3, "/zookeeper/config")
		if err == nil && strings.HasSuffix(string(data), fmt.Sprintf("version=%x", version)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	check()
	for i := 1; i <= 3; i++ {
		e.stop(i)
	}
	if l := e.startAll(); e.nodes[l].Status().Role.Epoch <= epoch {
		t.Fatalf("epoch %d after the restart, was %d", e.nodes[l].Status().Role.Epoch, epoch)
	}
	check()
}
