package wire

// Fuzz targets for every decoder. For every input:
//   - decoding never panics, and hostile lengths and counts cost no more memory than the
//     input (or the stated limit);
//   - a successful decode re-encodes to bytes that decode to the same message (the encoding
//     is a fixed point), and where the form decoded is the one the encoder writes, to the
//     very bytes consumed.
//
// Seed corpora in testdata/fuzz/<FuzzName>/ are made from the captured ensemble in
// testdata/ensemble.jsonl; regenerate them with
//
//	go test -run TestWriteFuzzSeeds ./quorum/wire/ -args -write-seeds

import (
	"bufio"
	"bytes"
	"flag"
	"reflect"
	"testing"

	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"

	"github.com/zkgo/zkgo/internal/fuzzseed"
)

// fuzzMax bounds data lengths in the fuzzers, so that a hostile length is rejected rather
// than honoured up to the default limit.
const fuzzMax = 1 << 16

type fuzzSeeds struct {
	handshakes, frames, notifications, packets, learnerInfos, snaps [][]byte
	bodies                                                          []typedBody
}

type typedBody struct {
	typ  int32
	data []byte
}

// loadFuzzSeeds picks distinct messages from the vectors: every distinct handshake and
// notification, and up to three packets and bodies of each packet type.
func loadFuzzSeeds(t testing.TB) *fuzzSeeds {
	s := &fuzzSeeds{}
	seen := map[string]bool{}
	perType := map[string]int{}
	add := func(dst *[][]byte, kind string, b []byte, limit int) {
		key := kind + string(b)
		if seen[key] || (limit > 0 && perType[kind] >= limit) {
			return
		}
		seen[key] = true
		perType[kind]++
		*dst = append(*dst, b)
	}
	for _, r := range loadVectors(t) {
		raw := r.bytes(t)
		var kind struct {
			Kind string `json:"kind"`
		}
		_ = jsonUnmarshal(r.Decoded, &kind)
		switch {
		case kind.Kind == "handshake":
			add(&s.handshakes, "h", raw, 0)
		case kind.Kind == "notification":
			add(&s.frames, "f", raw, 3)
			add(&s.notifications, "n", raw[4:], 0)
		case kind.Kind == "SNAP payload":
			add(&s.snaps, "s", raw, 0)
		default:
			q, _, err := DecodeQuorumPacket(raw, 0)
			if err != nil {
				t.Fatal(err)
			}
			add(&s.packets, "p"+q.Type.String(), raw, 3)
			if q.Type == zab.FollowerInfo || q.Type == zab.ObserverInfo {
				add(&s.learnerInfos, "l", q.Data, 0)
			}
			var one [][]byte
			add(&one, "b"+q.Type.String(), q.Data, 3)
			if len(one) == 1 {
				s.bodies = append(s.bodies, typedBody{int32(q.Type), q.Data})
			}
		}
	}
	return s
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/* from the vectors")

// TestWriteFuzzSeeds writes the seed corpora in Go's corpus file format when run with
// -write-seeds; otherwise it checks that every seed file is one the vectors produce.
func TestWriteFuzzSeeds(t *testing.T) {
	s := loadFuzzSeeds(t)
	corpus := map[string][]string{}
	one := func(name string, list [][]byte) {
		for _, b := range list {
			corpus[name] = append(corpus[name], fuzzseed.File(b))
		}
	}
	one("FuzzHandshake", s.handshakes)
	one("FuzzElectionFrame", s.frames)
	one("FuzzNotification", s.notifications)
	one("FuzzQuorumPacket", s.packets)
	one("FuzzLearnerInfo", s.learnerInfos)
	one("FuzzSnap", s.snaps)
	for _, b := range s.bodies {
		corpus["FuzzPacketBody"] = append(corpus["FuzzPacketBody"], fuzzseed.File(b.typ, b.data))
	}
	fuzzseed.Sync(t, corpus, *writeSeeds, "go test -run TestWriteFuzzSeeds ./quorum/wire/ -args -write-seeds")
}

func FuzzHandshake(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 5}) // pre-3.5: the sid alone
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := DecodeHandshake(b)
		if err != nil {
			return
		}
		// Every handshake form has one encoding.
		if enc := AppendHandshake(nil, &h); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoded %x, read %x", enc, b[:n])
		}
		if h.Version != ProtocolLegacy && (len(h.Addr) < 1 || len(h.Addr) > MaxHandshakeAddr) {
			t.Fatalf("address of %d bytes accepted", len(h.Addr))
		}
		_, _ = h.Addrs()
	})
}

func FuzzElectionFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		body, err := ReadFrame(r)
		if err != nil {
			return
		}
		used := len(b) - r.Len()
		if len(body) < 1 || len(body) > PacketMaxSize || !bytes.Equal(AppendFrame(nil, body), b[:used]) {
			t.Fatalf("frame of %d bytes from %d", len(body), used)
		}
	})
}

func FuzzNotification(f *testing.F) {
	f.Add(make([]byte, 28)) // pre-ZOOKEEPER-107: no peerEpoch
	f.Add(make([]byte, 40)) // 3.4: no config
	f.Fuzz(func(t *testing.T, b []byte) {
		n, version, err := DecodeNotification(b)
		if err != nil {
			if len(b) >= 28 && (len(b) == 28 || len(b) == 40) {
				t.Fatalf("%d-byte notification rejected: %v", len(b), err)
			}
			return
		}
		enc := EncodeNotification(&n)
		n2, v2, err := DecodeNotification(enc)
		if err != nil || v2 != NotificationVersion || !reflect.DeepEqual(norm(n), norm(n2)) {
			t.Fatalf("round trip: %+v -> %+v (%v)", n, n2, err)
		}
		if version == NotificationVersion && len(b) == 44+len(n.Config) && !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded %x, read %x", enc, b)
		}
	})
}

// norm makes a nil and an empty config compare equal (both encode as length 0).
func norm(n zab.Notification) zab.Notification {
	if len(n.Config) == 0 {
		n.Config = nil
	}
	return n
}

func FuzzQuorumPacket(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r0 := NewReader(&countReader{b: b}, fuzzMax)
		q, err := r0.Read()
		if err != nil {
			return
		}
		n := int(r0.n)
		if len(q.Data) > fuzzMax {
			t.Fatalf("data of %d bytes over the limit", len(q.Data))
		}
		enc := AppendQuorumPacket(nil, &q)
		q2, n2, err := DecodeQuorumPacket(enc, fuzzMax)
		if err != nil || n2 != len(enc) || !reflect.DeepEqual(q, q2) {
			t.Fatalf("round trip: %v -> %v (%v)", &q, &q2, err)
		}
		// Only a null authinfo string (read as "") has a second encoding.
		if !r0.lax && !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoded %x, read %x", enc, b[:n])
		}
		// The stream reader reads the packets back to back.
		r := NewReader(bytes.NewReader(append(append([]byte{}, b[:n]...), b[:n]...)), fuzzMax)
		for i := 0; i < 2; i++ {
			if p, err := r.Read(); err != nil || !reflect.DeepEqual(p, q) {
				t.Fatalf("stream packet %d: %v %v", i, &p, err)
			}
		}
		if _, err := r.Read(); err == nil {
			t.Fatal("packet read past the end")
		}
	})
}

func FuzzLearnerInfo(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		li, err := DecodeLearnerInfo(b)
		if err != nil {
			if len(b) >= 8 {
				t.Fatalf("%d bytes rejected: %v", len(b), err)
			}
			return
		}
		enc := li.Encode()
		if li2, err := DecodeLearnerInfo(enc); err != nil || li2 != li {
			t.Fatalf("round trip %+v -> %+v", li, li2)
		}
		if len(b) == 20 && !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded %x, read %x", enc, b)
		}
	})
}

// FuzzPacketBody decodes data as the body its packet type carries.
func FuzzPacketBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, typ int32, b []byte) {
		switch zab.PacketType(typ) {
		case zab.LeaderInfo, zab.AckEpoch:
			if v, err := DecodeInt(b); err == nil && !bytes.Equal(EncodeInt(v), b[:4]) {
				t.Fatal("int body")
			}
		case zab.Request:
			if r, err := DecodeForwardedRequest(b); err == nil && !bytes.Equal(r.Encode(), b) {
				t.Fatal("request body")
			}
		case zab.Revalidate:
			if r, err := DecodeRevalidateRequest(b); err == nil && !bytes.Equal(r.Encode(), b[:12]) {
				t.Fatal("revalidate request")
			}
			if r, err := DecodeRevalidateReply(b); err == nil {
				if r2, _ := DecodeRevalidateReply(r.Encode()); r2 != r {
					t.Fatal("revalidate reply")
				}
			}
		case zab.Ping:
			tt, err := DecodeTouches(b)
			if err == nil && b != nil && !bytes.Equal(EncodeTouches(tt), b) {
				t.Fatal("touch table")
			}
		case zab.CommitAndActivate, zab.InformAndActivate:
			if sid, txn, err := DecodeActivate(b); err == nil && !bytes.Equal(EncodeActivate(sid, txn), b) {
				t.Fatal("activate body")
			}
		default:
			_, _ = DecodeLearnerInfo(b)
		}
	})
}

// FuzzSnap reads arbitrary bytes as the snapshot after SNAP: it loads or fails cleanly,
// and what loads writes back to bytes that load to the same nodes.
func FuzzSnap(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		view := &datatree.SnapshotView{}
		s, err := ReadSnap(bufio.NewReader(bytes.NewReader(b)), 1, datatree.OwnersExtended, fuzzMax, view)
		if err != nil {
			return
		}
		if s.Tree.Get("/") == nil {
			t.Fatal("loaded snapshot has no root")
		}
		var buf bytes.Buffer
		if err := WriteSnap(&buf, view, s.Sessions); err != nil {
			t.Fatal(err)
		}
		view2 := &datatree.SnapshotView{}
		s2, err := ReadSnap(bufio.NewReader(&buf), 1, datatree.OwnersExtended, fuzzMax, view2)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(s.Sessions, s2.Sessions) || len(view.Nodes) != len(view2.Nodes) {
			t.Fatal("round trip changed the snapshot")
		}
		for i := range view.Nodes {
			a, c := view.Nodes[i], view2.Nodes[i]
			if a.Path != c.Path || !bytes.Equal(a.Data, c.Data) || a.ACLRef != c.ACLRef || a.Stat != c.Stat {
				t.Fatalf("node %d: %+v -> %+v", i, a, c)
			}
		}
	})
}
