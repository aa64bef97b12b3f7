package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// staticEnsemble writes dir/zoo.cfg (with dataDir=dir) and dir/myid.
func staticEnsemble(t *testing.T, myid, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(myid), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(body, "@DATADIR@", dir)), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const threeServers = `tickTime=2000
initLimit=10
syncLimit=5
dataDir=@DATADIR@
reconfigEnabled=true
server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181
server.2=127.0.0.2:2888:3888:participant;0.0.0.0:2181
server.3=127.0.0.3:2888:3888:participant;0.0.0.0:2181
`

func fourServers(t *testing.T) map[int64]*ServerSpec {
	t.Helper()
	servers := map[int64]*ServerSpec{}
	for id, v := range map[int64]string{
		1: "127.0.0.1:2888:3888:participant;0.0.0.0:2181",
		2: "127.0.0.2:2888:3888:participant;0.0.0.0:2181",
		3: "127.0.0.3:2888:3888:participant;0.0.0.0:2181",
		4: "127.0.0.4:2888:3888:participant;0.0.0.0:2181",
	} {
		s, err := ParseServerSpec(id, v, false)
		if err != nil {
			t.Fatal(err)
		}
		servers[id] = s
	}
	return servers
}

func TestWriteDynamicConfigReadsBack(t *testing.T) {
	static := staticEnsemble(t, "2\n", threeServers)
	servers := fourServers(t)
	dyn, err := WriteDynamicConfig(static, (&Verifier{Servers: servers}).String(0x100000003), 0x100000003)
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := filepath.EvalSymlinks(static + ".dynamic.100000003")
	if dyn != canon || !filepath.IsAbs(dyn) {
		t.Errorf("dynamic path %q, want %q", dyn, canon)
	}
	// writeDynamicConfig: sorted lines, no version line, no final newline.
	want := "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n" +
		"server.2=127.0.0.2:2888:3888:participant;0.0.0.0:2181\n" +
		"server.3=127.0.0.3:2888:3888:participant;0.0.0.0:2181\n" +
		"server.4=127.0.0.4:2888:3888:participant;0.0.0.0:2181"
	if got := readFile(t, dyn); got != want {
		t.Errorf("dynamic file:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, static); strings.Contains(got, "server.") || !strings.HasSuffix(got, "\ndynamicConfigFile="+dyn+"\n") {
		t.Errorf("static file:\n%s", got)
	}
	for _, p := range []string{static, dyn} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, %v", p, st.Mode(), err)
		}
	}

	c, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	if c.DynamicConfigFile != dyn || c.ConfigVersion != 0x100000003 || c.MyID != 2 || c.Standalone() {
		t.Errorf("dynamic %q version %x myid %d standalone %v", c.DynamicConfigFile, c.ConfigVersion, c.MyID, c.Standalone())
	}
	if !reflect.DeepEqual(c.VotingMembers(), []int64{1, 2, 3, 4}) || len(c.ObservingMembers()) != 0 {
		t.Errorf("members %v observers %v", c.VotingMembers(), c.ObservingMembers())
	}
	for id, s := range servers {
		if got := c.Servers[id]; got == nil || got.String() != s.String() || got.Type != Participant {
			t.Errorf("server.%d = %v, want %v", id, got, s)
		}
	}
	if c.Verifier().String(c.ConfigVersion) != (&Verifier{Servers: servers}).String(0x100000003) {
		t.Errorf("verifier string changed on the way through the files")
	}
}

func TestWriteDynamicConfigReplacesPointer(t *testing.T) {
	static := staticEnsemble(t, "1", threeServers)
	servers := fourServers(t)
	first, err := WriteDynamicConfig(static, (&Verifier{Servers: servers}).String(0x100000003), 0x100000003)
	if err != nil {
		t.Fatal(err)
	}
	// Server 4 becomes an observer; members without a version line work too.
	servers[4].Type = Observer
	members := strings.TrimSuffix((&Verifier{Servers: servers}).String(0), "version=0")
	second, err := WriteDynamicConfig(static, members, 0x20000000a)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(second) != "zoo.cfg.dynamic.20000000a" {
		t.Errorf("second dynamic file %q", second)
	}
	if got := readFile(t, static); strings.Count(got, "dynamicConfigFile=") != 1 || !strings.Contains(got, "dynamicConfigFile="+second+"\n") {
		t.Errorf("static file:\n%s", got)
	}
	// ZooKeeper keeps the files of earlier versions for backup.
	if _, err := os.Stat(first); err != nil {
		t.Errorf("earlier dynamic file: %v", err)
	}
	c, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigVersion != 0x20000000a || !reflect.DeepEqual(c.ObservingMembers(), []int64{4}) || len(c.VotingMembers()) != 3 {
		t.Errorf("version %x voters %v observers %v", c.ConfigVersion, c.VotingMembers(), c.ObservingMembers())
	}
	// No temp files left behind.
	entries, _ := os.ReadDir(filepath.Dir(static))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left over %s", e.Name())
		}
	}
}

func TestWriteDynamicConfigKeepsStaticLines(t *testing.T) {
	static := staticEnsemble(t, "3", `# The number of milliseconds of each tick
tickTime=2000

! initLimit and syncLimit are in ticks
initLimit : 10
syncLimit 5
dataDir=@DATADIR@
clientPort=2181
clientPortListenBacklog=100
peerType=participant
4lw.commands.whitelist=srvr, \
    mntr
server.1=127.0.0.1:2888:3888;2181
server.2=127.0.0.2:2888:\
    3888;2181
  server.3 = 127.0.0.3:2888:3888;2181
group.1=1:2:3
weight.1=1
dynamicConfigFile=/old/zoo.cfg.dynamic.100000000
# trailing comment without newline`)
	servers := fourServers(t)
	dyn, err := WriteDynamicConfig(static, (&Verifier{Servers: servers}).String(0x100000003), 0x100000003)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(static)
	// Server 3's new line has a client address, so clientPort goes
	// (needEraseClientInfoFromStaticConfig); the backlog stays.
	want := `# The number of milliseconds of each tick
tickTime=2000

! initLimit and syncLimit are in ticks
initLimit : 10
syncLimit 5
dataDir=` + dir + `
clientPortListenBacklog=100
4lw.commands.whitelist=srvr, \
    mntr
# trailing comment without newline
dynamicConfigFile=` + dyn + "\n"
	if got := readFile(t, static); got != want {
		t.Errorf("static file:\n%s\nwant:\n%s", got, want)
	}
	c, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientPort != 2181 || c.ClientPortListenBacklog != 100 || c.InitLimit != 10 || len(c.Servers) != 4 {
		t.Errorf("clientPort %d backlog %d initLimit %d servers %d", c.ClientPort, c.ClientPortListenBacklog, c.InitLimit, len(c.Servers))
	}
	if wl := c.FourLetterWhitelist(); !reflect.DeepEqual(wl, map[string]bool{"srvr": true, "mntr": true}) {
		t.Errorf("whitelist %v", wl)
	}
}

func TestWriteDynamicConfigKeepsStaticClientPort(t *testing.T) {
	// Server 1 has no client address in the membership: its clientPort is
	// the only one it has and stays (isClientAddrFromStatic).
	static := staticEnsemble(t, "1", "dataDir=@DATADIR@\ninitLimit=5\nsyncLimit=2\nclientPort=2191\nclientPortAddress=127.0.0.1\n")
	members := "server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:participant;2181\nserver.3=127.0.0.3:2888:3888:participant;2181\nversion=100000000"
	if _, err := WriteDynamicConfig(static, members, 0x100000000); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientListenAddr() != "127.0.0.1:2191" || c.ConfigVersion != 0x100000000 {
		t.Errorf("client addr %q version %x", c.ClientListenAddr(), c.ConfigVersion)
	}
}

func TestWriteDynamicConfigHierarchical(t *testing.T) {
	static := staticEnsemble(t, "1", "dataDir=@DATADIR@\ninitLimit=5\nsyncLimit=2\n")
	members := "server.1=a:1:2:participant\nserver.2=b:1:2:participant\nserver.10=c:1:2:participant\n" +
		"group.1=1:2\ngroup.2=10\nweight.10=0\nversion=5"
	dyn, err := WriteDynamicConfig(static, members, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted as "key=value" strings, as Collections.sort does: '0' < '='.
	want := "group.1=1:2\ngroup.2=10\nserver.10=c:1:2:participant\nserver.1=a:1:2:participant\nserver.2=b:1:2:participant\nweight.10=0"
	if got := readFile(t, dyn); got != want {
		t.Errorf("dynamic file:\n%s\nwant:\n%s", got, want)
	}
	c, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigVersion != 5 || !reflect.DeepEqual(c.Groups, map[int64][]int64{1: {1, 2}, 2: {10}}) || c.Weights[10] != 0 {
		t.Errorf("version %x groups %v weights %v", c.ConfigVersion, c.Groups, c.Weights)
	}
}

func TestWriteDynamicConfigRefuses(t *testing.T) {
	static := staticEnsemble(t, "1", threeServers)
	before := readFile(t, static)
	for _, tc := range []struct {
		members string
		version int64
		want    string
	}{
		{"version=1", 1, "no server lines"},
		{"server.1=a:1:2\nversion=2", 1, "version 2 of the members is not 1"},
		{"server.1=a:1\n", 1, "server.1: "},
		{"server.x=a:1:2\n", 1, "invalid server id"},
		{"server.1=a:1:2\ntickTime=5\n", 1, "tickTime: unrecognised parameter"},
		{"server.1=a:1:2\n", -1, "negative config version"},
	} {
		_, err := WriteDynamicConfig(static, tc.members, tc.version)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.members, err, tc.want)
		}
	}
	if _, err := WriteDynamicConfig(filepath.Join(t.TempDir(), "missing.cfg"), "server.1=a:1:2", 1); err == nil {
		t.Error("missing static file: no error")
	}
	entries, _ := os.ReadDir(filepath.Dir(static))
	if len(entries) != 2 || readFile(t, static) != before {
		t.Errorf("refused writes touched the directory: %v", entries)
	}
}

func TestEditStaticLineEndings(t *testing.T) {
	// CRLF and lone CR end lines as in Properties; a dropped entry takes its
	// continuation lines with it.
	in := "a=1\r\nserver.1=x:1:\\\r\n  2\r\rb=2\rserver.2=y:1:2"
	got, err := editStatic([]byte(in), "/d/zoo.cfg.dynamic.1", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=1\r\n\rb=2\rdynamicConfigFile=/d/zoo.cfg.dynamic.1\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A kept entry continued at the end of the file would swallow the
	// pointer: refuse instead of writing a file that reads back wrong.
	if _, err := editStatic([]byte("a=1\\"), "/d/zoo.cfg.dynamic.1", false); err == nil {
		t.Error("continued last line: no error")
	}
}
