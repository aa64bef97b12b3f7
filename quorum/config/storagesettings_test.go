package config

import "testing"

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
