package persistence

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// checkedWriter keeps an Adler-32 over every byte written, as CheckedOutputStream does.
type checkedWriter struct {
	w    *bufio.Writer
	sum  hash.Hash32
	e    jute.Encoder
	err  error
	size int64
}

func (c *checkedWriter) flushRecord() {
	if c.err != nil {
		c.e.B = c.e.B[:0]
		return
	}
	c.sum.Write(c.e.B)
	c.size += int64(len(c.e.B))
	_, c.err = c.w.Write(c.e.B)
	c.e.B = c.e.B[:0]
}

// seal writes the running checksum and the "/" marker (SnapStream.sealStream).
func (c *checkedWriter) seal() {
	c.e.Long(int64(c.sum.Sum32()))
	c.e.String("/")
	c.flushRecord()
}

// WriteSnapshot writes snapshot.<v.Zxid> into dir: header, sessions, ACL cache, nodes in
// parent-first order, "/" and the seal. It is written under a temporary name, synced and
// renamed, so the snapshot name only ever holds a complete file.
func WriteSnapshot(dir string, v *datatree.SnapshotView, sessions map[int64]int32) (string, error) {
	name, _, err := writeSnapshot(dir, v, sessions, NoCompression)
	return name, err
}

// WriteSnapshotMeta writes a snapshot, compressed as c says, and records it in the catalog.
func WriteSnapshotMeta(dir string, v *datatree.SnapshotView, sessions map[int64]int32, m *Meta, c Compression) (string, error) {
	name, fi, err := writeSnapshot(dir, v, sessions, c)
	if err != nil || m == nil {
		return name, err
	}
	return name, m.Record(fi)
}

func writeSnapshot(dir string, v *datatree.SnapshotView, sessions map[int64]int32, c Compression) (string, FileInfo, error) {
	var fi FileInfo
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fi, err
	}
	name := SnapName(v.Zxid) + c.ext()
	final := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "tmp."+name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fi, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	zw := compressor(c, f)
	cw := &checkedWriter{w: bufio.NewWriterSize(zw, 1<<20), sum: adler32.New()}
	e := &cw.e
	e.Int(snapMagic)
	e.Int(version)
	e.Long(-1)
	encodeBody(e, cw.flushRecord, v, sessions)
	seal := cw.sum.Sum32()
	cw.seal()
	// ZxidDigest and its seal, as Apache ZooKeeper 3.6+ writes them.
	e.Long(v.DigestZxid)
	e.Int(datatree.DigestVersion)
	e.Long(int64(v.Digest))
	cw.flushRecord()
	cw.seal()
	if cw.err != nil {
		return "", fi, cw.err
	}
	if err := cw.w.Flush(); err != nil {
		return "", fi, err
	}
	if err := zw.Close(); err != nil {
		return "", fi, err
	}
	size := cw.size
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	if err := f.Sync(); err != nil {
		return "", fi, err
	}
	if err := f.Close(); err != nil {
		return "", fi, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fi, err
	}
	ok = true
	fi = FileInfo{Name: name, Kind: "snapshot", FirstZxid: v.Zxid, LastZxid: v.Zxid, Size: size, Checksum: seal, Written: time.Now().UnixMilli()}
	return final, fi, syncDir(dir)
}

// Snapshot is a loaded snapshot.
type Snapshot struct {
	Zxid     int64
	Tree     *datatree.Tree
	Sessions map[int64]int32
	// The ZxidDigest section (3.6+): the tree digest at DigestZxid.
	HasDigest     bool
	DigestZxid    int64
	DigestVersion int32
	Digest        uint64
}

// ReadSnapshot loads a snapshot file and verifies its seal(s).
func ReadSnapshot(path string, zxid int64, extendedTypes datatree.OwnerTypes) (*Snapshot, error) {
	if c := compressionOf(path); c != NoCompression {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if b, err = decompressSnapshot(c, b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return DecodeSnapshot(b, path, zxid, extendedTypes)
	}
	b, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	// DecodeSnapshot copies what it keeps, and returns only when nothing reads b any more.
	defer release()
	return DecodeSnapshot(b, path, zxid, extendedTypes)
}

// DecodeSnapshot loads a snapshot from its bytes; path labels errors.
func DecodeSnapshot(b []byte, path string, zxid int64, extendedTypes datatree.OwnerTypes) (*Snapshot, error) {
	// Quick validity check of Apache ZooKeeper (SnapStream.isValidSnapshot): the file ends
	// with the final seal's "/".
	if len(b) < 10 || string(b[len(b)-5:]) != "\x00\x00\x00\x01/" {
		return nil, fmt.Errorf("%s: not a complete snapshot", path)
	}
	d := jute.NewDecoder(b)
	sums := newSealSums(b)
	defer sums.wait()
	if uint32(d.Int()) != snapMagic {
		return nil, fmt.Errorf("%s: bad magic", path)
	}
	d.Int()
	d.Long()
	s := &Snapshot{Zxid: zxid, Sessions: make(map[int64]int32)}
	l := datatree.NewLoader(extendedTypes, 0)
	if err := decodeBody(sliceSource{d}, s.Sessions, l, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkSeal(sums, d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// 3.6+ writes a ZxidDigest and a second seal; 3.9 may add lastProcessedZxid and a third.
	if d.Remaining() >= 20 {
		s.DigestZxid = d.Long()
		s.DigestVersion = d.Int()
		s.Digest = uint64(d.Long())
		s.HasDigest = true
		if err := checkSeal(sums, d); err != nil {
			return nil, fmt.Errorf("%s: digest section: %w", path, err)
		}
		if d.Remaining() >= 8+8+5 {
			if last := d.Long(); d.Err() == nil && last > s.Zxid {
				s.Zxid = last
			}
			if err := checkSeal(sums, d); err != nil {
				return nil, fmt.Errorf("%s: last zxid section: %w", path, err)
			}
		}
	}
	t, err := l.Tree(s.Zxid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Tree = t
	return s, nil
}

// checkSeal verifies a seal: the Adler-32 of every byte before it, then "/".
func checkSeal(sums *sealSums, d *jute.Decoder) error {
	want := sums.sum(d.Off)
	got := d.Long()
	slash := d.String()
	if d.Err() != nil || slash != "/" {
		return fmt.Errorf("snapshot seal missing")
	}
	if uint32(got) != want {
		return fmt.Errorf("snapshot checksum mismatch")
	}
	return nil
}

// The body: what a snapshot file and the SNAP stream of the learner-leader protocol share
// (SerializeUtils.serializeSnapshot: the session table, then DataTree.serialize: the ACL
// cache, every node, and "/"). A file adds its header before and its seals and ZxidDigest
// after; the SNAP stream adds nothing before and the "BenWasHere" signature after
// (quorum-protocol.md §5.3).

// encodeBody encodes the body into e, calling flush whenever e has gathered enough bytes to
// hand on (and once at the end). Sessions are written in id order and ACL cache entries in
// ref order; nodes in v's order (parents first).
func encodeBody(e *jute.Encoder, flush func(), v *datatree.SnapshotView, sessions map[int64]int32) {
	ids := make([]int64, 0, len(sessions))
	for id := range sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	e.Int(int32(len(ids)))
	for _, id := range ids {
		e.Long(id)
		e.Int(sessions[id])
	}
	refs := make([]int64, 0, len(v.ACLs))
	for r := range v.ACLs {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i] < refs[j] })
	e.Int(int32(len(refs)))
	for _, r := range refs {
		e.Long(r)
		jute.EncodeACLs(e, v.ACLs[r])
	}
	flush()
	// A view of a live tree is read in small steps under the tree's read lock, and each
	// step's nodes are encoded after it is released; flushing (I/O) waits for the pauses.
	v.EachNode(func(n *datatree.SnapNode) {
		e.String(n.Path)
		e.Buffer(n.Data)
		e.Long(n.ACLRef)
		n.Stat.Encode(e)
	}, func() {
		if len(e.B) > 64<<10 {
			flush()
		}
	})
	e.String("/")
	flush()
}

// WriteSnapshotBody writes the body of a snapshot to w: the session table, the ACL cache,
// v's nodes and the "/" end marker, with no file header, seal or digest. It is the payload
// the leader streams after SNAP (quorum/wire.WriteSnap adds the signature).
func WriteSnapshotBody(w io.Writer, v *datatree.SnapshotView, sessions map[int64]int32) error {
	var e jute.Encoder
	var err error
	encodeBody(&e, func() {
		if err == nil && len(e.B) > 0 {
			_, err = w.Write(e.B)
		}
		e.B = e.B[:0]
	}, v, sessions)
	return err
}

// ReadSnapshotBody reads a body written by WriteSnapshotBody (or Apache ZooKeeper's
// serializeSnapshot) from r and loads it into a tree whose lastProcessedZxid is zxid. r is
// read exactly up to the end of the body, never beyond, so the caller can go on reading the
// stream; pass a buffered reader. maxBuffer bounds every path and data length
// (jute.maxbuffer; 0 means 1 MiB). If view is not nil, the ACL cache is stored in
// view.ACLs and the nodes are appended to view.Nodes in stream order, so that
// WriteSnapshotBody(view) writes the bytes read again (given sessions and cache refs in
// ascending order, as Apache ZooKeeper writes small tables).
func ReadSnapshotBody(r io.Reader, zxid int64, extendedTypes datatree.OwnerTypes, maxBuffer int, view *datatree.SnapshotView) (*Snapshot, error) {
	if maxBuffer <= 0 {
		maxBuffer = 1 << 20
	}
	s := &Snapshot{Zxid: zxid, Sessions: make(map[int64]int32)}
	l := datatree.NewLoader(extendedTypes, 0)
	if view != nil && view.ACLs == nil {
		view.ACLs = make(map[int64][]jute.ACL)
	}
	if err := decodeBody(&streamSource{r: r, max: maxBuffer}, s.Sessions, l, view); err != nil {
		return nil, err
	}
	t, err := l.Tree(zxid)
	if err != nil {
		return nil, err
	}
	s.Tree = t
	return s, nil
}

// bodySource is what decodeBody reads from: a file's bytes (sliceSource) or a stream
// (streamSource). The first error sticks and later reads return zero values.
type bodySource interface {
	Int() int32
	Long() int64
	String() string
	Buffer() []byte
	Err() error
	count(minSize int) int // a vector or table count; -1 for null
	acls() []jute.ACL
	stat(st *jute.StatPersisted)
}

// decodeBody reads the body into sessions and l (and view, if not nil).
func decodeBody(d bodySource, sessions map[int64]int32, l *datatree.Loader, view *datatree.SnapshotView) error {
	n := d.count(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.Long()
		sessions[id] = d.Int()
	}
	n = d.count(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		ref := d.Long()
		acl := d.acls()
		l.AddACL(ref, acl)
		if view != nil {
			view.ACLs[ref] = acl
		}
	}
	if s, ok := d.(sliceSource); ok && view == nil && d.Err() == nil {
		return s.nodes(l) // a file's bytes: read in place (snapload.go)
	}
	for d.Err() == nil {
		p := d.String()
		if p == "/" {
			break
		}
		data := d.Buffer()
		ref := d.Long()
		var st jute.StatPersisted
		d.stat(&st)
		if d.Err() != nil {
			break
		}
		if err := l.AddNode(p, data, ref, st); err != nil {
			return err
		}
		if view != nil {
			view.Nodes = append(view.Nodes, datatree.SnapNode{Path: p, Data: data, ACLRef: ref, Stat: st})
		}
	}
	return d.Err()
}

// sliceSource reads a body from a snapshot file's bytes.
type sliceSource struct{ *jute.Decoder }

func (s sliceSource) count(minSize int) int       { return s.VectorLen(minSize) }
func (s sliceSource) acls() []jute.ACL            { return jute.DecodeACLs(s.Decoder) }
func (s sliceSource) stat(st *jute.StatPersisted) { st.Decode(s.Decoder) }

// statSize is the encoded size of a StatPersisted.
const statSize = 6*8 + 3*4

// streamSource reads a body from a stream whose length is unknown: every length is bounded
// by max and counts never size an allocation up front, so hostile input costs no more
// memory than the bytes actually sent.
type streamSource struct {
	r   io.Reader
	max int
	err error
	buf [statSize]byte
}

func (s *streamSource) Err() error { return s.err }

func (s *streamSource) read(n int) []byte {
	if s.err != nil {
		return nil
	}
	var b []byte
	if n <= len(s.buf) {
		b = s.buf[:n]
	} else {
		b = make([]byte, n)
	}
	if _, err := io.ReadFull(s.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.err = fmt.Errorf("snapshot stream: %w", err)
		return nil
	}
	return b
}

func (s *streamSource) Int() int32 {
	if b := s.read(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (s *streamSource) Long() int64 {
	if b := s.read(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// length reads a buffer or string length: -1 (null) or 0..max.
func (s *streamSource) length(what string) int {
	n := s.Int()
	if s.err != nil {
		return 0
	}
	if n < -1 || int64(n) > int64(s.max) {
		s.err = fmt.Errorf("snapshot stream: bad %s length %d", what, n)
		return 0
	}
	return int(n)
}

func (s *streamSource) Buffer() []byte {
	n := s.length("buffer")
	if s.err != nil || n == -1 {
		return nil
	}
	b := s.read(n)
	if b == nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

// String reads a ustring; null reads as "" (as jute.Decoder does).
func (s *streamSource) String() string {
	n := s.length("string")
	if s.err != nil || n == -1 {
		return ""
	}
	return string(s.read(n))
}

func (s *streamSource) count(int) int {
	n := s.Int()
	if s.err == nil && n < -1 {
		s.err = fmt.Errorf("snapshot stream: bad count %d", n)
		return 0
	}
	return int(n)
}

func (s *streamSource) acls() []jute.ACL {
	n := s.count(12)
	if n < 0 || s.err != nil {
		return nil
	}
	acl := make([]jute.ACL, 0, min(n, 16))
	for i := 0; i < n && s.err == nil; i++ {
		var a jute.ACL
		a.Perms = s.Int()
		a.Id.Scheme = s.String()
		a.Id.ID = s.String()
		acl = append(acl, a)
	}
	return acl
}

func (s *streamSource) stat(st *jute.StatPersisted) {
	if b := s.read(statSize); b != nil {
		st.Decode(jute.NewDecoder(b))
	}
}
