package faulttest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// chainPrefix names the iptables chain of one test process: ZKFAULT-<pid>.
const chainPrefix = "ZKFAULT-"

// firewall cuts links between node addresses with DROP rules in a chain of its own, jumped
// to from INPUT: on loopback every packet passes INPUT with its real source and destination
// (the nodes bind their outgoing connections to their own 127.0.0.i), and a drop there is a
// silent black hole, as on a real network (a drop in OUTPUT makes connect fail at once with
// EPERM instead). Clients bind to clientIP, which no rule names. The rules match only TCP
// to or from the ensemble's quorum and election ports, so other tests that run meanwhile
// on the same loopback addresses are not cut off.
type firewall struct {
	chain string
	ports string // multiport list
	mu    sync.Mutex
	cuts  map[[2]string]bool
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newFirewall creates the chain and the jump to it; its cuts concern ports (at most 15).
// The caller removes it with close.
func newFirewall(ports []int) (*firewall, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("iptables is not installed (apt-get install -y iptables): %w", err)
	}
	ps := make([]string, len(ports))
	for i, p := range ports {
		ps[i] = strconv.Itoa(p)
	}
	f := &firewall{chain: fmt.Sprintf("%s%d", chainPrefix, os.Getpid()), ports: strings.Join(ps, ","), cuts: map[[2]string]bool{}}
	removeChain(f.chain) // a leftover of a previous run of this pid
	if err := iptables("-N", f.chain); err != nil {
		return nil, err
	}
	reaper.addChain(f.chain)
	if err := iptables("-I", "INPUT", "1", "-j", f.chain); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// cut drops every packet between a and b, both ways.
func (f *firewall) cut(a, b string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		if err := iptables("-A", f.chain, "-s", pair[0], "-d", pair[1], "-p", "tcp", "-m", "multiport", "--ports", f.ports, "-j", "DROP"); err != nil {
			return err
		}
	}
	f.cuts[[2]string{a, b}] = true
	return nil
}

// heal removes every cut.
func (f *firewall) heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cuts = map[[2]string]bool{}
	return iptables("-F", f.chain)
}

// rules lists the chain's rules (for failure reports).
func (f *firewall) rules() string {
	out, err := exec.Command("iptables", "-w", "-S", f.chain).CombinedOutput()
	if err != nil {
		return err.Error()
	}
	return string(out)
}

func (f *firewall) close() {
	removeChain(f.chain)
	reaper.delChain(f.chain)
}

// removeChain removes the jumps to chain, its rules and the chain; errors are ignored (any
// part may be missing).
func removeChain(chain string) {
	for _, from := range []string{"INPUT", "OUTPUT"} {
		for iptables("-D", from, "-j", chain) == nil {
		}
	}
	iptables("-F", chain)
	iptables("-X", chain)
}
