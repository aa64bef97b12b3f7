//go:build !linux

package server

import "net"

// listenBacklog listens on addr; the backlog is the system's (clientPortListenBacklog is
// acted on on Linux only).
func listenBacklog(addr string, _ int) (net.Listener, error) { return net.Listen("tcp", addr) }
