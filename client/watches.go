package client

import (
	"strings"
	"sync"
)

// watchKind indexes the client's watch tables (ZKWatchManager).
type watchKind int

const (
	kindData watchKind = iota
	kindExist
	kindChild
	kindPersistent
	kindPersistentRecursive
	numKinds
)

// watchManager is the client-side record of watches, mirroring Java's ZKWatchManager: one
// table per kind, path -> ordered set of watchers. One-shot watches are removed when their
// event is materialized; persistent ones stay until removed.
type watchManager struct {
	mu  sync.Mutex
	tab [numKinds]map[string][]Watcher
	def Watcher // default watcher (may be nil)
}

func newWatchManager(def Watcher) *watchManager {
	m := &watchManager{def: def}
	for i := range m.tab {
		m.tab[i] = map[string][]Watcher{}
	}
	return m
}

func addWatcher(set []Watcher, w Watcher) []Watcher {
	for _, x := range set {
		if x == w {
			return set
		}
	}
	return append(set, w)
}

func (m *watchManager) add(k watchKind, path string, w Watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tab[k][path] = addWatcher(m.tab[k][path], w)
}

// paths lists the watched paths of one kind (for setWatches after a reconnect).
func (m *watchManager) paths(k watchKind) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tab[k]))
	for p := range m.tab[k] {
		out = append(out, p)
	}
	return out
}

func (m *watchManager) take(k watchKind, path string, out []Watcher) []Watcher {
	for _, w := range m.tab[k][path] {
		out = addWatcher(out, w)
	}
	delete(m.tab[k], path)
	return out
}

func (m *watchManager) addPersistent(path string, out []Watcher) []Watcher {
	for _, w := range m.tab[kindPersistent][path] {
		out = addWatcher(out, w)
	}
	// every ancestor's recursive watch, the path itself first
	for p := path; ; {
		for _, w := range m.tab[kindPersistentRecursive][p] {
			out = addWatcher(out, w)
		}
		if p == "/" {
			break
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
	return out
}

// materialize returns the watchers an event goes to, removing triggered one-shot watches
// (ZKWatchManager.materialize).
func (m *watchManager) materialize(e Event) []Watcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Watcher
	switch e.Type {
	case EventNone:
		if m.def != nil {
			out = addWatcher(out, m.def)
		}
		for k := range m.tab {
			for _, ws := range m.tab[k] {
				for _, w := range ws {
					out = addWatcher(out, w)
				}
			}
		}
	case EventNodeDataChanged, EventNodeCreated:
		out = m.take(kindData, e.Path, out)
		out = m.take(kindExist, e.Path, out)
		out = m.addPersistent(e.Path, out)
	case EventNodeChildrenChanged:
		out = m.take(kindChild, e.Path, out)
		out = m.addPersistent(e.Path, out)
	case EventNodeDeleted:
		out = m.take(kindData, e.Path, out)
		out = m.take(kindExist, e.Path, out)
		out = m.take(kindChild, e.Path, out)
		out = m.addPersistent(e.Path, out)
	}
	return out
}

func (m *watchManager) contains(k watchKind, path string, w Watcher) bool {
	ws := m.tab[k][path]
	if w == nil {
		return len(ws) > 0
	}
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// removed is what a successful watch removal took away, per event type to deliver, in
// the order Java's client reports them.
type removed struct {
	typ      EventType
	watchers []Watcher
}

func (m *watchManager) removeFrom(k watchKind, path string, w Watcher, out []Watcher) ([]Watcher, bool) {
	if w == nil {
		ws, ok := m.tab[k][path]
		if !ok {
			return out, false
		}
		delete(m.tab[k], path)
		for _, x := range ws {
			out = addWatcher(out, x)
		}
		return out, true
	}
	ws := m.tab[k][path]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i:i], ws[i+1:]...)
			if len(ws) == 0 {
				delete(m.tab[k], path)
			} else {
				m.tab[k][path] = ws
			}
			return addWatcher(out, w), true
		}
	}
	return out, false
}

// removeWatcher is ZKWatchManager.removeWatcher, run when the server has answered a
// removeWatches request with rc (or the request failed, rc != 0, which with local still
// removes the watches here). w == nil means every watcher of the type.
func (m *watchManager) removeWatcher(path string, w Watcher, t WatcherType, local bool, rc Code) ([]removed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// containsWatcher: persistent watches count for every type
	has := false
	switch t {
	case WatcherChildren:
		has = m.contains(kindChild, path, w)
	case WatcherData:
		has = m.contains(kindData, path, w) || m.contains(kindExist, path, w)
	default:
		has = m.contains(kindChild, path, w) || m.contains(kindData, path, w) || m.contains(kindExist, path, w)
	}
	has = has || m.contains(kindPersistent, path, w) || m.contains(kindPersistentRecursive, path, w)
	if !has {
		return nil, &Error{Code: ErrNoWatcher, Path: path}
	}
	if !local && rc != 0 {
		return nil, &Error{Code: rc, Path: path}
	}
	var child, data, pers []Watcher
	ok, any := false, false
	switch t {
	case WatcherChildren:
		child, any = m.removeFrom(kindChild, path, w, child)
	case WatcherData:
		data, ok = m.removeFrom(kindData, path, w, data)
		any = any || ok
		data, ok = m.removeFrom(kindExist, path, w, data)
		any = any || ok
	default:
		child, ok = m.removeFrom(kindChild, path, w, child)
		any = any || ok
		data, ok = m.removeFrom(kindData, path, w, data)
		any = any || ok
		data, ok = m.removeFrom(kindExist, path, w, data)
		any = any || ok
		pers, ok = m.removeFrom(kindPersistent, path, w, pers)
		any = any || ok
		pers, ok = m.removeFrom(kindPersistentRecursive, path, w, pers)
		any = any || ok
	}
	if !any {
		return nil, &Error{Code: ErrNoWatcher, Path: path}
	}
	var out []removed
	for _, r := range []removed{{EventDataWatchRemoved, data}, {EventChildWatchRemoved, child}, {EventPersistentWatchRemoved, pers}} {
		if len(r.watchers) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// eventQueue delivers events to watchers one at a time, in order, on its own goroutine
// (Java's EventThread), so a slow watcher never blocks the connection.
type eventQueue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []eventItem
	dead  bool // no more events are accepted
	done  chan struct{}
}

type eventItem struct {
	ev       Event
	watchers []Watcher
}

func newEventQueue() *eventQueue {
	q := &eventQueue{done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

func (q *eventQueue) push(e Event, ws []Watcher) {
	if len(ws) == 0 {
		return
	}
	q.mu.Lock()
	if !q.dead {
		q.items = append(q.items, eventItem{e, ws})
		q.cond.Signal()
	}
	q.mu.Unlock()
}

// kill stops accepting events; those already queued are still delivered.
func (q *eventQueue) kill() {
	q.mu.Lock()
	q.dead = true
	q.cond.Signal()
	q.mu.Unlock()
}

func (q *eventQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.dead {
			q.cond.Wait()
		}
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		it := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		for _, w := range it.watchers {
			w.Process(it.ev)
		}
	}
}
