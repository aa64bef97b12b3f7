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

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/zab"
)

// TestDiffFromLogFollowsSnapshotSizeFactor: the leader reads a DIFF from its log files only
// while the files after the one the read starts in are no larger than snapshotSizeFactor
// times the newest snapshot (ZKDatabase.getProposalsFromTxnLog with FileTxnIterator's
// getStorageSize); 0 is no limit and a negative factor no DIFF from the log at all.
func TestDiffFromLogFollowsSnapshotSizeFactor(t *testing.T) {
	dir := t.TempDir()
	st, res, err := OpenStore(dir, dir, persistence.LogOptions{}, persistence.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snaps, _ := persistence.ZxidFiles(persistence.SnapDir(dir), "snapshot")
	fi, err := os.Stat(snaps[len(snaps)-1].Path)
	if err != nil {
		t.Fatal(err)
	}
	snapSize := fi.Size()
	_ = res
	// Three log files of 10 txns each, ~200 bytes a txn.
	zxid := func(i int) zab.Zxid { return zab.MakeZxid(1, uint32(i)) }
	for f := 0; f < 3; f++ {
		for i := 1; i <= 10; i++ {
			n := f*10 + i
			hdr := jute.TxnHeader{ClientID: 1, Zxid: int64(zxid(n)), Type: jute.OpCreate}
			txn := &jute.CreateTxn{Path: fmt.Sprintf("/n%d", n), Data: make([]byte, 150)}
			if err := st.Append([]zab.Txn{{Zxid: zxid(n), Data: persistence.RecordTxn(persistence.EncodeRecord(&hdr, txn, nil))}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := st.RollLogFile(); err != nil {
			t.Fatal(err)
		}
	}
	logs, _ := persistence.ZxidFiles(persistence.LogDir(dir), "log")
	if len(logs) != 3 {
		t.Fatalf("%d log files, want 3", len(logs))
	}
	fileSize := func(i int) int64 {
		fi, err := os.Stat(logs[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	after1 := fileSize(2)               // a read from the second file counts the third
	after0 := fileSize(1) + fileSize(2) // a read from the first counts the other two
	for _, tc := range []struct {
		factor   float64
		peerLast zab.Zxid
		want     bool
	}{
		{0.33, zxid(3), float64(after0) <= float64(snapSize)*0.33},
		{float64(after0) / float64(snapSize), zxid(3), true},
		{float64(after0-1) / float64(snapSize), zxid(3), false},
		{float64(after1) / float64(snapSize), zxid(15), true},
		{float64(after1-1) / float64(snapSize), zxid(15), false},
		{0.000001, zxid(25), true}, // the read starts in the last file: nothing counted
		{0, zxid(3), true},         // a limit of 0 bytes is no limit
		{-1, zxid(25), false},      // negative: never from the log
	} {
		st.SetSnapshotSizeFactor(tc.factor)
		if got := st.DiffFromLog(tc.peerLast); got != tc.want {
			t.Errorf("factor %g, learner at %s (snapshot %d bytes, files after the first %d, after the second %d): DiffFromLog = %v, want %v",
				tc.factor, tc.peerLast, snapSize, after0, after1, got, tc.want)
		}
	}
	if after0 <= snapSize/3 {
		t.Fatalf("the log (%d bytes after its first file) is not larger than a third of the snapshot (%d): the default case proves nothing", after0, snapSize)
	}
}

// TestEnsembleSnapshotSizeFactor: a follower behind the leader's in-memory committed log
// gets a SNAP when the leader's log files to read outweigh snapshotSizeFactor (0.33) times
// its last snapshot, and a DIFF with snapshotSizeFactor=0 (no limit).
func TestEnsembleSnapshotSizeFactor(t *testing.T) {
	for _, tc := range []struct {
		factor   string
		wantSnap bool
	}{{"", true}, {"snapshotSizeFactor=0\n", false}} {
		t.Run(fmt.Sprintf("snap=%v", tc.wantSnap), func(t *testing.T) {
			// Small log files and no snapshot but the first: the log is many times its size.
			e := newEnsemble(t, 3, "snapCount=1000000\ntxnLogSizeLimitInKb=1\ncommitLogCount=5\n"+tc.factor)
			leader := e.startAndWrite("/a", 3) // the follower's log starts before the leader's files
			f := follower(e, leader)
			e.stop(f)
			c := e.connect(leader)
			for i := 0; i < 40; i++ {
				if _, err := c.Create(fmt.Sprintf("/s-%d", i), make([]byte, 100), 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
			}
			before := e.nodes[leader].srv.Counted(server.SnapCount)
			beforeDiff := e.nodes[leader].srv.Counted(server.DiffCount)
			e.start(f)
			e.waitServing(20 * time.Second)
			if _, err := e.readAfterSync(f, "/s-39"); err != nil {
				t.Fatalf("member %d after its sync: %v", f, err)
			}
			snaps := e.nodes[leader].srv.Counted(server.SnapCount) - before
			diffs := e.nodes[leader].srv.Counted(server.DiffCount) - beforeDiff
			if got := snaps == 1 && diffs == 0; got != tc.wantSnap || snaps+diffs != 1 {
				logs, _ := filepath.Glob(filepath.Join(e.dirs[leader], "version-2", "log.*"))
				t.Fatalf("the leader served %d SNAP and %d DIFF syncs (%d log files), want a SNAP: %v", snaps, diffs, len(logs), tc.wantSnap)
			}
		})
	}
}

// TestEnsembleInflightSyncMetrics: the leader observes its syncs in flight as each begins
// and ends (inflight_diff_count, inflight_snap_count: LearnerHandler's INFLIGHT_*_COUNT),
// and a member with a throttle that is not positive does not start.
func TestEnsembleInflightSyncMetrics(t *testing.T) {
	e := newEnsembleWithObservers(t, 3, 1, "")
	leader := e.startAll()
	// Three learners, each a DIFF begun and ended.
	cnt, _ := e.nodes[leader].srv.Observed(server.InflightDiffCount)
	if cnt < 6 || cnt%2 != 0 {
		t.Errorf("inflight_diff_count observed %d times for three DIFF syncs, want 6 (more if one came back)", cnt)
	}
	if cnt, _ := e.nodes[leader].srv.Observed(server.InflightSnapCount); cnt != 0 {
		t.Errorf("inflight_snap_count observed %d times without a SNAP", cnt)
	}
	bad := newEnsemble(t, 1, "leader.maxConcurrentSnapSyncs=0\n")
	cfg, err := config.Parse(bad.cfgs[1])
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err == nil || !strings.Contains(err.Error(), "must be positive") {
		n.Close()
		t.Fatalf("started with maxConcurrentSnapSyncs=0: %v", err)
	}
}

// TestEnsembleObserverWithoutSync: an observer with syncEnabled=false applies txns without
// logging them and takes no snapshot of its own (ObserverZooKeeperServer without its
// SyncRequestProcessor); its tree outlives a change of leader, and restarted it is back at
// its last snapshot and is synchronised from there. The followers log as usual.
func TestEnsembleObserverWithoutSync(t *testing.T) {
	e := newEnsembleWithObservers(t, 3, 1, "snapCount=10\nsyncEnabled=false\n")
	const obs = 4
	leader := e.startAndWrite("/s", 40)
	if _, err := e.readAfterSync(obs, "/s-39"); err != nil {
		t.Fatalf("observer: %v", err)
	}
	files := func(i int, kind string) []string {
		fs, _ := filepath.Glob(filepath.Join(e.dirs[i], "version-2", kind+".*"))
		return fs
	}
	txnsIn := func(i int) int {
		n := 0
		for _, f := range files(i, "log") {
			persistence.ReadLogFile(f, func(*persistence.LoggedTxn) error { n++; return nil })
		}
		return n
	}
	f := follower(e, leader)
	if txnsIn(f) < 40 || len(files(f, "snapshot")) < 2 {
		t.Fatalf("follower %d: %d txns logged and %d snapshots for 40 writes with snapCount=10", f, txnsIn(f), len(files(f, "snapshot")))
	}
	if n, snaps := txnsIn(obs), files(obs, "snapshot"); n != 0 || len(snaps) != 1 {
		t.Fatalf("observer with syncEnabled=false: %d txns logged and snapshots %v, want none but the first", n, snaps)
	}
	// A new leader: the observer starts again from its last snapshot and is synchronised.
	reloads := e.nodes[obs].reloads.Load()
	e.stop(leader)
	leader = e.waitServing(20 * time.Second)
	c := e.connect(leader)
	defer c.Close()
	if _, err := c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/s-0", "/s-39", "/after"} {
		if _, err := e.readAfterSync(obs, p); err != nil {
			t.Fatalf("observer after a change of leader, %s: %v", p, err)
		}
	}
	if n := e.nodes[obs].reloads.Load() - reloads; n < 1 {
		t.Fatalf("the observer reloaded its tree %d times after losing its leader; it should start again from its disk", n)
	}
	e.stop(obs)
	e.start(obs)
	e.waitServing(20 * time.Second)
	for _, p := range []string{"/s-0", "/s-39", "/after"} {
		if _, err := e.readAfterSync(obs, p); err != nil {
			t.Fatalf("observer after a restart, %s: %v", p, err)
		}
	}
	if n := txnsIn(obs); n != 0 {
		t.Fatalf("observer with syncEnabled=false logged %d txns", n)
	}
}
