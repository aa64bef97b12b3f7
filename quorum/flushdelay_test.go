package quorum

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// zookeeper.flushDelay on ensemble members: a log sync right after another waits for more
// txns until a poll time passes without one (the members' SyncRequestProcessor batching).
func TestEnsembleFlushDelay(t *testing.T) {
	e := newEnsemble(t, 3, "flushDelay=400\nmaxWriteQueuePollTime=400\n")
	leader := e.startAll()
	c := e.connect(leader) // its createSession is a sync on every member
	start := time.Now()
	if _, err := c.Create("/a", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("a create right after a sync took %v: no flushDelay", d)
	}
}
