package config

import (
	"strconv"
	"strings"
)

// DefaultSnapshotSizeFactor is ZKDatabase.DEFAULT_SNAPSHOT_SIZE_FACTOR.
const DefaultSnapshotSizeFactor = 0.33

// SnapshotSizeFactor is zookeeper.snapshotSizeFactor as ZKDatabase reads it: a leader reads
// a DIFF from its log files only while they are at most this fraction of its last
// snapshot's size; negative turns that off (SNAP instead). A value above 1 or one that
// does not parse is the default, with the reason in invalid (ZooKeeper logs it).
func (c *Config) SnapshotSizeFactor() (f float64, invalid string) {
	v, ok := c.Prop("zookeeper.snapshotSizeFactor")
	if !ok {
		return DefaultSnapshotSizeFactor, ""
	}
	f, err := parseJavaDouble(v)
	switch {
	case err != nil:
		return DefaultSnapshotSizeFactor, "does not parse as a number"
	case f > 1:
		return DefaultSnapshotSizeFactor, "is above 1"
	}
	return f, ""
}

// parseJavaDouble is Double.parseDouble for the forms a setting takes: blanks around the
// number are ignored and a trailing d/D/f/F type suffix is allowed.
func parseJavaDouble(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if n := len(s); n > 1 && strings.ContainsRune("dDfF", rune(s[n-1])) {
		s = s[:n-1]
	}
	return strconv.ParseFloat(s, 64)
}
