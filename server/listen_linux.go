package server

import (
	"fmt"
	"net"
	"syscall"
)

// listenBacklog listens on addr with clientPortListenBacklog's backlog when it is set (> 0;
// NIOServerCnxnFactory binds with it); otherwise the system's (net.core.somaxconn, where
// Java's default is 50). Linux takes a second listen(2) on a listening socket as a new
// backlog.
func listenBacklog(addr string, backlog int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || backlog <= 0 {
		return ln, err
	}
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) { err = syscall.Listen(int(fd), backlog) })
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("clientPortListenBacklog=%d: %w", backlog, err)
	}
	return ln, nil
}
