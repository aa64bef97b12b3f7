package datatree

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/zkgo/zkgo/jute"
)

// Node is one znode.
//
// The tree keeps no index by path: a node is found by walking the children tables from the
// root. A node stores its own name (the last path component) and, for a small value, its
// data in the same allocation, right after its fields: a million 100-byte znodes cost one
// 224-byte object each plus a slot in the parent's table, and a lookup that reaches a node
// finds its name next to it.
type Node struct {
	// name is the last path component, nameLen bytes at namePtr ("" for the root): in the
	// node's own allocation, or (a very long name) in one of its own.
	namePtr *byte
	nameLen uint32 // and removedBit
	acl     int32
	Stat    jute.StatPersisted
	// Data is the node's value (nil for a null value). It is never modified in place: a
	// change replaces the slice, so readers may keep it after releasing the lock.
	Data []byte
	kids *childTable // nil when the node has no children
}

// inlineData is the largest value stored in the node's allocation when it is created;
// larger values are kept as given. A setData keeps the new value as given too (the old
// inline bytes stay, unused, with the node).
const inlineData = 256

// NumChildren is the live child count.
func (n *Node) NumChildren() int {
	if n.kids == nil {
		return 0
	}
	return n.kids.n
}

func (n *Node) name() string { return unsafe.String(n.namePtr, n.nameLen&^removedBit) }

// removedBit in nameLen marks a node deleted from the tree (a name is far shorter than 2 GiB).
// A snapshot walk skips such a node from the copy of its parent's children it holds, without
// looking the name up in the parent (a cache miss per node in a large directory).
const removedBit = 1 << 31

func (n *Node) removed() bool { return n.nameLen&removedBit != 0 }

// inlineNode is a Node with B's bytes after it in one allocation. B's sizes make
// Node+B a Go size class (Node is 112 bytes), so nothing is lost to rounding.
type inlineNode[B any] struct {
	Node
	buf B
}

func allocInline[B any]() (*Node, []byte) {
	x := new(inlineNode[B])
	return &x.Node, unsafe.Slice((*byte)(unsafe.Pointer(&x.buf)), unsafe.Sizeof(x.buf))
}

// allocNode returns a node with at least extra bytes of its own after it.
func allocNode(extra int) (*Node, []byte) {
	switch {
	case extra == 0:
		return new(Node), nil
	case extra <= 16:
		return allocInline[[16]byte]()
	case extra <= 32:
		return allocInline[[32]byte]()
	case extra <= 48:
		return allocInline[[48]byte]()
	case extra <= 64:
		return allocInline[[64]byte]()
	case extra <= 80:
		return allocInline[[80]byte]()
	case extra <= 96:
		return allocInline[[96]byte]()
	case extra <= 112:
		return allocInline[[112]byte]()
	case extra <= 128:
		return allocInline[[128]byte]()
	case extra <= 144:
		return allocInline[[144]byte]()
	case extra <= 176:
		return allocInline[[176]byte]()
	case extra <= 208:
		return allocInline[[208]byte]()
	case extra <= 240:
		return allocInline[[240]byte]()
	case extra <= 272:
		return allocInline[[272]byte]()
	case extra <= 304:
		return allocInline[[304]byte]()
	case extra <= 336:
		return allocInline[[336]byte]()
	case extra <= 368:
		return allocInline[[368]byte]()
	case extra <= 400:
		return allocInline[[400]byte]()
	}
	return new(Node), nil
}

// newNode returns a node named name holding data: a small value is copied into the node's
// allocation, a larger one kept as given (nil stays nil).
func newNode(name string, data []byte, acl int32) *Node {
	extra := len(name)
	inline := len(data) <= inlineData
	if inline {
		extra += len(data)
	}
	n, buf := allocNode(extra)
	if len(buf) < extra {
		// A very long name: on its own.
		buf = make([]byte, extra)
	}
	copy(buf, name)
	n.namePtr = unsafe.SliceData(buf)
	n.nameLen = uint32(len(name))
	n.acl = acl
	switch {
	case data == nil:
	case len(data) == 0:
		n.Data = []byte{} // empty, not null (buf is nil for the root's empty name)
	case inline:
		end := len(name) + copy(buf[len(name):], data)
		n.Data = buf[len(name):end:end]
	default:
		n.Data = data
	}
	return n
}

// setData replaces the node's value, keeping the slice given.
func (n *Node) setData(data []byte) { n.Data = data }

// childTable is a node's children: an open-addressing hash table (linear probing, backward
// shift deletion) of child nodes keyed by their names. A slot costs 9 bytes (a pointer and a
// tag byte), under half a Go map entry with a string key, and the names live in the nodes.
// The tag (7 bits of the name's hash) lets a probe skip a slot without reading its node.
type childTable struct {
	slots []*Node // len is a power of two; nil is empty
	tags  []uint8 // per slot: 0 when empty, else tagOf(hash)
	n     int
}

// nameSeed and the two words drawn from it key the name hash: per-process random, so that
// names chosen to collide cannot be precomputed.
var (
	nameSeed = maphash.MakeSeed()
	nameKey0 = maphash.String(nameSeed, "zkgo name hash 0")
	nameKey1 = maphash.String(nameSeed, "zkgo name hash 1")
)

// hashName hashes a child's name. Names of up to 16 bytes (nearly all) take an inlined
// wyhash-style multiply-fold of their bytes with the secret keys; longer ones maphash.
func hashName(s string) uint64 {
	n := len(s)
	if n > 16 {
		return maphash.String(nameSeed, s)
	}
	b := unsafe.Slice(unsafe.StringData(s), n)
	var x, y uint64
	switch {
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	}
	return mix(mix(x^nameKey0, y^nameKey1)^uint64(n), nameKey0^0x9e3779b97f4a7c15)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func tagOf(h uint64) uint8 { return uint8(h>>57) | 0x80 }

func (c *childTable) get(name string) *Node {
	h := hashName(name)
	tag := tagOf(h)
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch c.tags[i] {
		case 0:
			return nil
		case tag:
			if n := c.slots[i]; n.name() == name {
				return n
			}
		}
	}
}

func (c *childTable) grow() {
	if (c.n+1)*4 > len(c.slots)*3 {
		c.resize(max(len(c.slots)*2, 2))
	}
}

// put adds n, whose name must not be in the table.
func (c *childTable) put(n *Node) {
	c.grow()
	c.insert(n, hashName(n.name()))
	c.n++
}

// putNew adds n unless a child of its name exists, which it returns instead (one probe).
func (c *childTable) putNew(n *Node) *Node {
	c.grow()
	name := n.name()
	h := hashName(name)
	tag := tagOf(h)
	mask := uint64(len(c.slots) - 1)
	i := h & mask
	for ; c.tags[i] != 0; i = (i + 1) & mask {
		if c.tags[i] == tag && c.slots[i].name() == name {
			return c.slots[i]
		}
	}
	c.slots[i], c.tags[i] = n, tag
	c.n++
	return nil
}

func (c *childTable) insert(n *Node, h uint64) {
	mask := uint64(len(c.slots) - 1)
	i := h & mask
	for c.tags[i] != 0 {
		i = (i + 1) & mask
	}
	c.slots[i], c.tags[i] = n, tagOf(h)
}

func (c *childTable) resize(size int) {
	old := c.slots
	c.slots = make([]*Node, size)
	c.tags = make([]uint8, size)
	for _, n := range old {
		if n != nil {
			c.insert(n, hashName(n.name()))
		}
	}
}

// remove deletes the child named name and returns it (nil when it was not there).
func (c *childTable) remove(name string) *Node {
	h := hashName(name)
	tag := tagOf(h)
	mask := uint64(len(c.slots) - 1)
	i := h & mask
	for {
		if c.tags[i] == 0 {
			return nil
		}
		if c.tags[i] == tag && c.slots[i].name() == name {
			break
		}
		i = (i + 1) & mask
	}
	gone := c.slots[i]
	c.slots[i], c.tags[i] = nil, 0
	c.n--
	// Backward shift: move up every later entry of the run that may live in the hole.
	for j := (i + 1) & mask; c.tags[j] != 0; j = (j + 1) & mask {
		home := hashName(c.slots[j].name()) & mask
		// The entry at j stays if its home lies cyclically in (i, j].
		if (j > i && home > i && home <= j) || (j < i && (home > i || home <= j)) {
			continue
		}
		c.slots[i], c.tags[i] = c.slots[j], c.tags[j]
		c.slots[j], c.tags[j] = nil, 0
		i = j
	}
	if len(c.slots) > 8 && c.n*8 < len(c.slots) {
		size := len(c.slots)
		for size > 8 && c.n*8 < size {
			size /= 2
		}
		c.resize(size)
	}
	return gone
}

// each calls fn for every child, in table order.
func (c *childTable) each(fn func(*Node)) {
	for _, n := range c.slots {
		if n != nil {
			fn(n)
		}
	}
}

func (n *Node) child(name string) *Node {
	if n.kids == nil {
		return nil
	}
	return n.kids.get(name)
}

func (n *Node) addChild(c *Node) {
	if n.kids == nil {
		n.kids = &childTable{}
	}
	n.kids.put(c)
}

// removeChild deletes the child named name and marks it removed (see removedBit).
func (n *Node) removeChild(name string) bool {
	if n.kids == nil {
		return false
	}
	c := n.kids.remove(name)
	if c == nil {
		return false
	}
	c.nameLen |= removedBit
	if n.kids.n == 0 {
		n.kids = nil
	}
	return true
}

// lookup finds the node at path by walking from root; "" and "/" are the root. A path
// that is not absolute, or has an empty component, names no node.
func lookup(root *Node, path string) *Node {
	if path == "" || path == "/" {
		return root
	}
	if path[0] != '/' {
		return nil
	}
	n := root
	rest := path[1:]
	for n != nil {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			if rest == "" {
				return nil
			}
			return n.child(rest)
		}
		if i == 0 {
			return nil
		}
		n = n.child(rest[:i])
		rest = rest[i+1:]
	}
	return nil
}
