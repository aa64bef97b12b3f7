package datatree

import (
	"math"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
)

// OpenACLRef is the ACL reference Java uses for the built-in nodes: OPEN_ACL_UNSAFE, never
// stored in the cache (ReferenceCountedACLCache).
const OpenACLRef int64 = -1

// openRef is OpenACLRef as a node stores it.
const openRef int32 = -1

// aclCache interns ACL lists: nodes hold a reference, so a million nodes sharing one ACL
// share one slice, and snapshots can write the cache as Apache ZooKeeper does.
type aclCache struct {
	byRef  map[int32][]jute.ACL
	byKey  map[string]int32
	counts map[int32]int64
	next   int32
}

func newACLCache() *aclCache {
	return &aclCache{
		byRef:  make(map[int32][]jute.ACL),
		byKey:  make(map[string]int32),
		counts: make(map[int32]int64),
	}
}

func aclKey(acl []jute.ACL) string {
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(strconv.Itoa(int(a.Perms)))
		b.WriteByte(0)
		b.WriteString(a.Id.Scheme)
		b.WriteByte(0)
		b.WriteString(a.Id.ID)
		b.WriteByte(0)
	}
	return b.String()
}

// ref returns the reference for acl, adding it if new, and counts one more user.
func (c *aclCache) ref(acl []jute.ACL) int32 {
	if acl == nil {
		return openRef
	}
	k := aclKey(acl)
	r, ok := c.byKey[k]
	if !ok {
		// Refs count up from 1; after 2^31-1 of them they wrap to the lowest free one.
		for {
			if c.next == math.MaxInt32 {
				c.next = 0
			}
			c.next++
			if _, used := c.byRef[c.next]; !used {
				break
			}
		}
		r = c.next
		cp := make([]jute.ACL, len(acl))
		copy(cp, acl)
		c.byRef[r] = cp
		c.byKey[k] = r
	}
	c.counts[r]++
	return r
}

// release drops one user of ref and forgets the list when nobody uses it.
func (c *aclCache) release(ref int32) {
	if ref == openRef {
		return
	}
	c.counts[ref]--
	if c.counts[ref] <= 0 {
		delete(c.byKey, aclKey(c.byRef[ref]))
		delete(c.byRef, ref)
		delete(c.counts, ref)
	}
}

func (c *aclCache) get(ref int32) []jute.ACL {
	if ref == openRef {
		return jute.OpenACLUnsafe
	}
	return c.byRef[ref]
}
