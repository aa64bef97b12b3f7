//go:build !linux

package persistence

import "os"

// mapFile reads the file (mapfile_linux.go maps it).
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
