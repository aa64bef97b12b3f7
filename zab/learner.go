package zab

// fphase is a learner's phase (Learner.registerWithLeader, syncWithLeader, then
// Follower.followLeader / Observer.observeLeader).
type fphase int

const (
	fInfo      fphase = iota // FOLLOWERINFO/OBSERVERINFO sent, waiting for LEADERINFO
	fEpochAck                // ACKEPOCH sent, waiting for DIFF, TRUNC or SNAP
	fSyncing                 // synchronising, waiting for NEWLEADER
	fNewLeader               // NEWLEADER acknowledged, waiting for UPTODATE
	fServing                 // broadcast
)

// learner is the Follower or Observer side of Zab for one leader connection.
type learner struct {
	p         *Peer
	leader    uint64 // the server synchronised with: the leader, or an observer master
	elected   uint64 // the leader
	observer  bool
	phase     fphase
	epoch     int64 // the leader's epoch, from LEADERINFO
	now       int
	lastHeard int

	pending []Txn // logged, not committed yet, in zxid order
	seen    Zxid  // last zxid received from the leader: the next must follow it

	syncAcks []Zxid          // proposals received while synchronising: ACKed after UPTODATE
	syncs    []syncWait      // syncs waiting for the leader's SYNC, oldest first
	om       *observerMaster // a serving follower's observers (Config.ObserverMaster)
}

// becomeLearner follows or observes leader through master: the leader, or for an observer
// with observer masters possibly one of the followers.
func (p *Peer) becomeLearner(leader, master uint64, observer bool) {
	f := &learner{p: p, leader: master, elected: leader, observer: observer, seen: p.lastZxid}
	p.learn = f
	p.lead = nil
	st := Following
	typ := FollowerInfo
	if observer {
		st, typ = Observing, ObserverInfo
	}
	p.setRole(Role{State: st, Leader: leader, Master: master})
	// registerWithLeader: our acceptedEpoch travels in the zxid, LearnerInfo in the data.
	p.send(master, Packet{Type: typ, Zxid: MakeZxid(uint32(p.acceptedEpoch), 0), Data: learnerInfo(p.cfg.ID, 0)})
}

// fail is a protocol error or a lost leader: back to LOOKING.
func (f *learner) fail() { f.p.goLooking() }

func (f *learner) tick() {
	f.now++
	limit := f.p.cfg.SyncTicks
	if f.phase != fServing {
		limit = f.p.cfg.InitTicks
	}
	if f.now-f.lastHeard > limit {
		f.fail()
		return
	}
	if f.om != nil {
		f.omTick()
	}
}

func (f *learner) step(from uint64, pkt *Packet) {
	p := f.p
	if from != f.leader {
		if f.om != nil {
			f.omStep(from, pkt) // an observer of this follower
			return
		}
		// Not our leader (a stale one, or a peer that thinks we lead): refuse.
		p.closeConn(from)
		return
	}
	f.lastHeard = f.now
	switch f.phase {
	case fInfo:
		if pkt.Type != LeaderInfo {
			f.fail()
			return
		}
		f.leaderInfo(pkt)
	case fEpochAck:
		f.syncStart(pkt)
	default:
		f.syncOrBroadcast(pkt)
	}
}

// leaderInfo accepts the new epoch (persisting it before ACKEPOCH says so) or refuses it.
func (f *learner) leaderInfo(pkt *Packet) {
	p := f.p
	e := int64(pkt.Zxid.Epoch())
	cur := int32(p.currentEpoch)
	switch {
	case e > p.acceptedEpoch:
		p.persist(Action{Kind: SetAcceptedEpoch, Epoch: e})
		p.acceptedEpoch = e
	case e == p.acceptedEpoch:
		cur = -1
	default:
		f.fail()
		return
	}
	f.epoch = e
	f.phase = fEpochAck
	data := int32Bytes(cur)
	if p.needSnap {
		data = append(data, ackEpochWantSnap)
	}
	p.send(f.leader, Packet{Type: AckEpoch, Zxid: p.lastZxid, Data: data})
}

// syncStart handles the first synchronisation packet.
func (f *learner) syncStart(pkt *Packet) {
	p := f.p
	switch pkt.Type {
	case Diff:
	case Trunc:
		z := pkt.Zxid
		if z > p.lastZxid {
			f.fail()
			return
		}
		p.persist(Action{Kind: Truncate, Zxid: z})
		p.lastZxid, p.committed = z, z
		i := len(p.hist)
		for i > 0 && p.hist[i-1].Zxid > z {
			i--
		}
		p.hist = p.hist[:i]
		p.truncateConfigs(z)
		f.seen = z
	case Snap:
		z := pkt.Zxid
		f.seen = z
		p.persist(Action{Kind: InstallSnapshot, Zxid: z})
		p.lastZxid, p.committed = z, z
		p.needSnap = false
		p.hist = nil
		// The snapshot replaces the whole history. Its newest configuration stays pending
		// until the sync completes: every configuration before it in a leader's history was
		// committed before it was proposed, so its quorum is the one that matters (a learner
		// that forgot it could lead with a quorum of an older configuration alone).
		p.truncateConfigs(-1)
		if p.cfg.ParseConfig != nil && len(pkt.Data) > 0 {
			if m, ok := p.cfg.ParseConfig(pkt.Data); ok && m.Version <= int64(z) {
				p.addPending(normalize(m))
			}
		}
		f.raiseCurrentEpoch(z)
	default:
		f.fail()
		return
	}
	f.phase = fSyncing
}

// raiseCurrentEpoch persists currentEpoch = epoch of z when z, received while
// synchronising, is of a later epoch. With it the disk always looks like that of a follower
// of z's epoch: currentEpoch never runs behind the last logged zxid (ZOOKEEPER-1653), and
// it never runs ahead of the history (ZOOKEEPER-4643): it is written right before the
// epoch's first txn is appended (a crash in between leaves the state of a follower that has
// just acknowledged that epoch's NEWLEADER), or right after a snapshot is installed.
func (f *learner) raiseCurrentEpoch(z Zxid) {
	p := f.p
	if e := z.EpochOf(); e > p.currentEpoch {
		p.persist(Action{Kind: SetCurrentEpoch, Epoch: e})
		p.currentEpoch = e
	}
}

func (f *learner) syncOrBroadcast(pkt *Packet) {
	p := f.p
	switch pkt.Type {
	case Proposal:
		if f.observer && f.phase == fServing {
			f.fail()
			return
		}
		f.receive(Txn{Zxid: pkt.Zxid, Data: pkt.Data}, false)
	case Inform:
		if !f.observer {
			f.fail()
			return
		}
		f.receive(Txn{Zxid: pkt.Zxid, Data: pkt.Data}, true)
	case Commit:
		if f.observer && f.phase == fServing {
			f.fail()
			return
		}
		f.commit(pkt.Zxid, nil)
	case CommitAndActivate:
		// A ZooKeeper leader commits a reconfig txn with this (Leader.commitAndActivate):
		// a COMMIT whose body is the designated leader's sid. Committing the txn commits
		// its configuration here; a leader that is not designated stops and the voters
		// elect again, as with a zkgo leader that removed itself.
		if f.observer && f.phase == fServing || len(pkt.Data) < 8 {
			f.fail()
			return
		}
		f.commit(pkt.Zxid, pkt.Data[:8])
	case InformAndActivate:
		// The observers' form: the designated leader's sid, then the txn.
		if !f.observer || len(pkt.Data) < 8 {
			f.fail()
			return
		}
		f.receive(Txn{Zxid: pkt.Zxid, Data: pkt.Data[8:]}, true)
	case NewLeader:
		if f.phase != fSyncing || pkt.Zxid != MakeZxid(uint32(f.epoch), 0) {
			f.fail()
			return
		}
		f.newLeader(pkt.Data)
	case UpToDate:
		if f.phase != fNewLeader {
			f.fail()
			return
		}
		f.upToDate()
	case Ping:
		if f.phase == fServing {
			p.send(f.leader, Packet{Type: Ping, Zxid: pkt.Zxid})
		}
	case Sync:
		if f.phase == fServing && len(f.syncs) > 0 {
			f.syncAnswered()
		}
	case LeaderInfo, Diff, Trunc, Snap:
		f.fail()
	default:
		// REVALIDATE answers and the like are the caller's business.
	}
}

// receive takes a txn from the leader: a PROPOSAL (committed = false) or an INFORM.
func (f *learner) receive(t Txn, committed bool) {
	p := f.p
	if !nextInHistory(f.seen, t.Zxid) {
		f.fail()
		return
	}
	f.seen = t.Zxid
	if f.phase != fServing {
		f.raiseCurrentEpoch(t.Zxid)
	}
	p.appendTxns(t)
	switch {
	case committed:
		p.apply(t)
	case f.phase == fServing:
		f.pending = append(f.pending, t)
		// The append above is durable before this ACK is sent (Ready order).
		p.send(f.leader, Packet{Type: Ack, Zxid: t.Zxid})
	default:
		f.pending = append(f.pending, t)
		f.syncAcks = append(f.syncAcks, t.Zxid)
	}
}

// commit applies the oldest pending proposal, which must be z, and passes it on to this
// follower's observers; designated is COMMITANDACTIVATE's leader sid (nil for a COMMIT).
func (f *learner) commit(z Zxid, designated []byte) {
	p := f.p
	if len(f.pending) == 0 || f.pending[0].Zxid != z {
		f.fail() // a commit out of order, or of a txn we do not have
		return
	}
	t := f.pending[0]
	f.pending = f.pending[1:]
	p.apply(t)
	f.omInform(t, designated)
}

// newLeader completes synchronisation: currentEpoch is written after every txn the sync
// brought was appended (earlier in this Ready or in an earlier one), and all of it is
// durable before the ACK that promises it (ZOOKEEPER-335, 3104, 3911, 4643).
func (f *learner) newLeader(data []byte) {
	p := f.p
	if p.cfg.ParseConfig != nil && len(data) > 0 {
		// The leader's newest configuration (committed or not): a learner synchronised
		// with a snapshot has not seen the reconfig txn itself. Or its static
		// configuration versioned with a NEWLEADER zxid (ZOOKEEPER-1783), this one's or,
		// when that epoch was never established, an earlier one's that the leader kept
		// pending; such a version may be above every zxid the sync brought. Take any
		// version up to this NEWLEADER's zxid or the last zxid synchronised, as
		// ZooKeeper's learners take any newer one.
		if m, ok := p.cfg.ParseConfig(data); ok && m.Version <= max(int64(f.seen), int64(MakeZxid(uint32(f.epoch), 0))) {
			p.addPending(normalize(m))
		}
	}
	p.persist(Action{Kind: SetCurrentEpoch, Epoch: f.epoch})
	p.currentEpoch = f.epoch
	f.phase = fNewLeader
	p.send(f.leader, Packet{Type: Ack, Zxid: MakeZxid(uint32(f.epoch), 0)})
}

func (f *learner) upToDate() {
	p := f.p
	f.phase = fServing
	st := Following
	if f.observer {
		st = Observing
	}
	p.setRole(Role{State: st, Leader: f.elected, Master: f.leader, Epoch: f.epoch, Serving: true})
	p.updateElectionVote(f.epoch)
	// The epoch is established: what the synchronisation applied is committed, reconfigs
	// included, and so is the configuration NEWLEADER carried.
	p.commitConfigs(max(p.committed, MakeZxid(uint32(f.epoch), 0)))
	f.checkRole()
	ack := MakeZxid(uint32(f.epoch), 0)
	p.send(f.leader, Packet{Type: Ack, Zxid: ack})
	// Apache 3.8's follower ACKs each proposal received during the synchronisation once it
	// is up to date (its leader ignores the ones it has committed); an observer ACKs none
	// (an observer master would fail on one).
	if !f.observer {
		for _, z := range f.syncAcks {
			p.send(f.leader, Packet{Type: Ack, Zxid: z})
		}
		if p.cfg.ObserverMaster {
			f.om = &observerMaster{handlers: map[uint64]*learnerHandler{}}
		}
	}
	f.syncAcks = nil
}

// checkRole goes back to LOOKING, once what is queued has been sent, when a committed
// reconfig changed this learner's role: an observer made a voter or removed, a follower
// made an observer. A follower that is not (or no longer) a voter keeps following without
// a vote, as a server about to be added does.
func (f *learner) checkRole() {
	p := f.p
	id := p.cfg.ID
	if f.observer == p.mem.isObserver(id) {
		return
	}
	p.onAdvance(func() {
		if p.learn == f {
			p.goLooking()
		}
	})
}
