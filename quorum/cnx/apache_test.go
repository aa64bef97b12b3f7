package cnx

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/quorum/wire"
	"github.com/zkgo/zkgo/zab"
)

// TestApacheInterop runs one Apache ZooKeeper 3.8 node of a two-server ensemble whose
// other member is a Manager. Apache dials our election port with sid 1 < 2, so it loses
// the challenge: we must hang up and dial it back, and then receive its LOOKING
// notifications on our connection; and it must accept and decode ours.
func TestApacheInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	noLeaks(t)
	ports := make([]int, 5)
	for i := range ports {
		ports[i] = zktest.FreePort(t)
	}
	members := []zktest.QuorumMember{
		{SID: 1, Host: "127.0.0.1", QuorumPort: ports[0], ElectionPort: ports[1]},
		{SID: 2, Host: "127.0.0.1", QuorumPort: ports[2], ElectionPort: ports[3]},
	}
	m, err := New(Config{MyID: 2, ListenAddr: fmt.Sprintf("127.0.0.1:%d", ports[3]), LocalHost: "127.0.0.1",
		Peers: map[uint64]string{1: fmt.Sprintf("127.0.0.1:%d", ports[1])}, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	// Short election timeouts would not help: Apache sends its first notifications at once.
	apache := zktest.StartApacheQuorumPeer(t, 1, members, ports[4], nil, "-Dzookeeper.cnxTimeout=2000")

	timeout := time.After(60 * time.Second)
	var got zab.Notification
	for {
		select {
		case msg := <-m.Recv():
			n, version, err := wire.DecodeNotification(msg.Body)
			if err != nil {
				t.Fatalf("notification from Apache: %v (%x)", err, msg.Body)
			}
			if msg.From != 1 || version != wire.NotificationVersion {
				t.Fatalf("message from %d, version %d", msg.From, version)
			}
			got = n
		case <-timeout:
			t.Fatal("no notification from Apache within 60 s")
		}
		if got.State == zab.Looking {
			break
		}
	}
	cfg := string(got.Config)
	if got.Leader != 1 || got.ElectionEpoch < 1 || !strings.Contains(cfg, fmt.Sprintf("server.2=127.0.0.1:%d:%d:participant", ports[2], ports[3])) {
		t.Fatalf("unexpected notification %+v config %q", got, cfg)
	}
	m.mu.Lock()
	cn := m.peers[1].conn
	initiated := cn != nil && cn.initiated
	m.mu.Unlock()
	if !initiated {
		t.Fatal("the surviving connection to Apache is not the one we dialled")
	}
	// Our vote reaches Apache: it proposes itself (same zxid and epoch, larger sid wins, so
	// 2's vote for itself beats 1's), so Apache switches its vote to 2 and tells us.
	mine := zab.Notification{State: zab.Looking, Leader: 2, Zxid: 0, ElectionEpoch: got.ElectionEpoch, PeerEpoch: 0, Config: got.Config}
	m.Send(1, wire.EncodeNotification(&mine))
	timeout = time.After(30 * time.Second)
	for {
		select {
		case msg := <-m.Recv():
			n, _, err := wire.DecodeNotification(msg.Body)
			if err != nil {
				t.Fatal(err)
			}
			if n.Leader == 2 {
				if !bytes.Equal(n.Config, got.Config) {
					t.Errorf("config changed: %q", n.Config)
				}
				if strings.Contains(apache.Log(), "InitialMessageException") {
					t.Errorf("Apache refused a handshake:\n%s", apache.Log())
				}
				return
			}
		case <-timeout:
			t.Fatal("Apache did not adopt our vote within 30 s")
		}
	}
}
