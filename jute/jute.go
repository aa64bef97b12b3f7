// Package jute encodes and decodes the records of Apache ZooKeeper's jute serialisation: the
// client wire protocol, transactions and the on-disk formats all share it. Everything is
// big-endian; buffers, strings and vectors carry an int length where -1 means null.
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrShort is returned when a record needs more bytes than the frame holds.
var ErrShort = errors.New("jute: record truncated")

// Encoder appends jute encodings to a byte slice.
type Encoder struct {
	B []byte
}

// NewEncoder returns an encoder with room for n bytes.
func NewEncoder(n int) *Encoder { return &Encoder{B: make([]byte, 0, n)} }

func (e *Encoder) Int(v int32)  { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }
func (e *Encoder) Long(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }
func (e *Encoder) Byte(v byte)  { e.B = append(e.B, v) }
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Buffer writes b; a nil slice is written as null (-1), an empty one as length 0.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.B = append(e.B, b...)
}

// String writes a ustring (never null: ZooKeeper servers never send null strings).
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.B = append(e.B, s...)
}

// Strings writes a vector<ustring>; nil is written as an empty vector.
func (e *Encoder) Strings(v []string) {
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Decoder reads jute encodings from a byte slice. The first error sticks: later reads return
// zero values, so a record decodes in straight-line code and the caller checks Err once.
type Decoder struct {
	B   []byte
	Off int
	err error
	// Max bounds any single buffer or string length (jute.maxbuffer); 0 means only the
	// remaining bytes bound it.
	Max int
	// lax is set when a value was read whose encoding the Encoder does not reproduce
	// (null string or vector, a boolean byte other than 0 or 1, ...); see Canonical.
	lax bool
}

// NewDecoder reads from b.
func NewDecoder(b []byte) *Decoder { return &Decoder{B: b} }

// Err is the first decoding error, if any.
func (d *Decoder) Err() error { return d.err }

// Canonical reports whether every value read so far has the one encoding that the Encoder
// writes for it, so that re-encoding the decoded records reproduces the bytes read. Null
// strings and vectors (read as "" and nil, written as length 0), boolean bytes other than
// 0 and 1 and padding after a multi sub-txn are accepted, as Java accepts them, but are not
// canonical.
func (d *Decoder) Canonical() bool { return !d.lax }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.B) - d.Off }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.Off+n > len(d.B) {
		d.fail(ErrShort)
		return nil
	}
	b := d.B[d.Off : d.Off+n]
	d.Off += n
	return b
}

func (d *Decoder) Int() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (d *Decoder) Long() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (d *Decoder) Byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool follows Java's reader: any non-zero byte is true.
func (d *Decoder) Bool() bool {
	b := d.Byte()
	if b > 1 {
		d.lax = true
	}
	return b != 0
}

// length reads the length of a buffer or string: -1 (null) or a length that fits in the
// remaining bytes and in Max, so a hostile length never allocates more than the frame.
func (d *Decoder) length(what string) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < -1 || int(n) > d.Remaining() || (d.Max > 0 && int(n) > d.Max) {
		d.fail(fmt.Errorf("jute: bad %s length %d", what, n))
		return 0
	}
	return int(n)
}

// raw returns the next buffer without copying it; null decodes as nil.
func (d *Decoder) raw() []byte {
	n := d.length("buffer")
	if d.err != nil || n == -1 {
		return nil
	}
	return d.take(n)
}

// Buffer returns a copy of the next buffer; null decodes as nil, empty as a non-nil empty slice.
func (d *Decoder) Buffer() []byte {
	n := d.length("buffer")
	if d.err != nil || n == -1 {
		return nil
	}
	b := d.take(n)
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// String returns the next ustring; null decodes as "".
func (d *Decoder) String() string {
	n := d.length("string")
	if d.err != nil {
		return ""
	}
	if n == -1 {
		d.lax = true
		return ""
	}
	return string(d.take(n))
}

// VectorLen reads a vector count; -1 (null) returns -1. Each element needs at least minSize
// bytes (at least 1 is assumed), which bounds the count by the frame so a hostile count
// cannot allocate memory.
func (d *Decoder) VectorLen(minSize int) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		// Callers decode null as nil and the Encoder writes nil as an empty vector.
		d.lax = true
		return -1
	}
	if minSize < 1 {
		minSize = 1
	}
	if n < -1 || int64(n)*int64(minSize) > int64(d.Remaining()) || n > math.MaxInt32/2 {
		d.fail(fmt.Errorf("jute: bad vector length %d", n))
		return 0
	}
	return int(n)
}

// Strings reads a vector<ustring>; null decodes as nil.
func (d *Decoder) Strings() []string {
	n := d.VectorLen(4)
	if n <= 0 {
		if n == 0 {
			return []string{}
		}
		return nil
	}
	v := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		v = append(v, d.String())
	}
	return v
}

// Record is anything with a jute encoding.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Marshal encodes r into a new slice.
func Marshal(r Record) []byte {
	e := NewEncoder(64)
	r.Encode(e)
	return e.B
}

// Unmarshal decodes b into r. Trailing bytes are not an error: Java ignores them too.
func Unmarshal(b []byte, r Record) error {
	d := NewDecoder(b)
	r.Decode(d)
	return d.Err()
}
