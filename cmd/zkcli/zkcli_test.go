package main

import (
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/client"
	"github.com/zkgo/zkgo/client/clienttest"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  create   /a  b  ", []string{"create", "/a", "b"}},
		{`create /a "two words"`, []string{"create", "/a", "two words"}},
		{`create /a 'single quoted'`, []string{"create", "/a", "single quoted"}},
		{`create /a ""`, []string{"create", "/a", ""}},
		{`create /a "unclosed`, []string{"create", "/a", "unclosed"}},
		{`set /a x"y"`, []string{"set", "/a", `x"y"`}},
		{"\t", []string{"\t"}}, // Java's pattern matches a lone blank as a word
		{"", nil},
	} {
		if got := parseCommand(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCommand(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// The messages are commons-cli 1.5's, as zkCli prints them.
func TestOptionParser(t *testing.T) {
	for _, tc := range []struct {
		set    *optSet
		args   string
		err    string
		args2  []string
		values map[string]string
	}{
		{createOpts, "create -s -e /a d", "", []string{"create", "/a", "d"}, nil},
		{createOpts, "create /a -s d", "", []string{"create", "/a", "d"}, nil},
		{createOpts, "create -t 500 /a", "", []string{"create", "/a"}, map[string]string{"t": "500"}},
		{createOpts, "create -t500 /a", "", []string{"create", "/a"}, map[string]string{"t": "500"}},
		{createOpts, "create -t=500 /a", "", []string{"create", "/a"}, map[string]string{"t": "500"}},
		{createOpts, "create -st 7 /a", "", []string{"create", "/a"}, map[string]string{"t": "7"}},
		{createOpts, "create -t -5 /a", "", []string{"create", "/a"}, map[string]string{"t": "-5"}},
		{createOpts, `create -t "9" /a`, "", []string{"create", "/a"}, map[string]string{"t": "9"}},
		{createOpts, "create -- -s", "", []string{"create", "-s"}, nil},
		{createOpts, "create - x", "", []string{"create", "-", "x"}, nil},
		{createOpts, "create -z /b/z", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -z", nil, nil},
		{createOpts, "create -sz /b", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -sz", nil, nil},
		{createOpts, "create --long /b", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --long", nil, nil},
		{createOpts, "create /b -t", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: t", nil, nil},
		{createOpts, "create -t -e /b", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: t", nil, nil},
		{reconfigOpts, "reconfig -members a=b -v 3", "", []string{"reconfig"}, map[string]string{"members": "a=b", "v": "3"}},
		{setQuotaOpts, "setquota /q", "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]", nil, nil},
		{setQuotaOpts, "setquota -n 5 -b 5 /q", "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but an option from this group has already been selected: 'n'", nil, nil},
		{setQuotaOpts, "setquota -n 5 -n 6 /q", "", []string{"setquota", "/q"}, map[string]string{"n": "5"}},
		{delQuotaOpts, "delquota /q", "", []string{"delquota", "/q"}, nil},
	} {
		cl, err := tc.set.parse(strings.Fields(tc.args))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !reflect.DeepEqual(cl.args, tc.args2) {
			t.Errorf("%q: args %q, want %q", tc.args, cl.args, tc.args2)
		}
		for k, v := range tc.values {
			if !cl.has(k) || cl.value(k) != v {
				t.Errorf("%q: option %s = %q, want %q", tc.args, k, cl.value(k), v)
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	var b bytes.Buffer
	printStat(&b, &client.Stat{Czxid: 0x1a, Mzxid: 0x2b, Pzxid: 3, Cversion: -2, Version: 4, Aversion: 5,
		EphemeralOwner: -0x100000000000000, DataLength: 6, NumChildren: 7})
	want := "cZxid = 0x1a\nctime = " + javaDate(0) + "\nmZxid = 0x2b\nmtime = " + javaDate(0) + "\npZxid = 0x3\n" +
		"cversion = -2\ndataVersion = 4\naclVersion = 5\nephemeralOwner = 0xff00000000000000\ndataLength = 6\nnumChildren = 7\n"
	if b.String() != want {
		t.Errorf("stat:\n%s\nwant:\n%s", b.String(), want)
	}
	loc := time.Local
	time.Local = time.UTC
	if d := javaDate(0); d != "Thu Jan 01 00:00:00 UTC 1970" {
		t.Errorf("date %q", d)
	}
	time.Local = loc
	if s := idString(client.ID{Scheme: "digest", ID: "u:a,b%}\n"}); s != "'digest,'u:a%2Cb%25%7D%0A\n" {
		t.Errorf("id %q", s)
	}
	if p := permString(client.PermAll); p != "cdrwa" {
		t.Errorf("perms %q", p)
	}
	if p := permString(client.PermRead | client.PermAdmin); p != "ra" {
		t.Errorf("perms %q", p)
	}
	var errw bytes.Buffer
	acl := parseACL("world:anyone:xr,abc,digest:u:h=:cdrwa", &errw)
	if errw.String() != "Unknown perm type: x\nabc does not have the form scheme:id:perm\n" {
		t.Errorf("acl messages %q", errw.String())
	}
	if len(acl) != 2 || acl[0].Perms != client.PermRead || acl[1].Id.ID != "u:h=" || acl[1].Perms != client.PermAll {
		t.Errorf("acl %+v", acl)
	}
	if l := javaList([]string{"a", "b"}); l != "[a, b]" {
		t.Errorf("list %q", l)
	}
	names := commandNames()
	if names[0] != "addWatch" || names[1] != "addauth" || names[len(names)-1] != "whoami" {
		t.Errorf("usage order %v", names)
	}
	if got := clientConfigString(""); got != " " {
		t.Errorf("empty config: %q", got)
	}
	if got := clientConfigString("server.1=h1:2888:3888:participant;0.0.0.0:2181\nserver.2=h2:2888:3888;2182\nversion=100000000\n"); got != "100000000 0.0.0.0:2181,0.0.0.0:2182" {
		t.Errorf("client config: %q", got)
	}
}

func TestStatsTrack(t *testing.T) {
	st := statsTrack{"count": 5, "bytes": -1, "countHardLimit": -1, "byteHardLimit": 12}
	if s := st.String(); s != "count=5,bytes=-1=;byteHardLimit=12;countHardLimit=-1" {
		t.Errorf("%q", s)
	}
	back := parseStatsTrack(st.String())
	if !reflect.DeepEqual(back, st) {
		t.Errorf("round trip %v", back)
	}
	if s := (statsTrack{"count": 0, "bytes": 0}).String(); s != "count=0,bytes=0" {
		t.Errorf("%q", s)
	}
	if s := parseStatsTrack("").String(); s != "count=-1,bytes=-1" {
		t.Errorf("%q", s)
	}
}

func TestJavaDecode(t *testing.T) {
	for in, want := range map[string]int{"12": 12, "0x10": 16, "#f": 15, "010": 8, "-3": -3, "0": 0} {
		if got, ok := javaDecode(in); !ok || got != want {
			t.Errorf("%q: %d %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "abc", "1_0", "0b1", "99999999999", "--1"} {
		if _, ok := javaDecode(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLineEditing(t *testing.T) {
	l := &lineState{history: []string{"ls /", "get /a"}, hpos: 2}
	keys := func(ks ...string) {
		for _, k := range ks {
			l.key(k)
		}
	}
	keys("g", "e", "t", " ", "/", "b")
	keys("left", "left", "x", "home", "delete", "G", "end", "backspace")
	if l.String() != "Get x/" || l.pos != len(l.buf) {
		t.Fatalf("edit: %q pos %d", l.String(), l.pos)
	}
	keys("up")
	if l.String() != "get /a" {
		t.Fatalf("up: %q", l.String())
	}
	keys("up", "up")
	if l.String() != "ls /" {
		t.Fatalf("up twice: %q", l.String())
	}
	keys("down", "down")
	if l.String() != "Get x/" {
		t.Fatalf("back to the new line: %q", l.String())
	}
	keys("left", "left", "kill-end")
	if l.String() != "Get " {
		t.Fatalf("kill to end: %q", l.String())
	}
	keys("é", "kill-word")
	if l.String() != "Get " {
		t.Fatalf("kill word: %q", l.String())
	}
	keys("a", "b", "home", "kill-start")
	if l.String() != "Get ab" {
		t.Fatalf("kill to start at home: %q", l.String())
	}
	keys("end", "kill-start", "interrupt")
	if l.String() != "" {
		t.Fatalf("interrupt: %q", l.String())
	}
	if done, eof := l.key("eof"); done || !eof {
		t.Fatal("ctrl-d on an empty line ends input")
	}
	if done, _ := l.key("enter"); !done {
		t.Fatal("enter")
	}
}

var (
	dateRe  = regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d [A-Z]{2,5} \d{4}`)
	zxidRe  = regexp.MustCompile(`(?m)^([cmp]Zxid = )0x[0-9a-f]+$`)
	ownerRe = regexp.MustCompile(`(?m)^(ephemeralOwner = )0x[0-9a-f]{6,}$`)
	eventRe = regexp.MustCompile(`\nWATCHER::\n\nWatchedEvent [^\n]*\n`)
)

// runShell runs zkcli on a script (stdin mode) or a batch command and returns stdout
// without watch events, the events, stderr and the exit status.
func runShell(t *testing.T, args []string, script string) (out, events, errs string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	s := newShell(strings.NewReader(script), &o, &e, false)
	code = s.run(args)
	if zk := s.conn(); zk != nil {
		zk.Close()
	}
	s.out.flush()
	raw := o.String()
	events = strings.Join(eventRe.FindAllString(raw, -1), "")
	out = eventRe.ReplaceAllString(raw, "")
	out = dateRe.ReplaceAllString(out, "<date>")
	out = zxidRe.ReplaceAllString(out, "${1}<zxid>")
	out = ownerRe.ReplaceAllString(out, "${1}<session>")
	return out, events, e.String(), code
}

func TestShellSession(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	script := `create /s data
create /s/c1 "two words"
create -e /s/e
create /s/c1 x
get -s /s
ls /s
ls -R /s
set -v 9 /s y
set /s y
get /s/c1
stat /nope
delete /s
getAcl /s
setAcl /s world:anyone:cdra
getAcl -s /s
sync /s
getAllChildrenNumber /s
getEphemerals /s
ls
bogus
printwatches off
printwatches
history
redo 5
redo 99
setquota -n 3 /s
listquota /s
delquota /s
listquota /s
whoami
deleteall /s
ls /s
close
ls /
`
	out, _, errs, code := runShell(t, []string{"-server", addr}, script)
	wantOut := `Connecting to ` + addr + `
Welcome to ZooKeeper!
JLine support is disabled
data
cZxid = <zxid>
ctime = <date>
mZxid = <zxid>
mtime = <date>
pZxid = <zxid>
cversion = 2
dataVersion = 0
aclVersion = 0
ephemeralOwner = 0x0
dataLength = 4
numChildren = 2
[c1, e]
/s
/s/c1
/s/e
two words
'world,'anyone
: cdrwa
'world,'anyone
: cdra
cZxid = <zxid>
ctime = <date>
mZxid = <zxid>
mtime = <date>
pZxid = <zxid>
cversion = 2
dataVersion = 1
aclVersion = 1
ephemeralOwner = 0x0
dataLength = 1
numChildren = 2
Sync is OK
2
[/s/e]
printwatches is off
12 - getAcl /s
13 - setAcl /s world:anyone:cdra
14 - getAcl -s /s
15 - sync /s
16 - getAllChildrenNumber /s
17 - getEphemerals /s
18 - ls
19 - bogus
20 - printwatches off
21 - printwatches
22 - history
`
	// history: the last ten commands and itself; then redo 5 runs "ls /s" again
	if !strings.HasPrefix(out, wantOut+"[c1, e]\nOutput quota") {
		t.Fatalf("stdout:\n%s\nwant prefix:\n%s", out, wantOut)
	}
	for _, want := range []string{
		"printwatches is off\n",
		"Output quota for /s count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /s count=3,bytes=10\n",
		"Auth scheme: User\nip: 127.0.0.1\n",
		"Not connected\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	wantErr := []string{
		"Created /s", "Created /s/c1", "Created /s/e", "Node already exists: /s/c1",
		"version No is not valid : /s", "Node does not exist: /nope", "Node not empty: /s",
		"ls [-s] [-w] [-R] path",
		"ZooKeeper -server host:port -client-configuration properties-file cmd args",
		"\taddWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
		"\tclose ",
		"Command not found: Command not found bogus",
		"Command index out of range",
		"absolute path is /zookeeper/quota/s/zookeeper_limits",
		"quota for /s does not exist.",
		"Node does not exist: /s",
	}
	for _, w := range wantErr {
		if !strings.Contains(errs, w+"\n") {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	if code != 0 {
		t.Errorf("exit status %d (the last command, ls / after close, prints Not connected: 0)", code)
	}
}

func TestShellWatchEvents(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	script := `create /w d
get -w /w
set /w e
ls -w /w
create /w/c x
addWatch -m PERSISTENT_RECURSIVE /w
set /w/c y
removewatches /w
set /w/c z
stat -w /w/nope
create /w/nope n
quit
`
	var o, e bytes.Buffer
	s := newShell(strings.NewReader(script), &o, &e, false)
	code := s.run([]string{"-server", addr})
	if code != 0 {
		t.Fatalf("exit status %d, stderr %s", code, e.String())
	}
	got := eventRe.FindAllString(o.String(), -1)
	want := []string{
		"WatchedEvent state:SyncConnected type:None path:null",
		"WatchedEvent state:SyncConnected type:NodeDataChanged path:/w",
		"WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w",
		"WatchedEvent state:SyncConnected type:NodeDataChanged path:/w/c",
		"WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/w",
		"WatchedEvent state:SyncConnected type:NodeCreated path:/w/nope",
	}
	// the Closed event of quit may or may not be printed before the exit (as in Java)
	if len(got) > 0 && strings.Contains(got[len(got)-1], "state:Closed") {
		got = got[:len(got)-1]
	}
	if len(got) != len(want) {
		t.Fatalf("events:\n%q\nwant:\n%q", got, want)
	}
	for i := range want {
		if got[i] != "\nWATCHER::\n\n"+want[i]+"\n" {
			t.Errorf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(e.String(), "Node does not exist: /w/nope\n") {
		t.Errorf("stderr: %s", e.String())
	}
}

func TestBatchMode(t *testing.T) {
	_, addr := clienttest.Start(t, 0, nil)
	for _, tc := range []struct {
		args []string
		out  string
		err  string
		code int
	}{
		{[]string{"create", "/b", "x"}, "", "Created /b\n", 0},
		{[]string{"get", "/b"}, "x\n", "", 0},
		{[]string{"-timeout", "5000", "-r", "get", "/b"}, "x\n", "", 0},
		{[]string{"get", "/nope"}, "", "Node does not exist: /nope\n", 1},
		{[]string{"create"}, "", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]\n", 1},
		{[]string{"version"}, "ZooKeeper CLI version: " + javaCLIVersion + "\n", "", 0},
		{[]string{"set", "-v", "abc", "/b", "y"}, "", "Exception in thread \"main\" java.lang.NumberFormatException: For input string: \"abc\"\n", 1},
	} {
		args := append([]string{"-server", addr}, tc.args...)
		out, _, errs, code := runShell(t, args, "")
		out = strings.TrimPrefix(out, "Connecting to "+addr+"\n")
		if out != tc.out || errs != tc.err || code != tc.code {
			t.Errorf("%v: out %q err %q code %d; want %q %q %d", tc.args, out, errs, code, tc.out, tc.err, tc.code)
		}
	}
	out, _, errs, code := runShell(t, []string{"-server", addr, "nosuch"}, "")
	if code != 127 || !strings.Contains(errs, "Command not found: Command not found nosuch\n") || strings.Contains(out, "Welcome") {
		t.Errorf("unknown batch command: code %d err %q", code, errs)
	}
}
