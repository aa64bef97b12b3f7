package persistence

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/golang/snappy"
)

// Compression is how snapshots are written (zookeeper.snapshot.compression.method, as
// SnapStream.StreamMode): "" plain, "gz" gzip, "snappy" snappy-java's stream format. The
// file name says how a snapshot was written (snapshot.<zxid>.gz, .snappy), so snapshots of
// every kind are read whatever this is, as ZooKeeper reads them. What is compressed is the
// whole plain snapshot, checksums and seals included.
type Compression string

const (
	NoCompression     Compression = ""
	GzipCompression   Compression = "gz"
	SnappyCompression Compression = "snappy"
)

// ParseCompression is StreamMode.fromString: "gz" or "snappy" in any case; anything else,
// the empty string included, writes plain snapshots.
func ParseCompression(method string) Compression {
	switch strings.ToLower(method) {
	case "gz":
		return GzipCompression
	case "snappy":
		return SnappyCompression
	}
	return NoCompression
}

// ext is the file name extension of the compression (StreamMode.getFileExtension).
func (c Compression) ext() string {
	if c == NoCompression {
		return ""
	}
	return "." + string(c)
}

// compressionOf is SnapStream.getStreamMode(fileName): the last dot-separated part names it.
func compressionOf(name string) Compression {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return ParseCompression(name[i+1:])
	}
	return NoCompression
}

// snappy-java's SnappyOutputStream: a 16-byte header (magic, version 1, compatible
// version 1), then blocks of a big-endian int32 length and a snappy-compressed block of up
// to 32 KiB of input.
var snappyJavaHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

const snappyJavaBlock = 32 << 10

// DecompressSnapshot returns the plain bytes of the snapshot file name holding b: b itself
// unless its name ends in .gz or .snappy.
func DecompressSnapshot(name string, b []byte) ([]byte, error) {
	return decompressSnapshot(compressionOf(name), b)
}

// decompressSnapshot returns the plain bytes of a compressed snapshot file's contents.
func decompressSnapshot(c Compression, b []byte) ([]byte, error) {
	switch c {
	case GzipCompression:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return out, nil
	case SnappyCompression:
		return decodeSnappyJava(b)
	}
	return b, nil
}

var errSnappyJava = errors.New("snappy: not a snappy-java stream")

// decodeSnappyJava reads SnappyInputStream's format; a header may recur (concatenated
// streams, which SnappyInputStream reads on).
func decodeSnappyJava(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, snappyJavaHeader[:8]) || len(b) < len(snappyJavaHeader) {
		return nil, errSnappyJava
	}
	b = b[len(snappyJavaHeader):]
	var out []byte
	for len(b) > 0 {
		if bytes.HasPrefix(b, snappyJavaHeader[:8]) {
			if len(b) < len(snappyJavaHeader) {
				return nil, errSnappyJava
			}
			b = b[len(snappyJavaHeader):]
			continue
		}
		if len(b) < 4 {
			return nil, fmt.Errorf("snappy: truncated block length")
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, fmt.Errorf("snappy: block of %d bytes, %d left", n, len(b)-4)
		}
		dl, err := snappy.DecodedLen(b[4 : 4+n])
		if err != nil {
			return nil, fmt.Errorf("snappy: %w", err)
		}
		if uint64(dl) > 64*uint64(n)+64 {
			// No snappy block expands more (a 3-byte copy yields at most 64 bytes): a
			// corrupt length, which would otherwise be allocated.
			return nil, fmt.Errorf("snappy: block of %d bytes claims %d", n, dl)
		}
		start := len(out)
		out = append(out, make([]byte, dl)...)
		if _, err := snappy.Decode(out[start:], b[4:4+n]); err != nil {
			return nil, fmt.Errorf("snappy: %w", err)
		}
		b = b[4+n:]
	}
	return out, nil
}

// snappyJavaWriter writes SnappyOutputStream's format.
type snappyJavaWriter struct {
	w      io.Writer
	buf    []byte
	out    []byte
	header bool
}

func (s *snappyJavaWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), snappyJavaBlock-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == snappyJavaBlock {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *snappyJavaWriter) flush() error {
	if !s.header {
		if _, err := s.w.Write(snappyJavaHeader); err != nil {
			return err
		}
		s.header = true
	}
	if len(s.buf) == 0 {
		return nil
	}
	s.out = snappy.Encode(s.out[:cap(s.out)], s.buf)
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(s.out)))
	if _, err := s.w.Write(l[:]); err != nil {
		return err
	}
	_, err := s.w.Write(s.out)
	s.buf = s.buf[:0]
	return err
}

// Close writes what is buffered (and the header of an empty stream).
func (s *snappyJavaWriter) Close() error { return s.flush() }

// compressor wraps w for c; Close ends the compressed stream (not w).
func compressor(c Compression, w io.Writer) io.WriteCloser {
	switch c {
	case GzipCompression:
		return gzip.NewWriter(w)
	case SnappyCompression:
		return &snappyJavaWriter{w: w, buf: make([]byte, 0, snappyJavaBlock)}
	}
	return nopCloser{w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
