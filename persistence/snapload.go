package persistence

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"hash/adler32"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// nodes reads the node records of a snapshot file's body, up to and including the "/" that
// ends them, straight from the file's bytes: each path and value is copied once, into the
// tree (no intermediate strings or buffers). Recovery time is mostly this loop.
func (s sliceSource) nodes(l *datatree.Loader) error {
	d := s.Decoder
	b := d.B
	off := d.Off
	var st jute.StatPersisted
	short := func() error { return fmt.Errorf("reading node at offset %d: %w", off, jute.ErrShort) }
	length := func(what string) (int, error) {
		if len(b)-off < 4 {
			return 0, short()
		}
		n := int(int32(binary.BigEndian.Uint32(b[off:])))
		off += 4
		if n < -1 || n > len(b)-off {
			return 0, fmt.Errorf("jute: bad %s length %d", what, n)
		}
		return n, nil
	}
	for {
		pl, err := length("string")
		if err != nil {
			return err
		}
		pl = max(pl, 0) // a null path reads as "", as Decoder.String reads it
		path := b[off : off+pl]
		off += pl
		if pl == 1 && path[0] == '/' {
			d.Off = off
			return nil
		}
		dl, err := length("buffer")
		if err != nil {
			return err
		}
		var data []byte
		if dl >= 0 {
			data = b[off : off+dl]
			off += dl
		}
		if len(b)-off < 8+statSize {
			return short()
		}
		ref := int64(binary.BigEndian.Uint64(b[off:]))
		p := b[off+8 : off+8+statSize]
		st.Czxid = int64(binary.BigEndian.Uint64(p[0:]))
		st.Mzxid = int64(binary.BigEndian.Uint64(p[8:]))
		st.Ctime = int64(binary.BigEndian.Uint64(p[16:]))
		st.Mtime = int64(binary.BigEndian.Uint64(p[24:]))
		st.Version = int32(binary.BigEndian.Uint32(p[32:]))
		st.Cversion = int32(binary.BigEndian.Uint32(p[36:]))
		st.Aversion = int32(binary.BigEndian.Uint32(p[40:]))
		st.EphemeralOwner = int64(binary.BigEndian.Uint64(p[44:]))
		st.Pzxid = int64(binary.BigEndian.Uint64(p[52:]))
		off += 8 + statSize
		if err := l.AddNodeBytes(path, data, ref, &st); err != nil {
			return err
		}
	}
}

// sealSums gives the Adler-32 of a prefix of a snapshot file, for its seals. For a large
// file the sum of all but its last few KiB (the seals and the digest section are there) is
// computed on another goroutine while the nodes are decoded, and each seal only adds the
// few bytes after that.
type sealSums struct {
	b     []byte
	upto  int    // bytes summed ahead; 0 when nothing is
	state []byte // the adler32 state after b[:upto]
	done  chan struct{}
}

func newSealSums(b []byte) *sealSums {
	s := &sealSums{b: b}
	if len(b) < 1<<20 {
		return s
	}
	s.upto = len(b) - 4096
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		h := adler32.New()
		h.Write(b[:s.upto])
		s.state, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
	}()
	return s
}

// wait returns when the goroutine (if any) no longer reads b.
func (s *sealSums) wait() {
	if s.done != nil {
		<-s.done
	}
}

// sum is the Adler-32 of b[:off].
func (s *sealSums) sum(off int) uint32 {
	if s.done == nil || off < s.upto {
		return adler32.Checksum(s.b[:off])
	}
	<-s.done
	h := adler32.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.state); err != nil {
		return adler32.Checksum(s.b[:off])
	}
	h.Write(s.b[s.upto:off])
	return h.Sum32()
}
