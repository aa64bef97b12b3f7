package server

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zkgo/zkgo/jute"
)

// revalidator is a leader as a learner sees it when a client resumes a session there.
type revalidator struct {
	neverCommits
	rmu   sync.Mutex
	valid bool
	err   error
}

func (e *revalidator) Revalidate(int64, int32) (bool, error) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	return e.valid, e.err
}

func (e *revalidator) answer(valid bool, err error) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	e.valid, e.err = valid, err
}

// TestResumeWhenTheLeaderCannotRevalidate: a learner that cannot get the leader's answer
// on a resumed session closes the connection without answering; only the leader's "not
// valid" tells the client that its session expired (a connect response with session 0).
// Telling it so for want of an answer ended live sessions: go-zookeeper, kazoo and
// Curator treat it as the loss of the session's ephemerals, locks and leadership.
func TestResumeWhenTheLeaderCannotRevalidate(t *testing.T) {
	ens := &revalidator{}
	s := startMember(t, ens, 2)
	s.BecomeLearner(false)

	const session = 0x0100000000000007
	// resume returns the connect response, or nil if the connection was closed unanswered.
	resume := func() *jute.ConnectResponse {
		t.Helper()
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		req := jute.Marshal(&jute.ConnectRequest{TimeOut: 30000, SessionID: session, Passwd: sessionPassword(session)})
		if _, err := nc.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(req))), req...)); err != nil {
			t.Fatal(err)
		}
		var l [4]byte
		if _, err := io.ReadFull(nc, l[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the connection was neither answered nor closed")
			}
			return nil
		}
		b := make([]byte, binary.BigEndian.Uint32(l[:]))
		if _, err := io.ReadFull(nc, b); err != nil {
			t.Fatal(err)
		}
		var resp jute.ConnectResponse
		if err := jute.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		return &resp
	}

	ens.answer(false, errors.New("no answer from the leader"))
	if resp := resume(); resp != nil {
		t.Fatalf("leader unreachable: the client was answered %+v (session 0 = expired); want the connection closed", *resp)
	}
	ens.answer(false, nil)
	if resp := resume(); resp == nil || resp.SessionID != 0 {
		t.Fatalf("leader says invalid: answer %+v, want a connect response with session 0", resp)
	}
	ens.answer(true, nil)
	if resp := resume(); resp == nil || resp.SessionID != session || resp.TimeOut <= 0 {
		t.Fatalf("leader says valid: answer %+v, want the session resumed", resp)
	}
}
