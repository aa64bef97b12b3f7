package datatree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
	"sync"
	"unsafe"

	"github.com/zkgo/zkgo/jute"
)

// DigestVersion is Apache ZooKeeper's DigestCalculator.DIGEST_VERSION.
const DigestVersion = 2

// NodeDigest is DigestCalculator.calculateDigest: CRC-32 of the path ("" for the root), the
// data and the 60 bytes of the stored stat. Nodes under /zookeeper/ count as 0 (their quota
// stats change locally on each server).
func NodeDigest(path string, data []byte, st *jute.StatPersisted) uint64 {
	if strings.HasPrefix(path, "/zookeeper/") {
		return 0
	}
	if path == "/" {
		path = ""
	}
	// A buffer on the stack would escape (crc32 calls through a function variable), so the
	// prep stage's digests would allocate twice per write.
	b := digestPool.Get().(*digestScratch)
	defer digestPool.Put(b)
	n := len(path) + len(data)
	if n <= len(b)-60 {
		buf := b[:n+60]
		copy(buf, path)
		copy(buf[len(path):], data)
		putDigestStat(buf[n:], st)
		return uint64(crc32.ChecksumIEEE(buf))
	}
	putDigestStat(b[:60], st)
	c := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(path), len(path)))
	c = crc32.Update(c, crc32.IEEETable, data)
	c = crc32.Update(c, crc32.IEEETable, b[:60])
	return uint64(c)
}

var digestPool = sync.Pool{New: func() any { return new(digestScratch) }}

// digestScratch is the buffer of Tree.nodeDigest.
type digestScratch [384]byte

// nodeDigest is NodeDigest for the tree's own changes (made under the write lock, or by the
// single goroutine of a Loader): a small node is checksummed in one call over path, data and
// stat put side by side in the tree's scratch buffer (the CRC of the concatenation), which
// lets the CPU's CRC instructions take most bytes and allocates nothing.
func (t *Tree) nodeDigest(path string, data []byte, st *jute.StatPersisted) uint64 {
	if strings.HasPrefix(path, "/zookeeper/") {
		return 0
	}
	if path == "/" {
		path = ""
	}
	n := len(path) + len(data)
	if n > len(t.scratch)-60 {
		return NodeDigest(path, data, st)
	}
	buf := t.scratch[:n+60]
	copy(buf, path)
	copy(buf[len(path):], data)
	putDigestStat(buf[n:], st)
	return uint64(crc32.ChecksumIEEE(buf))
}

// putDigestStat writes the 60 bytes of a stat that the digest covers, in its order.
func putDigestStat(b []byte, st *jute.StatPersisted) {
	binary.BigEndian.PutUint64(b[0:], uint64(st.Czxid))
	binary.BigEndian.PutUint64(b[8:], uint64(st.Mzxid))
	binary.BigEndian.PutUint64(b[16:], uint64(st.Pzxid))
	binary.BigEndian.PutUint64(b[24:], uint64(st.Ctime))
	binary.BigEndian.PutUint64(b[32:], uint64(st.Mtime))
	binary.BigEndian.PutUint32(b[40:], uint32(st.Version))
	binary.BigEndian.PutUint32(b[44:], uint32(st.Cversion))
	binary.BigEndian.PutUint32(b[48:], uint32(st.Aversion))
	binary.BigEndian.PutUint64(b[52:], uint64(st.EphemeralOwner))
}
