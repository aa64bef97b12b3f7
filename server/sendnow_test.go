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
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	writeFrame := func(b []byte) {
		t.Helper()
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		if _, err := nc.Write(append(l[:], b...)); err != nil {
			t.Fatal(err)
		}
	}
	readFrame := func() []byte {
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
	writeFrame(jute.Marshal(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}))
	readFrame()

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
	done := make(chan error, 1)
	go func() {
		_, err := c.Create("/other", []byte("x"), 0, zk.WorldACL(zk.PermAll))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a write of another client did not complete while one client was not reading")
	}

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
