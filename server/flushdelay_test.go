package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// zookeeper.flushDelay: a write right after a sync waits for more to share the next one,
// until a poll time (maxWriteQueuePollTime) passes without another; zookeeper.maxBatchSize
// ends the wait once that many are waiting.
func TestFlushDelay(t *testing.T) {
	_, addr := startServer(t, map[string]string{"zookeeper.flushDelay": "400", "zookeeper.maxWriteQueuePollTime": "400"})
	c, _ := connect(t, addr) // its createSession is a sync
	start := time.Now()
	if _, err := c.Create("/a", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("a create right after a sync took %v: no flushDelay", d)
	}

	_, addr = startServer(t, map[string]string{"zookeeper.flushDelay": "20000", "zookeeper.maxWriteQueuePollTime": "20000",
		"zookeeper.maxBatchSize": "4"})
	c, _ = connect(t, addr) // the first sync: no wait
	start = time.Now()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Create(fmt.Sprintf("/b%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("four creates with maxBatchSize=4 took %v: the batch waited for its delay", d)
	}
}
