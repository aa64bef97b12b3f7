package server

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/go-zookeeper/zk"
)

// A write that cannot be logged (disk full) fails cleanly with SYSTEMERROR, leaves no trace
// after a restart, and writes succeed again once the disk has room.
func TestDiskFullFailsWritesCleanly(t *testing.T) {
	dir := t.TempDir()
	s := serverOn(t, dir, nil)
	c, _ := connect(t, s.Addr().String())
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/ok1", []byte("a"), 0, acl); err != nil {
		t.Fatal(err)
	}
	var full atomic.Bool
	s.disk.log.InjectFailure(func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	})
	full.Store(true)
	if _, err := c.Create("/lost", []byte("b"), 0, acl); !errors.Is(err, zk.ErrUnknown) && err == nil {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, err := c.Set("/ok1", []byte("x"), -1); err == nil {
		t.Fatal("setData on a full disk succeeded")
	}
	if ok, _, _ := c.Exists("/lost"); ok {
		t.Fatal("failed write is visible")
	}
	full.Store(false)
	if _, err := c.Create("/ok2", []byte("c"), 0, acl); err != nil {
		t.Fatalf("write after space freed: %v", err)
	}
	_, st, _ := c.Get("/ok1")
	s.Close()
	c.Close()

	s2 := serverOn(t, dir, nil)
	defer s2.Close()
	c2, _ := connect(t, s2.Addr().String())
	if ok, _, _ := c2.Exists("/lost"); ok {
		t.Fatal("rejected write reappeared after restart")
	}
	d, st2, err := c2.Get("/ok1")
	if err != nil || string(d) != "a" || st2.Mzxid != st.Mzxid {
		t.Fatalf("/ok1 after restart: %v %q", err, d)
	}
	if _, _, err := c2.Get("/ok2"); err != nil {
		t.Fatalf("/ok2 lost: %v", err)
	}
}
