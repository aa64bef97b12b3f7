package server

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
)

// auditScript makes every kind of request the audit log records, succeeding and failing, and
// some it does not (reads, sync, createTTL, a create whose mode has no name).
func auditScript(a *authTranscript) {
	open := jute.OpenACLUnsafe
	c := a.conn("c1")
	create := func(op int32, path string, flags int32, acl []jute.ACL) {
		a.do(c, fmt.Sprintf("create %d %s %d", op, path, flags), op, rawzk.CreateBody(path, []byte("x"), acl, flags))
	}
	create(jute.OpCreate, "/a", 0, open)
	create(jute.OpCreate, "/a", 0, open) // NODEEXISTS
	create(jute.OpCreate2, "/a/s-", 2, open)
	create(jute.OpCreate, "/e", 1, open)
	create(jute.OpCreateContainer, "/c", 4, open)
	a.do(c, "createTTL /t", jute.OpCreateTTL, rawzk.CreateTTLBody("/t", nil, open, 5, 60000))
	create(jute.OpCreate, "/bad/", 0, open)
	create(jute.OpCreate, "/m", 99, open)
	a.do(c, "setData /a", jute.OpSetData, rawzk.SetDataBody("/a", []byte("y"), -1))
	a.do(c, "setData /nope", jute.OpSetData, rawzk.SetDataBody("/nope", []byte("y"), -1))
	a.do(c, "delete /a", jute.OpDelete, rawzk.PathVersionBody("/a", -1)) // NOTEMPTY
	a.do(c, "delete /c", jute.OpDelete, rawzk.PathVersionBody("/c", -1))
	acl := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}},
		{Perms: jute.PermRead | jute.PermAdmin, Id: jute.Id{Scheme: "digest", ID: DigestID("bob:pw")}}}
	a.do(c, "setACL /a", jute.OpSetACL, rawzk.SetACLBody("/a", acl, -1))
	a.do(c, "setACL /nope", jute.OpSetACL, rawzk.SetACLBody("/nope", acl, -1))
	a.do(c, "setACL /a empty", jute.OpSetACL, rawzk.SetACLBody("/a", []jute.ACL{}, -1)) // INVALIDACL: "acl="
	create(jute.OpCreate, "", 0, open)                                                  // "znode="
	a.do(c, "multi bad mode", jute.OpMulti, rawzk.MultiBody([]rawzk.Op{
		{Type: jute.OpCreate, Path: "/m6", ACL: open}, {Type: jute.OpCreate, Path: "/m7", ACL: open, Flags: 99},
	})) // nothing logged
	create(jute.OpCreate, "/r", 0, []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "ip", ID: "10.1.1.1"}}})
	a.do(c, "setData /r", jute.OpSetData, rawzk.SetDataBody("/r", nil, -1)) // NOAUTH
	a.do(c, "getData /a", jute.OpGetData, rawzk.PathWatchBody("/a", false))
	a.do(c, "multi", jute.OpMulti, rawzk.MultiBody([]rawzk.Op{
		{Type: jute.OpCreate, Path: "/m1", ACL: open},
		{Type: jute.OpCreate2, Path: "/m2-", ACL: open, Flags: 2},
		{Type: jute.OpCreateTTL, Path: "/m3", ACL: open, Flags: 5, TTL: 1000},
		{Type: jute.OpCreate, Path: "/m4", ACL: open, Flags: 4},
		{Type: jute.OpSetData, Path: "/m1", Data: []byte("z"), Version: -1},
		{Type: jute.OpCheck, Path: "/a", Version: -1},
		{Type: jute.OpDelete, Path: "/m1", Version: -1},
	}))
	a.do(c, "failed multi", jute.OpMulti, rawzk.MultiBody([]rawzk.Op{
		{Type: jute.OpCreate, Path: "/m5", ACL: open},
		{Type: jute.OpCreate, Path: "/a", ACL: open},
	}))
	a.do(c, "sync", jute.OpSync, rawzk.PathBody("/"))
	a.do(c, "reconfig", jute.OpReconfig, rawzk.ReconfigBody("", "2", "", -1)) // disabled
	a.do(c, "addauth digest", jute.OpAuth, rawzk.AuthBody("digest", []byte("bob:pw")))
	create(jute.OpCreate, "/b", 0, open)
	c2 := a.conn("c2")
	a.do(c2, "create /e2", jute.OpCreate, rawzk.CreateBody("/e2", nil, open, 1))
	a.do(c2, "create /e3-", jute.OpCreate, rawzk.CreateBody("/e3-", nil, open, 3))
	a.do(c2, "close c2", jute.OpCloseSession, nil)
	a.do(c, "close c1", jute.OpCloseSession, nil)
}

// auditLines picks the audit events out of a log ("LEVEL message"), sessions numbered in the
// order they first appear.
func auditLines(log string, re *regexp.Regexp) []string {
	sessions := map[string]string{}
	sessRe := regexp.MustCompile(`session=0x[0-9a-f]+`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		line := sessRe.ReplaceAllStringFunc(m[2], func(s string) string {
			if _, ok := sessions[s]; !ok {
				sessions[s] = fmt.Sprintf("session=S%d", len(sessions)+1)
			}
			return sessions[s]
		})
		out = append(out, m[1]+" "+line)
	}
	return out
}

// TestAuditLogSideBySide runs one script against zkgo and Apache ZooKeeper 3.8, both with
// audit.enable=true, and compares the audit events, from the server's start to its stop and
// through a restart, whose replay of the log records the closed sessions' ephemerals again.
func TestAuditLogSideBySide(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	logPath := filepath.Join(t.TempDir(), "audit.log")
	cfg := testConfig(t, t.TempDir(), map[string]string{
		"zookeeper.audit.enable": "true", "zookeeper.extendedTypesEnabled": "true", "zookeeper.auditlog.file": logPath,
	})
	z := &authTranscript{t: t}
	for round := 0; round < 2; round++ {
		s, err := New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			z.addr = s.Addr().String()
			auditScript(z)
		}
		s.Close()
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The layout of ZooKeeper's sample logback audit appender: "%d{ISO8601} %p %c{2}: %m%n".
	zkgoRe := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|ERROR) o\.a\.z\.a\.Slf4jAuditLogger: (.*)$`)
	got := auditLines(string(data), zkgoRe)
	if n := strings.Count(string(data), "\n"); n != len(got) {
		t.Errorf("%d lines in the audit log, %d in its layout:\n%s", n, len(got), data)
	}

	dataDir := t.TempDir()
	var apacheLog string
	a := &authTranscript{t: t}
	for round := 0; round < 2; round++ {
		ap := zktest.StartApacheDir(t, dataDir, "audit.enable=true", "extendedTypesEnabled=true")
		if round == 0 {
			a.addr = ap.Addr
			auditScript(a)
		}
		if err := ap.Stop(); err != nil {
			t.Fatal(err)
		}
		apacheLog += ap.Log()
	}
	want := auditLines(apacheLog, regexp.MustCompile(`(?m)\] (INFO|ERROR) org\.apache\.zookeeper\.audit\.Slf4jAuditLogger - (.*)$`))

	if g, w := strings.Join(z.lines, "\n"), strings.Join(a.lines, "\n"); g != w {
		t.Errorf("answers differ\nzkgo:\n%s\nApache ZooKeeper:\n%s", g, w)
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Fatalf("audit events differ\nzkgo:\n%s\nApache ZooKeeper:\n%s", g, w)
	}
	replayed := "INFO session=S1\tuser=" + systemUser() + "\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e\tresult=success"
	if n := strings.Count(strings.Join(got, "\n")+"\n", replayed+"\n"); n != 2 {
		t.Errorf("%d lines %q, want 2 (closed, then replayed at the restart)", n, replayed)
	}
	user := systemUser()
	for _, w := range []string{
		"INFO user=" + user + "\toperation=serverStart\tresult=success",
		"INFO session=S1\tuser=127.0.0.1\tip=127.0.0.1\toperation=create\tznode=/a\tznode_type=persistent\tresult=success",
		"ERROR session=S1\tuser=127.0.0.1\tip=127.0.0.1\toperation=setData\tznode=/nope\tresult=failure",
		"INFO session=S1\tuser=bob,127.0.0.1\tip=127.0.0.1\toperation=create\tznode=/b\tznode_type=persistent\tresult=success",
		"INFO session=S2\tuser=" + user + "\toperation=ephemeralZNodeDeletionOnSessionCloseOrExpire\tznode=/e2\tresult=success",
		"INFO user=" + user + "\toperation=serverStop\tresult=invoked",
		"ERROR session=S1\tuser=127.0.0.1\tip=127.0.0.1\toperation=setAcl\tznode=/a\tacl=\tresult=failure",
		"ERROR session=S1\tuser=127.0.0.1\tip=127.0.0.1\toperation=create\tznode=\tznode_type=persistent\tresult=failure",
	} {
		if !strings.Contains("\n"+strings.Join(got, "\n")+"\n", "\n"+w+"\n") {
			t.Errorf("no %q in\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// The audit file rolls as log4j's RollingFileAppender: past the size limit it becomes .1, the
// older ones move up, and the oldest beyond the backup count is dropped.
func TestAuditLogRolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "audit.log")
	r, err := openRolling(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if _, err := fmt.Fprintf(r, "%02d%s\n", i, strings.Repeat("x", 47)); err != nil { // 50 bytes
			t.Fatal(err)
		}
	}
	r.Close()
	if _, err := r.Write([]byte("late\n")); err == nil {
		t.Error("a write after Close succeeded")
	}
	first := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return err.Error()
		}
		return string(b[:2]) + fmt.Sprint(len(b))
	}
	// Lines 0-1, 2-3, 4-5 each filled a file; 6 is in the current one.
	for p, want := range map[string]string{path: "0650", path + ".1": "04100", path + ".2": "02100"} {
		if got := first(p); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3: %v, want none", path, err)
	}
}
