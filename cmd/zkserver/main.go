// Command zkserver is the operator binary of zkgo, a drop-in replacement for
// Apache ZooKeeper 3.8's zkServer.sh + QuorumPeerMain:
//
//	zkserver {start|start-foreground|stop|restart|status|version} [zoo.cfg]
//
// Without zoo.cfg it runs on embedded defaults (clientPort 2181, tickTime
// 2000) with --data-dir and --client-port.
package main

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// version is the zkgo release; set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// defaultGCPercent trades a little CPU for memory: the data tree is long-lived, so the Go
// default (heap may grow to twice the live data between collections) would double the
// resident size of a large tree. A small tree gets more room (gcHeadroom). The GOGC
// environment variable still overrides both.
const defaultGCPercent = 50

func main() {
	startGCTuner(os.Getenv, defaultGCPercent, gcHeadroom)
	if ensureProcs(os.Getenv) {
		go keepProcs()
	}
	// ZKGO_CPUPROFILE=FILE writes a Go CPU profile of the whole run (for `go tool pprof`).
	if path := os.Getenv("ZKGO_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			code := newCLI().run(os.Args[1:])
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	// ZKGO_TRACE=FILE writes a Go execution trace of the whole run (for `go tool trace`).
	if path := os.Getenv("ZKGO_TRACE"); path != "" {
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			code := newCLI().run(os.Args[1:])
			trace.Stop()
			f.Close()
			os.Exit(code)
		}
	}
	// ZKGO_MEMPROFILE=FILE writes the allocation profile at exit (`go tool pprof -sample_index=alloc_space`).
	if path := os.Getenv("ZKGO_MEMPROFILE"); path != "" {
		code := newCLI().run(os.Args[1:])
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		os.Exit(code)
	}
	os.Exit(newCLI().run(os.Args[1:]))
}
