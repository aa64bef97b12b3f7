package server

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/jute"
)

// A client that stops reading while its large replies pile up must not hold up the apply
// stage (replies are written at once only while the socket takes them; the rest goes to the
// connection's writer), and once it reads again it gets every reply whole and in order.
func TestRepliesToANonReadingClient(t *testing.T) {
	_, addr := startServer(t, nil)
	nc, readFrame := dialRawSession(t, addr)
	writeFrame := func(b []byte) {
		t.Helper()
		if _, err := nc.Write(framed(b)); err != nil {
			t.Fatal(err)
		}
	}

	// Multis whose replies (each create's path) total several MB, more than the socket
	// buffers hold, sent without reading any reply.
	const multis, perMulti = 48, 400
	name := strings.Repeat("n", 200)
	for m := 0; m < multis; m++ {
		ops := make([]rawzk.Op, perMulti)
		for i := range ops {
			ops[i] = rawzk.Op{Type: jute.OpCreate, Path: fmt.Sprintf("/%s-%03d-%04d", name, m, i), ACL: jute.OpenACLUnsafe}
		}
		e := jute.NewEncoder(64)
		(&jute.RequestHeader{Xid: int32(m + 1), Type: jute.OpMulti}).Encode(e)
		writeFrame(append(e.B, rawzk.MultiBody(ops)...))
	}

	// Another client's writes go on meanwhile.
	c, _ := connect(t, addr)
	within(t, 20*time.Second, "a write of another client while one client was not reading", func() error {
		_, err := c.Create("/other", []byte("x"), 0, zk.WorldACL(zk.PermAll))
		return err
	})

	// Every reply, whole and in order.
	nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	for m := 0; m < multis; m++ {
		b := readFrame()
		if xid := int32(binary.BigEndian.Uint32(b)); xid != int32(m+1) {
			t.Fatalf("reply %d has xid %d", m, xid)
		}
		if errCode := int32(binary.BigEndian.Uint32(b[12:])); errCode != 0 {
			t.Fatalf("multi %d failed: %d", m, errCode)
		}
		// ReplyHeader, then per op MultiHeader (9 bytes) + path, then the terminator.
		want := 16 + perMulti*(9+4+len(fmt.Sprintf("/%s-%03d-%04d", name, 0, 0))) + 9
		if len(b) != want {
			t.Fatalf("reply %d is %d bytes, want %d", m, len(b), want)
		}
	}
}

// A client that sends many reads of a large node without reading the replies is held back
// by its socket, as a blocking write would: the connection's reader stops reading requests
// while more than holdOffOut waits to be written, instead of queueing replies past the 64 MiB
// limit (which would close the connection); other clients are served meanwhile, and once it
// reads it gets every reply whole and in order. The first reads wait behind a write, so the
// apply stage queues their replies and the connection's writer is stuck in a full socket when
// the rest arrive: the reader's own direct write cannot be what holds it back.
func TestLocalReadsToANonReadingClientWaitForIt(t *testing.T) {
	_, addr := startServer(t, nil)
	c, _ := connect(t, addr)
	big := make([]byte, 900<<10)
	for i := range big {
		big[i] = byte(i % 251)
	}
	if _, err := c.Create("/big", big, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	nc, readFrame := dialRawSession(t, addr)
	xid := int32(0)
	getData := func() []byte {
		xid++
		e := jute.NewEncoder(64)
		(&jute.RequestHeader{Xid: xid, Type: jute.OpGetData}).Encode(e)
		return framed(append(e.B, rawzk.PathWatchBody("/big", false)...))
	}
	// A create, then reads queued behind it: 5 replies of 900 KiB fill the socket buffers.
	xid++
	e := jute.NewEncoder(64)
	(&jute.RequestHeader{Xid: xid, Type: jute.OpCreate}).Encode(e)
	reqs := framed(append(e.B, jute.Marshal(&jute.CreateRequest{Path: "/w", ACL: jute.OpenACLUnsafe})...))
	const early, reads = 5, 100
	for i := 0; i < early; i++ {
		reqs = append(reqs, getData()...)
	}
	if _, err := nc.Write(reqs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the writer runs into the full socket

	// 100 more: far more than the socket buffers and than maxQueuedOut.
	reqs = nil
	for i := 0; i < reads; i++ {
		reqs = append(reqs, getData()...)
	}
	sent := make(chan error, 1)
	go func() { _, err := nc.Write(reqs); sent <- err }()

	// Other clients go on meanwhile.
	for i := 0; i < 3; i++ {
		within(t, 20*time.Second, "another client's create and read while one client was not reading", func() error {
			_, err := c.Create(fmt.Sprintf("/other-%d", i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
			if err == nil {
				_, _, err = c.Get("/other-0")
			}
			return err
		})
	}
	time.Sleep(200 * time.Millisecond) // let the server run into the full socket

	nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	for i := int32(1); i <= xid; i++ {
		b := readFrame()
		if got := int32(binary.BigEndian.Uint32(b)); got != i {
			t.Fatalf("reply %d has xid %d", i, got)
		}
		if errCode := int32(binary.BigEndian.Uint32(b[12:])); errCode != 0 {
			t.Fatalf("request %d failed: %d", i, errCode)
		}
		if i == 1 {
			continue // the create's
		}
		// ReplyHeader (16), data length (4), data, Stat (68).
		if n := int(binary.BigEndian.Uint32(b[16:])); n != len(big) || len(b) != 16+4+len(big)+68 {
			t.Fatalf("reply %d: data %d bytes, frame %d; want %d and %d", i, n, len(b), len(big), 16+4+len(big)+68)
		}
		if b[20+12345] != big[12345] {
			t.Fatalf("reply %d: data differs", i)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// dialRawSession opens a session on a plain TCP connection that the test then writes and
// reads itself, for clients that misbehave on purpose; readFrame returns the next reply.
func dialRawSession(t *testing.T, addr string) (nc net.Conn, readFrame func() []byte) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	readFrame = func() []byte {
		t.Helper()
		var l [4]byte
		if _, err := io.ReadFull(nc, l[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint32(l[:]))
		if _, err := io.ReadFull(nc, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := nc.Write(framed(jute.Marshal(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}))); err != nil {
		t.Fatal(err)
	}
	readFrame()
	return nc, readFrame
}

// framed prefixes b with its length.
func framed(b []byte) []byte {
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	return append(out, b...)
}

// within fails the test if f fails or does not return within d.
func within(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s: not done within %v", what, d)
	}
}
