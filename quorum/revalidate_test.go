package quorum

import (
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
)

// A REVALIDATE the learner gave up on (timeout, lost connection) must not take the leader's
// late answer from the next client resuming the same session.
func TestDroppedRevalidationLeavesTheAnswerToTheNextWaiter(t *testing.T) {
	n := &Node{reval: map[int64][]revalWait{}}
	const session = 42
	gaveUp, waiting := make(chan bool, 1), make(chan bool, 1)
	n.reval[session] = []revalWait{{ch: gaveUp}, {ch: waiting}}
	n.dropRevalidation(session, gaveUp)
	n.revalidated(session, true)
	select {
	case ok := <-waiting:
		if !ok {
			t.Fatal("the waiter got false, want the leader's true")
		}
	default:
		t.Fatal("the leader's answer went to the REVALIDATE that was given up")
	}
	if len(gaveUp) != 0 {
		t.Fatal("the given-up REVALIDATE received an answer")
	}
	if _, ok := n.reval[session]; ok {
		t.Fatal("the session is still waited for after its last answer")
	}
	n.reval[session] = []revalWait{{ch: gaveUp}}
	n.dropRevalidation(session, gaveUp)
	if _, ok := n.reval[session]; ok {
		t.Fatal("dropping the only waiter left the session in the table")
	}
}

// A client resuming its session on a learner whose leader dies while the REVALIDATE is out
// is let go when the leader's connection closes, not after syncLimit (the failover
// benchmark saw one write wait 10 s, syncLimit, after a kill -9 of the leader).
func TestRevalidateEndsWhenTheLeaderConnectionCloses(t *testing.T) {
	nc, _ := tcpPair(t)
	n := &Node{cfg: &config.Config{SyncLimit: 30}, tickTime: time.Second, log: zerolog.Nop(),
		events: make(chan any, 16), stop: make(chan struct{}), reval: map[int64][]revalWait{}}
	c := newPeerConn(n, nc, 1)
	go c.writer()
	n.leaderC.Store(c)
	type result struct {
		valid bool
		err   error
	}
	done := make(chan result, 1)
	go func() {
		v, err := n.Revalidate(7, 30000)
		done <- result{v, err}
	}()
	time.Sleep(50 * time.Millisecond) // the REVALIDATE is out, unanswered
	c.fail(errors.New("leader gone"))
	select {
	case r := <-done:
		if r.err == nil {
			t.Fatalf("Revalidate = %v with no error after the leader's connection closed; want an error (unknown, not expired)", r.valid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Revalidate still waiting 5 s after the leader's connection closed (syncLimit is 30 s)")
	}
	n.revalMu.Lock()
	left := len(n.reval)
	n.revalMu.Unlock()
	if left != 0 {
		t.Fatalf("%d sessions still waiting for a REVALIDATE answer", left)
	}
}
