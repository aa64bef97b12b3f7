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

// zookeeper.db.autocreate=false: a member whose data dir is empty (a replaced disk) starts at
// zxid -1 and takes no part in electing a leader until one has synchronised it. Without
// that, a write acknowledged by 1 and 2 while 3 was down is lost when 1 comes back empty
// next to 3 alone: they elect 3, which never had the write.
func TestEnsembleEmptyDataDirDoesNotVote(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	c := e.connect(leader)
	if _, err := c.Create("/a", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	e.stop(3)
	leader = e.waitServing(20 * time.Second)
	c = e.connect(leader)
	if _, err := c.Create("/acked-without-3", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	e.stop(1)
	e.stop(2)

	// 1 loses its disk (all but myid and zoo.cfg); its zoo.cfg asks for db.autocreate=false.
	files, _ := os.ReadDir(e.dirs[1])
	for _, f := range files {
		if f.Name() != "myid" && f.Name() != "zoo.cfg" {
			if err := os.RemoveAll(filepath.Join(e.dirs[1], f.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.appendCfg(1, "db.autocreate=false")
	e.start(1)
	e.start(3)
	for deadline := time.Now().Add(5 * time.Second); e.nodes[1].Status().LastZxid != -1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the empty member is at zxid %s, want -1", e.nodes[1].Status().LastZxid)
		}
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, i := range []int{1, 3} {
			if st := e.nodes[i].Status().Role; st.Serving {
				t.Fatalf("node %d serves (%+v) with only an empty member to vote with", i, st)
			}
		}
	}

	// With 2 back, 2 leads and 1 joins it through a SNAP: the write is everywhere.
	e.start(2)
	e.waitServing(30 * time.Second)
	for i := 1; i <= 3; i++ {
		if _, err := e.readAfterSync(i, "/acked-without-3"); err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	snaps, _ := filepath.Glob(filepath.Join(e.dirs[1], "version-2", "snapshot.*"))
	if len(snaps) == 0 {
		t.Error("the synchronised member wrote no snapshot")
	}
}

// An initialize file next to version-2 makes an empty data dir trusted once: the member
// starts at zxid 0 and votes, and the file is gone.
func TestEnsembleInitializeFile(t *testing.T) {
	e := newEnsemble(t, 3, "db.autocreate=false\n")
	for i := 1; i <= 3; i++ {
		if i != 3 {
			if err := os.WriteFile(filepath.Join(e.dirs[i], "initialize"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		e.start(i)
	}
	if l := e.waitServing(30 * time.Second); l == 3 {
		t.Errorf("the member without an initialize file (zxid -1) leads")
	}
	for i := 1; i <= 2; i++ {
		if _, err := os.Stat(filepath.Join(e.dirs[i], "initialize")); !os.IsNotExist(err) {
			t.Errorf("node %d: initialize file left: %v", i, err)
		}
	}
}

// A member at zxid -1 (zookeeper.db.autocreate=false, empty data dir) joins a ZooKeeper 3.8
// leader through a SNAP, and a ZooKeeper member at zxid -1 joins a zkgo leader the same way.
func TestMixedEnsembleUntrustedEmptyMember(t *testing.T) {
	e := newEnsemble(t, 3, "")
	members := ensembleMembers(t, e)
	e.appendCfg(1, "db.autocreate=false")
	startApache := func(extra ...string) *zktest.ApachePeer {
		a := zktest.StartApacheQuorumPeer(t, 3, members, zktest.FreePort(t), extra)
		e.clients[3] = a.ClientAddr
		return a
	}
	read := func(i int, path string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, _, err := zk.Connect([]string{e.clients[i]}, 5*time.Second, zk.WithLogger(nopLogger{}))
			if err == nil {
				_, err = c.Sync(path)
				if err == nil {
					_, _, err = c.Get(path)
				}
				c.Close()
			}
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %d reads %s: %v", i, path, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Apache 3 and zkgo 2 elect 3; zkgo 1 starts empty, at zxid -1.
	apache := startApache()
	e.start(2)
	read(2, "/") // serving
	c, _, err := zk.Connect([]string{e.clients[3]}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/before-1", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	e.start(1)
	read(1, "/before-1")
	if !strings.Contains(apache.Log(), "Synchronizing with Learner sid: 1 ") || !strings.Contains(apache.Log(), "peerLastZxid=0xffffffffffffffff") {
		t.Fatalf("zkgo member 1 did not join at zxid -1:\n%s", tailLines(apache.Log(), 40))
	}

	// A new, empty Apache 3 with db.autocreate=false joins the zkgo leader of 1 and 2.
	if err := apache.Stop(); err != nil {
		t.Fatal(err)
	}
	e.waitServing(30 * time.Second)
	apache = startApache("db.autocreate=false")
	read(3, "/before-1")
	if !strings.Contains(apache.Log(), "Unexpected empty data tree, setting zxid to -1") {
		t.Fatalf("the Apache member did not start at zxid -1:\n%s", tailLines(apache.Log(), 40))
	}
}
