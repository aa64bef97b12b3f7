package datatree

import (
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
)

// OpenACLRef is the ACL reference Java uses for the built-in nodes: OPEN_ACL_UNSAFE, never
// stored in the cache (ReferenceCountedACLCache).
const OpenACLRef int64 = -1

// aclCache interns ACL lists: nodes hold a reference, so a million nodes sharing one ACL
// share one slice, and snapshots can write the cache as Apache ZooKeeper does.
type aclCache struct {
	byRef  map[int64][]jute.ACL
	byKey  map[string]int64
	counts map[int64]int64
	next   int64
}

func newACLCache() *aclCache {
	return &aclCache{
		byRef:  make(map[int64][]jute.ACL),
		byKey:  make(map[string]int64),
		counts: make(map[int64]int64),
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
func (c *aclCache) ref(acl []jute.ACL) int64 {
	if acl == nil {
		return OpenACLRef
	}
	k := aclKey(acl)
	r, ok := c.byKey[k]
	if !ok {
		c.next++
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
func (c *aclCache) release(ref int64) {
	if ref == OpenACLRef {
		return
	}
	c.counts[ref]--
	if c.counts[ref] <= 0 {
		delete(c.byKey, aclKey(c.byRef[ref]))
		delete(c.byRef, ref)
		delete(c.counts, ref)
	}
}

func (c *aclCache) get(ref int64) []jute.ACL {
	if ref == OpenACLRef {
		return jute.OpenACLUnsafe
	}
	return c.byRef[ref]
}
