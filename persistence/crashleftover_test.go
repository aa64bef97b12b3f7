package persistence

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// A kill -9 between creating log.<zxid> and committing its first record leaves a file that
// holds no transaction. The restart goes on from that same zxid, so the next log has the same
// name: it must replace the leftover instead of failing every write with "file exists", and
// the leftover must not stop the restore.
func TestLogLeftoverWithoutTxnIsReplaced(t *testing.T) {
	header := make([]byte, 16)
	binary.BigEndian.PutUint32(header[0:], logMagic)
	binary.BigEndian.PutUint32(header[4:], version)
	torn := append(append([]byte{}, header...), 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 40, 1, 2)
	cases := map[string][]byte{
		"empty":        nil,
		"short header": header[:7],
		"zero header":  make([]byte, 64<<10), // preallocated before the header reached the file
		"header only":  header,
		"header+zeros": append(append([]byte{}, header...), make([]byte, 4096)...),
		"torn 1st txn": torn,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), VersionDir)
			if _, err := WriteSnapshot(dir, datatree.New().CopyForSnapshot(), nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, LogName(1)), content, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Restore(dir, dir, RestoreOptions{Log: zerolog.Nop()}, nil)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if res.LastZxid != 0 {
				t.Fatalf("last zxid 0x%x, want 0", res.LastZxid)
			}
			l, err := OpenTxnLog(dir, LogOptions{PreAllocBytes: 64 << 10, ForceSync: true, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			hdr := jute.TxnHeader{ClientID: 1, Zxid: 1, Time: 1000, Type: jute.OpCreate}
			if err := l.Append(&hdr, &jute.CreateTxn{Path: "/a", Data: []byte("x"), ACL: jute.OpenACLUnsafe, ParentCVersion: 1}); err != nil {
				t.Fatalf("append after restart: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			res, err = Restore(dir, dir, RestoreOptions{Log: zerolog.Nop()}, nil)
			if err != nil || res.LastZxid != 1 || res.Tree.Get("/a") == nil {
				t.Fatalf("second restore: %v, last 0x%x", err, res.LastZxid)
			}
		})
	}
}

// A log that does hold transactions is never replaced.
func TestLogWithTxnIsNotReplaced(t *testing.T) {
	dir, _ := buildDataDir(t, 3, 0)
	l, err := OpenTxnLog(dir, LogOptions{ForceSync: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	hdr := jute.TxnHeader{ClientID: 1, Zxid: 1, Time: 1000, Type: jute.OpCreate}
	if err := l.Append(&hdr, &jute.CreateTxn{Path: "/z", ACL: jute.OpenACLUnsafe}); err == nil {
		t.Fatal("appending zxid 1 over an existing log.1 with transactions succeeded")
	}
}

// A log that was open when the server was killed stays "open" in the catalog. Once later logs
// and a newer snapshot cover it, purging it must not make the next start refuse.
func TestCheckCatalogCrashedOpenLog(t *testing.T) {
	dir := t.TempDir()
	touch := func(names ...string) {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cat := []FileInfo{
		{Name: LogName(1), Kind: "log", FirstZxid: 1, LastZxid: 1}, // crashed while open
		{Name: SnapName(3), Kind: "snapshot", FirstZxid: 3, LastZxid: 3},
		{Name: LogName(6), Kind: "log", FirstZxid: 6, LastZxid: 9, Closed: true},
		{Name: SnapName(9), Kind: "snapshot", FirstZxid: 9, LastZxid: 9},
		{Name: LogName(10), Kind: "log", FirstZxid: 10, LastZxid: 10}, // current
	}
	touch(SnapName(9), LogName(10))
	if err := CheckCatalog(cat, dir, dir); err != nil {
		t.Fatalf("purged logs covered by snapshot 9 refused: %v", err)
	}
	os.Remove(filepath.Join(dir, LogName(10)))
	if err := CheckCatalog(cat, dir, dir); err == nil {
		t.Fatal("missing current log accepted")
	}
	// With only snapshot 3, log.1 (zxids 1..5) is needed.
	early := []FileInfo{cat[0], cat[1], cat[2], cat[4]}
	touch(SnapName(3), LogName(6), LogName(10))
	if err := CheckCatalog(early, dir, dir); !errors.Is(err, ErrMissingFile) || !strings.Contains(err.Error(), LogName(1)) {
		t.Fatalf("missing log.1 with only snapshot 3: %v, want it refused", err)
	}
	touch(LogName(1))
	if err := CheckCatalog(early, dir, dir); err != nil {
		t.Fatal(err)
	}
}
