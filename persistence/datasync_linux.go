package persistence

import (
	"os"
	"syscall"
)

// datasync flushes a log file's data, like FileChannel.force(false) in Apache ZooKeeper:
// fdatasync skips the inode times, and the preallocation keeps the file size (the metadata
// that matters) unchanged between padding steps.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
