package quorum

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// multiAddress.enabled: each server has an address on two networks (127.0.33.i and
// 127.0.34.i, both on loopback). With the first network down from the start (a firewall
// drops everything sent to its election and quorum ports), the ensemble forms and serves
// over the second; with the second down instead, and the leader gone, the survivors notice
// that their connections over it are dead, reach each other over the first, elect a leader
// and serve. Needs root and iptables, as the fault test.
func TestEnsembleMultiAddressSurvivesALostNetwork(t *testing.T) {
	e := newEnsemble(t, 3, "multiAddress.enabled=true\ncnxTimeout=500\n")
	line := regexp.MustCompile(`server\.(\d)=127\.0\.0\.1:(\d+):(\d+)`)
	var ports []string
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(e.cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		out := line.ReplaceAllStringFunc(string(b), func(m string) string {
			g := line.FindStringSubmatch(m)
			if i == 1 {
				ports = append(ports, g[2], g[3])
			}
			return fmt.Sprintf("server.%s=127.0.33.%s:%s:%s|127.0.34.%s:%s:%s", g[1], g[1], g[2], g[3], g[1], g[2], g[3])
		})
		if err := os.WriteFile(e.cfgs[i], []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fw := newNetworkCut(t, ports)

	fw.cut("127.0.33.0/24")
	leader := e.startAll()
	c := e.connect(follower(e, leader))
	if _, err := c.Create("/over-b", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	fw.heal()
	fw.cut("127.0.34.0/24")
	e.stop(leader)
	next := e.waitServing(30 * time.Second)
	if next == leader {
		t.Fatalf("stopped node %d leads", leader)
	}
	c = e.connect(follower(e, next))
	if _, err := c.Create("/over-a", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/over-a", "/over-b"} {
		if _, err := e.readAfterSync(next, p); err != nil {
			t.Fatalf("%s on the new leader: %v", p, err)
		}
	}
}

// networkCut drops TCP packets sent to given ports of a network, in an iptables chain of
// its own jumped to from INPUT, removed when the test ends.
type networkCut struct {
	t     *testing.T
	chain string
	ports string
}

func iptablesRun(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func newNetworkCut(t *testing.T, ports []string) *networkCut {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Fatalf("this test needs iptables (apt-get install -y iptables) and root: %v", err)
	}
	f := &networkCut{t: t, chain: "ZKMULTI-" + strconv.Itoa(os.Getpid()), ports: strings.Join(ports, ",")}
	f.remove()
	if err := iptablesRun("-N", f.chain); err != nil {
		t.Fatalf("this test needs root and iptables: %v", err)
	}
	t.Cleanup(f.remove)
	if err := iptablesRun("-I", "INPUT", "1", "-j", f.chain); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *networkCut) cut(network string) {
	f.t.Helper()
	if err := iptablesRun("-A", f.chain, "-d", network, "-p", "tcp", "-m", "multiport", "--dports", f.ports, "-j", "DROP"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *networkCut) heal() {
	f.t.Helper()
	if err := iptablesRun("-F", f.chain); err != nil {
		f.t.Fatal(err)
	}
}

func (f *networkCut) remove() {
	for iptablesRun("-D", "INPUT", "-j", f.chain) == nil {
	}
	iptablesRun("-F", f.chain)
	iptablesRun("-X", f.chain)
}
