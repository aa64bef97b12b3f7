package rawzk

import (
	"fmt"

	"github.com/zkgo/zkgo/jute"
)

// NullACL passed as an ACL list encodes a null vector (-1) instead of an empty one.
var NullACL = []jute.ACL(nil)

// encodeACLs writes acl; a nil slice is a null vector (-1), an empty one is length 0.
func encodeACLs(e *jute.Encoder, acl []jute.ACL) {
	if acl == nil {
		e.Int(-1)
		return
	}
	jute.EncodeACLs(e, acl)
}

// CreateBody is CreateRequest (create, create2, createContainer).
func CreateBody(path string, data []byte, acl []jute.ACL, flags int32) []byte {
	e := jute.NewEncoder(64)
	e.String(path)
	e.Buffer(data)
	encodeACLs(e, acl)
	e.Int(flags)
	return e.B
}

// CreateTTLBody is CreateTTLRequest.
func CreateTTLBody(path string, data []byte, acl []jute.ACL, flags int32, ttl int64) []byte {
	b := CreateBody(path, data, acl, flags)
	e := &jute.Encoder{B: b}
	e.Long(ttl)
	return e.B
}

// PathBody is a request holding one path (getACL, sync, getEphemerals, getAllChildrenNumber).
func PathBody(path string) []byte { return jute.Marshal(&jute.PathRequest{Path: path}) }

// PathWatchBody is exists, getData, getChildren, getChildren2.
func PathWatchBody(path string, watch bool) []byte {
	return jute.Marshal(&jute.PathWatchRequest{Path: path, Watch: watch})
}

// PathVersionBody is delete and check.
func PathVersionBody(path string, version int32) []byte {
	return jute.Marshal(&jute.PathVersionRequest{Path: path, Version: version})
}

// SetDataBody is SetDataRequest.
func SetDataBody(path string, data []byte, version int32) []byte {
	return jute.Marshal(&jute.SetDataRequest{Path: path, Data: data, Version: version})
}

// SetACLBody is SetACLRequest; a nil acl is a null vector.
func SetACLBody(path string, acl []jute.ACL, version int32) []byte {
	e := jute.NewEncoder(64)
	e.String(path)
	encodeACLs(e, acl)
	e.Int(version)
	return e.B
}

// PathTypeBody is checkWatches/removeWatches (type) and addWatch (mode).
func PathTypeBody(path string, typ int32) []byte {
	return jute.Marshal(&jute.PathTypeRequest{Path: path, Type: typ})
}

// AuthBody is AuthPacket{0, scheme, auth}.
func AuthBody(scheme string, auth []byte) []byte {
	return jute.Marshal(&jute.AuthPacket{Scheme: scheme, Auth: auth})
}

// SetWatchesBody is SetWatches (v2 false) or SetWatches2 (v2 true).
func SetWatchesBody(sw jute.SetWatches) []byte { return jute.Marshal(&sw) }

// ReconfigBody is ReconfigRequest.
func ReconfigBody(joining, leaving, members string, curConfigID int64) []byte {
	return jute.Marshal(&jute.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving,
		NewMembers: members, CurConfigID: curConfigID})
}

// Op is one operation of a multi or multiRead.
type Op struct {
	Type    int32 // create(1), create2(15), createContainer(19), createTTL(21), delete(2), setData(5), check(13), getChildren(8), getData(4), or anything
	Path    string
	Data    []byte
	ACL     []jute.ACL
	Flags   int32
	TTL     int64
	Version int32
	Watch   bool
	Raw     []byte // if non-nil, sent as the op's body instead of the encoded fields
}

// Body is the request record of o alone.
func (o Op) Body() []byte {
	if o.Raw != nil {
		return o.Raw
	}
	switch o.Type {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		return CreateBody(o.Path, o.Data, o.ACL, o.Flags)
	case jute.OpCreateTTL:
		return CreateTTLBody(o.Path, o.Data, o.ACL, o.Flags, o.TTL)
	case jute.OpDelete, jute.OpCheck:
		return PathVersionBody(o.Path, o.Version)
	case jute.OpSetData:
		return SetDataBody(o.Path, o.Data, o.Version)
	case jute.OpGetChildren, jute.OpGetData:
		return PathWatchBody(o.Path, o.Watch)
	}
	return PathBody(o.Path)
}

// MultiBody is a MultiRequest: each op as MultiHeader{type, false, -1} + body, then the
// terminator {-1, true, -1}.
func MultiBody(ops []Op) []byte {
	e := jute.NewEncoder(128)
	for _, o := range ops {
		h := jute.MultiHeader{Type: o.Type, Done: false, Err: -1}
		h.Encode(e)
		e.B = append(e.B, o.Body()...)
	}
	h := jute.MultiHeader{Type: -1, Done: true, Err: -1}
	h.Encode(e)
	return e.B
}

// Decoded reply bodies.
type (
	// CreateResp is create (Stat nil) and create2/createContainer/createTTL.
	CreateResp struct {
		Path string
		Stat *jute.Stat
	}
	// StatResp is exists, setData, setACL.
	StatResp struct{ Stat jute.Stat }
	// DataResp is getData and reconfig.
	DataResp struct {
		Data []byte
		Stat jute.Stat
	}
	// ACLResp is getACL.
	ACLResp struct {
		ACL  []jute.ACL
		Stat jute.Stat
	}
	// ChildrenResp is getChildren (Stat nil) and getChildren2.
	ChildrenResp struct {
		Children []string
		Stat     *jute.Stat
	}
	// PathResp is sync.
	PathResp struct{ Path string }
	// StringsResp is getEphemerals.
	StringsResp struct{ Strings []string }
	// IntResp is getAllChildrenNumber and the addWatch ErrorResponse.
	IntResp struct{ N int32 }
	// WhoAmIResp is whoAmI.
	WhoAmIResp struct{ Infos []jute.ClientInfo }
	// MultiResp is multi and multiRead.
	MultiResp struct{ Results []MultiResult }
	// MultiResult is one result of a multi: Type -1 is an error result with Err.
	MultiResult struct {
		Type int32
		Err  int32
		Body any
	}
	// EmptyResp is a reply without a body.
	EmptyResp struct{}
)

// DecodeBody decodes the body of a successful reply to op. Bodies of error replies are not
// decoded (clients never read them): callers check Hdr.Err first. Trailing bytes are an error.
func DecodeBody(op int32, body []byte) (any, error) {
	d := jute.NewDecoder(body)
	v := decodeOne(op, d)
	if d.Err() != nil {
		return v, fmt.Errorf("rawzk: decode %s reply: %w", jute.OpName(op), d.Err())
	}
	if d.Remaining() != 0 {
		return v, fmt.Errorf("rawzk: %d trailing bytes in %s reply", d.Remaining(), jute.OpName(op))
	}
	return v, nil
}

func decodeStat(d *jute.Decoder) jute.Stat {
	var s jute.Stat
	s.Decode(d)
	return s
}

func decodeOne(op int32, d *jute.Decoder) any {
	switch op {
	case jute.OpCreate:
		return CreateResp{Path: d.String()}
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		p := d.String()
		s := decodeStat(d)
		return CreateResp{Path: p, Stat: &s}
	case jute.OpExists, jute.OpSetData, jute.OpSetACL:
		return StatResp{Stat: decodeStat(d)}
	case jute.OpGetData, jute.OpReconfig:
		data := d.Buffer()
		return DataResp{Data: data, Stat: decodeStat(d)}
	case jute.OpGetACL:
		acl := jute.DecodeACLs(d)
		return ACLResp{ACL: acl, Stat: decodeStat(d)}
	case jute.OpGetChildren:
		return ChildrenResp{Children: d.Strings()}
	case jute.OpGetChildren2:
		ch := d.Strings()
		s := decodeStat(d)
		return ChildrenResp{Children: ch, Stat: &s}
	case jute.OpSync:
		return PathResp{Path: d.String()}
	case jute.OpGetEphemerals:
		return StringsResp{Strings: d.Strings()}
	case jute.OpGetAllChildrenNumber, jute.OpAddWatch:
		return IntResp{N: d.Int()}
	case jute.OpWhoAmI:
		n := d.VectorLen(8)
		var infos []jute.ClientInfo
		for i := 0; i < n && d.Err() == nil; i++ {
			infos = append(infos, jute.ClientInfo{AuthScheme: d.String(), User: d.String()})
		}
		return WhoAmIResp{Infos: infos}
	case jute.OpMulti, jute.OpMultiRead:
		var res []MultiResult
		for d.Err() == nil {
			var h jute.MultiHeader
			h.Decode(d)
			if d.Err() != nil || h.Done {
				break
			}
			r := MultiResult{Type: h.Type, Err: h.Err}
			switch h.Type {
			case -1:
				r.Body = IntResp{N: d.Int()}
			case jute.OpDelete, jute.OpCheck:
				r.Body = EmptyResp{}
			default:
				r.Body = decodeOne(h.Type, d)
			}
			res = append(res, r)
		}
		return MultiResp{Results: res}
	}
	return EmptyResp{}
}
