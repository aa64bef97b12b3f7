package inspect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// Problem is one defect found by Check, with the file and byte offset it is at.
type Problem struct {
	File    string
	Offset  int64
	Message string
	Warning bool // recoverable, e.g. a torn final record that startup cuts off
}

func (p Problem) String() string {
	kind := "ERROR"
	if p.Warning {
		kind = "WARNING"
	}
	return fmt.Sprintf("%s %s:%d: %s", kind, p.File, p.Offset, p.Message)
}

// CheckReport is the outcome of Check.
type CheckReport struct {
	SnapDir, LogDir string
	Snapshots       int
	ValidSnapshots  int
	Logs            int
	Txns            int
	FirstZxid       int64
	LastLoggedZxid  int64
	Restored        *persistence.Restored
	Problems        []Problem

	zxids []int64 // every logged zxid, in log order
}

// OK reports whether no errors (warnings allowed) were found.
func (r *CheckReport) OK() bool {
	for _, p := range r.Problems {
		if !p.Warning {
			return false
		}
	}
	return true
}

type zfile struct {
	path string
	zxid int64
}

func listZxidFiles(dir, prefix string) ([]zfile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []zfile
	for _, e := range ents {
		parts := strings.Split(e.Name(), ".")
		if e.IsDir() || len(parts) < 2 || parts[0] != prefix {
			continue
		}
		z, err := strconv.ParseUint(parts[1], 16, 64)
		if err != nil {
			continue
		}
		out = append(out, zfile{filepath.Join(dir, e.Name()), int64(z)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].zxid < out[j].zxid })
	return out, nil
}

// VersionDir returns dir/version-2 if it exists, else dir itself when it already holds
// log/snapshot files (so the version-2 directory may be given directly).
func VersionDir(dir string) string {
	v := filepath.Join(dir, persistence.VersionDir)
	if st, err := os.Stat(v); err == nil && st.IsDir() {
		return v
	}
	if filepath.Base(dir) == persistence.VersionDir {
		return dir
	}
	return v
}

// Check verifies a data dir: the seals of every snapshot, every log record's checksum, end
// marker and decoding, strictly increasing and gap-free zxids, and that the newest valid
// snapshot plus the logs restore.
func Check(dataDir, dataLogDir string) (*CheckReport, error) {
	if dataLogDir == "" {
		dataLogDir = dataDir
	}
	rep := &CheckReport{SnapDir: VersionDir(dataDir), LogDir: VersionDir(dataLogDir), FirstZxid: -1, LastLoggedZxid: -1}
	snaps, err := listZxidFiles(rep.SnapDir, "snapshot")
	if err != nil {
		return nil, err
	}
	logs, err := listZxidFiles(rep.LogDir, "log")
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 && len(logs) == 0 {
		return nil, fmt.Errorf("no snapshot.* or log.* files in %s or %s", rep.SnapDir, rep.LogDir)
	}
	add := func(p Problem) { rep.Problems = append(rep.Problems, p) }
	rep.Snapshots = len(snaps)
	for _, sf := range snaps {
		if checkSnapshot(sf, add) {
			rep.ValidSnapshots++
		}
	}
	rep.Logs = len(logs)
	var torn *Problem
	prev := int64(-1)
	for i, lf := range logs {
		t := checkLog(lf, i == len(logs)-1, &prev, rep, add)
		if t != nil {
			torn = t
		}
	}
	if len(snaps) > 0 && rep.ValidSnapshots == 0 {
		add(Problem{File: rep.SnapDir, Message: "no valid snapshot: the data dir cannot be loaded"})
	}
	// Restore must not modify the data dir: a torn tail would be cut off, so restore from a
	// copy of that one file with links to the others.
	snapDir, logDir := rep.SnapDir, rep.LogDir
	if torn != nil {
		tmp, err := os.MkdirTemp("", "zktool-check-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		for _, lf := range logs {
			dst := filepath.Join(tmp, filepath.Base(lf.path))
			if lf.path == torn.File {
				b, err := os.ReadFile(lf.path)
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					return nil, err
				}
			} else if err := os.Symlink(lf.path, dst); err != nil {
				return nil, err
			}
		}
		logDir = tmp
	}
	res, err := persistence.Restore(snapDir, logDir, persistence.RestoreOptions{ExtendedTypes: datatree.OwnersExtended, Log: zerolog.Nop()}, nil)
	if err != nil {
		add(Problem{File: rep.SnapDir, Message: "restore failed: " + strings.ReplaceAll(err.Error(), logDir, rep.LogDir)})
	} else {
		rep.Restored = res
		// The txn right after the snapshot must be in the logs, or everything up to the
		// next logged txn is lost.
		for _, z := range rep.zxids {
			if z <= res.SnapZxid {
				continue
			}
			if (z>>32 == res.SnapZxid>>32 && z != res.SnapZxid+1) || (z>>32 != res.SnapZxid>>32 && z&0xffffffff != 1) {
				add(Problem{File: rep.LogDir, Message: fmt.Sprintf("gap between the snapshot and the logs: snapshot zxid 0x%x, next logged zxid 0x%x", res.SnapZxid, z)})
			}
			break
		}
		if rep.LastLoggedZxid > res.LastZxid {
			add(Problem{File: rep.LogDir, Message: fmt.Sprintf("restore stopped at zxid 0x%x but the logs go to 0x%x", res.LastZxid, rep.LastLoggedZxid)})
		}
	}
	return rep, nil
}

func checkSnapshot(sf zfile, add func(Problem)) bool {
	b, err := os.ReadFile(sf.path)
	if err != nil {
		add(Problem{File: sf.path, Message: err.Error()})
		return false
	}
	if b, err = persistence.DecompressSnapshot(sf.path, b); err != nil {
		add(Problem{File: sf.path, Message: err.Error()})
		return false
	}
	if len(b) < 10 || !bytes.Equal(b[len(b)-5:], []byte{0, 0, 0, 1, '/'}) {
		add(Problem{File: sf.path, Offset: int64(len(b)), Message: "incomplete snapshot: does not end with the seal's \"/\" (SnapStream.isValidSnapshot fails)"})
		return false
	}
	s, err := ParseSnapshot(b)
	if err != nil {
		msg := err.Error()
		off := int64(0)
		if strings.HasPrefix(msg, "offset ") {
			fmt.Sscanf(msg, "offset %d:", &off)
			msg = msg[strings.Index(msg, ":")+2:]
		}
		add(Problem{File: sf.path, Offset: off, Message: msg})
		return false
	}
	if s.SealErr != nil {
		msg := s.SealErr.Error()
		off := int64(0)
		fmt.Sscanf(msg, "offset %d:", &off)
		add(Problem{File: sf.path, Offset: off, Message: msg[strings.Index(msg, ":")+2:]})
		return false
	}
	if s.Root() == nil {
		add(Problem{File: sf.path, Message: "snapshot has no root node"})
		return false
	}
	return true
}

// checkLog scans one log file; it returns the torn-tail problem of the newest file, if any.
func checkLog(lf zfile, last bool, prev *int64, rep *CheckReport, add func(Problem)) *Problem {
	f, err := os.Open(lf.path)
	if err != nil {
		add(Problem{File: lf.path, Message: err.Error()})
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		add(Problem{File: lf.path, Message: err.Error()})
		return nil
	}
	if len(b) < 16 {
		p := Problem{File: lf.path, Message: "no file header", Warning: last}
		add(p)
		return &p
	}
	if binary.BigEndian.Uint32(b) != 0x5A4B4C47 {
		add(Problem{File: lf.path, Message: fmt.Sprintf("bad magic 0x%08x (want 0x5a4b4c47 \"ZKLG\")", binary.BigEndian.Uint32(b))})
		return nil
	}
	if v := int32(binary.BigEndian.Uint32(b[4:])); v != 2 {
		add(Problem{File: lf.path, Offset: 4, Message: fmt.Sprintf("unsupported version %d", v)})
	}
	off := int64(16)
	first := true
	for {
		rest := b[off:]
		if len(rest) == 0 || (len(rest) < 12 && allZero(rest)) {
			return nil
		}
		torn := func(msg string) *Problem {
			p := Problem{File: lf.path, Offset: off, Message: "partial record: " + msg + " (startup drops it)", Warning: last}
			if !last {
				p.Message = "partial record in a log that is not the newest: " + msg
			}
			add(p)
			if last {
				return &p
			}
			return nil
		}
		if len(rest) < 12 {
			return torn("short record header")
		}
		sum := binary.BigEndian.Uint64(rest)
		n := int32(binary.BigEndian.Uint32(rest[8:]))
		if sum == 0 && n == 0 {
			if !allZero(rest) {
				add(Problem{File: lf.path, Offset: off, Message: "non-zero bytes after the end of the log (in the preallocated padding)", Warning: true})
			}
			return nil
		}
		if n <= 0 || int64(n)+13 > int64(len(rest)) {
			return torn(fmt.Sprintf("record length %d does not fit the file", n))
		}
		body := rest[12 : 12+n]
		if rest[12+n] != 'B' {
			return torn(fmt.Sprintf("end-of-record byte is 0x%02x, not 0x42", rest[12+n]))
		}
		if got := uint64(adler32.Checksum(body)); got != sum {
			add(Problem{File: lf.path, Offset: off, Message: fmt.Sprintf("CRC check failed: stored 0x%x, computed 0x%x", sum, got)})
		} else if err := decodeCheck(body); err != nil {
			add(Problem{File: lf.path, Offset: off, Message: err.Error()})
		} else {
			zxid := int64(binary.BigEndian.Uint64(body[12:]))
			switch {
			case first && zxid != lf.zxid:
				add(Problem{File: lf.path, Offset: off, Message: fmt.Sprintf("first zxid 0x%x differs from the file name's 0x%x", zxid, lf.zxid)})
			case *prev >= 0 && zxid <= *prev:
				add(Problem{File: lf.path, Offset: off, Message: fmt.Sprintf("zxid 0x%x does not follow 0x%x (not increasing)", zxid, *prev)})
			case *prev >= 0 && zxid>>32 == *prev>>32 && zxid != *prev+1:
				add(Problem{File: lf.path, Offset: off, Message: fmt.Sprintf("gap: zxid 0x%x after 0x%x", zxid, *prev)})
			}
			first = false
			if rep.FirstZxid < 0 {
				rep.FirstZxid = zxid
			}
			*prev = zxid
			rep.LastLoggedZxid = max(rep.LastLoggedZxid, zxid)
			rep.zxids = append(rep.zxids, zxid)
			rep.Txns++
		}
		off += 13 + int64(n)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeCheck decodes the txn header and record like the server's replay does.
func decodeCheck(b []byte) error {
	d := jute.NewDecoder(b)
	var h jute.TxnHeader
	h.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("txn header: %w", d.Err())
	}
	rec, err := jute.NewTxn(h.Type)
	if err != nil {
		return fmt.Errorf("zxid 0x%x: %w", h.Zxid, err)
	}
	rec.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("zxid 0x%x: %s: %w", h.Zxid, opName(h.Type), d.Err())
	}
	return nil
}

// WriteCheckReport prints a summary and the problems.
func WriteCheckReport(w io.Writer, r *CheckReport) {
	fmt.Fprintf(w, "snapshot dir: %s\n", r.SnapDir)
	if r.LogDir != r.SnapDir {
		fmt.Fprintf(w, "log dir:      %s\n", r.LogDir)
	}
	fmt.Fprintf(w, "snapshots:    %d (%d valid)\n", r.Snapshots, r.ValidSnapshots)
	if r.FirstZxid >= 0 {
		fmt.Fprintf(w, "logs:         %d, %d txns, zxid 0x%x..0x%x\n", r.Logs, r.Txns, r.FirstZxid, r.LastLoggedZxid)
	} else {
		fmt.Fprintf(w, "logs:         %d, %d txns\n", r.Logs, r.Txns)
	}
	if res := r.Restored; res != nil {
		fmt.Fprintf(w, "restore:      snapshot 0x%x + %d txns replayed -> last zxid 0x%x, %d nodes, %d sessions\n",
			res.SnapZxid, res.Replayed, res.LastZxid, res.Tree.NodeCount(), len(res.Sessions))
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, p.String())
	}
	if r.OK() {
		fmt.Fprintln(w, "OK")
	} else {
		fmt.Fprintln(w, "FAILED")
	}
}

// Purge keeps the newest count snapshots (at least 3, as PurgeTxnLog requires) and the logs
// needed to replay from them, and prints what it removed like PurgeTxnLog does.
func Purge(w io.Writer, dataDir, dataLogDir string, count int) error {
	if count < 3 {
		return fmt.Errorf("count should be greater than or equal to 3")
	}
	if dataLogDir == "" {
		dataLogDir = dataDir
	}
	removed, err := persistence.Purge(VersionDir(dataDir), VersionDir(dataLogDir), count)
	for _, p := range removed {
		fmt.Fprintf(w, "Removing file: %s\n", p)
	}
	return err
}
