package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Verifier is a QuorumVerifier: the server lines of one configuration, its version and, for
// a hierarchical quorum (QuorumHierarchical: any group or weight key), its groups and
// weights. It is what /zookeeper/config, reconfig txns, NEWLEADER, election notifications
// and dynamic config files carry as text.
type Verifier struct {
	Servers map[int64]*ServerSpec
	Groups  map[int64][]int64 // group id → server ids; nil for a majority quorum
	Weights map[int64]int64   // server id → weight (participants default to 1)
	Version int64
}

// Verifier is the configuration's membership as read from zoo.cfg or its dynamic file.
func (c *Config) Verifier() *Verifier {
	return &Verifier{Servers: c.Servers, Groups: c.Groups, Weights: c.Weights, Version: c.ConfigVersion}
}

// Hierarchical reports whether the quorum is QuorumHierarchical rather than QuorumMaj.
func (v *Verifier) Hierarchical() bool { return v.Groups != nil || v.Weights != nil }

// String is QuorumMaj.toString ("server.N=..." lines by id, then "version=<hex>") or
// QuorumHierarchical.toString (the server lines, then "group.G=a:b" by group id with its
// servers in id order, then "weight.N=w" by server id, then the version), with version
// replaced by the given one.
func (v *Verifier) String(version int64) string {
	var b strings.Builder
	for _, id := range sortedKeys(v.Servers) {
		fmt.Fprintf(&b, "server.%d=%s\n", id, v.Servers[id].String())
	}
	for _, gid := range sortedKeys(v.Groups) {
		ids := append([]int64(nil), v.Groups[gid]...)
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.FormatInt(id, 10)
		}
		fmt.Fprintf(&b, "group.%d=%s\n", gid, strings.Join(parts, ":"))
	}
	for _, id := range sortedKeys(v.Weights) {
		fmt.Fprintf(&b, "weight.%d=%d\n", id, v.Weights[id])
	}
	fmt.Fprintf(&b, "version=%x", version)
	return b.String()
}

func sortedKeys[V any](m map[int64]V) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// ParseVerifier parses a QuorumVerifier string as /zookeeper/config, a reconfig txn and an
// election notification carry it (server.N=..., group.G=..., weight.N=... and version=<hex>
// lines), checking a hierarchical quorum as QuorumHierarchical does.
func ParseVerifier(data []byte) (*Verifier, error) {
	v := &Verifier{Servers: make(map[int64]*ServerSpec)}
	groupOf := map[int64]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("bad config line %q", line)
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		switch {
		case k == "version":
			ver, err := strconv.ParseInt(val, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("bad version %q", val)
			}
			v.Version = ver
		case strings.HasPrefix(k, "group"):
			gid, err := idAfterDot(k)
			if err != nil {
				return nil, fmt.Errorf("bad group id in %q", k)
			}
			if err := v.addGroup(gid, val, groupOf); err != nil {
				return nil, err
			}
		case strings.HasPrefix(k, "weight"):
			if err := v.addWeight(k, val); err != nil {
				return nil, err
			}
		default:
			spec, err := ParseServerLine(k, val)
			if err != nil {
				return nil, err
			}
			v.Servers[spec.ID] = spec
		}
	}
	if id, ok := v.completeWeights(groupOf); !ok {
		return nil, fmt.Errorf("server %d is not in a group", id)
	}
	return v, nil
}

// addGroup records group.gid=a:b:c; a server may be in one group only.
func (v *Verifier) addGroup(gid int64, value string, groupOf map[int64]int64) error {
	if v.Groups == nil {
		v.Groups = map[int64][]int64{}
	}
	for _, part := range javaSplit(value, ":") {
		sid, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid server id %q", part)
		}
		if _, dup := groupOf[sid]; dup {
			return fmt.Errorf("server %d is in multiple groups", sid)
		}
		groupOf[sid] = gid
		v.Groups[gid] = append(v.Groups[gid], sid)
	}
	return nil
}

// addWeight records weight.sid=w.
func (v *Verifier) addWeight(key, value string) error {
	sid, err := idAfterDot(key)
	if err != nil {
		return fmt.Errorf("invalid server id in %q", key)
	}
	w, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid weight %q", value)
	}
	if v.Weights == nil {
		v.Weights = map[int64]int64{}
	}
	v.Weights[sid] = w
	return nil
}

// completeWeights checks a hierarchical quorum as QuorumHierarchical.parse does: every
// participant is in a group, and one without a weight line weighs 1. It returns the first
// participant in no group and false.
func (v *Verifier) completeWeights(groupOf map[int64]int64) (int64, bool) {
	if !v.Hierarchical() {
		return 0, true
	}
	for _, id := range sortedKeys(v.Servers) {
		if v.Servers[id].Type != Participant {
			continue
		}
		if _, ok := groupOf[id]; !ok {
			return id, false
		}
		if _, ok := v.Weights[id]; !ok {
			if v.Weights == nil {
				v.Weights = map[int64]int64{}
			}
			v.Weights[id] = 1
		}
	}
	return 0, true
}
