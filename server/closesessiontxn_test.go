package server

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

// zookeeper.closeSessionTxn.enabled=false: a closeSession txn carries no list of paths, and
// applying it deletes the session's ephemerals in the order of the tree's own set
// (DataTree.killSession), not of the clone PrepRequestProcessor lists. Side by side with
// Apache ZooKeeper 3.8 started with the same property: the same watch events, in the same
// order.
func TestCloseSessionTxnDisabled(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	var dataDir string
	_, addr := startConfigured(t, map[string]string{"zookeeper.closeSessionTxn.enabled": "false"},
		func(cfg *config.Config) { dataDir = cfg.DataLogDir }, nil)
	apache := zktest.StartApache(t, "closeSessionTxn.enabled=false")

	// 13 ephemerals grow the session's set to 32 buckets; with 7 deleted, a clone of it has
	// 16. The first names from /x/e<base> that iterate differently in the two are used.
	var names, gone, want []string
	for base := 0; want == nil; base++ {
		if base == 1000 {
			t.Fatal("no names iterate differently in a set and its clone")
		}
		live := datatree.NewJavaStringSet()
		names, gone = nil, nil
		for i := 0; i < 13; i++ {
			p := fmt.Sprintf("/x/e%d", base+i)
			names = append(names, p)
			live.Add(p)
			if i%2 == 1 || i == 12 {
				gone = append(gone, p)
			}
		}
		for _, p := range gone {
			live.Remove(p)
		}
		if order := live.Order(); strings.Join(live.Clone().Order(), " ") != strings.Join(order, " ") {
			want = order
		}
	}

	for name, a := range map[string]string{"zkgo": addr, "apache": apache} {
		owner, watcher := rawDial(t, a), rawDial(t, a)
		mustCall(t, owner, jute.OpCreate, rawzk.CreateBody("/x", nil, openACL, 0))
		for _, p := range names {
			mustCall(t, owner, jute.OpCreate, rawzk.CreateBody(p, nil, openACL, 1))
		}
		for _, p := range gone {
			mustCall(t, owner, jute.OpDelete, rawzk.PathVersionBody(p, -1))
		}
		for _, p := range want {
			mustCall(t, watcher, jute.OpExists, rawzk.PathWatchBody(p, true))
		}
		if got, wantEvents := closeSessionEvents(t, owner, watcher, want); !sameList(got, wantEvents) {
			t.Errorf("%s: events %v, want %v", name, got, wantEvents)
		}
	}

	// zkgo's log holds the closeSession without a body.
	logs, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "log.*"))
	closes := 0
	for _, f := range logs {
		err := persistence.ReadLogFile(f, func(lt *persistence.LoggedTxn) error {
			if lt.Hdr.Type == jute.OpCloseSession {
				closes++
				if c := lt.Rec.(*jute.CloseSessionTxn); !c.NoBody || lt.Digest == nil {
					t.Errorf("logged closeSession %+v, digest %v: want no body and a digest", c, lt.Digest)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if closes != 1 {
		t.Fatalf("%d closeSession txns in %v, want 1", closes, logs)
	}
}
