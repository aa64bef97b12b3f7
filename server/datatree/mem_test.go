package datatree

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/zkgo/zkgo/jute"
)

// buildPopulate builds the tree zkbench --workload populate makes: /pop/pNNNN/kNNNNNNN,
// fanout children per parent, valueSize-byte values, world:anyone ACLs, persistent nodes.
func buildPopulate(t testing.TB, n, fanout, valueSize int) *Tree {
	tr := New()
	zxid := int64(1)
	create := func(p string, data []byte) {
		hdr := &jute.TxnHeader{Zxid: zxid, Type: jute.OpCreate, Time: 1700000000000 + zxid}
		acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
		var d []byte
		if data != nil {
			d = append([]byte(nil), data...)
		}
		res := tr.ProcessTxn(hdr, &jute.CreateTxn{Path: string([]byte(p)), Data: d, ACL: acl, ParentCVersion: -1})
		if res.Err != jute.OK {
			t.Fatalf("create %s: %v", p, res.Err)
		}
		zxid++
	}
	create("/pop", nil)
	for i := 0; i < (n+fanout-1)/fanout; i++ {
		create(fmt.Sprintf("/pop/p%04d", i), nil)
	}
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	for i := 0; i < n; i++ {
		create(fmt.Sprintf("/pop/p%04d/k%07d", i/fanout, i), value)
	}
	return tr
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMemPerNode reports the live heap per znode of a populate-like tree, and what a snapshot
// walk and a snapshot load allocate. ZKGO_MEMTEST=N (e.g. 1000000) enables it.
func TestMemPerNode(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZKGO_MEMTEST"))
	if n <= 0 {
		t.Skip("set ZKGO_MEMTEST=N to measure")
	}
	before := heapInuse()
	tr := buildPopulate(t, n, 1000, 100)
	after := heapInuse()
	t.Logf("live heap: %.1f B/znode (%d znodes, %.1f MiB)", float64(after-before)/float64(n), tr.NodeCount(), float64(after-before)/(1<<20))
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	walkForMemTest(tr)
	runtime.ReadMemStats(&m1)
	t.Logf("snapshot walk: %.1f B/znode allocated, %d allocs", float64(m1.TotalAlloc-m0.TotalAlloc)/float64(n), m1.Mallocs-m0.Mallocs)
	runtime.KeepAlive(tr)
}
