package persistence

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MetaFile is the bbolt file in dataDir holding what must change atomically: the epochs, the
// database id and the catalog of snapshots and log segments. A bbolt transaction commits
// with one fsync of a copy-on-write page tree, so a crash leaves the old or the new state,
// never a mix (the class of ZOOKEEPER-1653, where epoch files and logs disagreed).
const MetaFile = "zkgo.meta"

var (
	bucketEpochs  = []byte("epochs")
	bucketCatalog = []byte("catalog")
	keyAccepted   = []byte("acceptedEpoch")
	keyCurrent    = []byte("currentEpoch")
	keyDBID       = []byte("dbid")
)

// FileInfo describes one snapshot or log segment in the catalog.
type FileInfo struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // "snapshot" or "log"
	FirstZxid int64  `json:"firstZxid"`
	LastZxid  int64  `json:"lastZxid"` // snapshots: the name zxid; logs: last zxid when closed
	Size      int64  `json:"size"`
	Checksum  uint32 `json:"checksum"` // snapshots: the seal's Adler-32
	Closed    bool   `json:"closed"`   // logs: rolled, no longer appended to
	Written   int64  `json:"written"`  // unix ms
}

// Meta is the open metadata file.
type Meta struct {
	db *bolt.DB
}

// OpenMeta opens (or creates) dataDir/zkgo.meta.
func OpenMeta(dataDir string) (*Meta, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dataDir, MetaFile), 0o644, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(dataDir, MetaFile), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEpochs, bucketCatalog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Meta{db: db}, nil
}

// Close closes the file.
func (m *Meta) Close() error { return m.db.Close() }

func getInt(b *bolt.Bucket, k []byte) (int64, bool) {
	v := b.Get(k)
	if v == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}

// Epochs returns the accepted and current epochs (-1 when never set).
func (m *Meta) Epochs() (accepted, current int64, err error) {
	accepted, current = -1, -1
	err = m.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEpochs)
		if v, ok := getInt(b, keyAccepted); ok {
			accepted = v
		}
		if v, ok := getInt(b, keyCurrent); ok {
			current = v
		}
		return nil
	})
	return
}

// SetEpochs records epochs atomically; a value < 0 leaves that epoch unchanged. It returns
// only once the change is durable, so an epoch is persisted before it is acknowledged.
func (m *Meta) SetEpochs(accepted, current int64) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEpochs)
		if accepted >= 0 {
			if err := b.Put(keyAccepted, []byte(strconv.FormatInt(accepted, 10))); err != nil {
				return err
			}
		}
		if current >= 0 {
			return b.Put(keyCurrent, []byte(strconv.FormatInt(current, 10)))
		}
		return nil
	})
}

// keyInstalling names the snapshot a learner installed from a SNAP whose replaced history
// (every other snapshot and log) is still being removed; keySnapInstalled keeps the zxid of
// the last snapshot installed from a SNAP.
var (
	keyInstalling    = []byte("installing")
	keySnapInstalled = []byte("snapInstalled")
)

// SetInstalling records the snapshot being installed from a SNAP (name, at zxid), or clears
// that record (name ""; the zxid stays as SnapInstalled). Recorded, it is the commit point of
// the install: from then on that snapshot alone is the history.
func (m *Meta) SetInstalling(name string, zxid int64) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEpochs)
		if name == "" {
			return b.Delete(keyInstalling)
		}
		if err := b.Put(keySnapInstalled, []byte(strconv.FormatInt(zxid, 10))); err != nil {
			return err
		}
		return b.Put(keyInstalling, []byte(name))
	})
}

// SnapInstalled returns the zxid of the last snapshot installed from a SNAP, if any.
func (m *Meta) SnapInstalled() (zxid int64, ok bool, err error) {
	err = m.db.View(func(tx *bolt.Tx) error {
		zxid, ok = getInt(tx.Bucket(bucketEpochs), keySnapInstalled)
		return nil
	})
	return
}

// Installing returns the snapshot recorded by SetInstalling ("" if none).
func (m *Meta) Installing() (name string, err error) {
	err = m.db.View(func(tx *bolt.Tx) error {
		name = string(tx.Bucket(bucketEpochs).Get(keyInstalling))
		return nil
	})
	return
}

// Record adds or replaces catalog entries in one transaction.
func (m *Meta) Record(infos ...FileInfo) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCatalog)
		for _, fi := range infos {
			v, err := json.Marshal(fi)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(fi.Name), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Forget drops catalog entries (purged files).
func (m *Meta) Forget(names ...string) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCatalog)
		for _, n := range names {
			if err := b.Delete([]byte(n)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Catalog lists the recorded files, oldest first.
func (m *Meta) Catalog() ([]FileInfo, error) {
	var out []FileInfo
	err := m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCatalog).ForEach(func(k, v []byte) error {
			var fi FileInfo
			if err := json.Unmarshal(v, &fi); err != nil {
				return fmt.Errorf("catalog entry %s: %w", k, err)
			}
			out = append(out, fi)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].FirstZxid != out[j].FirstZxid {
			return out[i].FirstZxid < out[j].FirstZxid
		}
		return out[i].Kind < out[j].Kind
	})
	return out, err
}

// ErrMissingFile reports a file the catalog knows but the disk does not have: starting without
// it could silently lose acknowledged data (ZOOKEEPER-2325), so the server refuses.
var ErrMissingFile = errors.New("file recorded in the catalog is missing")

// CheckCatalog verifies that every catalogued file whose data is still needed exists: all
// logs from the one covering the newest catalogued snapshot on, and that snapshot itself
// unless an older catalogued snapshot with its logs is present.
func CheckCatalog(cat []FileInfo, snapDir, logDir string) error {
	exists := func(dir, name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	var newestSnap *FileInfo
	for i := range cat {
		if cat[i].Kind == "snapshot" && exists(snapDir, cat[i].Name) {
			if newestSnap == nil || cat[i].LastZxid > newestSnap.LastZxid {
				newestSnap = &cat[i]
			}
		}
	}
	for i := range cat {
		fi := &cat[i]
		switch fi.Kind {
		case "snapshot":
			if !exists(snapDir, fi.Name) && (newestSnap == nil || fi.LastZxid > newestSnap.LastZxid) {
				return fmt.Errorf("%w: %s (snapshot of zxid 0x%x)", ErrMissingFile, filepath.Join(snapDir, fi.Name), fi.LastZxid)
			}
		case "log":
			last, closed := fi.LastZxid, fi.Closed
			if !closed {
				// A log open when the server crashed is never marked closed, but it ended before
				// the next log began: later logs bound it (else purge could never drop it).
				for j := range cat {
					if cat[j].Kind == "log" && cat[j].FirstZxid > fi.FirstZxid && (!closed || cat[j].FirstZxid-1 < last) {
						last, closed = cat[j].FirstZxid-1, true
					}
				}
			}
			needed := newestSnap == nil || !closed || last > newestSnap.LastZxid
			if needed && !exists(logDir, fi.Name) {
				return fmt.Errorf("%w: %s (log from zxid 0x%x)", ErrMissingFile, filepath.Join(logDir, fi.Name), fi.FirstZxid)
			}
		}
	}
	return nil
}
