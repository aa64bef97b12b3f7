package nbwrite

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// loopbackPair is a connected TCP pair on loopback (closed when the test ends) and the
// dialled side's RawConn.
func loopbackPair(t *testing.T) (c, peer net.Conn, raw syscall.RawConn) {
	t.Helper()
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
	c, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer = <-accepted
	t.Cleanup(func() { peer.Close() })
	if raw, err = c.(*net.TCPConn).SyscallConn(); err != nil {
		t.Fatal(err)
	}
	return c, peer, raw
}

// TestWriteTakesWhatTheSocketTakes: a write larger than the socket buffers returns at once
// with the part the socket took, and that part is exactly the prefix the peer reads.
func TestWriteTakesWhatTheSocketTakes(t *testing.T) {
	c, peer, raw := loopbackPair(t)

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

// TestReaderReadsWaitsAndEnds: the raw reader returns what the peer wrote (parking until it
// arrives), honours the read deadline with a timeout error, and ends with io.EOF.
func TestReaderReadsWaitsAndEnds(t *testing.T) {
	c, peer, raw := loopbackPair(t)
	r := NewReader(raw)

	// Nothing there yet: the deadline ends the wait with a timeout.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	var buf [64]byte
	if n, err := r.Read(buf[:]); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read before any data = %d, %v; want 0 and a deadline error", n, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the deadline took %v", d)
	}
	c.SetReadDeadline(time.Time{})

	// Data written later is read once it arrives.
	want := bytes.Repeat([]byte("zxid"), 1000)
	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Write(want)
		peer.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(want))
	}
	if n, err := r.Read(buf[:]); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed = %d, %v; want io.EOF", n, err)
	}
}

// TestFileWriterWritesAllAndReportsErrors: every byte lands in the file, in order, and a
// write the kernel refuses comes back as an error naming the file.
func TestFileWriterWritesAllAndReportsErrors(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	w := FileWriter(f)
	var want []byte
	for i := 0; i < 100; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 1+i*997)
		if n, err := w.Write(b); n != len(b) || err != nil {
			t.Fatalf("Write %d = %d, %v", len(b), n, err)
		}
		want = append(want, b...)
	}
	f.Close()
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want the %d written", len(got), len(want))
	}

	ro, err := os.Open(f.Name()) // read-only: write(2) fails with EBADF
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	n, err := FileWriter(ro).Write([]byte("x"))
	var pe *os.PathError
	if n != 0 || !errors.Is(err, syscall.EBADF) || !errors.As(err, &pe) || pe.Path != f.Name() {
		t.Fatalf("write to a read-only file = %d, %v; want EBADF naming %s", n, err, f.Name())
	}
}
