package persistence

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
