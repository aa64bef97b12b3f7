package quorum

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/server"
	"github.com/zkgo/zkgo/zab"
)

// newEnsembleOnHosts is newEnsembleWithObservers with member i on 127.0.0.i, so that every
// member can bind the same observerMasterPort, as on separate hosts.
func newEnsembleOnHosts(t *testing.T, voters, observers int, extra string) *ensemble {
	t.Helper()
	return newEnsembleOn(t, voters, observers, extra, func(i int) string { return fmt.Sprintf("127.0.0.%d", i) })
}

// With observerMasterPort an observer synchronises with a follower and follows the
// broadcast through it: the leader has no connection of it, the follower counts it in
// synced_observers, the observer names it in observer_master_id. Writes, syncs, ephemerals
// and a session kept alive only through the observer work as through the leader; when its
// follower goes, the observer moves on to another member and keeps serving.
func TestEnsembleObserverMasters(t *testing.T) {
	e := newEnsembleOnHosts(t, 3, 1, fmt.Sprintf("observerMasterPort=%d\n", zktest.FreePort(t)))
	adminPort := zktest.FreePort(t)
	for i := 1; i <= 4; i++ {
		e.appendCfg(i, fmt.Sprintf("admin.enableServer=true\nadmin.serverAddress=127.0.0.%d\nadmin.serverPort=%d", i, adminPort))
	}
	admin := func(i int, cmd string, into any) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.%d:%d/commands/%s", i, adminPort, cmd))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 4; i++ {
		e.start(i)
	}
	leader := e.waitServing(20 * time.Second)
	role := func(i int) zab.Role { return e.nodes[i].Status().Role }
	master := int(role(4).Master)
	if master == leader || master < 1 || master > 3 {
		t.Fatalf("observer 4 synchronises with %d (leader %d), want a follower", master, leader)
	}
	// The AdminServer's leader command names the learner master, as ZooKeeper's observer's
	// (Observer.observeLeader's setLeaderAddressAndId); the master's observers command lists
	// the observer's connection, the leader's none.
	var lead struct {
		IsLeader bool   `json:"is_leader"`
		LeaderID int64  `json:"leader_id"`
		LeaderIP string `json:"leader_ip"`
	}
	admin(4, "leader", &lead)
	if lead.IsLeader || lead.LeaderID != int64(master) || lead.LeaderIP != fmt.Sprintf("127.0.0.%d", master) {
		t.Fatalf("the observer's leader command: %+v, want its master %d", lead, master)
	}
	type observers struct {
		Synced    int `json:"synced_observers"`
		Observers []struct {
			Remote   string `json:"remote_socket_address"`
			SID      int64  `json:"sid"`
			Sent     int64  `json:"packets_sent"`
			Received int64  `json:"packets_received"`
			LastZxid int64  `json:"last_zxid"`
		} `json:"observers"`
	}
	var obs, none observers
	admin(master, "observers", &obs)
	if obs.Synced != 1 || len(obs.Observers) != 1 || obs.Observers[0].SID != 4 || !strings.HasPrefix(obs.Observers[0].Remote, "/127.0.0.4:") ||
		obs.Observers[0].Sent < 3 || obs.Observers[0].Received < 3 || obs.Observers[0].LastZxid <= 0 {
		t.Fatalf("follower %d's observers command: %+v", master, obs)
	}
	admin(leader, "observers", &none)
	if none.Synced != 0 || len(none.Observers) != 0 {
		t.Fatalf("the leader's observers command: %+v", none)
	}
	if l := e.nodes[leader].Status().Learners; slices.Contains(l, 4) {
		t.Fatalf("the leader's learners %v include the observer", l)
	}
	if got := fourLetter(t, e.clients[master], "mntr"); !strings.Contains(got, "zk_synced_observers\t1\n") {
		t.Fatalf("follower %d mntr: %s", master, got)
	}
	if got := fourLetter(t, e.clients[4], "mntr"); !strings.Contains(got, fmt.Sprintf("zk_observer_master_id\t%d\n", master)) {
		t.Fatalf("observer mntr: %s", got)
	}

	c := e.connect(4)
	if _, err := c.Create("/via-om", []byte("o"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through the observer: %v", err)
	}
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("ephemeral through the observer: %v", err)
	}
	cl := e.connect(leader)
	if _, err := cl.Set("/via-om", []byte("l"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync("/via-om"); err != nil {
		t.Fatalf("sync through the observer: %v", err)
	}
	if got, _, err := c.Get("/via-om"); err != nil || string(got) != "l" {
		t.Fatalf("read after sync on the observer: %q %v", got, err)
	}
	// The session lives on its pings to the observer, relayed by the follower: it outlives
	// several session timeouts (4 s) with no other traffic.
	time.Sleep(5 * time.Second)
	if _, err := e.readAfterSync(leader, "/eph"); err != nil {
		t.Fatalf("the observer's session expired: %v", err)
	}

	// The follower goes: the observer (and its session) move on.
	e.stop(master)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := role(4)
		if r.Serving && int(r.Master) != master {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer 4 after follower %d went: %+v", master, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through the observer after its master went: %v", err)
	}
	if _, err := e.readAfterSync(leader, "/eph"); err != nil {
		t.Fatalf("the observer's session after it moved: %v", err)
	}
	c.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := e.readAfterSync(leader, "/eph"); err == zk.ErrNoNode {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ephemeral outlived its closed session")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Observer masters between zkgo and Apache ZooKeeper 3.8, both ways: an Apache observer
// synchronises with a zkgo member on its observerMasterPort (any voter: ZooKeeper's
// observers try the leader too, where a zkgo leader listens as well), and a zkgo observer
// with an Apache follower's ObserverMaster. Writes and reads go through the observer.
func TestMixedEnsembleObserverMasters(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	writeAndRead := func(t *testing.T, e *ensemble, via, other int) {
		t.Helper()
		c, _, err := zk.Connect([]string{e.clients[via]}, 10*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, err := c.Create("/via-observer", []byte("o"), 0, zk.WorldACL(zk.PermAll))
			if err == nil || err == zk.ErrNodeExists {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("create through observer %d: %v", via, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		co, _, err := zk.Connect([]string{e.clients[other]}, 10*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		defer co.Close()
		if _, err := co.Sync("/via-observer"); err != nil {
			t.Fatal(err)
		}
		if got, _, err := co.Get("/via-observer"); err != nil || string(got) != "o" {
			t.Fatalf("member %d: %q %v", other, got, err)
		}
		if _, err := co.Set("/via-observer", []byte("m"), -1); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync("/via-observer"); err != nil {
			t.Fatal(err)
		}
		if got, _, err := c.Get("/via-observer"); err != nil || string(got) != "m" {
			t.Fatalf("observer %d after a write through %d: %q %v", via, other, got, err)
		}
	}
	mntr := func(t *testing.T, addr, key string) string {
		t.Helper()
		out, _ := zktest.FourLetterWord(addr, "mntr", 2*time.Second)
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(l, "\t"); ok && k == "zk_"+key {
				return v
			}
		}
		return ""
	}
	omPort := zktest.FreePort(t)
	om := fmt.Sprintf("observerMasterPort=%d", omPort)

	t.Run("Apache observer, zkgo voters", func(t *testing.T) {
		e := newEnsembleOnHosts(t, 3, 1, om+"\n")
		for i := 1; i <= 3; i++ {
			e.start(i)
		}
		e.nodes[4] = nil
		leader := e.waitServing(20 * time.Second)
		a := zktest.StartApacheQuorumPeer(t, 4, ensembleMembers(t, e), zktest.FreePort(t), []string{om})
		e.clients[4] = a.ClientAddr
		writeAndRead(t, e, 4, leader)
		id := mntr(t, a.ClientAddr, "observer_master_id")
		var master int
		if _, err := fmt.Sscan(id, &master); err != nil || master < 1 || master > 3 {
			t.Fatalf("the Apache observer's observer_master_id %q", id)
		}
		if st := e.nodes[master].Status(); !slices.Contains(st.SyncedLearners, 4) {
			t.Fatalf("member %d (leader %d), named by the observer, does not serve it: %+v", master, leader, st)
		}
	})

	t.Run("zkgo observer, Apache voters", func(t *testing.T) {
		e := newEnsembleOnHosts(t, 3, 1, om+"\n")
		members := ensembleMembers(t, e)
		for i := 1; i <= 3; i++ {
			a := zktest.StartApacheQuorumPeer(t, uint64(i), members, zktest.FreePort(t), []string{om})
			e.clients[i] = a.ClientAddr
		}
		leader := 0
		deadline := time.Now().Add(90 * time.Second)
		for serving := 0; serving < 3; {
			serving, leader = 0, 0
			for i := 1; i <= 3; i++ {
				out, _ := zktest.FourLetterWord(e.clients[i], "srvr", 2*time.Second)
				if strings.Contains(out, "Mode: ") {
					serving++
				}
				if strings.Contains(out, "Mode: leader") {
					leader = i
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the Apache voters do not serve")
			}
			time.Sleep(200 * time.Millisecond)
		}
		e.start(4)
		deadline = time.Now().Add(30 * time.Second)
		for !e.nodes[4].Status().Role.Serving {
			if time.Now().After(deadline) {
				t.Fatalf("the zkgo observer does not serve: %+v", e.nodes[4].Status().Role)
			}
			time.Sleep(50 * time.Millisecond)
		}
		master := int(e.nodes[4].Status().Role.Master)
		if master == leader {
			t.Fatalf("the zkgo observer synchronised with the leader %d, want a follower", leader)
		}
		if got := mntr(t, e.clients[master], "synced_observers"); got != "1" {
			t.Fatalf("Apache follower %d: synced_observers %q", master, got)
		}
		writeAndRead(t, e, 4, leader)
	})
}

// An observer master keeps its own leader whatever its observers do: a connection naming
// itself with the leader's sid is refused without touching the follower's leader
// connection, and an observer that comes and goes while commits flow (INFORMs queued to it
// as it leaves) never sends those packets to the leader's connection.
func TestObserverMasterKeepsItsLeader(t *testing.T) {
	omPort := zktest.FreePort(t)
	e := newEnsembleOnHosts(t, 3, 1, fmt.Sprintf("observerMasterPort=%d\n", omPort))
	for i := 1; i <= 4; i++ {
		e.start(i)
	}
	leader := e.waitServing(20 * time.Second)
	master := int(e.nodes[4].Status().Role.Master)
	looking := func() int64 { return e.nodes[master].Server().Counted(server.LookingCount) }
	base := looking()

	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.%d:%d", master, omPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	li := wire.LearnerInfo{ServerID: int64(leader), ProtocolVersion: zab.ProtocolVersion}
	if _, err := nc.Write(wire.AppendQuorumPacket(nil, &wire.QuorumPacket{Type: zab.ObserverInfo, Data: li.Encode()})); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("an OBSERVERINFO with the leader's sid: %v, want the connection closed", err)
	}
	nc.Close()
	time.Sleep(500 * time.Millisecond) // a follower that lost its leader is LOOKING by now
	if r := e.nodes[master].Status().Role; looking() != base || r.State != zab.Following {
		t.Fatalf("observer master %d went LOOKING %d times after an OBSERVERINFO with the leader's sid (role %+v)", master, looking()-base, r)
	}

	c := e.connect(leader)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.Create(fmt.Sprintf("/w%d", i), nil, 0, zk.WorldACL(zk.PermAll))
		}
	}()
	for round := 0; round < 4; round++ {
		e.stop(4)
		e.start(4)
		deadline := time.Now().Add(15 * time.Second)
		for !e.nodes[4].Status().Role.Serving {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the observer does not serve again", round)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	<-done
	// On a loaded machine a follower may lose its leader to syncLimit now and then: what
	// this checks is that the observer's comings and goings did not make it (the counts of
	// a run without them are the bar: none here in 20 runs).
	if r := e.nodes[master].Status().Role; looking() > base+1 || r.State == zab.Leading {
		t.Fatalf("observer master %d went LOOKING %d times while its observer came and went (role %+v)", master, looking()-base, r)
	}
}
