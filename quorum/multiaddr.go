package quorum

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkgo/zkgo/quorum/cnx"
	"github.com/zkgo/zkgo/quorum/config"
)

// A server line may give several addresses (multiAddress.enabled: "a:q:e|b:q:e"), one per
// network of a multi-homed host. A member listens on all of its own, and reaches a peer on
// the first of the peer's that answers, so the ensemble survives the loss of a network.

// addrsOf lists a server's addresses (its one address when the line has a single one).
func addrsOf(s *config.ServerSpec) []config.QuorumAddr {
	if len(s.Addrs) > 0 {
		return s.Addrs
	}
	return []config.QuorumAddr{{Host: s.Host, QuorumPort: s.QuorumPort, ElectionPort: s.ElectionPort}}
}

// electionAddrs is a server's election addresses, "host:port" joined by '|' (package cnx).
func electionAddrs(s *config.ServerSpec) string {
	var out []string
	for _, a := range addrsOf(s) {
		out = append(out, net.JoinHostPort(a.Host, strconv.Itoa(a.ElectionPort)))
	}
	return strings.Join(out, "|")
}

// quorumAddrs is a server's quorum addresses, "host:port".
func quorumAddrs(s *config.ServerSpec) []string {
	var out []string
	for _, a := range addrsOf(s) {
		out = append(out, net.JoinHostPort(a.Host, strconv.Itoa(a.QuorumPort)))
	}
	return out
}

// hostsOf is a server's hosts in address order.
func hostsOf(s *config.ServerSpec) []string {
	var out []string
	for _, a := range addrsOf(s) {
		out = append(out, a.Host)
	}
	return out
}

// listenAddrs is where this member binds the ports port picks from its addresses: each of
// its own addresses, or 0.0.0.0 once per distinct port with quorumListenOnAllIPs.
func listenAddrs(s *config.ServerSpec, allIPs bool, port func(config.QuorumAddr) int) []string {
	var out []string
	for _, a := range addrsOf(s) {
		host := a.Host
		if allIPs {
			host = "0.0.0.0"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port(a)))
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

// dialAny connects to the first of addrs that accepts, dialling them all at once (as
// Learner.connectToLeader runs a LeaderConnector per address); the others are closed. The
// i-th address is dialled from the i-th of locals (the only one if there is one; none if
// there is no i-th), this member's own hosts. With sec, each connection is secured (TLS)
// before it counts as connected.
func dialAny(addrs, locals []string, timeout time.Duration, sec cnx.Securer) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	results := make(chan result, len(addrs))
	for i, addr := range addrs {
		d := net.Dialer{Timeout: timeout}
		local := ""
		switch {
		case i < len(locals):
			local = locals[i]
		case len(locals) == 1:
			local = locals[0]
		}
		if ip := net.ParseIP(local); ip != nil && !ip.IsUnspecified() {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
		go func() {
			c, err := d.Dial("tcp", addr)
			if err == nil && sec != nil {
				setSocketOptions(c)
				host, _, _ := net.SplitHostPort(addr)
				c, err = sec.Dial(c, host, timeout)
			}
			results <- result{c, err}
		}()
	}
	var err error
	for i := range addrs {
		r := <-results
		if r.err != nil {
			err = r.err
			continue
		}
		// The first to connect wins; the others are closed as they come.
		go func(left int) {
			for range left {
				if r := <-results; r.err == nil {
					r.c.Close()
				}
			}
		}(len(addrs) - 1 - i)
		return r.c, nil
	}
	return nil, err
}
