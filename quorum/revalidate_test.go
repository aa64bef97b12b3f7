package quorum

import "testing"

// A REVALIDATE the learner gave up on (timeout, lost connection) must not take the leader's
// late answer from the next client resuming the same session.
func TestDroppedRevalidationLeavesTheAnswerToTheNextWaiter(t *testing.T) {
	n := &Node{reval: map[int64][]chan bool{}}
	const session = 42
	gaveUp, waiting := make(chan bool, 1), make(chan bool, 1)
	n.reval[session] = []chan bool{gaveUp, waiting}
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
	n.reval[session] = []chan bool{gaveUp}
	n.dropRevalidation(session, gaveUp)
	if _, ok := n.reval[session]; ok {
		t.Fatal("dropping the only waiter left the session in the table")
	}
}
