package jute

import "fmt"

// TxnHeader precedes every transaction in proposals and in the log.
type TxnHeader struct {
	ClientID int64
	Cxid     int32
	Zxid     int64
	Time     int64
	Type     int32
}

func (r *TxnHeader) Encode(e *Encoder) {
	e.Long(r.ClientID)
	e.Int(r.Cxid)
	e.Long(r.Zxid)
	e.Long(r.Time)
	e.Int(r.Type)
}

func (r *TxnHeader) Decode(d *Decoder) {
	r.ClientID = d.Long()
	r.Cxid = d.Int()
	r.Zxid = d.Long()
	r.Time = d.Long()
	r.Type = d.Int()
}

// CreateTxn creates a persistent or ephemeral node. ParentCVersion is the parent's cversion
// after this create; applying it is idempotent over a fuzzy snapshot (ZOOKEEPER-1046).
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
}

func (r *CreateTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Bool(r.Ephemeral)
	e.Int(r.ParentCVersion)
}

func (r *CreateTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Ephemeral = d.Bool()
	r.ParentCVersion = d.Int()
}

// CreateContainerTxn creates a container node.
type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

func (r *CreateContainerTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
}

func (r *CreateContainerTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
}

// CreateTTLTxn creates a TTL node.
type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

func (r *CreateTTLTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
	e.Long(r.TTL)
}

func (r *CreateTTLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.ParentCVersion = d.Int()
	r.TTL = d.Long()
}

// DeleteTxn deletes a node (also used for deleteContainer).
type DeleteTxn struct{ Path string }

func (r *DeleteTxn) Encode(e *Encoder) { e.String(r.Path) }
func (r *DeleteTxn) Decode(d *Decoder) { r.Path = d.String() }

// SetDataTxn sets data; Version is the node's new version.
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataTxn) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// CheckVersionTxn is the check op inside a multi.
type CheckVersionTxn struct {
	Path    string
	Version int32
}

func (r *CheckVersionTxn) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionTxn) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// SetACLTxn sets an ACL; Version is the node's new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLTxn) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// CreateSessionTxn opens a session with its negotiated timeout.
type CreateSessionTxn struct{ TimeOut int32 }

func (r *CreateSessionTxn) Encode(e *Encoder) { e.Int(r.TimeOut) }
func (r *CreateSessionTxn) Decode(d *Decoder) { r.TimeOut = d.Int() }

// CloseSessionTxn closes a session and names the ephemerals to delete with it. NoBody: the
// txn has no record at all, as in 3.5 or with zookeeper.closeSessionTxn.enabled=false; the
// members then delete the session's ephemerals they know of.
type CloseSessionTxn struct {
	Paths2Delete []string
	NoBody       bool
}

func (r *CloseSessionTxn) Encode(e *Encoder) {
	if !r.NoBody {
		e.Strings(r.Paths2Delete)
	}
}

// Decode tells a txn without a body from one with a list of paths by the bytes themselves,
// where Java goes by its own closeSessionTxn.enabled setting (and so misreads a log or a
// leader's proposal written with the other one): without a body, nothing or a TxnDigest
// (12 bytes) follows the header, and a digest does not read as a list of strings exactly
// 12 bytes long unless its version is 1 or it is a version 2 digest of 0 (two empty
// strings; applying the txn then deletes the session's ephemerals all the same).
func (r *CloseSessionTxn) Decode(d *Decoder) {
	if !CloseSessionHasBody(d.B[d.Off:]) {
		r.NoBody = true
		return
	}
	r.Paths2Delete = d.Strings()
}

// CloseSessionHasBody reports whether rest, what follows a closeSession's TxnHeader, starts
// with a CloseSessionTxn (see Decode).
func CloseSessionHasBody(rest []byte) bool {
	if len(rest) != txnDigestLen {
		return len(rest) != 0
	}
	d := NewDecoder(rest)
	d.Strings()
	return d.Err() == nil && d.Remaining() == 0
}

// txnDigestLen is the length of an encoded TxnDigest (int version, long digest).
const txnDigestLen = 12

// ErrorTxn records a failed write; it still consumes a zxid.
type ErrorTxn struct{ Err int32 }

func (r *ErrorTxn) Encode(e *Encoder) { e.Int(r.Err) }
func (r *ErrorTxn) Decode(d *Decoder) { r.Err = d.Int() }

// MultiTxn holds the sub-transactions of a multi, all under one zxid.
type MultiTxn struct{ Txns []SubTxn }

// SubTxn is one element of a MultiTxn: its type and the encoded record.
type SubTxn struct {
	Type int32
	Txn  Record
}

func (r *MultiTxn) Encode(e *Encoder) {
	e.Int(int32(len(r.Txns)))
	for _, t := range r.Txns {
		e.Int(t.Type)
		// Each sub-record is a jute buffer: length then bytes.
		start := len(e.B)
		e.Int(0)
		t.Txn.Encode(e)
		n := len(e.B) - start - 4
		e.B[start] = byte(n >> 24)
		e.B[start+1] = byte(n >> 16)
		e.B[start+2] = byte(n >> 8)
		e.B[start+3] = byte(n)
	}
}

func (r *MultiTxn) Decode(d *Decoder) {
	n := d.VectorLen(8)
	if n < 0 {
		return
	}
	r.Txns = make([]SubTxn, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		typ := d.Int()
		body := d.raw()
		if d.Err() != nil {
			return
		}
		if !validSubTxn(typ) {
			// DataTree.processTxn throws "Invalid type of op" for these. Refusing a nested
			// multi here also keeps a hostile log from recursing once per 12 bytes.
			d.fail(fmt.Errorf("jute: invalid sub-txn type %d in multi", typ))
			return
		}
		sub := NewDecoder(body)
		rec, _ := NewTxn(typ)
		rec.Decode(sub)
		if sub.Err() != nil {
			d.fail(fmt.Errorf("decode sub-txn type %d: %w", typ, sub.Err()))
			return
		}
		if body == nil || sub.lax || sub.Remaining() > 0 {
			d.lax = true
		}
		r.Txns = append(r.Txns, SubTxn{Type: typ, Txn: rec})
	}
}

// validSubTxn reports whether a MultiTxn may hold a sub-txn of type typ: the types
// DataTree.processTxn accepts inside a multi.
func validSubTxn(typ int32) bool {
	switch typ {
	case OpCreate, OpCreate2, OpCreateTTL, OpCreateContainer, OpDelete, OpDeleteContainer,
		OpSetData, OpCheck, OpError:
		return true
	}
	return false
}

// TxnDigest follows the txn record when digests are enabled (3.6+).
type TxnDigest struct {
	Version    int32
	TreeDigest int64
}

func (r *TxnDigest) Encode(e *Encoder) { e.Int(r.Version); e.Long(r.TreeDigest) }
func (r *TxnDigest) Decode(d *Decoder) { r.Version = d.Int(); r.TreeDigest = d.Long() }

// NewTxn returns an empty txn record for a txn type.
func NewTxn(typ int32) (Record, error) {
	switch typ {
	case OpCreate, OpCreate2:
		return &CreateTxn{}, nil
	case OpCreateContainer:
		return &CreateContainerTxn{}, nil
	case OpCreateTTL:
		return &CreateTTLTxn{}, nil
	case OpDelete, OpDeleteContainer:
		return &DeleteTxn{}, nil
	case OpSetData, OpReconfig: // a reconfig txn sets /zookeeper/config (SerializeUtils)
		return &SetDataTxn{}, nil
	case OpCheck:
		return &CheckVersionTxn{}, nil
	case OpSetACL:
		return &SetACLTxn{}, nil
	case OpCreateSession:
		return &CreateSessionTxn{}, nil
	case OpCloseSession:
		return &CloseSessionTxn{}, nil
	case OpError:
		return &ErrorTxn{}, nil
	case OpMulti:
		return &MultiTxn{}, nil
	}
	return nil, fmt.Errorf("jute: unsupported txn type %d", typ)
}

// DecodeTxn decodes a txn record of the given type.
func DecodeTxn(typ int32, b []byte) (Record, error) {
	rec, err := NewTxn(typ)
	if err != nil {
		return nil, err
	}
	d := NewDecoder(b)
	rec.Decode(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("decode txn type %d: %w", typ, d.Err())
	}
	return rec, nil
}
