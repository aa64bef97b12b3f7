package server

import (
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zkgo/zkgo/persistence"
)

// Accessors over the server's state for the operator interface (four-letter words,
// AdminServer, /metrics), so that those read one view of it.

// jobj is a JSON object with ordered keys (Java's LinkedHashMap / TreeMap as Jackson
// writes them). Values: nil, bool, string, int, int64, float64 (a Java double), jobj,
// []any.
type jobj []jkv

type jkv struct {
	k string
	v any
}

func (o *jobj) put(k string, v any) {
	for i := range *o {
		if (*o)[i].k == k {
			(*o)[i].v = v
			return
		}
	}
	*o = append(*o, jkv{k, v})
}

func (o jobj) get(k string) (any, bool) {
	for _, kv := range o {
		if kv.k == k {
			return kv.v, true
		}
	}
	return nil, false
}

// writeJackson writes v as Jackson's ObjectMapper with INDENT_OUTPUT does
// (DefaultPrettyPrinter): objects one "key" : value per line indented by two spaces per
// level, arrays inline as [ a, b ], empty ones as { } and [ ].
func writeJackson(b *strings.Builder, v any, level int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeJSONString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString(`"` + promDouble(x) + `"`) // Jackson quotes non-finite doubles
		} else {
			b.WriteString(javaDoubleString(x))
		}
	case jobj:
		if len(x) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, kv := range x {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(strings.Repeat("  ", level+1))
			writeJSONString(b, kv.k)
			b.WriteString(" : ")
			writeJackson(b, kv.v, level+1)
		}
		b.WriteString("\n" + strings.Repeat("  ", level) + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJackson(b, e, level)
		}
		b.WriteString(" ]")
	default:
		writeJSONString(b, "unsupported")
	}
}

// writeJSONString escapes as Jackson does: quote, backslash and control characters; other
// characters as UTF-8, "/" unescaped.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&15])
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// sessionWatches is DataTree.getWatches: session id -> watched paths (sorted by id).
func (s *Server) sessionWatches() (ids []int64, paths map[int64][]string) {
	s.dt().RLock()
	by := s.dt().WatchesByWatcher()
	s.dt().RUnlock()
	paths = map[int64][]string{}
	for w, ps := range by {
		if c, ok := w.(*conn); ok {
			paths[c.sid()] = append(paths[c.sid()], ps...)
		}
	}
	for id := range paths {
		sort.Strings(paths[id])
	}
	return sortedKeys(paths), paths
}

// pathWatches is DataTree.getWatchesByPath: path -> watching session ids.
func (s *Server) pathWatches() (ps []string, ids map[string][]int64) {
	_, byID := s.sessionWatches()
	ids = map[string][]int64{}
	for _, id := range sortedKeys(byID) {
		for _, p := range byID[id] {
			ids[p] = append(ids[p], id)
		}
	}
	for p := range ids {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps, ids
}

// defaultTraceMask is ZooTrace's initial text trace mask (what gtmk answers on a fresh
// Apache server). zkgo does not trace; stmk only stores the value.
const defaultTraceMask = 306

// lastSnapshot is FileTxnSnapLog.getLastSnapshotInfo: the newest snapshot's zxid and its
// modification time in seconds; -1/-1 when there is none.
func (s *Server) lastSnapshot() (zxid int64, timestamp int64) {
	dir := persistence.SnapDir(s.cfg.DataDir)
	ents, err := os.ReadDir(dir)
	zxid, timestamp = -1, -1
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "snapshot.") {
			continue
		}
		hexPart, _, _ := strings.Cut(strings.TrimPrefix(name, "snapshot."), ".")
		z, err := strconv.ParseUint(hexPart, 16, 64)
		if err != nil || int64(z) < zxid {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		zxid, timestamp = int64(z), fi.ModTime().Unix()
	}
	return
}

// connInfo is ServerCnxn.getConnectionInfo.
func (c *conn) connInfo(brief bool) jobj {
	o := jobj{
		{"remote_socket_address", c.remote},
		{"interest_ops", c.interestOps()},
		{"outstanding_requests", int64(c.queued())},
		{"packets_received", c.received.Load()},
		{"packets_sent", c.sent.Load()},
	}
	if !brief {
		minL, avg, maxL := c.latency()
		o = append(o,
			jkv{"session_id", c.sid()},
			jkv{"last_operation", shortOp(c.lastOp.Load())},
			jkv{"established", c.established.UnixMilli()},
			jkv{"session_timeout", int64(c.timeout)},
			jkv{"last_cxid", int64(c.lastCxid.Load())},
			jkv{"last_zxid", c.lastZxid.Load()},
			jkv{"last_response_time", c.lastResp.Load()},
			jkv{"last_latency", c.lastLat.Load()},
			jkv{"min_latency", minL},
			jkv{"avg_latency", avg},
			jkv{"max_latency", maxL},
		)
	}
	return o
}

// interestOps is the selection-key interest set cons prints in brackets: a four-letter-word
// connection is no longer selected (0), others wait for reads (1).
func (c *conn) interestOps() int64 {
	if c.fourLetter.Load() {
		return 0
	}
	return 1
}

// latency is ServerCnxn's min/avg/max (avg a long in 3.8).
func (c *conn) latency() (minL, avg, maxL int64) {
	minL = c.minLat.Load()
	if minL < 0 {
		minL = 0
	}
	if n := c.cntLat.Load(); n > 0 {
		avg = c.sumLat.Load() / n
	}
	return minL, avg, c.maxLat.Load()
}
