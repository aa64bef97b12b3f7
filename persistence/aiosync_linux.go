package persistence

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"

	"github.com/zkgo/zkgo/internal/nbwrite"
)

// syncer makes a log file's data durable. On Linux it hands the fdatasync to the kernel's
// AIO (IOCB_CMD_FDSYNC, which the kernel runs on a worker thread) and waits for it on an
// eventfd through Go's network poller: the goroutine waiting for the disk parks like one
// waiting for a socket, instead of holding its P in a system call until the runtime's
// monitor takes the P away (20 us to 10 ms later) and hands it to another thread. With one
// P (an ensemble member sharing a host, a container limited to one CPU) nothing else ran
// during that wait; with more, every log sync cost a P hand-off and the monitor's polling.
// Where AIO fsync is unavailable (io_setup refused, the file system does not take it) it
// falls back to fdatasync(2), once and for good.
type syncer struct {
	ctx    uintptr
	efd    int       // the eventfd the kernel signals on completion
	ef     *os.File  // efd in the poller; never call Fd on it (that makes it blocking)
	efr    io.Reader // raw reads of ef (package nbwrite: no syscall state, no monitor wake-up)
	plain  bool      // AIO unavailable: fdatasync
	buf    [8]byte
	events [1]ioEvent
}

// iocb and ioEvent are the kernel's struct iocb and struct io_event (linux/aio_abi.h,
// little-endian layout: aio_key before aio_rw_flags).
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

type ioEvent struct {
	data, obj uint64
	res, res2 int64
}

const (
	iocbCmdFdsync = 3
	iocbFlagResfd = 1 << 0
	efdNonblock   = syscall.O_NONBLOCK
	efdCloexec    = syscall.O_CLOEXEC
)

var zeroTimeout syscall.Timespec

// errAIOUnsupported: the kernel did not take the AIO fsync; fdatasync is used instead.
var errAIOUnsupported = errors.New("AIO fdatasync unsupported")

func newSyncer() *syncer {
	s := &syncer{plain: !aioLittleEndian}
	if s.plain {
		return s
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&s.ctx)), 0); e != 0 {
		s.plain = true
		return s
	}
	fd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, efdNonblock|efdCloexec, 0)
	if e != 0 {
		syscall.Syscall(syscall.SYS_IO_DESTROY, s.ctx, 0, 0)
		s.ctx, s.plain = 0, true
		return s
	}
	s.efd = int(fd)
	s.ef = os.NewFile(fd, "txnlog-aio-eventfd") // non-blocking: registered with the poller
	s.efr = s.ef
	if raw, err := s.ef.SyscallConn(); err == nil {
		s.efr = nbwrite.NewReader(raw)
	}
	return s
}

// plainSyncer is fdatasync(2) only.
func plainSyncer() *syncer { return &syncer{plain: true} }

// datasync makes f's data durable (fdatasync semantics).
func (s *syncer) datasync(f *os.File) error {
	if !s.plain {
		err := s.aio(f)
		if err != errAIOUnsupported {
			return err
		}
		s.close()
		s.plain = true
	}
	return datasync(f)
}

func (s *syncer) aio(f *os.File) error {
	cb := iocb{opcode: iocbCmdFdsync, fildes: uint32(f.Fd()), flags: iocbFlagResfd, resfd: uint32(s.efd)}
	cbs := [1]*iocb{&cb}
	for {
		// Raw: submitting an FDSYNC only queues it for a kernel worker.
		n, _, e := syscall.RawSyscall(syscall.SYS_IO_SUBMIT, s.ctx, 1, uintptr(unsafe.Pointer(&cbs[0])))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EINVAL || e == syscall.EOPNOTSUPP || e == syscall.ENOSYS:
			return errAIOUnsupported // nothing was submitted
		case e == syscall.EAGAIN:
			return datasync(f) // the AIO queue is out of room for now: sync directly
		case e != 0:
			return e
		case n != 1:
			return errAIOUnsupported
		}
		break
	}
	for {
		// Parks in the poller until the kernel signals the completion.
		if _, err := s.efr.Read(s.buf[:]); err != nil {
			s.abandon()
			return err
		}
		n, _, e := syscall.RawSyscall6(syscall.SYS_IO_GETEVENTS, s.ctx, 1, 1, // zero timeout: never blocks
			uintptr(unsafe.Pointer(&s.events[0])), uintptr(unsafe.Pointer(&zeroTimeout)), 0)
		if e == syscall.EINTR || (e == 0 && n == 0) {
			continue
		}
		if e != 0 {
			s.abandon()
			return e
		}
		if res := s.events[0].res; res < 0 {
			return syscall.Errno(-res)
		}
		return nil
	}
}

// abandon gives up AIO after a sync whose completion could not be read: its event may
// still come, and must not be taken for the next sync's. io_destroy waits for it.
func (s *syncer) abandon() {
	s.close()
	s.plain = true
}

// close releases the AIO context and the eventfd.
func (s *syncer) close() {
	if s.ef != nil {
		s.ef.Close()
		s.ef = nil
	}
	if s.ctx != 0 {
		syscall.Syscall(syscall.SYS_IO_DESTROY, s.ctx, 0, 0)
		s.ctx = 0
	}
}

// aioLittleEndian: the iocb layout above is the little-endian one.
var aioLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
