//go:build !linux

package persistence

import "os"

// syncer is fdatasync (or its fallback) where Linux AIO is not available.
type syncer struct{}

func newSyncer() *syncer                    { return &syncer{} }
func plainSyncer() *syncer                  { return &syncer{} }
func (s *syncer) datasync(f *os.File) error { return datasync(f) }
func (s *syncer) close()                    {}
