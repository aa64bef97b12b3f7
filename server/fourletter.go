package server

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server/datatree"
)

var fourLetterWords = map[string]bool{
	"conf": true, "cons": true, "crst": true, "dirs": true, "dump": true, "envi": true, "gtmk": true,
	"ruok": true, "stmk": true, "srst": true, "srvr": true, "stat": true, "wchc": true, "wchp": true,
	"wchs": true, "mntr": true, "isro": true, "hash": true,
}

func isFourLetterWord(s string) bool { return fourLetterWords[s] }

// fourLetterWord answers a four-letter command in plain text and closes the connection
// (NIOServerCnxn.checkFourLetterWord).
func (s *Server) fourLetterWord(c *conn, cmd string, r *bufio.Reader) {
	// Like NIOServerCnxn.checkFourLetterWord: the word counts as a received packet, and the
	// connection stays in cons/stat/dump (interest ops 0) until its answer is written.
	c.fourLetter.Store(true)
	c.received.Add(1)
	s.stats.packetsReceived.Add(1)
	s.Count(BytesReceivedCount, 4)
	var b strings.Builder
	switch {
	case !s.whitelist[cmd]:
		fmt.Fprintf(&b, "%s is not executed because it is not in the whitelist.\n", cmd)
	case !s.clientServing() && cmd != "ruok" && cmd != "isro":
		b.WriteString("This ZooKeeper instance is not currently serving requests\n")
	default:
		if cmd == "stmk" {
			var mask [8]byte
			if _, err := io.ReadFull(r, mask[:]); err == nil {
				s.traceMask.Store(int64(binary.BigEndian.Uint64(mask[:])))
			}
		}
		s.runFourLetterWord(&b, cmd)
	}
	// Written directly: 4lw output is not a client packet and is not counted as sent.
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.rw.Write([]byte(b.String()))
	c.close()
}

func (s *Server) runFourLetterWord(b *strings.Builder, cmd string) {
	switch cmd {
	case "ruok":
		b.WriteString("imok")
	case "srvr":
		s.writeServerSummary(b, false)
	case "stat":
		s.writeServerSummary(b, true)
	case "conf":
		dd, dl := s.dirSizes()
		s.cfg.Dump(b, dd, dl)
		if s.ens != nil {
			s.writeQuorumConf(b)
		}
	case "envi":
		s.writeEnvironment(b)
	case "mntr":
		s.writeMonitor(b)
	case "cons":
		for _, c := range s.clientConns() {
			c.dumpInfo(b, false)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	case "crst":
		for _, c := range s.clientConns() {
			c.resetStats()
		}
		b.WriteString("Connection stats reset.\n")
	case "srst":
		s.resetServerStats()
		b.WriteString("Server stats reset.\n")
	case "isro":
		switch {
		case s.role() == roleReadOnly:
			b.WriteString("ro")
		case !s.clientServing():
			b.WriteString("null") // no server running (IsroCommand)
		default:
			b.WriteString("rw")
		}
	case "dirs":
		dd, dl := s.dirSizes()
		fmt.Fprintf(b, "datadir_size: %d\nlogdir_size: %d\n", dd, dl)
	case "gtmk", "stmk":
		b.WriteString(strconv.FormatInt(s.traceMask.Load(), 10)) // TraceMaskCommand: print, no newline
	case "wchs":
		s.dt().RLock()
		ws := s.dt().WatchStats()
		s.dt().RUnlock()
		fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n", ws.Watchers, ws.Paths, ws.Watches)
	case "wchc":
		// DataTree.dumpWatches(pw, false) then println (WatchCommand).
		ids, paths := s.sessionWatches()
		for _, id := range ids {
			fmt.Fprintf(b, "0x%x\n", id)
			for _, p := range paths[id] {
				fmt.Fprintf(b, "\t%s\n", p)
			}
		}
		b.WriteByte('\n')
	case "wchp":
		ps, ids := s.pathWatches()
		for _, p := range ps {
			b.WriteString(p + "\n")
			for _, id := range ids[p] {
				fmt.Fprintf(b, "\t0x%x\n", id)
			}
		}
		b.WriteByte('\n')
	case "dump":
		b.WriteString("SessionTracker dump:\n")
		byExp := s.sessions.byExpiry()
		fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(byExp), s.sessions.count())
		times := make([]int64, 0, len(byExp))
		for t := range byExp {
			times = append(times, t)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		for _, t := range times {
			fmt.Fprintf(b, "%d expire at %s:\n", len(byExp[t]), time.UnixMilli(t).UTC().Format("Mon Jan 02 15:04:05 UTC 2006"))
			for _, id := range byExp[t] {
				fmt.Fprintf(b, "\t0x%x\n", id)
			}
		}
		s.dt().RLock()
		eph := s.dt().EphemeralsBySession()
		s.dt().RUnlock()
		b.WriteString("ephemeral nodes dump:\n")
		fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(eph))
		for _, id := range sortedKeys(eph) {
			fmt.Fprintf(b, "0x%x:\n", id)
			for _, p := range eph[id] {
				fmt.Fprintf(b, "\t%s\n", p)
			}
		}
		// NIOServerCnxnFactory.dumpConnections: "Connections " + the connection expiry queue.
		// zkgo has no such queue; all connections are listed in one set expiring one
		// sessionless timeout from now.
		b.WriteString("Connections dump:\n")
		conns := s.clientConns()
		fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", min(len(conns), 1), len(conns))
		if len(conns) > 0 {
			fmt.Fprintf(b, "%d expire at %s:\n", len(conns), time.Now().Add(s.sessionless).UTC().Format("Mon Jan 02 15:04:05 UTC 2006"))
			for _, c := range conns {
				fmt.Fprintf(b, "\tip: /%s sessionId: 0x%x\n", c.remote, c.sid())
			}
		}
	case "hash":
		// DigestCommand prints "<hex zxid>: <digest>" per entry of the digest log, which
		// zkgo does not keep (Apache's is empty until 128 transactions): nothing to print.
	}
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// clientConns are the connections that completed a handshake or are in one (not 4lw).
func (s *Server) clientConns() []*conn { return s.connList() }

// javaDouble prints a float as Java's Double.toString does for ordinary magnitudes.
func javaDouble(v float64) string {
	str := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(str, ".") {
		str += ".0"
	}
	return str
}

func (s *Server) latency() (minL int64, avg float64, maxL int64) {
	minL = s.stats.minLatency.Load()
	if minL < 0 {
		minL = 0
	}
	if n := s.stats.cntLatency.Load(); n > 0 {
		// AvgMinMaxCounter.getAvg rounds to 4 decimals.
		avg = math.Round(float64(s.stats.sumLatency.Load())/float64(n)*10000) / 10000
	}
	return minL, avg, s.stats.maxLatency.Load()
}

func (s *Server) writeServerSummary(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s, built on %s\n", Version, buildDate)
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.clientConns() {
			c.dumpInfo(b, true)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	minL, avg, maxL := s.latency()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", minL, javaDouble(avg), maxL)
	fmt.Fprintf(b, "Received: %d\n", s.stats.packetsReceived.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.packetsSent.Load())
	fmt.Fprintf(b, "Connections: %d\n", len(s.clientConns()))
	fmt.Fprintf(b, "Outstanding: %d\n", s.stats.outstanding.Load())
	s.dt().RLock()
	zxid := s.dt().LastProcessedZxid()
	nodes := s.dt().ReportedNodeCount()
	s.dt().RUnlock()
	fmt.Fprintf(b, "Zxid: 0x%x\n", zxid)
	fmt.Fprintf(b, "Mode: %s\n", s.mode())
	fmt.Fprintf(b, "Node count: %d\n", nodes)
	if s.role() == roleLeader {
		qi := s.ens.Info()
		fmt.Fprintf(b, "Proposal sizes last/min/max: %d/%d/%d\n", qi.ProposalLast, qi.ProposalMin, qi.ProposalMax)
	}
}

func (s *Server) mode() string { return s.role().String() }

// buildDate is what srvr shows after "built on".
var buildDate = "2026-11-27 00:00 UTC"

func (s *Server) writeEnvironment(b *strings.Builder) {
	b.WriteString("Environment:\n")
	for _, p := range environment() {
		b.WriteString(p[0] + "=" + p[1] + "\n")
	}
}

// environment is Environment.list: Java's keys, filled with the Go process's values.
func environment() [][2]string {
	host, _ := os.Hostname()
	u, _ := user.Current()
	uname, home := "", ""
	if u != nil {
		uname, home = u.Username, u.HomeDir
	}
	wd, _ := os.Getwd()
	exe, _ := os.Executable()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return [][2]string{
		{"zookeeper.version", Version + ", built on " + buildDate},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "zkgo (Go runtime)"},
		{"java.home", runtime.GOROOT()},
		{"java.class.path", exe},
		{"java.library.path", ""},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", "<NA>"},
		{"os.name", strings.Title(runtime.GOOS)},
		{"os.arch", runtime.GOARCH},
		{"os.version", kernelVersion()},
		{"user.name", uname},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", fmt.Sprintf("%dMB", (ms.HeapSys-ms.HeapInuse)>>20)},
		{"os.memory.max", fmt.Sprintf("%dMB", ms.Sys>>20)},
		{"os.memory.total", fmt.Sprintf("%dMB", ms.HeapSys>>20)},
	}
}

func kernelVersion() string {
	v, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(v))
}

// writeMonitor is MonitorCommand: zk_<key>\t<value> for dumpMonitorValues and the metrics.
func (s *Server) writeMonitor(b *strings.Builder) {
	for _, m := range s.monitorValues() {
		fmt.Fprintf(b, "zk_%s\t%s\n", m.key, formatMetric(m.val))
	}
}

func openFDs() (int, int) {
	ents, _ := os.ReadDir("/proc/self/fd")
	maxFds := 0
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Max open files") {
				f := strings.Fields(l)
				if len(f) >= 4 {
					maxFds, _ = strconv.Atoi(f[3])
				}
			}
		}
	}
	return len(ents), maxFds
}

// writeQuorumConf is what an ensemble member adds to conf (QuorumZooKeeperServer.dumpConf):
// its limits, its own election and quorum ports, whether it is a participant (0) or an
// observer (1), and the committed membership as /zookeeper/config holds it.
func (s *Server) writeQuorumConf(b *strings.Builder) {
	t := s.dt()
	t.RLock()
	var data []byte
	if n := t.Get(datatree.ConfigPath); n != nil {
		data = n.Data
	}
	t.RUnlock()
	v, err := config.ParseVerifier(data)
	if err != nil || len(v.Servers) == 0 {
		v = s.cfg.Verifier()
		data = []byte(v.String(v.Version))
	}
	self := v.Servers[s.cfg.MyID]
	if self == nil {
		self = s.cfg.Servers[s.cfg.MyID] // removed by a reconfig: its own address still
	}
	var election, quorum []string
	peerType := 0
	if self != nil {
		for _, a := range self.Addrs {
			election = append(election, strconv.Itoa(a.ElectionPort))
			quorum = append(quorum, strconv.Itoa(a.QuorumPort))
		}
		if self.Type == config.Observer {
			peerType = 1
		}
	}
	fmt.Fprintf(b, "initLimit=%d\nsyncLimit=%d\nelectionAlg=%d\nelectionPort=%s\nquorumPort=%s\npeerType=%d\nmembership: \n%s",
		s.cfg.InitLimit, s.cfg.SyncLimit, s.cfg.ElectionAlg, strings.Join(slices.Compact(election), "|"),
		strings.Join(slices.Compact(quorum), "|"), peerType, data)
}

// dirSizes are the sizes of the snapshot and log directories.
func (s *Server) dirSizes() (int64, int64) {
	size := func(dir string) int64 {
		var total int64
		filepath.Walk(filepath.Join(dir, "version-2"), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				total += fi.Size()
			}
			return nil
		})
		return total
	}
	return size(s.cfg.DataDir), size(s.cfg.DataLogDir)
}

// dumpInfo writes one connection line as ServerCnxn.dumpConnectionInfo does.
func (c *conn) dumpInfo(b *strings.Builder, brief bool) {
	fmt.Fprintf(b, " /%s[%d](queued=%d,recved=%d,sent=%d", c.remote, c.interestOps(), c.queued(), c.received.Load(), c.sent.Load())
	if !brief {
		if id := c.sid(); id != 0 {
			fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d", id, shortOp(c.lastOp.Load()), c.established.UnixMilli(), c.timeout)
			if cx := c.lastCxid.Load(); cx >= 0 {
				fmt.Fprintf(b, ",lcxid=0x%x", cx)
			}
			minL, avg, maxL := c.latency() // avglat is a long in 3.8
			fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
				c.lastZxid.Load(), c.lastResp.Load(), c.lastLat.Load(), minL, avg, maxL)
		}
	}
	b.WriteString(")")
}

func (c *conn) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// resetStats is ServerCnxn.resetStats (crst).
func (c *conn) resetStats() {
	c.received.Store(0)
	c.sent.Store(0)
	c.minLat.Store(-1)
	c.maxLat.Store(0)
	c.sumLat.Store(0)
	c.cntLat.Store(0)
	c.lastLat.Store(0)
	c.lastOp.Store(-1000)
	c.lastCxid.Store(-1)
	c.lastZxid.Store(-1)
	c.lastResp.Store(0)
}

// resetServerStats is ServerStats.reset (srst): latency, packet counters, response sizes
// and, with the default metrics provider, every ServerMetrics value (resetAll; the
// Prometheus provider does not support resetting).
func (s *Server) resetServerStats() {
	s.stats.reset()
	s.metrics.resetResponseSizes()
	if s.cfg.MetricsProviderClassName != PrometheusProvider {
		for _, sm := range s.metrics.summaries() {
			sm.reset()
		}
		for c := range s.metrics.counters {
			s.metrics.counters[c].Store(0)
		}
		s.metrics.fsyncThresholds.Store(0)
	}
}

// shortOp is the four-letter op name used in cons (FinalRequestProcessor lastOp).
func shortOp(op int32) string {
	switch op {
	case -1000:
		return "NA"
	case 11:
		return "PING"
	case 1, 15, 19, 21:
		return "CREA"
	case 2:
		return "DELE"
	case 3:
		return "EXIS"
	case 4:
		return "GETD"
	case 5:
		return "SETD"
	case 6:
		return "GACL"
	case 7:
		return "SACL"
	case 8:
		return "GETC"
	case 12:
		return "GETC"
	case 9:
		return "SYNC"
	case 14:
		return "MULT"
	case 22:
		return "MLTR"
	case 101, 105:
		return "SETW"
	case 106:
		return "ADDW"
	case 17:
		return "CHKW"
	case 18:
		return "REMW"
	case 103:
		return "GETE"
	case 104:
		return "GETACN"
	case 107:
		return "HOMI"
	case -10:
		return "SESS"
	case -11:
		return "CLOS"
	}
	return "NA"
}

var _ datatree.Watcher = (*conn)(nil)
