package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// testdata/ensemble.jsonl is shared/vectors/quorum/ensemble.jsonl: every election message
// and QuorumPacket of a 3-node Apache ZooKeeper 3.8.0 ensemble, captured on loopback, with
// the fields a separate decoder (shared/vectors/tools) read from them.

type vecRecord struct {
	Stream   int             `json:"stream"`
	PortRole string          `json:"portRole"`
	Dir      string          `json:"dir"`
	Phase    string          `json:"phase"`
	Hex      string          `json:"hex"`
	Length   *int            `json:"length"`
	Decoded  json.RawMessage `json:"decoded"`
	TCP      string          `json:"tcp"`
}

func loadVectors(t testing.TB) []vecRecord {
	t.Helper()
	b, err := os.ReadFile("testdata/ensemble.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []vecRecord
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r vecRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.Hex != "" {
			out = append(out, r)
		}
	}
	return out
}

func (r *vecRecord) bytes(t testing.TB) []byte {
	b, err := hex.DecodeString(r.Hex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hexNum parses the capture's "0x…" numbers (two's complement as unsigned, e.g. -1 is
// "0xffffffffffffffff").
func hexNum(t testing.TB, s string) int64 {
	t.Helper()
	u, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return int64(u)
}

func unhex(t testing.TB, s *string) []byte {
	t.Helper()
	if s == nil {
		return nil
	}
	b, err := hex.DecodeString(*s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type vecHandshake struct {
	Kind            string `json:"kind"`
	ProtocolVersion int64  `json:"protocolVersion"`
	SID             int64  `json:"sid"`
	AddrLength      int    `json:"addrLength"`
	Addr            string `json:"addr"`
}

type vecNotification struct {
	State         int32  `json:"state"`
	StateName     string `json:"stateName"`
	Leader        int64  `json:"leader"`
	Zxid          string `json:"zxid"`
	ElectionEpoch string `json:"electionEpoch"`
	PeerEpoch     string `json:"peerEpoch"`
	Version       int32  `json:"version"`
	ConfigLength  int    `json:"configLength"`
	Config        string `json:"config"`
}

type vecID struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
}

type vecACL struct {
	Perms int32 `json:"perms"`
	ID    vecID `json:"id"`
}

type vecPacket struct {
	Kind        string  `json:"kind"`
	Type        int32   `json:"type"`
	TypeName    string  `json:"typeName"`
	Zxid        string  `json:"zxid"`
	AuthInfo    []vecID `json:"authinfo"`
	Config      *string `json:"config"`
	LearnerInfo *struct {
		ServerID        int64  `json:"serverid"`
		ProtocolVersion string `json:"protocolVersion"`
		ConfigVersion   string `json:"configVersion"`
	} `json:"learnerInfo"`
	LeaderInfo *struct {
		ProtocolVersion string `json:"protocolVersion"`
	} `json:"leaderInfo"`
	AckEpoch *struct {
		CurrentEpoch int32 `json:"currentEpoch"`
	} `json:"ackEpoch"`
	Ping *struct {
		Touches []struct {
			SessionID string `json:"sessionId"`
			Timeout   int32  `json:"timeout"`
		} `json:"touches"`
	} `json:"ping"`
	Request *struct {
		SessionID string `json:"sessionId"`
		Cxid      int32  `json:"cxid"`
		Type      int32  `json:"type"`
		Op        string `json:"op"`
		Body      *struct {
			TimeOut *int32   `json:"timeOut"`
			Path    *string  `json:"path"`
			Data    *string  `json:"data"`
			ACL     []vecACL `json:"acl"`
			Flags   *int32   `json:"flags"`
			Version *int32   `json:"version"`
		} `json:"body"`
	} `json:"request"`
	Revalidate *struct {
		SessionID string `json:"sessionId"`
		Timeout   *int32 `json:"timeout"`
		Valid     *bool  `json:"valid"`
	} `json:"revalidate"`
	Txn *struct {
		Header struct {
			ClientID string `json:"clientId"`
			Cxid     int32  `json:"cxid"`
			Zxid     string `json:"zxid"`
			Time     int64  `json:"time"`
			Type     int32  `json:"type"`
		} `json:"header"`
	} `json:"txn"`
	// SNAP payload
	Sessions []struct {
		ID      string `json:"id"`
		Timeout int32  `json:"timeout"`
	} `json:"sessions"`
	ACLCache []struct {
		ACLRef int64    `json:"aclRef"`
		ACLs   []vecACL `json:"acls"`
	} `json:"aclCache"`
	Nodes []struct {
		Path   string  `json:"path"`
		Data   *string `json:"data"`
		ACLRef int64   `json:"aclRef"`
		Stat   struct {
			Czxid          string `json:"czxid"`
			Mzxid          string `json:"mzxid"`
			Ctime          int64  `json:"ctime"`
			Mtime          int64  `json:"mtime"`
			Version        int32  `json:"version"`
			Cversion       int32  `json:"cversion"`
			Aversion       int32  `json:"aversion"`
			EphemeralOwner string `json:"ephemeralOwner"`
			Pzxid          string `json:"pzxid"`
		} `json:"stat"`
	} `json:"nodes"`
	Signature string `json:"signature"`
}

// TestVectors decodes every captured message, checks the decoded fields against the
// capture's and re-encodes it to the same bytes.
func TestVectors(t *testing.T) {
	recs := loadVectors(t)
	counts := map[string]int{}
	for i, r := range recs {
		name := fmt.Sprintf("%03d-%s-%s", i, r.PortRole, r.Phase)
		raw := r.bytes(t)
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(r.Decoded, &kind); err != nil {
			t.Fatal(err)
		}
		switch {
		case r.PortRole == "election" && kind.Kind == "handshake":
			checkHandshake(t, name, raw, r.Decoded)
		case r.PortRole == "election" && kind.Kind == "notification":
			checkNotification(t, name, raw, r)
		case r.PortRole == "quorum" && kind.Kind == "SNAP payload":
			checkSnap(t, name, raw, r.Decoded)
		case r.PortRole == "quorum" && kind.Kind == "":
			checkPacket(t, name, raw, r.Decoded)
		default:
			t.Fatalf("%s: unknown record kind %q", name, kind.Kind)
		}
		counts[r.PortRole+"/"+kind.Kind]++
	}
	t.Logf("checked %v", counts)
	if counts["election/handshake"] == 0 || counts["election/notification"] == 0 || counts["quorum/"] == 0 || counts["quorum/SNAP payload"] != 2 {
		t.Fatalf("vector file incomplete: %v", counts)
	}
}

func checkHandshake(t *testing.T, name string, raw []byte, dec json.RawMessage) {
	var want vecHandshake
	if err := json.Unmarshal(dec, &want); err != nil {
		t.Fatal(err)
	}
	h, n, err := DecodeHandshake(raw)
	if err != nil || n != len(raw) {
		t.Fatalf("%s: DecodeHandshake: %v (used %d of %d)", name, err, n, len(raw))
	}
	if h.Version != want.ProtocolVersion || h.SID != want.SID || h.Addr != want.Addr || len(h.Addr) != want.AddrLength {
		t.Errorf("%s: handshake %+v, capture %+v", name, h, want)
	}
	if addrs, err := h.Addrs(); err != nil || len(addrs) != 1 || addrs[0] != want.Addr {
		t.Errorf("%s: Addrs = %v, %v", name, addrs, err)
	}
	if got := AppendHandshake(nil, &h); !bytes.Equal(got, raw) {
		t.Errorf("%s: re-encoded handshake\n got %x\nwant %x", name, got, raw)
	}
}

func checkNotification(t *testing.T, name string, raw []byte, r vecRecord) {
	var want vecNotification
	if err := json.Unmarshal(r.Decoded, &want); err != nil {
		t.Fatal(err)
	}
	body, err := ReadFrame(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: ReadFrame: %v", name, err)
	}
	if len(body)+4 != len(raw) || r.Length == nil || *r.Length != len(body) {
		t.Fatalf("%s: frame body %d bytes of %d", name, len(body), len(raw))
	}
	n, version, err := DecodeNotification(body)
	if err != nil {
		t.Fatalf("%s: DecodeNotification: %v", name, err)
	}
	if n.State != zab.ServerState(want.State) || n.State.String() != want.StateName ||
		int64(n.Leader) != want.Leader || int64(n.Zxid) != hexNum(t, want.Zxid) ||
		n.ElectionEpoch != hexNum(t, want.ElectionEpoch) || n.PeerEpoch != hexNum(t, want.PeerEpoch) ||
		version != want.Version || len(n.Config) != want.ConfigLength || string(n.Config) != want.Config {
		t.Errorf("%s: notification %+v v%d, capture %+v", name, n, version, want)
	}
	if got := AppendFrame(nil, EncodeNotification(&n)); !bytes.Equal(got, raw) {
		t.Errorf("%s: re-encoded notification\n got %x\nwant %x", name, got, raw)
	}
}

func checkPacket(t *testing.T, name string, raw []byte, dec json.RawMessage) {
	var want vecPacket
	if err := json.Unmarshal(dec, &want); err != nil {
		t.Fatal(err)
	}
	q, n, err := DecodeQuorumPacket(raw, 0)
	if err != nil || n != len(raw) {
		t.Fatalf("%s: DecodeQuorumPacket: %v (used %d of %d)", name, err, n, len(raw))
	}
	if int32(q.Type) != want.Type || q.Type.String() != want.TypeName || int64(q.Zxid) != hexNum(t, want.Zxid) {
		t.Errorf("%s: packet %v, capture %+v", name, &q, want)
	}
	// authinfo: null in the capture is nil here, a list is a non-nil slice.
	if (want.AuthInfo == nil) != (q.AuthInfo == nil) || len(want.AuthInfo) != len(q.AuthInfo) {
		t.Errorf("%s: authinfo %v, capture %v", name, q.AuthInfo, want.AuthInfo)
	}
	for i := range want.AuthInfo {
		if i < len(q.AuthInfo) && (q.AuthInfo[i].Scheme != want.AuthInfo[i].Scheme || q.AuthInfo[i].ID != want.AuthInfo[i].ID) {
			t.Errorf("%s: authinfo[%d] %v, capture %v", name, i, q.AuthInfo[i], want.AuthInfo[i])
		}
	}
	if got := AppendQuorumPacket(nil, &q); !bytes.Equal(got, raw) {
		t.Errorf("%s: re-encoded packet\n got %x\nwant %x", name, got, raw)
	}
	// Through the zab type and back (authinfo aside).
	zp := q.Zab()
	if back := FromZab(&zp); q.AuthInfo == nil && !bytes.Equal(AppendQuorumPacket(nil, &back), raw) {
		t.Errorf("%s: zab.Packet round trip changed the bytes", name)
	}
	checkBody(t, name, &q, &want)
}

func checkBody(t *testing.T, name string, q *QuorumPacket, want *vecPacket) {
	switch q.Type {
	case zab.Ack, zab.Commit, zab.UpToDate, zab.Diff, zab.Trunc, zab.Snap, zab.Sync:
		if q.Data != nil {
			t.Errorf("%s: %s data %x, want null", name, q.Type, q.Data)
		}
	case zab.FollowerInfo, zab.ObserverInfo:
		li, err := DecodeLearnerInfo(q.Data)
		w := want.LearnerInfo
		if err != nil || w == nil || li.ServerID != w.ServerID || int64(li.ProtocolVersion) != hexNum(t, w.ProtocolVersion) || li.ConfigVersion != hexNum(t, w.ConfigVersion) {
			t.Errorf("%s: LearnerInfo %+v %v, capture %+v", name, li, err, w)
		}
		if !bytes.Equal(li.Encode(), q.Data) {
			t.Errorf("%s: LearnerInfo re-encoded differently", name)
		}
	case zab.LeaderInfo:
		v, err := DecodeInt(q.Data)
		if err != nil || want.LeaderInfo == nil || int64(v) != hexNum(t, want.LeaderInfo.ProtocolVersion) || v != zab.ProtocolVersion || !bytes.Equal(EncodeInt(v), q.Data) {
			t.Errorf("%s: LEADERINFO %d %v", name, v, err)
		}
	case zab.AckEpoch:
		v, err := DecodeInt(q.Data)
		if err != nil || want.AckEpoch == nil || v != want.AckEpoch.CurrentEpoch || !bytes.Equal(EncodeInt(v), q.Data) {
			t.Errorf("%s: ACKEPOCH %d %v", name, v, err)
		}
	case zab.NewLeader:
		if want.Config == nil || string(q.Data) != *want.Config {
			t.Errorf("%s: NEWLEADER config %q", name, q.Data)
		}
	case zab.Ping:
		if want.Ping == nil { // the leader's PING: null data
			if q.Data != nil {
				t.Errorf("%s: leader PING data %x, want null", name, q.Data)
			}
			return
		}
		touches, err := DecodeTouches(q.Data)
		if err != nil || len(touches) != len(want.Ping.Touches) {
			t.Fatalf("%s: touches %v %v, capture %v", name, touches, err, want.Ping.Touches)
		}
		for i, w := range want.Ping.Touches {
			if touches[i].SessionID != hexNum(t, w.SessionID) || touches[i].Timeout != w.Timeout {
				t.Errorf("%s: touch %d = %+v, capture %+v", name, i, touches[i], w)
			}
		}
		// An empty table is an empty (not null) buffer: disagreement 6.
		if enc := EncodeTouches(touches); enc == nil || !bytes.Equal(enc, q.Data) {
			t.Errorf("%s: touches re-encoded as %x, want %x", name, enc, q.Data)
		}
	case zab.Revalidate:
		w := want.Revalidate
		if w == nil {
			t.Fatalf("%s: capture has no revalidate body", name)
		}
		if w.Timeout != nil {
			rr, err := DecodeRevalidateRequest(q.Data)
			if err != nil || rr.SessionID != hexNum(t, w.SessionID) || rr.Timeout != *w.Timeout || !bytes.Equal(rr.Encode(), q.Data) {
				t.Errorf("%s: REVALIDATE request %+v %v", name, rr, err)
			}
		} else {
			rp, err := DecodeRevalidateReply(q.Data)
			if err != nil || w.Valid == nil || rp.SessionID != hexNum(t, w.SessionID) || rp.Valid != *w.Valid || !bytes.Equal(rp.Encode(), q.Data) {
				t.Errorf("%s: REVALIDATE reply %+v %v", name, rp, err)
			}
		}
	case zab.Request:
		w := want.Request
		fr, err := DecodeForwardedRequest(q.Data)
		if err != nil || w == nil || fr.SessionID != hexNum(t, w.SessionID) || fr.Cxid != w.Cxid || fr.Type != w.Type {
			t.Fatalf("%s: REQUEST %+v %v, capture %+v", name, fr, err, w)
		}
		if !bytes.Equal(fr.Encode(), q.Data) {
			t.Errorf("%s: REQUEST re-encoded differently", name)
		}
		// The body, rebuilt from the capture's fields in jute order.
		e := jute.NewEncoder(64)
		if b := w.Body; b != nil {
			if b.TimeOut != nil {
				e.Int(*b.TimeOut)
			}
			if b.Path != nil {
				e.String(*b.Path)
			}
			if w.Op == "create" || w.Op == "setData" {
				e.Buffer(unhex(t, b.Data))
			}
			if b.ACL != nil {
				acl := make([]jute.ACL, len(b.ACL))
				for i, a := range b.ACL {
					acl[i] = jute.ACL{Perms: a.Perms, Id: jute.Id{Scheme: a.ID.Scheme, ID: a.ID.ID}}
				}
				jute.EncodeACLs(e, acl)
			}
			if b.Flags != nil {
				e.Int(*b.Flags)
			}
			if b.Version != nil {
				e.Int(*b.Version)
			}
		}
		if !bytes.Equal(e.B, fr.Body) {
			t.Errorf("%s: REQUEST %s body %x, capture gives %x", name, w.Op, fr.Body, e.B)
		}
	case zab.Proposal, zab.Inform:
		if want.Txn == nil {
			t.Fatalf("%s: capture has no txn", name)
		}
		var h jute.TxnHeader
		d := jute.NewDecoder(q.Data)
		h.Decode(d)
		w := want.Txn.Header
		if d.Err() != nil || h.ClientID != hexNum(t, w.ClientID) || h.Cxid != w.Cxid || h.Zxid != hexNum(t, w.Zxid) || h.Time != w.Time || h.Type != w.Type || h.Zxid != int64(q.Zxid) {
			t.Errorf("%s: txn header %+v, capture %+v", name, h, w)
		}
	default:
		t.Errorf("%s: no body check for %s", name, q.Type)
	}
}

func checkSnap(t *testing.T, name string, raw []byte, dec json.RawMessage) {
	var want vecPacket
	if err := json.Unmarshal(dec, &want); err != nil {
		t.Fatal(err)
	}
	// A packet follows the snapshot on a real stream: it must be left unread.
	after := []byte{0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	r := NewReader(bytes.NewReader(append(append([]byte{}, raw...), after...)), 0)
	view := &datatree.SnapshotView{}
	s, err := ReadSnap(r.Buffered(), 0x100000018, datatree.OwnersExtended, 0, view)
	if err != nil {
		t.Fatalf("%s: ReadSnap: %v", name, err)
	}
	if next, err := r.Read(); err != nil || next.Type != zab.NewLeader {
		t.Fatalf("%s: packet after the snapshot: %v %v", name, &next, err)
	}
	if want.Signature != SnapSignature || len(s.Sessions) != len(want.Sessions) {
		t.Errorf("%s: sessions %v, capture %v", name, s.Sessions, want.Sessions)
	}
	for _, ws := range want.Sessions {
		if to, ok := s.Sessions[hexNum(t, ws.ID)]; !ok || to != ws.Timeout {
			t.Errorf("%s: session %s missing or timeout %d", name, ws.ID, to)
		}
	}
	if len(view.ACLs) != len(want.ACLCache) {
		t.Errorf("%s: %d ACL cache entries, capture %d", name, len(view.ACLs), len(want.ACLCache))
	}
	for _, wa := range want.ACLCache {
		got := view.ACLs[wa.ACLRef]
		if len(got) != len(wa.ACLs) {
			t.Errorf("%s: ACL %d = %v, capture %v", name, wa.ACLRef, got, wa.ACLs)
			continue
		}
		for i, a := range wa.ACLs {
			if got[i].Perms != a.Perms || got[i].Id.Scheme != a.ID.Scheme || got[i].Id.ID != a.ID.ID {
				t.Errorf("%s: ACL %d[%d] = %v, capture %v", name, wa.ACLRef, i, got[i], a)
			}
		}
	}
	if len(view.Nodes) != len(want.Nodes) {
		t.Fatalf("%s: %d nodes, capture %d", name, len(view.Nodes), len(want.Nodes))
	}
	for i, wn := range want.Nodes {
		n := view.Nodes[i]
		ws := wn.Stat
		wst := jute.StatPersisted{Czxid: hexNum(t, ws.Czxid), Mzxid: hexNum(t, ws.Mzxid), Ctime: ws.Ctime, Mtime: ws.Mtime,
			Version: ws.Version, Cversion: ws.Cversion, Aversion: ws.Aversion, EphemeralOwner: hexNum(t, ws.EphemeralOwner), Pzxid: hexNum(t, ws.Pzxid)}
		wd := unhex(t, wn.Data)
		if n.Path != wn.Path || !bytes.Equal(n.Data, wd) || (n.Data == nil) != (wn.Data == nil) || n.ACLRef != wn.ACLRef || n.Stat != wst {
			t.Errorf("%s: node %d = %+v, capture %+v", name, i, n, wn)
		}
		p := n.Path
		if p == "" {
			p = "/"
		}
		if s.Tree.Get(p) == nil {
			t.Errorf("%s: node %s missing from the loaded tree", name, p)
		}
	}
	var buf bytes.Buffer
	if err := WriteSnap(&buf, view, s.Sessions); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("%s: re-encoded SNAP payload differs (%d vs %d bytes)", name, buf.Len(), len(raw))
	}
	// The same bytes again, read with a minimal buffered reader: no read-ahead trouble.
	if _, err := ReadSnap(bufio.NewReaderSize(bytes.NewReader(raw), 16), 0, datatree.OwnersExtended, 0, nil); err != nil {
		t.Errorf("%s: ReadSnap with a small buffer: %v", name, err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
