package quorum

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/zab"
)

// ensemble is n nodes on 127.0.0.1 in this process, each with its own dirs and ports.
type ensemble struct {
	t       *testing.T
	dirs    []string
	cfgs    []string
	clients []string
	nodes   []*Node
	// props, when set for member i, are system properties its config gets at each start
	// (java.security.auth.login.config and the like, which zoo.cfg cannot set).
	props map[int]map[string]string
}

func newEnsemble(t *testing.T, size int, extra string) *ensemble {
	t.Helper()
	return newEnsembleWithObservers(t, size, 0, extra)
}

// newEnsembleWithObservers makes voters participants and the next observers members observers.
func newEnsembleWithObservers(t *testing.T, voters, observers int, extra string) *ensemble {
	t.Helper()
	return newEnsembleOn(t, voters, observers, extra, func(int) string { return "127.0.0.1" })
}

// newEnsembleOn is newEnsembleWithObservers with member i's addresses on host(i).
func newEnsembleOn(t *testing.T, voters, observers int, extra string, host func(i int) string) *ensemble {
	t.Helper()
	size := voters + observers
	e := &ensemble{t: t, nodes: make([]*Node, size+1), dirs: make([]string, size+1), cfgs: make([]string, size+1), clients: make([]string, size+1)}
	var servers strings.Builder
	ports := make([]int, size+1)
	for i := 1; i <= size; i++ {
		ports[i] = zktest.FreePort(t)
		kind := ""
		if i > voters {
			kind = ":observer"
		}
		fmt.Fprintf(&servers, "server.%d=%s:%d:%d%s\n", i, host(i), zktest.FreePort(t), zktest.FreePort(t), kind)
	}
	for i := 1; i <= size; i++ {
		dir := t.TempDir()
		e.dirs[i] = dir
		if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(fmt.Sprintf("%d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		own := extra
		if i > voters {
			own += "peerType=observer\n"
		}
		cfg := fmt.Sprintf("tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\nclientPortAddress=%s\nadmin.enableServer=false\n4lw.commands.whitelist=*\n%s%s",
			dir, ports[i], host(i), servers.String(), own)
		path := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		e.cfgs[i] = path
		e.clients[i] = net.JoinHostPort(host(i), strconv.Itoa(ports[i]))
	}
	t.Cleanup(func() {
		for i := range e.nodes {
			if e.nodes[i] != nil {
				e.nodes[i].Close()
			}
		}
	})
	return e
}

func (e *ensemble) start(i int) {
	e.t.Helper()
	cfg, err := config.Parse(e.cfgs[i])
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.ApplySystemProps(e.props[i])
	log := zerolog.Nop()
	if os.Getenv("QUORUM_TEST_LOG") != "" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Uint64("node", uint64(i)).Logger()
	}
	n, err := New(cfg, log)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		e.t.Fatalf("start node %d: %v", i, err)
	}
	e.nodes[i] = n
}

func (e *ensemble) stop(i int) {
	e.t.Helper()
	if e.nodes[i] != nil {
		if err := e.nodes[i].Close(); err != nil {
			e.t.Logf("close node %d: %v", i, err)
		}
		e.nodes[i] = nil
	}
}

// waitServing waits until every running node serves and exactly one leads; it returns
// the leader's index.
func (e *ensemble) waitServing(timeout time.Duration) int {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		leader, ok := 0, true
		for i, n := range e.nodes {
			if n == nil {
				continue
			}
			st := n.Status()
			if !st.Role.Serving {
				ok = false
				break
			}
			if st.Role.State == zab.Leading {
				if leader != 0 {
					ok = false
				}
				leader = i
			}
		}
		if ok && leader != 0 {
			return leader
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, n := range e.nodes {
		if n != nil {
			e.t.Logf("node %d: %+v", i, n.Status().Role)
		}
	}
	e.t.Fatalf("ensemble did not settle within %v", timeout)
	return 0
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// appendCfg adds a line to member i's zoo.cfg (before it starts).
func (e *ensemble) appendCfg(i int, line string) {
	e.t.Helper()
	b, err := os.ReadFile(e.cfgs[i])
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgs[i], append(b, line+"\n"...), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *ensemble) connect(i int) *zk.Conn {
	e.t.Helper()
	c, _, err := zk.Connect([]string{e.clients[i]}, 4*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			e.t.Fatalf("no session with node %d", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Cleanup(c.Close)
	return c
}

// readAfterSync reads path on node i after a sync there.
func (e *ensemble) readAfterSync(i int, path string) ([]byte, error) {
	c := e.connect(i)
	defer c.Close()
	if _, err := c.Sync(path); err != nil && err != zk.ErrNoNode {
		return nil, err
	}
	b, _, err := c.Get(path)
	return b, err
}

func follower(e *ensemble, leader int) int {
	for i, n := range e.nodes {
		if n != nil && i != leader {
			return i
		}
	}
	return 0
}

func TestEnsembleReplicatesWritesToEveryNode(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	f := follower(e, leader)

	// Writes through a follower (forwarded) and through the leader.
	cf := e.connect(f)
	if _, err := cf.Create("/a", []byte("via-follower"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through follower %d: %v", f, err)
	}
	cl := e.connect(leader)
	if _, err := cl.Create("/b", []byte("via-leader"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through leader %d: %v", leader, err)
	}
	if _, err := cf.Set("/a", []byte("v2"), 0); err != nil {
		t.Fatalf("set through follower: %v", err)
	}
	if _, err := cf.Set("/a", []byte("v3"), 0); err != zk.ErrBadVersion {
		t.Fatalf("stale set through follower: got %v, want ErrBadVersion", err)
	}
	for i := 1; i <= 3; i++ {
		for path, want := range map[string]string{"/a": "v2", "/b": "via-leader"} {
			got, err := e.readAfterSync(i, path)
			if err != nil || string(got) != want {
				t.Fatalf("node %d %s: %q %v, want %q", i, path, got, err, want)
			}
		}
	}
}

func TestEnsembleEphemeralsGoWithTheirSession(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	f := follower(e, leader)
	c := e.connect(f)
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.readAfterSync(leader, "/eph"); err != nil {
		t.Fatalf("ephemeral not on the leader: %v", err)
	}
	c.Close()
	for i := 1; i <= 3; i++ {
		e.waitGone(i, "/eph", 5*time.Second, "ephemeral outlived its closed session")
	}
}

// waitGone waits until path is gone on member i, read after a sync.
func (e *ensemble) waitGone(i int, path string, timeout time.Duration, what string) {
	e.t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		_, err := e.readAfterSync(i, path)
		if err == zk.ErrNoNode {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("node %d: %s: %v", i, what, err)
		}
	}
}

// startAll starts every member and waits until they serve; it returns the leader.
func (e *ensemble) startAll() int {
	e.t.Helper()
	for i := 1; i < len(e.nodes); i++ {
		e.start(i)
	}
	return e.waitServing(20 * time.Second)
}

// startAndWrite starts every member, waits until they serve, and creates prefix-0 ..
// prefix-(count-1) through a follower; it returns the leader.
func (e *ensemble) startAndWrite(prefix string, count int) int {
	e.t.Helper()
	leader := e.startAll()
	c := e.connect(follower(e, leader))
	defer c.Close()
	for i := 0; i < count; i++ {
		if _, err := c.Create(fmt.Sprintf("%s-%d", prefix, i), []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			e.t.Fatal(err)
		}
	}
	return leader
}

func TestEnsembleFailoverAndCatchUp(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/before", 20)

	// The leader goes; the other two elect a new one and keep taking writes.
	e.stop(leader)
	newLeader := e.waitServing(20 * time.Second)
	if newLeader == leader {
		t.Fatalf("stopped node %d still leads", leader)
	}
	c2 := e.connect(newLeader)
	for i := 0; i < 20; i++ {
		if _, err := c2.Create(fmt.Sprintf("/after-%d", i), []byte("y"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	// The old leader comes back as a follower and catches up.
	e.start(leader)
	e.waitServing(20 * time.Second)
	for _, p := range []string{"/before-19", "/after-19"} {
		if _, err := e.readAfterSync(leader, p); err != nil {
			t.Fatalf("restarted node %d: %s: %v", leader, p, err)
		}
	}
}

func TestEnsembleWipedFollowerGetsSnapshot(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	f := follower(e, leader)
	c := e.connect(leader)
	if _, err := c.Create("/kept", []byte("data"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	e.stop(f)
	if err := os.RemoveAll(filepath.Join(e.dirs[f], "version-2")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(e.dirs[f], "zkgo.meta"))
	if _, err := c.Create("/while-away", []byte("more"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	e.start(f)
	e.waitServing(20 * time.Second)
	for _, p := range []string{"/kept", "/while-away"} {
		if _, err := e.readAfterSync(f, p); err != nil {
			t.Fatalf("wiped node %d: %s: %v", f, p, err)
		}
	}
}

// A session resumed on another member moves there (REVALIDATE); a write still sent
// through the old member fails with SESSIONMOVED, as in Apache ZooKeeper.
func TestEnsembleSessionMovesBetweenMembers(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	var fs []int
	for i := 1; i <= 3; i++ {
		if i != leader {
			fs = append(fs, i)
		}
	}
	a, err := rawzk.Dial(e.clients[fs[0]], rawzk.ConnectOptions{TimeoutMs: 4000})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.SessionID() == 0 {
		t.Fatal("no session")
	}
	p, err := a.Call(jute.OpCreate, rawzk.CreateBody("/moved", []byte("x"), jute.OpenACLUnsafe, 1))
	if err != nil || p.Hdr.Err != 0 {
		t.Fatalf("ephemeral create on %d: %v %+v", fs[0], err, p.Hdr)
	}
	// The same session resumed on the other follower.
	// (A member that has not yet applied what the client saw refuses it, and the client
	// tries again, as with Apache ZooKeeper.)
	var b *rawzk.Conn
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err = rawzk.Dial(e.clients[fs[1]], rawzk.ConnectOptions{TimeoutMs: 4000, SessionID: a.SessionID(), Passwd: a.Passwd(), LastZxid: a.LastZxid()})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.SessionID() != a.SessionID() {
		t.Fatalf("resume on %d refused: %+v", fs[1], b.Resp)
	}
	p, err = b.Call(jute.OpSetData, rawzk.SetDataBody("/moved", []byte("y"), -1))
	if err != nil || p.Hdr.Err != 0 {
		t.Fatalf("write through the new member: %v %+v", err, p.Hdr)
	}
	p, err = a.Call(jute.OpSetData, rawzk.SetDataBody("/moved", []byte("z"), -1))
	if err == nil && p.Hdr.Err != int32(jute.SessionMoved) {
		t.Fatalf("write through the old member: got err %d, want SESSIONMOVED (%d)", p.Hdr.Err, jute.SessionMoved)
	}
	// A made-up session is refused.
	c, err := rawzk.Dial(e.clients[fs[1]], rawzk.ConnectOptions{TimeoutMs: 4000, SessionID: a.SessionID() + 999, Passwd: make([]byte, 16)})
	if err == nil {
		defer c.Close()
		if c.Resp.TimeOut != 0 {
			t.Fatalf("unknown session accepted: %+v", c.Resp)
		}
	}
}

func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// srvr, mntr and zkserver status show each member's role, and the leader its followers.
func TestEnsembleFourLetterWordsShowRoles(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	c := e.connect(leader)
	if _, err := c.Create("/p", []byte("12345"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		srvr := fourLetter(t, e.clients[i], "srvr")
		want := "Mode: follower\n"
		if i == leader {
			want = "Mode: leader\n"
			if !strings.Contains(srvr, "Proposal sizes last/min/max: ") || strings.Contains(srvr, "last/min/max: -1/") {
				t.Errorf("leader srvr without proposal sizes:\n%s", srvr)
			}
		}
		if !strings.Contains(srvr, want) {
			t.Errorf("node %d srvr: want %q in\n%s", i, want, srvr)
		}
	}
	// The followers' ACKs of the create may still be in flight: synced means past NEWLEADER.
	mntr := fourLetter(t, e.clients[leader], "mntr")
	for _, kv := range []string{"zk_server_state\tleader\n", "zk_quorum_size\t3\n", "zk_synced_followers\t2\n", "zk_learners\t2\n", "zk_peer_state\tleading - broadcast\n"} {
		if !strings.Contains(mntr, kv) {
			t.Errorf("leader mntr: want %q in\n%s", kv, mntr)
		}
	}
}

// An observer follows the leader without voting: it serves reads and forwards writes, and
// the ensemble keeps its quorum of voters without it.
func TestEnsembleObserver(t *testing.T) {
	e := newEnsembleWithObservers(t, 3, 1, "")
	ports := make([]int, 5)
	for i := 1; i <= 4; i++ {
		ports[i] = zktest.FreePort(t)
		e.appendCfg(i, fmt.Sprintf("admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=%d", ports[i]))
		e.start(i)
	}
	leader := e.waitServing(20 * time.Second)
	if leader == 4 {
		t.Fatal("the observer leads")
	}
	// The leader's observers command lists the observer's connection (LearnerHandler info),
	// and observer_connection_stat_reset zeroes its counters.
	type observers struct {
		Synced    int `json:"synced_observers"`
		Observers []struct {
			SID  int64 `json:"sid"`
			Sent int64 `json:"packets_sent"`
		} `json:"observers"`
	}
	admin := func(cmd string) observers {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/commands/%s", ports[leader], cmd))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o observers
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	time.Sleep(time.Second) // pings
	before := admin("observers")
	if before.Synced != 1 || len(before.Observers) != 1 || before.Observers[0].SID != 4 || before.Observers[0].Sent < 5 {
		t.Fatalf("the leader's observers: %+v", before)
	}
	admin("orst")
	if after := admin("observers"); len(after.Observers) != 1 || after.Observers[0].Sent >= before.Observers[0].Sent {
		t.Fatalf("after observer_connection_stat_reset: %+v (before %+v)", after, before)
	}
	if st := e.nodes[4].Status().Role; st.State != zab.Observing {
		t.Fatalf("node 4 role %v, want OBSERVING", st)
	}
	c := e.connect(4)
	if _, err := c.Create("/via-observer", []byte("o"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through the observer: %v", err)
	}
	for i := 1; i <= 4; i++ {
		if got, err := e.readAfterSync(i, "/via-observer"); err != nil || string(got) != "o" {
			t.Fatalf("node %d: %q %v", i, got, err)
		}
	}
	if !strings.Contains(fourLetter(t, e.clients[4], "srvr"), "Mode: observer\n") {
		t.Fatal("observer srvr does not say Mode: observer")
	}
	if conf := fourLetter(t, e.clients[4], "conf"); !strings.Contains(conf, "\npeerType=1\nmembership: \n") || !strings.Contains(conf, ":observer\n") {
		t.Fatalf("observer conf: %q", conf)
	}
	// Two voters of three keep the quorum; the observer does not count towards it.
	var other int
	for i := 1; i <= 3; i++ {
		if i != leader {
			other = i
			break
		}
	}
	e.stop(other)
	c2 := e.connect(leader)
	if _, err := c2.Create("/still-writable", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write with 2 of 3 voters: %v", err)
	}
	if _, err := e.readAfterSync(4, "/still-writable"); err != nil {
		t.Fatalf("observer after a voter left: %v", err)
	}
}

// A member that lost its quorum serves reads to read-only clients (readonlymode.enabled)
// and refuses writes with NOTREADONLY, as Apache ZooKeeper's ReadOnlyZooKeeperServer.
func TestEnsembleReadOnlyModeWithoutQuorum(t *testing.T) {
	e := newEnsemble(t, 3, "readonlymode.enabled=true\n")
	leader := e.startAll()
	c := e.connect(leader)
	if _, err := c.Create("/ro", []byte("before"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	survivor := follower(e, leader)
	if _, err := e.readAfterSync(survivor, "/ro"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if i != survivor {
			e.stop(i)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fourLetter(t, e.clients[survivor], "isro") != "ro" {
		if time.Now().After(deadline) {
			t.Fatalf("no read-only mode: isro=%q", fourLetter(t, e.clients[survivor], "isro"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	ro, err := rawzk.Dial(e.clients[survivor], rawzk.ConnectOptions{TimeoutMs: 4000, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.SessionID() == 0 || !ro.Resp.ReadOnly {
		t.Fatalf("read-only session refused: %+v", ro.Resp)
	}
	p, err := ro.Call(jute.OpGetData, rawzk.PathWatchBody("/ro", false))
	if err != nil || p.Hdr.Err != 0 {
		t.Fatalf("read in read-only mode: %v %+v", err, p.Hdr)
	}
	p, err = ro.Call(jute.OpCreate, rawzk.CreateBody("/nope", nil, jute.OpenACLUnsafe, 0))
	if err != nil || p.Hdr.Err != int32(jute.NotReadOnly) {
		t.Fatalf("write in read-only mode: %v err=%d, want NOTREADONLY", err, p.Hdr.Err)
	}
	rw, err := rawzk.Dial(e.clients[survivor], rawzk.ConnectOptions{TimeoutMs: 4000})
	if err == nil {
		if rw.SessionID() != 0 && !rw.WaitClosed(2*time.Second) {
			t.Fatal("a read-write client got a session from a read-only server")
		}
		rw.Close()
	}
	// The quorum comes back: the member serves read-write again.
	for i := 1; i <= 3; i++ {
		if i != survivor {
			e.start(i)
		}
	}
	e.waitServing(20 * time.Second)
	if got := fourLetter(t, e.clients[survivor], "isro"); got != "rw" {
		t.Fatalf("isro after the quorum came back: %q", got)
	}
}

// /zookeeper/config holds the membership on every member, as Apache ZooKeeper 3.8 shows it:
// "server.N=host:quorumPort:electionPort:participant" lines and "version=0", data version -1.
func TestEnsembleConfigNode(t *testing.T) {
	e := newEnsemble(t, 3, "")
	for i := 1; i <= 3; i++ {
		e.start(i)
	}
	e.waitServing(20 * time.Second)
	for i := 1; i <= 3; i++ {
		c := e.connect(i)
		data, st, err := c.Get("/zookeeper/config")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) != 4 || lines[3] != "version=0" || st.Version != -1 {
			t.Fatalf("node %d /zookeeper/config = %q (version %d)", i, data, st.Version)
		}
		for j, l := range lines[:3] {
			if !strings.HasPrefix(l, fmt.Sprintf("server.%d=127.0.0.1:", j+1)) || !strings.HasSuffix(l, ":participant") {
				t.Fatalf("node %d line %q", i, l)
			}
		}
	}
}

// reconfigSuperCfg enables reconfig for the super user super:test (superConn).
var reconfigSuperCfg = "reconfigEnabled=true\nDigestAuthenticationProvider.superDigest=" + server.DigestID("super:test") + "\n"

// superConn is a session with member i authenticated as super:test.
func (e *ensemble) superConn(i int) *zk.Conn {
	e.t.Helper()
	c := e.connect(i)
	if err := c.AddAuth("digest", []byte("super:test")); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// reconfig (reconfigEnabled=true): super may add and remove an observer; without it the
// request gets NOAUTH, a stale -v BADVERSION and garbage BADARGUMENTS (kazoo's TestReconfig).
func TestEnsembleReconfigObservers(t *testing.T) {
	e := newEnsemble(t, 3, reconfigSuperCfg)
	leader := e.startAll()
	f := follower(e, leader)
	anon := e.connect(f)
	joining := "server.100=0.0.0.0:1:2:observer;0.0.0.0:3"
	if _, err := anon.IncrementalReconfig([]string{joining}, nil, -1); err != zk.ErrNoAuth {
		t.Fatalf("reconfig without super: %v, want ErrNoAuth", err)
	}
	c := e.superConn(f)
	if _, err := anon.IncrementalReconfig([]string{"some thing"}, nil, -1); err != zk.ErrBadArguments {
		t.Fatalf("bad joining line: %v, want ErrBadArguments", err)
	}
	if _, err := c.IncrementalReconfig([]string{joining}, nil, -1); err != nil {
		t.Fatalf("add observer: %v", err)
	}
	for i := 1; i <= 3; i++ {
		got, err := e.readAfterSync(i, "/zookeeper/config")
		if err != nil || !strings.Contains(string(got), joining+"\n") {
			t.Fatalf("node %d config after join: %q %v", i, got, err)
		}
	}
	data, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	ver, err := strconv.ParseInt(strings.TrimPrefix(lines[len(lines)-1], "version="), 16, 64)
	if err != nil || ver == 0 {
		t.Fatalf("config version line %q", lines[len(lines)-1])
	}
	if _, err := c.IncrementalReconfig(nil, []string{"100"}, ver); err != nil {
		t.Fatalf("remove observer: %v", err)
	}
	got, err := e.readAfterSync(leader, "/zookeeper/config")
	if err != nil || strings.Contains(string(got), "server.100=") {
		t.Fatalf("config after leave: %q %v", got, err)
	}
	if _, err := anon.IncrementalReconfig([]string{joining}, nil, ver+1); err != zk.ErrBadVersion {
		t.Fatalf("reconfig with a future version: %v, want ErrBadVersion", err)
	}
}

// Many concurrent writers keep several batches in flight on the leader at once; every
// write commits and every member ends with all of them.
func TestEnsembleConcurrentWriters(t *testing.T) {
	e := newEnsemble(t, 3, "")
	for i := 1; i <= 3; i++ {
		e.start(i)
	}
	e.waitServing(20 * time.Second)
	const writers, each = 24, 40
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		c := e.connect(w%3 + 1)
		go func(w int) {
			for i := 0; i < each; i++ {
				if _, err := c.Create(fmt.Sprintf("/w%d-%d", w, i), []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
					errs <- fmt.Errorf("writer %d create %d: %w", w, i, err)
					return
				}
			}
			errs <- nil
		}(w)
	}
	timeout := time.After(60 * time.Second)
	for w := 0; w < writers; w++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("writes stalled")
		}
	}
	for i := 1; i <= 3; i++ {
		c := e.connect(i)
		if _, err := c.Sync("/"); err != nil {
			t.Fatal(err)
		}
		kids, _, err := c.Children("/")
		if err != nil || len(kids) != writers*each+1 {
			t.Fatalf("node %d has %d znodes under /, want %d (%v)", i, len(kids), writers*each+1, err)
		}
	}
}

// A member that rejoins with an empty data dir while writes go on gets a SNAP taken at an
// exact zxid: every later txn's digest matches its tree.
func TestEnsembleSnapUnderLoad(t *testing.T) {
	e := newEnsemble(t, 3, "forceSnapshotSync=true\nsnapCount=40\n")
	leader := e.startAll()
	f := follower(e, leader)
	stop := make(chan struct{})
	done := make(chan error, 4)
	for w := 0; w < 4; w++ {
		c := e.connect(leader)
		go func(w int) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				p := fmt.Sprintf("/r%d", i%5)
				if _, err := c.Set(p, []byte(fmt.Sprint(w, i)), -1); err == zk.ErrNoNode {
					c.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
				} else if err != nil {
					done <- err
					return
				}
				if i%3 == 0 {
					c.Create(fmt.Sprintf("/c%d-%d", w, i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
				}
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	for round := 0; round < 3; round++ {
		e.stop(f)
		os.RemoveAll(filepath.Join(e.dirs[f], "version-2"))
		os.Remove(filepath.Join(e.dirs[f], "zkgo.meta"))
		e.start(f)
		e.waitServing(20 * time.Second)
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	for w := 0; w < 4; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.readAfterSync(f, "/r0"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if m := e.nodes[i].Server().DigestMismatches(); m != 0 {
			t.Errorf("node %d: %d digest mismatches", i, m)
		}
	}
}

// reconfig of the voting members, as zookeeperReconfig.md describes it: a fourth server,
// started with the ensemble's configuration plus itself, follows without a vote; a reconfig
// makes it a participant (committed with the old and the new voters, written to
// zoo.cfg.dynamic.<version>); a configuration without a synchronised quorum is refused with
// NEWCONFIGNOQUORUM; removing the leader elects another one among the remaining voters,
// and the removed server keeps serving as a non-voting follower.
func TestEnsembleReconfigParticipants(t *testing.T) {
	super := server.DigestID("super:test")
	e := newEnsemble(t, 4, "reconfigEnabled=true\nDigestAuthenticationProvider.superDigest="+super+"\n")
	b, err := os.ReadFile(e.cfgs[4])
	if err != nil {
		t.Fatal(err)
	}
	var line4 string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "server.4=") {
			line4 = l
		}
	}
	// Servers 1-3 do not know server 4 yet.
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(e.cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.cfgs[i], []byte(strings.Replace(string(b), line4+"\n", "", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		e.start(i)
	}
	e.waitServing(20 * time.Second)
	e.start(4)
	leader := e.waitServing(20 * time.Second)
	if st := e.nodes[4].Status().Role; st.State != zab.Following {
		t.Fatalf("joiner role %+v, want a (non-voting) follower", st)
	}
	c := e.connect(follower(e, leader))
	if err := c.AddAuth("digest", []byte("super:test")); err != nil {
		t.Fatal(err)
	}
	// No quorum of {leader, 7, 8} is synchronised: refused.
	spec := func(id int) string {
		return fmt.Sprintf("server.%d=127.0.0.1:%d:%d:participant;127.0.0.1:%d", id, 40000+id, 41000+id, 42000+id)
	}
	if _, err := c.Reconfig([]string{spec(7), spec(8), strings.Replace(line4, "server.4", fmt.Sprintf("server.%d", leader), 1)}, -1); err == nil || !strings.Contains(err.Error(), "-13") {
		// go-zookeeper has no name for ZNEWCONFIGNOQUORUM (-13).
		t.Fatalf("reconfig without a synchronised quorum: %v, want error code -13 (NEWCONFIGNOQUORUM)", err)
	}

	join := strings.TrimSpace(line4) + ":participant;" + strings.TrimPrefix(e.clients[4], "")
	if _, err := c.IncrementalReconfig([]string{join}, nil, -1); err != nil {
		t.Fatalf("add participant 4: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 1; i <= 4; i++ {
		for e.nodes[i].Info().QuorumSize != 4 {
			if time.Now().After(deadline) {
				t.Fatalf("node %d: quorum size %d after adding server 4", i, e.nodes[i].Info().QuorumSize)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	got, err := e.readAfterSync(4, "/zookeeper/config")
	if err != nil || !strings.Contains(string(got), "server.4=") || !strings.Contains(string(got), ":participant;") {
		t.Fatalf("config on node 4: %q %v", got, err)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dirs[leader], "zoo.cfg.dynamic.*")); len(m) == 0 {
		t.Fatalf("no dynamic config file next to the leader's zoo.cfg")
	}
	if cfg, err := config.Parse(e.cfgs[leader]); err != nil || len(cfg.VotingMembers()) != 4 {
		t.Fatalf("leader's zoo.cfg after the reconfig: %v voters, %v", cfg.VotingMembers(), err)
	}

	// Remove the leader. Its followers resynchronise with the next leader and drop their
	// clients meanwhile, so the answer may be lost (as for any write across a leader
	// change): then the outcome is checked below.
	if _, err := c.IncrementalReconfig(nil, []string{strconv.Itoa(leader)}, -1); err != nil &&
		err != zk.ErrConnectionClosed && err != zk.ErrSessionMoved && !strings.Contains(err.Error(), "connection") {
		t.Fatalf("remove leader %d: %v", leader, err)
	}
	deadline = time.Now().Add(30 * time.Second)
	var newLeader int
	for newLeader == 0 || newLeader == leader {
		if time.Now().After(deadline) {
			t.Fatalf("no new leader after removing %d (leader now %d)", leader, newLeader)
		}
		time.Sleep(50 * time.Millisecond)
		newLeader = 0
		for i := 1; i <= 4; i++ {
			if st := e.nodes[i].Status().Role; st.State == zab.Leading && st.Serving {
				newLeader = i
			}
		}
	}
	e.waitServing(30 * time.Second)
	if st := e.nodes[leader].Status().Role; st.State != zab.Following {
		t.Fatalf("removed leader %d is %+v, want a non-voting follower", leader, st)
	}
	if got, err := e.readAfterSync(newLeader, "/zookeeper/config"); err != nil || strings.Contains(string(got), fmt.Sprintf("server.%d=", leader)) {
		t.Fatalf("config after removing %d: %q %v", leader, got, err)
	}
	w := e.connect(newLeader)
	if _, err := w.Create("/after-removal", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write after removing the leader: %v", err)
	}
	for i := 1; i <= 4; i++ {
		if got, err := e.readAfterSync(i, "/after-removal"); err != nil || string(got) != "x" {
			t.Fatalf("node %d after the removal: %q %v", i, got, err)
		}
	}
	// Restarted from their rewritten zoo.cfg (pointing at the dynamic file), the members
	// come back with the new configuration. The removed server's file no longer lists it:
	// as in Apache ZooKeeper it needs a new configuration to start again.
	for i := 1; i <= 4; i++ {
		e.stop(i)
	}
	if cfg, err := config.Parse(e.cfgs[leader]); err != nil {
		t.Fatal(err)
	} else if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "not in the server list") {
		t.Fatalf("removed server %d restarting: %v, want an error naming its missing server line", leader, err)
	}
	for i := 1; i <= 4; i++ {
		if i != leader {
			e.start(i)
		}
	}
	e.waitServing(30 * time.Second)
	for i := 1; i <= 4; i++ {
		if i == leader {
			continue
		}
		if q := e.nodes[i].Info().QuorumSize; q != 3 {
			t.Fatalf("node %d after restart: quorum size %d, want 3", i, q)
		}
		if got, err := e.readAfterSync(i, "/after-removal"); err != nil || string(got) != "x" {
			t.Fatalf("node %d after restart: %q %v", i, got, err)
		}
	}
}

// A follower whose only snapshot holds txns past the leader's history (a SNAP from a leader
// that failed before the ensemble accepted it) is told to truncate below that snapshot. It
// cannot roll a snapshot back, so it synchronises again asking for a SNAP, and ends with the
// leader's tree: the txns the leader never had are gone, and it serves the ensemble's writes.
func TestEnsembleFollowerAheadOfItsSnapshotResynchronises(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAll()
	c := e.connect(leader)
	for _, p := range []string{"/a", "/b"} {
		if _, err := c.Create(p, []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	f := follower(e, leader)
	if _, err := e.readAfterSync(f, "/b"); err != nil {
		t.Fatal(err)
	}
	e.stop(f)

	// The follower's data dir becomes one snapshot, five txns past its last one in the
	// same epoch, holding a node no other member has.
	cfg, err := config.Parse(e.cfgs[f])
	if err != nil {
		t.Fatal(err)
	}
	st, res, err := OpenStore(cfg.DataDir, cfg.DataLogDir, persistence.LogOptions{}, persistence.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := st.LastZxid()
	ghost := zab.MakeZxid(last.Epoch(), last.Counter()+5)
	hdr := jute.TxnHeader{ClientID: 1, Zxid: int64(ghost), Type: jute.OpCreate}
	res.Tree.Lock()
	res.Tree.ProcessTxn(&hdr, &jute.CreateTxn{Path: "/ghost", ACL: jute.OpenACLUnsafe, ParentCVersion: -1})
	res.Tree.Unlock()
	res.Tree.SetLastProcessedZxid(int64(ghost))
	if err := st.InstallSnapshot(res.Tree, res.Sessions); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	e.start(f)
	e.waitServing(30 * time.Second)
	if _, err := c.Create("/after", []byte("y"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a", "/after"} {
		if _, err := e.readAfterSync(f, p); err != nil {
			t.Fatalf("%s on the resynchronised follower: %v", p, err)
		}
	}
	if _, err := e.readAfterSync(f, "/ghost"); err != zk.ErrNoNode {
		t.Fatalf("/ghost on the resynchronised follower: %v, want ErrNoNode", err)
	}
}

// TestEnsembleLookingMembersFastForward: when the leader goes, the members that start
// looking bring their trees up to their logs (ZooKeeperServer's fastForwardDataBase)
// instead of reloading the snapshot and the whole log, and the new leader serves every
// write made before.
func TestEnsembleLookingMembersFastForward(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/ff", 50)
	reloads := map[int]int64{}
	for i := 1; i <= 3; i++ {
		if i != leader {
			reloads[i] = e.nodes[i].reloads.Load()
		}
	}
	e.stop(leader)
	e.waitServing(20 * time.Second)
	for i, before := range reloads {
		if got := e.nodes[i].reloads.Load(); got != before {
			t.Errorf("node %d reloaded its tree from disk %d times after the leader went", i, got-before)
		}
		for _, p := range []string{"/ff-0", "/ff-49"} {
			if _, err := e.readAfterSync(i, p); err != nil {
				t.Fatalf("node %d: %s: %v", i, p, err)
			}
		}
	}
}

// TestEnsembleFollowerAppliesCommittedTxnsBeforeItsNextFsync: a follower applies a txn as
// soon as its COMMIT arrives when its own log already holds the txn durably, instead of after
// the fsync of the newer proposals that arrived meanwhile. The other follower is stopped, so
// every commit needs the slow follower's ACK (each of its log syncs takes S here), and
// writers on the leader keep proposals coming during each of its syncs. A write through the
// slow follower then takes r+2S (r: the rest of the sync it found running, about S for
// writes issued one after the other; S: the sync of its own proposal, after which the COMMIT
// comes back during the next sync); applying only after the sync that follows the COMMIT
// makes it r+3S. The leader must also keep proposing while earlier batches wait for their
// commits: holding a write back until the batch before it committed adds about S again.
func TestEnsembleFollowerAppliesCommittedTxnsBeforeItsNextFsync(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/w", 1)
	f := follower(e, leader)
	g := 6 - leader - f
	e.stop(g)
	const S = 400 * time.Millisecond
	var slow atomic.Bool
	e.nodes[f].store.log.InjectFailure(func() error {
		if slow.Load() {
			time.Sleep(S)
		}
		return nil
	})

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		lc := e.connect(leader)
		writers.Add(1)
		go func() {
			defer writers.Done()
			defer lc.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				lc.Set("/w-0", []byte(strconv.Itoa(i)), -1)
			}
		}()
	}
	defer func() { close(stop); writers.Wait() }()

	fc := e.connect(f)
	defer fc.Close()
	slow.Store(true)
	defer slow.Store(false)
	time.Sleep(2 * S)
	early := e.nodes[f].appliedEarly.Load()
	const n = 4
	var total time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if _, err := fc.Create(fmt.Sprintf("/mine-%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through the slow follower: %v", err)
		}
		total += time.Since(start)
	}
	mean := total / n
	t.Logf("writes through the follower with %v syncs: mean %v", S, mean)
	if e.nodes[f].appliedEarly.Load() == early {
		t.Fatalf("the follower applied no committed txn before a sync")
	}
	if limit := 3*S + S/2; mean >= limit {
		t.Fatalf("writes through the follower took %v on average (r+2S, at most 3S = %v, expected; limit %v): COMMITs waited for the sync of newer proposals, or proposals for earlier commits", mean, 3*S, limit)
	}
}

// TestEnsembleLeaderCommitsWhileItsOwnSyncIsSlow: a leader whose own log syncs take S
// commits a write as soon as both followers acknowledged it: its member loop counts their
// ACKs and applies the commit while its fsync runs (pipelined syncs; Apache's leader, too,
// counts its own ACK as one vote among the others). Syncing inline, in its loop, it took
// the followers' ACKs only after its own fsync, and each write took S.
func TestEnsembleLeaderCommitsWhileItsOwnSyncIsSlow(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/w", 1)
	const S = 600 * time.Millisecond
	var slow atomic.Bool
	e.nodes[leader].store.log.InjectFailure(func() error {
		if slow.Load() {
			time.Sleep(S)
		}
		return nil
	})
	lc := e.connect(leader)
	defer lc.Close()
	slow.Store(true)
	defer slow.Store(false)
	const n = 6
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := lc.Create(fmt.Sprintf("/quick-%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through the leader: %v", err)
		}
	}
	mean := time.Since(start) / n
	t.Logf("writes through a leader with %v syncs: mean %v", S, mean)
	if mean >= S/2 {
		t.Fatalf("writes took %v on average with the leader's own syncs taking %v: the leader waited for its own fsync to commit", mean, S)
	}
	slow.Store(false)
	for i := range e.nodes {
		if e.nodes[i] == nil {
			continue
		}
		if _, err := e.readAfterSync(i, fmt.Sprintf("/quick-%d", n-1)); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}

// holdFollowerSyncs makes the followers' log syncs wait, while hold is set, until release
// is called (also at the test's end, before the nodes close, so that a failed test does not
// hang in their Close).
func (e *ensemble) holdFollowerSyncs(leader int) (hold *atomic.Bool, release func()) {
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	e.t.Cleanup(release) // cleanups run last first: before newEnsemble's
	hold = new(atomic.Bool)
	for i, nd := range e.nodes {
		if nd != nil && i != leader {
			nd.store.log.InjectFailure(func() error {
				if hold.Load() {
					<-ch
				}
				return nil
			})
		}
	}
	return hold, release
}

// TestEnsembleFollowersAckOnlyOnceSynced: while the followers' log syncs are held, a write
// is not acknowledged (the leader alone is no quorum), although their member loops go on
// (they answer pings: the leader keeps them); released, the write completes. A follower
// that sent its ACK before its fsync completed would let a write be acknowledged that a
// crash of the follower and the leader could lose.
func TestEnsembleFollowersAckOnlyOnceSynced(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/w", 1)
	hold, release := e.holdFollowerSyncs(leader)
	lc := e.connect(leader)
	defer lc.Close()
	since := e.nodes[leader].leadingSince.Load()
	hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := lc.Create("/held", nil, 0, zk.WorldACL(zk.PermAll))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("write answered (err %v) while no follower had synced it", err)
	case <-time.After(2 * time.Second): // twice syncLimit x tickTime: pings must have gone on
	}
	hold.Store(false)
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("write after the syncs were released: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write not acknowledged after the followers' syncs were released")
	}
	if got := e.nodes[leader].leadingSince.Load(); got != since {
		t.Fatalf("node %d lost its leadership (leading since %d, now %d): its followers looked dead while their syncs were held", leader, since, got)
	}
}

// TestEnsembleWriteInFlightIsSeenByEveryMember: while the followers' log syncs are held, a
// write is in flight on every member (server.WritesIdle false: the leader's is outstanding,
// each member has logged it and not applied it), so none yields its CPU between reads
// (server.YieldReads); once it is committed and applied everywhere, every member is idle.
func TestEnsembleWriteInFlightIsSeenByEveryMember(t *testing.T) {
	e := newEnsemble(t, 3, "")
	leader := e.startAndWrite("/w", 1)
	hold, release := e.holdFollowerSyncs(leader)
	idle := func() []bool {
		var got []bool
		for _, nd := range e.nodes {
			if nd != nil {
				got = append(got, nd.srv.WritesIdle())
			}
		}
		return got
	}
	waitFor := func(want bool, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := idle()
			all := true
			for _, g := range got {
				all = all && g == want
			}
			if all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: WritesIdle of the members %v, want all %v", what, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(true, "before the write")
	lc := e.connect(leader)
	defer lc.Close()
	hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := lc.Create("/inflight", nil, 0, zk.WorldACL(zk.PermAll))
		done <- err
	}()
	waitFor(false, "while the followers' syncs are held")
	hold.Store(false)
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(true, "after the write")
}

// TestEnsembleMemberAutopurges: with autopurge.purgeInterval set, a member deletes old
// snapshots and logs at start (and every interval after), keeping autopurge.snapRetainCount
// snapshots and what replays from the oldest, as Apache's DatadirCleanupManager does in
// every mode; the member still loads and serves every write.
func TestEnsembleMemberAutopurges(t *testing.T) {
	e := newEnsemble(t, 3, "snapCount=4\nautopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n")
	leader := e.startAndWrite("/p", 40)
	f := follower(e, leader)
	snaps := func() int {
		m, err := filepath.Glob(filepath.Join(e.dirs[f], "version-2", "snapshot.*"))
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	e.stop(f)
	before := snaps()
	if before <= 3 {
		t.Fatalf("%d snapshots after 40 writes with snapCount=4: the test needs more than 3", before)
	}
	e.start(f)
	deadline := time.Now().Add(10 * time.Second)
	for snaps() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d snapshots on the restarted member (had %d), want the 3 of autopurge.snapRetainCount", snaps(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.waitServing(20 * time.Second)
	if _, err := e.readAfterSync(f, "/p-39"); err != nil {
		t.Fatalf("the purged member lost a write: %v", err)
	}
	// It loads again from what the purge kept.
	e.stop(f)
	e.start(f)
	e.waitServing(20 * time.Second)
	if _, err := e.readAfterSync(f, "/p-0"); err != nil {
		t.Fatalf("after a second restart: %v", err)
	}
}

// TestEnsembleMembersSnapshotOnLogSize: zookeeper.snapSizeLimitInKb makes a member snapshot
// once the log since its last snapshot holds half to all of that many KiB, however far
// snapCount is (SyncRequestProcessor.shouldSnapshot).
func TestEnsembleMembersSnapshotOnLogSize(t *testing.T) {
	e := newEnsemble(t, 3, "snapCount=1000000\nsnapSizeLimitInKb=2\n")
	leader := e.startAndWrite("/s", 60) // ~150-byte records: about 9 KiB of log
	f := follower(e, leader)
	e.stop(f) // its snapshot in progress is written
	e.stop(leader)
	for _, i := range []int{leader, f} {
		m, err := filepath.Glob(filepath.Join(e.dirs[i], "version-2", "snapshot.*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) < 3 {
			t.Errorf("member %d wrote %d snapshots for ~9 KiB of log with snapSizeLimitInKb=2, want 3 or more", i, len(m))
		}
	}
}

// TestEnsembleMembersRollLogsOnTxnLogSizeLimit: with txnLogSizeLimitInKb members start a new
// log file once theirs passes the limit, without a snapshot (FileTxnLog.commit), and a
// member restarted on those files has every txn.
func TestEnsembleMembersRollLogsOnTxnLogSizeLimit(t *testing.T) {
	e := newEnsemble(t, 3, "snapCount=1000000\ntxnLogSizeLimitInKb=2\n")
	leader := e.startAndWrite("/s", 60) // ~150-byte records: about 9 KiB of log
	f := follower(e, leader)
	e.stop(f)
	logs, _ := filepath.Glob(filepath.Join(e.dirs[f], "version-2", "log.*"))
	snaps, _ := filepath.Glob(filepath.Join(e.dirs[f], "version-2", "snapshot.*"))
	if len(logs) < 3 || len(snaps) != 1 {
		t.Errorf("member %d: %d log files and %d snapshots for ~9 KiB of log with txnLogSizeLimitInKb=2, want 3 or more and 1", f, len(logs), len(snaps))
	}
	e.start(f)
	e.waitServing(20 * time.Second)
	if _, err := e.readAfterSync(f, "/s-59"); err != nil {
		t.Fatalf("member %d after a restart on its rolled logs: %v", f, err)
	}
}

// TestElectionTicks: FastLeaderElection's intervals in ms become election ticks, rounded up:
// the defaults (200 ms, 60 s) are finalizeWait's 4 ticks and 1200.
func TestElectionTicks(t *testing.T) {
	for ms, want := range map[int]int{200: 4, 60000: 1200, 51: 2, 50: 1, 1: 1, 0: 1, -5: 1} {
		if got := electionTicks(ms); got != want {
			t.Errorf("electionTicks(%d) = %d, want %d", ms, got, want)
		}
	}
}

// TestQuorumTimeouts: a learner connects to its leader within tickTime*initLimit, or
// tickTime*connectToLearnerMasterLimit (Learner.connectToLeader); election handshakes read
// within zookeeper.quorumCnxnTimeoutMs, by default tickTime*syncLimit (QuorumPeer).
func TestQuorumTimeouts(t *testing.T) {
	parse := func(extra string) *config.Config {
		t.Helper()
		cfg, err := config.ParseReader(strings.NewReader("tickTime=300\ninitLimit=7\nsyncLimit=3\ndataDir=/tmp/x\nclientPort=2181\n"+extra), "zoo.cfg")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, c := range []struct {
		extra            string
		connect, handshk time.Duration
	}{
		{"", 2100 * time.Millisecond, 900 * time.Millisecond},
		{"connectToLearnerMasterLimit=20\nquorumCnxnTimeoutMs=250\n", 6 * time.Second, 250 * time.Millisecond},
		{"connectToLearnerMasterLimit=0\nquorumCnxnTimeoutMs=-1\n", 2100 * time.Millisecond, 900 * time.Millisecond},
	} {
		cfg := parse(c.extra)
		if got := leaderConnectTime(cfg); got != c.connect {
			t.Errorf("%q: leader connect time %v, want %v", c.extra, got, c.connect)
		}
		if got := electionSocketTimeout(cfg); got != c.handshk {
			t.Errorf("%q: election socket timeout %v, want %v", c.extra, got, c.handshk)
		}
	}
}

// TestMemberRefusesAMissingDataDirWithoutAutocreate: datadir.autocreate=false stops a member
// from starting on a data dir without its version-2 directory, as it does a standalone server.
func TestMemberRefusesAMissingDataDirWithoutAutocreate(t *testing.T) {
	e := newEnsemble(t, 3, "datadir.autocreate=false\n")
	cfg, err := config.Parse(e.cfgs[1])
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err == nil || !strings.Contains(err.Error(), "zookeeper.datadir.autocreate is false") {
		n.Close()
		t.Fatalf("a member started on a missing data dir: %v", err)
	}
}

// TestEnsembleReconfigMovesTheLeadersQuorumPort: a reconfig that gives the leader another
// quorum port makes it hand over (Leader.getDesignatedLeader): it steps down, and whoever
// leads next listens where the new configuration says, so the ensemble serves again.
func TestEnsembleReconfigMovesTheLeadersQuorumPort(t *testing.T) {
	e := newEnsemble(t, 3, reconfigSuperCfg)
	leader := e.startAll()
	c := e.superConn(follower(e, leader))
	data, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("server.%d=", leader)) {
			line = l
		}
	}
	// server.L=127.0.0.1:Q:E:participant;0.0.0.0:C with a new Q.
	parts := strings.SplitN(line, ":", 3)
	moved := fmt.Sprintf("%s:%d:%s", parts[0], zktest.FreePort(t), parts[2])
	epoch := e.nodes[leader].Status().Role.Epoch
	if _, err := c.IncrementalReconfig([]string{moved}, nil, -1); err != nil {
		t.Fatalf("reconfig %q: %v", moved, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := e.waitServing(30 * time.Second)
		if e.nodes[l].Status().Role.Epoch > epoch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader whose quorum port moved still leads epoch %d", epoch)
		}
		time.Sleep(50 * time.Millisecond)
	}
	l := e.waitServing(30 * time.Second)
	w := e.connect(follower(e, l))
	if _, err := w.Create("/after-move", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		got, err := e.readAfterSync(i, "/zookeeper/config")
		if err != nil || !strings.Contains(string(got), moved+"\n") {
			t.Errorf("member %d config: %q %v", i, got, err)
		}
	}
}
