package server

import (
	"sync"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// changeRecord is what a prepared but not yet applied transaction will make of a node
// (PrepRequestProcessor.ChangeRecord); exists=false records a pending delete.
type changeRecord struct {
	zxid       int64
	path       string
	exists     bool
	stat       jute.StatPersisted
	childCount int32
	data       []byte
	acl        []jute.ACL
	digest     uint64 // NodeDigest of this state (0 for a delete)
}

// outstanding holds the change records of transactions between prep and apply, so that a
// request is prepared against the tree as it will be once everything before it is applied.
type outstanding struct {
	mu     sync.Mutex
	byPath map[string]*changeRecord
	queue  []*changeRecord
}

func newOutstanding() *outstanding {
	return &outstanding{byPath: make(map[string]*changeRecord)}
}

// record returns the effective state of path: the newest pending change, else the tree.
// The tree is read after the map: a txn is applied to the tree before its record leaves
// the map, so either view is current.
func (s *Server) record(path string) *changeRecord {
	o := s.outstanding
	o.mu.Lock()
	if cr, ok := o.byPath[path]; ok {
		cp := *cr
		o.mu.Unlock()
		if !cp.exists {
			return nil
		}
		return &cp
	}
	o.mu.Unlock()
	t := s.dt()
	t.RLock()
	defer t.RUnlock()
	n := t.Get(path)
	if n == nil {
		return nil
	}
	return &changeRecord{path: path, exists: true, stat: n.Stat, childCount: int32(n.NumChildren()), data: n.Data, acl: t.ACL(n)}
}

// addChange records a pending change and moves the prepared tree digest from the path's
// previous state to this one, so every txn can be logged with the digest the tree will
// have once it is applied (PrepRequestProcessor's precalculated digest).
func (s *Server) addChange(cr *changeRecord) {
	if cr.exists {
		cr.digest = datatree.NodeDigest(cr.path, cr.data, &cr.stat)
	}
	o := s.outstanding
	o.mu.Lock()
	var old uint64
	if prev, ok := o.byPath[cr.path]; ok {
		old = prev.digest
	} else {
		// Not pending: the tree is current for this path (see record).
		s.dt().RLock()
		if n := s.dt().Get(cr.path); n != nil {
			old = datatree.NodeDigest(cr.path, n.Data, &n.Stat)
		}
		s.dt().RUnlock()
	}
	s.prepDigest += cr.digest - old
	o.byPath[cr.path] = cr
	o.queue = append(o.queue, cr)
	o.mu.Unlock()
}

// applied drops the records of every transaction up to zxid.
func (s *Server) applied(zxid int64) {
	o := s.outstanding
	o.mu.Lock()
	i := 0
	for ; i < len(o.queue) && o.queue[i].zxid <= zxid; i++ {
		cr := o.queue[i]
		if o.byPath[cr.path] == cr {
			delete(o.byPath, cr.path)
		}
		o.queue[i] = nil
	}
	o.queue = o.queue[i:]
	if len(o.queue) == 0 {
		o.queue = nil
	}
	o.mu.Unlock()
}

// rollback forgets the records a failed multi added under zxid (rollbackPendingChanges).
func (s *Server) rollback(zxid int64) {
	o := s.outstanding
	o.mu.Lock()
	defer o.mu.Unlock()
	paths := map[string]struct{}{}
	for len(o.queue) > 0 && o.queue[len(o.queue)-1].zxid == zxid {
		cr := o.queue[len(o.queue)-1]
		o.queue = o.queue[:len(o.queue)-1]
		paths[cr.path] = struct{}{}
	}
	for p := range paths {
		delete(o.byPath, p)
		for i := len(o.queue) - 1; i >= 0; i-- {
			if o.queue[i].path == p {
				o.byPath[p] = o.queue[i]
				break
			}
		}
	}
}

// rollbackFrom forgets every change record from zxid on (a batch that was not persisted).
func (s *Server) rollbackFrom(zxid int64) {
	o := s.outstanding
	o.mu.Lock()
	defer o.mu.Unlock()
	i := len(o.queue)
	for i > 0 && o.queue[i-1].zxid >= zxid {
		i--
	}
	dropped := o.queue[i:]
	o.queue = o.queue[:i]
	for _, cr := range dropped {
		if o.byPath[cr.path] == cr {
			delete(o.byPath, cr.path)
			for j := len(o.queue) - 1; j >= 0; j-- {
				if o.queue[j].path == cr.path {
					o.byPath[cr.path] = o.queue[j]
					break
				}
			}
		}
	}
}

// pendingEphemerals applies the queued changes to a session's ephemeral set (closeSession).
func (s *Server) pendingEphemerals(session int64, set *datatree.JavaStringSet) {
	o := s.outstanding
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, cr := range o.queue {
		if !cr.exists {
			set.Remove(cr.path)
		} else if cr.stat.EphemeralOwner == session && s.dt().OwnerType(session) == datatree.OwnerSession {
			set.Add(cr.path)
		}
	}
}

// changing reports whether a prepared change of path is not applied yet.
func (s *Server) changing(path string) bool {
	o := s.outstanding
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.byPath[path]
	return ok
}
