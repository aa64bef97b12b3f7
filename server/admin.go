package server

import (
	"bufio"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The AdminServer (JettyAdminServer): GET <admin.commandURL>/<command> on
// admin.serverAddress:admin.serverPort answers JSON shaped like Apache ZooKeeper 3.8's
// (Commands.java through JsonOutputter: Jackson, snake_case, pretty-printed), and
// GET <admin.commandURL> lists links to the commands. Verified against Apache 3.8.0 (Debian
// jars with servlet-api.jar) by TestAdminServerMatchesApache.

const notServing = "This ZooKeeper instance is not currently serving requests"

// adminCommand is one Commands.java command.
type adminCommand struct {
	names          []string // primary name first
	serverRequired bool     // CommandBase.isServerRequired
	run            func(s *Server, kwargs map[string]string, r *jobj)
}

var adminCommands = []adminCommand{
	{[]string{"connection_stat_reset", "crst"}, true, func(s *Server, _ map[string]string, _ *jobj) {
		for _, c := range s.clientConns() {
			c.resetStats()
		}
	}},
	{[]string{"configuration", "conf", "config"}, true, func(s *Server, _ map[string]string, r *jobj) {
		*r = append(*r, s.confJSON()...)
	}},
	{[]string{"connections", "cons"}, true, func(s *Server, _ map[string]string, r *jobj) {
		r.put("connections", s.connInfos(false, false))
		r.put("secure_connections", s.connInfos(false, true))
	}},
	{[]string{"hash"}, true, func(s *Server, _ map[string]string, r *jobj) {
		// DataTree.getDigestLog: zkgo keeps no digest history (Apache adds one entry every
		// 128 transactions when digest.enabled), so the list is empty, as on a young server.
		r.put("digests", []any{})
	}},
	{[]string{"dirs"}, true, func(s *Server, _ map[string]string, r *jobj) {
		dd, dl := s.dirSizes()
		r.put("datadir_size", dd)
		r.put("logdir_size", dl)
	}},
	{[]string{"dump"}, true, func(s *Server, _ map[string]string, r *jobj) {
		byExp := s.sessions.byExpiry()
		exp := jobj{}
		for _, t := range sortedKeys(byExp) {
			ids := append([]int64(nil), byExp[t]...)
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			exp = append(exp, jkv{strconv.FormatInt(t, 10), int64List(ids)})
		}
		s.dt().RLock()
		eph := s.dt().EphemeralsBySession()
		s.dt().RUnlock()
		ephs := jobj{}
		for _, id := range sortedKeys(eph) {
			ephs = append(ephs, jkv{strconv.FormatInt(id, 10), stringList(eph[id])})
		}
		r.put("expiry_time_to_session_ids", exp)
		r.put("session_id_to_ephemeral_paths", ephs)
	}},
	{[]string{"environment", "env", "envi"}, false, func(s *Server, _ map[string]string, r *jobj) {
		for _, kv := range environment() {
			r.put(kv[0], kv[1])
		}
	}},
	{[]string{"get_trace_mask", "gtmk"}, false, func(s *Server, _ map[string]string, r *jobj) {
		r.put("tracemask", s.traceMask.Load())
	}},
	{[]string{"initial_configuration", "icfg"}, true, func(s *Server, _ map[string]string, r *jobj) {
		if s.ens != nil {
			r.put("initial_configuration", nil) // only ZooKeeperServerMain keeps it
			return
		}
		r.put("initial_configuration", s.initialConfig)
	}},
	{[]string{"is_read_only", "isro"}, true, func(s *Server, _ map[string]string, r *jobj) {
		r.put("read_only", s.role() == roleReadOnly)
	}},
	{[]string{"last_snapshot", "lsnp"}, true, func(s *Server, _ map[string]string, r *jobj) {
		zxid, ts := s.lastSnapshot()
		r.put("zxid", strconv.FormatUint(uint64(zxid), 16)) // Long.toHexString
		r.put("timestamp", ts)
	}},
	{[]string{"leader", "lead"}, true, func(s *Server, _ map[string]string, r *jobj) {
		if s.ens == nil {
			r.put("error", "server is not initialized") // what a standalone Apache server answers
			return
		}
		qi := s.ens.Info()
		r.put("is_leader", s.role() == roleLeader)
		r.put("leader_id", qi.LeaderID)
		r.put("leader_ip", qi.LeaderHosts)
	}},
	{[]string{"monitor", "mntr"}, false, func(s *Server, _ map[string]string, r *jobj) {
		for _, m := range s.monitorValues() {
			r.put(m.key, m.val)
		}
	}},
	{[]string{"observer_connection_stat_reset", "orst"}, true, func(s *Server, _ map[string]string, _ *jobj) {
		if s.ens != nil {
			s.ens.ResetObserverStats()
		}
	}},
	{[]string{"ruok"}, true, func(*Server, map[string]string, *jobj) {}},
	{[]string{"set_trace_mask", "stmk"}, false, func(s *Server, kwargs map[string]string, r *jobj) {
		v, ok := kwargs["traceMask"]
		if !ok {
			r.put("error", "setTraceMask requires long traceMask argument")
			return
		}
		mask, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			r.put("error", "setTraceMask requires long traceMask argument, got "+v)
			return
		}
		s.traceMask.Store(mask)
		r.put("tracemask", mask)
	}},
	{[]string{"server_stats", "srvr"}, true, func(s *Server, _ map[string]string, r *jobj) {
		s.srvrJSON(r)
	}},
	{[]string{"stats", "stat"}, true, func(s *Server, _ map[string]string, r *jobj) {
		s.srvrJSON(r)
		r.put("connections", s.connInfos(true, false))
		r.put("secure_connections", s.connInfos(true, true))
	}},
	{[]string{"stat_reset", "srst"}, true, func(s *Server, _ map[string]string, _ *jobj) {
		s.resetServerStats()
	}},
	{[]string{"observers", "obsr"}, true, func(s *Server, _ map[string]string, r *jobj) {
		var list []LearnerConnInfo
		if s.ens != nil {
			list, _ = s.ens.Observers()
		}
		obs := make([]any, 0, len(list))
		for _, o := range list {
			obs = append(obs, jobj{{"remote_socket_address", o.Remote}, {"sid", o.SID},
				{"established", o.Established.UnixMilli()}, {"queued_packets", o.QueuedPackets},
				{"queued_packets_size", o.QueuedSize}, {"packets_received", o.Received},
				{"packets_sent", o.Sent}, {"requests", o.Requests}, {"last_zxid", o.LastZxid}})
		}
		r.put("synced_observers", len(list))
		r.put("observers", obs)
	}},
	{[]string{"system_properties", "sysp"}, false, func(s *Server, _ map[string]string, r *jobj) {
		*r = append(*r, s.systemProperties()...)
	}},
	{[]string{"voting_view"}, true, func(s *Server, _ map[string]string, r *jobj) {
		view := jobj{}
		if s.ens != nil {
			for _, v := range s.ens.Info().VotingView {
				view = append(view, jkv{strconv.FormatInt(v.ID, 10), jobj{
					{"server_addresses", stringList(v.ServerAddrs)},
					{"election_addresses", stringList(v.ElectionAddrs)},
					{"client_address", v.ClientAddr},
					{"learner_type", "participant"},
				}})
			}
		}
		r.put("current_config", view)
	}},
	{[]string{"watches", "wchc"}, true, func(s *Server, _ map[string]string, r *jobj) {
		ids, paths := s.sessionWatches()
		o := jobj{}
		for _, id := range ids {
			o = append(o, jkv{strconv.FormatInt(id, 10), stringList(paths[id])})
		}
		r.put("session_id_to_watched_paths", o)
	}},
	{[]string{"watches_by_path", "wchp"}, true, func(s *Server, _ map[string]string, r *jobj) {
		ps, ids := s.pathWatches()
		o := jobj{}
		for _, p := range ps {
			o = append(o, jkv{p, int64List(ids[p])})
		}
		r.put("path_to_session_ids", o)
	}},
	{[]string{"watch_summary", "wchs"}, true, func(s *Server, _ map[string]string, r *jobj) {
		s.dt().RLock()
		ws := s.dt().WatchStats()
		s.dt().RUnlock()
		r.put("num_connections", ws.Watchers)
		r.put("num_paths", ws.Paths)
		r.put("num_total_watches", ws.Watches)
	}},
	{[]string{"zabstate"}, false, func(s *Server, _ map[string]string, r *jobj) {
		if s.ens == nil {
			r.put("voting", false)
			r.put("zabstate", "")
			return
		}
		qi := s.ens.Info()
		s.dt().RLock()
		zxid := s.dt().LastProcessedZxid()
		s.dt().RUnlock()
		r.put("myid", s.serverID)
		r.put("is_leader", s.role() == roleLeader)
		r.put("quorum_address", multipleAddresses(qi.QuorumAddrs))
		r.put("election_address", multipleAddresses(qi.ElectionAddrs))
		r.put("client_address", qi.ClientAddr)
		r.put("voting", qi.Voting)
		r.put("last_zxid", "0x"+strconv.FormatInt(zxid, 16)) // ZxidUtils.zxidToString
		r.put("zab_epoch", zxid>>32)
		r.put("zab_counter", zxid&0xffffffff)
		r.put("zabstate", qi.ZabState)
	}},
}

var adminCommandByName = func() map[string]*adminCommand {
	m := map[string]*adminCommand{}
	for i := range adminCommands {
		for _, n := range adminCommands[i].names {
			m[n] = &adminCommands[i]
		}
	}
	return m
}()

// runAdminCommand is Commands.runCommand followed by CommandResponse.toMap: the command's
// data, then "command" and "error" (which keep their place if the command put them).
func (s *Server) runAdminCommand(name string, kwargs map[string]string) jobj {
	cmd := adminCommandByName[name]
	var data jobj
	var errVal any
	primary := name
	switch {
	case cmd == nil:
		errVal = "Unknown command: " + name
	case cmd.serverRequired && !s.serving.Load():
		errVal = notServing
		primary = cmd.names[0]
	default:
		primary = cmd.names[0]
		cmd.run(s, kwargs, &data)
	}
	out := append(jobj(nil), data...)
	out.put("command", primary)
	out.put("error", errVal)
	for _, kv := range data {
		out.put(kv.k, kv.v)
	}
	return out
}

func (s *Server) confJSON() jobj {
	var b strings.Builder
	dd, dl := s.dirSizes()
	s.cfg.Dump(&b, dd, dl)
	vals := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(vals[k], 10, 64); return n }
	port := num("clientPort")
	if a, ok := s.Addr().(*net.TCPAddr); ok && s.cfg.ClientPort == 0 {
		port = int64(a.Port)
	}
	// ZooKeeperServerConf.toMap, in its order.
	return jobj{
		{"client_port", port},
		{"data_dir", vals["dataDir"]},
		{"data_log_dir", vals["dataLogDir"]},
		{"tick_time", num("tickTime")},
		{"max_client_cnxns", num("maxClientCnxns")},
		{"min_session_timeout", num("minSessionTimeout")},
		{"max_session_timeout", num("maxSessionTimeout")},
		{"server_id", num("serverId")},
		{"client_port_listen_backlog", num("clientPortListenBacklog")},
	}
}

// connInfos are the plain or the secure client port's connections, as Commands lists each
// connection factory's (a TLS client on a port-unified clientPort is a plain port's).
func (s *Server) connInfos(brief, secure bool) []any {
	out := []any{}
	for _, c := range s.clientConns() {
		if c.securePort == secure {
			out = append(out, c.connInfo(brief))
		}
	}
	return out
}

// srvrJSON is SrvrCommand: ServerStats as Jackson serialises its getters.
func (s *Server) srvrJSON(r *jobj) {
	minL, avg, maxL := s.latency()
	dd, dl := s.dirSizes()
	s.dt().RLock()
	zxid := s.dt().LastProcessedZxid()
	nodes := s.dt().ReportedNodeCount()
	s.dt().RUnlock()
	m := s.metrics
	resp := func() jobj {
		return jobj{
			{"last_buffer_size", m.respLast.Load()},
			{"min_buffer_size", m.respMin.Load()},
			{"max_buffer_size", m.respMax.Load()},
		}
	}
	r.put("version", Version+", built on "+buildDate)
	r.put("read_only", false)
	r.put("server_stats", jobj{
		{"packets_sent", s.stats.packetsSent.Load()},
		{"packets_received", s.stats.packetsReceived.Load()},
		{"fsync_threshold_exceed_count", m.fsyncThresholds.Load()},
		{"client_response_stats", resp()},
		{"data_dir_size", dd},
		{"log_dir_size", dl},
		{"provider_null", false},
		{"server_state", s.mode()},
		{"last_processed_zxid", zxid},
		{"outstanding_requests", s.stats.outstanding.Load()},
		{"avg_latency", avg},
		{"max_latency", maxL},
		{"min_latency", minL},
		{"num_alive_client_connections", int64(len(s.clientConns()))},
		{"uptime", time.Since(s.started).Milliseconds()},
		{"auth_failed_count", s.stats.authFailed.Load()},
		{"non_mtlsremote_conn_count", int64(0)},
		{"non_mtlslocal_conn_count", int64(0)},
	})
	r.put("client_response", resp())
	if s.ens != nil && s.role() == roleLeader {
		// LeaderZooKeeperServer's ServerStats: the PROPOSAL sizes (Leader.getProposalStats).
		qi := s.ens.Info()
		r.put("proposal_stats", jobj{
			{"last_buffer_size", qi.ProposalLast},
			{"min_buffer_size", qi.ProposalMin},
			{"max_buffer_size", qi.ProposalMax},
		})
	}
	r.put("node_count", int64(nodes))
}

// systemProperties stands in for System.getProperties(): the Java-style environment keys,
// the separators and every system property the configuration holds (zoo.cfg keys turned
// into zookeeper.<key>, -D flags), sorted by name as SystemPropertiesCommand sorts them.
func (s *Server) systemProperties() jobj {
	props := map[string]string{
		"file.separator": "/", "line.separator": "\n", "path.separator": ":",
	}
	for _, kv := range environment() {
		if strings.HasPrefix(kv[0], "os.memory.") || kv[0] == "host.name" || kv[0] == "zookeeper.version" {
			continue
		}
		props[kv[0]] = kv[1]
	}
	for k, v := range s.cfg.Props {
		props[k] = v
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(jobj, 0, len(keys))
	for _, k := range keys {
		out = append(out, jkv{k, props[k]})
	}
	return out
}

// multipleAddresses is a MultipleAddresses as Jackson serialises its getters (zabstate),
// every address taken as reachable.
func multipleAddresses(addrs []HostPort) jobj {
	var all, wild, hosts []string
	ports := []any{}
	for _, a := range addrs {
		all = append(all, net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
		wild = append(wild, net.JoinHostPort("0.0.0.0", strconv.Itoa(a.Port)))
		if !slices.Contains(hosts, a.Host) {
			hosts = append(hosts, a.Host)
		}
		ports = append(ports, a.Port)
	}
	one := ""
	if len(all) > 0 {
		one = all[0]
	}
	return jobj{
		{"empty", len(all) == 0},
		{"all_addresses", stringList(all)},
		{"all_reachable_addresses", stringList(all)},
		{"one", one},
		{"reachable_address", one},
		{"wildcard_addresses", stringList(wild)},
		{"all_ports", ports},
		{"all_host_strings", stringList(hosts)},
		{"all_reachable_addresses_or_all", stringList(all)},
		{"reachable_or_one", one},
	}
}

func int64List(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func stringList(ss []string) []any {
	out := make([]any, len(ss))
	for i, p := range ss {
		out[i] = p
	}
	return out
}

// adminHTTP is the running AdminServer.
type adminHTTP struct {
	srv *http.Server
	ln  net.Listener
}

// startAdmin starts the AdminServer unless admin.enableServer=false. A bind failure is
// logged and the server keeps serving clients: that is what a quorum peer does
// (QuorumPeer.start: "Problem starting AdminServer"); a standalone Apache server instead
// exits with code 4 (ZooKeeperServerMain: "Unable to start AdminServer, exiting
// abnormally"), which zkgo deliberately does not copy.
func (s *Server) startAdmin() {
	if !s.cfg.AdminEnableServer() {
		return
	}
	if s.cfg.File != "" {
		if b, err := os.ReadFile(s.cfg.File); err == nil {
			s.initialConfig = string(b) // ServerConfig.getInitialConfig: the file as read
		}
	}
	addr := net.JoinHostPort(s.cfg.AdminServerAddress(), strconv.Itoa(s.cfg.AdminServerPort()))
	url := s.cfg.AdminCommandURL()
	tc, unified, err := adminTLS(s.cfg)
	if err != nil {
		// Never served in clear when HTTPS was asked for.
		s.log.Error().Err(err).Msg("cannot load the AdminServer's TLS key store (ssl.quorum.keyStore.*); continuing without the AdminServer")
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.log.Error().Err(err).Str("addr", addr).Str("commandURL", url).Msg("problem starting AdminServer; continuing without it")
		return
	}
	handler := s.adminHandler(url)
	if tc != nil {
		ln, handler = adminListener(ln, tc, unified, func() { s.Count(InsecureAdmin, 1) }), hsts(handler)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ConnContext: withAdminConn,
		ErrorLog:    stdlog.New(httpErrorLog{s.log}, "AdminServer: ", 0),
		IdleTimeout: time.Duration(s.cfg.PropInt("zookeeper.admin.idleTimeout", 30000)) * time.Millisecond}
	s.admin = &adminHTTP{srv: srv, ln: ln}
	go srv.Serve(ln)
	s.log.Info().Str("addr", ln.Addr().String()).Str("commandURL", url).Bool("https", tc != nil).Bool("portUnification", unified).Msg("started AdminServer")
}

// AdminAddr is the AdminServer's bound address, nil when it is not running.
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return nil
	}
	return s.admin.ln.Addr()
}

func (s *Server) stopAdmin() {
	if s.admin != nil {
		s.admin.srv.Close()
	}
}

// adminHandler is the CommandServlet mapped at commandURL/*; every other path is 404.
func (s *Server) adminHandler(commandURL string) http.Handler {
	commandURL = strings.TrimSuffix(commandURL, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, commandURL)
		if !ok || (rest != "" && rest[0] != '/') {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
			return
		}
		if rest == "" || rest == "/" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, commandLinks(commandURL))
			return
		}
		kwargs := map[string]string{}
		for k, v := range r.URL.Query() {
			if len(v) > 0 {
				kwargs[k] = v[0]
			}
		}
		var b strings.Builder
		writeJackson(&b, s.runAdminCommand(rest[1:], kwargs), 0)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(b.String()))
	})
}

// commandLinks is JettyAdminServer.commandLinks as CommandServlet prints them.
func commandLinks(commandURL string) string {
	names := make([]string, 0, len(adminCommands))
	for _, c := range adminCommands {
		names = append(names, c.names[0])
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "<a href=\"%s/%s\">%s</a>\n<br/>\n", commandURL, n, n)
	}
	return b.String()
}
