package persistence

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// TestSnapshotLoadTime writes a populate-like snapshot of ZKGO_LOADTEST znodes and times
// loading it (GC off, as at server start). Off unless ZKGO_LOADTEST is set.
func TestSnapshotLoadTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZKGO_LOADTEST"))
	if n <= 0 {
		t.Skip("set ZKGO_LOADTEST=N")
	}
	tr := datatree.New()
	zxid := int64(1)
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	create := func(p string, data []byte) {
		tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Type: jute.OpCreate, Time: zxid}, &jute.CreateTxn{Path: p, Data: data, ACL: acl, ParentCVersion: -1})
		zxid++
	}
	create("/pop", nil)
	for i := 0; i < (n+999)/1000; i++ {
		create(fmt.Sprintf("/pop/p%04d", i), nil)
	}
	value := make([]byte, 100)
	for i := 0; i < n; i++ {
		create(fmt.Sprintf("/pop/p%04d/k%07d", i/1000, i), append([]byte(nil), value...))
	}
	dir := t.TempDir()
	start := time.Now()
	name, err := WriteSnapshot(dir, tr.CopyForSnapshot(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("write: %v", time.Since(start))
	tr = nil
	for i := 0; i < 3; i++ {
		runtime.GC()
		gc := debug.SetGCPercent(-1)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start = time.Now()
		s, err := ReadSnapshot(name, zxid-1, datatree.OwnersBasic)
		el := time.Since(start)
		runtime.ReadMemStats(&m1)
		debug.SetGCPercent(gc)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("load: %v, %d nodes, %.0f B/node allocated, %.1f allocs/node", el, s.Tree.NodeCount(),
			float64(m1.TotalAlloc-m0.TotalAlloc)/float64(n), float64(m1.Mallocs-m0.Mallocs)/float64(n))
	}
}
