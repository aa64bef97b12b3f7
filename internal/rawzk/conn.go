// Package rawzk is a raw ZooKeeper client-protocol test client built on the jute package. It
// can send any opcode with any body (including malformed ones) on any number of connections,
// pipeline requests, and it records every frame the server sends (replies, notifications and
// the connection closing) in arrival order per connection, so that tests can compare two
// servers frame by frame.
//
// It deliberately implements none of a real client's logic: no reconnects, no watch
// bookkeeping, no xid checks. Tests decide what to send and inspect what came back.
package rawzk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
)

// DefaultTimeout bounds every wait of this package unless the caller gives one.
const DefaultTimeout = 10 * time.Second

// maxFrame bounds frames read from the server (generous: jute.maxbuffer plus headers).
const maxFrame = 16 << 20

// Packet is one frame received from the server, or the end of the stream (Closed).
type Packet struct {
	Seq    int              // arrival index on this connection
	Hdr    jute.ReplyHeader // ReplyHeader of the frame
	Body   []byte           // bytes after the ReplyHeader
	Event  *jute.WatcherEvent
	Closed bool  // the server closed the connection (or reading failed); Err holds why
	Err    error // read error for Closed packets
}

// IsNotification reports whether p is a watch notification (xid -1).
func (p Packet) IsNotification() bool { return !p.Closed && p.Hdr.Xid == jute.XidNotification }

// ConnectOptions describe a ConnectRequest.
type ConnectOptions struct {
	SessionID  int64  // 0 = new session
	Passwd     []byte // nil = 16 zero bytes
	TimeoutMs  int32  // 0 = 30000
	LastZxid   int64
	NoReadOnly bool // omit the trailing readOnly byte (3.3-era client, 44-byte request)
	ReadOnly   bool // value of the readOnly byte when sent
	Dial       time.Duration
}

// Conn is one TCP connection to a server.
type Conn struct {
	nc   net.Conn
	Resp jute.ConnectResponse // the server's ConnectResponse

	wmu sync.Mutex // serialises writes

	mu       sync.Mutex
	cond     *sync.Cond
	packets  []Packet
	consumed map[int]bool
	closed   bool
	nextXid  int32
	lastZxid int64 // highest reply zxid seen (>0)
	done     chan struct{}
}

// Dial connects and performs the handshake. A rejected session (timeout 0) is not an error:
// Resp then holds the server's answer and the connection is usually closed by the server.
func Dial(addr string, o ConnectOptions) (*Conn, error) {
	dt := o.Dial
	if dt == 0 {
		dt = DefaultTimeout
	}
	nc, err := net.DialTimeout("tcp", addr, dt)
	if err != nil {
		return nil, err
	}
	req := jute.ConnectRequest{
		LastZxidSeen: o.LastZxid,
		TimeOut:      o.TimeoutMs,
		SessionID:    o.SessionID,
		Passwd:       o.Passwd,
		ReadOnly:     o.ReadOnly,
		HasReadOnly:  !o.NoReadOnly,
	}
	if req.TimeOut == 0 {
		req.TimeOut = 30000
	}
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	if err := writeFrame(nc, jute.Marshal(&req)); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(dt))
	frame, err := readFrame(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("rawzk: connect response: %w", err)
	}
	_ = nc.SetReadDeadline(time.Time{})
	c := &Conn{nc: nc, consumed: map[int]bool{}, nextXid: 1, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	if err := jute.Unmarshal(frame, &c.Resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("rawzk: decode connect response: %w", err)
	}
	go c.readLoop()
	return c, nil
}

// SessionID is the session id the server assigned (0 if rejected).
func (c *Conn) SessionID() int64 { return c.Resp.SessionID }

// Passwd is the session password from the ConnectResponse.
func (c *Conn) Passwd() []byte { return c.Resp.Passwd }

// LastZxid is the highest zxid seen in a reply header on this connection.
func (c *Conn) LastZxid() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastZxid
}

func writeFrame(w io.Writer, payload []byte) error {
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(lb[:]))
	if n < 0 || n > maxFrame {
		return nil, fmt.Errorf("rawzk: bad frame length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		frame, err := readFrame(c.nc)
		c.mu.Lock()
		if err != nil {
			c.packets = append(c.packets, Packet{Seq: len(c.packets), Closed: true, Err: err})
			c.closed = true
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		p := Packet{Seq: len(c.packets)}
		d := jute.NewDecoder(frame)
		p.Hdr.Decode(d)
		if d.Err() != nil {
			p.Closed = true
			p.Err = fmt.Errorf("rawzk: short reply header (%d bytes)", len(frame))
		} else {
			p.Body = frame[d.Off:]
			if p.Hdr.Xid == jute.XidNotification {
				var ev jute.WatcherEvent
				if jute.Unmarshal(p.Body, &ev) == nil {
					p.Event = &ev
				}
			} else if p.Hdr.Zxid > c.lastZxid {
				c.lastZxid = p.Hdr.Zxid
			}
		}
		c.packets = append(c.packets, p)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// NextXid allocates the next normal xid (1, 2, ...), as the Java client does.
func (c *Conn) NextXid() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.nextXid
	c.nextXid++
	return x
}

// XidFor returns the xid a Java client uses for op: the special xids for ping, auth and
// setWatches, otherwise the next normal xid.
func (c *Conn) XidFor(op int32) int32 {
	switch op {
	case jute.OpPing:
		return jute.XidPing
	case jute.OpAuth:
		return jute.XidAuth
	case jute.OpSetWatches, jute.OpSetWatches2:
		return jute.XidSetWatches
	}
	return c.NextXid()
}

// SendFrame writes one raw frame (the length prefix is added).
func (c *Conn) SendFrame(payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return writeFrame(c.nc, payload)
}

// SendRaw writes arbitrary bytes to the socket, without framing.
func (c *Conn) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// Send writes RequestHeader{xid, op} followed by body.
func (c *Conn) Send(xid, op int32, body []byte) error {
	e := jute.NewEncoder(8 + len(body))
	e.Int(xid)
	e.Int(op)
	e.B = append(e.B, body...)
	return c.SendFrame(e.B)
}

// ErrTimeout is returned when a wait runs out.
var ErrTimeout = errors.New("rawzk: timed out")

// ErrClosed is returned when the connection closed before the awaited reply.
var ErrClosed = errors.New("rawzk: connection closed")

// WaitReply returns the first not yet consumed reply with the given xid and marks it consumed.
func (c *Conn) WaitReply(xid int32, timeout time.Duration) (Packet, error) {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, p := range c.packets {
			if !c.consumed[i] && !p.Closed && p.Hdr.Xid == xid {
				c.consumed[i] = true
				return p, nil
			}
		}
		if c.closed {
			return Packet{}, ErrClosed
		}
		if !time.Now().Before(deadline) {
			return Packet{}, ErrTimeout
		}
		c.cond.Wait()
	}
}

// Call sends op with the Java client's xid for it and waits for the reply.
func (c *Conn) Call(op int32, body []byte) (Packet, error) {
	xid := c.XidFor(op)
	if err := c.Send(xid, op, body); err != nil {
		return Packet{}, err
	}
	return c.WaitReply(xid, 0)
}

// WaitClosed waits until the server closes the connection; it reports whether it did.
func (c *Conn) WaitClosed(timeout time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// IsClosed reports whether the stream has ended.
func (c *Conn) IsClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Packets returns a copy of everything received so far, in arrival order.
func (c *Conn) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.packets...)
}

// PacketsSince returns the packets with Seq >= from.
func (c *Conn) PacketsSince(from int) []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from >= len(c.packets) {
		return nil
	}
	return append([]Packet(nil), c.packets[from:]...)
}

// Len is the number of packets received so far.
func (c *Conn) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.packets)
}

// Close closes the socket (without closeSession) and waits for the reader to stop.
func (c *Conn) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

// CloseWrite half-closes the socket, if it is TCP.
func (c *Conn) CloseWrite() error {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}
