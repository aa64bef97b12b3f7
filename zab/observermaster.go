package zab

import "slices"

// Observer masters (observerMasterPort; ZooKeeper's ObserverMaster, 3.6+): a serving
// follower synchronises observers and passes the broadcast on to them, each commit as an
// INFORM, so that observers cost the leader no connection, sync or bandwidth. From the
// observer's side it is the learner protocol with the follower in the leader's place
// (OBSERVERINFO, LEADERINFO of the follower's epoch, DIFF/TRUNC/SNAP from the follower's
// committed history, NEWLEADER, UPTODATE, then INFORMs and PINGs). The follower relays its
// observers' syncs to the leader (the caller forwards their REQUESTs and REVALIDATEs and
// their session touches). When the follower stops following, its observers are
// disconnected and elect again, as in ZooKeeper.
//
// Unlike ZooKeeper 3.8, an observer that tries its masters in turn ends each round with
// the leader (on its quorum port, where every leader takes observers) rather than cycling
// among followers that may not listen, and a follower's observers are synchronised from
// its committed history as it stands when they register, so no commit falls between the
// sync and the INFORMs (ZOOKEEPER-5088's lost INFORMs cannot happen).

// observerMaster is a serving follower's side of its observers.
type observerMaster struct {
	handlers map[uint64]*learnerHandler
	throttle syncThrottle // the follower's own LearnerSyncThrottler
}

func (om *observerMaster) ids() []uint64 { return handlerIDs(om.handlers) }

// omStep handles a packet from an observer of this follower.
func (f *learner) omStep(from uint64, pkt *Packet) {
	p, om := f.p, f.om
	if pkt.Type == ObserverInfo {
		f.omRegister(from)
		return
	}
	h := om.handlers[from]
	if h == nil {
		p.closeConn(from) // FOLLOWERINFO, or a packet of a connection that is gone
		return
	}
	h.lastHeard = f.now
	switch pkt.Type {
	case AckEpoch:
		if h.state != hEpoch || len(pkt.Data) < 4 || len(pkt.Data) > 5 {
			f.omDrop(h)
			return
		}
		h.peerLast = pkt.Zxid
		h.wantSnap = len(pkt.Data) == 5 && pkt.Data[4] == ackEpochWantSnap
		h.state = hAckEpoch
		f.omSync(h)
	case Ack:
		// ACK(NEWLEADER) completes the sync; the one after UPTODATE is ignored, and so
		// would be a proposal's (ZooKeeper's ObserverMaster fails on one; no observer
		// sends it).
		if pkt.Zxid == MakeZxid(uint32(f.epoch), 0) && h.state == hSynced {
			f.omEndSync(h)
			p.send(h.id, Packet{Type: UpToDate, Zxid: -1})
			h.state = hUpToDate
		}
	case Ping:
		if len(h.pings) > 0 {
			h.pings = h.pings[1:]
		}
	default:
		// REQUEST and REVALIDATE: the caller relays them to the leader.
	}
}

// omRegister is a new observer connection: LEADERINFO with this follower's epoch
// (ObserverMaster.getEpochToPropose: no epoch negotiation).
func (f *learner) omRegister(from uint64) {
	p, om := f.p, f.om
	if from == f.leader {
		return // the caller refuses that connection: closing "the leader's" would close ours
	}
	if from == p.cfg.ID {
		p.closeConn(from)
		return
	}
	if old := om.handlers[from]; old != nil {
		f.omEndSync(old) // a second connection from the same observer replaces the first
	}
	om.handlers[from] = &learnerHandler{id: from, observer: true, state: hEpoch, lastHeard: f.now}
	p.send(from, Packet{Type: LeaderInfo, Zxid: MakeZxid(uint32(f.epoch), 0), Data: int32Bytes(ProtocolVersion)})
}

// omSync queues the observer's synchronisation from this follower's committed history,
// then NEWLEADER; each later commit follows as an INFORM on the same stream.
func (f *learner) omSync(h *learnerHandler) {
	p, om := f.p, f.om
	if h.peerLast > p.committed && h.peerLast.Counter() != 0 {
		// The observer has txns this follower has not seen committed (yet): only the
		// leader knows whether they were, and a TRUNC would take back what the observer's
		// clients may have read. It tries its next master; the last is the leader.
		f.omDrop(h)
		return
	}
	pkts, _ := p.syncPackets(h.peerLast, h.wantSnap)
	if !om.throttle.begin(p, h, pkts[0].Type == Snap, true) {
		f.omDrop(h)
		return
	}
	for _, pk := range pkts {
		p.send(h.id, pk)
	}
	p.send(h.id, Packet{Type: NewLeader, Zxid: MakeZxid(uint32(f.epoch), 0), Data: p.latestConfig().Raw})
	h.state = hSynced
}

func (f *learner) omEndSync(h *learnerHandler) { f.om.throttle.end(f.p, h) }

func (f *learner) omDrop(h *learnerHandler) {
	f.p.closeConn(h.id)
	f.omEndSync(h)
	delete(f.om.handlers, h.id)
}

// omInform passes a commit on to the observers synchronised so far: INFORM, or for a
// reconfig committed with COMMITANDACTIVATE, INFORMANDACTIVATE with its designated leader.
func (f *learner) omInform(t Txn, designated []byte) {
	if f.om == nil {
		return
	}
	for _, id := range f.om.ids() {
		if f.om.handlers[id].state < hSynced {
			continue
		}
		if designated != nil {
			f.p.send(id, Packet{Type: InformAndActivate, Zxid: t.Zxid, Data: append(slices.Clone(designated), t.Data...)})
		} else {
			f.p.send(id, Packet{Type: Inform, Zxid: t.Zxid, Data: t.Data})
		}
	}
}

// omTick drops observers silent too long and pings the others (ObserverMaster's pinger,
// every tickTime/2).
func (f *learner) omTick() {
	p := f.p
	for _, id := range f.om.ids() {
		h := f.om.handlers[id]
		limit := p.cfg.SyncTicks
		if h.state < hUpToDate {
			limit = p.cfg.InitTicks
		}
		if f.now-h.lastHeard > limit {
			f.omDrop(h)
			continue
		}
		if h.state == hUpToDate {
			h.pings = append(h.pings, 0)
			p.send(id, Packet{Type: Ping, Zxid: p.committed})
		}
	}
}

// omClose disconnects every observer (Follower.followLeader's om.stop()).
func (f *learner) omClose() {
	if f.om == nil {
		return
	}
	for _, id := range f.om.ids() {
		f.omDrop(f.om.handlers[id])
	}
	f.om = nil
}

// nextObserverMaster is the server an observer synchronises with next: the voters but the
// leader in turn, starting at a place given by this observer's id so that observers spread
// over the followers, then the leader itself, and round again. wrapped: a round starts
// again (or there is nobody but the leader), after which ZooKeeper's observer waits
// (QuorumPeer.nextObserverMaster).
func (p *Peer) nextObserverMaster(leader uint64) (master uint64, wrapped bool) {
	var cands []uint64
	for _, id := range p.mem.Voters {
		if id != leader && id != p.cfg.ID {
			cands = append(cands, id)
		}
	}
	if len(cands) == 0 {
		return leader, true
	}
	k := p.omTurn % (len(cands) + 1)
	wrapped = k == 0 && p.omTurn > 0
	p.omTurn++
	if k == len(cands) {
		return leader, wrapped
	}
	return cands[(k+int(p.cfg.ID%uint64(len(cands))))%len(cands)], wrapped
}

// syncWait is a learner's sync waiting for the leader's SYNC: its own (id) or, on an
// observer master, one relayed for an observer.
type syncWait struct {
	id    uint64
	relay *learnerHandler // the observer's connection; nil for this peer's own sync
}

// syncAnswered completes the oldest sync waiting for the leader's SYNC.
func (f *learner) syncAnswered() {
	s := f.syncs[0]
	f.syncs = f.syncs[1:]
	if s.relay == nil {
		f.p.rd.SyncsDone = append(f.p.rd.SyncsDone, s.id)
		return
	}
	// Only on the connection that asked (a new one asks anew), behind the INFORMs of
	// every commit before it, as the leader's SYNC was.
	if f.om != nil && f.om.handlers[s.relay.id] == s.relay {
		f.p.send(s.relay.id, Packet{Type: Sync, Zxid: 0})
	}
}
