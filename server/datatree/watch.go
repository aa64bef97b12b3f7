package datatree

import (
	"sync"

	"github.com/zkgo/zkgo/jute"
)

// Watcher receives watch events; a server connection is one. Watches belong to the watcher
// that set them and vanish when it is removed. acl is the ACL of the znode the event is about
// (its parent's for NodeChildrenChanged), nil for events not raised by a change: the watcher
// drops the event unless it may READ that node (ServerWatcher.process, the
// CVE-2024-23944 fix that the Debian 3.8.0 build the project is compared against carries).
type Watcher interface {
	Process(ev jute.WatcherEvent, acl []jute.ACL)
}

// WatchMode is how a watch behaves when it fires (WatcherMode).
type WatchMode uint8

const (
	Standard WatchMode = iota
	Persistent
	PersistentRecursive
)

// watchTable is one of the two watch tables of a tree (data or child), as WatchManager.
// Its own mutex lets reads register watches while holding only the tree's read lock.
type watchTable struct {
	mu        sync.Mutex
	byPath    map[string]map[Watcher]WatchMode
	byWatcher map[Watcher]map[string]struct{}
	recursive int // number of PersistentRecursive registrations; 0 skips the parent walk
}

func newWatchTable() *watchTable {
	return &watchTable{
		byPath:    make(map[string]map[Watcher]WatchMode),
		byWatcher: make(map[Watcher]map[string]struct{}),
	}
}

// deadWatcher is a Watcher that can be closing; add ignores it then, as
// WatchManager.addWatch ignores a stale ServerCnxn (isDeadWatcher). The check is made under
// the table's mutex so that an add cannot slip in after the watcher's removal.
type deadWatcher interface {
	Dead() bool
}

func (t *watchTable) add(path string, w Watcher, mode WatchMode) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d, ok := w.(deadWatcher); ok && d.Dead() {
		return
	}
	ws := t.byPath[path]
	if ws == nil {
		ws = make(map[Watcher]WatchMode)
		t.byPath[path] = ws
	}
	old, had := ws[w]
	// One mode per (watcher, path) and table, and the last add wins: a one-shot watch set on
	// a path the watcher watches persistently turns that watch into a one-shot one (3.8's
	// WatcherModeManager.setWatcherMode; only 3.9's ZOOKEEPER-4466 keeps both).
	if had && old == PersistentRecursive {
		t.recursive--
	}
	if mode == PersistentRecursive {
		t.recursive++
	}
	ws[w] = mode
	ps := t.byWatcher[w]
	if ps == nil {
		ps = make(map[string]struct{})
		t.byWatcher[w] = ps
	}
	ps[path] = struct{}{}
}

func (t *watchTable) removeLocked(path string, w Watcher) {
	ws := t.byPath[path]
	if mode, ok := ws[w]; ok {
		if mode == PersistentRecursive {
			t.recursive--
		}
		delete(ws, w)
		if len(ws) == 0 {
			delete(t.byPath, path)
		}
	}
	if ps := t.byWatcher[w]; ps != nil {
		delete(ps, path)
		if len(ps) == 0 {
			delete(t.byWatcher, w)
		}
	}
}

// trigger fires the watches for an event on path and returns the watchers it notified.
// Parents are visited only for recursive watches, which never see NodeChildrenChanged.
func (t *watchTable) trigger(path string, typ int32, acl []jute.ACL, suppress map[Watcher]struct{}) map[Watcher]struct{} {
	t.mu.Lock()
	var fired map[Watcher]struct{}
	add := func(w Watcher) {
		if fired == nil {
			fired = make(map[Watcher]struct{})
		}
		fired[w] = struct{}{}
	}
	p := path
	atParent := false
	for {
		if ws := t.byPath[p]; len(ws) > 0 {
			for w, mode := range ws {
				switch {
				case mode == PersistentRecursive:
					if typ != jute.EventNodeChildrenChanged {
						add(w)
					}
				case !atParent:
					add(w)
					if mode == Standard {
						t.removeLocked(p, w)
					}
				}
			}
		}
		if t.recursive == 0 || p == "/" {
			break
		}
		p, _ = Split(p)
		atParent = true
	}
	t.mu.Unlock()
	if len(fired) == 0 {
		return nil
	}
	ev := jute.WatcherEvent{Type: typ, State: jute.StateSyncConnected, Path: path}
	for w := range fired {
		if _, skip := suppress[w]; skip {
			continue
		}
		w.Process(ev, acl)
	}
	return fired
}

// trigger fires table's watches for an event and reports the watchers it fired to
// WatchesFired.
func (t *Tree) trigger(table *watchTable, path string, typ int32, acl []jute.ACL, suppress map[Watcher]struct{}) map[Watcher]struct{} {
	fired := table.trigger(path, typ, acl, suppress)
	if len(fired) > 0 && t.WatchesFired != nil {
		t.WatchesFired(typ, len(fired))
	}
	return fired
}

// has reports whether w watches path in one of the given modes.
func (t *watchTable) has(path string, w Watcher, modes ...WatchMode) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	mode, ok := t.byPath[path][w]
	if !ok {
		return false
	}
	for _, m := range modes {
		if m == mode {
			return true
		}
	}
	return false
}

// remove drops w's watch on path if its mode is one of modes; it reports whether it did.
func (t *watchTable) remove(path string, w Watcher, modes ...WatchMode) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	mode, ok := t.byPath[path][w]
	if !ok {
		return false
	}
	for _, m := range modes {
		if m == mode {
			t.removeLocked(path, w)
			return true
		}
	}
	return false
}

func (t *watchTable) removeWatcher(w Watcher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range t.byWatcher[w] {
		ws := t.byPath[p]
		if ws[w] == PersistentRecursive {
			t.recursive--
		}
		delete(ws, w)
		if len(ws) == 0 {
			delete(t.byPath, p)
		}
	}
	delete(t.byWatcher, w)
}

// WatchStats summarises a table for wchs/mntr.
type WatchStats struct {
	Watchers int // connections with at least one watch
	Paths    int
	Watches  int
}

func (t *watchTable) stats() WatchStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := WatchStats{Watchers: len(t.byWatcher), Paths: len(t.byPath)}
	for _, ws := range t.byPath {
		s.Watches += len(ws)
	}
	return s
}

// byWatcherCopy returns watcher -> paths, for wchc.
func (t *watchTable) byWatcherCopy() map[Watcher][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[Watcher][]string, len(t.byWatcher))
	for w, ps := range t.byWatcher {
		for p := range ps {
			out[w] = append(out[w], p)
		}
	}
	return out
}
