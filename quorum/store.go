package quorum

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/persistence"
	"github.com/zkgo/zkgo/server/datatree"
	"github.com/zkgo/zkgo/zab"
)

// Store is an ensemble member's durable state: the txn log, snapshots, the epochs (both in
// zkgo.meta and in Apache ZooKeeper's acceptedEpoch/currentEpoch files, so either server
// can start on the data dir) and the catalog. It is used from the node's loop goroutine
// only, except for background snapshots, which touch only snapshot files and the catalog.
type Store struct {
	snapDir, logDir string
	opts            persistence.LogOptions
	restoreOpts     persistence.RestoreOptions
	meta            *persistence.Meta
	log             *persistence.TxnLog
	logger          zerolog.Logger

	accepted, current int64
	lastZxid          zab.Zxid

	// sizeFactor is zookeeper.snapshotSizeFactor (DiffFromLog); negative: no DIFF from
	// the log files.
	sizeFactor float64

	// files serialises Purge, which runs on its own goroutine, with what lists and reads
	// or removes the log and snapshot files on the member's loop (Load, Truncate, a SNAP's
	// install, Entries for a DIFF).
	files sync.Mutex
}

// Apache ZooKeeper's epoch files, in the snapshot directory (QuorumPeer).
const (
	acceptedEpochFile = "acceptedEpoch"
	currentEpochFile  = "currentEpoch"
)

// OpenStore opens the data dirs and loads the data (newest snapshot + log replay).
func OpenStore(dataDir, dataLogDir string, lo persistence.LogOptions, ro persistence.RestoreOptions) (*Store, *persistence.Restored, error) {
	st := &Store{
		snapDir:     persistence.SnapDir(dataDir),
		logDir:      persistence.LogDir(dataLogDir),
		opts:        lo,
		restoreOpts: ro,
		logger:      lo.Log,
		sizeFactor:  0.33,
	}
	meta, err := persistence.OpenMeta(dataDir)
	if err != nil {
		return nil, nil, err
	}
	st.meta = meta
	st.opts.Meta = meta
	if err := st.finishInstall(); err != nil {
		meta.Close()
		return nil, nil, err
	}
	cat, err := meta.Catalog()
	if err == nil {
		err = persistence.CheckCatalog(cat, st.snapDir, st.logDir)
	}
	if err != nil {
		meta.Close()
		return nil, nil, err
	}
	res, err := st.Load()
	if err != nil {
		meta.Close()
		return nil, nil, err
	}
	if err := st.loadEpochs(); err != nil {
		meta.Close()
		return nil, nil, err
	}
	if err := os.MkdirAll(st.snapDir, 0o755); err != nil {
		meta.Close()
		return nil, nil, err
	}
	if res.LastZxid >= 0 && (res.SnapZxid < 0 || !hasSnapshot(st.snapDir)) {
		// A data dir always holds a snapshot: logs without one are refused at start. One
		// at zxid -1 (not trusted empty) gets its first from the leader's SNAP.
		if err := st.WriteSnapshot(res.Tree, res.Sessions); err != nil {
			meta.Close()
			return nil, nil, err
		}
	}
	return st, res, nil
}

// Load reads the durable state: newest valid snapshot plus every logged txn after it
// (Apache ZooKeeper's loadDataBase: logged but uncommitted txns are applied too; the
// leader truncates them with TRUNC when they are not part of its history).
func (st *Store) Load() (*persistence.Restored, error) {
	st.files.Lock()
	defer st.files.Unlock()
	if st.log != nil {
		if err := st.log.Roll(); err != nil {
			return nil, err
		}
	}
	res, err := persistence.Restore(st.snapDir, st.logDir, st.restoreOpts, nil)
	if err != nil {
		return nil, err
	}
	st.lastZxid = zab.Zxid(res.LastZxid)
	if st.log == nil {
		tl, err := persistence.OpenTxnLog(st.logDir, st.opts)
		if err != nil {
			return nil, err
		}
		st.log = tl
	}
	return res, nil
}

// Close closes the log and the metadata file.
func (st *Store) Close() error {
	var err error
	if st.log != nil {
		err = st.log.Close()
	}
	if merr := st.meta.Close(); err == nil {
		err = merr
	}
	return err
}

// LastZxid is the last logged zxid.
func (st *Store) LastZxid() zab.Zxid { return st.lastZxid }

// Epochs returns acceptedEpoch and currentEpoch.
func (st *Store) Epochs() (accepted, current int64) { return st.accepted, st.current }

// loadEpochs reads the epochs: zkgo.meta first, then Apache's files; missing ones start
// at the epoch of the last zxid (QuorumPeer.loadDataBase). The invariant acceptedEpoch >=
// currentEpoch >= epoch(last zxid) must hold, or the data dir is refused.
func (st *Store) loadEpochs() error {
	acc, cur, err := st.meta.Epochs()
	if err != nil {
		return err
	}
	if fa, ok, err := readEpochFile(filepath.Join(st.snapDir, acceptedEpochFile)); err != nil {
		return err
	} else if ok && fa > acc {
		acc = fa
	}
	if fc, ok, err := readEpochFile(filepath.Join(st.snapDir, currentEpochFile)); err != nil {
		return err
	} else if ok && fc > cur {
		cur = fc
	}
	last := st.lastZxid.EpochOf() // -1 for a data dir not trusted empty, as in ZooKeeper
	if cur < 0 {
		cur = last
	}
	if acc < 0 {
		acc = cur
	}
	if cur < last {
		// Only a crash between installing a SNAP and writing its epoch leaves this
		// (ZOOKEEPER-1653; Apache's updatingEpoch file): the history up to that snapshot
		// is whole, so this is a follower of its epoch, as zab also concludes.
		if z, ok, err := st.meta.SnapInstalled(); err != nil {
			return err
		} else if !ok || zab.Zxid(z) != st.lastZxid || last > acc {
			return fmt.Errorf("the current epoch %d is older than the last zxid %s in the log", cur, st.lastZxid)
		}
		st.logger.Warn().Int64("currentEpoch", cur).Str("lastZxid", st.lastZxid.String()).
			Msg("current epoch raised to that of the snapshot a SNAP installed (crash before it was written)")
		cur = last
	}
	if acc < cur {
		return fmt.Errorf("the accepted epoch %d is less than the current epoch %d", acc, cur)
	}
	st.accepted, st.current = acc, cur
	return st.writeEpochs(acc, cur)
}

func readEpochFile(path string) (int64, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return v, true, nil
}

// writeEpochFile writes a decimal epoch atomically and durably, without a newline, as
// QuorumPeer.writeLongToFile does (temp file, fsync, rename).
func writeEpochFile(path string, v int64) error {
	return persistence.WriteFileAtomic(path, []byte(strconv.FormatInt(v, 10)), 0o644)
}

func (st *Store) writeEpochs(acc, cur int64) error {
	if err := os.MkdirAll(st.snapDir, 0o755); err != nil {
		return err
	}
	if err := st.meta.SetEpochs(acc, cur); err != nil {
		return err
	}
	if err := writeEpochFile(filepath.Join(st.snapDir, acceptedEpochFile), acc); err != nil {
		return err
	}
	return writeEpochFile(filepath.Join(st.snapDir, currentEpochFile), cur)
}

// SetAcceptedEpoch durably records acceptedEpoch.
func (st *Store) SetAcceptedEpoch(e int64) error {
	if err := st.writeEpochs(e, st.current); err != nil {
		return err
	}
	st.accepted = e
	return nil
}

// SetCurrentEpoch durably records currentEpoch.
func (st *Store) SetCurrentEpoch(e int64) error {
	acc := max(st.accepted, e)
	if err := st.writeEpochs(acc, e); err != nil {
		return err
	}
	st.accepted, st.current = acc, e
	return nil
}

// Append buffers txns at the end of the log; Commit makes them durable.
func (st *Store) Append(txns []zab.Txn) error {
	for _, t := range txns {
		if err := st.log.AppendRecord(int64(t.Zxid), persistence.FrameTxn(t.Data)); err != nil {
			return err
		}
		st.lastZxid = t.Zxid
	}
	return nil
}

// AppendRecord buffers one record already framed (the leader's own proposals).
func (st *Store) AppendRecord(zxid zab.Zxid, record []byte) error {
	if err := st.log.AppendRecord(int64(zxid), record); err != nil {
		return err
	}
	st.lastZxid = zxid
	return nil
}

// Commit fsyncs what was appended (group commit).
func (st *Store) Commit() error { return st.log.Commit() }

// Flush writes what was appended to the log without syncing it; the LogSync's Sync, on
// another goroutine, makes it durable, and Synced records that. Nothing else may touch the
// log (commit, roll, truncate, close) while a LogSync is outstanding.
func (st *Store) Flush() (persistence.LogSync, error) { return st.log.Flush() }

// Synced records that ls was synced.
func (st *Store) Synced(ls persistence.LogSync) { st.log.Synced(ls) }

// RollLog closes the current log file; the next append starts a new one.
func (st *Store) RollLog() error { return st.log.Roll() }

// BytesSinceRoll is what was appended since the last roll.
func (st *Store) BytesSinceRoll() int64 { return st.log.BytesSinceRoll() }

// RollLogFile starts a new log file without a snapshot (txnLogSizeLimitInKb).
func (st *Store) RollLogFile() error { return st.log.RollFile() }

// LogFileBytes is what was appended to the current log file.
func (st *Store) LogFileBytes() int64 { return st.log.FileBytes() }

// ErrTruncBelowSnapshot is Truncate's answer when every snapshot is newer than the TRUNC
// zxid (one installed by a SNAP whose leader's history the next leader did not keep).
var ErrTruncBelowSnapshot = errors.New("every snapshot is newer than the TRUNC point")

// Truncate cuts the log right after zxid (TRUNC): later records and files are removed,
// as are snapshots taken after it. The caller reloads the tree with Load.
func (st *Store) Truncate(zxid zab.Zxid) error {
	st.files.Lock()
	defer st.files.Unlock()
	if err := st.log.Roll(); err != nil {
		return err
	}
	snaps, err := persistence.ZxidFiles(st.snapDir, "snapshot")
	if err != nil {
		return err
	}
	// Nothing is removed unless a snapshot at or before zxid stays to rebuild from: a
	// learner whose only snapshot is newer (installed with a SNAP) keeps its data dir whole
	// and stops, rather than leave a data dir that can no longer be restored.
	if !slices.ContainsFunc(snaps, func(s persistence.ZxidFile) bool { return s.Zxid <= int64(zxid) }) {
		return fmt.Errorf("%w: cannot truncate the log to %s", ErrTruncBelowSnapshot, zxid)
	}
	var forget []string
	for _, s := range snaps {
		if s.Zxid > int64(zxid) {
			if err := os.Remove(s.Path); err != nil {
				return err
			}
			forget = append(forget, filepath.Base(s.Path))
		}
	}
	logs, err := persistence.ZxidFiles(st.logDir, "log")
	if err != nil {
		return err
	}
	for _, lf := range logs {
		path := lf.Path
		if lf.Zxid > int64(zxid) {
			if err := os.Remove(path); err != nil {
				return err
			}
			forget = append(forget, filepath.Base(path))
			continue
		}
		// Cut this file after the last record <= zxid.
		var cut int64 = -1
		err := persistence.ReadLogFile(path, func(lt *persistence.LoggedTxn) error {
			if lt.Hdr.Zxid > int64(zxid) && cut < 0 {
				cut = lt.Offset
			}
			return nil
		})
		var torn *persistence.ErrTornTail
		if errors.As(err, &torn) {
			err = nil
			if cut < 0 {
				cut = torn.Offset
			}
		}
		if err != nil {
			return fmt.Errorf("truncate %s: %w", path, err)
		}
		if cut >= 0 {
			if err := persistence.TruncateAt(path, cut); err != nil {
				return err
			}
		}
	}
	if err := persistence.SyncDir(st.logDir); err != nil {
		return err
	}
	if len(forget) > 0 {
		if err := st.meta.Forget(forget...); err != nil {
			return err
		}
	}
	st.lastZxid = zxid
	st.logger.Info().Str("zxid", zxid.String()).Msg("transaction log truncated (TRUNC from the leader)")
	return nil
}

// InstallSnapshot makes the state received with SNAP durable: a snapshot of it is written,
// and every other snapshot and every log is removed, since they belong to the history the
// snapshot replaces. The install commits when the metadata names the new snapshot: a crash
// before leaves the old history whole; after, a restart finishes the removal (finishInstall)
// before anything is loaded, so no old log is ever replayed on top of the new snapshot.
func (st *Store) InstallSnapshot(tree *datatree.Tree, sessions map[int64]int32) error {
	st.files.Lock()
	defer st.files.Unlock()
	if err := st.log.Roll(); err != nil {
		return err
	}
	zxid := tree.LastProcessedZxid()
	if err := st.WriteSnapshot(tree, sessions); err != nil {
		return err
	}
	snaps, err := persistence.ZxidFiles(st.snapDir, "snapshot")
	if err != nil {
		return err
	}
	name := ""
	for _, s := range snaps {
		if s.Zxid == zxid {
			name = filepath.Base(s.Path)
		}
	}
	if name == "" {
		return fmt.Errorf("the snapshot of SNAP %s was not written", zab.Zxid(zxid))
	}
	if err := st.meta.SetInstalling(name, zxid); err != nil {
		return err
	}
	if err := st.finishInstall(); err != nil {
		return err
	}
	st.lastZxid = zab.Zxid(zxid)
	return nil
}

// finishInstall removes what a committed SNAP install replaced: every snapshot but the
// installed one and every log, then clears the mark.
func (st *Store) finishInstall() error {
	name, err := st.meta.Installing()
	if err != nil || name == "" {
		return err
	}
	var forget []string
	snaps, err := persistence.ZxidFiles(st.snapDir, "snapshot")
	if err != nil {
		return err
	}
	for _, s := range snaps {
		if filepath.Base(s.Path) != name {
			if err := os.Remove(s.Path); err != nil {
				return err
			}
			forget = append(forget, filepath.Base(s.Path))
		}
	}
	logs, err := persistence.ZxidFiles(st.logDir, "log")
	if err != nil {
		return err
	}
	for _, lf := range logs {
		if err := os.Remove(lf.Path); err != nil {
			return err
		}
		forget = append(forget, filepath.Base(lf.Path))
	}
	if err := persistence.SyncDir(st.logDir); err != nil {
		return err
	}
	if err := persistence.SyncDir(st.snapDir); err != nil {
		return err
	}
	if len(forget) > 0 {
		if err := st.meta.Forget(forget...); err != nil {
			return err
		}
	}
	return st.meta.SetInstalling("", 0)
}

// Purge deletes old snapshots and logs, keeping the newest retain snapshots (at least 3)
// and the logs needed to replay from the oldest of them (autopurge; PurgeTxnLog).
func (st *Store) Purge(retain int) ([]string, error) {
	st.files.Lock()
	defer st.files.Unlock()
	return persistence.Purge(st.snapDir, st.logDir, retain, func(names []string) error {
		return st.meta.Forget(names...)
	})
}

// WriteSnapshot writes a snapshot of tree (named after its last processed zxid) with the
// session table sessions. The table must be that of the tree as it is now: nothing may be
// applied to the tree meanwhile (a SNAP install, a load). For the snapshot of a live tree
// use WriteSnapshotFrom.
func (st *Store) WriteSnapshot(tree *datatree.Tree, sessions map[int64]int32) error {
	return st.WriteSnapshotFrom(tree, func() map[int64]int32 { return sessions })
}

// WriteSnapshotFrom writes a (fuzzy) snapshot of a live tree: the snapshot's zxid is fixed
// first, then sessions is read. A session created by a txn up to that zxid is then in the
// table (log replay from the zxid does not recreate it), and one created or closed after
// it is recreated or closed again by the replay, as in Apache ZooKeeper's
// FileTxnSnapLog.save, which names the snapshot after lastProcessedZxid before it
// serialises the live session map. Reading the table before the zxid is fixed loses every
// session created in between: on the next load its ephemerals exist and the session does
// not, so nothing ever expires it.
func (st *Store) WriteSnapshotFrom(tree *datatree.Tree, sessions func() map[int64]int32) error {
	start := time.Now()
	view := tree.CopyForSnapshot()
	name, err := persistence.WriteSnapshotMeta(st.snapDir, view, sessions(), st.meta, st.opts.SnapCompression)
	if err != nil {
		return err
	}
	st.logger.Info().Str("file", name).Int("nodes", nodeCount(tree)).Dur("took", time.Since(start)).Msg("snapshot written")
	return nil
}

// Entries reads logged txns after `after` from the log files (zab.Log), for the leader
// to synchronise a learner that is behind its in-memory commit log.
func (st *Store) Entries(after zab.Zxid, limit int) ([]zab.Txn, bool, error) {
	st.files.Lock()
	defer st.files.Unlock()
	// Written out to be read back, not synced: a pipelined sync may be running on the log
	// (the leader sends proposals before its own fsync completes, so may a DIFF).
	if _, err := st.log.Flush(); err != nil {
		return nil, false, err
	}
	logs, err := persistence.ZxidFiles(st.logDir, "log")
	if err != nil {
		return nil, false, err
	}
	start := -1
	for i, lf := range logs {
		if lf.Zxid <= int64(after)+1 {
			start = i
		}
	}
	if start < 0 {
		if after < st.lastZxid {
			return nil, false, zab.ErrCompacted
		}
		return nil, false, nil
	}
	var out []zab.Txn
	more := false
	prev := after
	found := after == 0
	errStop := errors.New("stop")
	for i := start; i < len(logs) && !more; i++ {
		path := logs[i].Path
		err := persistence.ReadLogFile(path, func(lt *persistence.LoggedTxn) error {
			z := zab.Zxid(lt.Hdr.Zxid)
			if z == after {
				found = true
			}
			if z <= after {
				return nil
			}
			if len(out) >= limit {
				more = true
				return errStop
			}
			if !contiguous(prev, z) {
				return fmt.Errorf("hole in the log between %s and %s", prev, z)
			}
			out = append(out, zab.Txn{Zxid: z, Data: lt.Raw})
			prev = z
			return nil
		})
		var torn *persistence.ErrTornTail
		if err != nil && !errors.Is(err, errStop) && !errors.As(err, &torn) {
			return nil, false, err
		}
	}
	if !found && len(out) > 0 && out[0].Zxid.Counter() != 1 {
		// The first txn after `after` is not known to follow it directly.
		return nil, false, zab.ErrCompacted
	}
	return out, more, nil
}

// SetSnapshotSizeFactor sets zookeeper.snapshotSizeFactor for DiffFromLog.
func (st *Store) SetSnapshotSizeFactor(f float64) { st.sizeFactor = f }

// DiffFromLog is zab.Log's bound on a DIFF read from the log files, as
// ZKDatabase.getProposalsFromTxnLog: none with a negative snapshotSizeFactor, else the
// files to read must not be larger than the factor times the newest snapshot's size (no
// limit when that is 0). The files counted are those of FileTxnIterator.getStorageSize:
// every log file after the one the read starts in, at their size on disk.
func (st *Store) DiffFromLog(peerLast zab.Zxid) bool {
	if !(st.sizeFactor >= 0) {
		st.logger.Debug().Float64("snapshotSizeFactor", st.sizeFactor).Msg("on disk txn sync disabled")
		return false
	}
	st.files.Lock()
	defer st.files.Unlock()
	var snapSize int64
	if snaps, err := persistence.ZxidFiles(st.snapDir, "snapshot"); err == nil && len(snaps) > 0 {
		if fi, err := os.Stat(snaps[len(snaps)-1].Path); err == nil {
			snapSize = fi.Size()
		}
	}
	limit := int64(float64(snapSize) * st.sizeFactor)
	if limit == 0 {
		return true
	}
	// The log is flushed, as Entries will, so that the sizes include what it holds.
	if _, err := st.log.Flush(); err != nil {
		return false
	}
	logs, err := persistence.ZxidFiles(st.logDir, "log")
	if err != nil {
		return false
	}
	// The read starts in the newest file that begins before peerLast (the oldest file when
	// none does); it is not counted, as FileTxnIterator has already opened it.
	first := 0
	for i, lf := range logs {
		if lf.Zxid < int64(peerLast) {
			first = i
		}
	}
	var size int64
	for _, lf := range logs[min(first+1, len(logs)):] {
		if fi, err := os.Stat(lf.Path); err == nil {
			size += fi.Size()
		}
	}
	if size > limit {
		st.logger.Info().Int64("txnLogSize", size).Int64("sizeLimit", limit).Str("peerLastZxid", peerLast.String()).
			Msg("txn log size exceeds the limit (snapshotSizeFactor x snapshot size); sending a snapshot")
		return false
	}
	return true
}

// contiguous reports whether next directly follows prev in a Zab history: the next
// counter in the same epoch, or the first txn of a later epoch.
func contiguous(prev, next zab.Zxid) bool {
	if next.Epoch() == prev.Epoch() {
		return next.Counter() == prev.Counter()+1
	}
	return next.Epoch() > prev.Epoch() && next.Counter() == 1
}

func hasSnapshot(dir string) bool {
	s, _ := persistence.ZxidFiles(dir, "snapshot")
	return len(s) > 0
}

// nodeCount reads the tree's node count under its lock (for log lines).
func nodeCount(t *datatree.Tree) int {
	t.RLock()
	defer t.RUnlock()
	return t.NodeCount()
}
