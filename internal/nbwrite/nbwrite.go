// Package nbwrite writes to a socket without waiting: the goroutine that has a reply or a
// packet ready writes what the socket takes at once, instead of waking a writer goroutine
// for it (a wake-up per message was the largest scheduling cost on the request paths).
package nbwrite

import "syscall"

// Write writes as much of b as the socket takes now and returns how much that was. It
// never waits for the socket; an error (EAGAIN, a closed peer) just ends the write, and
// the caller leaves the rest to a goroutine that may block and that meets any error again.
func Write(raw syscall.RawConn, b []byte) int {
	n := 0
	raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if err != nil && err != syscall.EINTR {
				break
			}
		}
		return true // never wait for the socket here
	})
	return n
}
