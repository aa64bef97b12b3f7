package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkgo/zkgo/jute"
)

// PrometheusProvider is the metricsProvider.className that turns on the /metrics endpoint.
const PrometheusProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

// summary is ZooKeeper's AvgMinMaxCounter (BASIC) or AvgMinMaxPercentileCounter (ADVANCED):
// count, sum, min and max since the last reset, plus the most recent observations for
// percentiles (Apache keeps a sliding window too).
type summary struct {
	name     string
	advanced bool

	mu       sync.Mutex
	cnt, sum int64
	min, max int64
	window   []int64 // ring of the last len(window) observations
	next     int
	filled   bool
}

const summaryWindow = 1024

func newSummary(name string, advanced bool) *summary {
	return &summary{name: name, advanced: advanced, window: make([]int64, summaryWindow)}
}

func (m *summary) observe(v int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cnt == 0 || v < m.min {
		m.min = v
	}
	if m.cnt == 0 || v > m.max {
		m.max = v
	}
	m.cnt++
	m.sum += v
	m.window[m.next] = v
	m.next++
	if m.next == len(m.window) {
		m.next, m.filled = 0, true
	}
}

func (m *summary) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cnt, m.sum, m.min, m.max, m.next, m.filled = 0, 0, 0, 0, 0, false
}

type summaryValues struct {
	cnt, sum, min, max int64
	sorted             []int64 // window, sorted
}

func (m *summary) values() summaryValues {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.next
	if m.filled {
		n = len(m.window)
	}
	s := append([]int64(nil), m.window[:n]...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return summaryValues{cnt: m.cnt, sum: m.sum, min: m.min, max: m.max, sorted: s}
}

// quantile is the nearest-rank quantile of the window; ok is false without observations.
func (v summaryValues) quantile(q float64) (int64, bool) {
	if len(v.sorted) == 0 {
		return 0, false
	}
	i := int(math.Ceil(q*float64(len(v.sorted)))) - 1
	return v.sorted[max(0, min(i, len(v.sorted)-1))], true
}

// avg is AvgMinMaxCounter.getAvg: rounded to 4 decimals.
func (v summaryValues) avg() float64 {
	if v.cnt == 0 {
		return 0
	}
	return math.Round(float64(v.sum)/float64(v.cnt)*10000) / 10000
}

// Counter is one of ServerMetrics.java's counters (mntr zk_<name>, a Prometheus counter).
// Like Apache's, every counter is shown on every role, zero until its event happens, and
// kept across role changes (srst resets them).
type Counter int

const (
	ConnectionRequestCount        Counter = iota // connect requests the connection throttle let in (ZooKeeperServer.processConnectRequest)
	ConnectionRevalidateCount                    // connect requests naming an existing session
	ConnectionRejected                           // connections refused (maxCnxns, maxClientCnxns, connection throttle)
	ConnectionDropCount                          // connections the client closed
	SessionlessConnectionsExpired                // connections closed for not opening a session in time
	StaleSessionsExpired                         // sessions expired by the session tracker
	BytesReceivedCount                           // client request bytes, length prefix included
	ResponseBytes                                // reply bytes (header and body, no length prefix)
	WatchBytes                                   // watch notification bytes
	DigestMismatchesCount                        // txn or snapshot digests that disagreed with the tree
	LookingCount                                 // times the member went LOOKING
	DiffCount                                    // learner syncs the leader served without a snapshot
	SnapCount                                    // learner syncs the leader served with a snapshot
	ProposalCount                                // PROPOSALs the leader broadcast
	CommitCount                                  // COMMITs the leader broadcast
	RevalidateCount                              // REVALIDATEs the leader answered
	LearnerProposalReceivedCount                 // PROPOSALs a follower received in broadcast
	LearnerCommitReceivedCount                   // COMMITs (INFORMs) a learner received in broadcast
	UnrecoverableErrorCount                      // fatal errors that stopped the server
	UnsuccessfulHandshake                        // TLS handshakes that failed on the secure client port
	TLSHandshakeExceeded                         // TLS connections refused over the outstanding handshake limit
	LargeRequestsRejected                        // connections closed over zookeeper.largeRequestMaxBytes
	RequestThrottleWaitCount                     // waits of a request in the request throttler
	StaleRequests                                // requests past the throttler whose connection had closed
	StaleRequestsDropped                         // such requests the throttler dropped while waiting
	StaleReplies                                 // replies to requests whose connection had closed
	ThrottledOps                                 // requests answered THROTTLEDOP (zookeeper.throttled_op_wait_time)
	QuitLeadingDueToDisloyalVoter                // leaders that stopped waiting for epochs (maxTimeToWaitForEpoch)
	EnsembleAuthSuccess                          // addauth ensemble with an expected name
	EnsembleAuthFail                             // addauth ensemble with another name (connection closed)
	EnsembleAuthSkip                             // addauth ensemble with no name, or no names configured
	InsecureAdmin                                // plain HTTP connections to a unified AdminServer port
	numCounters
)

var counterNames = [numCounters]string{
	ConnectionRequestCount:        "connection_request_count",
	ConnectionRevalidateCount:     "connection_revalidate_count",
	ConnectionRejected:            "connection_rejected",
	ConnectionDropCount:           "connection_drop_count",
	SessionlessConnectionsExpired: "sessionless_connections_expired",
	StaleSessionsExpired:          "stale_sessions_expired",
	BytesReceivedCount:            "bytes_received_count",
	ResponseBytes:                 "response_bytes",
	WatchBytes:                    "watch_bytes",
	DigestMismatchesCount:         "digest_mismatches_count",
	LookingCount:                  "looking_count",
	DiffCount:                     "diff_count",
	SnapCount:                     "snap_count",
	ProposalCount:                 "proposal_count",
	CommitCount:                   "commit_count",
	RevalidateCount:               "revalidate_count",
	LearnerProposalReceivedCount:  "learner_proposal_received_count",
	LearnerCommitReceivedCount:    "learner_commit_received_count",
	UnrecoverableErrorCount:       "unrecoverable_error_count",
	UnsuccessfulHandshake:         "unsuccessful_handshake",
	TLSHandshakeExceeded:          "tls_handshake_exceeded",
	LargeRequestsRejected:         "large_requests_rejected",
	RequestThrottleWaitCount:      "request_throttle_wait_count",
	StaleRequests:                 "stale_requests",
	StaleRequestsDropped:          "stale_requests_dropped",
	StaleReplies:                  "stale_replies",
	ThrottledOps:                  "throttled_ops",
	QuitLeadingDueToDisloyalVoter: "quit_leading_due_to_disloyal_voter",
	EnsembleAuthSuccess:           "ensemble_auth_success",
	EnsembleAuthFail:              "ensemble_auth_fail",
	EnsembleAuthSkip:              "ensemble_auth_skip",
	InsecureAdmin:                 "insecure_admin_count",
}

// Metric is one of ServerMetrics.java's summaries (mntr zk_avg_/min_/max_/cnt_/sum_<name>,
// ADVANCED ones also zk_p50_/p95_/p99_/p999_<name>). Times are milliseconds, as Apache's.
type Metric int

const (
	FsyncTime                  Metric = iota // BASIC: a log sync
	SnapshotTime                             // BASIC: writing a snapshot
	DBInitTime                               // BASIC: loading the data dir at start
	StartupSnapLoadTime                      // BASIC: reading the snapshot of a load
	StartupTxnsLoadTime                      // BASIC: replaying the log after it
	StartupTxnsLoaded                        // BASIC: txns replayed
	SyncProcessorBatchSize                   // BASIC: txns made durable by one log sync
	ElectionTime                             // BASIC: leader election, LOOKING to a role
	FollowerSyncTime                         // BASIC: a follower's sync with its leader
	ObserverSyncTime                         // BASIC: an observer's sync with its leader
	InflightSnapCount                        // BASIC: a leader's SNAP syncs in flight, as one begins or ends
	InflightDiffCount                        // BASIC: a leader's DIFF (and TRUNC) syncs in flight, likewise
	UnavailableTime                          // BASIC: LOOKING (or start) to serving again
	LeaderUnavailableTime                    // BASIC: the same, ended as leader
	NodeCreatedWatchCount                    // BASIC: watchers one NodeCreated event fired
	NodeDeletedWatchCount                    // BASIC: ... one NodeDeleted event
	NodeChangedWatchCount                    // BASIC: ... one NodeDataChanged event
	NodeChildrenWatchCount                   // BASIC: ... one NodeChildrenChanged event
	ConnectionTokenDeficit                   // BASIC: the connection throttle's deficit after an admitted connect
	UpdateLatency                            // ADVANCED: a write, received to answered
	ReadLatency                              // ADVANCED: a read, received to answered
	QuorumAckLatency                         // ADVANCED: txn created to quorum of ACKs (leader)
	ProposalLatency                          // ADVANCED: txn created to its PROPOSAL received (follower)
	ProposalAckCreationLatency               // ADVANCED: txn created to logged and ACKed (leader, follower)
	CommitPropagationLatency                 // ADVANCED: txn created to its COMMIT received (learner)
	PropagationLatency                       // ADVANCED: txn created to applied to the tree
	RequestThrottleQueueTime                 // ADVANCED: a request's wait in the request throttler (when it is on)
	numMetrics
)

var metricDefs = [numMetrics]struct {
	name     string
	advanced bool
}{
	FsyncTime:                  {"fsynctime", false},
	SnapshotTime:               {"snapshottime", false},
	DBInitTime:                 {"dbinittime", false},
	StartupSnapLoadTime:        {"startup_snap_load_time", false},
	StartupTxnsLoadTime:        {"startup_txns_load_time", false},
	StartupTxnsLoaded:          {"startup_txns_loaded", false},
	SyncProcessorBatchSize:     {"sync_processor_batch_size", false},
	ElectionTime:               {"election_time", false},
	FollowerSyncTime:           {"follower_sync_time", false},
	ObserverSyncTime:           {"observer_sync_time", false},
	InflightSnapCount:          {"inflight_snap_count", false},
	InflightDiffCount:          {"inflight_diff_count", false},
	UnavailableTime:            {"unavailable_time", false},
	LeaderUnavailableTime:      {"leader_unavailable_time", false},
	NodeCreatedWatchCount:      {"node_created_watch_count", false},
	NodeDeletedWatchCount:      {"node_deleted_watch_count", false},
	NodeChangedWatchCount:      {"node_changed_watch_count", false},
	NodeChildrenWatchCount:     {"node_children_watch_count", false},
	ConnectionTokenDeficit:     {"connection_token_deficit", false},
	UpdateLatency:              {"updatelatency", true},
	ReadLatency:                {"readlatency", true},
	QuorumAckLatency:           {"quorum_ack_latency", true},
	ProposalLatency:            {"proposal_latency", true},
	ProposalAckCreationLatency: {"proposal_ack_creation_latency", true},
	CommitPropagationLatency:   {"commit_propagation_latency", true},
	PropagationLatency:         {"propagation_latency", true},
	RequestThrottleQueueTime:   {"request_throttle_queue_time_ms", true},
}

// serverMetrics are the ServerMetrics.java counters and summaries zkgo measures. Names are
// Apache's; zkgo_requests_total (per op) is zkgo's own and appears only in /metrics. Those of
// Apache's that count the inside of its request processors, JVM or Netty (commit processor
// queues, throttler, response cache, jvm_pause_time_ms, TLS handshakes) have no counterpart
// here and are not shown.
type serverMetrics struct {
	counters        [numCounters]atomic.Int64
	sums            [numMetrics]*summary
	requestsByOp    sync.Map // op name -> *atomic.Int64
	respLast        atomic.Int64
	respMin         atomic.Int64
	respMax         atomic.Int64
	fsyncThresholds atomic.Int64 // server_stats.fsync_threshold_exceed_count (not an mntr key)
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{}
	for i, d := range metricDefs {
		m.sums[i] = newSummary(d.name, d.advanced)
	}
	m.resetResponseSizes()
	return m
}

// summaries are the summaries in mntr's order: BASIC ones, then ADVANCED ones (Apache's
// DefaultMetricsContext.dump).
func (m *serverMetrics) summaries() []*summary {
	out := make([]*summary, 0, len(m.sums))
	for _, adv := range []bool{false, true} {
		for _, sm := range m.sums {
			if sm.advanced == adv {
				out = append(out, sm)
			}
		}
	}
	return out
}

// Count adds n to the counter c.
func (s *Server) Count(c Counter, n int64) { s.metrics.counters[c].Add(n) }

// Observe records v in the summary m.
func (s *Server) Observe(m Metric, v int64) { s.metrics.sums[m].observe(v) }

// ObserveTxnAge records in m the milliseconds since a txn was created, from the time in its
// header (the leader's wall clock, as Apache's Request.logLatency); a negative age (clocks
// of two hosts apart) is dropped, as there.
func (s *Server) ObserveTxnAge(m Metric, txnTimeMs int64) {
	if age := time.Now().UnixMilli() - txnTimeMs; age >= 0 {
		s.metrics.sums[m].observe(age)
	}
}

// Counted reports the counter c (tests).
func (s *Server) Counted(c Counter) int64 { return s.metrics.counters[c].Load() }

// Observed reports how many values the summary m holds and their sum (tests).
func (s *Server) Observed(m Metric) (cnt, sum int64) {
	v := s.metrics.sums[m].values()
	return v.cnt, v.sum
}

// resetResponseSizes is BufferStats.reset: -1 until a response is sent.
func (m *serverMetrics) resetResponseSizes() {
	m.respLast.Store(-1)
	m.respMin.Store(-1)
	m.respMax.Store(-1)
}

// responseSize records a reply's size without the length prefix (BufferStats.setLastBufferSize).
func (m *serverMetrics) responseSize(n int) {
	v := int64(n)
	m.respLast.Store(v)
	if old := m.respMin.Load(); old < 0 || v < old {
		m.respMin.Store(v)
	}
	if v > m.respMax.Load() {
		m.respMax.Store(v)
	}
}

// request is the FinalRequestProcessor hook: updatelatency for requests that change state,
// readlatency for the rest, and the per-op counter.
func (m *serverMetrics) request(op int32, latencyMs int64) {
	if isUpdateOp(op) {
		m.sums[UpdateLatency].observe(latencyMs)
	} else {
		m.sums[ReadLatency].observe(latencyMs)
	}
	name := jute.OpName(op)
	c, ok := m.requestsByOp.Load(name)
	if !ok {
		c, _ = m.requestsByOp.LoadOrStore(name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// fsync records one group commit's append+fsync time (fsynctime) and counts it in
// fsync_threshold_exceed_count when it exceeds fsync.warningthresholdms (FileTxnLog.commit).
func (m *serverMetrics) fsync(ms int64, warnMs int) {
	m.sums[FsyncTime].observe(ms)
	if ms > int64(warnMs) {
		m.fsyncThresholds.Add(1)
	}
}

func isUpdateOp(op int32) bool {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL, jute.OpDelete,
		jute.OpDeleteContainer, jute.OpSetData, jute.OpSetACL, jute.OpMulti, jute.OpReconfig,
		jute.OpCreateSession, jute.OpCloseSession:
		return true
	}
	return false
}

// metricValue is one value of mntr / the monitor command / a Prometheus gauge: an int64 or
// a float64 (Java long or double), or a string for version and server_state.
type metricValue struct {
	key string
	val any
}

// monitorValues are the mntr values without the zk_ prefix, in Apache's order for the
// leading ones (ZooKeeperServer.dumpMonitorValues, then the registered gauges, then the
// ServerMetrics counters and summaries).
func (s *Server) monitorValues() []metricValue {
	minL, avg, maxL := s.latency()
	s.dt().RLock()
	nodes := s.dt().ReportedNodeCount()
	watches := s.dt().WatchCount()
	ephemerals := s.dt().EphemeralCount()
	size := s.dt().ApproximateDataSize()
	s.dt().RUnlock()
	fds, maxFds := openFDs()
	m := s.metrics
	out := []metricValue{
		{"version", Version + ", built on " + buildDate},
		{"server_state", s.mode()},
	}
	out = append(out, s.gaugeValues(minL, avg, maxL, int64(nodes), int64(watches), int64(ephemerals), int64(size), int64(fds), int64(maxFds))...)
	out = append(out, s.quorumGauges()...)
	for c := range numCounters {
		out = append(out, metricValue{counterNames[c], m.counters[c].Load()})
	}
	for _, sm := range m.summaries() {
		v := sm.values()
		out = append(out,
			metricValue{"avg_" + sm.name, v.avg()},
			metricValue{"min_" + sm.name, v.min},
			metricValue{"max_" + sm.name, v.max},
			metricValue{"cnt_" + sm.name, v.cnt},
			metricValue{"sum_" + sm.name, v.sum})
		if sm.advanced {
			for _, p := range []struct {
				name string
				q    float64
			}{{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}} {
				q, _ := v.quantile(p.q)
				out = append(out, metricValue{p.name + "_" + sm.name, q})
			}
		}
	}
	return out
}

// gaugeValues are ZooKeeperServer.registerMetrics' gauges (standalone: no quorum_size,
// which only QuorumPeer registers).
func (s *Server) gaugeValues(minL int64, avg float64, maxL, nodes, watches, ephemerals, size, fds, maxFds int64) []metricValue {
	m := s.metrics
	return []metricValue{
		{"avg_latency", avg},
		{"max_latency", maxL},
		{"min_latency", minL},
		{"packets_received", s.stats.packetsReceived.Load()},
		{"packets_sent", s.stats.packetsSent.Load()},
		{"num_alive_connections", int64(len(s.clientConns()))},
		{"outstanding_requests", s.stats.outstanding.Load()},
		{"uptime", time.Since(s.started).Milliseconds()},
		{"znode_count", nodes},
		{"watch_count", watches},
		{"ephemerals_count", ephemerals},
		{"approximate_data_size", size},
		{"global_sessions", int64(s.sessions.count())},
		{"local_sessions", int64(s.sessions.countLocal())},
		{"open_file_descriptor_count", fds},
		{"max_file_descriptor_count", maxFds},
		{"connection_drop_probability", s.connThrottle.dropChance()},
		{"last_client_response_size", m.respLast.Load()},
		{"max_client_response_size", m.respMax.Load()},
		{"min_client_response_size", m.respMin.Load()},
		{"outstanding_tls_handshake", s.stats.tlsHandshakes.Load()},
		{"auth_failed_count", s.stats.authFailed.Load()},
		{"non_mtls_remote_conn_count", int64(0)},
		{"non_mtls_local_conn_count", int64(0)},
	}
}

// quorumGauges are the gauges an ensemble member registers on top of the standalone ones
// (QuorumPeer, QuorumZooKeeperServer, LeaderZooKeeperServer, FollowerZooKeeperServer).
func (s *Server) quorumGauges() []metricValue {
	if s.ens == nil {
		return nil
	}
	qi := s.ens.Info()
	out := []metricValue{
		{"peer_state", qi.PeerState},
		{"quorum_size", int64(qi.QuorumSize)},
	}
	switch s.role() {
	case roleLeader:
		out = append(out,
			metricValue{"learners", int64(qi.Learners)},
			metricValue{"synced_followers", int64(qi.SyncedFollowers)},
			metricValue{"synced_non_voting_followers", int64(qi.SyncedNonVotingFollowers)},
			metricValue{"synced_observers", int64(qi.SyncedObservers)},
			metricValue{"pending_syncs", int64(qi.PendingSyncs)},
			metricValue{"leader_uptime", qi.LeaderUptimeMs},
			metricValue{"last_proposal_size", qi.ProposalLast},
			metricValue{"max_proposal_size", qi.ProposalMax},
			metricValue{"min_proposal_size", qi.ProposalMin})
	case roleFollower:
		if qi.ObserverMasters {
			out = append(out, metricValue{"synced_observers", int64(qi.SyncedObservers)})
		}
	case roleObserver:
		out = append(out, metricValue{"observer_master_id", qi.ObserverMaster})
	}
	return out
}

// formatMetric prints a value as Java's toString does (mntr).
func formatMetric(v any) string {
	switch x := v.(type) {
	case float64:
		return javaDouble(x)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// ---- Prometheus text format 0.0.4 (what PrometheusMetricsProvider serves) ----

// writePrometheus writes every metric as simpleclient 0.9's TextFormat.write004 does:
// "# HELP name name", "# TYPE name gauge|counter|summary", samples with Java doubles, labels
// as {k="v",}. Counters keep their plain names (no _total) as in ZooKeeper 3.8.
func (s *Server) writePrometheus(b *strings.Builder) {
	minL, avg, maxL := s.latency()
	s.dt().RLock()
	nodes := s.dt().ReportedNodeCount()
	watches := s.dt().WatchCount()
	ephemerals := s.dt().EphemeralCount()
	size := s.dt().ApproximateDataSize()
	s.dt().RUnlock()
	fds, maxFds := openFDs()
	m := s.metrics

	type family struct {
		name, typ, help string
		write           func(b *strings.Builder, name string)
	}
	var fams []family
	single := func(v float64) func(*strings.Builder, string) {
		return func(b *strings.Builder, name string) { promSample(b, name, nil, v) }
	}
	for _, g := range s.gaugeValues(minL, avg, maxL, int64(nodes), int64(watches), int64(ephemerals), int64(size), int64(fds), int64(maxFds)) {
		fams = append(fams, family{g.key, "gauge", g.key, single(toFloat(g.val))})
	}
	for c := range numCounters {
		fams = append(fams, family{counterNames[c], "counter", counterNames[c], single(float64(m.counters[c].Load()))})
	}
	for _, sm := range m.summaries() {
		sm := sm
		fams = append(fams, family{sm.name, "summary", sm.name, func(b *strings.Builder, name string) {
			v := sm.values()
			qs := []float64{0.5}
			if sm.advanced {
				qs = []float64{0.5, 0.9, 0.99}
			}
			for _, q := range qs {
				val := math.NaN()
				if x, ok := v.quantile(q); ok {
					val = float64(x)
				}
				promSample(b, name, [][2]string{{"quantile", promDouble(q)}}, val)
			}
			promSample(b, name+"_count", nil, float64(v.cnt))
			promSample(b, name+"_sum", nil, float64(v.sum))
		}})
	}
	fams = append(fams, family{"zkgo_requests_total", "counter", "Requests answered, by operation (zkgo).",
		func(b *strings.Builder, name string) {
			var ops []string
			m.requestsByOp.Range(func(k, _ any) bool { ops = append(ops, k.(string)); return true })
			sort.Strings(ops)
			for _, op := range ops {
				c, _ := m.requestsByOp.Load(op)
				promSample(b, name, [][2]string{{"op", op}}, float64(c.(*atomic.Int64).Load()))
			}
		}})
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })
	for _, f := range fams {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", f.name, promEscapeHelp(f.help), f.name, f.typ)
		f.write(b, f.name)
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func promSample(b *strings.Builder, name string, labels [][2]string, v float64) {
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for _, l := range labels {
			b.WriteString(l[0] + `="` + promEscapeLabel(l[1]) + `",`)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(promDouble(v))
	b.WriteByte('\n')
}

// promDouble is simpleclient's Collector.doubleToGoString: Java's Double.toString with Go's
// spellings of the infinities.
func promDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return javaDoubleString(v)
}

// javaDoubleString is Java's Double.toString: plain decimal in [1e-3, 1e7), otherwise
// computerized scientific notation ("1.2345678E7").
func javaDoubleString(v float64) string {
	a := math.Abs(v)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		return javaDouble(v)
	}
	s := strconv.FormatFloat(v, 'E', -1, 64) // e.g. 1.2345678E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

func promEscapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func promEscapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

// metricsHTTP is the /metrics endpoint of the Prometheus provider.
type metricsHTTP struct {
	srv *http.Server
	ln  net.Listener
}

// startMetrics serves /metrics on metricsProvider.httpHost:httpPort when the Prometheus
// provider is configured. Apache fails the start when the port cannot be bound
// (MetricsProviderLifeCycleException); zkgo logs and keeps serving clients, like a bind
// failure of the AdminServer.
func (s *Server) startMetrics() {
	if s.cfg.MetricsProviderClassName != PrometheusProvider {
		return
	}
	host := s.cfg.MetricsProviderConfig["httpHost"]
	if host == "" {
		host = "0.0.0.0"
	}
	port := 7000
	if p, ok := s.cfg.MetricsProviderConfig["httpPort"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			s.log.Error().Str("httpPort", p).Msg("metricsProvider.httpPort is not a number; /metrics not served")
			return
		}
		port = n
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.log.Error().Err(err).Str("addr", addr).Msg("cannot start /metrics server")
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var b strings.Builder
		s.writePrometheus(&b)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	s.metricsHTTP = &metricsHTTP{srv: srv, ln: ln}
	go srv.Serve(ln)
	s.log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics")
}

// MetricsAddr is the bound /metrics address, nil when not serving.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsHTTP == nil {
		return nil
	}
	return s.metricsHTTP.ln.Addr()
}

func (s *Server) stopMetrics() {
	if s.metricsHTTP != nil {
		s.metricsHTTP.srv.Close()
	}
}
