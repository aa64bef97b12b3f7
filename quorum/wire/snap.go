package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
)

// SnapSignature ends the snapshot a leader streams after SNAP (LearnerHandler writes it,
// Learner.syncWithLeader checks it).
const SnapSignature = "BenWasHere"

// WriteSnap writes the snapshot that follows a SNAP packet on the learner-leader stream:
// the session table and the DataTree exactly as in a snapshot file body (no file header,
// seal or digest; persistence.WriteSnapshotBody writes it) and the ustring "BenWasHere".
// It does not flush w.
func WriteSnap(w io.Writer, v *datatree.SnapshotView, sessions map[int64]int32) error {
	if err := persistence.WriteSnapshotBody(w, v, sessions); err != nil {
		return err
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(len(SnapSignature)))
	_, err := w.Write(append(b, SnapSignature...))
	return err
}

// ReadSnap reads the snapshot that follows a SNAP packet (whose zxid is the tree's
// lastProcessedZxid) and checks its signature. br is read exactly to the signature's end,
// so the packets that follow can be read from it; use Reader.Buffered of the stream's
// Reader. maxBuffer bounds each path and data length (jute.maxbuffer). If view is not nil,
// the nodes and ACL cache are also stored in it in stream order (see
// persistence.ReadSnapshotBody).
func ReadSnap(br *bufio.Reader, zxid int64, extendedTypes datatree.OwnerTypes, maxBuffer int, view *datatree.SnapshotView) (*persistence.Snapshot, error) {
	s, err := persistence.ReadSnapshotBody(br, zxid, extendedTypes, maxBuffer, view)
	if err != nil {
		return nil, fmt.Errorf("SNAP stream: %w", err)
	}
	var b [4 + len(SnapSignature)]byte
	if _, err := io.ReadFull(br, b[:4]); err != nil {
		return nil, fmt.Errorf("SNAP stream signature: %w", unexpected(err))
	}
	if n := binary.BigEndian.Uint32(b[:4]); n != uint32(len(SnapSignature)) {
		return nil, fmt.Errorf("SNAP stream: missing signature (length %d)", int32(n))
	}
	if _, err := io.ReadFull(br, b[4:]); err != nil {
		return nil, fmt.Errorf("SNAP stream signature: %w", unexpected(err))
	}
	if string(b[4:]) != SnapSignature {
		return nil, fmt.Errorf("SNAP stream: bad signature %q", b[4:])
	}
	return s, nil
}
