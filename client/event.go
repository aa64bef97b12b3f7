package client

import "strconv"

// EventType is Watcher.Event.EventType.
type EventType int32

// Event types.
const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

var eventNames = map[EventType]string{
	EventNone:                   "None",
	EventNodeCreated:            "NodeCreated",
	EventNodeDeleted:            "NodeDeleted",
	EventNodeDataChanged:        "NodeDataChanged",
	EventNodeChildrenChanged:    "NodeChildrenChanged",
	EventDataWatchRemoved:       "DataWatchRemoved",
	EventChildWatchRemoved:      "ChildWatchRemoved",
	EventPersistentWatchRemoved: "PersistentWatchRemoved",
}

func (t EventType) String() string {
	if s, ok := eventNames[t]; ok {
		return s
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// KeeperState is Watcher.Event.KeeperState: the session state an event reports.
type KeeperState int32

// Keeper states.
const (
	StateUnknown           KeeperState = -1
	StateDisconnected      KeeperState = 0
	StateNoSyncConnected   KeeperState = 1
	StateSyncConnected     KeeperState = 3
	StateAuthFailed        KeeperState = 4
	StateConnectedReadOnly KeeperState = 5
	StateSaslAuthenticated KeeperState = 6
	StateExpired           KeeperState = -112
	StateClosed            KeeperState = 7
)

var keeperStateNames = map[KeeperState]string{
	StateUnknown:           "Unknown",
	StateDisconnected:      "Disconnected",
	StateNoSyncConnected:   "NoSyncConnected",
	StateSyncConnected:     "SyncConnected",
	StateAuthFailed:        "AuthFailed",
	StateConnectedReadOnly: "ConnectedReadOnly",
	StateSaslAuthenticated: "SaslAuthenticated",
	StateExpired:           "Expired",
	StateClosed:            "Closed",
}

func (s KeeperState) String() string {
	if n, ok := keeperStateNames[s]; ok {
		return n
	}
	return "KeeperState(" + strconv.Itoa(int(s)) + ")"
}

// Event is a WatchedEvent. Path is empty for session events (Java's null path).
type Event struct {
	Type  EventType
	State KeeperState
	Path  string
}

// String is Java's WatchedEvent.toString: "WatchedEvent state:SyncConnected type:None path:null".
func (e Event) String() string {
	p := e.Path
	if p == "" {
		p = "null"
	}
	return "WatchedEvent state:" + e.State.String() + " type:" + e.Type.String() + " path:" + p
}

// Watcher receives events. Implementations must be comparable (pointers, for example): like
// Java's Set<Watcher>, a watcher registered several times for one event is called once.
type Watcher interface {
	Process(Event)
}

type funcWatcher struct{ f func(Event) }

func (w *funcWatcher) Process(e Event) { w.f(e) }

// NewWatcher wraps a function as a Watcher (each call returns a distinct watcher).
func NewWatcher(f func(Event)) Watcher { return &funcWatcher{f} }

// States is the connection state of a Conn (ZooKeeper.States).
type States int

// Connection states.
const (
	Connecting States = iota
	Associating
	Connected
	ConnectedReadOnly
	Closed
	AuthFailed
	NotConnected
)

func (s States) String() string {
	switch s {
	case Connecting:
		return "CONNECTING"
	case Associating:
		return "ASSOCIATING"
	case Connected:
		return "CONNECTED"
	case ConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case Closed:
		return "CLOSED"
	case AuthFailed:
		return "AUTH_FAILED"
	}
	return "NOT_CONNECTED"
}

// IsAlive is false once the session is closed, expired or failed authentication.
func (s States) IsAlive() bool { return s != Closed && s != AuthFailed }

// IsConnected reports a usable connection (read-write or read-only).
func (s States) IsConnected() bool { return s == Connected || s == ConnectedReadOnly }

// WatcherType selects watches for RemoveWatches and CheckWatches (Watcher.WatcherType).
type WatcherType int32

// Watcher types.
const (
	WatcherChildren WatcherType = 1
	WatcherData     WatcherType = 2
	WatcherAny      WatcherType = 3
)

// AddWatchMode is the mode of AddWatch.
type AddWatchMode int32

// AddWatch modes.
const (
	AddWatchPersistent          AddWatchMode = 0
	AddWatchPersistentRecursive AddWatchMode = 1
)

func (m AddWatchMode) String() string {
	if m == AddWatchPersistent {
		return "PERSISTENT"
	}
	return "PERSISTENT_RECURSIVE"
}
