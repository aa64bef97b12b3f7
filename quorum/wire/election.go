// Package wire encodes and decodes, byte for byte, the messages Apache ZooKeeper servers
// exchange with each other (quorum-protocol.md §3-5):
//
//   - on the election port: the connection handshake (QuorumCnxManager.InitialMessage), the
//     length-prefixed frames, and the FastLeaderElection notification carried in them;
//   - on the quorum port: the stream of jute QuorumPackets (no length prefix), the bodies
//     the packet types carry (LearnerInfo, LEADERINFO, ACKEPOCH, REQUEST, REVALIDATE, PING,
//     COMMITANDACTIVATE, INFORMANDACTIVATE) and the snapshot that follows SNAP.
//
// Decoders accept what Apache ZooKeeper 3.5-3.9 accepts, including older message forms, and
// turn every malformed or hostile input (short, negative or huge lengths) into an error:
// no input makes them panic or allocate more than a stated bound. Encoders write the form
// 3.8 writes, so that a decoded message of that form re-encodes to the same bytes.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/zab"
)

// Election connection handshake versions (QuorumCnxManager.PROTOCOL_VERSION_V1/V2).
const (
	ProtocolV1 int64 = -65536 // 0xffff_ffff_ffff_0000: one election address
	ProtocolV2 int64 = -65535 // multiAddress.enabled: addresses joined by '|'
	// ProtocolLegacy marks the pre-3.5 handshake, which is the sid alone; it is not sent on
	// the wire as a version.
	ProtocolLegacy int64 = 0
)

// MaxHandshakeAddr bounds the handshake's address field (QuorumCnxManager.maxBuffer).
const MaxHandshakeAddr = 2048

// PacketMaxSize bounds an election frame's body (QuorumCnxManager.PACKETMAXSIZE).
const PacketMaxSize = 512 * 1024

// Errors of the election port.
var (
	ErrBadProtocol  = errors.New("wire: unknown election protocol version")
	ErrBadHandshake = errors.New("wire: bad election handshake")
	ErrBadFrame     = errors.New("wire: bad election frame length")
	ErrShortNotif   = errors.New("wire: notification shorter than 28 bytes")
	ErrBadNotif     = errors.New("wire: malformed notification")
)

// Handshake is what the dialling side of an election connection sends first.
type Handshake struct {
	// Version is ProtocolV1, ProtocolV2 or ProtocolLegacy (a pre-3.5 peer that sends only
	// its sid; Addr is then empty).
	Version int64
	SID     int64
	// Addr is the sender's election address, "host:port" (V2: several, joined by '|').
	Addr string
}

// AppendHandshake appends h's encoding to dst.
func AppendHandshake(dst []byte, h *Handshake) []byte {
	if h.Version == ProtocolLegacy {
		return binary.BigEndian.AppendUint64(dst, uint64(h.SID))
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Version))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.SID))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(h.Addr)))
	return append(dst, h.Addr...)
}

// ReadHandshake reads a handshake from r as QuorumCnxManager.handleConnection does: a first
// long >= 0 is a pre-3.5 sid; otherwise it must be V1 or V2, followed by the sid and an
// address of 1..MaxHandshakeAddr bytes. Nothing past the handshake is read.
func ReadHandshake(r io.Reader) (Handshake, error) {
	var h Handshake
	var b [12]byte
	if _, err := io.ReadFull(r, b[:8]); err != nil {
		return h, err
	}
	first := int64(binary.BigEndian.Uint64(b[:8]))
	if first >= 0 {
		return Handshake{Version: ProtocolLegacy, SID: first}, nil
	}
	if first != ProtocolV1 && first != ProtocolV2 {
		return h, fmt.Errorf("%w: %d", ErrBadProtocol, first)
	}
	if _, err := io.ReadFull(r, b[:12]); err != nil {
		return h, unexpected(err)
	}
	h.Version = first
	h.SID = int64(binary.BigEndian.Uint64(b[:8]))
	n := int32(binary.BigEndian.Uint32(b[8:12]))
	if n <= 0 || n > MaxHandshakeAddr {
		return h, fmt.Errorf("%w: address length %d", ErrBadHandshake, n)
	}
	addr := make([]byte, n)
	if _, err := io.ReadFull(r, addr); err != nil {
		return h, unexpected(err)
	}
	h.Addr = string(addr)
	return h, nil
}

// DecodeHandshake decodes a handshake held in b and returns the bytes it used.
func DecodeHandshake(b []byte) (Handshake, int, error) {
	r := &countReader{b: b}
	h, err := ReadHandshake(r)
	return h, r.off, err
}

// Addrs splits and checks the handshake's address list as InitialMessage.parse does: each
// must be "host:port" with a numeric port. Wildcard hosts (0.0.0.0, ::) are dropped, as
// Apache ZooKeeper drops them. A legacy handshake has no address.
func (h *Handshake) Addrs() ([]string, error) {
	if h.Version == ProtocolLegacy {
		return nil, nil
	}
	var out []string
	for _, a := range strings.Split(h.Addr, "|") {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("%w: address %q", ErrBadHandshake, a)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("%w: address %q", ErrBadHandshake, a)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// AppendFrame appends an election frame: int length, then body.
func AppendFrame(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// WriteFrame writes body as one election frame; the body must be 1..PacketMaxSize bytes.
func WriteFrame(w io.Writer, body []byte) error {
	if len(body) == 0 || len(body) > PacketMaxSize {
		return fmt.Errorf("%w: %d", ErrBadFrame, len(body))
	}
	_, err := w.Write(AppendFrame(make([]byte, 0, 4+len(body)), body))
	return err
}

// ReadFrame reads one election frame and returns its body. A length outside
// 1..PacketMaxSize is an error (RecvWorker closes the connection on it), so a frame never
// costs more than PacketMaxSize bytes.
func ReadFrame(r io.Reader) ([]byte, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(b[:]))
	if n <= 0 || n > PacketMaxSize {
		return nil, fmt.Errorf("%w: %d", ErrBadFrame, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, unexpected(err)
	}
	return body, nil
}

// NotificationVersion is the notification format 3.5+ writes (Notification.CURRENTVERSION).
const NotificationVersion = 2

// AppendNotification appends n in the 44+N-byte form, version 2, with n.Config as the
// config bytes. Leader is written as the int64 with the same bits.
func AppendNotification(dst []byte, n *zab.Notification) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(n.State))
	dst = binary.BigEndian.AppendUint64(dst, n.Leader)
	dst = binary.BigEndian.AppendUint64(dst, uint64(n.Zxid))
	dst = binary.BigEndian.AppendUint64(dst, uint64(n.ElectionEpoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(n.PeerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, NotificationVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(n.Config)))
	return append(dst, n.Config...)
}

// EncodeNotification returns n's 44+N-byte encoding.
func EncodeNotification(n *zab.Notification) []byte {
	return AppendNotification(make([]byte, 0, 44+len(n.Config)), n)
}

// DecodeNotification decodes a notification body as FastLeaderElection's WorkerReceiver
// does and returns its format version:
//   - 28 bytes: no peerEpoch (taken from the zxid's epoch), version 0;
//   - exactly 40 bytes: peerEpoch, then an int WorkerReceiver does not read (version 0);
//   - otherwise peerEpoch and version at offset 36; a version above 1 is followed by the
//     config length and that many config bytes, which must be present.
//
// Shorter than 28 bytes, a body WorkerReceiver would underflow on, or a config length
// outside 0..len(b) is an error. Trailing bytes are ignored, as Java ignores them. Config is
// nil below version 2.
func DecodeNotification(b []byte) (n zab.Notification, version int32, err error) {
	if len(b) < 28 {
		return n, 0, fmt.Errorf("%w (%d)", ErrShortNotif, len(b))
	}
	n.State = zab.ServerState(int32(binary.BigEndian.Uint32(b)))
	n.Leader = binary.BigEndian.Uint64(b[4:])
	n.Zxid = zab.Zxid(binary.BigEndian.Uint64(b[12:]))
	n.ElectionEpoch = int64(binary.BigEndian.Uint64(b[20:]))
	if len(b) == 28 {
		n.PeerEpoch = n.Zxid.EpochOf()
		return n, 0, nil
	}
	if len(b) < 36 {
		return zab.Notification{}, 0, fmt.Errorf("%w: %d bytes", ErrBadNotif, len(b))
	}
	n.PeerEpoch = int64(binary.BigEndian.Uint64(b[28:]))
	if len(b) == 40 {
		return n, 0, nil
	}
	if len(b) < 40 {
		return zab.Notification{}, 0, fmt.Errorf("%w: %d bytes", ErrBadNotif, len(b))
	}
	version = int32(binary.BigEndian.Uint32(b[36:]))
	if version <= 1 {
		return n, version, nil
	}
	if len(b) < 44 {
		return zab.Notification{}, 0, fmt.Errorf("%w: version %d without config length", ErrBadNotif, version)
	}
	cl := int32(binary.BigEndian.Uint32(b[40:]))
	if cl < 0 || int(cl) > len(b)-44 {
		return zab.Notification{}, 0, fmt.Errorf("%w: config length %d in %d bytes", ErrBadNotif, cl, len(b))
	}
	n.Config = append([]byte{}, b[44:44+int(cl)]...)
	return n, version, nil
}

// countReader reads from a byte slice and counts what was read.
type countReader struct {
	b   []byte
	off int
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.off >= len(c.b) {
		return 0, io.EOF
	}
	n := copy(p, c.b[c.off:])
	c.off += n
	return n, nil
}

// unexpected turns an EOF in the middle of a message into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
