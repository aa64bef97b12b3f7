package quorum

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/server"
)

// quorumSASLLines ask every member to authenticate and to be authenticated.
const quorumSASLLines = "quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\nquorum.auth.serverRequireSasl=true\n"

// writeQuorumJAAS writes the JAAS file of ZooKeeper's quorum SASL guide: the server section
// knows user test, the learner section logs in as test with password.
func writeQuorumJAAS(t *testing.T, password string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jaas.conf")
	text := fmt.Sprintf(`QuorumServer {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_test="mypassword";
};
QuorumLearner {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="test"
       password="%s";
};
`, password)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func jaasProps(path string) map[string]string {
	return map[string]string{"java.security.auth.login.config": path}
}

// Members with the right password form an ensemble; one with a wrong password is kept
// out (its election and learner connections fail authentication) until it has the right
// one.
func TestEnsembleQuorumSASL(t *testing.T) {
	good, bad := writeQuorumJAAS(t, "mypassword"), writeQuorumJAAS(t, "wrong")
	e := newEnsemble(t, 3, quorumSASLLines)
	e.props = map[int]map[string]string{1: jaasProps(good), 2: jaasProps(good), 3: jaasProps(good)}
	leader := e.startAll()
	c := e.connect(follower(e, leader))
	if _, err := c.Create("/sasl", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if v, err := e.readAfterSync(i, "/sasl"); err != nil || string(v) != "x" {
			t.Fatalf("member %d: %q %v", i, v, err)
		}
	}

	// A follower restarted with a wrong password: kept out for the whole window (several
	// election rounds and learner attempts).
	f := follower(e, leader)
	e.stop(f)
	e.props[f] = jaasProps(bad)
	e.start(f)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st := e.nodes[f].Info().PeerState; strings.Contains(st, "broadcast") {
			t.Fatalf("member %d serves with a wrong quorum password: %s", f, st)
		}
	}
	if _, err := e.connect(leader).Create("/still", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("the other two: %v", err)
	}
	e.stop(f)
	e.props[f] = jaasProps(good)
	e.start(f)
	e.waitServing(30 * time.Second)
	if _, err := e.readAfterSync(f, "/still"); err != nil {
		t.Fatalf("member %d with the right password: %v", f, err)
	}
}

// ZooKeeper's rolling upgrade to quorum SASL, member by member: enableSasl (nothing is
// required: connections without it go on), then learnerRequireSasl (members authenticate to
// peers that do not require it), then serverRequireSasl; the ensemble serves throughout and
// restarted members rejoin (a smaller id's connection that a peer drops unauthenticated must
// still be dialled back).
func TestEnsembleQuorumSASLRollingUpgrade(t *testing.T) {
	jaas := writeQuorumJAAS(t, "mypassword")
	e := newEnsemble(t, 3, "")
	e.props = map[int]map[string]string{1: jaasProps(jaas), 2: jaasProps(jaas), 3: jaasProps(jaas)}
	leader := e.startAll()
	n := 0
	for _, line := range []string{"quorum.auth.enableSasl=true", "quorum.auth.learnerRequireSasl=true", "quorum.auth.serverRequireSasl=true"} {
		for i := 1; i <= 3; i++ {
			e.stop(i)
			e.appendCfg(i, line)
			e.start(i)
			leader = e.waitServing(30 * time.Second)
			n++
			path := fmt.Sprintf("/step-%d", n)
			if _, err := e.connect(leader).Create(path, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatalf("%s on member %d: %v", line, i, err)
			}
			if _, err := e.readAfterSync(i, path); err != nil {
				t.Fatalf("%s: member %d after its restart: %v", line, i, err)
			}
		}
	}
}

// Quorum SASL between zkgo members and an Apache ZooKeeper 3.8 member, with the Apache
// member as the leader (sid 3, up before the second zkgo member: zkgo learners authenticate
// to it) and as a follower (sid 1: it authenticates to a zkgo leader); election connections
// run both ways in each.
func TestMixedEnsembleQuorumSASL(t *testing.T) {
	jaas := writeQuorumJAAS(t, "mypassword")
	for _, c := range []struct {
		apacheID   int
		mode, side string // the Apache member's mode, and the side its log shows authenticated
	}{{3, "leader", "learner addr"}, {1, "follower", "server addr"}} {
		t.Run(fmt.Sprintf("apache=%d", c.apacheID), func(t *testing.T) {
			e := newEnsemble(t, 3, quorumSASLLines)
			members := ensembleMembers(t, e)
			e.props = map[int]map[string]string{}
			var zkgo []int
			for i := 1; i <= 3; i++ {
				if i != c.apacheID {
					e.props[i] = jaasProps(jaas)
					zkgo = append(zkgo, i)
				}
			}
			first := zkgo[0]
			if c.apacheID == 1 {
				first = zkgo[1] // the zkgo member that will lead
			}
			e.start(first)
			apache := zktest.StartApacheQuorumPeer(t, uint64(c.apacheID), members, zktest.FreePort(t),
				strings.Split(strings.TrimSpace(quorumSASLLines), "\n"), "-Djava.security.auth.login.config="+jaas)
			if c.apacheID == 1 {
				e.start(zkgo[0])
			}
			ac := connectServing(t, apache, "with quorum SASL")
			if c.apacheID == 3 {
				e.start(zkgo[1])
			}
			for _, i := range zkgo { // the leader may be the Apache member: wait for each zkgo one
				for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					if _, err := e.readAfterSync(i, "/"); err == nil {
						break
					} else if time.Now().After(deadline) {
						t.Fatalf("zkgo member %d does not serve: %v", i, err)
					}
				}
			}
			if mode, _ := zktest.FourLetterWord(apache.ClientAddr, "srvr", 5*time.Second); !strings.Contains(mode, "Mode: "+c.mode) {
				t.Fatalf("the Apache member is not the %s:\n%s", c.mode, mode)
			}
			if !strings.Contains(apache.Log(), "Successfully completed the authentication using SASL. "+c.side) {
				t.Errorf("the Apache member logged no SASL authentication (%s):\n%s", c.side, tailLines(apache.Log(), 30))
			}
			if _, err := ac.Create("/from-apache", []byte("a"), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			for _, i := range zkgo {
				if v, err := e.readAfterSync(i, "/from-apache"); err != nil || string(v) != "a" {
					t.Errorf("zkgo member %d reads %q, %v", i, v, err)
				}
			}
		})
	}
}

// A QuorumAuthPacket from a peer is read within its bounds and reads back as written.
func FuzzReadAuthPacket(f *testing.F) {
	for _, p := range []struct {
		status int32
		tok    []byte
	}{{authInProgress, []byte{}}, {authInProgress, []byte(`realm="zk-quorum-sasl-md5",nonce="abc",charset=utf-8,algorithm=md5-sess`)},
		{authSuccess, []byte("rspauth=0123456789abcdef0123456789abcdef")}, {authError, nil}} {
		var b bytes.Buffer
		writeAuthPacket(&b, p.status, p.tok)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		status, tok, err := readAuthPacket(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(tok) > maxAuthToken {
			t.Fatalf("token of %d bytes", len(tok))
		}
		var out bytes.Buffer
		writeAuthPacket(&out, status, tok)
		if !bytes.HasPrefix(b, out.Bytes()) && tok != nil {
			t.Fatalf("re-encoded %x, read %x", out.Bytes(), b)
		}
	})
}

// Whatever a connecting peer sends, Serve ends (within its deadline) without a panic, and
// with serverRequireSasl lets nothing through that did not authenticate.
func FuzzQuorumAuthServe(f *testing.F) {
	var first bytes.Buffer
	writeAuthPacket(&first, authInProgress, []byte{})
	f.Add(first.Bytes())
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2}) // a quorum packet, not an auth one
	a := &quorumAuth{learnerRequire: true, serverRequire: true, timeout: 200 * time.Millisecond,
		sasl: &server.QuorumSASL{Users: map[string]string{"test": "mypassword"}}, log: zerolog.Nop()}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := a.Serve(&scriptedConn{r: bytes.NewReader(b)})
		if err == nil && c != nil {
			t.Fatalf("%x let through with serverRequireSasl", b)
		}
	})
}

// scriptedConn reads a script and discards what is written.
type scriptedConn struct {
	net.Conn
	r io.Reader
}

func (c *scriptedConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptedConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *scriptedConn) SetDeadline(time.Time) error { return nil }
func (c *scriptedConn) RemoteAddr() net.Addr        { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptedConn) Close() error                { return nil }

// Observer masters authenticate their observers too (ObserverMaster's LearnerHandlers run
// the server side): an observer with the right password follows through a follower, one
// with a wrong password is kept out.
func TestEnsembleObserverMasterQuorumSASL(t *testing.T) {
	good, bad := writeQuorumJAAS(t, "mypassword"), writeQuorumJAAS(t, "wrong")
	e := newEnsembleOnHosts(t, 3, 1, fmt.Sprintf("observerMasterPort=%d\n", zktest.FreePort(t))+quorumSASLLines)
	e.props = map[int]map[string]string{}
	for i := 1; i <= 4; i++ {
		e.props[i] = jaasProps(good)
		e.start(i)
	}
	leader := e.waitServing(30 * time.Second)
	if m := int(e.nodes[4].Status().Role.Master); m == leader || m < 1 || m > 3 {
		t.Fatalf("observer 4 synchronises with %d (leader %d), want a follower", m, leader)
	}
	if _, err := e.connect(leader).Create("/om", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if v, err := e.readAfterSync(4, "/om"); err != nil || string(v) != "x" {
		t.Fatalf("observer: %q %v", v, err)
	}
	e.stop(4)
	e.props[4] = jaasProps(bad)
	e.start(4)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st := e.nodes[4].Info().PeerState; strings.Contains(st, "broadcast") {
			t.Fatalf("the observer serves with a wrong quorum password: %s", st)
		}
	}
}
