package quorum

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
)

// sessionsOf reads a member's mntr global_sessions and local_sessions.
func (e *ensemble) sessionsOf(i int) (global, local int) {
	e.t.Helper()
	out, err := zktest.FourLetterWord(e.clients[i], "mntr", 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, "\t")
		n, _ := strconv.Atoi(v)
		switch k {
		case "zk_global_sessions":
			global = n
		case "zk_local_sessions":
			local = n
		}
	}
	return global, local
}

func (e *ensemble) waitSessions(i, global, local int) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, l := e.sessionsOf(i)
		if g == global && l == local {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("member %d: %d global and %d local sessions, want %d and %d", i, g, l, global, local)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLocalSessions: with localSessionsEnabled a session is local to the member its client
// connected to (the leader never hears of it), writes through the leader anyway, becomes
// global with its first ephemeral (localSessionsUpgradingEnabled), is closed and expired by
// its member alone, and is unknown to the others.
func TestLocalSessions(t *testing.T) {
	e := newEnsemble(t, 3, "localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true\n")
	leader := e.startAll()
	f := follower(e, leader)
	c := e.connect(f)
	e.waitSessions(f, 0, 1)
	e.waitSessions(leader, 0, 0)
	if _, err := c.Create("/persistent", []byte("p"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("a local session's write through the leader: %v", err)
	}
	// The first ephemeral makes the session global, on every member.
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("ephemeral of an upgraded session: %v", err)
	}
	e.waitSessions(f, 1, 0)
	e.waitSessions(leader, 1, 0)
	if _, err := e.readAfterSync(leader, "/eph"); err != nil {
		t.Fatal(err)
	}
	c.Close() // its ephemeral goes everywhere
	for i := 1; i <= 3; i++ {
		if _, err := e.readAfterSync(i, "/eph"); !errors.Is(err, zk.ErrNoNode) {
			t.Errorf("member %d still has the closed session's ephemeral: %v", i, err)
		}
		e.waitSessions(i, 0, 0)
	}

	// A local session that is closed goes without a txn; one whose client vanishes expires
	// on its member.
	c2 := e.connect(f)
	e.waitSessions(f, 0, 1)
	c2.Close()
	e.waitSessions(f, 0, 0)
	// A client that stops pinging: its member expires the local session and closes it.
	quiet, err := rawzk.Dial(e.clients[f], rawzk.ConnectOptions{TimeoutMs: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	e.waitSessions(f, 0, 1)
	if !quiet.WaitClosed(10 * time.Second) {
		t.Error("the silent local session's connection is still open")
	}
	e.waitSessions(f, 0, 0)
	// A local session resumes on its member, and is unknown to the others.
	rc, err := rawzk.Dial(e.clients[f], rawzk.ConnectOptions{TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	id, pw := rc.SessionID(), rc.Passwd()
	rc.Close()
	again, err := rawzk.Dial(e.clients[f], rawzk.ConnectOptions{SessionID: id, Passwd: pw, TimeoutMs: 10000})
	if err != nil || again.SessionID() != id {
		t.Fatalf("resuming the local session 0x%x on its member: %v, %+v", id, err, again)
	}
	again.Close()
	elsewhere, err := rawzk.Dial(e.clients[leader], rawzk.ConnectOptions{SessionID: id, Passwd: pw, TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Close()
	if elsewhere.Resp.TimeOut != 0 {
		t.Errorf("the local session 0x%x of member %d was resumed on member %d", id, f, leader)
	}
	// Nor does the leader's own local session move to a follower (the leader does not
	// revalidate it: checkIfValidGlobalSession).
	lc, err := rawzk.Dial(e.clients[leader], rawzk.ConnectOptions{TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	lid, lpw := lc.SessionID(), lc.Passwd()
	lc.Close()
	moved, err := rawzk.Dial(e.clients[f], rawzk.ConnectOptions{SessionID: lid, Passwd: lpw, TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if moved.Resp.TimeOut != 0 {
		t.Errorf("the leader's local session 0x%x was resumed on follower %d", lid, f)
	}
}

// TestLocalSessionsWithoutUpgrade: an ephemeral of a local session is refused with
// EPHEMERALONLOCALSESSION when localSessionsUpgradingEnabled is off (ZooKeeper's default).
func TestLocalSessionsWithoutUpgrade(t *testing.T) {
	e := newEnsemble(t, 3, "localSessionsEnabled=true\n")
	leader := e.startAll()
	acl := zk.WorldACL(zk.PermAll)
	for _, i := range []int{leader, follower(e, leader)} {
		c := e.connect(i)
		n := strconv.Itoa(i)
		czxid := func(p string) int64 {
			t.Helper()
			if _, err := c.Create(p, nil, 0, acl); err != nil {
				t.Fatalf("member %d: persistent create: %v", i, err)
			}
			_, st, err := c.Exists(p)
			if err != nil {
				t.Fatal(err)
			}
			return st.Czxid
		}
		// As ZooKeeper 3.8 answers (compared side by side): the refusal is a failed txn
		// (it uses a zxid), and a multi gets per-op results, the ephemeral's error being
		// EPHEMERALONLOCALSESSION on the leader and, through a follower, the leader's
		// SESSIONEXPIRED for a session it does not know.
		before := czxid("/a" + n)
		_, err := c.Create("/eph", nil, zk.FlagEphemeral, acl)
		if err == nil || !strings.Contains(err.Error(), "-120") {
			t.Errorf("member %d: ephemeral of a local session: %v, want EPHEMERALONLOCALSESSION (-120)", i, err)
		}
		after := czxid("/p" + n)
		if after != before+2 {
			t.Errorf("member %d: czxid %#x after %#x: the refused ephemeral should use one zxid", i, after, before)
		}
		res, err := c.Multi(&zk.CreateRequest{Path: "/m1-" + n, Acl: acl},
			&zk.CreateRequest{Path: "/m2-" + n, Acl: acl, Flags: zk.FlagEphemeral}, &zk.CreateRequest{Path: "/m3-" + n, Acl: acl})
		want := "-120"
		if i != leader {
			want = zk.ErrSessionExpired.Error()
		}
		if err == nil || !strings.Contains(err.Error(), want) || len(res) != 3 || res[0].Error != nil ||
			res[1].Error == nil || !strings.Contains(res[1].Error.Error(), want) || res[2].Error == nil || !strings.Contains(res[2].Error.Error(), "-2") {
			t.Errorf("member %d: multi with an ephemeral: %v %+v, want per-op results [ok, %s, -2]", i, err, res, want)
		}
		if last := czxid("/b" + n); last != after+2 {
			t.Errorf("member %d: czxid %#x after %#x: the failed multi should use one zxid", i, last, after)
		}
		if ok, _, _ := c.Exists("/m1-" + n); ok {
			t.Errorf("member %d: the failed multi's first create was applied", i)
		}
		e.waitSessions(i, 0, 1)
		c.Close()
	}
}
