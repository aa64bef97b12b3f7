package jute

// Byte-exact tests against frames and txns captured from Apache ZooKeeper 3.8.0
// (testdata/vectors, copied from the team's shared vectors). Every record is decoded with the
// package's records, the decoded fields are rendered in the vectors' JSON form and compared
// with the vector's "decoded" object, and the decoded records are re-encoded and compared
// with the captured bytes.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// obj is a decoded record in the vectors' JSON form.
type obj = map[string]any

// hx renders a long the way the vectors do: "0x" + lower-case hex of the unsigned value.
func hx(v int64) string { return fmt.Sprintf("0x%x", uint64(v)) }

// hexOrNil renders a buffer: null stays null, anything else is lower-case hex.
func hexOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}

func strs(v []string) any {
	if v == nil {
		return nil
	}
	return v
}

func aclJSON(acl []ACL) any {
	if acl == nil {
		return nil
	}
	out := make([]any, len(acl))
	for i, a := range acl {
		out[i] = obj{"perms": a.Perms, "id": obj{"scheme": a.Id.Scheme, "id": a.Id.ID}}
	}
	return out
}

func statJSON(s *Stat) obj {
	return obj{
		"czxid": hx(s.Czxid), "mzxid": hx(s.Mzxid), "ctime": s.Ctime, "mtime": s.Mtime,
		"version": s.Version, "cversion": s.Cversion, "aversion": s.Aversion,
		"ephemeralOwner": hx(s.EphemeralOwner), "dataLength": s.DataLength,
		"numChildren": s.NumChildren, "pzxid": hx(s.Pzxid),
	}
}

// vecOpNames are the op names the vectors use (ZooDefs.OpCode field names).
var vecOpNames = map[int32]string{
	OpCreate: "create", OpDelete: "delete", OpExists: "exists", OpGetData: "getData",
	OpSetData: "setData", OpGetACL: "getACL", OpSetACL: "setACL", OpGetChildren: "getChildren",
	OpSync: "sync", OpPing: "ping", OpGetChildren2: "getChildren2", OpCheck: "check",
	OpMulti: "multi", OpCreate2: "create2", OpReconfig: "reconfig", OpCheckWatches: "checkWatches",
	OpRemoveWatches: "removeWatches", OpCreateContainer: "createContainer",
	OpDeleteContainer: "deleteContainer", OpCreateTTL: "createTTL", OpMultiRead: "multiRead",
	OpAuth: "auth", OpSetWatches: "setWatches", OpSasl: "sasl", OpGetEphemerals: "getEphemerals",
	OpGetAllChildrenNumber: "getAllChildrenNumber", OpSetWatches2: "setWatches2",
	OpAddWatch: "addWatch", OpWhoAmI: "whoAmI", OpCreateSession: "createSession",
	OpCloseSession: "closeSession", OpError: "error",
}

// vecErrNames are the error names the vectors use (KeeperException.Code names).
var vecErrNames = map[int32]string{
	0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
	-4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
	-8: "BADARGUMENTS", -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM",
	-14: "RECONFIGINPROGRESS", -100: "APIERROR", -101: "NONODE", -102: "NOAUTH",
	-103: "BADVERSION", -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
	-112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED",
	-118: "SESSIONMOVED", -119: "NOTREADONLY", -120: "EPHEMERALONLOCALSESSION",
	-121: "NOWATCHER", -122: "REQUESTTIMEOUT", -123: "RECONFIGDISABLED",
	-124: "SESSIONCLOSEDREQUIRESASLAUTH", -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}

func opNameOrNil(op int32) any {
	if n, ok := vecOpNames[op]; ok {
		return n
	}
	return nil
}

// normJSON maps a value to what encoding/json makes of it, so that Go-built objects and
// parsed vectors compare with reflect.DeepEqual.
func normJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameJSON(t testing.TB, what string, got, want any) bool {
	t.Helper()
	g, w := normJSON(t, got), normJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("%s: decoded fields differ\n got: %s\nwant: %s", what, gb, wb)
		return false
	}
	return true
}

func sameBytes(t testing.TB, what string, got, want []byte) bool {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: re-encoding differs\n got: %x\nwant: %x", what, got, want)
		return false
	}
	return true
}

// readJSONL reads testdata/vectors/name, one JSON value per line.
func readJSONL[T any](t testing.TB, name string) []T {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Client frames

type vecFrame struct {
	Conn    string          `json:"conn"`
	Dir     string          `json:"dir"`
	TCP     string          `json:"tcp"`
	Phase   string          `json:"phase"`
	Hex     string          `json:"hex"`
	Length  int             `json:"length"`
	Decoded json.RawMessage `json:"decoded"`
}

var clientFrameFiles = []string{"client-session.jsonl", "toplevel-check.jsonl"}

// clientFrame is one data frame of a capture: its payload (without the length prefix) and
// the vector's decoded object.
type clientFrame struct {
	file, conn, dir, phase string
	index                  int
	payload                []byte
	want                   obj
}

func (f *clientFrame) String() string {
	return fmt.Sprintf("%s#%d %s %s %q", f.file, f.index, f.conn, f.dir, f.phase)
}

func loadClientFrames(t testing.TB) []*clientFrame {
	t.Helper()
	var out []*clientFrame
	for _, file := range clientFrameFiles {
		for i, r := range readJSONL[vecFrame](t, file) {
			if r.TCP != "" || r.Hex == "" {
				continue
			}
			b, err := hex.DecodeString(r.Hex)
			if err != nil {
				t.Fatalf("%s#%d: %v", file, i, err)
			}
			if len(b) < 4 || int(binary.BigEndian.Uint32(b)) != len(b)-4 || r.Length != len(b)-4 {
				t.Fatalf("%s#%d: frame length prefix %x does not match %d payload bytes", file, i, b[:4], len(b)-4)
			}
			var want obj
			if err := json.Unmarshal(r.Decoded, &want); err != nil {
				t.Fatalf("%s#%d: %v", file, i, err)
			}
			out = append(out, &clientFrame{file: file, conn: r.Conn, dir: r.Dir, phase: r.Phase, index: i, payload: b[4:], want: want})
		}
	}
	return out
}

// requestBody decodes the body of a request of type op, re-encodes it into e and returns its
// fields; ok is false for ops that have no body.
func requestBody(t testing.TB, op int32, d *Decoder, e *Encoder) (body obj, ok bool) {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL:
		r := &CreateRequest{HasTTL: op == OpCreateTTL}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "data": hexOrNil(r.Data), "acl": aclJSON(r.ACL), "flags": r.Flags}
		if r.HasTTL {
			body["ttl"] = r.TTL
		}
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		r := &PathWatchRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "watch": r.Watch}
	case OpDelete, OpCheck:
		r := &PathVersionRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "version": r.Version}
	case OpSetData:
		r := &SetDataRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "data": hexOrNil(r.Data), "version": r.Version}
	case OpSetACL:
		r := &SetACLRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "acl": aclJSON(r.ACL), "version": r.Version}
	case OpGetACL, OpSync, OpGetAllChildrenNumber, OpDeleteContainer:
		r := &PathRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path}
	case OpGetEphemerals:
		r := &PathRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"prefixPath": r.Path}
	case OpCheckWatches, OpRemoveWatches:
		r := &PathTypeRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "type": r.Type}
	case OpAddWatch:
		r := &PathTypeRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"path": r.Path, "mode": r.Type}
	case OpAuth:
		r := &AuthPacket{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"type": r.Type, "scheme": r.Scheme, "auth": hexOrNil(r.Auth)}
	case OpSetWatches, OpSetWatches2:
		r := &SetWatches{V2: op == OpSetWatches2}
		r.Decode(d)
		r.Encode(e)
		body = obj{
			"relativeZxid": hx(r.RelativeZxid), "dataWatches": strs(r.DataWatches),
			"existWatches": strs(r.ExistWatches), "childWatches": strs(r.ChildWatches),
		}
		if r.V2 {
			body["persistentWatches"] = strs(r.PersistentWatches)
			body["persistentRecursiveWatches"] = strs(r.PersistentRecursive)
		}
	case OpReconfig:
		r := &ReconfigRequest{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"joiningServers": r.JoiningServers, "leavingServers": r.LeavingServers,
			"newMembers": r.NewMembers, "curConfigId": hx(r.CurConfigID)}
	case OpSasl:
		r := &SASLToken{}
		r.Decode(d)
		r.Encode(e)
		body = obj{"token": hexOrNil(r.Token)}
	case OpMulti, OpMultiRead:
		var ops []any
		for d.Err() == nil {
			var h MultiHeader
			h.Decode(d)
			h.Encode(e)
			op := obj{"header": obj{"type": h.Type, "done": h.Done, "err": h.Err}}
			ops = append(ops, op)
			if h.Done || d.Err() != nil {
				break
			}
			op["op"] = opNameOrNil(h.Type)
			sub, ok := requestBody(t, h.Type, d, e)
			if !ok {
				t.Errorf("multi sub-op type %d has no request record", h.Type)
				break
			}
			op["body"] = sub
		}
		body = obj{"ops": ops}
	default:
		// ping, whoAmI, closeSession and unknown ops carry no body.
		return nil, false
	}
	return body, true
}

// replyBody decodes the body of a successful reply to op and re-encodes it into e.
func replyBody(t testing.TB, op int32, d *Decoder, e *Encoder) (body obj, ok bool) {
	switch op {
	case OpCreate, OpSync:
		r := &PathRequest{}
		r.Decode(d)
		r.Encode(e)
		return obj{"path": r.Path}, true
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		// Create2Response (encoded by the server package): ustring path; Stat stat.
		path := d.String()
		var st Stat
		st.Decode(d)
		e.String(path)
		st.Encode(e)
		return obj{"path": path, "stat": statJSON(&st)}, true
	case OpExists, OpSetData, OpSetACL:
		var st Stat
		st.Decode(d)
		st.Encode(e)
		return obj{"stat": statJSON(&st)}, true
	case OpGetData:
		data := d.Buffer()
		var st Stat
		st.Decode(d)
		e.Buffer(data)
		st.Encode(e)
		return obj{"data": hexOrNil(data), "stat": statJSON(&st)}, true
	case OpGetChildren:
		c := d.Strings()
		e.Strings(c)
		return obj{"children": strs(c)}, true
	case OpGetChildren2:
		c := d.Strings()
		var st Stat
		st.Decode(d)
		e.Strings(c)
		st.Encode(e)
		return obj{"children": strs(c), "stat": statJSON(&st)}, true
	case OpGetACL:
		acl := DecodeACLs(d)
		var st Stat
		st.Decode(d)
		EncodeACLs(e, acl)
		st.Encode(e)
		return obj{"acl": aclJSON(acl), "stat": statJSON(&st)}, true
	case OpGetEphemerals:
		v := d.Strings()
		e.Strings(v)
		return obj{"ephemerals": strs(v)}, true
	case OpGetAllChildrenNumber:
		n := d.Int()
		e.Int(n)
		return obj{"totalNumber": n}, true
	case OpAddWatch, OpError:
		// ErrorResponse / ErrorResult: int err.
		n := d.Int()
		e.Int(n)
		return obj{"err": n}, true
	case OpWhoAmI:
		n := d.VectorLen(8)
		var infos []any
		var ci []ClientInfo
		for i := 0; i < n && d.Err() == nil; i++ {
			var c ClientInfo
			c.Decode(d)
			ci = append(ci, c)
			infos = append(infos, obj{"authScheme": c.AuthScheme, "user": c.User})
		}
		e.Int(int32(len(ci)))
		for i := range ci {
			ci[i].Encode(e)
		}
		return obj{"clientInfo": infos}, true
	case OpMulti, OpMultiRead:
		var results []any
		for d.Err() == nil {
			var h MultiHeader
			h.Decode(d)
			h.Encode(e)
			res := obj{"header": obj{"type": h.Type, "done": h.Done, "err": h.Err}}
			results = append(results, res)
			if h.Done || d.Err() != nil {
				break
			}
			sub, ok := replyBody(t, h.Type, d, e)
			if h.Type == OpCheck || h.Type == OpDelete {
				// CheckResult and DeleteResult have no fields.
				sub, ok = obj{}, true
			}
			if !ok {
				t.Errorf("multi result type %d has no reply record", h.Type)
				break
			}
			res["body"] = sub
		}
		return obj{"results": results}, true
	}
	return nil, false
}

// TestClientSessionVectors decodes every frame of the captured client sessions, checks the
// fields against the capture's decoding and re-encodes each frame byte for byte.
func TestClientSessionVectors(t *testing.T) {
	frames := loadClientFrames(t)
	seenC2S := map[string]bool{} // first client frame of a connection = ConnectRequest
	seenS2C := map[string]bool{} // first server frame = ConnectResponse
	pending := map[string]map[int32]int32{}
	count := map[string]int{}
	ops := map[string]bool{}
	for _, f := range frames {
		key := f.file + "/" + f.conn
		d := NewDecoder(f.payload)
		e := NewEncoder(len(f.payload))
		var got obj
		switch {
		case f.dir == "c2s" && !seenC2S[key]:
			seenC2S[key] = true
			var r ConnectRequest
			r.Decode(d)
			r.Encode(e)
			got = obj{"protocolVersion": r.ProtocolVersion, "lastZxidSeen": hx(r.LastZxidSeen),
				"timeOut": r.TimeOut, "sessionId": hx(r.SessionID), "passwd": hexOrNil(r.Passwd),
				"record": "ConnectRequest", "payloadLength": len(f.payload)}
			if r.HasReadOnly {
				got["readOnly"] = r.ReadOnly
			}
			count[fmt.Sprintf("ConnectRequest/%d", len(f.payload))]++
		case f.dir == "s2c" && !seenS2C[key]:
			seenS2C[key] = true
			var r ConnectResponse
			r.Decode(d)
			r.Encode(e)
			got = obj{"protocolVersion": r.ProtocolVersion, "timeOut": r.TimeOut,
				"sessionId": hx(r.SessionID), "passwd": hexOrNil(r.Passwd),
				"record": "ConnectResponse", "payloadLength": len(f.payload)}
			if r.HasReadOnly {
				got["readOnly"] = r.ReadOnly
			}
			count[fmt.Sprintf("ConnectResponse/%d", len(f.payload))]++
		case f.dir == "c2s":
			var h RequestHeader
			h.Decode(d)
			h.Encode(e)
			got = obj{"record": "RequestHeader+body", "xid": h.Xid, "type": h.Type, "op": opNameOrNil(h.Type)}
			if body, ok := requestBody(t, h.Type, d, e); ok {
				got["body"] = body
			}
			if pending[key] == nil {
				pending[key] = map[int32]int32{}
			}
			pending[key][h.Xid] = h.Type
			ops[fmt.Sprint(opNameOrNil(h.Type))] = true
			count["request"]++
		default:
			var h ReplyHeader
			h.Decode(d)
			h.Encode(e)
			got = obj{"record": "ReplyHeader+body", "xid": h.Xid, "zxid": hx(h.Zxid), "err": h.Err,
				"errName": vecErrNames[h.Err]}
			if h.Xid == XidNotification {
				got["kind"] = "notification"
				var ev WatcherEvent
				ev.Decode(d)
				ev.Encode(e)
				got["body"] = obj{"type": ev.Type, "state": ev.State, "path": ev.Path}
				count["notification"]++
				break
			}
			op, ok := pending[key][h.Xid]
			if !ok {
				t.Errorf("%v: reply to unknown xid %d", f, h.Xid)
				continue
			}
			if name := opNameOrNil(op); name != nil {
				got["replyTo"] = name
			} else {
				got["replyTo"] = op
			}
			if h.Err == 0 {
				if body, ok := replyBody(t, op, d, e); ok {
					got["body"] = body
				}
			}
			count["reply"]++
		}
		if d.Err() != nil {
			t.Errorf("%v: decode: %v", f, d.Err())
			continue
		}
		if d.Remaining() != 0 {
			t.Errorf("%v: %d bytes left after decoding", f, d.Remaining())
		}
		okJSON := sameJSON(t, f.String(), got, f.want)
		if sameBytes(t, f.String(), e.B, f.payload) && okJSON {
			count["byte-exact"]++
		}
	}
	// The capture must have exercised what this test is meant to cover.
	for _, k := range []string{"ConnectRequest/45", "ConnectRequest/44", "ConnectResponse/37", "ConnectResponse/36", "notification"} {
		if count[k] == 0 {
			t.Errorf("no %s frame in the vectors", k)
		}
	}
	for _, op := range []string{"create", "create2", "createContainer", "createTTL", "exists", "getData",
		"getChildren", "getChildren2", "setData", "getACL", "setACL", "sync", "multi", "multiRead",
		"delete", "ping", "auth", "whoAmI", "getEphemerals", "getAllChildrenNumber", "addWatch",
		"checkWatches", "removeWatches", "setWatches", "setWatches2", "closeSession", "check", "<nil>"} {
		if !ops[op] {
			t.Errorf("no %s request in the vectors", op)
		}
	}
	t.Logf("%d frames: %v", len(frames), count)
}

// ---------------------------------------------------------------------------------------
// Txn log records

type vecTxn struct {
	Offset   int64           `json:"offset"`
	Checksum string          `json:"checksum"`
	TxnLen   int             `json:"txnLen"`
	TxnHex   string          `json:"txnHex"`
	Decoded  json.RawMessage `json:"decoded"`
	File     string          `json:"file"` // only in the header line
}

var txnLogFiles = []string{
	"log.1.jsonl", "log.23.jsonl", "toplevel-check-log.1.jsonl",
	"ensemble-s1-log.100000001.jsonl", "ensemble-s2-before-trunc-log.200000001.jsonl",
	"ensemble-s2-log.200000001.jsonl", "ensemble-s3-log.100000001.jsonl",
	"ensemble-s3-log.200000004.jsonl",
}

// logTxn is one txn of a log: the raw bytes (TxnHeader + record + optional TxnDigest).
type logTxn struct {
	name string
	raw  []byte
	want obj
}

func loadLogTxns(t testing.TB) []logTxn {
	t.Helper()
	var out []logTxn
	for _, file := range txnLogFiles {
		recs := readJSONL[vecTxn](t, file)
		if len(recs) == 0 || recs[0].File == "" {
			t.Fatalf("%s: no file header line", file)
		}
		for _, r := range recs[1:] {
			name := fmt.Sprintf("%s@%d", file, r.Offset)
			raw, err := hex.DecodeString(r.TxnHex)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var sum uint32
			if _, err := fmt.Sscanf(r.Checksum, "0x%x", &sum); err != nil {
				t.Fatalf("%s: checksum %q: %v", name, r.Checksum, err)
			}
			if len(raw) != r.TxnLen || adler32.Checksum(raw) != sum {
				t.Fatalf("%s: txnHex does not match txnLen %d / checksum %s", name, r.TxnLen, r.Checksum)
			}
			var want obj
			if err := json.Unmarshal(r.Decoded, &want); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, logTxn{name: name, raw: raw, want: want})
		}
	}
	return out
}

// txnJSON renders a txn record in the vectors' form.
func txnJSON(t testing.TB, rec Record) obj {
	switch r := rec.(type) {
	case *CreateTxn:
		return obj{"path": r.Path, "data": hexOrNil(r.Data), "acl": aclJSON(r.ACL), "ephemeral": r.Ephemeral, "parentCVersion": r.ParentCVersion}
	case *CreateContainerTxn:
		return obj{"path": r.Path, "data": hexOrNil(r.Data), "acl": aclJSON(r.ACL), "parentCVersion": r.ParentCVersion}
	case *CreateTTLTxn:
		return obj{"path": r.Path, "data": hexOrNil(r.Data), "acl": aclJSON(r.ACL), "parentCVersion": r.ParentCVersion, "ttl": r.TTL}
	case *DeleteTxn:
		return obj{"path": r.Path}
	case *SetDataTxn:
		return obj{"path": r.Path, "data": hexOrNil(r.Data), "version": r.Version}
	case *CheckVersionTxn:
		return obj{"path": r.Path, "version": r.Version}
	case *SetACLTxn:
		return obj{"path": r.Path, "acl": aclJSON(r.ACL), "version": r.Version}
	case *CreateSessionTxn:
		return obj{"timeOut": r.TimeOut}
	case *CloseSessionTxn:
		return obj{"paths2Delete": strs(r.Paths2Delete)}
	case *ErrorTxn:
		return obj{"err": r.Err}
	case *MultiTxn:
		txns := make([]any, len(r.Txns))
		for i, st := range r.Txns {
			txns[i] = obj{"type": st.Type, "op": opNameOrNil(st.Type), "data": hex.EncodeToString(Marshal(st.Txn)), "decoded": txnJSON(t, st.Txn)}
		}
		return obj{"txns": txns}
	}
	t.Fatalf("no JSON form for %T", rec)
	return nil
}

// TestTxnLogVectors decodes every txn of the captured logs with DecodeTxn, checks it against
// the capture's decoding and re-encodes header + record + digest byte for byte.
func TestTxnLogVectors(t *testing.T) {
	txns := loadLogTxns(t)
	count := map[string]int{}
	for _, tx := range txns {
		d := NewDecoder(tx.raw)
		var hdr TxnHeader
		hdr.Decode(d)
		if d.Err() != nil {
			t.Errorf("%s: header: %v", tx.name, d.Err())
			continue
		}
		body := tx.raw[d.Off:]
		rec, err := DecodeTxn(hdr.Type, body)
		if err != nil {
			t.Errorf("%s: DecodeTxn(%d): %v", tx.name, hdr.Type, err)
			continue
		}
		enc := Marshal(rec)
		if !bytes.HasPrefix(body, enc) {
			t.Errorf("%s: re-encoded %T is not a prefix of the body\n got: %x\nbody: %x", tx.name, rec, enc, body)
			continue
		}
		got := obj{
			"header": obj{"clientId": hx(hdr.ClientID), "cxid": hdr.Cxid, "zxid": hx(hdr.Zxid), "time": hdr.Time, "type": hdr.Type},
			"op":     opNameOrNil(hdr.Type),
			"record": txnJSON(t, rec),
		}
		e := NewEncoder(len(tx.raw))
		hdr.Encode(e)
		rec.Encode(e)
		if rest := body[len(enc):]; len(rest) > 0 {
			dd := NewDecoder(rest)
			var dg TxnDigest
			dg.Decode(dd)
			if dd.Err() != nil || dd.Remaining() != 0 {
				t.Errorf("%s: trailer %x is not a TxnDigest", tx.name, rest)
				continue
			}
			got["digest"] = obj{"version": dg.Version, "treeDigest": hx(dg.TreeDigest)}
			dg.Encode(e)
			count["digest"]++
		}
		okJSON := sameJSON(t, tx.name, got, tx.want)
		if sameBytes(t, tx.name, e.B, tx.raw) && okJSON {
			count["byte-exact"]++
		}

		// The stricter path a log reader takes: one decoder over the whole txn, canonical.
		d2 := NewDecoder(body)
		rec2, _ := NewTxn(hdr.Type)
		rec2.Decode(d2)
		if d2.Err() != nil || !d2.Canonical() {
			t.Errorf("%s: strict decode: err %v canonical %v", tx.name, d2.Err(), d2.Canonical())
		}
		name := fmt.Sprint(opNameOrNil(hdr.Type))
		if m, ok := rec.(*MultiTxn); ok {
			for _, st := range m.Txns {
				count["multi/"+fmt.Sprint(opNameOrNil(st.Type))]++
			}
		}
		if c, ok := rec.(*CloseSessionTxn); ok && len(c.Paths2Delete) > 0 {
			count["closeSession+paths2Delete"]++
		}
		count[name]++
	}
	for _, k := range []string{"createSession", "create", "create2", "createContainer", "createTTL",
		"delete", "deleteContainer", "setData", "setACL", "error", "multi", "closeSession",
		"closeSession+paths2Delete", "check", "multi/check", "multi/error", "multi/create",
		"multi/setData", "multi/delete", "digest"} {
		if count[k] == 0 {
			t.Errorf("no %s txn in the vectors", k)
		}
	}
	t.Logf("%d txns: %v", len(txns), count)
}

// TestTopLevelCheckTxn pins what jute does with the top-level type-13 txn that ZooKeeper 3.8.0
// logs for a top-level check (vectors README, disagreement 1). Java's SerializeUtils refuses it
// ("Unsupported Txn with type=%d13") and the server cannot restart; jute decodes it as a
// CheckVersionTxn so that a Go log reader can load such a 3.8 log and decide what to do.
func TestTopLevelCheckTxn(t *testing.T) {
	for _, tx := range loadLogTxns(t) {
		if !strings.HasPrefix(tx.name, "toplevel-check-log") {
			continue
		}
		d := NewDecoder(tx.raw)
		var hdr TxnHeader
		hdr.Decode(d)
		if hdr.Type != OpCheck {
			continue
		}
		rec, err := DecodeTxn(hdr.Type, tx.raw[d.Off:])
		if err != nil {
			t.Fatalf("top-level check txn: %v", err)
		}
		c, ok := rec.(*CheckVersionTxn)
		if !ok || c.Path != "/v" || c.Version != 1 || hdr.Zxid != 3 {
			t.Fatalf("top-level check txn: %+v %#v", hdr, rec)
		}
		return
	}
	t.Fatal("no top-level check txn in toplevel-check-log.1.jsonl")
}
