// Package roundtrip checks data dir compatibility with Apache ZooKeeper 3.8 in both
// directions: a tree written by zkgo is served identically by Apache ZooKeeper started on the
// same data dir, and the other way round.
package roundtrip

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/persistence/inspect"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}

const snapCount = "20"

func startZkgo(t *testing.T, dir string) *server.Server { return startZkgoWith(t, dir, nil) }

// startZkgoWith starts zkgo on dir with these system properties added.
func startZkgoWith(t *testing.T, dir string, props map[string]string) *server.Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"}) // tests must not fight over port 8080
	cfg.ApplySystemProps(map[string]string{
		"zookeeper.snapCount":            snapCount,
		"zookeeper.extendedTypesEnabled": "true",
	})
	cfg.ApplySystemProps(props)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPort = 0
	s, err := server.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("zkgo start on %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			c.Close()
			t.Fatalf("no session with %s", addr)
		}
	}
}

var (
	world    = zk.WorldACL(zk.PermAll)
	alice    = zk.DigestACL(zk.PermAll, "alice", "secret")
	bobRead  = zk.DigestACL(zk.PermRead, "bob", "pw")
	ipACL    = []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}}
	mixedACL = []zk.ACL{
		{Perms: zk.PermRead | zk.PermAdmin, Scheme: "world", ID: "anyone"},
		{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.0/8"},
		alice[0],
	}
)

// writeTree writes a varied tree: nested nodes, empty and null data, ACLs of the world,
// digest, ip and auth schemes, sequential nodes, containers and TTL nodes, multi, setData,
// setACL and deletes (so versions, cversion and pzxid are non-trivial), and more than
// snapCount txns so that snapshots and a log tail exist. It returns the connection holding
// a live ephemeral, which the caller must leave open until the server is stopped.
func writeTree(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c := connect(t, addr)
	defer c.Close()
	if err := c.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	step := 0
	must := func(p string, err error) {
		t.Helper()
		step++
		if err != nil {
			t.Fatalf("write step %d (%s): %v", step, p, err)
		}
	}
	must(c.Create("/a", []byte("top"), 0, world))
	must(c.Create("/a/b", nil, 0, world))
	must(c.Create("/a/b/c", []byte{}, 0, world))
	must(c.Create("/a/b/c/d", []byte("deep\x00\xff\xfebinary"), 0, world))
	must(c.Create("/a/empty", []byte(""), 0, world))
	must(c.Create("/acl", nil, 0, world))
	must(c.Create("/acl/digest", []byte("d"), 0, alice))
	must(c.Create("/acl/ip", []byte("i"), 0, ipACL))
	must(c.Create("/acl/mixed", []byte("m"), 0, mixedACL))
	must(c.Create("/acl/auth", []byte("au"), 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}))
	must(c.Create("/acl/readonly", []byte("ro"), 0, zk.WorldACL(zk.PermRead|zk.PermAdmin)))
	must(c.Create("/acl/two", []byte("2"), 0, append(append([]zk.ACL{}, bobRead...), alice...)))
	must(c.Create("/seq", []byte("s"), 0, world))
	for i := 0; i < 12; i++ {
		must(c.Create("/seq/n-", []byte(fmt.Sprintf("v%d", i)), zk.FlagSequence, world))
	}
	// Deletes raise the parent's pzxid and cversion without being visible as children.
	for _, n := range []string{"/seq/n-0000000001", "/seq/n-0000000004", "/seq/n-0000000011"} {
		if err := c.Delete(n, -1); err != nil {
			t.Fatal(err)
		}
	}
	must(c.Create("/seq/n-", []byte("after-delete"), zk.FlagSequence, world))
	must(c.CreateContainer("/cont", []byte("c"), zk.FlagContainer, world))
	must(c.Create("/cont/child", []byte("keeps it"), 0, world))
	must(c.CreateTTL("/ttl", []byte("t"), zk.FlagTTL, world, time.Hour))
	must(c.CreateTTL("/ttlseq-", []byte("ts"), zk.FlagPersistentSequentialWithTTL, world, 2*time.Hour))
	for i := 0; i < 5; i++ {
		if _, err := c.Set("/a", []byte(fmt.Sprintf("top-%d", i)), -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Set("/a/b", nil, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetACL("/acl/readonly", zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermAdmin), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetACL("/a/b/c", alice, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Multi(
		&zk.CreateRequest{Path: "/multi", Data: []byte("m"), Acl: world},
		&zk.CreateRequest{Path: "/multi/x", Data: []byte("x"), Acl: world},
		&zk.SetDataRequest{Path: "/multi", Data: []byte("m2"), Version: -1},
		&zk.CheckVersionRequest{Path: "/a", Version: -1},
	); err != nil {
		t.Fatal(err)
	}
	// A failed multi consumes a zxid (an error txn) and changes nothing.
	if _, err := c.Multi(
		&zk.CreateRequest{Path: "/multi/y", Data: []byte("y"), Acl: world},
		&zk.DeleteRequest{Path: "/does-not-exist", Version: -1},
	); err == nil {
		t.Fatal("failing multi succeeded")
	}
	// Short-lived session with an ephemeral that is closed: closeSession deletes it.
	c2 := connect(t, addr)
	must(c2.Create("/a/gone", []byte("e"), zk.FlagEphemeral, world))
	c2.Close()
	for i := 0; i < 25; i++ {
		must(c.Create(fmt.Sprintf("/bulk%02d", i), []byte(strings.Repeat("x", i)), 0, world))
		if i%3 == 0 {
			if err := c.Delete(fmt.Sprintf("/bulk%02d", i), -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The live session and its ephemerals, kept by the caller.
	live := connect(t, addr)
	must(live.Create("/a/eph", []byte("live"), zk.FlagEphemeral, world))
	must(live.Create("/seq/eseq-", []byte("live-seq"), zk.FlagEphemeralSequential, world))
	return live
}

type znode struct {
	Path string
	Data []byte
	Stat zk.Stat
	ACL  []zk.ACL
}

func (n znode) String() string {
	return fmt.Sprintf("%s data=%q stat=%+v acl=%v", n.Path, n.Data, n.Stat, n.ACL)
}

// dumpTree walks the whole tree (including /zookeeper) with a client authenticated as alice.
func dumpTree(t *testing.T, addr string) []znode {
	t.Helper()
	c := connect(t, addr)
	defer c.Close()
	if err := c.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	var out []znode
	var walk func(p string)
	walk = func(p string) {
		data, st, err := c.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		acl, _, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("getACL %s: %v", p, err)
		}
		out = append(out, znode{Path: p, Data: data, Stat: *st, ACL: acl})
		kids, _, err := c.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		sort.Strings(kids)
		for _, k := range kids {
			if p == "/" {
				walk("/" + k)
			} else {
				walk(p + "/" + k)
			}
		}
	}
	walk("/")
	return out
}

func compareTrees(t *testing.T, what string, want, got []znode) {
	t.Helper()
	w := map[string]znode{}
	for _, n := range want {
		w[n.Path] = n
	}
	g := map[string]znode{}
	for _, n := range got {
		g[n.Path] = n
	}
	bad := 0
	for _, n := range want {
		o, ok := g[n.Path]
		if !ok {
			t.Errorf("%s: %s missing", what, n.Path)
			bad++
			continue
		}
		if !bytes.Equal(n.Data, o.Data) || n.Stat != o.Stat || fmt.Sprint(n.ACL) != fmt.Sprint(o.ACL) {
			t.Errorf("%s: %s differs:\n want %v\n  got %v", what, n.Path, n, o)
			bad++
		}
	}
	for _, n := range got {
		if _, ok := w[n.Path]; !ok {
			t.Errorf("%s: unexpected %v", what, n)
			bad++
		}
	}
	if bad == 0 {
		t.Logf("%s: %d nodes identical", what, len(want))
	}
}

// versionFiles lists version-2/ and checks that there is a snapshot after snapshot.0 and a
// log that starts after it (a log tail to replay).
func versionFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "version-2"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// ensureLogTail writes a little more while the newest snapshot holds every txn: the
// snapshot threshold is randomised (as in ZooKeeper) and a fuzzy snapshot may end at the
// last txn, and the round trip must also replay a log tail.
//
// It returns the tree as dumpTree reads it: the dump's own session is two txns, which can
// start a snapshot holding every txn, so the tail is checked after the dump.
func ensureLogTail(t *testing.T, dir string, c *zk.Conn, addr string) []znode {
	t.Helper()
	var tree []znode
	for i := 0; i < 10; i++ {
		tree = dumpTree(t, addr)
		time.Sleep(200 * time.Millisecond) // let a background snapshot finish
		if rep, err := inspect.Check(dir, ""); err == nil && rep.Restored != nil && rep.Restored.SnapZxid != 0 && rep.Restored.Replayed > 0 {
			return tree
		}
		if _, err := c.Create("/tail-", []byte("t"), zk.FlagSequence, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	return tree
}

func requireSnapshotAndTail(t *testing.T, dir string) {
	t.Helper()
	rep, err := inspect.Check(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	inspect.WriteCheckReport(&buf, rep)
	t.Logf("zktool check %s:\n%s", dir, buf.String())
	if !rep.OK() {
		t.Errorf("zktool check failed on %s", dir)
	}
	if rep.Restored == nil || rep.Restored.SnapZxid == 0 || rep.Restored.Replayed == 0 {
		t.Errorf("want a snapshot after snapshot.0 and a log tail after it; files %v", versionFiles(t, dir))
	}
}

// compareWithJavaTools runs zktool and Apache's TxnLogToolkit / SnapshotFormatter on every
// file of dir and requires identical output (the JSON timestamp aside).
func compareWithJavaTools(t *testing.T, dir string) {
	t.Helper()
	vdir := filepath.Join(dir, "version-2")
	for _, name := range versionFiles(t, dir) {
		f := filepath.Join(vdir, name)
		var runs [][2][]string
		switch {
		case strings.HasPrefix(name, "log."):
			runs = [][2][]string{{{"log", "-d", f}, {"org.apache.zookeeper.server.persistence.TxnLogToolkit", "-d", f}}}
		case strings.HasPrefix(name, "snapshot."):
			runs = [][2][]string{
				{{"snapshot", f}, {"org.apache.zookeeper.server.SnapshotFormatter", f}},
				{{"snapshot", "-d", f}, {"org.apache.zookeeper.server.SnapshotFormatter", "-d", f}},
				{{"snapshot", "-json", f}, {"org.apache.zookeeper.server.SnapshotFormatter", "-json", f}},
			}
		}
		for _, r := range runs {
			var got, stderr bytes.Buffer
			t.Setenv("TZ", "UTC")
			if code := inspect.Run(r[0], &got, &stderr); code != 0 {
				t.Errorf("zktool %v: exit %d: %s", r[0], code, stderr.String())
				continue
			}
			cmd := exec.Command("java", append([]string{"-cp", zktest.Classpath()}, r[1]...)...)
			cmd.Env = append(os.Environ(), "TZ=UTC")
			want, err := cmd.Output()
			if err != nil {
				t.Errorf("java %v: %v", r[1], err)
				continue
			}
			g, w := got.String(), string(want)
			if r[0][1] == "-json" {
				g, w = stripTimestamp(g), stripTimestamp(w)
			}
			if g != w {
				t.Errorf("zktool %v differs from %s:\n--- zktool\n%s\n--- java\n%s", r[0][:len(r[0])-1], r[1][0], g, w)
			}
		}
	}
}

func stripTimestamp(s string) string {
	i := strings.Index(s, `"timestamp":`)
	if i < 0 {
		return s
	}
	j := i + len(`"timestamp":`)
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[:i] + s[j:]
}

// zkgo writes, Apache ZooKeeper 3.8 serves the same data dir.
func TestZkgoDataDirServedByApache(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	dir := t.TempDir()
	s := startZkgo(t, dir)
	live := writeTree(t, s.Addr().String())
	before := ensureLogTail(t, dir, live, s.Addr().String())
	s.Close()
	live.Close() // the server is gone: the session stays open in the data dir
	requireSnapshotAndTail(t, dir)
	compareWithJavaTools(t, dir)

	a := zktest.StartApacheDir(t, dir, "extendedTypesEnabled=true", "snapCount="+snapCount)
	after := dumpTree(t, a.Addr)
	compareTrees(t, "zkgo -> Apache", before, after)
	for _, l := range strings.Split(a.Log(), "\n") {
		if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || strings.Contains(l, "Exception") {
			t.Logf("apache: %s", l)
		}
	}
}

// Apache ZooKeeper 3.8 writes, zkgo serves the same data dir.
func TestApacheDataDirServedByZkgo(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	dir := t.TempDir()
	a := zktest.StartApacheDir(t, dir, "extendedTypesEnabled=true", "snapCount="+snapCount)
	live := writeTree(t, a.Addr)
	before := ensureLogTail(t, dir, live, a.Addr)
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	live.Close()
	requireSnapshotAndTail(t, dir)
	compareWithJavaTools(t, dir)

	s := startZkgo(t, dir)
	after := dumpTree(t, s.Addr().String())
	compareTrees(t, "Apache -> zkgo", before, after)
}
