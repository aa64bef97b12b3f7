package quorum

import (
	"testing"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
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
