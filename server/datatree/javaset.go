package datatree

import (
	"math/bits"
	"sort"
	"unicode/utf16"
)

// JavaStringSet reproduces the iteration order of a java.util.HashSet<String> (OpenJDK 17,
// the JVM the reference server runs on). Apache ZooKeeper deletes a closing session's
// ephemerals in that order (PrepRequestProcessor's closeSession turns
// DataTree.getEphemerals' HashSet clone into CloseSessionTxn.paths2Delete), so the order of
// the NodeDeleted/NodeChildrenChanged events a client sees depends on it.
//
// A HashMap iterates bucket by bucket (index = spread hash & (capacity-1)), each bucket in
// insertion order; resizing splits buckets without reordering them. So an element's place
// is given by its bucket and its insertion sequence number. Treeified buckets (8+ colliding
// keys) are not modelled.
type JavaStringSet struct {
	seq  map[string]uint64
	next uint64
	cap  int // table length, 0 until the first add
	thr  int // resize threshold; before the first add, a pre-sized capacity (or 0)
}

// NewJavaStringSet is new HashSet<String>().
func NewJavaStringSet() *JavaStringSet {
	return &JavaStringSet{seq: make(map[string]uint64)}
}

// Len is the number of elements.
func (s *JavaStringSet) Len() int { return len(s.seq) }

// Has reports whether p is in the set.
func (s *JavaStringSet) Has(p string) bool { _, ok := s.seq[p]; return ok }

// Add inserts p at the end of its bucket, growing the table as HashMap.putVal does.
func (s *JavaStringSet) Add(p string) {
	if _, ok := s.seq[p]; ok {
		return
	}
	if s.cap == 0 {
		// HashMap.resize on an empty table: the pre-sized capacity, else 16.
		s.cap = s.thr
		if s.cap == 0 {
			s.cap = 16
		}
		s.thr = s.cap * 3 / 4
	}
	s.seq[p] = s.next
	s.next++
	if len(s.seq) > s.thr {
		s.cap *= 2
		s.thr = s.cap * 3 / 4
	}
}

// Remove deletes p; the others keep their order.
func (s *JavaStringSet) Remove(p string) { delete(s.seq, p) }

// Order returns the elements in Java's iteration order.
func (s *JavaStringSet) Order() []string {
	out := make([]string, 0, len(s.seq))
	for p := range s.seq {
		out = append(out, p)
	}
	if s.cap == 0 {
		return out // empty
	}
	mask := uint32(s.cap - 1)
	sort.Slice(out, func(i, j int) bool {
		bi, bj := javaSpreadHash(out[i])&mask, javaSpreadHash(out[j])&mask
		if bi != bj {
			return bi < bj
		}
		return s.seq[out[i]] < s.seq[out[j]]
	})
	return out
}

// Clone is HashSet.clone: a table pre-sized for the current size (JDK 17's
// HashMap.putMapEntries: tableSizeFor(size/0.75f + 1)), filled in this set's order.
func (s *JavaStringSet) Clone() *JavaStringSet {
	c := NewJavaStringSet()
	if n := len(s.seq); n > 0 {
		c.thr = javaTableSizeFor(int(float32(n)/0.75 + 1))
	}
	for _, p := range s.Order() {
		c.Add(p)
	}
	return c
}

// Copy is an identical set, in the same order.
func (s *JavaStringSet) Copy() *JavaStringSet {
	c := *s
	c.seq = make(map[string]uint64, len(s.seq))
	for p, n := range s.seq {
		c.seq[p] = n
	}
	return &c
}

// javaSpreadHash is HashMap.hash(key) for a String key: String.hashCode, its high half
// folded into the low half.
func javaSpreadHash(p string) uint32 {
	h := JavaStringHash(p)
	return h ^ (h >> 16)
}

// JavaStringHash is String.hashCode: over UTF-16 code units.
func JavaStringHash(p string) uint32 {
	var h uint32
	for _, r := range p {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + uint32(r1)
			h = 31*h + uint32(r2)
			continue
		}
		h = 31*h + uint32(r)
	}
	return h
}

// javaTableSizeFor is HashMap.tableSizeFor: the smallest power of two >= c (at least 1).
func javaTableSizeFor(c int) int {
	if c <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(c-1))
}
