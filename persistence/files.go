package persistence

import (
	"os"
	"path/filepath"
)

// ZxidFile is a snapshot or log file of a version-2 directory.
type ZxidFile struct {
	Path string
	Zxid int64
}

// ZxidFiles lists the files named prefix.<hex zxid> ("log", "snapshot") in dir, oldest first;
// a missing dir has none.
func ZxidFiles(dir, prefix string) ([]ZxidFile, error) {
	fs, err := zxidFiles(dir, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]ZxidFile, len(fs))
	for i, f := range fs {
		out[i] = ZxidFile{Path: f.path, Zxid: f.zxid}
	}
	return out, nil
}

// SyncDir fsyncs a directory, so that file creations, renames and removals in it are durable.
func SyncDir(dir string) error { return syncDir(dir) }

// WriteFileAtomic replaces path with data so that a crash leaves either the old or the new
// file, durably: a temp file in the same directory, fsynced, renamed over path, and the
// directory fsynced so the rename survives too (Apache's AtomicFileOutputStream, plus the
// directory sync it lacks).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}
