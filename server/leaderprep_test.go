package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// neverCommits is an ensemble whose proposals never commit: what the leader prepares is
// all that happens.
type neverCommits struct {
	mu       sync.Mutex
	proposed []*Txn
}

func (e *neverCommits) Propose(batch []*Txn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.proposed = append(e.proposed, batch...)
	return nil
}
func (e *neverCommits) Forward(int64, int32, int32, []byte, []jute.Id) error { return nil }
func (e *neverCommits) SyncLeader(func())                                    {}
func (e *neverCommits) SyncFor(uint64)                                       {}
func (e *neverCommits) Revalidate(int64, int32) (bool, error)                { return false, nil }
func (e *neverCommits) Info() QuorumInfo                                     { return QuorumInfo{} }
func (e *neverCommits) CheckReconfig(*config.Verifier) error                 { return nil }
func (e *neverCommits) Observers() ([]LearnerConnInfo, bool)                 { return nil, false }
func (e *neverCommits) ResetObserverStats()                                  {}

// TestLeaderTracksASessionWhenItPreparesIt: a request of a session whose createSession the
// leader has proposed but not yet applied (a follower applied the commit first and answered
// its client) is prepared as the session's, not failed with SESSIONEXPIRED.
func TestLeaderTracksASessionWhenItPreparesIt(t *testing.T) {
	ens := &neverCommits{}
	s := startMember(t, ens, 1)
	s.BecomeLeader(0)

	const session = 0x0200000000000042
	timeout := binary.BigEndian.AppendUint32(nil, 4000)
	if err := s.SubmitRemote(2, session, 0, jute.OpCreateSession, timeout, nil); err != nil {
		t.Fatal(err)
	}
	create := jute.Marshal(&jute.CreateRequest{Path: "/x", Data: []byte("v"), ACL: []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}})
	if err := s.SubmitRemote(2, session, 1, jute.OpCreate, create, []jute.Id{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ens.mu.Lock()
		n := len(ens.proposed)
		var types []int32
		for _, txn := range ens.proposed {
			types = append(types, txn.Hdr.Type)
		}
		ens.mu.Unlock()
		if n >= 2 {
			if types[0] != jute.OpCreateSession || types[1] != jute.OpCreate {
				t.Fatalf("proposed txn types %v, want [%d %d] (an error txn is %d)", types, jute.OpCreateSession, jute.OpCreate, jute.OpError)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d txns proposed after 5s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startMember starts a server on loopback as ensemble member id with a fake ensemble (set
// before Start, as a member does); the caller gives it its role.
func startMember(t *testing.T, ens Ensemble, id int64) *Server {
	t.Helper()
	s, _ := startServerWith(t, nil, func(s *Server) { s.SetEnsemble(ens, id) })
	return s
}
