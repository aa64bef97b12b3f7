package server

import (
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/gomaxprocs"
	"github.com/zkgo/zkgo/persistence"
)

// diskSink is the standalone durability stage: every batch of transactions is appended to
// the txn log and fsynced once (group commit) before any of them is applied or answered.
// Every snapCount/2 + rand(snapCount/2) transactions the log is rolled and a fuzzy snapshot
// is written in the background (SyncRequestProcessor).
type diskSink struct {
	s       *Server
	log     *persistence.TxnLog
	meta    *persistence.Meta
	snapDir string
	// compression of the snapshots written (zookeeper.snapshot.compression.method)
	compression persistence.Compression
	snapCnt     int
	sizeLim     int64
	logLimit    int64 // zookeeper.txnLogSizeLimitInKb in bytes; 0: none
	count       int
	next        int
	snapping    atomic.Bool
	snapWG      sync.WaitGroup
}

func (s *Server) openStorage() error {
	cfg := s.cfg
	snapDir := persistence.SnapDir(cfg.DataDir)
	logDir := persistence.LogDir(cfg.DataLogDir)
	if !cfg.PropBoolDefault("zookeeper.datadir.autocreate", true) {
		if err := persistence.RequireDirs(snapDir, logDir); err != nil {
			return err
		}
	}
	start := time.Now()
	meta, err := persistence.OpenMeta(cfg.DataDir)
	if err != nil {
		return err
	}
	cat, err := meta.Catalog()
	if err == nil {
		err = persistence.CheckCatalog(cat, snapDir, logDir)
	}
	if err != nil {
		meta.Close()
		return err
	}
	// The restored tree is all live data: collecting garbage while it is built only costs
	// time (the recovery target is a fraction of Apache ZooKeeper's).
	gc := debug.SetGCPercent(-1)
	res, err := persistence.Restore(snapDir, logDir, persistence.RestoreOptions{
		ExtendedTypes:    s.extendedTypes,
		TrustEmpty:       cfg.PropBool("zookeeper.snapshot.trust.empty"),
		Log:              s.log,
		EphemeralDeleted: s.AuditEphemeralDeleted(),
	}, nil)
	debug.SetGCPercent(gc)
	if err != nil {
		meta.Close()
		return err
	}
	s.restoreDigests.checked, s.restoreDigests.mismatched = res.DigestsChecked, res.DigestMismatches
	s.Count(DigestMismatchesCount, int64(res.DigestMismatches))
	s.ObserveRestore(res)
	// Logs that were open when the server last stopped are closed now: restore read them.
	if err := closeCrashedLogs(meta, cat, res.LastZxid); err != nil {
		meta.Close()
		return err
	}
	s.setTree(res.Tree)
	s.dt().ExtendedTypes = s.extendedTypes
	// Sessions found on disk live on and expire a timeout after the restart unless resumed.
	for id, to := range res.Sessions {
		s.sessions.add(id, to, time.Now().UnixMilli())
	}
	dead := s.killDeadSessions(res.Sessions)
	s.log.Info().Int("nodes", s.dt().NodeCount()).Int("sessions", len(res.Sessions)).
		Str("snapshotZxid", zxidHex(res.SnapZxid)).Str("lastZxid", zxidHex(res.LastZxid)).Int("replayed", res.Replayed).
		Dur("took", time.Since(start)).Msg("data loaded")
	s.metrics.sums[DBInitTime].observe(time.Since(start).Milliseconds()) // ops hook: dbinittime
	tl, err := persistence.OpenTxnLog(logDir, persistence.LogOptions{
		PreAllocBytes: int64(cfg.PreAllocSizeKB()) * 1024,
		ForceSync:     cfg.ForceSync(),
		WarnMs:        int64(cfg.FsyncWarningThresholdMs()),
		Log:           s.log,
		Meta:          meta,
		// On one P (zkserver on a host of one or two CPUs) a sync in fdatasync(2) would hold
		// the only P; through AIO the sync stage parks like a goroutine waiting on a socket.
		AsyncSync: runtime.GOMAXPROCS(0) == 1,
	})
	if err != nil {
		meta.Close()
		return err
	}
	d := &diskSink{s: s, log: tl, meta: meta, snapDir: snapDir, snapCnt: cfg.SnapCount(), sizeLim: cfg.SnapSizeLimitInKb() * 1024,
		logLimit: cfg.TxnLogSizeLimit(), compression: persistence.ParseCompression(cfg.PropString("zookeeper.snapshot.compression.method", ""))}
	d.resetThreshold()
	s.sink = d
	s.disk = d
	// A data dir must always hold a snapshot: logs without one are refused at start. Dead
	// sessions' ephemerals were removed without a txn: a snapshot records that before any
	// client writes (a crash would otherwise bring them back under newer txns).
	if _, err := os.Stat(snapDir); err != nil || res.SnapZxid < 0 || !hasSnapshot(snapDir) || dead > 0 {
		return d.snapshot()
	}
	if res.Replayed > 0 {
		d.startSnapshot()
	}
	return nil
}

// killDeadSessions removes the ephemerals of sessions the data dir does not hold, at the
// last zxid and without a txn, as ZooKeeperServer.loadData does.
func (s *Server) killDeadSessions(live map[int64]int32) int {
	t := s.dt()
	t.Lock()
	defer t.Unlock()
	dead := t.DeadSessions(func(id int64) bool { _, ok := live[id]; return ok })
	for _, id := range dead {
		s.log.Info().Str("session", zxidHex(id)).Strs("ephemerals", t.Ephemerals(id)).Msg("removing the ephemerals of a session that is gone")
		t.KillSession(id, t.LastProcessedZxid())
	}
	return len(dead)
}

func hasSnapshot(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if len(e.Name()) > 9 && e.Name()[:9] == "snapshot." {
			return true
		}
	}
	return false
}

func (d *diskSink) resetThreshold() {
	half := d.snapCnt / 2
	d.next = half + rand.IntN(max(half, 1))
	d.count = 0
}

// Persist appends and fsyncs a batch; it runs on the sync stage of the pipeline, the only
// goroutine that touches the log, so a roll always falls between two batches.
func (d *diskSink) Persist(batch []*Txn) error {
	for _, t := range batch {
		rec := t.Record
		if rec == nil {
			rec = persistence.EncodeRecord(&t.Hdr, t.Rec, t.Digest)
		}
		if err := d.log.AppendRecord(t.Hdr.Zxid, rec); err != nil {
			return err
		}
	}
	fsyncStart := time.Now()
	if err := d.log.Commit(); err != nil {
		return err
	}
	d.s.metrics.fsync(time.Since(fsyncStart).Milliseconds(), d.s.cfg.FsyncWarningThresholdMs()) // ops hook: fsynctime
	d.count += len(batch)
	if d.count > d.next || (d.sizeLim > 0 && d.log.BytesSinceRoll() > d.sizeLim/2) {
		if !d.snapping.Load() {
			// The batch is durable: a failed roll must not fail it (its zxids would be
			// reused while it is on disk). The next append starts a new file either way.
			if err := d.log.Roll(); err != nil {
				d.s.log.Error().Err(err).Msg("closing the transaction log for a roll failed")
			}
			d.resetThreshold()
			d.startSnapshot()
			return nil
		}
	}
	if d.logLimit > 0 && d.log.FileBytes() > d.logLimit {
		// A new file, no snapshot (FileTxnLog.commit with txnLogSizeLimitInKb).
		if err := d.log.RollFile(); err != nil {
			d.s.log.Error().Err(err).Msg("closing the transaction log for a roll failed")
		}
	}
	return nil
}

func (d *diskSink) startSnapshot() {
	if !d.snapping.CompareAndSwap(false, true) {
		return
	}
	d.snapWG.Add(1)
	go func() {
		defer d.snapWG.Done()
		defer d.snapping.Store(false)
		if err := d.write(); err != nil {
			d.s.log.Error().Err(err).Msg("writing snapshot failed")
		}
	}()
}

// snapshot writes one synchronously.
func (d *diskSink) snapshot() error {
	d.snapping.Store(true)
	defer d.snapping.Store(false)
	return d.write()
}

func (d *diskSink) write() error {
	start := time.Now()
	view := d.s.dt().CopyForSnapshot()
	sessions := d.s.sessions.snapshot()
	var name string
	// On one P (zkserver on a small host) with a second P: see gomaxprocs.With.
	err := gomaxprocs.With(2, func() (err error) {
		name, err = persistence.WriteSnapshotMeta(d.snapDir, view, sessions, d.meta, d.compression)
		return err
	})
	if err != nil {
		return err
	}
	d.s.log.Info().Str("file", name).Int("nodes", view.Walked).Dur("took", time.Since(start)).Msg("snapshot written")
	d.s.metrics.sums[SnapshotTime].observe(time.Since(start).Milliseconds()) // ops hook: snapshottime
	return nil
}

func (d *diskSink) close() error {
	d.snapWG.Wait()
	err := d.log.Close()
	if merr := d.meta.Close(); err == nil {
		err = merr
	}
	return err
}

// Abandon cuts the log back after a failed Persist.
func (d *diskSink) Abandon() error { return d.log.Abandon() }

func zxidHex(z int64) string { return "0x" + formatHex(z) }

func formatHex(z int64) string {
	const digits = "0123456789abcdef"
	u := uint64(z)
	if u == 0 {
		return "0"
	}
	var b [16]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = digits[u&15]
		u >>= 4
	}
	return string(b[i:])
}

// autopurge deletes old snapshots and logs every autopurge.purgeInterval hours, keeping
// autopurge.snapRetainCount snapshots (DatadirCleanupManager); the first run is at start.
func (s *Server) autopurge() {
	defer s.wg.Done()
	snapDir := persistence.SnapDir(s.cfg.DataDir)
	logDir := persistence.LogDir(s.cfg.DataLogDir)
	Autopurge(s.stopCh, s.cfg.PurgeInterval, s.log, func() ([]string, error) {
		return persistence.Purge(snapDir, logDir, s.cfg.SnapRetainCount, func(names []string) error {
			return s.disk.meta.Forget(names...)
		})
	})
}

// Autopurge runs purge at once and then every intervalHours until stop is closed, logging
// what it removed (DatadirCleanupManager's timer; ensemble members use it too).
func Autopurge(stop <-chan struct{}, intervalHours int, log zerolog.Logger, purge func() ([]string, error)) {
	for {
		removed, err := purge()
		if err != nil {
			log.Warn().Err(err).Msg("purging old snapshots and logs failed")
		} else if len(removed) > 0 {
			log.Info().Strs("files", removed).Msg("purged old snapshots and logs")
		}
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(intervalHours) * time.Hour):
		}
	}
}

// closeCrashedLogs marks catalogued logs that were still open at the last stop as closed,
// each ending before the next log starts (the newest at lastZxid), so the catalog matches
// the disk.
func closeCrashedLogs(meta *persistence.Meta, cat []persistence.FileInfo, lastZxid int64) error {
	var logs []persistence.FileInfo
	for _, fi := range cat {
		if fi.Kind == "log" {
			logs = append(logs, fi)
		}
	}
	var fix []persistence.FileInfo
	for i, fi := range logs {
		if fi.Closed {
			continue
		}
		fi.Closed = true
		fi.LastZxid = lastZxid
		if i+1 < len(logs) {
			fi.LastZxid = logs[i+1].FirstZxid - 1
		}
		fix = append(fix, fi)
	}
	if len(fix) == 0 {
		return nil
	}
	return meta.Record(fix...)
}

// ObserveRestore records a data load's startup_* metrics (FileTxnSnapLog.restore): the log
// replay only when it replayed something, as Apache's fastForwardFromEdits.
func (s *Server) ObserveRestore(res *persistence.Restored) {
	s.Observe(StartupSnapLoadTime, res.SnapLoad.Milliseconds())
	if res.Replayed > 0 {
		s.Observe(StartupTxnsLoadTime, res.TxnsLoad.Milliseconds())
		s.Observe(StartupTxnsLoaded, int64(res.Replayed))
	}
}
