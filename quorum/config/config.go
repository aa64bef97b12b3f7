// Package config reads a ZooKeeper 3.8 zoo.cfg the way QuorumPeerConfig does,
// plus the Java system properties that tune the server (SERVER_JVMFLAGS -D
// words and the zoo.cfg keys that ZooKeeper turns into "zookeeper.<key>").
//
// Invariants:
//   - Typed fields hold what QuorumPeerConfig.parseProperties parses directly,
//     with ZooKeeper's defaults; every other zoo.cfg key k lands in
//     Props["zookeeper."+k], as System.setProperty does in Java.
//   - A Config returned without error has passed the same checks as
//     QuorumPeerConfig.parse (dataDir set, session timeouts ordered, server
//     lines well formed, initLimit/syncLimit/myid for a quorum).
//   - Errors are one line: "<file>:<line>: <key>: <problem>".
//
// Deliberate differences from Java, all in the operator's favour:
//   - -D system properties override zoo.cfg (Java lets zoo.cfg win because
//     it calls System.setProperty after the JVM started).
//   - JVM-only properties (jute.maxbuffer, readonlymode.enabled,
//     znode.container.*) also work as zoo.cfg keys; see Config.Prop.
//   - multiAddress.enabled in zoo.cfg enables "a|b" server addresses; Java
//     only honours -Dzookeeper.multiAddress.enabled there.
//   - A standalone config without any client port is an error (Java starts
//     a server nobody can reach).
//   - The file is read as bytes (UTF-8), not ISO-8859-1.
package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Defaults of QuorumPeerConfig and ZooKeeperServer.
const (
	DefaultTickTime         = 3000 // ZooKeeperServer.DEFAULT_TICK_TIME
	DefaultMaxClientCnxns   = 60
	MinSnapRetainCount      = 3
	DefaultElectionAlg      = 3
	DefaultMetricsProvider  = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"
	DefaultQuorumPrincipal  = "zkquorum/localhost"
	DefaultLearnerSaslLogin = "QuorumLearner"
	DefaultServerSaslLogin  = "QuorumServer"
	UnsetServerID           = -1 // QuorumPeerConfig.UNSET_SERVERID
)

// metricsProviders are the provider classes shipped with ZooKeeper 3.8;
// Java fails on a class it cannot load, so does this package.
var metricsProviders = map[string]bool{
	DefaultMetricsProvider:                                              true,
	"org.apache.zookeeper.metrics.impl.NullMetricsProvider":             true,
	"org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider": true,
}

// Error is a configuration error. It prints as one line.
type Error struct {
	File string
	Line int    // 0 when the problem is not tied to one line
	Key  string // "" when the problem is not tied to one key
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Key))
	}
	b.WriteString(": ")
	b.WriteString(oneLine(e.Msg))
	return b.String()
}

// oneLine quotes s if it would break the one-line promise.
func oneLine(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}

// Config is a parsed zoo.cfg.
type Config struct {
	// File is the name used in error messages and by Dump's callers.
	File string

	TickTime                    int // ms
	InitLimit                   int // ticks
	SyncLimit                   int // ticks
	ConnectToLearnerMasterLimit int // ticks; 0 = use initLimit

	DataDir    string
	DataLogDir string // defaults to DataDir

	// ClientPort 0 means unset. For a quorum member whose server.N line has
	// a ";[host:]port" part, ClientPort and ClientPortAddress hold that
	// address after parsing, as QuorumPeerConfig.setupClientPort does.
	ClientPort              int
	ClientPortAddress       string // "" = all interfaces
	SecureClientPort        int
	SecureClientPortAddress string
	ObserverMasterPort      int
	ClientPortListenBacklog int // -1 = OS default
	MaxClientCnxns          int // per client IP; 0 = unlimited

	// Raw values; -1 means unset. Use MinSessionTimeoutMs/MaxSessionTimeoutMs.
	MinSessionTimeout int
	MaxSessionTimeout int

	ElectionAlg          int
	QuorumListenOnAllIPs bool
	PeerType             LearnerType
	SyncEnabled          bool
	DynamicConfigFile    string
	// Path is the static file Parse read (where a reconfig writes its dynamic file).
	Path              string
	StandaloneEnabled bool
	ReconfigEnabled   bool

	SnapRetainCount int // autopurge.snapRetainCount, at least 3
	PurgeInterval   int // autopurge.purgeInterval, hours; 0 = off

	LocalSessionsEnabled          bool
	LocalSessionsUpgradingEnabled bool

	SSLQuorum                bool
	PortUnification          bool
	SSLQuorumReloadCertFiles bool

	QuorumEnableSasl          bool // quorum.auth.enableSasl
	QuorumServerRequireSasl   bool // quorum.auth.serverRequireSasl
	QuorumLearnerRequireSasl  bool // quorum.auth.learnerRequireSasl
	QuorumLearnerLoginContext string
	QuorumServerLoginContext  string
	QuorumServicePrincipal    string
	QuorumCnxnThreadsSize     int

	MetricsProviderClassName string
	// MetricsProviderConfig holds metricsProvider.<k> keys without the prefix.
	MetricsProviderConfig map[string]string

	MultiAddressEnabled                    bool
	MultiAddressReachabilityCheckEnabled   bool
	MultiAddressReachabilityCheckTimeoutMs int
	OraclePath                             string

	JvmPauseMonitorToRun    bool  // jvm.pause.monitor
	JvmPauseInfoThresholdMs int64 // jvm.pause.info-threshold.ms
	JvmPauseWarnThresholdMs int64 // jvm.pause.warn-threshold.ms
	JvmPauseSleepTimeMs     int64 // jvm.pause.sleep.time.ms

	// Servers are the server.N lines (or those of the dynamic config file).
	Servers map[int64]*ServerSpec
	// Groups and Weights are the hierarchical quorum (group.N, weight.N);
	// nil unless a group/weight key is present.
	Groups  map[int64][]int64
	Weights map[int64]int64
	// ConfigVersion is the "version" of the membership (hex in the file),
	// 0 if absent.
	ConfigVersion int64

	// MyID is dataDir/myid, read only when there are server lines;
	// UnsetServerID otherwise.
	MyID int64

	// Props are the Java system properties: unknown zoo.cfg keys as
	// "zookeeper.<key>", overridden by -D flags. Read them with Prop.
	Props map[string]string
}

// LearnerType is a quorum member's role.
type LearnerType int

const (
	Participant LearnerType = iota
	Observer
)

func (t LearnerType) String() string {
	if t == Observer {
		return "observer"
	}
	return "participant"
}

// newDefaults returns the field initialisers of QuorumPeerConfig.
func newDefaults() *Config {
	return &Config{
		TickTime:                               DefaultTickTime,
		ClientPortListenBacklog:                -1,
		MaxClientCnxns:                         DefaultMaxClientCnxns,
		MinSessionTimeout:                      -1,
		MaxSessionTimeout:                      -1,
		ElectionAlg:                            DefaultElectionAlg,
		SyncEnabled:                            true,
		StandaloneEnabled:                      true,
		SnapRetainCount:                        MinSnapRetainCount,
		QuorumLearnerLoginContext:              DefaultLearnerSaslLogin,
		QuorumServerLoginContext:               DefaultServerSaslLogin,
		QuorumServicePrincipal:                 DefaultQuorumPrincipal,
		MetricsProviderClassName:               DefaultMetricsProvider,
		MetricsProviderConfig:                  map[string]string{},
		MultiAddressReachabilityCheckEnabled:   true,
		MultiAddressReachabilityCheckTimeoutMs: 1000,
		JvmPauseInfoThresholdMs:                1000,
		JvmPauseWarnThresholdMs:                10000,
		JvmPauseSleepTimeMs:                    500,
		Servers:                                map[int64]*ServerSpec{},
		MyID:                                   UnsetServerID,
		Props:                                  map[string]string{},
	}
}

// Default is the embedded configuration used without a zoo.cfg (make run):
// clientPort 2181, tickTime 2000, maxClientCnxns 60. The caller sets DataDir
// (and DataLogDir, else Validate copies DataDir) and then calls Validate.
func Default() *Config {
	c := newDefaults()
	c.File = "(defaults)"
	c.ClientPort = 2181
	c.TickTime = 2000
	c.MaxClientCnxns = 60
	return c
}

// Option adjusts parsing.
type Option func(*Config)

// WithSystemProps applies Java system properties (from ParseJVMFlags) before
// the config is checked; they override zoo.cfg.
func WithSystemProps(props map[string]string) Option {
	return func(c *Config) { c.ApplySystemProps(props) }
}

// ApplySystemProps merges -D properties into Props; they win over zoo.cfg.
func (c *Config) ApplySystemProps(props map[string]string) {
	for k, v := range props {
		c.Props[k] = v
	}
}

// Parse reads the zoo.cfg at path.
func Parse(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// Java: "Error processing <path>" wrapping a FileNotFoundException.
		return nil, &Error{File: path, Msg: errText(err)}
	}
	c, err := parse(data, path, opts)
	if err == nil {
		c.Path = path
	}
	return c, err
}

// ParseReader reads a zoo.cfg from r; name is used in error messages and
// relative paths (dynamicConfigFile, dataDir) are taken from the working
// directory, as in Java.
func ParseReader(r io.Reader, name string, opts ...Option) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Msg: errText(err)}
	}
	return parse(data, name, opts)
}

func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// parser carries the state of one parse for error messages.
type parser struct {
	c     *Config
	file  string
	lines map[string]int // key -> line, for errors found after the loop
}

func (p *parser) errf(key, format string, args ...any) *Error {
	return &Error{File: p.file, Line: p.lines[key], Key: key, Msg: fmt.Sprintf(format, args...)}
}

func parse(data []byte, name string, opts []Option) (*Config, error) {
	props, err := loadProperties(data)
	if err != nil {
		err.(*Error).File = name
		return nil, err
	}
	c := newDefaults()
	c.File = name
	p := &parser{c: c, file: name, lines: map[string]int{}}
	hasDynamicFile := false
	for _, pr := range props {
		if javaTrim(pr.key) == "dynamicConfigFile" {
			hasDynamicFile = true
		}
	}
	var clientPortAddress, secureClientPortAddress *string
	var quorumProps []property // server./group/weight/version lines for the membership
	for _, pr := range props {
		key, value := javaTrim(pr.key), javaTrim(pr.value)
		p.lines[key] = pr.line
		if err := p.setKey(key, value, pr.line, hasDynamicFile, &clientPortAddress, &secureClientPortAddress); err != nil {
			return nil, err
		}
		quorumProps = append(quorumProps, property{key: key, value: value, line: pr.line})
	}
	for _, o := range opts {
		o(c)
	}
	if clientPortAddress != nil {
		c.ClientPortAddress = *clientPortAddress
	}
	if secureClientPortAddress != nil {
		c.SecureClientPortAddress = *secureClientPortAddress
	}
	if err := p.checkStatic(clientPortAddress != nil, secureClientPortAddress != nil); err != nil {
		return nil, err
	}
	if c.DynamicConfigFile != "" {
		if err := p.loadDynamic(); err != nil {
			return nil, err
		}
	} else if err := p.setupQuorum(quorumProps, true, name); err != nil {
		return nil, err
	}
	if c.Standalone() && c.ClientPort == 0 && c.SecureClientPort == 0 {
		return nil, &Error{File: name, Key: "clientPort", Msg: "clientPort is not set (and no client port in the server line)"}
	}
	return c, nil
}

// setKey is the body of QuorumPeerConfig.parseProperties' loop.
func (p *parser) setKey(key, value string, line int, hasDynamicFile bool, cpa, scpa **string) error {
	c := p.c
	bad := func(format string, args ...any) error {
		return &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	intVal := func(dst *int) error {
		n, err := strconv.ParseInt(value, 10, 32) // Integer.parseInt
		if err != nil {
			return bad("invalid integer %q", value)
		}
		*dst = int(n)
		return nil
	}
	longVal := func(dst *int64) error {
		n, err := strconv.ParseInt(value, 10, 64) // Long.parseLong
		if err != nil {
			return bad("invalid integer %q", value)
		}
		*dst = n
		return nil
	}
	boolVal := func(dst *bool) error {
		// QuorumPeerConfig.parseBoolean: only true/false, any case.
		switch strings.ToLower(value) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return bad("invalid option %q, choose 'true' or 'false'", value)
		}
		return nil
	}
	switch key {
	case "dataDir":
		c.DataDir = value
	case "dataLogDir":
		c.DataLogDir = value
	case "clientPort":
		return intVal(&c.ClientPort)
	case "localSessionsEnabled":
		return boolVal(&c.LocalSessionsEnabled)
	case "localSessionsUpgradingEnabled":
		return boolVal(&c.LocalSessionsUpgradingEnabled)
	case "clientPortAddress":
		*cpa = &value
	case "secureClientPort":
		return intVal(&c.SecureClientPort)
	case "secureClientPortAddress":
		*scpa = &value
	case "observerMasterPort":
		return intVal(&c.ObserverMasterPort)
	case "clientPortListenBacklog":
		return intVal(&c.ClientPortListenBacklog)
	case "tickTime":
		return intVal(&c.TickTime)
	case "maxClientCnxns":
		return intVal(&c.MaxClientCnxns)
	case "minSessionTimeout":
		return intVal(&c.MinSessionTimeout)
	case "maxSessionTimeout":
		return intVal(&c.MaxSessionTimeout)
	case "initLimit":
		return intVal(&c.InitLimit)
	case "syncLimit":
		return intVal(&c.SyncLimit)
	case "connectToLearnerMasterLimit":
		return intVal(&c.ConnectToLearnerMasterLimit)
	case "electionAlg":
		if err := intVal(&c.ElectionAlg); err != nil {
			return err
		}
		if c.ElectionAlg != 3 {
			return bad("invalid electionAlg value %d, only 3 is supported", c.ElectionAlg)
		}
	case "quorumListenOnAllIPs":
		return boolVal(&c.QuorumListenOnAllIPs)
	case "peerType":
		switch strings.ToLower(value) {
		case "observer":
			c.PeerType = Observer
		case "participant":
			c.PeerType = Participant
		default:
			return bad("unrecognised peertype %q", value)
		}
	case "syncEnabled":
		return boolVal(&c.SyncEnabled)
	case "dynamicConfigFile":
		c.DynamicConfigFile = value
	case "autopurge.snapRetainCount":
		return intVal(&c.SnapRetainCount)
	case "autopurge.purgeInterval":
		return intVal(&c.PurgeInterval)
	case "standaloneEnabled":
		return boolVal(&c.StandaloneEnabled)
	case "reconfigEnabled":
		return boolVal(&c.ReconfigEnabled)
	case "sslQuorum":
		return boolVal(&c.SSLQuorum)
	case "portUnification":
		return boolVal(&c.PortUnification)
	case "sslQuorumReloadCertFiles":
		return boolVal(&c.SSLQuorumReloadCertFiles)
	case "quorum.auth.enableSasl":
		return boolVal(&c.QuorumEnableSasl)
	case "quorum.auth.serverRequireSasl":
		return boolVal(&c.QuorumServerRequireSasl)
	case "quorum.auth.learnerRequireSasl":
		return boolVal(&c.QuorumLearnerRequireSasl)
	case "quorum.auth.learner.saslLoginContext":
		c.QuorumLearnerLoginContext = value
	case "quorum.auth.server.saslLoginContext":
		c.QuorumServerLoginContext = value
	case "quorum.auth.kerberos.servicePrincipal":
		c.QuorumServicePrincipal = value
	case "quorum.cnxn.threads.size":
		return intVal(&c.QuorumCnxnThreadsSize)
	case "jvm.pause.info-threshold.ms":
		return longVal(&c.JvmPauseInfoThresholdMs)
	case "jvm.pause.warn-threshold.ms":
		return longVal(&c.JvmPauseWarnThresholdMs)
	case "jvm.pause.sleep.time.ms":
		return longVal(&c.JvmPauseSleepTimeMs)
	case "jvm.pause.monitor":
		return boolVal(&c.JvmPauseMonitorToRun)
	case "metricsProvider.className":
		c.MetricsProviderClassName = value
	case "multiAddress.enabled":
		return boolVal(&c.MultiAddressEnabled)
	case "multiAddress.reachabilityCheckTimeoutMs":
		return intVal(&c.MultiAddressReachabilityCheckTimeoutMs)
	case "multiAddress.reachabilityCheckEnabled":
		return boolVal(&c.MultiAddressReachabilityCheckEnabled)
	case "oraclePath":
		c.OraclePath = value
	default:
		if isMembershipKey(key) && hasDynamicFile {
			return bad("must be in a separate dynamic config file")
		}
		if strings.HasPrefix(key, "metricsProvider.") {
			c.MetricsProviderConfig[key[len("metricsProvider."):]] = value
			return nil
		}
		// Java: System.setProperty("zookeeper." + key, value). This also
		// happens to server.N lines, which Java parses a second time below.
		c.Props["zookeeper."+key] = value
	}
	return nil
}

// isMembershipKey matches QuorumPeerConfig's prefix tests (note "group" and
// "weight" have no dot: "groupFoo" counts, as in Java).
func isMembershipKey(key string) bool {
	return strings.HasPrefix(key, "server.") || strings.HasPrefix(key, "group") || strings.HasPrefix(key, "weight")
}

// checkStatic is the validation at the end of parseProperties.
func (p *parser) checkStatic(hasCPA, hasSCPA bool) error {
	c := p.c
	if !c.QuorumEnableSasl && c.QuorumServerRequireSasl {
		return p.errf("quorum.auth.serverRequireSasl", "quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl")
	}
	if !c.QuorumEnableSasl && c.QuorumLearnerRequireSasl {
		return p.errf("quorum.auth.learnerRequireSasl", "quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl")
	}
	if !c.QuorumLearnerRequireSasl && c.QuorumServerRequireSasl {
		return p.errf("quorum.auth.serverRequireSasl", "quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl")
	}
	if c.SnapRetainCount < MinSnapRetainCount {
		// Java warns and resets: PurgeTxnLog never keeps fewer than 3.
		c.SnapRetainCount = MinSnapRetainCount
	}
	return c.validate(p, hasCPA, hasSCPA)
}

// Validate checks a Config built by hand (e.g. from Default) the way a
// parsed one is checked, and fills DataLogDir from DataDir.
func (c *Config) Validate() error {
	p := &parser{c: c, file: c.File, lines: map[string]int{}}
	if err := c.validate(p, c.ClientPortAddress != "", c.SecureClientPortAddress != ""); err != nil {
		return err
	}
	if c.Standalone() && c.ClientPort == 0 && c.SecureClientPort == 0 {
		return &Error{File: c.File, Key: "clientPort", Msg: "clientPort is not set"}
	}
	return nil
}

func (c *Config) validate(p *parser, hasCPA, hasSCPA bool) error {
	if c.DataDir == "" {
		return p.errf("dataDir", "dataDir is not set")
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	for _, k := range []struct {
		name string
		port int
	}{{"clientPort", c.ClientPort}, {"secureClientPort", c.SecureClientPort}} {
		// new InetSocketAddress rejects ports outside 0..65535.
		if k.port < 0 || k.port > 65535 {
			return p.errf(k.name, "port out of range: %d", k.port)
		}
	}
	if c.ClientPort == 0 && hasCPA {
		return p.errf("clientPortAddress", "clientPortAddress is set but clientPort is not set")
	}
	if c.SecureClientPort == 0 && hasSCPA {
		return p.errf("secureClientPortAddress", "secureClientPortAddress is set but secureClientPort is not set")
	}
	if c.TickTime == 0 {
		return p.errf("tickTime", "tickTime is not set")
	}
	if c.MinSessionTimeoutMs() > c.MaxSessionTimeoutMs() {
		return p.errf("minSessionTimeout", "minSessionTimeout must not be larger than maxSessionTimeout")
	}
	if !metricsProviders[c.MetricsProviderClassName] {
		return p.errf("metricsProvider.className", "metrics provider class %q was not found", c.MetricsProviderClassName)
	}
	return nil
}

// MinSessionTimeoutMs is the effective minimum: 2*tickTime when unset.
func (c *Config) MinSessionTimeoutMs() int {
	if c.MinSessionTimeout == -1 {
		return 2 * c.TickTime
	}
	return c.MinSessionTimeout
}

// MaxSessionTimeoutMs is the effective maximum: 20*tickTime when unset.
func (c *Config) MaxSessionTimeoutMs() int {
	if c.MaxSessionTimeout == -1 {
		return 20 * c.TickTime
	}
	return c.MaxSessionTimeout
}

// Standalone reports whether ZooKeeper would run ZooKeeperServerMain: no
// quorum (QuorumPeerConfig.isDistributed is false).
func (c *Config) Standalone() bool {
	return c.StandaloneEnabled && len(c.VotingMembers()) <= 1
}

// VotingMembers are the participant server ids, sorted.
func (c *Config) VotingMembers() []int64 { return c.members(Participant) }

// ObservingMembers are the observer server ids, sorted.
func (c *Config) ObservingMembers() []int64 { return c.members(Observer) }

func (c *Config) members(t LearnerType) []int64 {
	var ids []int64
	for id, s := range c.Servers {
		if s.Type == t {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// ClientListenAddr is the host:port to bind for plain clients ("" if none).
func (c *Config) ClientListenAddr() string {
	if c.ClientPort == 0 {
		return ""
	}
	return joinHostPort(c.ClientPortAddress, c.ClientPort)
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// loadDynamic reads dynamicConfigFile: only server./group/weight lines, and
// the version comes from the file name suffix (zoo.cfg.dynamic.100000000).
func (p *parser) loadDynamic() error {
	path := p.c.DynamicConfigFile
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{File: path, Msg: errText(err)}
	}
	props, err := loadProperties(data)
	if err != nil {
		err.(*Error).File = path
		return err
	}
	var qp []property
	for _, pr := range props {
		key, value := javaTrim(pr.key), javaTrim(pr.value)
		if key == "version" {
			return &Error{File: path, Line: pr.line, Key: key, Msg: "dynamic file shouldn't have version inside"}
		}
		qp = append(qp, property{key: key, value: value, line: pr.line})
	}
	if v, ok := versionFromFilename(path); ok {
		qp = append(qp, property{key: "version", value: v})
	}
	return p.setupQuorum(qp, false, path)
}

// versionFromFilename is QuorumPeerConfig.getVersionFromFilename.
func versionFromFilename(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", false
	}
	v, err := strconv.ParseInt(name[i+1:], 16, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(v, 16), true
}

// setupQuorum is parseDynamicConfig + setupMyId + setupClientPort +
// setupPeerType + checkValidity.
func (p *parser) setupQuorum(props []property, backwardCompatible bool, file string) error {
	c := p.c
	bad := func(pr property, format string, args ...any) error {
		return &Error{File: file, Line: pr.line, Key: pr.key, Msg: fmt.Sprintf(format, args...)}
	}
	hierarchical := false
	for _, pr := range props {
		switch {
		case strings.HasPrefix(pr.key, "group") || strings.HasPrefix(pr.key, "weight"):
			hierarchical = true
		case !backwardCompatible && !strings.HasPrefix(pr.key, "server.") && pr.key != "version":
			return bad(pr, "unrecognised parameter")
		}
	}
	multi := c.MultiAddressEnabled || parseJavaBool(c.Props["zookeeper.multiAddress.enabled"])
	groupOf := map[int64]int64{}
	hier := &Verifier{} // group and weight lines
	for _, pr := range props {
		switch {
		case strings.HasPrefix(pr.key, "server."):
			id, err := strconv.ParseInt(pr.key[len("server."):], 10, 64)
			if err != nil {
				return bad(pr, "invalid server id %q", pr.key[len("server."):])
			}
			s, err := ParseServerSpec(id, pr.value, multi)
			if err != nil {
				return bad(pr, "%s", err.Error())
			}
			c.Servers[id] = s
		case hierarchical && strings.HasPrefix(pr.key, "group"):
			gid, err := idAfterDot(pr.key)
			if err != nil {
				return bad(pr, "invalid group id")
			}
			if err := hier.addGroup(gid, pr.value, groupOf); err != nil {
				return bad(pr, "%s", err.Error())
			}
		case hierarchical && strings.HasPrefix(pr.key, "weight"):
			if err := hier.addWeight(pr.key, pr.value); err != nil {
				return bad(pr, "%s", err.Error())
			}
		case pr.key == "version":
			v, err := strconv.ParseInt(pr.value, 16, 64)
			if err != nil {
				return bad(pr, "invalid hex version %q", pr.value)
			}
			c.ConfigVersion = v
		}
	}
	hier.Servers = c.Servers
	if id, ok := hier.completeWeights(groupOf); !ok {
		return &Error{File: file, Line: p.lines["server."+strconv.FormatInt(id, 10)], Key: "server." + strconv.FormatInt(id, 10), Msg: fmt.Sprintf("server %d is not in a group", id)}
	}
	c.Groups, c.Weights = hier.Groups, hier.Weights
	voting, observers := c.VotingMembers(), c.ObservingMembers()
	switch {
	case len(voting) == 0 && !c.StandaloneEnabled:
		return &Error{File: file, Key: "standaloneEnabled", Msg: "standaloneEnabled = false then number of participants should be >0"}
	case len(voting) == 0 && len(observers) > 0:
		return &Error{File: file, Msg: "observers w/o participants is an invalid configuration"}
	case len(voting) == 1 && c.StandaloneEnabled && len(observers) > 0:
		return &Error{File: file, Msg: "observers w/o quorum is an invalid configuration"}
	}
	if len(c.Servers) > 0 {
		if err := c.readMyID(); err != nil {
			return err
		}
	}
	if err := p.setupClientPort(); err != nil {
		return err
	}
	// setupPeerType: the server list wins over peerType.
	if s, ok := c.Servers[c.MyID]; ok {
		c.PeerType = s.Type
	} else {
		c.PeerType = Participant
	}
	if !c.Standalone() { // checkValidity
		if c.InitLimit == 0 {
			return p.errf("initLimit", "initLimit is not set")
		}
		if c.SyncLimit == 0 {
			return p.errf("syncLimit", "syncLimit is not set")
		}
		if c.MyID == UnsetServerID {
			return p.errf("dataDir", "myid file is missing (%s)", filepath.Join(c.DataDir, "myid"))
		}
	}
	return nil
}

func idAfterDot(key string) (int64, error) {
	// Java: key.substring(key.indexOf('.') + 1); with no dot, the whole key.
	return strconv.ParseInt(key[strings.IndexByte(key, '.')+1:], 10, 64)
}

// readMyID is setupMyId: the first line of dataDir/myid, no trimming.
func (c *Config) readMyID() error {
	path := filepath.Join(c.DataDir, "myid")
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return nil // a standalone server needs no myid; checkValidity decides
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{File: path, Msg: errText(err)}
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r")) // BufferedReader.readLine
	id, err := strconv.ParseInt(string(line), 10, 64)
	if err != nil {
		return &Error{File: path, Msg: fmt.Sprintf("serverid %q is not a number", line)}
	}
	c.MyID = id
	return nil
}

// setupClientPort: this server's ";[host:]port" becomes the client address.
func (p *parser) setupClientPort() error {
	c := p.c
	if c.MyID == UnsetServerID {
		return nil
	}
	s, ok := c.Servers[c.MyID]
	if !ok || s.ClientPort == 0 {
		return nil
	}
	if c.ClientPort != 0 {
		anyLocal := c.ClientPortAddress == "" || c.ClientPortAddress == "0.0.0.0" || c.ClientPortAddress == "::"
		if c.ClientPort != s.ClientPort || (!anyLocal && c.ClientPortAddress != s.ClientAddr) {
			return p.errf("clientPort", "client address for this server (id = %d) in static config file is %s, different from the one in the server list: %s",
				c.MyID, joinHostPort(c.ClientPortAddress, c.ClientPort), joinHostPort(s.ClientAddr, s.ClientPort))
		}
	}
	c.ClientPort, c.ClientPortAddress = s.ClientPort, s.ClientAddr
	return nil
}

// javaTrim is String.trim: strips every char <= ' ' at both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// javaSplit is String.split with a literal separator: trailing empty
// strings are removed, and a string without separator is returned whole.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	if len(parts) == 1 {
		return parts
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// QuorumLoginContexts are the JAAS sections of quorum SASL: quorum.auth.server.saslLoginContext
// ("QuorumServer") and quorum.auth.learner.saslLoginContext ("QuorumLearner").
func (c *Config) QuorumLoginContexts() (server, learner string) {
	server, learner = c.QuorumServerLoginContext, c.QuorumLearnerLoginContext
	if server == "" {
		server = "QuorumServer"
	}
	if learner == "" {
		learner = "QuorumLearner"
	}
	return server, learner
}
