package quorum

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
)

// quorumTLSCfg are the ssl.quorum.* lines of the test stores (testdata/tls: a certificate for
// 127.0.0.1 that every member presents, the CA as trust store), and the switches.
func quorumTLSCfg(t *testing.T, sslQuorum, portUnification bool) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "tls"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("sslQuorum=%t\nportUnification=%t\nssl.quorum.keyStore.location=%s\nssl.quorum.keyStore.password=secret\n"+
		"ssl.quorum.trustStore.location=%s\nssl.quorum.trustStore.password=secret\n",
		sslQuorum, portUnification, filepath.Join(dir, "server.jks"), filepath.Join(dir, "truststore.jks"))
}

// setTLS rewrites member i's sslQuorum and portUnification lines (before a restart).
func (e *ensemble) setTLS(i int, sslQuorum, portUnification bool) {
	e.t.Helper()
	b, err := os.ReadFile(e.cfgs[i])
	if err != nil {
		e.t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "sslQuorum=") && !strings.HasPrefix(l, "portUnification=") {
			lines = append(lines, l)
		}
	}
	lines = append(lines, fmt.Sprintf("sslQuorum=%t", sslQuorum), fmt.Sprintf("portUnification=%t", portUnification), "")
	if err := os.WriteFile(e.cfgs[i], []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// electionPort is member i's election port from its server line.
func (e *ensemble) electionAddr(i int) string {
	e.t.Helper()
	b, err := os.ReadFile(e.cfgs[i])
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, fmt.Sprintf("server.%d=", i)); ok {
			parts := strings.Split(v, ":")
			return net.JoinHostPort(parts[0], parts[2])
		}
	}
	e.t.Fatalf("no server.%d line", i)
	return ""
}

func TestEnsembleOverTLS(t *testing.T) {
	e := newEnsemble(t, 3, quorumTLSCfg(t, true, false))
	leader := e.startAndWrite("/tls", 10)
	// A plain-text peer gets nowhere on the election port: its handshake is never answered.
	nc, err := net.Dial("tcp", e.electionAddr(follower(e, leader)))
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0})
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(nc); len(b) > 0 || os.IsTimeout(err) {
		t.Fatalf("the plain connection was answered (%q) or left open (%v)", b, err)
	}
	nc.Close()
	// Failover and a rejoining member's sync run over TLS too.
	e.stop(leader)
	next := e.waitServing(20 * time.Second)
	c := e.connect(next)
	for i := 0; i < 10; i++ {
		if _, err := c.Create(fmt.Sprintf("/after-%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	e.start(leader)
	e.waitServing(20 * time.Second)
	if _, err := e.readAfterSync(leader, "/after-9"); err != nil {
		t.Fatalf("the old leader did not catch up over TLS: %v", err)
	}
}

// TestEnsembleRollsToTLS is ZooKeeper's documented rolling change: every member takes both
// (portUnification) while still dialling in plain text, then dials with TLS, then takes TLS
// only, one restart at a time, and the ensemble serves writes throughout.
func TestEnsembleRollsToTLS(t *testing.T) {
	e := newEnsemble(t, 3, quorumTLSCfg(t, false, false))
	e.startAndWrite("/plain", 3)
	write := func(step string) {
		t.Helper()
		leader := e.waitServing(30 * time.Second)
		c := e.connect(follower(e, leader))
		if _, err := c.Create("/"+step, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		c.Close()
	}
	for _, stage := range []struct {
		name             string
		sslQuorum, unify bool
	}{{"unified", false, true}, {"tls-dialling", true, true}, {"tls-only", true, false}} {
		for i := 1; i <= 3; i++ {
			e.stop(i)
			e.setTLS(i, stage.sslQuorum, stage.unify)
			e.start(i)
			write(fmt.Sprintf("%s-%d", stage.name, i))
		}
	}
	for i := 1; i <= 3; i++ {
		if _, err := e.readAfterSync(i, "/tls-only-3"); err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
}

// TestMixedEnsembleOverTLS: two zkgo members and an Apache ZooKeeper 3.8 member form one
// ensemble with sslQuorum and the same stores; writes made through either kind are read on
// the other.
func TestMixedEnsembleOverTLS(t *testing.T) {
	tlsLines := quorumTLSCfg(t, true, false)
	e := newEnsemble(t, 3, tlsLines)
	members := ensembleMembers(t, e)
	e.start(1)
	e.start(2)
	port := zktest.FreePort(t)
	apache := zktest.StartApacheQuorumPeer(t, 3, members, port, strings.Split(strings.TrimSpace(tlsLines), "\n"))
	e.waitServing(60 * time.Second)
	zc := e.connect(1)
	if _, err := zc.Create("/from-zkgo", []byte("z"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ac := connectServing(t, apache, "over a TLS quorum")
	if v, _, err := ac.Get("/from-zkgo"); err != nil || string(v) != "z" {
		t.Fatalf("the Apache member reads %q, %v", v, err)
	}
	if _, err := ac.Create("/from-apache", []byte("a"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if v, err := e.readAfterSync(i, "/from-apache"); err != nil || string(v) != "a" {
			t.Errorf("zkgo member %d reads %q, %v", i, v, err)
		}
	}
}

// connectServing connects to an Apache member and waits until it serves (a sync goes
// through); the test fails with the member's log if it does not within a minute.
func connectServing(t *testing.T, apache *zktest.ApachePeer, what string) *zk.Conn {
	t.Helper()
	ac, _, err := zk.Connect([]string{apache.ClientAddr}, 10*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ac.Close)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := ac.Sync("/"); err == nil {
			return ac
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Apache member does not serve %s; its log:\n%s", what, tailLines(apache.Log(), 30))
		}
	}
}

// ensembleMembers reads e's server lines (hosts 127.0.0.x), for an Apache member to join it.
func ensembleMembers(t *testing.T, e *ensemble) []zktest.QuorumMember {
	t.Helper()
	b, err := os.ReadFile(e.cfgs[1])
	if err != nil {
		t.Fatal(err)
	}
	var members []zktest.QuorumMember
	for _, l := range strings.Split(string(b), "\n") {
		var sid uint64
		var host, q, el int
		if _, err := fmt.Sscanf(l, "server.%d=127.0.0.%d:%d:%d", &sid, &host, &q, &el); err == nil {
			members = append(members, zktest.QuorumMember{SID: sid, Host: fmt.Sprintf("127.0.0.%d", host), QuorumPort: q, ElectionPort: el,
				Observer: strings.HasSuffix(l, ":observer")})
		}
	}
	if len(members) != len(e.cfgs)-1 {
		t.Fatalf("server lines %+v", members)
	}
	return members
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
