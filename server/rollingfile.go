package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// rollingFile is log4j's RollingFileAppender: once the file passes max bytes it becomes
// path.1, path.1 becomes path.2 and so on up to path.<backups>, the oldest dropped.
type rollingFile struct {
	mu      sync.Mutex
	path    string
	max     int64
	backups int
	f       *os.File
	size    int64
	closed  bool
}

func openRolling(path string, max int64, backups int) (*rollingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	r := &rollingFile{path: path, max: max, backups: backups}
	if err := r.open(os.O_APPEND); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rollingFile) open(mode int) error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|mode, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

func (r *rollingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.f == nil {
		// A roll that could not reopen the file: try again rather than stop logging.
		if err := r.open(os.O_APPEND); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err == nil && r.size >= r.max {
		err = r.roll()
	}
	return n, err
}

func (r *rollingFile) roll() error {
	r.f.Close()
	r.f = nil
	os.Remove(fmt.Sprintf("%s.%d", r.path, r.backups))
	for i := r.backups - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	if r.backups > 0 {
		if err := os.Rename(r.path, r.path+".1"); err != nil {
			// Go on in the same file and try again after another max bytes, rather than
			// shift (and lose) a backup at every write.
			if oerr := r.open(os.O_APPEND); oerr != nil {
				return oerr
			}
			r.size = 0
			return err
		}
	}
	return r.open(os.O_TRUNC)
}

func (r *rollingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
