package persistence

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
)

// The log's syncer syncs, again and again on one eventfd, reports a bad file instead of
// hanging, and falls back to fdatasync when AIO is off.
func TestSyncer(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, plain := range []bool{false, true} {
		s := newSyncer()
		if plain {
			s.close()
			s.plain = true
		}
		for i := 0; i < 5; i++ {
			if _, err := f.Write([]byte("record")); err != nil {
				t.Fatal(err)
			}
			if err := s.datasync(f); err != nil {
				t.Fatalf("plain %v, sync %d: %v", plain, i, err)
			}
		}
		if runtime.GOOS == "linux" && !plain {
			t.Logf("AIO fdatasync in use: %v", !s.plain)
		}
		closed, err := os.Create(filepath.Join(t.TempDir(), "closed"))
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
		done := make(chan error, 1)
		go func() { done <- s.datasync(closed) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("plain %v: datasync of a closed file succeeded", plain)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("plain %v: datasync of a closed file hangs", plain)
		}
		s.close()
	}
}

// Only a log opened with AsyncSync (an ensemble member's) syncs through AIO; a standalone
// server's keeps fdatasync(2), which measured faster there.
func TestTxnLogAsyncSyncOnlyWhenAsked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("AIO log syncs are Linux only")
	}
	for _, async := range []bool{false, true} {
		l, err := OpenTxnLog(filepath.Join(t.TempDir(), VersionDir), LogOptions{ForceSync: true, Log: zerolog.Nop(), AsyncSync: async})
		if err != nil {
			t.Fatal(err)
		}
		hdr := jute.TxnHeader{ClientID: 1, Zxid: 1, Time: 1000, Type: jute.OpCreate}
		if err := l.Append(&hdr, &jute.CreateTxn{Path: "/a", Data: []byte("d"), ACL: jute.OpenACLUnsafe, ParentCVersion: 1}); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		if l.sync == nil {
			t.Fatal("Commit with forceSync did not sync")
		}
		probe := newSyncer()
		offered := !probe.plain
		probe.close()
		if aio := !l.sync.plain; aio && !async {
			t.Fatal("a log opened without AsyncSync syncs through AIO")
		} else if !aio && async && offered {
			t.Fatal("a log opened with AsyncSync does not use AIO, which this kernel offers")
		}
		l.Close()
	}
}
