package server

import (
	"time"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// containerManager deletes empty containers that once had children and expired TTL nodes,
// every znode.container.checkIntervalMs, at most znode.container.maxPerMinute per minute
// (ContainerManager). Deletions go through the commit path as deleteContainer requests.
func (s *Server) containerManager(rr *roleRun) {
	defer rr.wg.Done()
	interval := time.Duration(s.cfg.ContainerCheckIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = time.Minute
	}
	perMinute := s.cfg.ContainerMaxPerMinute()
	neverUsed := s.cfg.ContainerMaxNeverUsedIntervalMs()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-rr.stop:
			return
		case <-t.C:
		}
		var minGap time.Duration
		if perMinute > 0 {
			minGap = time.Minute / time.Duration(perMinute)
		}
		for _, p := range s.containerCandidates(time.Now().UnixMilli(), neverUsed) {
			body := jute.Marshal(&jute.PathRequest{Path: p})
			s.submit(&request{op: jute.OpDeleteContainer, body: body, pipeline: true})
			if minGap > 0 {
				select {
				case <-rr.stop:
					return
				case <-time.After(minGap):
				}
			}
		}
	}
}

func (s *Server) containerCandidates(nowMs, neverUsedMs int64) []string {
	t := s.dt()
	t.RLock()
	defer t.RUnlock()
	var out []string
	for _, p := range t.Containers() {
		n := t.Get(p)
		if n == nil || n.NumChildren() != 0 {
			continue
		}
		if n.Stat.Cversion > 0 || (neverUsedMs > 0 && nowMs-n.Stat.Mtime > neverUsedMs) {
			out = append(out, p)
		}
	}
	for _, p := range t.TTLs() {
		n := t.Get(p)
		if n == nil || n.NumChildren() != 0 {
			continue
		}
		if ttl := datatree.TTLOf(n.Stat.EphemeralOwner); ttl > 0 && nowMs-n.Stat.Mtime > ttl {
			out = append(out, p)
		}
	}
	return out
}
