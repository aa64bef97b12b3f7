// Package nbwrite does socket I/O without waiting inside a system call: the goroutine that
// has a reply or a packet ready writes what the socket takes at once, instead of waking a
// writer goroutine for it (a wake-up per message was the largest scheduling cost on the
// request paths), and reads take what has arrived and otherwise park in the poller.
//
// The system calls are made raw (no runtime entersyscall/exitsyscall): the socket is
// non-blocking, so none of them can block. A syscall entered the usual way wakes the
// runtime's monitor thread when it sleeps because the process was idle, and the monitor then
// polls every 20 us until the process is idle again; an ensemble member that handles a few
// thousand requests a second goes idle and back between most of them, and these wake-ups
// were 15% of its CPU (perf, three local members at 3000 writes/s).
package nbwrite

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Write writes as much of b as the socket takes now and returns how much that was. It
// never waits for the socket; an error (EAGAIN, a closed peer) just ends the write, and
// the caller leaves the rest to a goroutine that may block and that meets any error again.
func Write(raw syscall.RawConn, b []byte) int {
	n := 0
	raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, errno := rawIO(syscall.SYS_WRITE, fd, b[n:])
			if m > 0 {
				n += m
			}
			if errno != 0 && errno != syscall.EINTR {
				break
			}
		}
		return true // never wait for the socket here
	})
	return n
}

// Reader reads a non-blocking socket with raw read(2) calls, parking in the poller (and
// honouring the connection's read deadline) when nothing has arrived.
type Reader struct {
	raw syscall.RawConn
	// The state of the read in progress, so that the callback handed to raw.Read is bound
	// once (readFn) instead of a closure allocated per read.
	p      []byte
	n      int
	errno  syscall.Errno
	readFn func(fd uintptr) bool
}

// NewReader reads from raw, the SyscallConn of a TCP or Unix connection.
func NewReader(raw syscall.RawConn) *Reader {
	r := &Reader{raw: raw}
	r.readFn = r.read
	return r
}

// Read is io.Reader's Read: at least one byte, or io.EOF when the peer closed, or the
// poller's error (a deadline, a closed connection). One goroutine reads at a time.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	const maxRW = 1 << 30 // as internal/poll: huge reads are split
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.raw.Read(r.readFn)
	n, errno := r.n, r.errno
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is the raw.Read callback: false parks in the poller until the socket is readable.
func (r *Reader) read(fd uintptr) bool {
	for {
		r.n, r.errno = rawIO(syscall.SYS_READ, fd, r.p)
		switch r.errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true
	}
}

// rawIO is read(2) or write(2) on fd without entering the scheduler's syscall state.
func rawIO(trap, fd uintptr, b []byte) (int, syscall.Errno) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	r, _, errno := syscall.RawSyscall(trap, fd, uintptr(p), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}

// FileWriter writes all of each buffer to a regular file with raw write(2) calls. Such a
// write copies into the page cache and does not wait for the disk (syncing is separate),
// so it is made like a socket write here; but the kernel may still hold it (dirty-page
// throttling), and during that the goroutine keeps its P: use it only where the caller
// would wait for the write anyway and nothing else must run meanwhile, as an ensemble
// member's loop appending to its log (that append was the last system call per write
// that woke the runtime's monitor). A file without a SyscallConn is written as usual.
func FileWriter(f *os.File) io.Writer {
	raw, err := f.SyscallConn()
	if err != nil {
		return f
	}
	return fileWriter{raw, f.Name()}
}

type fileWriter struct {
	raw  syscall.RawConn
	name string
}

func (w fileWriter) Write(b []byte) (int, error) {
	n := 0
	var errno syscall.Errno
	err := w.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := rawIO(syscall.SYS_WRITE, fd, b[n:])
			switch {
			case e == syscall.EINTR:
				continue
			case e != 0:
				errno = e
				return true
			case m == 0:
				errno = syscall.EIO // write(2) returned 0 for a non-empty buffer
				return true
			}
			n += m
		}
		return true
	})
	switch {
	case err != nil:
		return n, err
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: w.name, Err: errno}
	}
	return n, nil
}
