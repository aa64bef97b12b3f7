package datatree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
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
	var b [60]byte
	binary.BigEndian.PutUint64(b[0:], uint64(st.Czxid))
	binary.BigEndian.PutUint64(b[8:], uint64(st.Mzxid))
	binary.BigEndian.PutUint64(b[16:], uint64(st.Pzxid))
	binary.BigEndian.PutUint64(b[24:], uint64(st.Ctime))
	binary.BigEndian.PutUint64(b[32:], uint64(st.Mtime))
	binary.BigEndian.PutUint32(b[40:], uint32(st.Version))
	binary.BigEndian.PutUint32(b[44:], uint32(st.Cversion))
	binary.BigEndian.PutUint32(b[48:], uint32(st.Aversion))
	binary.BigEndian.PutUint64(b[52:], uint64(st.EphemeralOwner))
	// No allocation: this runs for every node change and every node of a loaded snapshot.
	c := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(path), len(path)))
	c = crc32.Update(c, crc32.IEEETable, data)
	c = crc32.Update(c, crc32.IEEETable, b[:])
	return uint64(c)
}
