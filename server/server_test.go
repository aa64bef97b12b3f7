package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// startServer runs a standalone server on a free loopback port for one test.
func startServer(t testing.TB, props map[string]string) (*Server, string) {
	t.Helper()
	return startServerWith(t, props, nil)
}

// startServerWith is startServer with a hook that runs between New and Start.
func startServerWith(t testing.TB, props map[string]string, beforeStart func(*Server)) (*Server, string) {
	t.Helper()
	return startConfigured(t, props, nil, beforeStart)
}

// startConfigured is startServerWith with a hook on the config before the server is made.
func startConfigured(t testing.TB, props map[string]string, tune func(*config.Config), beforeStart func(*Server)) (*Server, string) {
	t.Helper()
	cfg := testConfig(t, t.TempDir(), props)
	if tune != nil {
		tune(cfg)
	}
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if beforeStart != nil {
		beforeStart(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Addr().String()
}

// testConfig is a validated standalone config on dataDir with the system properties props,
// listening on a free loopback port and with no AdminServer (tests must not fight over 8080).
func testConfig(t testing.TB, dataDir string, props map[string]string) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.DataLogDir = dataDir, dataDir
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"})
	cfg.ApplySystemProps(props)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPort = 0 // a free port, known after Start through Addr
	return cfg
}

func connect(t testing.TB, addr string) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return c, ev
			}
		case <-deadline:
			t.Fatal("no session")
		}
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func TestCRUDAndStat(t *testing.T) {
	_, addr := startServer(t, nil)
	c, _ := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	p, err := c.Create("/a", []byte("x"), 0, acl)
	if err != nil || p != "/a" {
		t.Fatalf("create: %v %q", err, p)
	}
	if _, err := c.Create("/a", nil, 0, acl); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("want node exists, got %v", err)
	}
	if _, err := c.Create("/missing/child", nil, 0, acl); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("want no node, got %v", err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "x" || st.Version != 0 || st.DataLength != 1 || st.Czxid != st.Mzxid || st.Pzxid != st.Czxid {
		t.Fatalf("get: %v %q %+v", err, data, st)
	}
	st2, err := c.Set("/a", []byte("yy"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid <= st.Mzxid || st2.DataLength != 2 {
		t.Fatalf("set: %v %+v", err, st2)
	}
	if _, err := c.Set("/a", []byte("z"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("want bad version, got %v", err)
	}
	for i := 0; i < 3; i++ {
		p, err := c.Create("/a/s-", nil, zk.FlagSequence, acl)
		if err != nil || p != fmt.Sprintf("/a/s-%010d", i) {
			t.Fatalf("sequential %d: %v %q", i, err, p)
		}
	}
	kids, st3, err := c.Children("/a")
	sort.Strings(kids)
	if err != nil || len(kids) != 3 || st3.NumChildren != 3 || st3.Cversion != 3 {
		t.Fatalf("children: %v %v %+v", err, kids, st3)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("want not empty, got %v", err)
	}
	for _, k := range kids {
		if err := c.Delete("/a/"+k, -1); err != nil {
			t.Fatal(err)
		}
	}
	_, st4, _ := c.Exists("/a")
	if st4.Cversion != 6 || st4.NumChildren != 0 || st4.Pzxid <= st3.Pzxid {
		t.Fatalf("after deletes: %+v", st4)
	}
	if err := c.Delete("/a", 1); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := c.Exists("/a"); ok {
		t.Fatal("still exists")
	}
	for _, bad := range []string{"/a/", "a", "/a//b", "/a/./b", "/zookeeper/.."} {
		if _, err := c.Create(bad, nil, 0, acl); !errors.Is(err, zk.ErrBadArguments) && !errors.Is(err, zk.ErrInvalidPath) {
			t.Fatalf("create %q: want bad arguments, got %v", bad, err)
		}
	}
	if err := c.Delete("/zookeeper", -1); !errors.Is(err, zk.ErrBadArguments) {
		t.Fatalf("delete /zookeeper: %v", err)
	}
}

func TestWatchesFireBeforeReply(t *testing.T) {
	_, addr := startServer(t, nil)
	c, _ := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	c.Create("/w", nil, 0, acl)
	_, _, dataW, err := c.GetW("/w")
	if err != nil {
		t.Fatal(err)
	}
	_, _, childW, err := c.ChildrenW("/w")
	if err != nil {
		t.Fatal(err)
	}
	_, _, existW, _ := c.ExistsW("/w/new")
	if _, err := c.Create("/w/new", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	// go-zookeeper delivers events to channels; the event must already be there.
	select {
	case e := <-existW:
		if e.Type != zk.EventNodeCreated || e.Path != "/w/new" {
			t.Fatalf("exist watch: %+v", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no NodeCreated")
	}
	select {
	case e := <-childW:
		if e.Type != zk.EventNodeChildrenChanged || e.Path != "/w" {
			t.Fatalf("child watch: %+v", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no NodeChildrenChanged")
	}
	c.Set("/w", []byte("1"), -1)
	select {
	case e := <-dataW:
		if e.Type != zk.EventNodeDataChanged {
			t.Fatalf("data watch: %+v", e)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no NodeDataChanged")
	}
}

func TestEphemeralsAndSessionClose(t *testing.T) {
	_, addr := startServer(t, nil)
	c1, _ := connect(t, addr)
	c2, _ := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	c1.Create("/e", nil, 0, acl)
	if _, err := c1.Create("/e/eph", nil, zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Create("/e/eph/child", nil, 0, acl); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Fatalf("want no children for ephemerals, got %v", err)
	}
	_, st, _ := c2.Exists("/e/eph")
	if st.EphemeralOwner != c1.SessionID() {
		t.Fatalf("owner %x want %x", st.EphemeralOwner, c1.SessionID())
	}
	_, _, w, _ := c2.ExistsW("/e/eph")
	c1.Close()
	select {
	case e := <-w:
		if e.Type != zk.EventNodeDeleted {
			t.Fatalf("got %+v", e)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ephemeral not deleted on close")
	}
}

func TestSessionExpiry(t *testing.T) {
	s, addr := startServer(t, map[string]string{"zookeeper.minSessionTimeout": "1000"})
	_ = s
	c1, _ := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	c1.Create("/x", nil, zk.FlagEphemeral, acl)
	// Resume with a wrong password: refused as expired.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c2, _ := connect(t, addr)
	_, _, w, _ := c2.ExistsW("/x")
	// Stop c1 from pinging: close its socket abruptly by expiring through the server.
	s.sessions.mu.Lock()
	sess := s.sessions.sessions[c1.SessionID()]
	s.sessions.mu.Unlock()
	if sess == nil || sess.timeout < 4000 {
		t.Fatalf("negotiated timeout: %+v", sess)
	}
	// Force expiry now.
	s.sessions.mu.Lock()
	s.sessions.touchLocked(sess, -100000, time.Now().UnixMilli())
	s.sessions.mu.Unlock()
	select {
	case e := <-w:
		if e.Type != zk.EventNodeDeleted {
			t.Fatalf("got %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session did not expire")
	}
}

func TestMulti(t *testing.T) {
	_, addr := startServer(t, nil)
	c, _ := connect(t, addr)
	acl := zk.WorldACL(zk.PermAll)
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("a"), Acl: acl},
		&zk.CreateRequest{Path: "/m/c", Acl: acl},
		&zk.SetDataRequest{Path: "/m", Data: []byte("b"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
	)
	if err != nil || len(res) != 4 || res[0].String != "/m" || res[1].String != "/m/c" {
		t.Fatalf("multi: %v %+v", err, res)
	}
	_, err = c.Multi(
		&zk.CreateRequest{Path: "/m2", Acl: acl},
		&zk.CheckVersionRequest{Path: "/m", Version: 7},
		&zk.DeleteRequest{Path: "/m/c", Version: -1},
	)
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("want bad version, got %v", err)
	}
	if ok, _, _ := c.Exists("/m2"); ok {
		t.Fatal("failed multi left /m2")
	}
	if ok, _, _ := c.Exists("/m/c"); !ok {
		t.Fatal("failed multi deleted /m/c")
	}
}

func TestACLAndDigest(t *testing.T) {
	_, addr := startServer(t, map[string]string{
		"zookeeper.DigestAuthenticationProvider.superDigest": DigestID("super:secret"),
	})
	c1, _ := connect(t, addr)
	if err := c1.AddAuth("digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Create("/sec", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Create("/auth", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}); err != nil {
		t.Fatal(err)
	}
	acl, _, err := c1.GetACL("/auth")
	if err != nil || len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != DigestID("alice:pw") {
		t.Fatalf("auth acl: %v %+v", err, acl)
	}
	c2, _ := connect(t, addr)
	if _, _, err := c2.Get("/sec"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("want no auth, got %v", err)
	}
	if _, err := c2.Create("/auth2", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("want invalid acl, got %v", err)
	}
	c3, _ := connect(t, addr)
	c3.AddAuth("digest", []byte("super:secret"))
	if d, _, err := c3.Get("/sec"); err != nil || string(d) != "s" {
		t.Fatalf("super: %v", err)
	}
	// ip ACL with CIDR.
	if _, err := c1.Create("/ip", nil, 0, []zk.ACL{{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.Get("/ip"); err != nil {
		t.Fatalf("ip acl: %v", err)
	}
	if err := c2.Delete("/ip", -1); !errors.Is(err, zk.ErrNoAuth) && err != nil {
		t.Fatalf("delete under open root: %v", err)
	}
}

func TestFourLetterWords(t *testing.T) {
	_, addr := startServer(t, map[string]string{"zookeeper.4lw.commands.whitelist": "ruok,srvr,stat,conf,mntr"})
	ask := func(cmd string) string {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte(cmd))
		var b strings.Builder
		buf := make([]byte, 4096)
		nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			n, err := nc.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	if got := ask("ruok"); got != "imok" {
		t.Fatalf("ruok: %q", got)
	}
	if got := ask("srvr"); !strings.Contains(got, "Mode: standalone\n") || !strings.HasPrefix(got, "Zookeeper version: ") {
		t.Fatalf("srvr: %q", got)
	}
	if got := ask("envi"); got != "envi is not executed because it is not in the whitelist.\n" {
		t.Fatalf("envi: %q", got)
	}
	if got := ask("mntr"); !strings.Contains(got, "zk_server_state\tstandalone\n") {
		t.Fatalf("mntr: %q", got)
	}
	if got := ask("conf"); !strings.Contains(got, "tickTime=2000") {
		t.Fatalf("conf: %q", got)
	}
}

func TestOversizedRequestClosesOnlyThatConnection(t *testing.T) {
	_, addr := startServer(t, map[string]string{"jute.maxbuffer": "1000"})
	c, _ := connect(t, addr)
	c.Create("/big", nil, 0, zk.WorldACL(zk.PermAll))
	other, _ := connect(t, addr)
	if _, err := c.Set("/big", make([]byte, 5000), -1); err == nil {
		t.Fatal("oversized request accepted")
	}
	if _, _, err := other.Get("/big"); err != nil {
		t.Fatalf("other connection affected: %v", err)
	}
}

// TestWatchFanOut: a set watched by many idle sessions reaches each of them with no other
// traffic on their connections, and a watcher sees the event before any reply carrying the
// new data.
func TestWatchFanOut(t *testing.T) {
	_, addr := startServer(t, nil)
	setter, _ := connect(t, addr)
	if _, err := setter.Create("/fan", []byte("0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	const watchers = 20
	conns := make([]*zk.Conn, watchers)
	for i := range conns {
		conns[i], _ = connect(t, addr)
	}
	arm := func() []<-chan zk.Event {
		events := make([]<-chan zk.Event, watchers)
		for i, c := range conns {
			var err error
			if _, _, events[i], err = c.GetW("/fan"); err != nil {
				t.Fatal(err)
			}
		}
		return events
	}
	events := arm()
	if _, err := setter.Set("/fan", []byte("1"), -1); err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		select {
		case e := <-events[i]:
			if e.Type != zk.EventNodeDataChanged || e.Path != "/fan" {
				t.Fatalf("watcher %d: %+v", i, e)
			}
		case <-time.After(2 * time.Second): // before go-zookeeper's first ping (~3.3 s)
			t.Fatalf("watcher %d got no NodeDataChanged", i)
		}
	}

	events = arm()
	if _, err := setter.Set("/fan", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		// The first read that returns the new data must find the event already delivered
		// (go-zookeeper hands packets over in the order they arrive).
		deadline := time.Now().Add(5 * time.Second)
		for {
			data, _, err := c.Get("/fan")
			if err != nil {
				t.Fatal(err)
			}
			if string(data) == "2" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("watcher %d never read the new data", i)
			}
		}
		select {
		case e := <-events[i]:
			if e.Type != zk.EventNodeDataChanged || e.Path != "/fan" {
				t.Fatalf("watcher %d: %+v", i, e)
			}
		default:
			t.Fatalf("watcher %d read the new data before its NodeDataChanged", i)
		}
	}
}

// TestDigestAlgChoosesTheDigestHash: zookeeper.DigestAuthenticationProvider.digestAlg names
// the hash of digest ids (here SHA-256, for the user's id and for superDigest); an id hashed
// with another does not match, and an unknown name stops the server.
func TestDigestAlgChoosesTheDigestHash(t *testing.T) {
	sha256ID := func(userPassword string) string {
		sum := sha256.Sum256([]byte(userPassword))
		user, _, _ := strings.Cut(userPassword, ":")
		return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
	}
	_, addr := startServer(t, map[string]string{
		"zookeeper.DigestAuthenticationProvider.digestAlg":   "sha-256",
		"zookeeper.DigestAuthenticationProvider.superDigest": sha256ID("super:secret"),
	})
	c1, _ := connect(t, addr)
	if err := c1.AddAuth("digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Create("/auth", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}); err != nil {
		t.Fatal(err)
	}
	acl, _, err := c1.GetACL("/auth")
	if err != nil || len(acl) != 1 || acl[0].ID != sha256ID("alice:pw") {
		t.Fatalf("auth acl with digestAlg SHA-256: %v %+v, want id %s", err, acl, sha256ID("alice:pw"))
	}
	// An ACL made with the SHA-1 id does not let alice in.
	if _, err := c1.Create("/sha1", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: DigestID("alice:pw")}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c1.Get("/sha1"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("read through a SHA-1 digest ACL with digestAlg SHA-256: %v, want no auth", err)
	}
	// superDigest is compared with the same hash.
	c2, _ := connect(t, addr)
	if err := c2.AddAuth("digest", []byte("super:secret")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2.Get("/sha1"); err != nil {
		t.Fatalf("super with a SHA-256 superDigest: %v", err)
	}

	cfg := testConfig(t, t.TempDir(), map[string]string{"zookeeper.DigestAuthenticationProvider.digestAlg": "SHA-999"})
	if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "SHA-999") {
		t.Fatalf("unknown digestAlg: %v", err)
	}
}

// zookeeper.DigestAuthenticationProvider.enabled=false leaves the digest scheme without a
// provider (ProviderRegistry): addauth digest fails with AUTHFAILED and closes the
// connection, an ACL naming a digest id is INVALIDACL, and so nobody becomes super through
// superDigest; other schemes work as before.
func TestDigestProviderDisabled(t *testing.T) {
	_, addr := startServer(t, map[string]string{
		"zookeeper.DigestAuthenticationProvider.enabled":     "false",
		"zookeeper.DigestAuthenticationProvider.superDigest": DigestID("super:secret"),
	})
	c, _ := connect(t, addr)
	digestACL := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: DigestID("alice:pw")}}
	if _, err := c.Create("/d", nil, 0, digestACL); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("create with a digest ACL: %v, want invalid ACL", err)
	}
	if _, err := c.Create("/ip", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}}); err != nil {
		t.Fatalf("create with an ip ACL: %v", err)
	}
	nc, readFrame := dialRawSession(t, addr)
	e := jute.NewEncoder(64)
	(&jute.RequestHeader{Xid: -4, Type: jute.OpAuth}).Encode(e)
	(&jute.AuthPacket{Scheme: "digest", Auth: []byte("super:secret")}).Encode(e)
	if _, err := nc.Write(framed(e.B)); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b := readFrame(); int32(binary.BigEndian.Uint32(b[12:])) != int32(jute.AuthFailed) {
		t.Fatalf("addauth digest: error %d, want AUTHFAILED", int32(binary.BigEndian.Uint32(b[12:])))
	}
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection stays open after a failed addauth")
	}

	// The default: the same requests succeed.
	_, addr = startServer(t, nil)
	c, _ = connect(t, addr)
	if err := c.AddAuth("digest", []byte("alice:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/d", nil, 0, digestACL); err != nil {
		t.Fatalf("create with a digest ACL, provider enabled: %v", err)
	}
}
