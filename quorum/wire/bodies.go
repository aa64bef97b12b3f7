package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShortBody is returned when a packet's data is too short for the body its type carries.
var ErrShortBody = errors.New("wire: packet body too short")

// LearnerInfo is the data of FOLLOWERINFO and OBSERVERINFO.
type LearnerInfo struct {
	ServerID        int64
	ProtocolVersion int32 // zab.ProtocolVersion (0x10000) for Zab 1.0
	ConfigVersion   int64
}

// LegacyProtocolVersion is what LearnerHandler assumes when the learner's info has no
// protocol version (its field's initial value).
const LegacyProtocolVersion = 0x1

// Encode returns the 20-byte form every 3.5+ learner sends.
func (li *LearnerInfo) Encode() []byte {
	b := make([]byte, 0, 20)
	b = binary.BigEndian.AppendUint64(b, uint64(li.ServerID))
	b = binary.BigEndian.AppendUint32(b, uint32(li.ProtocolVersion))
	return binary.BigEndian.AppendUint64(b, uint64(li.ConfigVersion))
}

// DecodeLearnerInfo reads a LearnerInfo as LearnerHandler does: 8+ bytes give the sid,
// 12+ the protocol version (else LegacyProtocolVersion), 20+ the config version (else 0).
// Fewer than 8 bytes (or null) is an error here; Java then invents a negative sid, which
// only observers without ids can use.
func DecodeLearnerInfo(b []byte) (LearnerInfo, error) {
	li := LearnerInfo{ProtocolVersion: LegacyProtocolVersion}
	if len(b) < 8 {
		return li, fmt.Errorf("%w: LearnerInfo of %d bytes", ErrShortBody, len(b))
	}
	li.ServerID = int64(binary.BigEndian.Uint64(b))
	if len(b) >= 12 {
		li.ProtocolVersion = int32(binary.BigEndian.Uint32(b[8:]))
	}
	if len(b) >= 20 {
		li.ConfigVersion = int64(binary.BigEndian.Uint64(b[12:]))
	}
	return li, nil
}

// EncodeInt returns the 4-byte body of LEADERINFO (protocol version) and ACKEPOCH
// (currentEpoch, or -1 when the epoch had already been accepted).
func EncodeInt(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// DecodeInt reads the int at the start of a LEADERINFO or ACKEPOCH body (ByteBuffer.getInt:
// extra bytes are ignored).
func DecodeInt(b []byte) (int32, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: int body of %d bytes", ErrShortBody, len(b))
	}
	return int32(binary.BigEndian.Uint32(b)), nil
}

// ForwardedRequest is the data of REQUEST: a client request a learner forwards to the leader.
type ForwardedRequest struct {
	SessionID int64
	Cxid      int32
	Type      int32  // op code
	Body      []byte // the request record as the client sent it (nil when empty)
}

// Encode returns sessionId, cxid, type and the raw body.
func (r *ForwardedRequest) Encode() []byte {
	b := make([]byte, 0, 16+len(r.Body))
	b = binary.BigEndian.AppendUint64(b, uint64(r.SessionID))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Cxid))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Type))
	return append(b, r.Body...)
}

// DecodeForwardedRequest reads a REQUEST body; Body aliases b.
func DecodeForwardedRequest(b []byte) (ForwardedRequest, error) {
	if len(b) < 16 {
		return ForwardedRequest{}, fmt.Errorf("%w: REQUEST of %d bytes", ErrShortBody, len(b))
	}
	r := ForwardedRequest{
		SessionID: int64(binary.BigEndian.Uint64(b)),
		Cxid:      int32(binary.BigEndian.Uint32(b[8:])),
		Type:      int32(binary.BigEndian.Uint32(b[12:])),
	}
	if len(b) > 16 {
		r.Body = b[16:]
	}
	return r, nil
}

// RevalidateRequest is the data of REVALIDATE from learner to leader.
type RevalidateRequest struct {
	SessionID int64
	Timeout   int32
}

// Encode returns the 12-byte body.
func (r *RevalidateRequest) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(r.SessionID))
	return binary.BigEndian.AppendUint32(b, uint32(r.Timeout))
}

// DecodeRevalidateRequest reads the 12-byte body (extra bytes are ignored).
func DecodeRevalidateRequest(b []byte) (RevalidateRequest, error) {
	if len(b) < 12 {
		return RevalidateRequest{}, fmt.Errorf("%w: REVALIDATE of %d bytes", ErrShortBody, len(b))
	}
	return RevalidateRequest{SessionID: int64(binary.BigEndian.Uint64(b)), Timeout: int32(binary.BigEndian.Uint32(b[8:]))}, nil
}

// RevalidateReply is the data of REVALIDATE from leader to learner.
type RevalidateReply struct {
	SessionID int64
	Valid     bool
}

// Encode returns the 9-byte body (DataOutputStream.writeBoolean: 1 or 0).
func (r *RevalidateReply) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 9), uint64(r.SessionID))
	if r.Valid {
		return append(b, 1)
	}
	return append(b, 0)
}

// DecodeRevalidateReply reads the 9-byte body; as readBoolean, any non-zero byte is true.
func DecodeRevalidateReply(b []byte) (RevalidateReply, error) {
	if len(b) < 9 {
		return RevalidateReply{}, fmt.Errorf("%w: REVALIDATE reply of %d bytes", ErrShortBody, len(b))
	}
	return RevalidateReply{SessionID: int64(binary.BigEndian.Uint64(b)), Valid: b[8] != 0}, nil
}

// SessionTouch is one entry of a learner's PING reply: a session that had traffic and its
// timeout.
type SessionTouch struct {
	SessionID int64
	Timeout   int32
}

// EncodeTouches returns a learner's PING data: the entries back to back. No entries give an
// empty, non-nil buffer, as Learner.ping sends (disagreement 6); the leader's PING has null
// data instead, which is not built here.
func EncodeTouches(t []SessionTouch) []byte {
	b := make([]byte, 0, 12*len(t))
	for _, s := range t {
		b = binary.BigEndian.AppendUint64(b, uint64(s.SessionID))
		b = binary.BigEndian.AppendUint32(b, uint32(s.Timeout))
	}
	return b
}

// DecodeTouches reads a learner's PING data. Null data gives nil; a partial entry at the end
// is an error (DataInputStream.readLong/readInt would hit EOF).
func DecodeTouches(b []byte) ([]SessionTouch, error) {
	if b == nil {
		return nil, nil
	}
	if len(b)%12 != 0 {
		return nil, fmt.Errorf("%w: PING touch table of %d bytes", ErrShortBody, len(b))
	}
	t := make([]SessionTouch, 0, len(b)/12)
	for off := 0; off < len(b); off += 12 {
		t = append(t, SessionTouch{SessionID: int64(binary.BigEndian.Uint64(b[off:])), Timeout: int32(binary.BigEndian.Uint32(b[off+8:]))})
	}
	return t, nil
}

// EncodeActivate returns the data of COMMITANDACTIVATE (txn nil: the 8-byte sid alone) or
// INFORMANDACTIVATE (the sid followed by the serialised txn).
func EncodeActivate(designatedLeader int64, txn []byte) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(txn)), uint64(designatedLeader))
	return append(b, txn...)
}

// DecodeActivate reads a COMMITANDACTIVATE or INFORMANDACTIVATE body: the designated
// leader's sid and whatever follows it (the txn of INFORMANDACTIVATE; nil if nothing).
// txn aliases b.
func DecodeActivate(b []byte) (designatedLeader int64, txn []byte, err error) {
	if len(b) < 8 {
		return 0, nil, fmt.Errorf("%w: activate body of %d bytes", ErrShortBody, len(b))
	}
	if len(b) > 8 {
		txn = b[8:]
	}
	return int64(binary.BigEndian.Uint64(b)), txn, nil
}
