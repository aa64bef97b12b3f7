package datatree

import (
	"sort"
	"strconv"
	"strings"
)

// StatsTrack is the quota text format of zookeeper_limits and zookeeper_stats nodes:
// "count=N,bytes=N" and, when other keys exist, "=;key=value..." sorted (StatsTrack.java).
type StatsTrack map[string]int64

// Well-known StatsTrack keys.
const (
	QuotaCount          = "count"
	QuotaBytes          = "bytes"
	QuotaCountHardLimit = "countHardLimit"
	QuotaByteHardLimit  = "byteHardLimit"
)

// ParseStatsTrack parses the quota text; a missing key reads as -1 through Get.
func ParseStatsTrack(s string) StatsTrack {
	st := StatsTrack{}
	if s == "" {
		return st
	}
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		// "bytes=-1=" carries a trailing '=' to keep old parsers happy.
		v = strings.TrimSuffix(v, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			n = -1
		}
		st[k] = n
	}
	return st
}

// Get returns a value or -1 when absent.
func (st StatsTrack) Get(k string) int64 {
	if v, ok := st[k]; ok {
		return v
	}
	return -1
}

func (st StatsTrack) String() string {
	var b strings.Builder
	b.WriteString("count=")
	b.WriteString(strconv.FormatInt(st.Get(QuotaCount), 10))
	b.WriteString(",bytes=")
	b.WriteString(strconv.FormatInt(st.Get(QuotaBytes), 10))
	var extra []string
	for k := range st {
		if k != QuotaCount && k != QuotaBytes {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		b.WriteByte('=')
		for _, k := range extra {
			b.WriteByte(';')
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(strconv.FormatInt(st[k], 10))
		}
	}
	return b.String()
}

// trimQuotaPath turns /zookeeper/quota/a/b into /a/b.
func trimQuotaPath(p string) string {
	q := strings.TrimPrefix(p, QuotaPath)
	if q == "" {
		return "/"
	}
	return q
}

// QuotaPrefix returns the deepest path at or above path that has a quota, or "".
func (t *Tree) QuotaPrefix(path string) string { return t.quotaPrefix(path) }

func (t *Tree) quotaPrefix(path string) string {
	if len(t.quotas) == 0 || strings.HasPrefix(path, ZookeeperPath+"/") || path == ZookeeperPath {
		return ""
	}
	for p := path; ; p, _ = Split(p) {
		if _, ok := t.quotas[p]; ok {
			return p
		}
		if p == "/" {
			return ""
		}
	}
}

func statNodePath(prefix string) string {
	if prefix == "/" {
		return QuotaPath + "/" + StatNode
	}
	return QuotaPath + prefix + "/" + StatNode
}

// LimitNodePath is the zookeeper_limits node of a quota root.
func LimitNodePath(prefix string) string {
	if prefix == "/" {
		return QuotaPath + "/" + LimitNode
	}
	return QuotaPath + prefix + "/" + LimitNode
}

// StatNodePath is the zookeeper_stats node of a quota root.
func StatNodePath(prefix string) string { return statNodePath(prefix) }

// updateQuotaStat adds to a quota's usage; the stats node changes in place without a
// version bump, as every server maintains it locally.
func (t *Tree) updateQuotaStat(prefix string, bytes, count int64) {
	sn := t.Get(statNodePath(prefix))
	if sn == nil {
		return
	}
	st := ParseStatsTrack(string(sn.Data))
	st[QuotaCount] = st.Get(QuotaCount) + count
	st[QuotaBytes] = st.Get(QuotaBytes) + bytes
	t.setStatsData(sn, st)
}

func (t *Tree) setStatsData(sn *Node, st StatsTrack) {
	nd := []byte(st.String())
	t.dataSize += int64(len(nd) - len(sn.Data))
	sn.setData(nd)
}

// refreshQuotaStats recounts a subtree when its stats node is created (updateQuotaForPath).
func (t *Tree) refreshQuotaStats(prefix string) {
	sn := t.Get(statNodePath(prefix))
	n := t.Get(prefix)
	if sn == nil {
		return
	}
	var count, bytes int64
	if n != nil {
		count, bytes = subtreeUsage(n)
	}
	st := ParseStatsTrack(string(sn.Data))
	st[QuotaCount] = count
	st[QuotaBytes] = bytes
	t.setStatsData(sn, st)
}

func subtreeUsage(n *Node) (count, bytes int64) {
	count, bytes = 1, int64(len(n.Data))
	if n.kids != nil {
		n.kids.each(func(c *Node) {
			c2, b2 := subtreeUsage(c)
			count += c2
			bytes += b2
		})
	}
	return
}

// QuotaUsage returns the limits and current usage of the quota root prefix.
func (t *Tree) QuotaUsage(prefix string) (limits, usage StatsTrack) {
	if ln := t.Get(LimitNodePath(prefix)); ln != nil {
		limits = ParseStatsTrack(string(ln.Data))
	}
	if sn := t.Get(statNodePath(prefix)); sn != nil {
		usage = ParseStatsTrack(string(sn.Data))
	}
	return
}
