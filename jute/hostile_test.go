package jute

// Regression tests for hostile input: lengths and counts that lie, nested multis, and the
// Decoder's Max and Canonical.

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// allocBytes returns the bytes allocated while running fn.
func allocBytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestMultiTxnRejectsNestedMulti(t *testing.T) {
	if _, err := DecodeTxn(OpMulti, nestedMulti(1)); err == nil {
		t.Fatal("a multi inside a multi decoded")
	}
	// An empty MultiTxn and one with an error sub-txn are fine.
	if _, err := DecodeTxn(OpMulti, nestedMulti(0)); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []int32{OpCreateSession, OpCloseSession, OpSetACL, OpMulti, 99} {
		e := NewEncoder(32)
		e.Int(1)
		e.Int(typ)
		e.Buffer([]byte{0, 0, 0, 0})
		if _, err := DecodeTxn(OpMulti, e.B); err == nil {
			t.Errorf("sub-txn type %d decoded inside a multi", typ)
		}
	}
}

// A MultiTxn nested once per 12 bytes used to recurse once per level and copy the rest of the
// input at every level: quadratic memory (about 10 GB for 500 KB of input).
func TestNestedMultiBoundedMemory(t *testing.T) {
	b := nestedMulti(40000)
	var err error
	n := allocBytes(func() { _, err = DecodeTxn(OpMulti, b) })
	if err == nil {
		t.Fatal("nested multi decoded")
	}
	if n > 1<<20 {
		t.Fatalf("decoding %d bytes of nested multi allocated %d bytes", len(b), n)
	}
}

// Every record must fail (or stop) on a frame full of huge lengths and counts without
// allocating more than a small multiple of the input.
func TestHostileLengths(t *testing.T) {
	patterns := [][]byte{
		bytes.Repeat([]byte{0x7f, 0xff, 0xff, 0xff}, 64),
		bytes.Repeat([]byte{0x00, 0x10, 0x00, 0x00}, 64),
		bytes.Repeat([]byte{0xff, 0xff, 0xff, 0xfe}, 64),
		append(bytes.Repeat([]byte{0}, 24), bytes.Repeat([]byte{0x7f, 0xff, 0xff, 0xf0}, 64)...),
	}
	for _, fr := range fuzzRecords {
		for _, p := range patterns {
			n := allocBytes(func() {
				d := NewDecoder(p)
				fr.fresh().Decode(d)
			})
			if n > 64*uint64(len(p))+4096 {
				t.Errorf("%s: %d bytes of input allocated %d bytes", fr.name, len(p), n)
			}
		}
	}
	for typ := int32(-20); typ < 30; typ++ {
		for _, p := range patterns {
			n := allocBytes(func() { DecodeTxn(typ, p) })
			if n > 64*uint64(len(p))+4096 {
				t.Errorf("txn %d: %d bytes of input allocated %d bytes", typ, len(p), n)
			}
		}
	}
}

func TestDecoderMax(t *testing.T) {
	e := NewEncoder(32)
	e.Buffer([]byte("12345"))
	e.String("12345")
	for _, max := range []int{0, 5, 4} {
		d := NewDecoder(e.B)
		d.Max = max
		b := d.Buffer()
		s := d.String()
		ok := max == 0 || max >= 5
		if (d.Err() == nil) != ok {
			t.Errorf("Max %d: err %v", max, d.Err())
		}
		if ok && (string(b) != "12345" || s != "12345") {
			t.Errorf("Max %d: %q %q", max, b, s)
		}
	}
	d := NewDecoder(e.B[9:])
	d.Max = 4
	if _ = d.String(); d.Err() == nil {
		t.Error("Max does not bound String")
	}
}

func TestVectorLenBound(t *testing.T) {
	for _, min := range []int{-1, 0, 1, 4} {
		d := NewDecoder([]byte{0, 0, 0x10, 0, 1, 2, 3})
		if n := d.VectorLen(min); d.Err() == nil {
			t.Errorf("VectorLen(%d) accepted a count of %d with 3 bytes left", min, n)
		}
	}
	d := NewDecoder([]byte{0, 0, 0, 3, 1, 2, 3})
	if n := d.VectorLen(1); n != 3 || d.Err() != nil {
		t.Errorf("VectorLen(1) = %d, %v", n, d.Err())
	}
}

func TestCanonical(t *testing.T) {
	cases := []struct {
		name      string
		in        []byte
		rec       Record
		canonical bool
	}{
		{"path", []byte{0, 0, 0, 1, '/'}, &PathRequest{}, true},
		{"null path", []byte{0xff, 0xff, 0xff, 0xff}, &PathRequest{}, false},
		{"watch 1", []byte{0, 0, 0, 1, '/', 1}, &PathWatchRequest{}, true},
		{"watch 2", []byte{0, 0, 0, 1, '/', 2}, &PathWatchRequest{}, false},
		{"null data", []byte{0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, &SetDataRequest{}, true},
		{"null acl", []byte{0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, &SetACLRequest{}, false},
		{"null watches", append(make([]byte, 8), bytes.Repeat([]byte{0xff}, 12)...), &SetWatches{}, false},
		{"3.5 closeSession", nil, &CloseSessionTxn{}, true},
		{"3.8 closeSession", []byte{0, 0, 0, 0}, &CloseSessionTxn{}, true},
		{"null multi", []byte{0xff, 0xff, 0xff, 0xff}, &MultiTxn{}, false},
		{"padded sub-txn", []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5, 0, 0, 0, 0, 9}, &MultiTxn{}, false},
		{"sub-txn", []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0, 0, 0, 0}, &MultiTxn{}, true},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		c.rec.Decode(d)
		if d.Err() != nil {
			t.Errorf("%s: %v", c.name, d.Err())
			continue
		}
		if d.Canonical() != c.canonical {
			t.Errorf("%s: Canonical() = %v", c.name, d.Canonical())
		}
		if enc := Marshal(c.rec); c.canonical && !bytes.Equal(enc, c.in) {
			t.Errorf("%s: re-encoded %x", c.name, enc)
		}
	}
}

// A closeSession without a body (3.5, or zookeeper.closeSessionTxn.enabled=false) is told
// from one listing paths by its bytes, with or without the TxnDigest after it.
func TestCloseSessionBody(t *testing.T) {
	digest := Marshal(&TxnDigest{Version: 2, TreeDigest: 0x1234_5678_9abc_def0})
	zeroDigest := Marshal(&TxnDigest{Version: 2})
	onePath := Marshal(&CloseSessionTxn{Paths2Delete: []string{"/abc"}}) // 12 bytes, as a digest
	cases := []struct {
		name  string
		in    []byte
		paths []string // nil: no body
		left  int      // bytes left for the digest
	}{
		{"no body", nil, nil, 0},
		{"no body, digest", digest, nil, 12},
		{"zero digest", zeroDigest, []string{"", ""}, 0}, // the one version 2 digest that reads as a list
		{"empty list", []byte{0, 0, 0, 0}, []string{}, 0},
		{"empty list, digest", append([]byte{0, 0, 0, 0}, digest...), []string{}, 12},
		{"one path of 12 bytes", onePath, []string{"/abc"}, 0},
		{"one path, digest", append(onePath, digest...), []string{"/abc"}, 12},
		{"two paths, digest", append(Marshal(&CloseSessionTxn{Paths2Delete: []string{"/a", "/b/c"}}), digest...), []string{"/a", "/b/c"}, 12},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		var r CloseSessionTxn
		r.Decode(d)
		if d.Err() != nil {
			t.Errorf("%s: %v", c.name, d.Err())
			continue
		}
		if r.NoBody != (c.paths == nil) || strings.Join(r.Paths2Delete, ",") != strings.Join(c.paths, ",") || d.Remaining() != c.left {
			t.Errorf("%s: NoBody %v paths %q, %d bytes left; want paths %q, %d left", c.name, r.NoBody, r.Paths2Delete, d.Remaining(), c.paths, c.left)
		}
		if !d.Canonical() || !bytes.Equal(Marshal(&r), c.in[:len(c.in)-c.left]) {
			t.Errorf("%s: re-encoded %x (canonical %v)", c.name, Marshal(&r), d.Canonical())
		}
	}
}
