package main

import (
	"context"
	"errors"
	"io"
	"log"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
)

// TestDriversAgainstApache: both drivers, with one worker per session (the raw driver's
// worker reads its own replies) and with two (a reader goroutine hands replies out), carry
// every load workload with no errors, and the writes really reach the server; both carry
// the watch workload, every set reaching every watcher.
func TestDriversAgainstApache(t *testing.T) {
	addr := zktest.StartApache(t)
	for _, drv := range []string{driverRaw, driverGozk} {
		t.Run(drv+"/watch", func(t *testing.T) {
			cfg, err := parseFlags([]string{"--server", addr, "--workload", "watch", "--sessions", "3",
				"--driver", drv, "--duration", "500ms", "--warmup", "100ms", "--root", "/zkbench-" + drv})
			if err != nil {
				t.Fatal(err)
			}
			res, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// A set at the window's edges may have some of its notifications outside it.
			if res.Sets == 0 || res.Errors != 0 || res.Driver != drv || res.Ops+6 < res.Sets*3 || res.Ops > res.Sets*3+6 {
				t.Fatalf("notifications=%d sets=%d errors=%d %v driver=%q", res.Ops, res.Sets, res.Errors, res.ErrorKinds, res.Driver)
			}
			assertNoLeftovers(t, addr)
		})
		for _, pipeline := range []string{"1", "3"} {
			for _, wl := range []string{"set", "create", "mixed"} {
				t.Run(drv+"/p"+pipeline+"/"+wl, func(t *testing.T) {
					cfg, err := parseFlags([]string{"--server", addr, "--workload", wl, "--sessions", "3",
						"--pipeline", pipeline, "--driver", drv, "--duration", "500ms", "--warmup", "100ms",
						"--znodes", "5", "--root", "/zkbench-" + drv})
					if err != nil {
						t.Fatal(err)
					}
					zxid0 := lastZxid(t, addr)
					res, err := run(context.Background(), cfg)
					if err != nil {
						t.Fatal(err)
					}
					if res.Ops == 0 || res.Errors != 0 || res.Driver != drv {
						t.Fatalf("ops=%d errors=%d %v driver=%q", res.Ops, res.Errors, res.ErrorKinds, res.Driver)
					}
					// Every write of the window is a txn (plus setup and cleanup).
					if wl != "mixed" && uint64(lastZxid(t, addr)-zxid0) < res.Ops {
						t.Fatalf("%d writes measured but the zxid moved by %d", res.Ops, lastZxid(t, addr)-zxid0)
					}
					assertNoLeftovers(t, addr)
				})
			}
		}
	}
}

// lastZxid is the server's last zxid, as a fresh session's create sees it.
func lastZxid(t *testing.T, addr string) int64 {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The probe's create is a txn after every earlier one.
	p, err := c.Create("/zkbench-zxid-probe", nil, 0, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := c.Exists(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(p, -1); err != nil {
		t.Fatal(err)
	}
	return st.Czxid
}

// TestRawErrorsAndKeepAlive: a server error code comes back as that code; a session idle for
// longer than its timeout in Idle is kept alive by pings; Close ends the session.
func TestRawErrorsAndKeepAlive(t *testing.T) {
	addr := zktest.StartApache(t) // tickTime 2000: a 4 s session timeout is allowed
	for _, workers := range []int{1, 2} {
		c, err := dialRaw([]string{addr}, 4*time.Second, workers, time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if c.timeout != 4*time.Second {
			t.Fatalf("negotiated %v", c.timeout)
		}
		var ce codeError
		if err := c.Get("/no/such/node"); !errors.As(err, &ce) || ce != codeError(jute.NoNode) {
			t.Fatalf("workers %d: get of a missing node: %v", workers, err)
		}
		if err := c.Create("/zkbench-raw", []byte("x")); err != nil {
			t.Fatal(err)
		}
		c.Idle(6 * time.Second) // past the timeout: only pings keep the session
		if err := c.Set("/zkbench-raw", []byte("y")); err != nil {
			t.Fatalf("workers %d: set after Idle: %v", workers, err)
		}
		if err := c.Create("/zkbench-raw", nil); !errors.As(err, &ce) || ce != codeError(jute.NodeExists) {
			t.Fatalf("workers %d: second create: %v", workers, err)
		}
		c.Close()
		if err := c.Get("/zkbench-raw"); !errors.Is(err, errBroken) {
			t.Fatalf("workers %d: get after Close: %v", workers, err)
		}
		gc, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := gc.Get("/zkbench-raw")
		if err != nil || string(data) != "y" {
			t.Fatalf("data %q, %v", data, err)
		}
		if err := gc.Delete("/zkbench-raw", -1); err != nil {
			t.Fatal(err)
		}
		gc.Close()
	}
}

// TestRawWatcher: a raw session's Arm sets a data watch and Next returns the notification's
// type; a notification read while Arm awaited its reply is kept for the next Next; keepAlive
// keeps a watcher's session alive past its timeout while it only reads.
func TestRawWatcher(t *testing.T) {
	addr := zktest.StartApache(t) // tickTime 2000: a 4 s session timeout is allowed
	gc, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	for _, p := range []string{"/zkbench-wa", "/zkbench-wb"} {
		if _, err := gc.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := dialRaw([]string{addr}, 4*time.Second, 1, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go keepAlive(ctx, []*rawConn{c})

	if err := c.Arm("/zkbench-wa"); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Set("/zkbench-wa", []byte("1"), -1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the notification waits in the socket
	if err := c.Arm("/zkbench-wb"); err != nil {
		t.Fatal(err)
	}
	if len(c.events) != 1 {
		t.Fatalf("%d notifications kept while arming, want 1", len(c.events))
	}
	if ev, err := c.Next(ctx); err != nil || ev != int32(zk.EventNodeDataChanged) {
		t.Fatalf("kept notification: %v, %v", zk.EventType(ev), err)
	}
	time.Sleep(6 * time.Second) // past the session timeout: only keepAlive's pings keep it
	if err := gc.Delete("/zkbench-wb", -1); err != nil {
		t.Fatal(err)
	}
	if ev, err := c.Next(ctx); err != nil || ev != int32(zk.EventNodeDeleted) {
		t.Fatalf("after the idle wait: %v, %v", zk.EventType(ev), err)
	}
	if err := gc.Delete("/zkbench-wa", -1); err != nil {
		t.Fatal(err)
	}
	// Closing the connection ends a wait.
	done := make(chan error, 1)
	go func() {
		_, err := c.Next(ctx)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errBroken) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Next")
	}
}
