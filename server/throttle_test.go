package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

// heldCommits is an ensemble whose proposals commit at once unless held; release commits
// everything proposed. Its other methods are neverCommits' stubs.
type heldCommits struct {
	neverCommits
	s    *Server
	mu   sync.Mutex
	hold bool
	last int64
	n    int // proposals while held
}

func (e *heldCommits) Propose(batch []*Txn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = batch[len(batch)-1].Hdr.Zxid
	if e.hold {
		e.n += len(batch)
		return nil
	}
	e.s.Committed(e.last, e.last)
	return nil
}

// startHeldLeader starts a server with props leading a heldCommits ensemble (beforeStart may
// tune it further); nothing is held until setHold.
func startHeldLeader(t *testing.T, props map[string]string, beforeStart func(*Server)) (*heldCommits, *Server, string) {
	t.Helper()
	ens := &heldCommits{}
	s, addr := startServerWith(t, props, func(s *Server) {
		ens.s = s
		s.SetEnsemble(ens, 1)
		if beforeStart != nil {
			beforeStart(s)
		}
	})
	s.BecomeLeader(0)
	return ens, s, addr
}

func (e *heldCommits) setHold(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hold = on
}

func (e *heldCommits) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hold = false
	e.s.Committed(e.last, e.last)
}

func (e *heldCommits) held() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

// zookeeper.globalOutstandingLimit: while more requests than the limit wait in the server's
// connections, a connection with requests waiting is not read (ZooKeeperServer.shouldThrottle),
// so a client pipelining writes that do not commit gets no more than the limit (plus the
// request in hand) into the pipeline; once they commit, every request is read and answered
// in order.
func TestGlobalOutstandingLimitStopsReading(t *testing.T) {
	ens, _, addr := startHeldLeader(t, map[string]string{"zookeeper.globalOutstandingLimit": "5"}, nil)
	nc, readFrame := dialRawSession(t, addr)

	ens.setHold(true)
	const writes = 50
	var reqs []byte
	for i := 1; i <= writes; i++ {
		e := jute.NewEncoder(64)
		(&jute.RequestHeader{Xid: int32(i), Type: jute.OpCreate}).Encode(e)
		body := rawzk.CreateBody("/n-"+string(rune('a'+i%26))+string(rune('a'+i/26)), nil, jute.OpenACLUnsafe, 0)
		reqs = append(reqs, framed(append(e.B, body...))...)
	}
	if _, err := nc.Write(reqs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := ens.held(); n < 5 || n > 6 {
		t.Fatalf("%d creates proposed while none committed, want the limit of 5 (or 6: the one read when it was reached)", n)
	}
	ens.release()
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := 1; i <= writes; i++ {
		b := readFrame()
		if xid := int32(binary.BigEndian.Uint32(b)); xid != int32(i) {
			t.Fatalf("reply %d has xid %d", i, xid)
		}
		if code := int32(binary.BigEndian.Uint32(b[12:])); code != 0 {
			t.Fatalf("create %d failed: %d", i, code)
		}
		// Later requests reach the pipeline as earlier ones commit: commit them too.
		ens.release()
	}
}
