package persistence

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/zkgo/zkgo/server/datatree"
)

func seedFiles(f *testing.F, prefix string) {
	dir := f.TempDir()
	untarF(f, "testdata/standalone-datadir.tar.gz", dir)
	ents, _ := os.ReadDir(filepath.Join(dir, "standalone", VersionDir))
	for _, e := range ents {
		if len(e.Name()) > len(prefix) && e.Name()[:len(prefix)] == prefix {
			b, _ := os.ReadFile(filepath.Join(dir, "standalone", VersionDir, e.Name()))
			f.Add(b)
		}
	}
}

// FuzzReadLogFile: arbitrary log bytes are read without panicking, and whatever is returned
// before an error is a well-formed txn.
func FuzzReadLogFile(f *testing.F) {
	seedFiles(f, "log.")
	f.Fuzz(func(t *testing.T, b []byte) {
		ReadLog(bytes.NewReader(b), int64(len(b)), "log.1", func(lt *LoggedTxn) error {
			if lt.Rec == nil {
				t.Fatal("record without body")
			}
			return nil
		})
	})
}

// FuzzReadSnapshot: arbitrary snapshot bytes load or fail cleanly; a loaded tree is usable.
func FuzzReadSnapshot(f *testing.F) {
	seedFiles(f, "snapshot.")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b, "snapshot.0", 0, datatree.OwnersExtended)
		if err != nil {
			return
		}
		if s.Tree.Get("/") == nil {
			t.Fatal("loaded snapshot has no root")
		}
		s.Tree.CopyForSnapshot()
		var _ *datatree.Tree = s.Tree
	})
}
