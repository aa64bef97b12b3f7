package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
)

func serverOn(t *testing.T, dir string, props map[string]string) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"}) // tests must not fight over port 8080
	cfg.ApplySystemProps(props)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPort = 0
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Acknowledged writes, sessions and their ephemerals survive a restart, through snapshots
// (snapCount=10 forces several) and the log after the last one.
func TestRestartKeepsDataAndSessions(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{"zookeeper.snapCount": "10"}
	s1 := serverOn(t, dir, props)
	c, _ := connect(t, s1.Addr().String())
	acl := zk.WorldACL(zk.PermAll)
	c.Create("/p", []byte("v"), 0, acl)
	for i := 0; i < 40; i++ {
		if _, err := c.Create("/p/s-", []byte{byte(i)}, zk.FlagSequence, acl); err != nil {
			t.Fatal(err)
		}
	}
	c.Set("/p", []byte("w"), -1)
	c.Create("/eph", nil, zk.FlagEphemeral, acl)
	sid := c.SessionID()
	_, before, _ := c.Get("/p")
	s1.Close()
	c.Close()

	s2 := serverOn(t, dir, props)
	defer s2.Close()
	if s1.DigestMismatches() != 0 || s2.restoreDigests.checked == 0 || s2.restoreDigests.mismatched != 0 {
		t.Fatalf("digests: %d at apply, restore checked %d, %d mismatched", s1.DigestMismatches(), s2.restoreDigests.checked, s2.restoreDigests.mismatched)
	}
	c2, _ := connect(t, s2.Addr().String())
	d, st, err := c2.Get("/p")
	if err != nil || string(d) != "w" || st.NumChildren != 40 || st.Cversion != before.Cversion || st.Pzxid != before.Pzxid || st.Mzxid != before.Mzxid {
		t.Fatalf("after restart: %v %q %+v want %+v", err, d, st, before)
	}
	_, est, err := c2.Get("/eph")
	if err != nil || est.EphemeralOwner != sid {
		t.Fatalf("ephemeral lost: %v %+v", err, est)
	}
	if s2.sessions.connOf(sid) != nil || !s2.sessions.check(sid) {
		t.Fatalf("session 0x%x not restored", sid)
	}
	// The next sequential name continues from the restored cversion.
	p, err := c2.Create("/p/s-", nil, zk.FlagSequence, acl)
	if err != nil || p != "/p/s-0000000040" {
		t.Fatalf("sequential after restart: %v %q", err, p)
	}
}

// A data dir whose files vanished (wiped version-2, a lost mount) is refused instead of
// served empty: the catalog remembers them (ZOOKEEPER-2325).
func TestMissingFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	s1 := serverOn(t, dir, nil)
	c, _ := connect(t, s1.Addr().String())
	c.Create("/keep", []byte("v"), 0, zk.WorldACL(zk.PermAll))
	s1.Close()
	c.Close()
	if err := os.RemoveAll(filepath.Join(dir, "version-2")); err != nil {
		t.Fatal(err)
	}
	s2, err := New(testConfig(t, dir, nil), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(); err == nil || !strings.Contains(err.Error(), "missing") {
		s2.Close()
		t.Fatalf("started on a wiped data dir: %v", err)
	}
}

// With txnLogSizeLimitInKb the log is rolled once its file passes the limit (no snapshot),
// and a restart replays every file.
func TestTxnLogSizeLimitRollsTheLog(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{"zookeeper.snapCount": "1000000", "zookeeper.txnLogSizeLimitInKb": "2"}
	s1 := serverOn(t, dir, props)
	c, _ := connect(t, s1.Addr().String())
	for i := 0; i < 60; i++ {
		if _, err := c.Create(fmt.Sprintf("/n%02d", i), make([]byte, 100), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	s1.Close()
	logs, _ := filepath.Glob(filepath.Join(dir, "version-2", "log.*"))
	snaps, _ := filepath.Glob(filepath.Join(dir, "version-2", "snapshot.*"))
	if len(logs) < 3 || len(snaps) != 1 {
		t.Errorf("%d log files and %d snapshots for ~12 KiB of log with txnLogSizeLimitInKb=2, want 3 or more and 1", len(logs), len(snaps))
	}
	s2 := serverOn(t, dir, props)
	defer s2.Close()
	c2, _ := connect(t, s2.Addr().String())
	if _, _, err := c2.Get("/n59"); err != nil {
		t.Fatalf("after a restart on the rolled logs: %v", err)
	}
}
