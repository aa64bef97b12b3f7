// Package inspect implements zktool: dumps of transaction logs and snapshots in the exact
// text forms of Apache ZooKeeper's TxnLogToolkit and SnapshotFormatter, and data dir checks.
//
// Matching the Java tools byte for byte needs a few Java behaviours reproduced here: UTF-8
// decoding with U+FFFD replacement (new String(bytes, UTF_8)), jute's ToString/CSV record
// form, java.text.DateFormat and Date.toString, and the iteration order of HashSet/HashMap.
package inspect

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// javaString is new String(b, UTF_8): malformed input becomes one U+FFFD per maximal
// subpart of an ill-formed sequence, as the JDK decoder does.
func javaString(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[i : i+n])
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return sb.String()
}

func maximalSubpart(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	k := 1
	if k < len(b) && b[k] >= lo && b[k] <= hi {
		k++
		for k <= need && k < len(b) && b[k] >= 0x80 && b[k] <= 0xBF {
			k++
		}
	}
	return k
}

// javaHash is String.hashCode over the UTF-16 form of s.
func javaHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// longHash is Long.hashCode.
func longHash(v int64) int32 { return int32(v ^ int64(uint64(v)>>32)) }

// hashOrder returns the indexes of keys (with hashes hs, in insertion order) in the iteration
// order of a java.util.HashMap that started with capacity initCap and had them put in order.
// Collisions keep insertion order, as HashMap's bins and resize splits do.
func hashOrder(hs []int32, initCap int) []int {
	capa := initCap
	for float64(len(hs)) > 0.75*float64(capa) {
		capa *= 2
	}
	buckets := make([][]int, capa)
	for i, h := range hs {
		spread := uint32(h) ^ (uint32(h) >> 16)
		b := int(spread & uint32(capa-1))
		buckets[b] = append(buckets[b], i)
	}
	out := make([]int, 0, len(hs))
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

// javaShortLongDate is DateFormat.getDateTimeInstance(SHORT, LONG) in the en_US locale of
// JDK 9-19 (CLDR): "11/27/26, 7:21:09 AM UTC".
func javaShortLongDate(ms int64) string {
	return time.UnixMilli(ms).Format("1/2/06, 3:04:05 PM MST")
}

// javaDateString is java.util.Date.toString: "Thu Jan 01 00:00:00 UTC 1970".
func javaDateString(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// hex016 is String.format("%#016x", v): "0x" counts towards the width of 16.
func hex016(v int64) string {
	s := strconv.FormatUint(uint64(v), 16)
	for len(s) < 14 {
		s = "0" + s
	}
	return "0x" + s
}

// opName is Request.op2String of 3.8.
func opName(op int32) string {
	switch op {
	case -11:
		return "closeSession"
	case -10:
		return "createSession"
	case -1:
		return "error"
	case 0:
		return "notification"
	case 1:
		return "create"
	case 2:
		return "delete"
	case 3:
		return "exists"
	case 4:
		return "getData"
	case 5:
		return "setData"
	case 6:
		return "getACL"
	case 7:
		return "setACL"
	case 8:
		return "getChildren"
	case 9:
		return "sync"
	case 11:
		return "ping"
	case 12:
		return "getChildren2"
	case 13:
		return "check"
	case 14:
		return "multi"
	case 15:
		return "create2"
	case 16:
		return "reconfig"
	case 17:
		return "checkWatches"
	case 18:
		return "removeWatches"
	case 19:
		return "createContainer"
	case 20:
		return "deleteContainer"
	case 21:
		return "createTtl"
	case 22:
		return "multiRead"
	case 100:
		return "auth"
	case 101:
		return "setWatches"
	case 102:
		return "sasl"
	case 103:
		return "getEphemerals"
	case 104:
		return "getAllChildrenNumber"
	case 105:
		return "setWatches2"
	case 107:
		return "whoAmI"
	}
	return "unknown " + strconv.Itoa(int(op))
}

// reader is a jute binary reader that remembers the first error (EOF in Java terms).
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("EOF at offset %d", r.off)
		return false
	}
	return true
}

func (r *reader) int() int32 {
	if !r.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

func (r *reader) long() int64 {
	if !r.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *reader) bool() bool {
	if !r.need(1) {
		return false
	}
	v := r.b[r.off] != 0
	r.off++
	return v
}

// buffer returns nil for a length of -1 (Java null).
func (r *reader) buffer() []byte {
	n := r.int()
	if r.err != nil || n == -1 {
		return nil
	}
	if !r.need(int(n)) {
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

// str returns "", false for a null string.
func (r *reader) str() (string, bool) {
	n := r.int()
	if r.err != nil || n == -1 {
		return "", false
	}
	if !r.need(int(n)) {
		return "", false
	}
	v := javaString(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return v, true
}

func (r *reader) remaining() int { return len(r.b) - r.off }
