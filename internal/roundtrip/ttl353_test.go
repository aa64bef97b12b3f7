package roundtrip

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// A data dir as ZooKeeper 3.5.3 left it: its TTL nodes have the ephemeralOwner
// 0x8000000000000000|ttl (ZOOKEEPER-2901). Both servers see the same tree with and without
// zookeeper.emulate353TTLNodes, expiries included.
const (
	ttl353Long  = math.MinInt64 | 600_000 // a 3.5.3 TTL node of 10 minutes
	ttl353Short = math.MinInt64 | 1       // a 3.5.3 TTL node of 1 ms: expires at the first check
	session1    = 1<<56 | 7               // a session of server id 1
)

// session200 is a session of server id 200: negative, its low bits 1e6.
var session200 = func() int64 { u := uint64(200)<<56 | 1_000_000; return int64(u) }()

// write353DataDir writes a snapshot with those nodes into dir/version-2, created at now, and
// returns the node count ZooKeeper reports for it (mntr's zk_znode_count).
func write353DataDir(t *testing.T, dir string, now int64) int {
	t.Helper()
	tree := datatree.New()
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	zxid := int64(0)
	create := func(path string, owner int64) {
		zxid++
		hdr := &jute.TxnHeader{ClientID: owner, Zxid: zxid, Time: now, Type: jute.OpCreate}
		tree.Lock()
		res := tree.ProcessTxn(hdr, &jute.CreateTxn{Path: path, Data: []byte(path), ACL: acl, Ephemeral: owner != 0, ParentCVersion: -1})
		tree.Unlock()
		if res.Err != jute.OK {
			t.Fatalf("create %s: %v", path, res.Err)
		}
	}
	create("/app", 0)
	create("/app/ttl353-long", ttl353Long)
	create("/app/ttl353-short", ttl353Short)
	create("/app/eph200", session200)
	create("/app/eph1", session1)
	zxid++
	tree.Lock()
	tree.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Time: now, Type: jute.OpCreateTTL},
		&jute.CreateTTLTxn{Path: "/app/ttl-new", Data: []byte("new"), ACL: acl, ParentCVersion: -1, TTL: 600_000})
	tree.Unlock()
	view := tree.CopyForSnapshot()
	v2 := filepath.Join(dir, "version-2")
	if err := os.MkdirAll(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	// Both sessions are alive in the snapshot; only the 3.5.3 owners have none.
	if _, err := persistence.WriteSnapshot(v2, view, map[int64]int32{session200: 30000, session1: 30000}); err != nil {
		t.Fatal(err)
	}
	return tree.ReportedNodeCount()
}

func TestEmulate353TTLNodesSideBySide(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	// The container manager looks every 100 ms in both servers (a JVM property in ZooKeeper).
	t.Setenv("ZKTEST_JVMFLAGS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dznode.container.checkIntervalMs=100")
	for _, emulate := range []bool{false, true} {
		name := "emulate353TTLNodes=" + map[bool]string{false: "false", true: "true"}[emulate]
		t.Run(name, func(t *testing.T) {
			azDir, zkDir := t.TempDir(), t.TempDir()
			// A minute ago, the same in both copies: the short TTL is long past.
			created := time.Now().UnixMilli() - 60_000
			written := write353DataDir(t, azDir, created)
			write353DataDir(t, zkDir, created)

			a := zktest.StartApacheDir(t, azDir, "extendedTypesEnabled=true", name)
			z := startZkgoWith(t, zkDir, map[string]string{
				"zookeeper.emulate353TTLNodes":     map[bool]string{false: "false", true: "true"}[emulate],
				"znode.container.checkIntervalMs":  "100",
				"zookeeper.4lw.commands.whitelist": "mntr",
			})
			if emulate {
				// Both container managers look every 100 ms: wait until both removed the
				// expired node, asking mntr, as a client's session would be a txn and move
				// the zxid of the deletion.
				for _, addr := range []string{a.Addr, z.Addr().String()} {
					waitNodeCount(t, addr, written-1)
				}
			}
			want, got := dumpApp(t, a.Addr), dumpApp(t, z.Addr().String())
			compareTrees(t, "Apache vs zkgo, "+name, want, got)

			// What ZooKeeper does, stated, so that a change on both sides is noticed too.
			owners := map[string]int64{}
			for _, n := range got {
				owners[n.Path] = n.Stat.EphemeralOwner
			}
			expect := map[string]int64{"/app": 0, "/app/ttl-new": 0, "/app/eph1": session1}
			if emulate {
				// The 3.5.3 nodes are TTL nodes: the short one expired, the long one stays
				// with its owner hidden, as does the session of server 200's ephemeral.
				expect["/app/ttl353-long"] = 0
				expect["/app/eph200"] = 0
			} else {
				// Ephemerals of sessions the snapshot lacks: removed at load.
				expect["/app/eph200"] = session200
			}
			if !emulate {
				// Removed without a txn, so the start wrote a snapshot without them (a
				// crash after later writes must not bring them back).
				names, err := persistence.ZxidFiles(filepath.Join(zkDir, "version-2"), "snapshot")
				if err != nil || len(names) == 0 {
					t.Fatalf("snapshots: %v %v", names, err)
				}
				newest := names[len(names)-1]
				snap, err := persistence.ReadSnapshot(newest.Path, newest.Zxid, datatree.OwnersExtended)
				if err != nil {
					t.Fatal(err)
				}
				if snap.Tree.Get("/app/ttl353-long") != nil {
					t.Errorf("%s still holds /app/ttl353-long", newest.Path)
				}
			}
			if len(owners) != len(expect) {
				t.Errorf("nodes %v, want %v", owners, expect)
			}
			for p, o := range expect {
				if got, ok := owners[p]; !ok || got != o {
					t.Errorf("%s: owner %#x (present %v), want %#x", p, got, ok, o)
				}
			}
		})
	}
}

// waitNodeCount waits until mntr on addr reports count znodes.
func waitNodeCount(t *testing.T, addr string, count int) {
	t.Helper()
	want := fmt.Sprintf("zk_znode_count\t%d\n", count)
	var out string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if out, err = zktest.FourLetterWord(addr, "mntr", 5*time.Second); err == nil && strings.Contains(out, want) {
			return
		}
	}
	t.Fatalf("%s: no %q in mntr:\n%s", addr, want, out)
}

// dumpApp is dumpTree's part under /app.
func dumpApp(t *testing.T, addr string) []znode {
	var out []znode
	for _, n := range dumpTree(t, addr) {
		if strings.HasPrefix(n.Path, "/app") {
			out = append(out, n)
		}
	}
	return out
}
