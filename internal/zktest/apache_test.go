package zktest

import (
	"bytes"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestStartApache checks the whole harness: the node serves a create/get through the Go client,
// honours extra zoo.cfg lines, and is gone after cleanup.
func TestStartApache(t *testing.T) {
	var addr string
	t.Run("serve", func(t *testing.T) {
		addr = StartApache(t, "maxClientCnxns=7")

		conn, events, err := zk.Connect([]string{addr}, 10*time.Second,
			zk.WithLogger(log.New(io.Discard, "", 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		waitSession(t, events)

		want := []byte("hello")
		if _, err := conn.Create("/zktest", want, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create: %v", err)
		}
		got, st, err := conn.Get("/zktest")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if !bytes.Equal(got, want) || st.Version != 0 || st.DataLength != int32(len(want)) {
			t.Fatalf("get = %q %+v, want %q version 0", got, st, want)
		}

		conf, err := FourLetterWord(addr, "conf", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(conf, "maxClientCnxns=7") {
			t.Errorf("extra zoo.cfg line not applied; conf:\n%s", conf)
		}
	})
	// The subtest's cleanup has stopped the node: the port must refuse connections.
	if _, err := FourLetterWord(addr, "ruok", time.Second); err == nil {
		t.Fatalf("%s still answers after cleanup", addr)
	}
}

func waitSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-timeout:
			t.Fatal("no session within 30s")
		}
	}
}

func TestFreePort(t *testing.T) {
	// Every port is bindable and none comes back twice: one member's three ports are drawn in a
	// row, and a repeat once made a member refuse its own config on CI.
	seen := map[int]bool{}
	for i := 0; i < 300; i++ {
		p := FreePort(t)
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("FreePort call %d = %d (seen before: %v)", i, p, seen[p])
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d not bindable: %v", p, err)
		}
		ln.Close()
	}
}
