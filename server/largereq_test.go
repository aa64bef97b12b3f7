package server

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

func createFrame(xid int32, path string, data []byte) []byte {
	e := jute.NewEncoder(64)
	(&jute.RequestHeader{Xid: xid, Type: jute.OpCreate}).Encode(e)
	return framed(append(e.B, rawzk.CreateBody(path, data, jute.OpenACLUnsafe, 0)...))
}

// zookeeper.largeRequestThreshold / largeRequestMaxBytes: requests over the threshold count
// their bytes until answered; a connection whose large request would pass the maximum is
// closed (ZooKeeperServer.checkRequestSize*), others go on, and answered requests give their
// bytes back.
func TestLargeRequestLimit(t *testing.T) {
	ens, s, addr := startHeldLeader(t, map[string]string{
		"zookeeper.largeRequestThreshold":  "1000",
		"zookeeper.largeRequestMaxBytes":   "3000",
		"zookeeper.4lw.commands.whitelist": "mntr",
	}, nil)
	big := make([]byte, 1300)
	// Sessions first: their createSession commits too.
	a, readA := dialRawSession(t, addr)
	b, _ := dialRawSession(t, addr)
	c, readC := dialRawSession(t, addr)
	d, readD := dialRawSession(t, addr)

	ens.setHold(true)
	if _, err := a.Write(append(createFrame(1, "/a1", big), createFrame(2, "/a2", big)...)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ens.held() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ens.held() != 2 {
		t.Fatalf("%d large creates proposed, want 2 (2 x ~1330 bytes fit in 3000)", ens.held())
	}

	// A third would pass 3000 bytes: its connection is closed, unanswered.
	if _, err := b.Write(createFrame(1, "/b", big)); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := b.Read(make([]byte, 64)); err != io.EOF {
		t.Fatalf("the connection over the limit read %d bytes, %v; want it closed", n, err)
	}
	if got := mntrValue(t, addr, "zk_large_requests_rejected"); got != 1 {
		t.Fatalf("zk_large_requests_rejected = %d, want 1", got)
	}
	// A request under the threshold is not counted, whatever the total.
	if _, err := c.Write(createFrame(1, "/c", []byte("small"))); err != nil {
		t.Fatal(err)
	}

	ens.release()
	a.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := int32(1); i <= 2; i++ {
		if rep := readA(); int32(binary.BigEndian.Uint32(rep)) != i || binary.BigEndian.Uint32(rep[12:]) != 0 {
			t.Fatalf("large create %d answered %x", i, rep[:16])
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rep := readC(); binary.BigEndian.Uint32(rep[12:]) != 0 {
		t.Fatalf("small create answered %x", rep[:16])
	}
	if n := s.large.bytes.Load(); n != 0 {
		t.Fatalf("%d large request bytes still counted after every request was answered", n)
	}

	// The bytes are back: large writes and a large read (a long path) go through again.
	ens.setHold(false)
	e := jute.NewEncoder(64)
	(&jute.RequestHeader{Xid: 2, Type: jute.OpExists}).Encode(e)
	e.String("/" + strings.Repeat("x", 1200))
	e.Bool(false)
	if _, err := d.Write(append(createFrame(1, "/d", big), framed(e.B)...)); err != nil {
		t.Fatal(err)
	}
	d.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rep := readD(); binary.BigEndian.Uint32(rep[12:]) != 0 {
		t.Fatalf("large create after the release answered %x", rep[:16])
	}
	if rep := readD(); int32(binary.BigEndian.Uint32(rep[12:])) != int32(jute.NoNode) {
		t.Fatalf("large exists answered %x, want NONODE", rep[:16])
	}
	if n := s.large.bytes.Load(); n != 0 {
		t.Fatalf("%d large request bytes still counted", n)
	}
	if got := mntrValue(t, addr, "zk_large_requests_rejected"); got != 1 {
		t.Fatalf("zk_large_requests_rejected = %d, want still 1", got)
	}
}
