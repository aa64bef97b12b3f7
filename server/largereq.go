package server

import (
	"errors"
	"sync/atomic"

	"github.com/zkgo/zkgo/quorum/config"
)

// largeRequests is ZooKeeper's limit on the memory held by large requests
// (zookeeper.largeRequestThreshold, zookeeper.largeRequestMaxBytes): a request longer than
// the threshold counts its bytes from the moment it is read until it is answered, and a
// connection whose large request would take the total over the maximum is closed, as
// ZooKeeperServer.checkRequestSizeWhenReceivingMessage / ...WhenMessageReceived throw.
// Off (threshold -1) by default, as in ZooKeeper.
type largeRequests struct {
	threshold int   // -1: off
	max       int64 // bytes of large requests in flight at most
	bytes     atomic.Int64
}

var errLargeRequest = errors.New("rejecting large request")

// newLargeRequests reads the two settings with ZooKeeper's validation: a maximum that is not
// positive keeps the default, a threshold of 0 or below -1 turns the limit off.
func newLargeRequests(cfg *config.Config) *largeRequests {
	l := &largeRequests{threshold: cfg.PropInt("zookeeper.largeRequestThreshold", -1), max: 100 << 20}
	if m := cfg.PropInt("zookeeper.largeRequestMaxBytes", 100<<20); m > 0 {
		l.max = int64(m)
	}
	if l.threshold == 0 || l.threshold < -1 {
		l.threshold = -1
	}
	return l
}

func (l *largeRequests) isLarge(n int) bool { return l.threshold != -1 && n > l.threshold }

// fits is the check made when a frame's length is read, before its buffer is allocated.
func (l *largeRequests) fits(n int) bool {
	return !l.isLarge(n) || l.bytes.Load()+int64(n) <= l.max
}

// take counts a received request body of n bytes; false: over the maximum, nothing counted.
func (l *largeRequests) take(n int) bool {
	if l.bytes.Add(int64(n)) > l.max {
		l.bytes.Add(-int64(n))
		return false
	}
	return true
}
