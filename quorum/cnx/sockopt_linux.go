package cnx

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout makes the kernel fail a connection whose sent data stays unacknowledged
// for d (TCP_USER_TIMEOUT). An election connection over a network that went away would
// otherwise take every later notification into a black hole for the many minutes of TCP's
// retransmissions, and the two peers, each holding a connection it believes alive, would
// not hear each other again; failed, the connection is dialled again, over another of the
// peer's addresses if the first no longer answers (multiAddress). QuorumCnxManager probes
// the address's reachability for the same purpose.
const minUserTimeout = 2 * time.Second

func setUserTimeout(c net.Conn, d time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok || d <= 0 {
		return
	}
	// Not below a few of TCP's minimum retransmission timeouts (200 ms), so that with
	// tiny ticks one lost segment does not end a connection.
	d = max(d, minUserTimeout)
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
	})
}
