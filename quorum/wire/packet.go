package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/zab"
)

// DefaultMaxData bounds a QuorumPacket's data and authinfo strings when the caller gives no
// limit: Apache ZooKeeper's BinaryInputArchive allows jute.maxbuffer (0xfffff) plus
// zookeeper.jute.maxbuffer.extrasize (by default the same again).
const DefaultMaxData = 2 * 0xfffff

// ErrBadPacket is returned for a QuorumPacket with a bad length or count.
var ErrBadPacket = errors.New("wire: bad quorum packet")

// QuorumPacket is the jute record exchanged between learner and leader:
//
//	int type; long zxid; buffer data; vector<Id> authinfo
//
// Data and AuthInfo keep the difference between null (nil, encoded as count -1) and empty
// (non-nil with no elements, count 0), which the real servers make (vectors README,
// disagreement 6: a follower's empty PING reply has an empty buffer, the leader's PING a
// null one; authinfo is null except in REQUEST).
type QuorumPacket struct {
	Type     zab.PacketType
	Zxid     zab.Zxid
	Data     []byte
	AuthInfo []jute.Id
}

// FromZab returns p as a QuorumPacket with null authinfo.
func FromZab(p *zab.Packet) QuorumPacket {
	return QuorumPacket{Type: p.Type, Zxid: p.Zxid, Data: p.Data}
}

// Zab returns the packet without its authinfo.
func (q *QuorumPacket) Zab() zab.Packet {
	return zab.Packet{Type: q.Type, Zxid: q.Zxid, Data: q.Data}
}

// String names the packet for logs.
func (q *QuorumPacket) String() string {
	return fmt.Sprintf("%s(%s, %d bytes, %d ids)", q.Type, q.Zxid, len(q.Data), len(q.AuthInfo))
}

// AppendQuorumPacket appends q's jute encoding (no length prefix) to dst.
func AppendQuorumPacket(dst []byte, q *QuorumPacket) []byte {
	e := jute.Encoder{B: dst}
	e.Int(int32(q.Type))
	e.Long(int64(q.Zxid))
	e.Buffer(q.Data)
	if q.AuthInfo == nil {
		e.Int(-1)
	} else {
		e.Int(int32(len(q.AuthInfo)))
		for i := range q.AuthInfo {
			q.AuthInfo[i].Encode(&e)
		}
	}
	return e.B
}

// DecodeQuorumPacket decodes one packet at the start of b and returns the bytes it used.
// maxData bounds the data buffer and each authinfo string (0: DefaultMaxData).
func DecodeQuorumPacket(b []byte, maxData int) (QuorumPacket, int, error) {
	r := NewReader(&countReader{b: b}, maxData)
	q, err := r.Read()
	if err != nil {
		return QuorumPacket{}, 0, err
	}
	return q, int(r.n), nil
}

// Reader reads QuorumPackets from a learner-leader stream.
type Reader struct {
	br  *bufio.Reader
	max int
	n   int64 // bytes consumed
	buf [12]byte
	// lax is set when the last packet held a null authinfo string, which reads as "" and
	// so re-encodes differently.
	lax bool
}

// NewReader reads from r, through a bufio.Reader (r itself if it is one). maxData bounds
// the data buffer and each authinfo string of a packet (0: DefaultMaxData); a longer one is
// an error, as in BinaryInputArchive.checkLength, so a hostile length costs no memory.
func NewReader(r io.Reader, maxData int) *Reader {
	if maxData <= 0 {
		maxData = DefaultMaxData
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, max: maxData}
}

// Buffered is the reader the packets come from, for reading what follows a packet on the
// same stream (the snapshot after SNAP).
func (r *Reader) Buffered() *bufio.Reader { return r.br }

// MaxData is the limit given to NewReader.
func (r *Reader) MaxData() int { return r.max }

func (r *Reader) full(b []byte) error {
	n, err := io.ReadFull(r.br, b)
	r.n += int64(n)
	return err
}

func (r *Reader) int32() (int32, error) {
	if err := r.full(r.buf[:4]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(r.buf[:4])), nil
}

// bytes reads a jute buffer: -1 is null (nil).
func (r *Reader) bytes(what string) ([]byte, error) {
	n, err := r.int32()
	if err != nil {
		return nil, err
	}
	if n == -1 {
		return nil, nil
	}
	if n < -1 || int64(n) > int64(r.max) {
		return nil, fmt.Errorf("%w: %s length %d", ErrBadPacket, what, n)
	}
	b := make([]byte, n)
	if err := r.full(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Read reads the next packet. io.EOF means the stream ended cleanly between packets; a
// stream cut inside a packet gives io.ErrUnexpectedEOF.
func (r *Reader) Read() (QuorumPacket, error) {
	var q QuorumPacket
	r.lax = false
	if err := r.full(r.buf[:12]); err != nil {
		return q, err // io.EOF only if the stream ended before the packet
	}
	q.Type = zab.PacketType(int32(binary.BigEndian.Uint32(r.buf[:4])))
	q.Zxid = zab.Zxid(int64(binary.BigEndian.Uint64(r.buf[4:12])))
	var err error
	if q.Data, err = r.bytes("data"); err != nil {
		return QuorumPacket{}, unexpected(err)
	}
	n, err := r.int32()
	if err != nil {
		return QuorumPacket{}, unexpected(err)
	}
	if n < -1 || int64(n) > int64(r.max)/8 {
		return QuorumPacket{}, fmt.Errorf("%w: authinfo count %d", ErrBadPacket, n)
	}
	if n >= 0 {
		// Grown as read: a hostile count costs only the bytes that really arrive.
		q.AuthInfo = make([]jute.Id, 0, min(int(n), 8))
		for i := int32(0); i < n; i++ {
			s, err := r.bytes("authinfo scheme")
			if err != nil {
				return QuorumPacket{}, unexpected(err)
			}
			id, err := r.bytes("authinfo id")
			if err != nil {
				return QuorumPacket{}, unexpected(err)
			}
			// A null string reads as "", as jute.Decoder reads it.
			r.lax = r.lax || s == nil || id == nil
			q.AuthInfo = append(q.AuthInfo, jute.Id{Scheme: string(s), ID: string(id)})
		}
	}
	return q, nil
}

// Writer writes QuorumPackets to a learner-leader stream through a buffer; Flush sends
// them (Java's learner and leader flush the BufferedOutputStream explicitly, too).
type Writer struct {
	bw  *bufio.Writer
	buf []byte
}

// NewWriter writes to w, through a bufio.Writer (w itself if it is one).
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	return &Writer{bw: bw}
}

// Buffered is the writer the packets go to, for writing what follows a packet on the same
// stream (the snapshot after SNAP).
func (w *Writer) Buffered() *bufio.Writer { return w.bw }

// Write buffers q.
func (w *Writer) Write(q *QuorumPacket) error {
	w.buf = AppendQuorumPacket(w.buf[:0], q)
	_, err := w.bw.Write(w.buf)
	if cap(w.buf) > 64<<10 {
		w.buf = nil // do not keep a large packet's buffer
	}
	return err
}

// Flush sends everything buffered.
func (w *Writer) Flush() error { return w.bw.Flush() }
