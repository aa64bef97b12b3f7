package persistence

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// buildDataDir writes n creates (/n0../n<n-1>) to a log, with a snapshot taken after snapAt
// of them (0 = only the initial empty snapshot). It returns the version-2 dir and the path
// of each log file.
func buildDataDir(t *testing.T, n, snapAt int) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), VersionDir)
	tree := datatree.New()
	if _, err := WriteSnapshot(dir, tree.CopyForSnapshot(), nil); err != nil {
		t.Fatal(err)
	}
	l, err := OpenTxnLog(dir, LogOptions{PreAllocBytes: 64 << 10, ForceSync: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		hdr := jute.TxnHeader{ClientID: 1, Cxid: int32(i), Zxid: int64(i + 1), Time: 1000, Type: jute.OpCreate}
		rec := &jute.CreateTxn{Path: "/n" + string(rune('a'+i%26)) + itoa(i), Data: []byte("d"), ACL: jute.OpenACLUnsafe, ParentCVersion: int32(i + 1)}
		if err := l.Append(&hdr, rec); err != nil {
			t.Fatal(err)
		}
		tree.Lock()
		tree.ProcessTxn(&hdr, rec)
		tree.Unlock()
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		if snapAt > 0 && i+1 == snapAt {
			l.Roll()
			if _, err := WriteSnapshot(dir, tree.CopyForSnapshot(), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	l.Close()
	logs, _ := zxidFiles(dir, "log")
	var paths []string
	for _, f := range logs {
		paths = append(paths, f.path)
	}
	return dir, paths
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func restore(dir string, trustEmpty bool) (*Restored, error) {
	return Restore(dir, dir, RestoreOptions{TrustEmpty: trustEmpty, Log: zerolog.Nop()}, nil)
}

// recordOffsets returns the offset of each record of a log file.
func recordOffsets(t *testing.T, path string) []int64 {
	var offs []int64
	off := int64(16)
	err := ReadLogFile(path, func(lt *LoggedTxn) error {
		offs = append(offs, off)
		off += 13 + int64(len(MarshalTxn(&lt.Hdr, lt.Rec)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return offs
}

func TestTornTailIsTruncated(t *testing.T) {
	dir, logs := buildDataDir(t, 10, 0)
	last := logs[len(logs)-1]
	offs := recordOffsets(t, last)
	// Cut the last record in half, as a crash in the middle of a write leaves it.
	if err := os.Truncate(last, offs[9]+7); err != nil {
		t.Fatal(err)
	}
	res, err := restore(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.LastZxid != 9 || res.Tree.Get("/nj9") != nil || res.Tree.Get("/ni8") == nil {
		t.Fatalf("last zxid %d", res.LastZxid)
	}
	if fi, _ := os.Stat(last); fi.Size() != offs[9] {
		t.Fatalf("log not truncated to %d: %d", offs[9], fi.Size())
	}
	// A second restore is clean.
	if res, err := restore(dir, false); err != nil || res.LastZxid != 9 {
		t.Fatalf("second restore: %v", err)
	}
}

func TestCorruptLastRecordIsTornButMiddleIsRefused(t *testing.T) {
	dir, logs := buildDataDir(t, 10, 0)
	last := logs[len(logs)-1]
	offs := recordOffsets(t, last)
	flip := func(off int64) {
		f, _ := os.OpenFile(last, os.O_RDWR, 0)
		b := make([]byte, 1)
		f.ReadAt(b, off)
		b[0] ^= 0xff
		f.WriteAt(b, off)
		f.Close()
	}
	flip(offs[4] + 20) // inside record 5's txn bytes
	_, err := restore(dir, false)
	var ce *ErrCorrupt
	if !errors.As(err, &ce) || ce.Offset != offs[4] || !strings.Contains(err.Error(), last) {
		t.Fatalf("want corruption at %s offset %d, got %v", last, offs[4], err)
	}
	flip(offs[4] + 20) // repair, then damage the last record instead
	flip(offs[9] + 20)
	res, err := restore(dir, false)
	if err != nil || res.LastZxid != 9 {
		t.Fatalf("corrupt last record: %v", err)
	}
}

func TestMissingSnapshotIsRefused(t *testing.T) {
	dir, _ := buildDataDir(t, 5, 0)
	os.Remove(filepath.Join(dir, SnapName(0)))
	if _, err := restore(dir, false); err == nil || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("want refusal, got %v", err)
	}
	res, err := restore(dir, true)
	if err != nil || res.LastZxid != 5 {
		t.Fatalf("trust.empty: %v", err)
	}
}

func TestInvalidNewestSnapshotFallsBack(t *testing.T) {
	dir, _ := buildDataDir(t, 10, 6)
	snap := filepath.Join(dir, SnapName(6))
	b, _ := os.ReadFile(snap)
	b[40] ^= 0xff // breaks the seal's checksum
	os.WriteFile(snap, b, 0o644)
	res, err := restore(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	// snapshot.0 plus every log replays to the same state.
	if res.SnapZxid != 0 || res.LastZxid != 10 || res.Tree.NodeCount() != 14 {
		t.Fatalf("fallback: snap %d last %d nodes %d", res.SnapZxid, res.LastZxid, res.Tree.NodeCount())
	}
	// Without the log that covers the older snapshot, falling back is unsafe: refused.
	logs, _ := zxidFiles(dir, "log")
	os.Remove(logs[0].path)
	if _, err := restore(dir, false); err == nil {
		t.Fatal("fell back across missing logs")
	}
}
