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
	name, _, err := writeSnapshot(dir, v, sessions)
	return name, err
}

// WriteSnapshotMeta writes a snapshot and records it in the catalog.
func WriteSnapshotMeta(dir string, v *datatree.SnapshotView, sessions map[int64]int32, m *Meta) (string, error) {
	name, fi, err := writeSnapshot(dir, v, sessions)
	if err != nil || m == nil {
		return name, err
	}
	return name, m.Record(fi)
}

func writeSnapshot(dir string, v *datatree.SnapshotView, sessions map[int64]int32) (string, FileInfo, error) {
	var fi FileInfo
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fi, err
	}
	final := filepath.Join(dir, SnapName(v.Zxid))
	tmp := filepath.Join(dir, "tmp."+SnapName(v.Zxid))
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
	cw := &checkedWriter{w: bufio.NewWriterSize(f, 1<<20), sum: adler32.New()}
	e := &cw.e
	e.Int(snapMagic)
	e.Int(version)
	e.Long(-1)
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
	cw.flushRecord()
	for i := range v.Nodes {
		n := &v.Nodes[i]
		e.String(n.Path)
		e.Buffer(n.Data)
		e.Long(n.ACLRef)
		n.Stat.Encode(e)
		if len(e.B) > 64<<10 {
			cw.flushRecord()
		}
	}
	e.String("/")
	cw.flushRecord()
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
	fi = FileInfo{Name: SnapName(v.Zxid), Kind: "snapshot", FirstZxid: v.Zxid, LastZxid: v.Zxid, Size: cw.size, Checksum: seal, Written: time.Now().UnixMilli()}
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
func ReadSnapshot(path string, zxid int64, extendedTypes bool) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeSnapshot(b, path, zxid, extendedTypes)
}

// DecodeSnapshot loads a snapshot from its bytes; path labels errors.
func DecodeSnapshot(b []byte, path string, zxid int64, extendedTypes bool) (*Snapshot, error) {
	// Quick validity check of Apache ZooKeeper (SnapStream.isValidSnapshot): the file ends
	// with the final seal's "/".
	if len(b) < 10 || string(b[len(b)-5:]) != "\x00\x00\x00\x01/" {
		return nil, fmt.Errorf("%s: not a complete snapshot", path)
	}
	d := jute.NewDecoder(b)
	if uint32(d.Int()) != snapMagic {
		return nil, fmt.Errorf("%s: bad magic", path)
	}
	d.Int()
	d.Long()
	s := &Snapshot{Zxid: zxid, Sessions: make(map[int64]int32)}
	n := d.VectorLen(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.Long()
		s.Sessions[id] = d.Int()
	}
	// A node takes about 180 bytes in a snapshot with 100-byte values; the hint only sizes
	// the path index up front.
	l := datatree.NewLoader(extendedTypes, len(b)/180)
	n = d.VectorLen(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		ref := d.Long()
		l.AddACL(ref, jute.DecodeACLs(d))
	}
	for d.Err() == nil {
		p := d.String()
		if p == "/" {
			break
		}
		data := d.Buffer()
		ref := d.Long()
		var st jute.StatPersisted
		st.Decode(d)
		if d.Err() != nil {
			break
		}
		if err := l.AddNode(p, data, ref, st); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("%s: %w", path, d.Err())
	}
	if err := checkSeal(b, d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// 3.6+ writes a ZxidDigest and a second seal; 3.9 may add lastProcessedZxid and a third.
	if d.Remaining() >= 20 {
		s.DigestZxid = d.Long()
		s.DigestVersion = d.Int()
		s.Digest = uint64(d.Long())
		s.HasDigest = true
		if err := checkSeal(b, d); err != nil {
			return nil, fmt.Errorf("%s: digest section: %w", path, err)
		}
		if d.Remaining() >= 8+8+5 {
			if last := d.Long(); d.Err() == nil && last > s.Zxid {
				s.Zxid = last
			}
			if err := checkSeal(b, d); err != nil {
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
func checkSeal(b []byte, d *jute.Decoder) error {
	want := uint32(adler32.Checksum(b[:d.Off]))
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

var _ = io.EOF
var _ = binary.BigEndian
