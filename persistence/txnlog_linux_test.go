package persistence

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
)

// The padding past the last record is written zeros for zeroAhead bytes, not a hole, so that a
// sync of the next records does not allocate blocks; the file's size stays a multiple of the
// preallocation and its records read back whole, a record longer than zeroAhead included.
func TestLogPaddingAheadIsWrittenZeros(t *testing.T) {
	dir := filepath.Join(t.TempDir(), VersionDir)
	const prealloc = 4 << 20
	l, err := OpenTxnLog(dir, LogOptions{PreAllocBytes: prealloc, ForceSync: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sizes := []int{10, zeroAhead + zeroAhead/2, 200}
	for i, n := range sizes {
		hdr := jute.TxnHeader{ClientID: 1, Cxid: int32(i), Zxid: int64(i + 1), Time: 1000, Type: jute.OpCreate}
		rec := &jute.CreateTxn{Path: "/n" + itoa(i), Data: bytes.Repeat([]byte{'v'}, n), ACL: jute.OpenACLUnsafe, ParentCVersion: int32(i + 1)}
		if err := l.Append(&hdr, rec); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, LogName(1))
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		hole, err := syscall.Seek(int(f.Fd()), l.pos, 4) // SEEK_HOLE (Linux): first hole at or after
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Size()%prealloc != 0 || st.Size() < l.pos {
			t.Fatalf("record %d: file size %d for %d bytes of records, preallocation %d", i, st.Size(), l.pos, prealloc)
		}
		if want := min(l.pos+zeroAhead/4, st.Size()); hole < want {
			t.Fatalf("record %d: a hole at %d, records end at %d: the padding ahead is not written", i, hole, l.pos)
		}
	}
	var got []int
	if err := ReadLogFile(filepath.Join(dir, LogName(1)), func(lt *LoggedTxn) error {
		got = append(got, len(lt.Rec.(*jute.CreateTxn).Data))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sizes) || got[0] != sizes[0] || got[1] != sizes[1] || got[2] != sizes[2] {
		t.Fatalf("read back values of %v bytes, wrote %v", got, sizes)
	}
}
