package server

import (
	"net"
	"syscall"
	"testing"
	"unsafe"

	"github.com/zkgo/zkgo/quorum/config"
)

// listenQueueMax is a listening socket's backlog as the kernel holds it (TCP_INFO's
// tcpi_sacked on a listening socket).
func listenQueueMax(t *testing.T, ln net.Listener) uint32 {
	t.Helper()
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info syscall.TCPInfo
	var errno syscall.Errno
	raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(info))
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&size)), 0)
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	return info.Sacked
}

// clientPortListenBacklog is the client port's listen backlog, as NIOServerCnxnFactory binds
// it; unset, the system's.
func TestClientPortListenBacklog(t *testing.T) {
	s, _ := startConfigured(t, nil, func(c *config.Config) { c.ClientPortListenBacklog = 7 }, nil)
	if got := listenQueueMax(t, s.ln); got != 7 {
		t.Fatalf("backlog %d, want 7", got)
	}
	d, _ := startServer(t, nil)
	if got := listenQueueMax(t, d.ln); got == 7 || got == 0 {
		t.Fatalf("default backlog %d, want the system's", got)
	}
}
