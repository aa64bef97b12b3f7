package persistence

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// zookeeper.snapshot.compression.method: snapshots written gz or snappy are named
// snapshot.<zxid>.gz / .snappy and hold the plain snapshot compressed (checksums and seals
// included); they load like plain ones, by Restore too, whatever the setting.
func TestCompressedSnapshotsRoundTrip(t *testing.T) {
	tree := datatree.New()
	for i := 0; i < 3000; i++ {
		hdr := jute.TxnHeader{ClientID: 1, Cxid: int32(i), Zxid: int64(i + 1), Time: 1000, Type: jute.OpCreate}
		tree.Lock()
		tree.ProcessTxn(&hdr, &jute.CreateTxn{Path: "/n" + itoa(i), Data: bytes.Repeat([]byte("v"), i%200), ACL: jute.OpenACLUnsafe, ParentCVersion: int32(i + 1)})
		tree.Unlock()
	}
	for _, c := range []Compression{GzipCompression, SnappyCompression, NoCompression} {
		dir := filepath.Join(t.TempDir(), VersionDir)
		meta, err := OpenMeta(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		path, err := WriteSnapshotMeta(dir, tree.CopyForSnapshot(), map[int64]int32{7: 4000}, meta, c)
		meta.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := SnapName(3000) + c.ext(); filepath.Base(path) != want {
			t.Fatalf("%q: wrote %s, want %s", c, filepath.Base(path), want)
		}
		raw, _ := os.ReadFile(path)
		switch c {
		case GzipCompression:
			if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
				t.Fatalf("gz snapshot does not start with gzip's magic: % x", raw[:4])
			}
		case SnappyCompression:
			if !bytes.HasPrefix(raw, snappyJavaHeader) {
				t.Fatalf("snappy snapshot does not start with snappy-java's header: % x", raw[:16])
			}
		}
		s, err := ReadSnapshot(path, 3000, datatree.OwnersBasic)
		if err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		if s.Tree.NodeCount() != tree.NodeCount() || s.Sessions[7] != 4000 || !s.HasDigest || s.Digest != tree.Digest() {
			t.Fatalf("%q: %d nodes (want %d), sessions %v, digest %v %x (want %x)", c, s.Tree.NodeCount(), tree.NodeCount(), s.Sessions, s.HasDigest, s.Digest, tree.Digest())
		}
		res, err := Restore(dir, dir, RestoreOptions{Log: zerolog.Nop()}, nil)
		if err != nil || res.SnapZxid != 3000 || res.Tree.NodeCount() != tree.NodeCount() {
			t.Fatalf("%q: restore: %v %+v", c, err, res)
		}
	}
}

// snappy-java's stream format, checked against an encoding it produced ("foobar\n"), and
// read back from what this package writes, across blocks and with a repeated header.
func TestSnappyJavaStream(t *testing.T) {
	java := []byte{0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x09, 0x07, 0x18, 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72, 0x0a}
	got, err := decodeSnappyJava(java)
	if err != nil || string(got) != "foobar\n" {
		t.Fatalf("snappy-java's foobar: %q %v", got, err)
	}
	if got, err := decodeSnappyJava(append(slicesConcat(java), java[:]...)); err != nil || string(got) != "foobar\nfoobar\n" {
		t.Fatalf("a stream and its header again: %q %v", got, err)
	}
	big := []byte(strings.Repeat("zookeeper snapshot ", 10000)) // several 32 KiB blocks
	var buf bytes.Buffer
	w := compressor(SnappyCompression, &buf)
	w.Write(big[:1000])
	w.Write(big[1000:])
	w.Close()
	if got, err := decodeSnappyJava(buf.Bytes()); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	for _, bad := range [][]byte{nil, java[:10], java[:19], append(slicesConcat(java[:16]), 0, 0, 0, 50, 1)} {
		if _, err := decodeSnappyJava(bad); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}

func slicesConcat(b []byte) []byte { return append([]byte(nil), b...) }

// FuzzDecompressSnapshot: a compressed snapshot file's bytes never panic the decoders.
func FuzzDecompressSnapshot(f *testing.F) {
	f.Add(true, []byte{0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x07, 0x18, 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72, 0x0a})
	f.Add(false, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, snappy bool, b []byte) {
		name := "snapshot.1.gz"
		if snappy {
			name = "snapshot.1.snappy"
		}
		if out, err := DecompressSnapshot(name, b); err == nil {
			DecodeSnapshot(out, name, 1, datatree.OwnersBasic)
		}
	})
}
