package quorum

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestEnsembleAuditLog: with audit.enable each member logs the writes of its own clients, as
// ZooKeeper's FinalRequestProcessor does only for a request with a connection, and every
// member the ephemerals a closed session leaves (DataTree.deleteNodes runs on each).
func TestEnsembleAuditLog(t *testing.T) {
	e := newEnsemble(t, 3, "audit.enable=true\n")
	leader := e.startAll()
	f := follower(e, leader)
	other := 6 - leader - f
	c := e.connect(f)
	if _, err := c.Create("/x", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	cl := e.connect(leader)
	if _, err := cl.Set("/x", []byte("v"), -1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	audit := func(i int) string {
		b, err := os.ReadFile(filepath.Join(e.dirs[i], "zookeeper_audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	deleted := "\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/eph\tresult=success\n"
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; i <= 3; i++ {
		for !strings.Contains(audit(i), deleted) {
			if time.Now().After(deadline) {
				t.Fatalf("member %d logged no deletion of /eph:\n%s", i, audit(i))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	created := "\tip=127.0.0.1\toperation=create\tznode=/x\tznode_type=persistent\tresult=success\n"
	set := "\tip=127.0.0.1\toperation=setData\tznode=/x\tresult=success\n"
	for i, want := range map[int][2]bool{f: {true, false}, leader: {false, true}, other: {false, false}} {
		log := audit(i)
		if strings.Contains(log, created) != want[0] || strings.Contains(log, set) != want[1] {
			t.Errorf("member %d (leader %d, client's follower %d): create logged %v, setData logged %v, want %v:\n%s",
				i, leader, f, strings.Contains(log, created), strings.Contains(log, set), want, log)
		}
		if !strings.Contains(log, "\toperation=serverStart\tresult=success\n") {
			t.Errorf("member %d: no serverStart:\n%s", i, log)
		}
	}
}
