package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/server/datatree"
)

// Applier applies a replayed transaction to the restored state (tree and sessions).
type Applier func(hdr *jute.TxnHeader, rec jute.Record)

// Restored is the state found on disk.
type Restored struct {
	Tree     *datatree.Tree
	Sessions map[int64]int32
	SnapZxid int64 // zxid of the snapshot loaded (-1 when none)
	LastZxid int64 // last zxid after replay
	Replayed int   // transactions replayed from the log
	// How long reading the snapshot and replaying the log took (startup_*_load_time).
	SnapLoad, TxnsLoad time.Duration
	// Digests checked against the tree during the restore, and how many disagreed.
	DigestsChecked, DigestMismatches int
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	ExtendedTypes datatree.OwnerTypes
	TrustEmpty    bool // zookeeper.snapshot.trust.empty: logs without a snapshot are accepted
	// EmptyUntrusted: a data dir with neither snapshot nor log may have lost its data (a
	// replaced disk), as zookeeper.db.autocreate=false without an initialize file says: it
	// restores at zxid -1, which keeps an ensemble member from voting until a leader has
	// synchronised it (FileTxnSnapLog.restore).
	EmptyUntrusted bool
	Log            zerolog.Logger
	// EphemeralDeleted is set on the tree for the replay: ZooKeeper's audit log records the
	// ephemerals a replayed closeSession deletes again (DataTree.deleteNodes).
	EphemeralDeleted func(session int64, path string, deleted bool)
}

// Restore loads the newest valid snapshot from snapDir and replays the logs in logDir after
// it (FileTxnSnapLog.restore). apply is called for each replayed txn after it is applied to
// the tree, so the caller can keep its session table. A torn final record of the newest log
// is cut off with a log line; corruption elsewhere is an error that names file and offset.
func Restore(snapDir, logDir string, o RestoreOptions, apply Applier) (*Restored, error) {
	snaps, err := zxidFiles(snapDir, "snapshot")
	if err != nil {
		return nil, err
	}
	logs, err := zxidFiles(logDir, "log")
	if err != nil {
		return nil, err
	}
	res := &Restored{SnapZxid: -1}
	snapStart := time.Now()
	var loadErr error
	var snapDigest *Snapshot
	for i := len(snaps) - 1; i >= 0 && i >= len(snaps)-100; i-- {
		s, err := ReadSnapshot(snaps[i].path, snaps[i].zxid, o.ExtendedTypes)
		if err != nil {
			o.Log.Warn().Err(err).Msg("skipping invalid snapshot")
			loadErr = err
			continue
		}
		res.Tree, res.Sessions, res.SnapZxid = s.Tree, s.Sessions, s.Zxid
		// A digest recorded at zxid 0 is a placeholder (no txn had been processed yet).
		if s.HasDigest && s.DigestVersion == datatree.DigestVersion && s.DigestZxid > 0 {
			snapDigest = s
		}
		break
	}
	if res.Tree == nil {
		if len(snaps) > 0 {
			// Snapshots exist but none is readable: starting empty would lose data.
			return nil, fmt.Errorf("no valid snapshot in %s: %w", snapDir, loadErr)
		}
		if len(logs) > 0 && !o.TrustEmpty {
			return nil, fmt.Errorf("found transaction logs in %s but no snapshot in %s; refusing to start (set snapshot.trust.empty=true to replay the logs onto an empty tree)", logDir, snapDir)
		}
		res.Tree = datatree.New()
		res.Tree.ExtendedTypes = o.ExtendedTypes
		res.Sessions = make(map[int64]int32)
		res.SnapZxid = 0
		if len(logs) == 0 && o.EmptyUntrusted {
			o.Log.Warn().Msg("Unexpected empty data tree, setting zxid to -1")
			res.Tree.SetLastProcessedZxid(-1)
			res.SnapZxid, res.LastZxid = -1, -1
			return res, nil
		}
	}
	res.LastZxid = res.SnapZxid
	res.SnapLoad = time.Since(snapStart)
	res.Tree.EphemeralDeleted = o.EphemeralDeleted
	replayStart := time.Now()
	check := func(zxid int64, want uint64, what string) {
		res.DigestsChecked++
		if got := res.Tree.Digest(); got != want {
			res.DigestMismatches++
			o.Log.Error().Str("zxid", fmt.Sprintf("0x%x", zxid)).Uint64("tree", got).Uint64(what, want).Msg("digests are not matching")
		}
	}
	if snapDigest != nil && snapDigest.DigestZxid == res.SnapZxid {
		check(res.SnapZxid, snapDigest.Digest, "snapshot")
	}
	// fuzzyUntil is the last zxid of the snapshot's fuzzy window; -1 when unknown (a
	// snapshot without a digest), and then no txn digest can be checked.
	fuzzyUntil := int64(-1)
	switch {
	case snapDigest != nil:
		fuzzyUntil = snapDigest.DigestZxid
	case res.SnapZxid == 0:
		fuzzyUntil = 0 // the initial empty snapshot is exact
	}
	// Replay from the log that contains the txn after the snapshot: the last file starting at
	// or before it, and all later files.
	start := 0
	for i, lf := range logs {
		if lf.zxid <= res.SnapZxid {
			start = i
		}
	}
	for i := start; i < len(logs); i++ {
		lf := logs[i]
		err := ReadLogFile(lf.path, func(lt *LoggedTxn) error {
			if lt.Hdr.Zxid <= res.LastZxid {
				return nil
			}
			if lt.Hdr.Zxid != res.LastZxid+1 && lt.Hdr.Zxid>>32 == res.LastZxid>>32 {
				return &ErrCorrupt{File: lf.path, Reason: fmt.Sprintf("gap in the log: zxid 0x%x after 0x%x", lt.Hdr.Zxid, res.LastZxid)}
			}
			res.Tree.Lock()
			res.Tree.ProcessTxn(&lt.Hdr, lt.Rec)
			res.Tree.Unlock()
			switch lt.Hdr.Type {
			case jute.OpCreateSession:
				if cs, ok := lt.Rec.(*jute.CreateSessionTxn); ok {
					res.Sessions[lt.Hdr.ClientID] = cs.TimeOut
				}
			case jute.OpCloseSession:
				delete(res.Sessions, lt.Hdr.ClientID)
			}
			if apply != nil {
				apply(&lt.Hdr, lt.Rec)
			}
			// While replay is inside the fuzzy window of the snapshot (up to the zxid its
			// digest was taken at) the tree is not yet any state that was ever logged, so
			// txn digests are compared only after it (DataTree.compareDigest).
			if lt.Digest != nil && lt.Digest.Version == datatree.DigestVersion && fuzzyUntil >= 0 && lt.Hdr.Zxid > fuzzyUntil {
				check(lt.Hdr.Zxid, uint64(lt.Digest.TreeDigest), "txn")
			}
			if snapDigest != nil && snapDigest.DigestZxid == lt.Hdr.Zxid && snapDigest.DigestZxid != res.SnapZxid {
				check(lt.Hdr.Zxid, snapDigest.Digest, "snapshot")
			}
			res.LastZxid = lt.Hdr.Zxid
			res.Replayed++
			return nil
		})
		var torn *ErrTornTail
		if errors.As(err, &torn) && i == len(logs)-1 {
			o.Log.Warn().Str("file", torn.File).Int64("offset", torn.Offset).Str("reason", torn.Reason).
				Msg("truncating a partially written final log record (crash during write)")
			if terr := TruncateAt(torn.File, torn.Offset); terr != nil {
				return nil, terr
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replaying the transaction log: %w", err)
		}
	}
	res.Tree.SetLastProcessedZxid(res.LastZxid)
	res.TxnsLoad = time.Since(replayStart)
	return res, nil
}

// RequireDirs fails unless the version-2 directories of the logs and snapshots both exist.
// With zookeeper.datadir.autocreate=false a server refuses to start on a missing data dir
// (an unmounted disk, a mistyped path) instead of creating an empty one (FileTxnSnapLog).
func RequireDirs(snapDir, logDir string) error {
	for _, d := range []string{logDir, snapDir} {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("missing data directory %s, automatic data directory creation is disabled (zookeeper.datadir.autocreate is false); please create this directory manually", d)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// SnapDir and LogDir are the version-2 directories of dataDir and dataLogDir.
func SnapDir(dataDir string) string { return filepath.Join(dataDir, VersionDir) }

// LogDir is the version-2 directory of dataLogDir.
func LogDir(dataLogDir string) string { return filepath.Join(dataLogDir, VersionDir) }

// Purge keeps the newest retain snapshots and the logs needed to replay from the oldest kept
// one; older snapshots and logs are deleted (PurgeTxnLog). forget, if not nil, is told the
// base names before anything is deleted (the catalog must never list a deleted file as
// present after a crash; an orphan file is harmless and the next purge removes it).
func Purge(snapDir, logDir string, retain int, forget ...func(names []string) error) ([]string, error) {
	if retain < 3 {
		retain = 3
	}
	snaps, err := zxidFiles(snapDir, "snapshot")
	if err != nil || len(snaps) <= retain {
		return nil, err
	}
	oldest := snaps[len(snaps)-retain].zxid
	logs, err := zxidFiles(logDir, "log")
	if err != nil {
		return nil, err
	}
	// Keep the last log starting at or before the oldest kept snapshot.
	keepFrom := int64(-1)
	for _, lf := range logs {
		if lf.zxid <= oldest {
			keepFrom = lf.zxid
		}
	}
	var victims []string
	for _, s := range snaps[:len(snaps)-retain] {
		victims = append(victims, s.path)
	}
	for _, lf := range logs {
		if lf.zxid < keepFrom {
			victims = append(victims, lf.path)
		}
	}
	if len(victims) == 0 {
		return nil, nil
	}
	names := make([]string, len(victims))
	for i, p := range victims {
		names[i] = filepath.Base(p)
	}
	for _, f := range forget {
		if f != nil {
			if err := f(names); err != nil {
				return nil, err
			}
		}
	}
	var removed []string
	for _, p := range victims {
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		}
	}
	return removed, nil
}
