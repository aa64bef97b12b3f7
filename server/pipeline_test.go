package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/persistence"
)

// Writes from many sessions while the log fails now and then (disk full) with several batches
// in flight: every acknowledged write is applied and survives a restart, no failed one is
// visible, the log's zxids stay consecutive, and the prepared digests match the applied tree.
func TestDiskFullWithBatchesInFlight(t *testing.T) {
	dir := t.TempDir()
	s := serverOn(t, dir, map[string]string{"zookeeper.snapCount": "200"})
	var full atomic.Bool
	var fails atomic.Int64
	s.disk.log.InjectFailure(func() error {
		time.Sleep(300 * time.Microsecond) // a slow disk: batches pile up behind the fsync
		if full.Load() {
			fails.Add(1)
			return syscall.ENOSPC
		}
		return nil
	})
	const clients = 8
	acl := zk.WorldACL(zk.PermAll)
	conns := make([]*zk.Conn, clients)
	for i := range conns {
		conns[i], _ = connect(t, s.Addr().String())
		if _, err := conns[i].Create(fmt.Sprintf("/k%d", i), []byte("0"), 0, acl); err != nil {
			t.Fatal(err)
		}
		if _, err := conns[i].Create(fmt.Sprintf("/c%d", i), nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var flipper sync.WaitGroup
	flipper.Add(1)
	go func() {
		defer flipper.Done()
		for {
			select {
			case <-stop:
				full.Store(false)
				return
			case <-time.After(20 * time.Millisecond):
			}
			full.Store(true)
			time.Sleep(2 * time.Millisecond)
			full.Store(false)
		}
	}()
	lastSet := make([]int, clients) // last acknowledged value of /k<i>
	created := make([]int, clients) // acknowledged children of /c<i>
	failedW := make([]int, clients) // writes answered with an error
	var wg sync.WaitGroup
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := conns[i]
			for n := 1; time.Now().Before(deadline); n++ {
				if _, err := c.Set(fmt.Sprintf("/k%d", i), []byte(strconv.Itoa(n)), -1); err == nil {
					lastSet[i] = n
				} else {
					failedW[i]++
				}
				if _, err := c.Create(fmt.Sprintf("/c%d/n-", i), nil, zk.FlagSequence, acl); err == nil {
					created[i]++
				} else {
					failedW[i]++
				}
				// A read behind the writes sees them.
				if d, _, err := c.Get(fmt.Sprintf("/k%d", i)); err != nil || string(d) != strconv.Itoa(lastSet[i]) {
					t.Errorf("client %d: read %q after last acknowledged set %d (%v)", i, d, lastSet[i], err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	flipper.Wait()
	totalFailed := 0
	for _, f := range failedW {
		totalFailed += f
	}
	if fails.Load() == 0 || totalFailed == 0 {
		t.Fatalf("no write failed (%d failed commits): the test did not exercise the failure path", fails.Load())
	}
	check := func(s *Server, c *zk.Conn, when string) {
		for i := 0; i < clients; i++ {
			d, _, err := c.Get(fmt.Sprintf("/k%d", i))
			if err != nil || string(d) != strconv.Itoa(lastSet[i]) {
				t.Fatalf("%s: /k%d = %q (%v), last acknowledged %d", when, i, d, err, lastSet[i])
			}
			kids, _, err := c.Children(fmt.Sprintf("/c%d", i))
			if err != nil || len(kids) != created[i] {
				t.Fatalf("%s: /c%d has %d children (%v), %d acknowledged", when, i, len(kids), err, created[i])
			}
		}
		if m := s.DigestMismatches(); m != 0 {
			t.Fatalf("%s: %d digest mismatches at apply", when, m)
		}
	}
	check(s, conns[0], "before restart")
	t.Logf("%d failed commits, %d failed writes", fails.Load(), totalFailed)
	s.Close()
	for _, c := range conns {
		c.Close()
	}

	// Every log holds consecutive zxids and each starts where the one before it ended.
	ents, err := os.ReadDir(persistence.LogDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	type logFile struct {
		name  string
		first int64
	}
	var logs []logFile
	for _, e := range ents {
		if z, ok := strings.CutPrefix(e.Name(), "log."); ok {
			v, _ := strconv.ParseInt(z, 16, 64)
			logs = append(logs, logFile{e.Name(), v})
		}
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i].first < logs[j].first })
	var prev int64 = -1
	for _, lf := range logs {
		if prev >= 0 && lf.first != prev+1 {
			t.Fatalf("%s starts at %x, the log before ended at %x", lf.name, lf.first, prev)
		}
		err := persistence.ReadLogFile(filepath.Join(persistence.LogDir(dir), lf.name), func(lt *persistence.LoggedTxn) error {
			if prev >= 0 && lt.Hdr.Zxid != prev+1 {
				return fmt.Errorf("zxid %x after %x", lt.Hdr.Zxid, prev)
			}
			prev = lt.Hdr.Zxid
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", lf.name, err)
		}
	}

	s2 := serverOn(t, dir, nil)
	defer s2.Close()
	c2, _ := connect(t, s2.Addr().String())
	defer c2.Close()
	if s2.restoreDigests.mismatched != 0 {
		t.Fatalf("restore: %d digest mismatches", s2.restoreDigests.mismatched)
	}
	check(s2, c2, "after restart")
}
