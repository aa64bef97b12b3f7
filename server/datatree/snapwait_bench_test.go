package datatree_test

import (
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// BenchmarkWritesDuringSnapshots: one goroutine writes snapshots of a 300k-node tree back
// to back (persistence.WriteSnapshotBody, as a server's background snapshot) while the
// benchmark applies setData txns, each taking the tree's write lock as the apply stage
// does. Reported: lock-wait/p50 and p99 in ns, and the snapshots written meanwhile.
func BenchmarkWritesDuringSnapshots(b *testing.B) {
	tr := datatree.New()
	zxid := int64(1)
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	create := func(p string, d []byte) {
		tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Type: jute.OpCreate, Time: 1}, &jute.CreateTxn{Path: p, Data: d, ACL: acl, ParentCVersion: -1})
		zxid++
	}
	const nodes, fanout = 300000, 1000
	val := make([]byte, 100)
	create("/pop", nil)
	for i := 0; i < nodes/fanout; i++ {
		create(fmt.Sprintf("/pop/p%04d", i), nil)
	}
	paths := make([]string, nodes)
	for i := range paths {
		paths[i] = fmt.Sprintf("/pop/p%04d/k%07d", i/fanout, i)
		create(paths[i], val)
	}
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		snaps := 0
		for {
			select {
			case <-stop:
				done <- snaps
				return
			default:
			}
			if err := persistence.WriteSnapshotBody(io.Discard, tr.CopyForSnapshot(), nil); err != nil {
				panic(err)
			}
			snaps++
		}
	}()
	waits := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		tr.Lock()
		waits = append(waits, time.Since(start))
		tr.Unlock()
		tr.ProcessTxn(&jute.TxnHeader{Zxid: zxid, Type: jute.OpSetData, Time: 1}, &jute.SetDataTxn{Path: paths[i%nodes], Data: val, Version: 1})
		zxid++
	}
	b.StopTimer()
	close(stop)
	snaps := <-done
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	b.ReportMetric(float64(waits[len(waits)/2]), "lock-wait-p50-ns")
	b.ReportMetric(float64(waits[len(waits)*99/100]), "lock-wait-p99-ns")
	b.ReportMetric(float64(snaps), "snapshots")
}
