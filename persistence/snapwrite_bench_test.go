package persistence

import (
	"strconv"
	"testing"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// BenchmarkWriteSnapshotFlat writes a snapshot of 300k znodes of 100 bytes under one parent,
// created by 32 sessions in turn as zkbench's create load makes them (ns/op is per snapshot;
// ns/node per znode).
func BenchmarkWriteSnapshotFlat(b *testing.B) {
	const n = 300000
	tr := datatree.New()
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	zxid := int64(1)
	create := func(p string, data []byte) {
		tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Type: jute.OpCreate, Time: zxid}, &jute.CreateTxn{Path: p, Data: data, ACL: acl, ParentCVersion: -1})
		zxid++
	}
	create("/zkbench", nil)
	value := make([]byte, 100)
	for i := 0; i < n; i++ {
		create("/zkbench/c"+strconv.Itoa(i%32)+"-"+strconv.Itoa(i/32), append([]byte(nil), value...))
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := WriteSnapshot(dir, tr.CopyForSnapshot(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}
