package client

import (
	"errors"
	"testing"
)

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		seq  bool
		want string
	}{
		{"/", false, ""},
		{"/a/b", false, ""},
		{"/a/", true, ""}, // sequential: the server appends the counter
		{"", false, "Path length must be > 0"},
		{"a", false, "Path must start with / character"},
		{"/a/", false, "Path must not end with / character"},
		{"/a//b", false, `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"/a/./b", false, `Invalid path string "/a/./b" caused by relative paths not allowed @3`},
		{"/a/..", false, `Invalid path string "/a/.." caused by relative paths not allowed @4`},
		{"/a/...", false, ""},
		{"/a\x00b", false, `Invalid path string "/a` + "\x00" + `b" caused by null character not allowed @2`},
		{"/a\x01", false, `Invalid path string "/a` + "\x01" + `" caused by invalid character @2`},
		{"/é/\U0001F600", false, `Invalid path string "/é/` + "\U0001F600" + `" caused by invalid character @3`}, // UTF-16 index
		{"/héllo ✓", false, ""},
	} {
		err := ValidatePath(tc.path, tc.seq)
		got := ""
		if err != nil {
			got = err.Error()
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("%q: %T is not a *PathError", tc.path, err)
			}
		}
		if got != tc.want {
			t.Errorf("ValidatePath(%q, %v) = %q, want %q", tc.path, tc.seq, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	err := error(&Error{Code: ErrNoNode, Path: "/x"})
	if err.Error() != "KeeperErrorCode = NoNode for /x" {
		t.Errorf("message %q", err.Error())
	}
	if !errors.Is(err, ErrNoNode) || errors.Is(err, ErrNodeExists) {
		t.Errorf("errors.Is does not follow the code")
	}
	if ErrorCode(err) != ErrNoNode || ErrorCode(nil) != 0 || ErrorCode(ErrBadVersion) != ErrBadVersion {
		t.Errorf("ErrorCode")
	}
	for c, msg := range map[Code]string{
		ErrNotEmpty: "Directory not empty", ErrSessionExpired: "Session expired", ErrNoWatcher: "No such watcher",
		ErrReconfigDisabled: "Reconfig is disabled", ErrQuotaExceeded: "Quota has exceeded", Code(-999): "Unknown error -999",
	} {
		if c.Message() != msg {
			t.Errorf("%d: %q, want %q", c, c.Message(), msg)
		}
	}
	if (&Error{Code: ErrInvalidACL}).Error() != "KeeperErrorCode = InvalidACL" {
		t.Errorf("no-path message")
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{EventNone, StateSyncConnected, ""}, "WatchedEvent state:SyncConnected type:None path:null"},
		{Event{EventNodeDataChanged, StateSyncConnected, "/a"}, "WatchedEvent state:SyncConnected type:NodeDataChanged path:/a"},
		{Event{EventPersistentWatchRemoved, StateDisconnected, "/a"}, "WatchedEvent state:Disconnected type:PersistentWatchRemoved path:/a"},
		{Event{EventNone, StateExpired, ""}, "WatchedEvent state:Expired type:None path:null"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if Connected.String() != "CONNECTED" || AuthFailed.IsAlive() || !Connecting.IsAlive() {
		t.Errorf("States")
	}
}

type recorder struct{ got []Event }

func (r *recorder) Process(e Event) { r.got = append(r.got, e) }

// The client-side watch tables follow ZKWatchManager: one-shot watches are consumed by their
// event, persistent ones stay, recursive ones match descendants, and a watcher is named once
// per event however many of its watches match.
func TestWatchManagerMaterialize(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	m := newWatchManager(a)
	m.add(kindData, "/x", a)
	m.add(kindData, "/x", a) // a set: no duplicate
	m.add(kindChild, "/x", b)
	m.add(kindPersistentRecursive, "/", a)
	m.add(kindPersistent, "/x/y", b)
	if ws := m.materialize(Event{Type: EventNodeDataChanged, Path: "/x"}); len(ws) != 1 || ws[0] != a {
		t.Fatalf("data change: %v", ws)
	}
	if ws := m.materialize(Event{Type: EventNodeDataChanged, Path: "/x"}); len(ws) != 1 {
		t.Fatalf("second data change must only reach the recursive watch: %v", ws)
	}
	if ws := m.materialize(Event{Type: EventNodeDeleted, Path: "/x"}); len(ws) != 2 {
		t.Fatalf("delete: child watch b and recursive a, got %v", ws)
	}
	if ws := m.materialize(Event{Type: EventNodeCreated, Path: "/x/y"}); len(ws) != 2 {
		t.Fatalf("create /x/y: persistent b and recursive a, got %v", ws)
	}
	if ws := m.materialize(Event{Type: EventNone, State: StateDisconnected}); len(ws) != 2 {
		t.Fatalf("session event: default and every watcher once, got %v", ws)
	}
	if len(m.tab[kindPersistent]) != 1 || len(m.tab[kindPersistentRecursive]) != 1 {
		t.Fatalf("persistent watches must stay")
	}
}

func TestWatchManagerRemove(t *testing.T) {
	a := &recorder{}
	m := newWatchManager(a)
	m.add(kindData, "/w", a)
	m.add(kindChild, "/w", a)
	rem, err := m.removeWatcher("/w", nil, WatcherAny, false, 0)
	if err != nil || len(rem) != 2 || rem[0].typ != EventDataWatchRemoved || rem[1].typ != EventChildWatchRemoved {
		t.Fatalf("remove any: %v %v", rem, err)
	}
	if _, err := m.removeWatcher("/w", nil, WatcherAny, false, 0); !errors.Is(err, ErrNoWatcher) {
		t.Fatalf("nothing left: %v", err)
	}
	// A persistent watch makes every type "contained", but only Any removes it (ZooKeeper 3.8).
	m.add(kindPersistent, "/p", a)
	if _, err := m.removeWatcher("/p", nil, WatcherData, false, 0); !errors.Is(err, ErrNoWatcher) {
		t.Fatalf("data removal of a persistent watch: %v", err)
	}
	if _, err := m.removeWatcher("/p", nil, WatcherAny, false, int32ToCode(-4)); ErrorCode(err) != ErrConnectionLoss {
		t.Fatalf("server error without local: %v", err)
	}
	rem, err = m.removeWatcher("/p", nil, WatcherAny, true, ErrConnectionLoss)
	if err != nil || len(rem) != 1 || rem[0].typ != EventPersistentWatchRemoved {
		t.Fatalf("local removal despite connection loss: %v %v", rem, err)
	}
}

func int32ToCode(c int32) Code { return Code(c) }

func TestCreateModeAndTTL(t *testing.T) {
	if !ModePersistentSequentialWithTTL.IsSequential() || !ModePersistentSequentialWithTTL.IsTTL() || ModeContainer.IsTTL() {
		t.Fatal("mode predicates")
	}
	if err := ValidateTTL(ModePersistentWithTTL, 0); err == nil || err.Error() != "ttl must be positive and cannot be larger than: 1099511627775" {
		t.Fatalf("ttl 0: %v", err)
	}
	if err := ValidateTTL(ModePersistentWithTTL, MaxTTL); err != nil {
		t.Fatalf("max ttl: %v", err)
	}
	if err := ValidateTTL(ModePersistent, 5); err == nil || err.Error() != "ttl not valid for mode: PERSISTENT" {
		t.Fatalf("ttl on a plain node: %v", err)
	}
}
