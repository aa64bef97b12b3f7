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

// MaxConcurrentSnapSyncs is zookeeper.leader.maxConcurrentSnapSyncs (LearnerMaster,
// Integer.getInteger, 10): a leader's SNAP syncs in flight beyond which an observer's is
// refused.
func (c *Config) MaxConcurrentSnapSyncs() int {
	return c.PropInt("zookeeper.leader.maxConcurrentSnapSyncs", 10)
}

// MaxConcurrentDiffSyncs is zookeeper.leader.maxConcurrentDiffSyncs (100), likewise for
// DIFF and TRUNC syncs.
func (c *Config) MaxConcurrentDiffSyncs() int {
	return c.PropInt("zookeeper.leader.maxConcurrentDiffSyncs", 100)
}

// CheckSyncThrottles refuses a sync throttle that is not positive: ZooKeeper's
// LearnerSyncThrottler rejects it ("maxConcurrentSyncs must be positive"), so that such a
// server fails each time it is elected and never leads.
func (c *Config) CheckSyncThrottles() error {
	for _, t := range []struct {
		key string
		v   int
	}{
		{"zookeeper.leader.maxConcurrentSnapSyncs", c.MaxConcurrentSnapSyncs()},
		{"zookeeper.leader.maxConcurrentDiffSyncs", c.MaxConcurrentDiffSyncs()},
	} {
		if t.v <= 0 {
			return &Error{File: c.File, Key: t.key, Msg: "maxConcurrentSyncs must be positive, was " + strconv.Itoa(t.v)}
		}
	}
	return nil
}

// ObserverSyncEnabled is whether an observer logs txns and takes snapshots:
// zookeeper.observer.syncEnabled when set (Boolean.getBoolean), else zoo.cfg's syncEnabled
// (true), as QuorumPeer.getSyncEnabled.
func (c *Config) ObserverSyncEnabled() bool {
	if _, ok := c.Prop("zookeeper.observer.syncEnabled"); ok {
		return c.PropBool("zookeeper.observer.syncEnabled")
	}
	return c.SyncEnabled
}
