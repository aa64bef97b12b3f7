package datatree

import (
	"fmt"
	"testing"

	"github.com/zkgo/zkgo/jute"
)

// BenchmarkGet is a read's tree work: path lookup and Stat under the read lock, over 64 (hot
// in cache) or 4096 distinct znodes of a 100k-znode tree.
func BenchmarkGet(b *testing.B) {
	tr := buildPopulate(b, 100000, 1000, 100)
	for _, distinct := range []int{64, 4096} {
		paths := make([]string, distinct)
		for i := range paths {
			k := i * 24421 % 100000
			paths[i] = fmt.Sprintf("/pop/p%04d/k%07d", k/1000, k)
		}
		b.Run(fmt.Sprint(distinct), func(b *testing.B) {
			var st jute.Stat
			for i := 0; i < b.N; i++ {
				tr.RLock()
				tr.Stat(tr.Get(paths[i%distinct]), &st)
				tr.RUnlock()
			}
		})
	}
}

// BenchmarkCreateDelete applies a create and a delete of a 100-byte znode.
func BenchmarkCreateDelete(b *testing.B) {
	tr := buildPopulate(b, 100000, 1000, 100)
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	data := make([]byte, 100)
	for i := 0; i < b.N; i++ {
		z := int64(1000000 + 2*i)
		tr.ProcessTxn(&jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, &jute.CreateTxn{Path: "/pop/p0042/x", Data: data, ACL: acl, ParentCVersion: -1})
		tr.ProcessTxn(&jute.TxnHeader{Zxid: z + 1, Type: jute.OpDelete}, &jute.DeleteTxn{Path: "/pop/p0042/x"})
	}
}

// BenchmarkSetData applies a setData of a 100-byte value.
func BenchmarkSetData(b *testing.B) {
	tr := buildPopulate(b, 100000, 1000, 100)
	data := make([]byte, 100)
	paths := make([]string, 4096)
	for i := range paths {
		paths[i] = fmt.Sprintf("/pop/p%04d/k%07d", i%100, (i%100)*1000+i/100)
	}
	for i := 0; i < b.N; i++ {
		tr.ProcessTxn(&jute.TxnHeader{Zxid: int64(1000000 + i), Type: jute.OpSetData}, &jute.SetDataTxn{Path: paths[i%4096], Data: data, Version: 1})
	}
}
