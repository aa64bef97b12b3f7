package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
)

// opsWorkload opens two sessions, each with a persistent node, an ephemeral child and data,
// child and exists watches; the sessions stay open for the test.
func opsWorkload(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		c, ev, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		waitConnected(t, ev)
		p := fmt.Sprintf("/n%d", i)
		if _, err := c.Create(p, []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(p+"/e", []byte("y"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.GetW(p); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.ChildrenW(p); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := c.ExistsW("/missing"); err != nil {
			t.Fatal(err)
		}
	}
}

func waitConnected(t *testing.T, ev <-chan zk.Event) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return
			}
		case <-deadline:
			t.Fatal("no session")
		}
	}
}

var (
	reDate = regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d [A-Z]+ \d{4}`)
	reHex  = regexp.MustCompile(`0x[0-9a-f]+`)
	reNum  = regexp.MustCompile(`\d+`)
	reLop  = regexp.MustCompile(`lop=[A-Z]+`)
	reVer  = regexp.MustCompile(`3\.8\.0-\S+, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC`)
)

// shape keeps a line's format and drops its values: versions, dates, hex, numbers, ops.
func shape(line string) string {
	line = reVer.ReplaceAllString(line, "VERSION")
	line = reDate.ReplaceAllString(line, "DATE")
	line = reHex.ReplaceAllString(line, "0xH")
	line = reLop.ReplaceAllString(line, "lop=OP")
	return reNum.ReplaceAllString(line, "N")
}

func shapes(out string, sorted bool) []string {
	var s []string
	for _, l := range strings.Split(out, "\n") {
		s = append(s, shape(l))
	}
	if sorted {
		sort.Strings(s)
	}
	return s
}

func distinct(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func keysOf(out, sep string) []string {
	var keys []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		k, _, _ := strings.Cut(l, sep)
		keys = append(keys, k)
	}
	return keys
}

var (
	reInt    = regexp.MustCompile(`^-?\d+$`)
	reDouble = regexp.MustCompile(`^-?\d+\.\d+(E-?\d+)?$`)
)

func valueClass(v string) string {
	switch {
	case reInt.MatchString(v):
		return "long"
	case reDouble.MatchString(v):
		return "double"
	}
	return "string"
}

// TestFourLetterWordsMatchApache runs Apache ZooKeeper 3.8 and zkgo with the same settings
// and workload and compares the format of every four-letter word's answer (keys, line
// shapes, value formats; not the values).
func TestFourLetterWordsMatchApache(t *testing.T) {
	apacheAddr := zktest.StartApache(t)
	_, ourAddr := startServer(t, map[string]string{"zookeeper.4lw.commands.whitelist": "*"})
	opsWorkload(t, apacheAddr)
	opsWorkload(t, ourAddr)

	ask := func(addr, cmd string) string {
		out, err := zktest.FourLetterWord(addr, cmd, 10*time.Second)
		if err != nil {
			t.Fatalf("%s on %s: %v", cmd, addr, err)
		}
		return out
	}
	// Apache may list the previous word's connection in cons/stat/dump for a moment
	// after closing it; ask twice with a pause so both servers are settled.
	both := func(cmd string) (string, string) {
		time.Sleep(300 * time.Millisecond)
		return ask(apacheAddr, cmd), ask(ourAddr, cmd)
	}
	eq := func(cmd string, a, b []string) {
		t.Helper()
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: format differs\napache:\n%s\nzkgo:\n%s", cmd, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	}

	for _, cmd := range []string{"ruok", "isro", "gtmk", "hash", "wchs", "dirs"} {
		a, z := both(cmd)
		eq(cmd, shapes(a, false), shapes(z, false))
	}
	for _, cmd := range []string{"srvr", "stat", "cons", "wchc", "wchp"} {
		a, z := both(cmd)
		eq(cmd, shapes(a, true), shapes(z, true))
		if strings.HasSuffix(a, "\n\n") != strings.HasSuffix(z, "\n\n") {
			t.Errorf("%s: trailing blank line differs: apache %q zkgo %q", cmd, a, z)
		}
	}
	{
		a, z := both("dump")
		eq("dump", distinct(shapes(a, false)), distinct(shapes(z, false)))
	}
	{
		a, z := both("conf")
		eq("conf", keysOf(a, "="), keysOf(z, "="))
	}
	{
		a, z := both("envi")
		eq("envi", keysOf(a, "="), keysOf(z, "="))
	}
	{
		a, z := both("mntr")
		apacheVals := map[string]string{}
		for _, l := range strings.Split(strings.TrimRight(a, "\n"), "\n") {
			k, v, _ := strings.Cut(l, "\t")
			apacheVals[k] = v
		}
		ours := map[string]bool{}
		for _, l := range strings.Split(strings.TrimRight(z, "\n"), "\n") {
			k, v, ok := strings.Cut(l, "\t")
			if !ok {
				t.Errorf("mntr: line without a tab: %q", l)
				continue
			}
			ours[k] = true
			// The same workload leaves the same tree, counted as ZooKeeper counts it (its
			// path map holds the root twice).
			if k == "zk_znode_count" && v != apacheVals[k] {
				t.Errorf("mntr %s: apache %s, zkgo %s", k, apacheVals[k], v)
			}
			av, known := apacheVals[k]
			if !known {
				t.Errorf("mntr: zkgo emits %s, which Apache 3.8 standalone does not", k)
				continue
			}
			if k != "zk_version" && k != "zk_server_state" && valueClass(av) != valueClass(v) {
				t.Errorf("mntr %s: apache %q (%s), zkgo %q (%s)", k, av, valueClass(av), v, valueClass(v))
			}
		}
		// ops-interface.md §2 core keys (zk_quorum_size is a quorum peer's only: Apache 3.8
		// standalone has none, checked here as well).
		for _, k := range strings.Fields(`zk_version zk_server_state zk_avg_latency zk_max_latency
			zk_min_latency zk_packets_received zk_packets_sent zk_num_alive_connections
			zk_outstanding_requests zk_uptime zk_znode_count zk_watch_count zk_ephemerals_count
			zk_approximate_data_size zk_global_sessions zk_local_sessions
			zk_open_file_descriptor_count zk_max_file_descriptor_count
			zk_connection_drop_probability zk_last_client_response_size
			zk_max_client_response_size zk_min_client_response_size zk_outstanding_tls_handshake
			zk_auth_failed_count zk_non_mtls_remote_conn_count zk_non_mtls_local_conn_count
			zk_avg_readlatency zk_p99_readlatency zk_avg_updatelatency zk_cnt_fsynctime
			zk_sum_snapshottime`) {
			if _, ok := apacheVals[k]; !ok {
				t.Errorf("mntr: Apache lacks core key %s", k)
			}
			if !ours[k] {
				t.Errorf("mntr: zkgo lacks core key %s", k)
			}
		}
		if _, ok := apacheVals["zk_quorum_size"]; ok {
			t.Errorf("mntr: Apache standalone now reports zk_quorum_size; zkgo should too")
		}
	}
	// Resets last: they change what the others show.
	for _, cmd := range []string{"crst", "srst"} {
		a, z := both(cmd)
		eq(cmd, shapes(a, false), shapes(z, false))
	}
}

// jsonShape reduces a JSON document to its structure: object keys in order with the shape
// of their values, arrays by the shape of their elements, scalars by type (Jackson writes
// Java longs without a point and doubles with one). Objects keyed by data (session ids,
// times, paths) are collapsed to "{*: <value shape>}".
func jsonShape(t *testing.T, raw string) string {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	// Key order is checked separately on the raw text (encoding/json loses it).
	return shapeOf(v, "")
}

var dataKeyed = map[string]bool{
	"expiry_time_to_session_ids": true, "session_id_to_ephemeral_paths": true,
	"session_id_to_watched_paths": true, "path_to_session_ids": true,
}

func shapeOf(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if dataKeyed[key] {
			var vs []string
			for _, e := range x {
				vs = append(vs, shapeOf(e, ""))
			}
			return "{*:" + strings.Join(distinct(vs), "|") + "}"
		}
		var ks []string
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var b strings.Builder
		b.WriteString("{")
		for _, k := range ks {
			b.WriteString(k + ":" + shapeOf(x[k], k) + ",")
		}
		return b.String() + "}"
	case []any:
		var vs []string
		for _, e := range x {
			vs = append(vs, shapeOf(e, ""))
		}
		return "[" + strings.Join(distinct(vs), "|") + "]"
	case json.Number:
		if strings.ContainsAny(string(x), ".E") {
			return "double"
		}
		return "long"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

var reJSONToken = regexp.MustCompile(`"(?:[^"\\]|\\.)*"( :)?|-?\d+(\.\d+)?(E-?\d+)?`)

// jsonText keeps Jackson's layout and the keys, replacing values (and numeric keys) by
// placeholders.
func jsonText(raw string) string {
	return reJSONToken.ReplaceAllStringFunc(raw, func(tok string) string {
		switch {
		case strings.HasSuffix(tok, " :"):
			if reInt.MatchString(strings.Trim(tok[:len(tok)-2], `"`)) {
				return `"ID" :`
			}
			return tok
		case tok[0] == '"':
			return `"S"`
		case strings.ContainsAny(tok, ".E"):
			return "F"
		}
		return "N"
	})
}

func httpGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestAdminServerMatchesApache compares every AdminServer command of zkgo with Apache
// ZooKeeper 3.8's (Jetty) under the same workload: the command list page byte for byte,
// and for each command the JSON structure, key order, value types and layout.
func TestAdminServerMatchesApache(t *testing.T) {
	apacheAddr, apacheURL := zktest.StartApacheAdmin(t)
	s, ourAddr := startServer(t, map[string]string{"zookeeper.admin.enableServer": "true",
		"zookeeper.admin.serverAddress": "127.0.0.1", "zookeeper.admin.serverPort": "0"})
	if s.AdminAddr() == nil {
		t.Fatal("AdminServer not running")
	}
	ourURL := "http://" + s.AdminAddr().String()
	opsWorkload(t, apacheAddr)
	opsWorkload(t, ourAddr)

	_, _, aList := httpGet(t, apacheURL+"/commands")
	_, _, zList := httpGet(t, ourURL+"/commands")
	if aList != zList {
		t.Errorf("command list differs:\napache:\n%s\nzkgo:\n%s", aList, zList)
	}
	if code, _, _ := httpGet(t, ourURL+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}

	type mode int
	const (
		full      mode = iota // layout, keys and key order, value types
		shapeOnly             // structure and types (data-dependent counts, e.g. dump's empty buckets)
		keysOnly              // monitor: zkgo's keys a subset of Apache's, same types
		skip                  // system_properties: the JVM's own
	)
	cmds := []struct {
		name string
		m    mode
	}{
		{"ruok", full}, {"server_stats", full}, {"srvr", full}, {"stats", full}, {"configuration", full},
		{"connections", full}, {"dump", shapeOnly}, {"environment", full}, {"monitor", keysOnly},
		{"watch_summary", full}, {"watches", full}, {"watches_by_path", shapeOnly}, {"dirs", full},
		{"is_read_only", full}, {"get_trace_mask", full}, {"hash", full}, {"zabstate", full},
		{"voting_view", full}, {"last_snapshot", full}, {"initial_configuration", full},
		{"system_properties", skip}, {"leader", full}, {"lead", full}, {"observers", full},
		{"obsr", full}, {"orst", full}, {"set_trace_mask", full}, {"stmk?traceMask=306", full},
		{"no_such_command", full}, {"crst", full}, {"srst", full},
	}
	for _, c := range cmds {
		ac, act, a := httpGet(t, apacheURL+"/commands/"+c.name)
		zc, zct, z := httpGet(t, ourURL+"/commands/"+c.name)
		if ac != zc || act != zct {
			t.Errorf("%s: status/content type apache %d %q, zkgo %d %q", c.name, ac, act, zc, zct)
		}
		switch c.m {
		case full:
			if jsonText(a) != jsonText(z) {
				t.Errorf("%s: JSON differs\napache:\n%s\nzkgo:\n%s", c.name, a, z)
			}
			fallthrough
		case shapeOnly:
			if as, zs := jsonShape(t, a), jsonShape(t, z); as != zs {
				t.Errorf("%s: JSON structure differs\napache: %s\nzkgo:   %s", c.name, as, zs)
			}
		case keysOnly:
			var am, zm map[string]any
			d := json.NewDecoder(strings.NewReader(a))
			d.UseNumber()
			d.Decode(&am)
			d = json.NewDecoder(strings.NewReader(z))
			d.UseNumber()
			if err := d.Decode(&zm); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for k, v := range zm {
				av, ok := am[k]
				if !ok {
					t.Errorf("%s: zkgo has %s, Apache does not", c.name, k)
				} else if k != "error" && shapeOf(av, k) != shapeOf(v, k) {
					t.Errorf("%s %s: apache %v, zkgo %v", c.name, k, av, v)
				}
			}
		case skip:
			if !strings.Contains(z, `"command" : "system_properties"`) {
				t.Errorf("%s: %s", c.name, z)
			}
		}
	}
}
