package inspect

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zkgo/zkgo/persistence"
)

// SnapNode is one node as stored in a snapshot.
type SnapNode struct {
	Path                        string
	Data                        []byte // nil for null data
	ACLRef                      int64
	Czxid, Mzxid, Ctime, Mtime  int64
	Version, Cversion, Aversion int32
	EphemeralOwner, Pzxid       int64

	children []string // names, in insertion (snapshot) order
}

// Session is one session table entry of a snapshot.
type Session struct {
	ID      int64
	Timeout int32
}

// Snap is a parsed snapshot file.
type Snap struct {
	Magic, Version int32
	DBID           int64
	Sessions       []Session // in file order
	ACLs           map[int64][]acl
	Nodes          []*SnapNode // in file order
	byPath         map[string]*SnapNode

	// Seals are the offsets of the seals found and whether each matched; SealErr describes
	// the first problem (missing or mismatching seal).
	Seals   []int64
	SealErr error
	// Digest is the ZxidDigest section (3.6+), when present.
	HasDigest     bool
	DigestZxid    int64
	DigestVersion int32
	Digest        int64
	// LastZxid is the 3.9 lastProcessedZxid trailer, or -1.
	LastZxid int64
}

// ParseSnapshot reads a snapshot the way FileSnap.deserialize does, then also checks the seals.
// A structural error (bad magic, truncated node list, missing parent) is returned with the
// byte offset; seal problems only set SealErr, as SnapshotFormatter does not check them.
func ParseSnapshot(b []byte) (*Snap, error) {
	r := &reader{b: b}
	s := &Snap{ACLs: map[int64][]acl{}, byPath: map[string]*SnapNode{}, LastZxid: -1}
	s.Magic = r.int()
	s.Version = r.int()
	s.DBID = r.long()
	if r.err != nil {
		return nil, fmt.Errorf("offset %d: file header: %w", r.off, r.err)
	}
	if uint32(s.Magic) != 0x5A4B534E {
		return nil, fmt.Errorf("offset 0: mismatching magic headers %d !=  %d", s.Magic, 0x5A4B534E)
	}
	n := r.int()
	for i := int32(0); i < n && r.err == nil; i++ {
		id := r.long()
		to := r.int()
		s.Sessions = append(s.Sessions, Session{id, to})
	}
	n = r.int()
	for i := int32(0); i < n && r.err == nil; i++ {
		ref := r.long()
		acls, _ := readACLs(r)
		s.ACLs[ref] = acls
	}
	if r.err != nil {
		return nil, fmt.Errorf("offset %d: sessions/ACL cache: %w", r.off, r.err)
	}
	for {
		at := r.off
		p, _ := r.str()
		if r.err != nil {
			return nil, fmt.Errorf("offset %d: node list: %w", at, r.err)
		}
		if p == "/" {
			break
		}
		nd := &SnapNode{Path: p}
		nd.Data = r.buffer()
		nd.ACLRef = r.long()
		nd.Czxid, nd.Mzxid, nd.Ctime, nd.Mtime = r.long(), r.long(), r.long(), r.long()
		nd.Version, nd.Cversion, nd.Aversion = r.int(), r.int(), r.int()
		nd.EphemeralOwner, nd.Pzxid = r.long(), r.long()
		if r.err != nil {
			return nil, fmt.Errorf("offset %d: node %q: %w", at, p, r.err)
		}
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			parent := s.byPath[p[:i]]
			if parent == nil {
				return nil, fmt.Errorf("offset %d: Invalid Datatree, unable to find parent %s of path %s", at, p[:i], p)
			}
			parent.children = append(parent.children, p[i+1:])
		}
		s.byPath[p] = nd
		s.Nodes = append(s.Nodes, nd)
	}
	// Seal #1, then the optional digest with seal #2 and lastProcessedZxid with seal #3.
	s.checkSeal(r)
	if s.SealErr == nil && r.remaining() >= 20+8+5 {
		s.HasDigest = true
		s.DigestZxid, s.DigestVersion, s.Digest = r.long(), r.int(), r.long()
		s.checkSeal(r)
		if s.SealErr == nil && r.remaining() >= 8+8+5 {
			s.LastZxid = r.long()
			s.checkSeal(r)
		}
	}
	if s.SealErr == nil && r.remaining() > 0 {
		s.SealErr = fmt.Errorf("offset %d: %d unexpected bytes after the last seal", r.off, r.remaining())
	}
	return s, nil
}

func (s *Snap) checkSeal(r *reader) {
	at := r.off
	want := uint64(adler32.Checksum(r.b[:at]))
	got := r.long()
	slash, _ := r.str()
	switch {
	case r.err != nil || slash != "/":
		s.SealErr = fmt.Errorf("offset %d: snapshot seal missing", at)
	case uint64(got) != want:
		s.SealErr = fmt.Errorf("offset %d: snapshot checksum mismatch (stored 0x%x, computed 0x%x)", at, uint64(got), want)
	default:
		s.Seals = append(s.Seals, int64(at))
	}
}

// Root is the root node (stored under the path "").
func (s *Snap) Root() *SnapNode { return s.byPath[""] }

// Children returns the child names of n in Java HashSet iteration order (DataNode's
// children set starts as new HashSet<>(8)).
func (s *Snap) Children(n *SnapNode) []string {
	hs := make([]int32, len(n.children))
	for i, c := range n.children {
		hs[i] = javaHash(c)
	}
	out := make([]string, len(hs))
	for i, j := range hashOrder(hs, 8) {
		out[i] = n.children[j]
	}
	return out
}

func readSnapFile(path string) (*Snap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, err = persistence.DecompressSnapshot(path, b); err != nil { // .gz, .snappy
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := ParseSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// DumpSnapshot prints a snapshot as `SnapshotFormatter [-d] FILE` does; with asJSON, as
// `SnapshotFormatter -json FILE` (ncdu format) with the given timestamp (ms).
func DumpSnapshot(w io.Writer, path string, data, asJSON bool, now time.Time) error {
	s, err := readSnapFile(path)
	if err != nil {
		return err
	}
	if s.Root() == nil {
		return fmt.Errorf("%s: snapshot has no root node", path)
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	if asJSON {
		fmt.Fprintf(bw, `[1,0,{"progname":"SnapshotFormatter.java","progver":"0.01","timestamp":%d}`, now.UnixMilli())
		ino := 1000
		s.printJSON(bw, s.Root(), "/", &ino)
		bw.WriteString("]")
		return nil
	}
	fmt.Fprintf(bw, "ZNode Details (count=%d):\n", len(s.Nodes)+1) // the root is also under "/"
	zxid := s.printZnode(bw, s.Root(), "/", data)
	bw.WriteString("----\n")
	bw.WriteString("Session Details (sid, timeout, ephemeralCount):\n")
	eph := map[int64]int{}
	for _, n := range s.Nodes {
		if n.EphemeralOwner != 0 {
			eph[n.EphemeralOwner]++
		}
	}
	hs := make([]int32, len(s.Sessions))
	for i, se := range s.Sessions {
		hs[i] = longHash(se.ID)
	}
	for _, i := range hashOrder(hs, 16) {
		se := s.Sessions[i]
		fmt.Fprintf(bw, "%s, %d, %d\n", hex016(se.ID), se.Timeout, eph[se.ID])
	}
	nameZxid := int64(-1)
	if z, err := strconv.ParseUint(strings.TrimPrefix(filepath.Base(path), "snapshot."), 16, 64); err == nil {
		nameZxid = int64(z)
	}
	fmt.Fprintf(bw, "----\nLast zxid: 0x%s\n", strconv.FormatUint(uint64(max(nameZxid, zxid)), 16))
	return nil
}

func (s *Snap) printZnode(w *bufio.Writer, n *SnapNode, name string, data bool) int64 {
	w.WriteString("----\n")
	w.WriteString(name + "\n")
	fmt.Fprintf(w, "  cZxid = %s\n  ctime = %s\n  mZxid = %s\n  mtime = %s\n  pZxid = %s\n",
		hex016(n.Czxid), javaDateString(n.Ctime), hex016(n.Mzxid), javaDateString(n.Mtime), hex016(n.Pzxid))
	fmt.Fprintf(w, "  cversion = %d\n  dataVersion = %d\n  aclVersion = %d\n  ephemeralOwner = %s\n",
		n.Cversion, n.Version, n.Aversion, hex016(n.EphemeralOwner))
	if data {
		w.WriteString("  data = " + base64.StdEncoding.EncodeToString(n.Data) + "\n")
	} else {
		fmt.Fprintf(w, "  dataLength = %d\n", len(n.Data))
	}
	zxid := max(n.Mzxid, n.Pzxid)
	for _, c := range s.Children(n) {
		p := name + "/" + c
		if name == "/" {
			p = name + c
		}
		child := s.byPath[p]
		if child == nil {
			continue
		}
		zxid = max(zxid, s.printZnode(w, child, p, data))
	}
	return zxid
}

func (s *Snap) printJSON(w *bufio.Writer, n *SnapNode, full string, ino *int) {
	name := full
	if full != "/" {
		name = full[strings.LastIndexByte(full, '/')+1:]
	}
	*ino++
	node := fmt.Sprintf(`{"name":"%s","asize":%d,"dsize":%d,"dev":0,"ino":%d}`, jsonEscape(name), len(n.Data), len(n.Data), *ino)
	w.WriteString(",")
	kids := s.Children(n)
	if len(kids) == 0 {
		w.WriteString(node)
		return
	}
	w.WriteString("[" + node)
	for _, c := range kids {
		p := full + "/" + c
		if full == "/" {
			p = full + c
		}
		if child := s.byPath[p]; child != nil {
			s.printJSON(w, child, p, ino)
		}
	}
	w.WriteString("]")
}

// jsonEscape is json-simple's JSONValue.escape as the Debian 3.8 build behaves: "/" is not
// escaped (the vectors show "name":"/").
func jsonEscape(s string) string {
	var sb strings.Builder
	for _, u := range s {
		switch {
		case u == '"':
			sb.WriteString(`\"`)
		case u == '\\':
			sb.WriteString(`\\`)
		case u == '\b':
			sb.WriteString(`\b`)
		case u == '\f':
			sb.WriteString(`\f`)
		case u == '\n':
			sb.WriteString(`\n`)
		case u == '\r':
			sb.WriteString(`\r`)
		case u == '\t':
			sb.WriteString(`\t`)
		case u <= 0x1F, u >= 0x7F && u <= 0x9F, u >= 0x2000 && u <= 0x20FF:
			fmt.Fprintf(&sb, `\u%04X`, u)
		default:
			sb.WriteRune(u)
		}
	}
	return sb.String()
}
