package nbwrite

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestWriteTakesWhatTheSocketTakes: a write larger than the socket buffers returns at once
// with the part the socket took, and that part is exactly the prefix the peer reads.
func TestWriteTakesWhatTheSocketTakes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-accepted
	defer peer.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}

	b := make([]byte, 16<<20) // far more than loopback's socket buffers
	for i := range b {
		b[i] = byte(i * 7)
	}
	start := time.Now()
	n := Write(raw, b)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Write waited %v for a peer that does not read", d)
	}
	if n <= 0 || n >= len(b) {
		t.Fatalf("Write took %d of %d bytes; want a part", n, len(b))
	}
	c.Close()
	got, err := io.ReadAll(peer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b[:n]) {
		t.Fatalf("the peer read %d bytes, not the %d-byte prefix written", len(got), n)
	}
}
