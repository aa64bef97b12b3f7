package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/zkgo/zkgo/client"
)

// javaDate is java.util.Date.toString() in the local time zone:
// "Thu Jan 01 00:00:00 UTC 1970".
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// hex is Long.toHexString (two's complement for negative values).
func hex(v int64) string { return strconv.FormatUint(uint64(v), 16) }

// printStat is zkCli's StatPrinter.
func printStat(w io.Writer, st *client.Stat) {
	fmt.Fprintf(w, "cZxid = 0x%s\n", hex(st.Czxid))
	fmt.Fprintf(w, "ctime = %s\n", javaDate(st.Ctime))
	fmt.Fprintf(w, "mZxid = 0x%s\n", hex(st.Mzxid))
	fmt.Fprintf(w, "mtime = %s\n", javaDate(st.Mtime))
	fmt.Fprintf(w, "pZxid = 0x%s\n", hex(st.Pzxid))
	fmt.Fprintf(w, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(w, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(w, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(w, "ephemeralOwner = 0x%s\n", hex(st.EphemeralOwner))
	fmt.Fprintf(w, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(w, "numChildren = %d\n", st.NumChildren)
}

// csvString is jute's Utils.toCSVString, used by the records' toString.
func csvString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case 0:
			b.WriteString("%00")
		case '\n':
			b.WriteString("%0A")
		case '\r':
			b.WriteString("%0D")
		case ',':
			b.WriteString("%2C")
		case '}':
			b.WriteString("%7D")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// idString is org.apache.zookeeper.data.Id.toString(): "'world,'anyone\n".
func idString(id client.ID) string {
	return csvString(id.Scheme) + "," + csvString(id.ID) + "\n"
}

// permString is ZKUtil.getPermString.
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{client.PermCreate, 'c'}, {client.PermDelete, 'd'}, {client.PermRead, 'r'}, {client.PermWrite, 'w'}, {client.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// parseACL is zkCli's AclParser: "scheme:id:perm,..."; malformed entries are reported on
// errw and skipped, unknown permission letters reported and ignored.
func parseACL(s string, errw io.Writer) []client.ACL {
	var out []client.ACL
	for _, a := range javaSplit(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first == -1 || last == -1 || first == last {
			fmt.Fprintln(errw, a+" does not have the form scheme:id:perm")
			continue
		}
		var perm int32
		for _, c := range a[last+1:] {
			switch c {
			case 'r':
				perm |= client.PermRead
			case 'w':
				perm |= client.PermWrite
			case 'c':
				perm |= client.PermCreate
			case 'd':
				perm |= client.PermDelete
			case 'a':
				perm |= client.PermAdmin
			default:
				fmt.Fprintln(errw, "Unknown perm type: "+string(c))
			}
		}
		out = append(out, client.ACL{Perms: perm, Id: client.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return out
}

// javaSplit is String.split with a literal separator: trailing empty strings are dropped
// (and an empty input gives one empty string).
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	if s == "" {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// javaLess orders strings as String.compareTo does (UTF-16 code units).
func javaLess(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func javaSort(s []string) { sort.SliceStable(s, func(i, j int) bool { return javaLess(s[i], s[j]) }) }

// javaList is AbstractCollection.toString: "[a, b]".
func javaList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// statsTrack is org.apache.zookeeper.StatsTrack: the "count=..,bytes=.." text of the
// zookeeper_limits and zookeeper_stats quota nodes.
type statsTrack map[string]int64

func parseStatsTrack(s string) statsTrack {
	st := statsTrack{}
	if s == "" {
		return st
	}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		parts := javaSplit(kv, "=")
		v := int64(-1)
		if len(parts) > 1 && parts[1] != "" {
			if n, err := strconv.ParseInt(parts[1], 10, 64); err == nil {
				v = n
			}
		}
		if len(parts) > 0 {
			st[parts[0]] = v
		}
	}
	return st
}

func (st statsTrack) get(k string) int64 {
	if v, ok := st[k]; ok {
		return v
	}
	return -1
}

func (st statsTrack) String() string {
	var keys []string
	for k := range st {
		if k != "count" && k != "bytes" {
			keys = append(keys, k)
		}
	}
	s := "count=" + strconv.FormatInt(st.get("count"), 10) + ",bytes=" + strconv.FormatInt(st.get("bytes"), 10)
	if len(keys) > 0 {
		s += "="
		javaSort(keys)
		for _, k := range keys {
			s += ";" + k + "=" + strconv.FormatInt(st[k], 10)
		}
	}
	return s
}
