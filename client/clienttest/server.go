// Package clienttest starts an in-process zkgo server for the tests of package client and
// command zkcli: standalone, on a free loopback port, data in a test temp dir, no
// AdminServer. It is for tests only: it links the whole server.
package clienttest

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
)

// Start runs a server for the test and returns its address. tickMs (0: 2000) sets tickTime,
// which bounds session timeouts to [2, 20] ticks; props are system properties such as
// "zookeeper.extendedTypesEnabled": "true".
func Start(t testing.TB, tickMs int, props map[string]string) (*server.Server, string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.ClientPortAddress = "127.0.0.1"
	if tickMs > 0 {
		cfg.TickTime = tickMs
	}
	cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"})
	cfg.ApplySystemProps(props)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPort = 0
	s, err := server.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Addr().String()
}
