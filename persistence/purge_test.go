package persistence

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func TestPurgeKeepsWhatReplayNeeds(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"snapshot.10", "snapshot.20", "snapshot.30", "snapshot.40", "log.1", "log.15", "log.25", "log.35"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	removed, err := Purge(dir, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range removed {
		removed[i] = filepath.Base(removed[i])
	}
	sort.Strings(removed)
	// Oldest kept snapshot is 0x20: log.15 holds its successors, so only log.1 and snapshot.10 go.
	if len(removed) != 2 || removed[0] != "log.1" || removed[1] != "snapshot.10" {
		t.Fatalf("removed %v", removed)
	}
}
