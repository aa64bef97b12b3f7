package quorum

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// A background snapshot of a live tree must read the session table after its zxid is
// fixed. The fault test (internal/faulttest) found the opposite order: a session created
// in between was in neither the snapshot nor the log replayed after it, so after a restart
// (or a reload on LOOKING) its ephemerals were there and the session was not; the member,
// once leader, told the session's client it had expired and never removed its ephemerals.
func TestWriteSnapshotFromReadsSessionsAfterTheZxidIsFixed(t *testing.T) {
	dir := t.TempDir()
	st, res, err := OpenStore(dir, dir, persistence.LogOptions{}, persistence.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetAcceptedEpoch(1); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCurrentEpoch(1); err != nil {
		t.Fatal(err)
	}
	tree := res.Tree
	live := map[int64]int32{} // the server's session table
	createSession := func(zxid int64, id int64) {
		t.Helper()
		hdr := jute.TxnHeader{ClientID: id, Zxid: zxid, Type: jute.OpCreateSession}
		txn := &jute.CreateSessionTxn{TimeOut: 4000}
		if err := st.Append([]zab.Txn{{Zxid: zab.Zxid(zxid), Data: persistence.RecordTxn(persistence.EncodeRecord(&hdr, txn, nil))}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(); err != nil {
			t.Fatal(err)
		}
		tree.Lock()
		tree.ProcessTxn(&hdr, txn)
		tree.Unlock()
		live[id] = 4000
	}
	copyLive := func() map[int64]int32 {
		m := make(map[int64]int32, len(live))
		for k, v := range live {
			m[k] = v
		}
		return m
	}

	z1, z2 := int64(zab.MakeZxid(1, 1)), int64(zab.MakeZxid(1, 2))
	createSession(z1, 0x11)
	err = st.WriteSnapshotFrom(tree, func() map[int64]int32 {
		// The table as it is when read; the node goes on applying right after: session
		// 0x22 at z2. Read before the zxid is fixed, the snapshot would be named z2 and
		// lack 0x22, and no replay would bring it back.
		m := copyLive()
		createSession(z2, 0x22)
		return m
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, res, err = OpenStore(dir, dir, persistence.LogOptions{}, persistence.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []int64{0x11, 0x22} {
		if _, ok := res.Sessions[id]; !ok {
			t.Errorf("session 0x%x lost across the snapshot (snapshot zxid 0x%x, sessions %v)", id, res.SnapZxid, res.Sessions)
		}
	}
	if res.LastZxid != z2 {
		t.Errorf("last zxid 0x%x, want 0x%x", res.LastZxid, z2)
	}
}

// storeFixture is a store with a tree, and txns (creates of /n<zxid>) logged and applied.
type storeFixture struct {
	t    *testing.T
	dir  string
	st   *Store
	tree *datatree.Tree
}

func openFixture(t *testing.T, dir string) *storeFixture {
	t.Helper()
	st, res, err := OpenStore(dir, dir, persistence.LogOptions{}, persistence.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, c := st.Epochs(); a < 5 || c < 5 {
		if err := st.SetAcceptedEpoch(5); err != nil {
			t.Fatal(err)
		}
		if err := st.SetCurrentEpoch(5); err != nil {
			t.Fatal(err)
		}
	}
	return &storeFixture{t: t, dir: dir, st: st, tree: res.Tree}
}

func (f *storeFixture) create(zxid zab.Zxid) {
	f.t.Helper()
	hdr := jute.TxnHeader{ClientID: 1, Zxid: int64(zxid), Type: jute.OpCreate}
	txn := &jute.CreateTxn{Path: fmt.Sprintf("/n%x", int64(zxid)), ACL: jute.OpenACLUnsafe, ParentCVersion: -1}
	if err := f.st.Append([]zab.Txn{{Zxid: zxid, Data: persistence.RecordTxn(persistence.EncodeRecord(&hdr, txn, nil))}}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.Commit(); err != nil {
		f.t.Fatal(err)
	}
	f.tree.Lock()
	f.tree.ProcessTxn(&hdr, txn)
	f.tree.Unlock()
}

func (f *storeFixture) files() []string {
	var names []string
	for _, d := range []string{persistence.SnapDir(f.dir), persistence.LogDir(f.dir)} {
		for _, p := range []string{"snapshot", "log"} {
			fs, err := persistence.ZxidFiles(d, p)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, x := range fs {
				names = append(names, filepath.Base(x.Path))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// leaderTree is the state a SNAP brings: /n<zxid> for the given zxids.
func leaderTree(t *testing.T, zxids ...zab.Zxid) *datatree.Tree {
	tree := datatree.New()
	for _, z := range zxids {
		hdr := jute.TxnHeader{ClientID: 1, Zxid: int64(z), Type: jute.OpCreate}
		tree.Lock()
		tree.ProcessTxn(&hdr, &jute.CreateTxn{Path: fmt.Sprintf("/n%x", int64(z)), ACL: jute.OpenACLUnsafe, ParentCVersion: -1})
		tree.Unlock()
	}
	tree.SetLastProcessedZxid(int64(zxids[len(zxids)-1]))
	return tree
}

func hasNode(tree *datatree.Tree, z zab.Zxid) bool {
	return tree.Get(fmt.Sprintf("/n%x", int64(z))) != nil
}

// A SNAP replaces the learner's history: afterwards only its snapshot is left, and a crash
// anywhere after the install commits never brings old log records back on top of it. Here
// the learner's own history ran ahead in epoch 5 (0x500000001..3, never committed) and the
// leader's SNAP is at 0x400000002.
func TestInstallSnapshotReplacesTheHistory(t *testing.T) {
	for _, crashBeforeRemoval := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashBeforeRemoval=%v", crashBeforeRemoval), func(t *testing.T) {
			dir := t.TempDir()
			f := openFixture(t, dir)
			f.create(zab.MakeZxid(4, 1))
			if err := f.st.WriteSnapshot(f.tree, nil); err != nil {
				t.Fatal(err)
			}
			for i := uint32(1); i <= 3; i++ {
				f.create(zab.MakeZxid(5, i))
			}
			snap := leaderTree(t, zab.MakeZxid(4, 1), zab.MakeZxid(4, 2))
			if crashBeforeRemoval {
				// The install's first steps only: its snapshot, then the commit mark.
				if err := f.st.WriteSnapshot(snap, nil); err != nil {
					t.Fatal(err)
				}
				if err := f.st.meta.SetInstalling(fmt.Sprintf("snapshot.%x", int64(zab.MakeZxid(4, 2))), int64(zab.MakeZxid(4, 2))); err != nil {
					t.Fatal(err)
				}
			} else if err := f.st.InstallSnapshot(snap, nil); err != nil {
				t.Fatal(err)
			}
			if err := f.st.Close(); err != nil {
				t.Fatal(err)
			}
			g := openFixture(t, dir)
			defer g.st.Close()
			if got, want := g.files(), []string{fmt.Sprintf("snapshot.%x", int64(zab.MakeZxid(4, 2)))}; !slices.Equal(got, want) {
				t.Fatalf("files after the install: %v, want %v", got, want)
			}
			if g.st.LastZxid() != zab.MakeZxid(4, 2) || !hasNode(g.tree, zab.MakeZxid(4, 2)) || hasNode(g.tree, zab.MakeZxid(5, 1)) {
				t.Fatalf("restored last zxid %s; /n%x present %v, old /n%x present %v", g.st.LastZxid(),
					int64(zab.MakeZxid(4, 2)), hasNode(g.tree, zab.MakeZxid(4, 2)), int64(zab.MakeZxid(5, 1)), hasNode(g.tree, zab.MakeZxid(5, 1)))
			}
		})
	}
}

// A TRUNC below every snapshot cannot be carried out: the store refuses it and leaves the
// data dir as it was (it used to delete the newer snapshots first, leaving nothing to start
// from).
func TestTruncateBelowEverySnapshotChangesNothing(t *testing.T) {
	dir := t.TempDir()
	f := openFixture(t, dir)
	defer f.st.Close()
	if err := f.st.InstallSnapshot(leaderTree(t, zab.MakeZxid(4, 1), zab.MakeZxid(4, 2), zab.MakeZxid(4, 3)), nil); err != nil {
		t.Fatal(err)
	}
	f.create(zab.MakeZxid(4, 4))
	before := f.files()
	if err := f.st.Truncate(zab.MakeZxid(4, 2)); err == nil {
		t.Fatal("TRUNC below the only snapshot accepted")
	}
	if after := f.files(); !slices.Equal(after, before) {
		t.Fatalf("files changed by a refused TRUNC: %v, before %v", after, before)
	}
}

// A crash between installing a SNAP of a newer epoch and writing that epoch leaves the
// current epoch behind the last zxid (ZOOKEEPER-1653). The store starts such a data dir as
// a follower of the snapshot's epoch, and still refuses the same gap when no SNAP explains
// it (the fault test found the member refusing to start after a kill -9 in that window).
func TestCurrentEpochBehindAnInstalledSnapshot(t *testing.T) {
	dir := t.TempDir()
	f := openFixture(t, dir) // epochs 5 and 5
	f.create(zab.MakeZxid(5, 1))
	if err := f.st.SetAcceptedEpoch(6); err != nil { // LEADERINFO of epoch 6
		t.Fatal(err)
	}
	snap := zab.MakeZxid(6, 2)
	if err := f.st.InstallSnapshot(leaderTree(t, zab.MakeZxid(5, 1), snap), nil); err != nil {
		t.Fatal(err)
	}
	f.st.Close() // killed before SetCurrentEpoch(6)
	g := openFixture(t, dir)
	if acc, cur := g.st.Epochs(); acc != 6 || cur != 6 || g.st.LastZxid() != snap {
		t.Fatalf("epochs %d/%d, last zxid %s after the restart; want 6/6 and %s", acc, cur, g.st.LastZxid(), snap)
	}
	g.st.Close()

	// The same gap from logged txns, not from a SNAP, is refused.
	dir2 := t.TempDir()
	h := openFixture(t, dir2)
	if err := h.st.SetAcceptedEpoch(7); err != nil {
		t.Fatal(err)
	}
	h.create(zab.MakeZxid(7, 1))
	h.st.Close()
	if st, _, err := OpenStore(dir2, dir2, persistence.LogOptions{}, persistence.RestoreOptions{}); err == nil {
		st.Close()
		t.Fatal("a data dir whose log is ahead of its current epoch without a SNAP was accepted")
	}
}
