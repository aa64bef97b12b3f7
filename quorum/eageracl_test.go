package quorum

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
)

// lastZxid is a member's last processed zxid as srvr shows it.
func (e *ensemble) lastZxid(i int) string {
	e.t.Helper()
	out, err := zktest.FourLetterWord(e.clients[i], "srvr", 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Zxid: "); ok {
			return v
		}
	}
	e.t.Fatalf("srvr without Zxid:\n%s", out)
	return ""
}

// TestEagerACLCheck: with zookeeper.enableEagerACLCheck a member refuses a write its client
// may not make before it reaches the leader (ZooKeeperServer.authWriteRequest): NOAUTH (or
// INVALIDACL for a malformed ACL) with zxid 0, and no txn; a write it may make, or one on a
// node the member does not have, goes on as usual.
func TestEagerACLCheck(t *testing.T) {
	e := newEnsemble(t, 3, "enableEagerACLCheck=true\n")
	leader := e.startAll()
	f := follower(e, leader)
	owner := e.connect(f)
	if err := owner.AddAuth("digest", []byte("u:p")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/locked", nil, 0, zk.DigestACL(zk.PermAll, "u", "p")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Sync("/locked"); err != nil { // the member has it before the checks
		t.Fatal(err)
	}
	rc, err := rawzk.Dial(e.clients[f], rawzk.ConnectOptions{TimeoutMs: 10000})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	world := []jute.ACL{{Perms: jute.PermAll, Id: jute.Id{Scheme: "world", ID: "anyone"}}}
	// The follower answers each of rc's requests (its connect included) after applying
	// whatever txn the request made; the leader applies a txn after sending its COMMIT and
	// may show it a moment later. So the follower's zxid is the one to compare.
	before := e.lastZxid(f)
	for _, tc := range []struct {
		op   int32
		body jute.Record
		want jute.Code
	}{
		{jute.OpSetData, &jute.SetDataRequest{Path: "/locked", Data: []byte("x"), Version: -1}, jute.NoAuth},
		{jute.OpCreate, &jute.CreateRequest{Path: "/locked/child", ACL: world, Flags: 0}, jute.NoAuth},
		{jute.OpDelete, &jute.PathVersionRequest{Path: "/locked/child", Version: -1}, jute.NoAuth},
		{jute.OpSetACL, &jute.SetACLRequest{Path: "/locked", ACL: world, Version: -1}, jute.NoAuth},
		{jute.OpCreate, &jute.CreateRequest{Path: "/open", ACL: nil, Flags: 0}, jute.InvalidACL},
	} {
		p, err := rc.Call(tc.op, jute.Marshal(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if jute.Code(p.Hdr.Err) != tc.want || p.Hdr.Zxid != 0 {
			t.Errorf("op %d %+v: err %d zxid 0x%x, want %d and zxid 0", tc.op, tc.body, p.Hdr.Err, p.Hdr.Zxid, tc.want)
		}
	}
	if after := e.lastZxid(f); after != before {
		t.Errorf("refused writes made txns: zxid %s -> %s", before, after)
	}
	// Allowed writes go on; a node the member does not have is the leader's to judge.
	p, err := rc.Call(jute.OpCreate, jute.Marshal(&jute.CreateRequest{Path: "/open", ACL: world}))
	if err != nil || p.Hdr.Err != 0 || p.Hdr.Zxid == 0 {
		t.Fatalf("allowed create: %+v %v", p.Hdr, err)
	}
	p, err = rc.Call(jute.OpSetData, jute.Marshal(&jute.SetDataRequest{Path: "/missing", Version: -1}))
	if err != nil || jute.Code(p.Hdr.Err) != jute.NoNode || p.Hdr.Zxid == 0 {
		t.Fatalf("setData of a missing node: %+v %v, want NONODE from the leader", p.Hdr, err)
	}
}
