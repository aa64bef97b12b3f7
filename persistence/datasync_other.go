//go:build !linux

package persistence

import "os"

// datasync falls back to a full sync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }
