package persistence

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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
