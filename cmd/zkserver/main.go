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
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// version is the zkgo release; set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// defaultGCPercent trades a little CPU for memory: the data tree is long-lived, so the Go
// default (heap may grow to twice the live data between collections) would double the
// resident size of a large tree. The GOGC environment variable still overrides it.
const defaultGCPercent = 50

// minProcs is the fewest Ps the server runs with. A goroutine in a blocking system call keeps
// its P until the runtime's monitor takes it away (20 us to 10 ms later), and the sync stage
// spends most of its time in fdatasync: with one P (one CPU, or a container limited to one),
// nothing else ran meanwhile, and fsynced writes fell to a third of the throughput they have
// with two Ps on that same CPU (the kernel runs the second thread while the first waits on
// the disk, as Apache ZooKeeper's SyncRequestProcessor thread lets its others run).
const minProcs = 2

// ensureProcs raises GOMAXPROCS to minProcs unless the operator set GOMAXPROCS; it reports
// whether the floor applies (and so should be kept, see keepProcs).
func ensureProcs(getenv func(string) string) bool {
	if getenv("GOMAXPROCS") != "" {
		return false
	}
	if runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
	return true
}

// keepProcs re-applies the floor if the runtime lowers GOMAXPROCS later: while it is not
// set explicitly, Go follows the process's CPU affinity and cgroup limit (taskset on a
// running server, a container resized in place).
func keepProcs() {
	for range time.Tick(time.Second) {
		if runtime.GOMAXPROCS(0) < minProcs {
			runtime.GOMAXPROCS(minProcs)
		}
	}
}

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
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
