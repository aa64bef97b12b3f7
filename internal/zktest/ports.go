package zktest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// handedOut remembers every port this process gave away: the kernel may return a port again as
// soon as the probing listener is closed, and one node's client, quorum and election ports (or
// two nodes' ports) must differ. CI once started a member whose quorum and election ports were
// the same number.
var (
	handedMu  sync.Mutex
	handedOut = map[int]bool{}
)

// FreePortOn returns a TCP port on ip that was free a moment ago and that no earlier call in
// this process returned. It draws from below the kernel's ephemeral range, so the port cannot be
// taken meanwhile as the local end of some outgoing connection (tests open many), and falls back
// to a kernel-chosen port if that fails.
func FreePortOn(ip string) (int, error) {
	handedMu.Lock()
	defer handedMu.Unlock()
	lo, hi := 10000, ephemeralLow()-1
	for try := 0; try < 200; try++ {
		port := 0
		if try < 100 && hi > lo {
			port = lo + rand.IntN(hi-lo+1)
		}
		if handedOut[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			if port == 0 {
				return 0, err
			}
			continue
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("zktest: no fresh free port on %s", ip)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default when unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 10000 {
		return 32768
	}
	return n
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and is unique in this
// process.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := FreePortOn("127.0.0.1")
	if err != nil {
		t.Fatalf("zktest: free port: %v", err)
	}
	return port
}
