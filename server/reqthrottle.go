package server

import (
	"sync"
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// requestThrottle is ZooKeeper's RequestThrottler (zookeeper.request_throttle_max_requests,
// off by default): while that many client requests are in process (handed over and not yet
// answered), a connection's next request waits, rechecking every
// zookeeper.request_throttle_stall_time ms or when one finishes. A request that waited longer
// than zookeeper.throttled_op_wait_time ms is answered THROTTLEDOP without being run, and
// with zookeeper.request_throttle_drop_stale a waiting request whose connection closed (or,
// with zookeeper.request_stale_latency_check, that has waited longer than its session
// timeout) is dropped and its connection closed, so that nothing behind it runs out of order.
//
// ZooKeeper queues every request of every connection in one thread; here each connection's
// reader waits for itself, which keeps a connection's order and bounds what is in process
// the same way without a hop through another goroutine.
type requestThrottle struct {
	max          int           // in process at most; 0: no waiting
	stall        time.Duration // longest wait between two checks
	opWait       time.Duration // THROTTLEDOP after waiting longer; 0: never
	dropStale    bool
	staleConn    bool // zookeeper.request_stale_connection_check
	staleLatency bool // zookeeper.request_stale_latency_check
	on           bool // max > 0: readers call admit (without it nothing waits, so nothing is throttled either)
	mu           sync.Mutex
	inProcess    int
	waiters      []chan struct{} // each woken by one finished request (throttleWake)
}

func newRequestThrottle(cfg *config.Config) *requestThrottle {
	t := &requestThrottle{
		max:          max(cfg.PropInt("zookeeper.request_throttle_max_requests", 0), 0),
		stall:        time.Duration(max(cfg.PropInt("zookeeper.request_throttle_stall_time", 100), 1)) * time.Millisecond,
		opWait:       time.Duration(max(cfg.PropInt("zookeeper.throttled_op_wait_time", 0), 0)) * time.Millisecond,
		dropStale:    cfg.PropBoolDefault("zookeeper.request_throttle_drop_stale", true),
		staleConn:    cfg.PropBoolDefault("zookeeper.request_stale_connection_check", true),
		staleLatency: cfg.PropBool("zookeeper.request_stale_latency_check"),
	}
	t.on = t.max > 0
	return t
}

// admit waits until r may go on (RequestThrottler.run) and reports whether it may; false: r
// was dropped and c closed. It marks r in process (released by requestFinished) and, after
// too long a wait, throttled.
func (s *Server) admit(c *conn, r *request) bool {
	t := s.reqThrottle
	start := time.Now()
	done := c.done
	t.mu.Lock()
	for {
		// As RequestThrottler.run: a stale request is dropped whether or not it must wait.
		if t.dropStale && t.stale(c, r) {
			t.mu.Unlock()
			s.Count(StaleRequestsDropped, 1)
			s.log.Debug().Str("client", c.remote).Int32("type", r.op).Msg("dropping a stale request; closing its connection")
			c.close()
			return false
		}
		if t.inProcess < t.max {
			break
		}
		s.Count(RequestThrottleWaitCount, 1)
		ch := make(chan struct{})
		t.waiters = append(t.waiters, ch)
		t.mu.Unlock()
		timer := time.NewTimer(t.stall)
		select {
		case <-ch:
		case <-timer.C:
		case <-done:
			done = nil // closed: look once (a drop, if stale), then wait as before
		}
		timer.Stop()
		t.mu.Lock()
		for i, w := range t.waiters {
			if w == ch {
				t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
				break
			}
		}
	}
	t.inProcess++
	t.mu.Unlock()
	r.inProcess = true
	if t.stale(c, r) {
		s.Count(StaleRequests, 1)
	}
	waited := time.Since(start)
	s.Observe(RequestThrottleQueueTime, waited.Milliseconds())
	if t.opWait > 0 && waited > t.opWait && throttlable(r.op) {
		r.throttled = true
		s.Count(ThrottledOps, 1)
	}
	return true
}

// release ends one request's time in process and wakes one waiting reader.
func (t *requestThrottle) release() {
	t.mu.Lock()
	t.inProcess--
	if len(t.waiters) > 0 {
		close(t.waiters[0])
		t.waiters = t.waiters[1:]
	}
	t.mu.Unlock()
}

// stale is Request.isStale: the connection is gone (staleConn) or the request is older than
// the session timeout (staleLatency); a closeSession never is, it must clean up.
func (t *requestThrottle) stale(c *conn, r *request) bool {
	if r.op == jute.OpCloseSession {
		return false
	}
	if t.staleConn && c.stale.Load() {
		return true
	}
	return t.staleLatency && time.Since(r.start) > time.Duration(c.timeout)*time.Millisecond
}

// throttlable is Request.isThrottlable.
func throttlable(op int32) bool {
	return op != jute.OpPing && op != jute.OpCloseSession && op != jute.OpCreateSession
}

// requestFinished gives back what r held while in process: its large-request bytes and its
// throttle slot (ZooKeeperServer.requestFinished, decInProcess). c.mu held; every release
// point holds it, so that a request is released once.
func (c *conn) requestFinished(r *request) {
	if r.large > 0 {
		c.s.large.bytes.Add(-int64(r.large))
		r.large = 0
	}
	if r.inProcess {
		r.inProcess = false
		c.s.reqThrottle.release()
	}
}
