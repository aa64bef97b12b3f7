package quorum

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/zktest"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

// writeDeadSessionSnapshot writes into dir/version-2 a snapshot with /dead, the ephemeral
// of a session the snapshot does not hold (as ZooKeeper 3.5.3's TTL nodes read without
// zookeeper.emulate353TTLNodes), and /live, the ephemeral of one it holds.
func writeDeadSessionSnapshot(t *testing.T, dir string, dead, live int64) {
	t.Helper()
	tree := datatree.New()
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	tree.Lock()
	for i, n := range []struct {
		path  string
		owner int64
	}{{"/dead", dead}, {"/live", live}} {
		hdr := &jute.TxnHeader{ClientID: n.owner, Zxid: int64(i + 1), Time: 1, Type: jute.OpCreate}
		if res := tree.ProcessTxn(hdr, &jute.CreateTxn{Path: n.path, ACL: acl, Ephemeral: true, ParentCVersion: -1}); res.Err != jute.OK {
			t.Fatal(res.Err)
		}
	}
	tree.Unlock()
	v2 := filepath.Join(dir, "version-2")
	if err := os.MkdirAll(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	// The live session outlasts any slow run of the test.
	if _, err := persistence.WriteSnapshot(v2, tree.CopyForSnapshot(), map[int64]int32{live: 300000}); err != nil {
		t.Fatal(err)
	}
}

// A session that owns ephemerals but is not in the session table never expires: the leader
// closes it with a txn, so every member drops its ephemerals at the same zxid (ZooKeeper's
// leader removes them from its own tree only, at load).
func TestEnsembleClosesDeadSessions(t *testing.T) {
	const dead, live = int64(0x7f00000000000001), int64(0x0100000000000002)
	e := newEnsemble(t, 3, "")
	for i := 1; i <= 3; i++ {
		writeDeadSessionSnapshot(t, e.dirs[i], dead, live)
	}
	e.startAll()
	var want *zk.Stat
	for i := 1; i <= 3; i++ {
		e.waitGone(i, "/dead", 10*time.Second, "the dead session's ephemeral stays")
		c := e.connect(i)
		_, st, err := c.Get("/live")
		if err != nil || st.EphemeralOwner != live {
			t.Fatalf("node %d: /live %+v, %v: the live session's ephemeral must stay", i, st, err)
		}
		_, root, err := c.Get("/")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The same deletion on every member: one zxid, one cversion.
		if want == nil {
			want = root
		} else if root.Pzxid != want.Pzxid || root.Cversion != want.Cversion {
			t.Fatalf("node %d: / pzxid %#x cversion %d, node 1 %#x %d", i, root.Pzxid, root.Cversion, want.Pzxid, want.Cversion)
		}
	}
	if want.Pzxid <= 2 {
		t.Fatalf("/ pzxid %#x: /dead was not deleted by a txn", want.Pzxid)
	}
}

// With extended types a session id's top byte must not read as a TTL owner's 0xFF, so
// server ids stop at 254 (EphemeralType.validateServerId).
func TestServerIDTooLargeForExtendedTypes(t *testing.T) {
	for _, c := range []struct {
		id       int
		extended string
		ok       bool
	}{{255, "true", false}, {254, "true", true}, {255, "false", true}} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(fmt.Sprintf("%d\n", c.id)), 0o644); err != nil {
			t.Fatal(err)
		}
		cfgText := fmt.Sprintf("tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nextendedTypesEnabled=%s\n"+
			"server.1=127.0.0.1:%d:%d\nserver.%d=127.0.0.1:%d:%d\n", dir, zktest.FreePort(t), c.extended,
			zktest.FreePort(t), zktest.FreePort(t), c.id, zktest.FreePort(t), zktest.FreePort(t))
		path := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(cfg, zerolog.Nop())
		if c.ok != (err == nil) || !c.ok && !strings.Contains(err.Error(), "Cannot be larger than 254") {
			t.Errorf("myid %d, extendedTypesEnabled=%s: %v", c.id, c.extended, err)
		}
	}
}

// A learner retries its leader backing off from 5 ms up to 500 ms until its connect time is
// up, or with zookeeper.leaderConnectDelayDuringRetryMs as Learner.connectToLeader: that
// far apart, five attempts at most, and not when less than the delay is left.
func TestLeaderRetry(t *testing.T) {
	run := func(props map[string]string, remaining time.Duration) []time.Duration {
		cfg := config.Default()
		cfg.ApplySystemProps(props)
		r := newLeaderRetry(cfg)
		var out []time.Duration
		for len(out) < 20 {
			p, ok := r.next(remaining)
			if !ok {
				break
			}
			out = append(out, p)
			remaining -= p
		}
		return out
	}
	ms := time.Millisecond
	if got := run(nil, 2*time.Second); fmt.Sprint(got) != fmt.Sprint([]time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 500 * ms, 500 * ms, 500 * ms}) {
		t.Errorf("backoff: %v", got)
	}
	set := map[string]string{"zookeeper.leaderConnectDelayDuringRetryMs": "100"}
	if got := run(set, 20*time.Second); fmt.Sprint(got) != fmt.Sprint([]time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms}) {
		t.Errorf("100 ms, plenty of time: %v, want four waits (five attempts)", got)
	}
	if got := run(set, 250*time.Millisecond); fmt.Sprint(got) != fmt.Sprint([]time.Duration{100 * ms, 100 * ms}) {
		t.Errorf("100 ms, 250 ms left: %v, want two waits", got)
	}
}
