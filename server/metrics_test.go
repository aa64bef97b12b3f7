package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
)

var (
	rePromName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	rePromLabel = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"$`)
)

// parsePrometheus is a strict parser of the text format 0.0.4: every line is a HELP, a TYPE
// or a sample; every sample belongs to the family whose TYPE came before it (summaries may
// add _sum and _count); no family is declared twice and no sample (name and labels) repeats.
func parsePrometheus(t *testing.T, text string) map[string]string {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Fatal("output does not end with a newline")
	}
	types := map[string]string{}
	helps := map[string]bool{}
	samples := map[string]bool{}
	values := map[string]string{}
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(f string, a ...any) { t.Fatalf("line %d %q: %s", i+1, line, fmt.Sprintf(f, a...)) }
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, _, _ := strings.Cut(line[len("# HELP "):], " ")
			if !rePromName.MatchString(name) || helps[name] {
				fail("bad or repeated HELP")
			}
			helps[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line[len("# TYPE "):])
			if len(f) != 2 || !rePromName.MatchString(f[0]) {
				fail("bad TYPE")
			}
			if _, dup := types[f[0]]; dup {
				fail("TYPE repeated")
			}
			switch f[1] {
			case "counter", "gauge", "summary", "histogram", "untyped":
			default:
				fail("unknown type")
			}
			types[f[0]] = f[1]
			current = f[0]
		case strings.HasPrefix(line, "#") || line == "":
			fail("unexpected comment or blank line")
		default:
			name, rest := line, ""
			labels := ""
			if i := strings.IndexByte(line, '{'); i >= 0 {
				j := strings.LastIndexByte(line, '}')
				if j < i {
					fail("unclosed labels")
				}
				name, labels, rest = line[:i], line[i+1:j], line[j+1:]
				for _, l := range strings.Split(strings.TrimSuffix(labels, ","), ",") {
					if !rePromLabel.MatchString(l) {
						fail("bad label %q", l)
					}
				}
			} else {
				name, rest, _ = strings.Cut(line, " ")
				rest = " " + rest
			}
			if !rePromName.MatchString(name) {
				fail("bad metric name")
			}
			val, ok := strings.CutPrefix(rest, " ")
			if !ok || strings.Contains(val, " ") {
				fail("bad value part")
			}
			if _, err := strconv.ParseFloat(val, 64); err != nil && val != "+Inf" && val != "-Inf" && val != "NaN" {
				fail("bad value %q", val)
			}
			family := name
			if types[current] == "summary" && (name == current+"_sum" || name == current+"_count") {
				family = current // a summary's own name may end in _count too
			}
			if family != current {
				fail("sample outside its family %q", current)
			}
			if !helps[family] {
				fail("no HELP")
			}
			key := name + "{" + labels + "}"
			if samples[key] {
				fail("duplicate sample")
			}
			samples[key] = true
			values[key] = val
		}
	}
	return values
}

func TestPrometheusMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// A server with the Prometheus provider on a known loopback port.
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"})
	cfg.MetricsProviderClassName = PrometheusProvider
	cfg.MetricsProviderConfig["httpHost"] = "127.0.0.1"
	cfg.MetricsProviderConfig["httpPort"] = strconv.Itoa(port)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPort = 0
	s3, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Close() })
	addr := s3.Addr().String()
	if s3.MetricsAddr() == nil {
		t.Fatal("/metrics not served")
	}
	c, _ := connect(t, addr)
	if _, err := c.Create("/m", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/m"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", s3.MetricsAddr()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	vals := parsePrometheus(t, string(body))
	for _, k := range []string{"znode_count{}", "watch_count{}", "ephemerals_count{}", "approximate_data_size{}",
		"num_alive_connections{}", "outstanding_requests{}", "packets_received{}", "packets_sent{}",
		"global_sessions{}", "uptime{}", `readlatency{quantile="0.5",}`, `readlatency{quantile="0.99",}`,
		"readlatency_count{}", "updatelatency_sum{}", `fsynctime{quantile="0.5",}`, "snapshottime_count{}",
		`zkgo_requests_total{op="create",}`, "connection_request_count{}"} {
		if _, ok := vals[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if v := vals["updatelatency_count{}"]; v == "0.0" {
		t.Errorf("updatelatency_count = %s after a create", v)
	}
	if code := getStatus(t, fmt.Sprintf("http://%s/other", s3.MetricsAddr())); code != http.StatusNotFound {
		t.Errorf("/other: %d", code)
	}
}

func getStatus(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPrometheusEscapingAndDoubles(t *testing.T) {
	var b strings.Builder
	promSample(&b, "x", [][2]string{{"op", "a\"b\\c\nd"}}, 12345678)
	if got, want := b.String(), `x{op="a\"b\\c\nd",} 1.2345678E7`+"\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	for v, want := range map[float64]string{0: "0.0", 1: "1.0", 0.5: "0.5", 1e7: "1.0E7", 0.0001: "1.0E-4", 123.25: "123.25"} {
		if got := promDouble(v); got != want {
			t.Errorf("promDouble(%v) = %q, want %q", v, got, want)
		}
	}
	if got := promEscapeHelp("a\\b\nc\""); got != `a\\b\nc"` {
		t.Errorf("help escape %q", got)
	}
}

// TestAdminServer covers what the Apache comparison does not: a bind failure leaves the
// ZooKeeper server serving, unknown paths are 404, and Close releases the port.
func TestAdminServer(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	s, addr := startServer(t, map[string]string{"zookeeper.admin.enableServer": "true",
		"zookeeper.admin.serverAddress": "127.0.0.1", "zookeeper.admin.serverPort": port})
	if s.AdminAddr() != nil {
		t.Fatal("AdminServer claims a busy port")
	}
	connect(t, addr) // still serving clients

	s2, _ := startServer(t, map[string]string{"zookeeper.admin.enableServer": "true",
		"zookeeper.admin.serverAddress": "127.0.0.1", "zookeeper.admin.serverPort": "0",
		"zookeeper.admin.commandURL": "/cmds"})
	base := "http://" + s2.AdminAddr().String()
	_, ct, body := httpGet(t, base+"/cmds/ruok")
	if ct != "application/json" || body != "{\n  \"command\" : \"ruok\",\n  \"error\" : null\n}" {
		t.Errorf("ruok: %q %q", ct, body)
	}
	if _, _, body := httpGet(t, base+"/cmds/"); !strings.HasPrefix(body, "<a href=\"/cmds/configuration\">configuration</a>\n<br/>\n") {
		t.Errorf("list: %q", body)
	}
	if code, _, _ := httpGet(t, base+"/commands/ruok"); code != http.StatusNotFound {
		t.Errorf("/commands/ruok with commandURL=/cmds: %d", code)
	}
	if _, _, body := httpGet(t, base+"/cmds/leader"); body != "{\n  \"error\" : \"server is not initialized\",\n  \"command\" : \"leader\"\n}" {
		t.Errorf("leader: %q", body)
	}
	adminAddr := s2.AdminAddr().String()
	s2.Close()
	if c, err := net.Dial("tcp", adminAddr); err == nil {
		c.Close()
		t.Error("AdminServer still listening after Close")
	}
}
