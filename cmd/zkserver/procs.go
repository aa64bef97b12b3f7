package main

import (
	"context"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/zkgo/zkgo/quorum/config"
)

// minProcs is the fewest Ps a server alone on its host runs with while its log syncs with
// fdatasync(2) (standaloneProcs drops it to one P with AIO syncs on small hosts). A
// goroutine in a blocking system call keeps its P until the runtime's monitor takes it away
// (20 us to 10 ms later), and the sync stage spends most of its time in fdatasync: with one
// P (one CPU, or a container limited to one), nothing else ran meanwhile, and fsynced writes
// fell to a third of the throughput they have with two Ps on that same CPU (the kernel runs
// the second thread while the first waits on the disk, as Apache ZooKeeper's
// SyncRequestProcessor thread lets its others run).
const minProcs = 2

// startProcs is GOMAXPROCS as the runtime chose it at start (CPU affinity, cgroup limit).
var startProcs = runtime.GOMAXPROCS(0)

// procFloor is what keepProcs holds GOMAXPROCS at, at least.
var procFloor atomic.Int32

// ensureProcs raises GOMAXPROCS to minProcs unless the operator set GOMAXPROCS; it reports
// whether the floor applies (and so should be kept, see keepProcs).
func ensureProcs(getenv func(string) string) bool {
	if getenv("GOMAXPROCS") != "" {
		return false
	}
	procFloor.Store(minProcs)
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
		if floor := int(procFloor.Load()); runtime.GOMAXPROCS(0) < floor {
			runtime.GOMAXPROCS(floor)
		}
	}
}

// shareProcs sizes GOMAXPROCS for an ensemble member that shares its host with other
// members of the same ensemble (a pseudo-cluster): each member gets its share of the CPUs,
// ceil(cpus / members on this host), and keepProcs holds that instead of minProcs. With
// every member running as many Ps as the host has CPUs, three members on two CPUs kept six
// Ps and their idle threads busy looking for work and waking each other; the kernel, which
// sees all the members' threads, shares the CPUs better. The minProcs floor is not needed
// there: while one member waits in fdatasync, the CPU runs the others. An operator's
// GOMAXPROCS is left alone. It returns the new GOMAXPROCS, or 0 when nothing changed, and
// the number of members on this host (0 for a standalone server).
func shareProcs(getenv func(string) string, cfg *config.Config, isLocal func(host string) bool) (procs, local int) {
	if cfg.Standalone() {
		return 0, 0
	}
	for _, s := range cfg.Servers {
		if isLocal(s.Host) {
			local++
		}
	}
	if local < 2 || getenv("GOMAXPROCS") != "" {
		return 0, local
	}
	procs = max(1, (startProcs+local-1)/local)
	procFloor.Store(int32(procs))
	runtime.GOMAXPROCS(procs)
	return procs, local
}

// smallHostProcs is the most CPUs on which a standalone server runs one P.
const smallHostProcs = 2

// standaloneProcs sizes GOMAXPROCS for a standalone server: on a host (or CPU affinity, or
// cgroup limit) of one or two CPUs it runs one P, and its log syncs through AIO (server
// package: a sync then parks in the network poller instead of holding the only P). Its
// request path is a chain of goroutines handing work to each other; with a second P idle
// most of the time, each hand-off woke a sleeping thread (a futex wake-up and a context
// switch, which in a VM is an interrupt to another vCPU). On the two-CPU machine of
// docs/BENCHMARKS.md one P wrote 20-35% more per second (setData at 1 and 32 sessions,
// create at 32), with a third less CPU per write, and read ~5% less at 32 sessions with
// a lower p99; an operator serving heavy reads from remote clients on two CPUs can set
// GOMAXPROCS=2. Snapshots are written with a second P (gomaxprocs.With).
// Larger hosts keep every CPU. It returns the new GOMAXPROCS, or 0 when nothing changed.
func standaloneProcs(getenv func(string) string, cfg *config.Config) int {
	if getenv("GOMAXPROCS") != "" || !cfg.Standalone() || startProcs > smallHostProcs {
		return 0
	}
	procFloor.Store(1)
	runtime.GOMAXPROCS(1)
	return 1
}

// isLocalHost reports whether host is an address of this machine: a loopback address, or
// one of its interfaces' (a name is resolved, for at most a second).
func isLocalHost(host string) bool {
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return false
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	ifaddrs, _ := net.InterfaceAddrs()
	for _, ip := range ips {
		if ip.IsLoopback() {
			return true
		}
		for _, a := range ifaddrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return true
			}
		}
	}
	return false
}
