package wire

// Hostile and old-form inputs: lengths and counts that lie must give errors, never panics
// or allocations sized by the lie; the older message forms Apache ZooKeeper still accepts
// must decode.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
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

func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// noBigAlloc fails if fn allocates more than 1 MiB.
func noBigAlloc(t *testing.T, what string, fn func()) {
	t.Helper()
	if n := allocBytes(fn); n > 1<<20 {
		t.Errorf("%s allocated %d bytes", what, n)
	}
}

func TestHostileFrames(t *testing.T) {
	for _, n := range []int32{0, -1, -2147483648, PacketMaxSize + 1, 0x7fffffff} {
		noBigAlloc(t, "ReadFrame", func() {
			if _, err := ReadFrame(bytes.NewReader(be32(n))); !errors.Is(err, ErrBadFrame) {
				t.Errorf("frame length %d: %v", n, err)
			}
		})
	}
	// A frame cut short is an unexpected EOF; no frame at all is io.EOF.
	if _, err := ReadFrame(bytes.NewReader(cat(be32(10), []byte{1, 2}))); err != io.ErrUnexpectedEOF {
		t.Errorf("short frame: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
	if err := WriteFrame(io.Discard, nil); err == nil {
		t.Error("empty frame written")
	}
	if err := WriteFrame(io.Discard, make([]byte, PacketMaxSize+1)); err == nil {
		t.Error("oversized frame written")
	}
}

func TestHostileHandshake(t *testing.T) {
	for _, n := range []int32{0, -1, MaxHandshakeAddr + 1, 0x7fffffff} {
		noBigAlloc(t, "ReadHandshake", func() {
			_, _, err := DecodeHandshake(cat(be64(ProtocolV1), be64(2), be32(n), []byte("127.0.0.1:1")))
			if !errors.Is(err, ErrBadHandshake) {
				t.Errorf("address length %d: %v", n, err)
			}
		})
	}
	if _, _, err := DecodeHandshake(be64(-3)); !errors.Is(err, ErrBadProtocol) {
		t.Errorf("protocol -3: %v", err)
	}
	if _, _, err := DecodeHandshake(cat(be64(ProtocolV1), be64(2), be32(15), []byte("127.0"))); err != io.ErrUnexpectedEOF {
		t.Errorf("cut address: %v", err)
	}
	// Pre-3.5: the sid alone.
	h, n, err := DecodeHandshake(cat(be64(7), []byte("next")))
	if err != nil || n != 8 || h != (Handshake{Version: ProtocolLegacy, SID: 7}) {
		t.Errorf("legacy handshake: %+v %d %v", h, n, err)
	}
	if got := AppendHandshake(nil, &h); !bytes.Equal(got, be64(7)) {
		t.Errorf("legacy re-encoded %x", got)
	}
	// V2: several addresses; wildcards dropped; bad ones refused.
	h = Handshake{Version: ProtocolV2, SID: 3, Addr: "10.0.0.1:2888|0.0.0.0:3888|[::1]:3888"}
	if a, err := h.Addrs(); err != nil || !reflect.DeepEqual(a, []string{"10.0.0.1:2888", "[::1]:3888"}) {
		t.Errorf("V2 addrs %v %v", a, err)
	}
	for _, bad := range []string{"nohost", "h:port", "h:1:2", "h:99999"} {
		h := Handshake{Version: ProtocolV1, SID: 3, Addr: bad}
		if _, err := h.Addrs(); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

func TestNotificationForms(t *testing.T) {
	zxid := zab.MakeZxid(5, 9)
	head := cat(be32(int32(zab.Following)), be64(3), be64(int64(zxid)), be64(0x11))
	// 28 bytes: peerEpoch from the zxid.
	n, v, err := DecodeNotification(head)
	if err != nil || v != 0 || n.PeerEpoch != 5 || n.Leader != 3 || n.Zxid != zxid || n.ElectionEpoch != 0x11 || n.State != zab.Following {
		t.Errorf("28-byte form: %+v v%d %v", n, v, err)
	}
	// 40 bytes: peerEpoch, and an int Java does not read.
	n, v, err = DecodeNotification(cat(head, be64(4), be32(1)))
	if err != nil || v != 0 || n.PeerEpoch != 4 || n.Config != nil {
		t.Errorf("40-byte form: %+v v%d %v", n, v, err)
	}
	// 44+N with version 1: no config read, the rest ignored.
	n, v, err = DecodeNotification(cat(head, be64(4), be32(1), be32(99), []byte("x")))
	if err != nil || v != 1 || n.Config != nil {
		t.Errorf("version 1: %+v v%d %v", n, v, err)
	}
	// Observer vote: Long.MIN_VALUE leader is kept as its bit pattern.
	obs := zab.Notification{State: zab.Observing, Leader: 1 << 63, Zxid: -1, ElectionEpoch: -1, PeerEpoch: -1 << 63, Config: []byte("version=0")}
	if back, v, err := DecodeNotification(EncodeNotification(&obs)); err != nil || v != 2 || !reflect.DeepEqual(back, obs) {
		t.Errorf("observer vote: %+v %v", back, err)
	}
	for _, b := range [][]byte{
		head[:27],
		cat(head, []byte{1}),                                // 29: WorkerReceiver underflows on peerEpoch
		cat(head, be64(4)),                                  // 36: underflow on version
		cat(head, be64(4), be32(2)),                         // 40 is the old form, but 41..43 with v2:
		cat(head, be64(4), be32(2), []byte{0}),              // no config length
		cat(head, be64(4), be32(2), be32(-1)),               // negative config length
		cat(head, be64(4), be32(2), be32(5), []byte("abc")), // config cut short
		cat(head, be64(4), be32(2), be32(0x7fffffff)),
	} {
		if len(b) == 40 {
			continue
		}
		noBigAlloc(t, "DecodeNotification", func() {
			if _, _, err := DecodeNotification(b); err == nil {
				t.Errorf("%d-byte notification %x accepted", len(b), b)
			}
		})
	}
}

func TestHostileQuorumPacket(t *testing.T) {
	hdr := cat(be32(int32(zab.Request)), be64(-1))
	for name, b := range map[string][]byte{
		"data 2^31-1":     cat(hdr, be32(0x7fffffff)),
		"data -2":         cat(hdr, be32(-2)),
		"data over limit": cat(hdr, be32(DefaultMaxData+1), make([]byte, 16)),
		"authinfo 2^31-1": cat(hdr, be32(-1), be32(0x7fffffff)),
		"authinfo -5":     cat(hdr, be32(-1), be32(-5)),
		"scheme 2^31-1":   cat(hdr, be32(-1), be32(1), be32(0x7fffffff)),
		"authinfo cut":    cat(hdr, be32(-1), be32(3), be32(2), []byte("ip")),
	} {
		noBigAlloc(t, name, func() {
			if _, _, err := DecodeQuorumPacket(b, 0); err == nil {
				t.Errorf("%s: decoded", name)
			}
		})
	}
	// A caller limit below the default applies.
	if _, _, err := DecodeQuorumPacket(cat(hdr, be32(100), make([]byte, 100), be32(-1)), 99); !errors.Is(err, ErrBadPacket) {
		t.Errorf("limit 99: %v", err)
	}
	// Clean end between packets is io.EOF; a cut packet io.ErrUnexpectedEOF.
	r := NewReader(bytes.NewReader(nil), 0)
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
	r = NewReader(bytes.NewReader(cat(hdr, be32(4), []byte{1})), 0)
	if _, err := r.Read(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut packet: %v", err)
	}
}

func TestQuorumPacketNullVsEmpty(t *testing.T) {
	for _, q := range []QuorumPacket{
		{Type: zab.Ping, Zxid: 1, Data: nil, AuthInfo: nil},
		{Type: zab.Ping, Zxid: 1, Data: []byte{}, AuthInfo: []jute.Id{}},
		{Type: zab.Request, Zxid: -1, Data: []byte{1, 2}, AuthInfo: []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: ""}}},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Write(&q); err != nil || w.Flush() != nil {
			t.Fatal(err)
		}
		r := NewReader(&buf, 0)
		got, err := r.Read()
		if err != nil || !reflect.DeepEqual(got, q) {
			t.Errorf("%v: read back %#v %v", &q, got, err)
		}
	}
	// Through zab.Packet, authinfo is dropped as null.
	zp := zab.Packet{Type: zab.Ack, Zxid: 5}
	if q := FromZab(&zp); q.AuthInfo != nil || q.Data != nil || !reflect.DeepEqual(q.Zab(), zp) {
		t.Errorf("FromZab: %+v", q)
	}
}

func TestBodies(t *testing.T) {
	// LearnerInfo: the 8- and 12-byte forms.
	if li, err := DecodeLearnerInfo(be64(4)); err != nil || li != (LearnerInfo{ServerID: 4, ProtocolVersion: LegacyProtocolVersion}) {
		t.Errorf("8-byte LearnerInfo: %+v %v", li, err)
	}
	if li, err := DecodeLearnerInfo(cat(be64(4), be32(0x10000))); err != nil || li != (LearnerInfo{ServerID: 4, ProtocolVersion: 0x10000}) {
		t.Errorf("12-byte LearnerInfo: %+v %v", li, err)
	}
	if _, err := DecodeLearnerInfo(make([]byte, 7)); err == nil {
		t.Error("7-byte LearnerInfo decoded")
	}
	if _, err := DecodeLearnerInfo(nil); err == nil {
		t.Error("null LearnerInfo decoded")
	}
	// Touch table: empty is an empty buffer; null decodes to nil; a partial entry fails.
	if b := EncodeTouches(nil); b == nil || len(b) != 0 {
		t.Errorf("empty touches %v", b)
	}
	tt := []SessionTouch{{1, 2}, {-1, 30000}}
	if got, err := DecodeTouches(EncodeTouches(tt)); err != nil || !reflect.DeepEqual(got, tt) {
		t.Errorf("touches %v %v", got, err)
	}
	if got, err := DecodeTouches(nil); got != nil || err != nil {
		t.Errorf("null touches %v %v", got, err)
	}
	if _, err := DecodeTouches(make([]byte, 13)); err == nil {
		t.Error("13-byte touch table decoded")
	}
	// Activate bodies.
	if sid, txn, err := DecodeActivate(EncodeActivate(3, nil)); err != nil || sid != 3 || txn != nil {
		t.Errorf("COMMITANDACTIVATE: %d %x %v", sid, txn, err)
	}
	if sid, txn, err := DecodeActivate(EncodeActivate(3, []byte("txn"))); err != nil || sid != 3 || string(txn) != "txn" {
		t.Errorf("INFORMANDACTIVATE: %d %x %v", sid, txn, err)
	}
	if _, _, err := DecodeActivate(make([]byte, 7)); err == nil {
		t.Error("7-byte activate decoded")
	}
	// Revalidate reply: any non-zero byte is true, encoded back as 1.
	if r, err := DecodeRevalidateReply(cat(be64(9), []byte{7})); err != nil || !r.Valid || r.Encode()[8] != 1 {
		t.Errorf("revalidate reply %+v %v", r, err)
	}
	for _, short := range []func() error{
		func() error { _, err := DecodeInt([]byte{1, 2, 3}); return err },
		func() error { _, err := DecodeForwardedRequest(make([]byte, 15)); return err },
		func() error { _, err := DecodeRevalidateRequest(make([]byte, 11)); return err },
		func() error { _, err := DecodeRevalidateReply(make([]byte, 8)); return err },
	} {
		if err := short(); !errors.Is(err, ErrShortBody) {
			t.Errorf("short body: %v", err)
		}
	}
}

func TestHostileSnap(t *testing.T) {
	acl := cat(be64(1), be32(1), be32(31), be32(5), []byte("world"), be32(6), []byte("anyone"))
	root := cat(be32(0), be32(0), be64(-1), make([]byte, statSizeForTest))
	sig := cat(be32(10), []byte(SnapSignature))
	good := cat(be32(0), be32(1), acl, root, be32(1), []byte("/"), sig)
	if _, err := ReadSnap(bufio.NewReader(bytes.NewReader(good)), 0, datatree.OwnersExtended, 0, nil); err != nil {
		t.Fatalf("minimal snapshot: %v", err)
	}
	for name, b := range map[string][]byte{
		"session count 2^31-1": cat(be32(0x7fffffff), be64(1), be32(1)),
		"acl count 2^31-1":     cat(be32(0), be32(0x7fffffff)),
		"acl list 2^31-1":      cat(be32(0), be32(1), be64(1), be32(0x7fffffff)),
		"path 2^31-1":          cat(be32(0), be32(0), be32(0x7fffffff)),
		"path -2":              cat(be32(0), be32(0), be32(-2)),
		"data 2^31-1":          cat(be32(0), be32(0), be32(0), be32(0x7fffffff)),
		"no signature":         good[:len(good)-len(sig)],
		"bad signature":        cat(good[:len(good)-1], []byte("x")),
		"signature length":     cat(good[:len(good)-len(sig)], be32(0x7fffffff)),
		"orphan node":          cat(be32(0), be32(0), root, be32(2), []byte("/a"), be32(0), be64(-1), make([]byte, statSizeForTest), be32(4), []byte("/b/c"), be32(0), be64(-1), make([]byte, statSizeForTest), be32(1), []byte("/"), sig),
	} {
		noBigAlloc(t, name, func() {
			if _, err := ReadSnap(bufio.NewReader(bytes.NewReader(b)), 0, datatree.OwnersExtended, 1<<16, nil); err == nil {
				t.Errorf("%s: loaded", name)
			}
		})
	}
}

// statSizeForTest is the size of a StatPersisted.
const statSizeForTest = 60
