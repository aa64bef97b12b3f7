package quorum

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
)

// oraclePath in a two-server ensemble (QuorumOracleMaj): the server its oracle file
// authorises ("1") goes on alone when the other fails, as leader or by electing itself;
// the other does not, and follows it when it comes back.
func TestEnsembleOracle(t *testing.T) {
	e := newEnsemble(t, 2, "")
	oracle := make([]string, 3)
	for i := 1; i <= 2; i++ {
		oracle[i] = filepath.Join(e.dirs[i], "mastership")
		e.appendCfg(i, "oraclePath="+oracle[i])
	}
	say := func(i int, v string) {
		t.Helper()
		if err := os.WriteFile(oracle[i], []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(i int, path string) {
		t.Helper()
		c := e.connect(i)
		defer c.Close()
		if _, err := c.Create(path, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s through %d: %v", path, i, err)
		}
	}
	notServing := func(i int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for e.nodes[i].Status().Role.Serving {
			if time.Now().After(deadline) {
				t.Fatalf("node %d still serves", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if st := e.nodes[i].Status().Role; st.Serving {
				t.Fatalf("node %d serves alone without its oracle: %+v", i, st)
			}
		}
	}

	say(1, "0")
	say(2, "1")
	if l := e.startAll(); l != 2 {
		t.Fatalf("leader %d, want 2", l)
	}
	write(1, "/a")
	// The follower fails: 2 goes on.
	e.stop(1)
	write(2, "/b")
	e.start(1)
	e.waitServing(30 * time.Second)
	if _, err := e.readAfterSync(1, "/b"); err != nil {
		t.Fatalf("node 1 after rejoining: %v", err)
	}
	// The leader fails: 1, not authorised, stops; authorised, it elects itself.
	e.stop(2)
	notServing(1)
	say(1, "1")
	say(2, "0")
	if l := e.waitServing(30 * time.Second); l != 1 {
		t.Fatalf("leader %d, want 1", l)
	}
	write(1, "/c")
	e.start(2)
	e.waitServing(30 * time.Second)
	if _, err := e.readAfterSync(2, "/c"); err != nil {
		t.Fatalf("node 2 after rejoining: %v", err)
	}
}

// With reconfigEnabled the first leader of a static configuration commits it with a version
// (ZOOKEEPER-1783), a configuration pending until then: the oracle counts for it too, so an
// authorised server starting alone leads.
func TestEnsembleOracleAloneFromTheStart(t *testing.T) {
	e := newEnsemble(t, 2, "reconfigEnabled=true\n")
	for i := 1; i <= 2; i++ {
		f := filepath.Join(e.dirs[i], "mastership")
		if err := os.WriteFile(f, []byte(map[int]string{1: "1", 2: "0"}[i]), 0o644); err != nil {
			t.Fatal(err)
		}
		e.appendCfg(i, "oraclePath="+f)
	}
	e.start(1)
	if l := e.waitServing(30 * time.Second); l != 1 {
		t.Fatalf("leader %d, want 1", l)
	}
	c := e.connect(1)
	if _, err := c.Create("/alone", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	e.start(2)
	e.waitServing(30 * time.Second)
	if _, err := e.readAfterSync(2, "/alone"); err != nil {
		t.Fatal(err)
	}
}

// The same with a ZooKeeper 3.8 server as the other one: each side's oracle decides for it,
// and the one not authorised follows the other when it leads alone.
func TestMixedEnsembleOracle(t *testing.T) {
	e := newEnsemble(t, 2, "")
	members := ensembleMembers(t, e)
	dir := t.TempDir()
	zkgoOracle, apacheOracle := filepath.Join(dir, "zkgo"), filepath.Join(dir, "apache")
	e.appendCfg(1, "oraclePath="+zkgoOracle)
	say := func(f, v string) {
		t.Helper()
		if err := os.WriteFile(f, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startApache := func() *zktest.ApachePeer {
		a := zktest.StartApacheQuorumPeer(t, 2, members, zktest.FreePort(t), []string{"oraclePath=" + apacheOracle})
		e.clients[2] = a.ClientAddr
		return a
	}
	mode := func(i int, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _ := zktest.FourLetterWord(e.clients[i], "srvr", 2*time.Second)
			if strings.Contains(out, "Mode: "+want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %d is not a %s: %q", i, want, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	create := func(i int, path string) {
		t.Helper()
		c, _, err := zk.Connect([]string{e.clients[i]}, 5*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := c.Create(path, nil, 0, zk.WorldACL(zk.PermAll))
			if err == nil || err == zk.ErrNodeExists {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("create %s through %d: %v", path, i, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// ZooKeeper authorised: it leads and goes on without zkgo, which follows it again.
	say(zkgoOracle, "0")
	say(apacheOracle, "1")
	apache := startApache()
	e.start(1)
	mode(2, "leader")
	mode(1, "follower")
	e.stop(1)
	create(2, "/while-zkgo-was-down")
	e.start(1)
	mode(1, "follower")
	if _, err := e.readAfterSync(1, "/while-zkgo-was-down"); err != nil {
		t.Fatal(err)
	}

	// zkgo authorised once ZooKeeper is gone: it leads alone; a new ZooKeeper server, not
	// authorised, follows it.
	if err := apache.Stop(); err != nil {
		t.Fatal(err)
	}
	say(apacheOracle, "0")
	say(zkgoOracle, "1")
	mode(1, "leader")
	create(1, "/while-apache-was-down")
	startApache()
	mode(2, "follower")
	c, _, err := zk.Connect([]string{e.clients[2]}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Sync("/"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/while-apache-was-down"); err != nil {
		t.Fatalf("the ZooKeeper follower: %v", err)
	}
}
