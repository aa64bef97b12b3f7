package jute

// Fuzz targets for the decoders. The invariants, for every input:
//   - decoding never panics and never allocates much more than the input (hostile lengths and
//     counts are bounded by the bytes that remain);
//   - a successful decode re-encodes to bytes that decode again, completely, to the same
//     record and re-encode to the same bytes (the encoding is a fixed point);
//   - when the decoder reports the input canonical (Decoder.Canonical), re-encoding gives back
//     exactly the bytes the decoder consumed, i.e. a prefix of the input.
//
// Seed corpora in testdata/fuzz/<FuzzName>/ are made from the captured ZooKeeper 3.8.0 frames
// and txns in testdata/vectors; regenerate them with
//
//	go test -run TestWriteFuzzSeeds ./jute/ -args -write-seeds

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"reflect"
	"testing"

	"github.com/zkgo/zkgo/internal/fuzzseed"
)

// fuzzRecord is a record type the fuzzers can pick.
type fuzzRecord struct {
	name  string
	fresh func() Record
}

// multiRequest is a MultiRequest body (MultiHeader + op record ..., terminated by a done
// header), decoded with the package's records as the server does.
type multiRequest struct {
	read bool
	ops  []multiReqOp
}

type multiReqOp struct {
	hdr MultiHeader
	rec Record
}

func (m *multiRequest) Encode(e *Encoder) {
	for _, op := range m.ops {
		op.hdr.Encode(e)
		if op.rec != nil {
			op.rec.Encode(e)
		}
	}
}

func (m *multiRequest) Decode(d *Decoder) {
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil {
			return
		}
		if h.Done {
			m.ops = append(m.ops, multiReqOp{hdr: h})
			return
		}
		var rec Record
		switch h.Type {
		case OpCreate, OpCreate2, OpCreateContainer:
			rec = &CreateRequest{}
		case OpCreateTTL:
			rec = &CreateRequest{HasTTL: true}
		case OpDelete, OpCheck:
			rec = &PathVersionRequest{}
		case OpSetData:
			rec = &SetDataRequest{}
		case OpGetData, OpGetChildren:
			rec = &PathWatchRequest{}
		default:
			d.fail(fmt.Errorf("multi: op type %d", h.Type))
			return
		}
		if (h.Type == OpGetData || h.Type == OpGetChildren) != m.read {
			d.fail(fmt.Errorf("multi: op type %d in the wrong kind of multi", h.Type))
			return
		}
		rec.Decode(d)
		m.ops = append(m.ops, multiReqOp{hdr: h, rec: rec})
	}
}

// whoAmIResponse is vector<ClientInfo>.
type whoAmIResponse struct{ infos []ClientInfo }

func (w *whoAmIResponse) Encode(e *Encoder) {
	e.Int(int32(len(w.infos)))
	for i := range w.infos {
		w.infos[i].Encode(e)
	}
}

func (w *whoAmIResponse) Decode(d *Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		return
	}
	w.infos = make([]ClientInfo, n)
	for i := range w.infos {
		w.infos[i].Decode(d)
	}
}

// aclsRecord is vector<ACL>.
type aclsRecord struct{ acl []ACL }

func (a *aclsRecord) Encode(e *Encoder) { EncodeACLs(e, a.acl) }
func (a *aclsRecord) Decode(d *Decoder) { a.acl = DecodeACLs(d) }

// fuzzRecords is indexed by the first byte of a FuzzRequestRecords input (modulo its length).
// Append only: the seed corpus depends on the indexes.
var fuzzRecords = []fuzzRecord{
	{"ConnectRequest", func() Record { return &ConnectRequest{} }},
	{"ConnectResponse", func() Record { return &ConnectResponse{} }},
	{"RequestHeader", func() Record { return &RequestHeader{} }},
	{"ReplyHeader", func() Record { return &ReplyHeader{} }},
	{"AuthPacket", func() Record { return &AuthPacket{} }},
	{"CreateRequest", func() Record { return &CreateRequest{} }},
	{"CreateTTLRequest", func() Record { return &CreateRequest{HasTTL: true} }},
	{"PathRequest", func() Record { return &PathRequest{} }},
	{"PathWatchRequest", func() Record { return &PathWatchRequest{} }},
	{"PathVersionRequest", func() Record { return &PathVersionRequest{} }},
	{"SetDataRequest", func() Record { return &SetDataRequest{} }},
	{"SetACLRequest", func() Record { return &SetACLRequest{} }},
	{"PathTypeRequest", func() Record { return &PathTypeRequest{} }},
	{"ReconfigRequest", func() Record { return &ReconfigRequest{} }},
	{"SetWatches", func() Record { return &SetWatches{} }},
	{"SetWatches2", func() Record { return &SetWatches{V2: true} }},
	{"WatcherEvent", func() Record { return &WatcherEvent{} }},
	{"MultiHeader", func() Record { return &MultiHeader{} }},
	{"SASLToken", func() Record { return &SASLToken{} }},
	{"Stat", func() Record { return &Stat{} }},
	{"StatPersisted", func() Record { return &StatPersisted{} }},
	{"ACL", func() Record { return &ACL{} }},
	{"Id", func() Record { return &Id{} }},
	{"ClientInfo", func() Record { return &ClientInfo{} }},
	{"TxnHeader", func() Record { return &TxnHeader{} }},
	{"TxnDigest", func() Record { return &TxnDigest{} }},
	{"MultiRequest", func() Record { return &multiRequest{} }},
	{"MultiReadRequest", func() Record { return &multiRequest{read: true} }},
	{"WhoAmIResponse", func() Record { return &whoAmIResponse{} }},
	{"ACLs", func() Record { return &aclsRecord{} }},
}

// fuzzRecordIndex returns the index of the named record in fuzzRecords.
func fuzzRecordIndex(name string) byte {
	for i, r := range fuzzRecords {
		if r.name == name {
			return byte(i)
		}
	}
	panic("no fuzz record " + name)
}

// requestRecordName maps a request op to the fuzzRecords entry for its body.
func requestRecordName(op int32) string {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return "CreateRequest"
	case OpCreateTTL:
		return "CreateTTLRequest"
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return "PathWatchRequest"
	case OpDelete, OpCheck:
		return "PathVersionRequest"
	case OpSetData:
		return "SetDataRequest"
	case OpSetACL:
		return "SetACLRequest"
	case OpGetACL, OpSync, OpGetEphemerals, OpGetAllChildrenNumber, OpDeleteContainer:
		return "PathRequest"
	case OpCheckWatches, OpRemoveWatches, OpAddWatch:
		return "PathTypeRequest"
	case OpAuth:
		return "AuthPacket"
	case OpSetWatches:
		return "SetWatches"
	case OpSetWatches2:
		return "SetWatches2"
	case OpReconfig:
		return "ReconfigRequest"
	case OpSasl:
		return "SASLToken"
	case OpMulti:
		return "MultiRequest"
	case OpMultiRead:
		return "MultiReadRequest"
	}
	return ""
}

// checkRoundTrip checks the invariants above for a record rec decoded by d from in.
func checkRoundTrip(t *testing.T, in []byte, d *Decoder, rec Record, fresh func() Record) {
	t.Helper()
	enc := Marshal(rec)
	if d.Canonical() && !bytes.Equal(enc, in[:d.Off]) {
		t.Fatalf("%T: canonical input does not re-encode to itself\n  in: %x\n enc: %x", rec, in[:d.Off], enc)
	}
	rec2 := fresh()
	d2 := NewDecoder(enc)
	rec2.Decode(d2)
	if d2.Err() != nil {
		t.Fatalf("%T: re-encoding %x does not decode: %v", rec, enc, d2.Err())
	}
	if d2.Remaining() != 0 {
		t.Fatalf("%T: %d bytes of the re-encoding %x left over", rec, d2.Remaining(), enc)
	}
	if !d2.Canonical() {
		t.Fatalf("%T: the Encoder wrote non-canonical bytes %x", rec, enc)
	}
	if enc2 := Marshal(rec2); !bytes.Equal(enc, enc2) {
		t.Fatalf("%T: encoding is not a fixed point\n enc: %x\nenc2: %x", rec, enc, enc2)
	}
	if d.Canonical() && !reflect.DeepEqual(rec, rec2) {
		t.Fatalf("%T: record changed over a round trip\n  %#v\n  %#v", rec, rec, rec2)
	}
}

// ---------------------------------------------------------------------------------------
// Seeds from the vectors

type fuzzSeeds struct {
	connect  [][]byte
	records  [][]byte
	txns     []txnSeed
	multiTxn [][]byte
}

type txnSeed struct {
	typ  int32
	body []byte
}

func loadFuzzSeeds(t testing.TB) *fuzzSeeds {
	s := &fuzzSeeds{}
	seen := map[string]bool{}
	rec := func(name string, b []byte) {
		seed := append([]byte{fuzzRecordIndex(name)}, b...)
		if !seen[string(seed)] {
			seen[string(seed)] = true
			s.records = append(s.records, seed)
		}
	}
	seenConn := map[string]bool{}
	for _, f := range loadClientFrames(t) {
		key := f.file + "/" + f.conn + "/" + f.dir
		first := !seenConn[key]
		seenConn[key] = true
		switch {
		case first && f.dir == "c2s":
			s.connect = append(s.connect, f.payload)
			rec("ConnectRequest", f.payload)
		case first:
			rec("ConnectResponse", f.payload)
		case f.dir == "c2s":
			op := int32(binary.BigEndian.Uint32(f.payload[4:8]))
			if !seen[fmt.Sprint("reqhdr", op)] {
				seen[fmt.Sprint("reqhdr", op)] = true
				rec("RequestHeader", f.payload[:8])
			}
			// One seed per record type and body length keeps the corpus small.
			name := requestRecordName(op)
			if k := fmt.Sprint(name, len(f.payload)); name != "" && !seen[k] {
				seen[k] = true
				rec(name, f.payload[8:])
			}
		default:
			xid := int32(binary.BigEndian.Uint32(f.payload[0:4]))
			errCode := int32(binary.BigEndian.Uint32(f.payload[12:16]))
			if k := fmt.Sprint("replyhdr", xid < 0, errCode); !seen[k] {
				seen[k] = true
				rec("ReplyHeader", f.payload[:16])
			}
			body := f.payload[16:]
			switch {
			case xid == XidNotification:
				rec("WatcherEvent", body)
			case len(body) == 68 && !seen["stat"]:
				seen["stat"] = true
				rec("Stat", body)
			}
			if f.want["replyTo"] == "whoAmI" {
				rec("WhoAmIResponse", body)
			}
			if f.want["replyTo"] == "getACL" {
				rec("ACLs", body)
			}
		}
	}
	for _, tx := range loadLogTxns(t) {
		var hdr TxnHeader
		d := NewDecoder(tx.raw)
		hdr.Decode(d)
		body := tx.raw[d.Off:]
		if !seen[fmt.Sprint("hdr", hdr.Type)] {
			seen[fmt.Sprint("hdr", hdr.Type)] = true
			rec("TxnHeader", tx.raw[:d.Off])
		}
		if k := fmt.Sprint("txn", hdr.Type, len(body)); !seen[k] {
			seen[k] = true
			s.txns = append(s.txns, txnSeed{hdr.Type, body})
		}
		if hdr.Type == OpMulti {
			s.multiTxn = append(s.multiTxn, body)
		}
		if n := len(body); n >= 12 && !seen["digest"] {
			seen["digest"] = true
			rec("TxnDigest", body[n-12:])
		}
	}
	// Hand-made edge cases: null/empty fields, the 3.5 close-session txn without a body, a
	// nested multi (invalid), hostile counts and lengths.
	s.connect = append(s.connect,
		[]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x75, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		[]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x75, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	rec("SetWatches", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})
	rec("ACLs", []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	s.txns = append(s.txns, txnSeed{OpCloseSession, nil}, txnSeed{OpMulti, nestedMulti(3)})
	s.multiTxn = append(s.multiTxn, nestedMulti(3), []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	return s
}

// nestedMulti returns a MultiTxn nested depth levels deep: each level is a vector of one
// sub-txn of type multi whose buffer is the next level. DataTree refuses a multi inside a
// multi, and so does the decoder.
func nestedMulti(depth int) []byte {
	e := NewEncoder(12*depth + 4)
	for level := depth; level > 0; level-- {
		e.Int(1)                       // one sub-txn
		e.Int(OpMulti)                 // of type multi
		e.Int(int32(4 + 12*(level-1))) // whose buffer holds the next level
	}
	e.Int(0) // innermost: an empty MultiTxn
	return e.B
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/* from the vectors")

// TestWriteFuzzSeeds writes the seed corpora in Go's corpus file format when run with
// -write-seeds; otherwise it checks that every seed file is one the vectors produce.
func TestWriteFuzzSeeds(t *testing.T) {
	s := loadFuzzSeeds(t)
	corpus := map[string][]string{}
	for _, b := range s.connect {
		corpus["FuzzConnectRequest"] = append(corpus["FuzzConnectRequest"], fuzzseed.File(b))
	}
	for _, b := range s.records {
		corpus["FuzzRequestRecords"] = append(corpus["FuzzRequestRecords"], fuzzseed.File(b))
	}
	for _, tx := range s.txns {
		corpus["FuzzDecodeTxn"] = append(corpus["FuzzDecodeTxn"], fuzzseed.File(tx.typ, tx.body))
	}
	for _, b := range s.multiTxn {
		corpus["FuzzMultiTxn"] = append(corpus["FuzzMultiTxn"], fuzzseed.File(b))
	}
	fuzzseed.Sync(t, corpus, *writeSeeds, "go test -run TestWriteFuzzSeeds ./jute/ -args -write-seeds")
}

// ---------------------------------------------------------------------------------------
// Fuzz targets

func FuzzConnectRequest(f *testing.F) {
	for _, b := range loadFuzzSeeds(f).connect {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r ConnectRequest
		d := NewDecoder(data)
		r.Decode(d)
		if d.Err() != nil {
			return
		}
		// 28 fixed bytes (int, long, int, long, buffer length) + passwd, then the optional
		// readOnly byte: present exactly when the frame has more bytes.
		fixed := 28 + len(r.Passwd)
		if r.HasReadOnly != (len(data) > fixed) || d.Off != fixed+map[bool]int{false: 0, true: 1}[r.HasReadOnly] {
			t.Fatalf("HasReadOnly %v after %d of %d bytes with a %d-byte passwd", r.HasReadOnly, d.Off, len(data), len(r.Passwd))
		}
		checkRoundTrip(t, data, d, &r, func() Record { return &ConnectRequest{} })
	})
}

func FuzzRequestRecords(f *testing.F) {
	for _, b := range loadFuzzSeeds(f).records {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		fr := fuzzRecords[int(data[0])%len(fuzzRecords)]
		in := data[1:]
		rec := fr.fresh()
		d := NewDecoder(in)
		rec.Decode(d)
		if d.Err() != nil {
			return
		}
		checkRoundTrip(t, in, d, rec, fr.fresh)
	})
}

func FuzzDecodeTxn(f *testing.F) {
	for _, tx := range loadFuzzSeeds(f).txns {
		f.Add(tx.typ, tx.body)
	}
	// closeSession without a body (closeSessionTxn.enabled=false), a TxnDigest after it.
	f.Add(OpCloseSession, Marshal(&TxnDigest{Version: 2, TreeDigest: 1 << 40}))
	f.Fuzz(func(t *testing.T, typ int32, body []byte) {
		rec, err := DecodeTxn(typ, body)
		if err != nil {
			return
		}
		if reflect.TypeOf(rec) != reflect.TypeOf(mustNewTxn(t, typ)) {
			t.Fatalf("DecodeTxn(%d) returned %T", typ, rec)
		}
		// DecodeTxn ignores trailing bytes (the TxnDigest); redo it with a visible decoder.
		d := NewDecoder(body)
		rec2 := mustNewTxn(t, typ)
		rec2.Decode(d)
		if d.Err() != nil {
			t.Fatalf("DecodeTxn succeeded but a direct decode fails: %v", d.Err())
		}
		if !reflect.DeepEqual(rec, rec2) {
			t.Fatalf("DecodeTxn and a direct decode differ: %#v %#v", rec, rec2)
		}
		checkRoundTrip(t, body, d, rec2, func() Record { return mustNewTxn(t, typ) })
	})
}

func FuzzMultiTxn(f *testing.F) {
	for _, b := range loadFuzzSeeds(f).multiTxn {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m MultiTxn
		d := NewDecoder(body)
		m.Decode(d)
		if d.Err() != nil {
			return
		}
		for i, st := range m.Txns {
			if !validSubTxn(st.Type) {
				t.Fatalf("sub-txn %d has type %d", i, st.Type)
			}
			if reflect.TypeOf(st.Txn) != reflect.TypeOf(mustNewTxn(t, st.Type)) {
				t.Fatalf("sub-txn %d of type %d decoded as %T", i, st.Type, st.Txn)
			}
		}
		checkRoundTrip(t, body, d, &m, func() Record { return &MultiTxn{} })
	})
}

func mustNewTxn(t *testing.T, typ int32) Record {
	t.Helper()
	rec, err := NewTxn(typ)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
