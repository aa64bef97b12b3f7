// Package zab is ZooKeeper's coordination protocol as deterministic state machines: fast
// leader election (FastLeaderElection) and the Zab atomic broadcast (discovery,
// synchronisation, broadcast), in the style of etcd's raft package.
//
// Nothing in this package opens a socket, starts a goroutine, reads a clock or touches a
// disk. A machine is fed messages (Step) and logical time (Tick) and hands back a Ready:
// what to persist, what to send, what to apply. The caller (package quorum in production, the
// simulation tests here) executes a Ready in this order and then calls Advance:
//
//  1. Persist: every persistence action (epochs, log truncation, snapshot installs, txn
//     appends) is made durable, in the order given. A crash may stop this step anywhere.
//  2. Apply: committed txns are applied to the data tree, in zxid order.
//  3. Send: messages are sent, in order per destination. None is sent before step 1
//     finished: a message may promise what step 1 stored (ACK, ACKEPOCH).
//
// Message loss comes in two kinds, as on real networks: an election message may be lost
// alone (QuorumCnxManager drops and re-dials), while the learner-leader stream is TCP: a
// loss there is the end of the connection, reported with Disconnected, and nothing after a
// lost message is delivered on that connection.
//
// Names follow Apache ZooKeeper (zxid, epoch, acceptedEpoch, currentEpoch, NEWLEADER, ...);
// the wire encoding of every message lives in package quorum/wire.
package zab

import (
	"errors"
	"fmt"
)

// Zxid is a transaction id: epoch in the high 32 bits, counter in the low 32 bits.
type Zxid int64

// MakeZxid builds a zxid from its halves.
func MakeZxid(epoch, counter uint32) Zxid { return Zxid(int64(epoch)<<32 | int64(counter)) }

// Epoch is the high half.
func (z Zxid) Epoch() uint32 { return uint32(uint64(z) >> 32) }

// EpochOf is the high half as ZxidUtils.getEpochFromZxid reads it, sign included: -1 for the
// zxid -1 of a member whose data was not trusted (zookeeper.db.autocreate=false) and for the
// FOLLOWERINFO of one whose acceptedEpoch is therefore -1; Epoch for any other zxid.
func (z Zxid) EpochOf() int64 { return int64(z) >> 32 }

// Counter is the low half.
func (z Zxid) Counter() uint32 { return uint32(uint64(z)) }

func (z Zxid) String() string { return fmt.Sprintf("0x%x", int64(z)) }

// ServerState is a peer's state as election notifications carry it (QuorumPeer.ServerState).
type ServerState int32

const (
	Looking   ServerState = 0
	Following ServerState = 1
	Leading   ServerState = 2
	Observing ServerState = 3
)

func (s ServerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return fmt.Sprintf("ServerState(%d)", int32(s))
}

// PacketType is a QuorumPacket type (Leader.java constants).
type PacketType int32

const (
	Request           PacketType = 1
	Proposal          PacketType = 2
	Ack               PacketType = 3
	Commit            PacketType = 4
	Ping              PacketType = 5
	Revalidate        PacketType = 6
	Sync              PacketType = 7
	Inform            PacketType = 8
	CommitAndActivate PacketType = 9
	NewLeader         PacketType = 10
	FollowerInfo      PacketType = 11
	UpToDate          PacketType = 12
	Diff              PacketType = 13
	Trunc             PacketType = 14
	Snap              PacketType = 15
	ObserverInfo      PacketType = 16
	LeaderInfo        PacketType = 17
	AckEpoch          PacketType = 18
	InformAndActivate PacketType = 19
)

var packetNames = map[PacketType]string{
	Request: "REQUEST", Proposal: "PROPOSAL", Ack: "ACK", Commit: "COMMIT", Ping: "PING",
	Revalidate: "REVALIDATE", Sync: "SYNC", Inform: "INFORM", CommitAndActivate: "COMMITANDACTIVATE",
	NewLeader: "NEWLEADER", FollowerInfo: "FOLLOWERINFO", UpToDate: "UPTODATE", Diff: "DIFF",
	Trunc: "TRUNC", Snap: "SNAP", ObserverInfo: "OBSERVERINFO", LeaderInfo: "LEADERINFO",
	AckEpoch: "ACKEPOCH", InformAndActivate: "INFORMANDACTIVATE",
}

func (t PacketType) String() string {
	if n, ok := packetNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PacketType(%d)", int32(t))
}

// ProtocolVersion is the LearnerInfo / LEADERINFO protocol version of Zab 1.0.
const ProtocolVersion = 0x10000

// Txn is one transaction as the broadcast carries it: its zxid and its serialised form
// (TxnHeader + record + optional TxnDigest), opaque to this package.
type Txn struct {
	Zxid Zxid
	Data []byte
}

// Notification is a fast-leader-election message (FastLeaderElection.Notification).
type Notification struct {
	State         ServerState // sender's state
	Leader        uint64      // proposed or known leader
	Zxid          Zxid        // proposed leader's last zxid
	ElectionEpoch int64       // sender's logical clock
	PeerEpoch     int64       // proposed leader's currentEpoch
	Config        []byte      // sender's QuorumVerifier string; opaque here
}

// Packet is a learner-leader message (QuorumPacket without authinfo, which only REQUEST
// uses and which never reaches this package).
type Packet struct {
	Type PacketType
	Zxid Zxid
	Data []byte
}

// Message is an outgoing or incoming message: exactly one of Vote and Packet is set.
// Votes travel on the election port, packets on the quorum port.
type Message struct {
	From, To uint64
	Vote     *Notification
	Packet   *Packet
}

func (m Message) String() string {
	if m.Vote != nil {
		v := m.Vote
		return fmt.Sprintf("%d->%d vote{%s leader=%d zxid=%s round=%d peerEpoch=%d}", m.From, m.To, v.State, v.Leader, v.Zxid, v.ElectionEpoch, v.PeerEpoch)
	}
	if m.Packet != nil {
		return fmt.Sprintf("%d->%d %s(%s, %d bytes)", m.From, m.To, m.Packet.Type, m.Packet.Zxid, len(m.Packet.Data))
	}
	return fmt.Sprintf("%d->%d empty", m.From, m.To)
}

// ErrCompacted is returned by Log.Since when txns that old are no longer kept; the leader
// then synchronises the learner with a snapshot.
var ErrCompacted = errors.New("zab: txns no longer in the log")

// Errors returned by Peer.
var (
	ErrNotLeader  = errors.New("zab: not the serving leader")
	ErrZxidOrder  = errors.New("zab: proposal zxid out of order")
	ErrNotServing = errors.New("zab: not serving")
)
