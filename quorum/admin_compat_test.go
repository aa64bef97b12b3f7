package quorum

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zkgo/zkgo/internal/zktest"
)

// shape is a JSON value's structure: objects by sorted key, arrays by their elements'
// shapes, scalars by type (values differ between runs: ports, paths, times).
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + shape(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		seen := map[string]bool{}
		var parts []string
		for _, e := range x {
			if s := shape(e); !seen[s] {
				seen[s] = true
				parts = append(parts, s)
			}
		}
		sort.Strings(parts)
		return "[" + strings.Join(parts, "|") + "]"
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	}
	return fmt.Sprintf("%T", v)
}

// The AdminServer's ensemble commands answer as ZooKeeper 3.8's do on a three-member
// ensemble, for the leader and for a follower: the same fields of the same types
// (voting_view, zabstate with its MultipleAddresses, leader, observers, server_stats with
// the leader's proposal_stats, is_read_only, initial_configuration), and the values that do
// not depend on ports, paths or time.
func TestEnsembleAdminCommandsSideBySide(t *testing.T) {
	if !zktest.ApacheAvailable() {
		t.Fatal("Apache ZooKeeper is not installed (apt-get install -y zookeeper)")
	}
	cmds := []string{"voting_view", "zabstate", "leader", "observers", "server_stats", "is_read_only", "initial_configuration"}
	get := func(port int, cmd string) map[string]any {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/commands/%s", port, cmd))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v: %s", cmd, err, b)
		}
		return m
	}
	// values keeps what must be equal: per command, the fields that do not vary by run.
	values := func(cmd string, m map[string]any) string {
		switch cmd {
		case "voting_view":
			var own []string
			for id, v := range m["current_config"].(map[string]any) {
				if v.(map[string]any)["client_address"] != "" {
					own = append(own, id)
				}
				if v.(map[string]any)["learner_type"] != "participant" {
					own = append(own, "learner_type "+id)
				}
			}
			return fmt.Sprintf("voters %d, with a client address %v", len(m["current_config"].(map[string]any)), own)
		case "zabstate":
			return fmt.Sprintf("is_leader %v voting %v zabstate %v", m["is_leader"], m["voting"], m["zabstate"])
		case "leader":
			return fmt.Sprintf("is_leader %v leader_ip %v", m["is_leader"], m["leader_ip"])
		case "observers":
			return fmt.Sprintf("synced %v", m["synced_observers"])
		case "server_stats":
			return fmt.Sprintf("state %v", m["server_stats"].(map[string]any)["server_state"])
		}
		return fmt.Sprint(m)
	}
	type answers map[string]map[string]map[string]any // role -> cmd -> JSON
	collect := func(ports map[int]int, leader int) answers {
		out := answers{}
		for i, port := range ports {
			role := "follower"
			if i == leader {
				role = "leader"
			}
			if out[role] != nil {
				continue
			}
			out[role] = map[string]map[string]any{}
			for _, cmd := range cmds {
				out[role][cmd] = get(port, cmd)
			}
		}
		return out
	}
	adminLines := func(port int) []string {
		return []string{"admin.enableServer=true", "admin.serverAddress=127.0.0.1", fmt.Sprintf("admin.serverPort=%d", port)}
	}

	e := newEnsemble(t, 3, "")
	ports := map[int]int{}
	for i := 1; i <= 3; i++ {
		ports[i] = zktest.FreePort(t)
		e.appendCfg(i, strings.Join(adminLines(ports[i]), "\n"))
		e.start(i)
	}
	zLeader := e.waitServing(20 * time.Second)
	z := collect(ports, zLeader)

	a := newEnsemble(t, 3, "")
	members := ensembleMembers(t, a)
	aports := map[int]int{}
	for i := 1; i <= 3; i++ {
		aports[i] = zktest.FreePort(t)
		p := zktest.StartApacheQuorumPeer(t, uint64(i), members, zktest.FreePort(t), adminLines(aports[i]))
		a.clients[i] = p.ClientAddr
	}
	leader := 0
	deadline := time.Now().Add(60 * time.Second)
	for leader == 0 {
		for i := 1; i <= 3; i++ {
			if out, _ := zktest.FourLetterWord(a.clients[i], "srvr", 2*time.Second); strings.Contains(out, "Mode: leader") {
				leader = i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no Apache leader")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // the followers synchronised
	ap := collect(aports, leader)

	// mntr: zkgo prints no key ZooKeeper does not (on a follower without observer masters,
	// no synced_observers); ZooKeeper prints its Java internals' metrics besides.
	mntrKeys := func(addr string) map[string]bool {
		out, _ := zktest.FourLetterWord(addr, "mntr", 2*time.Second)
		keys := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			if k, _, ok := strings.Cut(l, "\t"); ok {
				keys[k] = true
			}
		}
		return keys
	}
	other := func(leader int) int { return 1 + leader%3 }
	for _, pair := range [][2]string{{e.clients[zLeader], a.clients[leader]}, {e.clients[other(zLeader)], a.clients[other(leader)]}} {
		zk, ak := mntrKeys(pair[0]), mntrKeys(pair[1])
		if len(zk) < 50 || len(ak) < 50 {
			t.Fatalf("mntr: %d and %d keys", len(zk), len(ak))
		}
		for k := range zk {
			if !ak[k] {
				t.Errorf("mntr of %s has %s, Apache's has not", pair[0], k)
			}
		}
	}

	for _, role := range []string{"leader", "follower"} {
		for _, cmd := range cmds {
			zs, as := shape(z[role][cmd]), shape(ap[role][cmd])
			if zs != as {
				t.Errorf("%s %s shape:\nzkgo   %s\nApache %s", role, cmd, zs, as)
			}
			if zv, av := values(cmd, z[role][cmd]), values(cmd, ap[role][cmd]); zv != av && !strings.Contains(zv, "with a client address") {
				t.Errorf("%s %s: zkgo %s, Apache %s", role, cmd, zv, av)
			} else if strings.Contains(zv, "with a client address") && len(strings.Fields(zv)) != len(strings.Fields(av)) {
				t.Errorf("%s %s: zkgo %s, Apache %s", role, cmd, zv, av)
			}
		}
	}
}
