package config

import (
	"strings"
	"testing"
)

// TestSnapshotSizeFactor: ZKDatabase's reading of zookeeper.snapshotSizeFactor: above 1 or
// unparsable is the default (with a reason to log), negative and 0 are kept.
func TestSnapshotSizeFactor(t *testing.T) {
	for _, tc := range []struct {
		cfg     string
		want    float64
		invalid bool
	}{
		{"", 0.33, false},
		{"snapshotSizeFactor=0.5", 0.5, false},
		{"snapshotSizeFactor= 0.25d", 0.25, false},
		{"snapshotSizeFactor=1", 1, false},
		{"snapshotSizeFactor=1.5", 0.33, true},
		{"snapshotSizeFactor=abc", 0.33, true},
		{"snapshotSizeFactor=0", 0, false},
		{"snapshotSizeFactor=-1", -1, false},
	} {
		f, invalid := mustParse(t, "dataDir=/tmp/x\nclientPort=2181\n"+tc.cfg).SnapshotSizeFactor()
		if f != tc.want || (invalid != "") != tc.invalid {
			t.Errorf("%q: %g %q, want %g (invalid %v)", tc.cfg, f, invalid, tc.want, tc.invalid)
		}
	}
}

// TestSyncThrottles: LearnerMaster's defaults, Integer.getInteger's reading, and the
// refusal of a throttle LearnerSyncThrottler would reject.
func TestSyncThrottles(t *testing.T) {
	base := "dataDir=/tmp/x\nclientPort=2181\n"
	c := mustParse(t, base)
	if s, d := c.MaxConcurrentSnapSyncs(), c.MaxConcurrentDiffSyncs(); s != 10 || d != 100 || c.CheckSyncThrottles() != nil {
		t.Fatalf("defaults: %d %d %v", s, d, c.CheckSyncThrottles())
	}
	c = mustParse(t, base+"leader.maxConcurrentSnapSyncs=0x3\nleader.maxConcurrentDiffSyncs=abc\n")
	if s, d := c.MaxConcurrentSnapSyncs(), c.MaxConcurrentDiffSyncs(); s != 3 || d != 100 {
		t.Fatalf("got %d %d, want 3 100", s, d)
	}
	c = mustParse(t, base+"leader.maxConcurrentDiffSyncs=0\n")
	if err := c.CheckSyncThrottles(); err == nil || !strings.Contains(err.Error(), "maxConcurrentDiffSyncs") {
		t.Fatalf("maxConcurrentDiffSyncs=0: %v", err)
	}
}

// TestObserverSyncEnabled: zookeeper.observer.syncEnabled, when set, wins over zoo.cfg's
// syncEnabled (QuorumPeer.getSyncEnabled).
func TestObserverSyncEnabled(t *testing.T) {
	base := "dataDir=/tmp/x\nclientPort=2181\n"
	for cfg, want := range map[string]bool{
		"":                    true,
		"syncEnabled=false\n": false,
		"syncEnabled=false\nobserver.syncEnabled=true\n": true,
		"observer.syncEnabled=no\n":                      false,
	} {
		if got := mustParse(t, base+cfg).ObserverSyncEnabled(); got != want {
			t.Errorf("%q: %v, want %v", cfg, got, want)
		}
	}
}
