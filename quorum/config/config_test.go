package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseString(t *testing.T, s string, opts ...Option) (*Config, error) {
	t.Helper()
	return ParseReader(strings.NewReader(s), "zoo.cfg", opts...)
}

func mustParse(t *testing.T, s string, opts ...Option) *Config {
	t.Helper()
	c, err := parseString(t, s, opts...)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nclientPort=2181\n")
	checks := []struct {
		name      string
		got, want any
	}{
		{"TickTime", c.TickTime, 3000},
		{"DataLogDir", c.DataLogDir, "/d"},
		{"MaxClientCnxns", c.MaxClientCnxns, 60},
		{"MinSessionTimeout raw", c.MinSessionTimeout, -1},
		{"MinSessionTimeoutMs", c.MinSessionTimeoutMs(), 6000},
		{"MaxSessionTimeoutMs", c.MaxSessionTimeoutMs(), 60000},
		{"ClientPortListenBacklog", c.ClientPortListenBacklog, -1},
		{"StandaloneEnabled", c.StandaloneEnabled, true},
		{"ReconfigEnabled", c.ReconfigEnabled, false},
		{"SnapRetainCount", c.SnapRetainCount, 3},
		{"PurgeInterval", c.PurgeInterval, 0},
		{"ElectionAlg", c.ElectionAlg, 3},
		{"SyncEnabled", c.SyncEnabled, true},
		{"PeerType", c.PeerType, Participant},
		{"MetricsProvider", c.MetricsProviderClassName, DefaultMetricsProvider},
		{"MyID", c.MyID, int64(UnsetServerID)},
		{"Standalone", c.Standalone(), true},
		{"ClientListenAddr", c.ClientListenAddr(), ":2181"},
		{"JuteMaxBuffer", c.JuteMaxBuffer(), 0xfffff},
		{"JuteReadLimit", c.JuteReadLimit(), 2 * 0xfffff},
		{"SnapCount", c.SnapCount(), 100000},
		{"PreAllocSizeKB", c.PreAllocSizeKB(), 65536},
		{"ForceSync", c.ForceSync(), true},
		{"DigestEnabled", c.DigestEnabled(), true},
		{"CloseSessionTxnEnabled", c.CloseSessionTxnEnabled(), true},
		{"SkipACL", c.SkipACL(), false},
		{"EnforceQuota", c.EnforceQuota(), false},
		{"ExtendedTypesEnabled", c.ExtendedTypesEnabled(), false},
		{"ReadOnlyModeEnabled", c.ReadOnlyModeEnabled(), false},
		{"ContainerCheckIntervalMs", c.ContainerCheckIntervalMs(), 60000},
		{"ContainerMaxPerMinute", c.ContainerMaxPerMinute(), 10000},
		{"MaxCnxns", c.MaxCnxns(), 0},
		{"GlobalOutstandingLimit", c.GlobalOutstandingLimit(), 1000},
		{"AdminEnableServer", c.AdminEnableServer(), true},
		{"AdminServerPort", c.AdminServerPort(), 8080},
		{"AdminServerAddress", c.AdminServerAddress(), "0.0.0.0"},
		{"FsyncWarningThresholdMs", c.FsyncWarningThresholdMs(), 1000},
		{"JAASConfigFile", c.JAASConfigFile(), ""},
		{"SuperDigest", c.SuperDigest(), ""},
		{"FourLetterWhitelist", c.FourLetterWhitelist(), map[string]bool{"srvr": true}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestKeys(t *testing.T) {
	c := mustParse(t, `
tickTime = 2000
dataDir: /data
dataLogDir /log
clientPort=2181
clientPortAddress=127.0.0.1
secureClientPort=2281
maxClientCnxns=0
minSessionTimeout=1000
maxSessionTimeout=90000
clientPortListenBacklog=128
localSessionsEnabled=TRUE
reconfigEnabled=true
autopurge.snapRetainCount=1
autopurge.purgeInterval=24
peerType=OBSERVER
syncEnabled=False
quorumListenOnAllIPs=true
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
jvm.pause.warn-threshold.ms=20000
server.1=localhost:2888:3888
`)
	if c.TickTime != 2000 || c.DataDir != "/data" || c.DataLogDir != "/log" || c.ClientPort != 2181 ||
		c.ClientPortAddress != "127.0.0.1" || c.SecureClientPort != 2281 || c.MaxClientCnxns != 0 ||
		c.MinSessionTimeoutMs() != 1000 || c.MaxSessionTimeoutMs() != 90000 || c.ClientPortListenBacklog != 128 {
		t.Errorf("basic keys: %+v", c)
	}
	if !c.LocalSessionsEnabled || !c.ReconfigEnabled || !c.StandaloneEnabled || c.SyncEnabled || !c.QuorumListenOnAllIPs {
		t.Errorf("booleans: %+v", c)
	}
	if c.SnapRetainCount != 3 {
		t.Errorf("snapRetainCount 1 must be raised to 3, got %d", c.SnapRetainCount)
	}
	if c.PurgeInterval != 24 || c.MetricsProviderConfig["httpPort"] != "7000" || c.JvmPauseWarnThresholdMs != 20000 {
		t.Errorf("misc: %+v", c)
	}
	// setupPeerType: the server list (server.1 participant) wins over peerType.
	if c.PeerType != Participant {
		t.Errorf("PeerType = %v", c.PeerType)
	}
	if c.ClientListenAddr() != "127.0.0.1:2181" {
		t.Errorf("ClientListenAddr = %q", c.ClientListenAddr())
	}
}

func TestUnknownKeysBecomeSystemProps(t *testing.T) {
	c := mustParse(t, "dataDir=/d\nclientPort=1\nsnapCount=7\n4lw.commands.whitelist=*\njute.maxbuffer=4096\nadmin.serverPort=9090\nserver.1=h:1:2\n")
	want := map[string]string{
		"zookeeper.snapCount":              "7",
		"zookeeper.4lw.commands.whitelist": "*",
		"zookeeper.jute.maxbuffer":         "4096",
		"zookeeper.admin.serverPort":       "9090",
		"zookeeper.server.1":               "h:1:2", // Java does this too
	}
	if !reflect.DeepEqual(c.Props, want) {
		t.Errorf("Props = %v, want %v", c.Props, want)
	}
	if c.SnapCount() != 7 || c.JuteMaxBuffer() != 4096 || c.AdminServerPort() != 9090 {
		t.Errorf("typed: snap %d jute %d admin %d", c.SnapCount(), c.JuteMaxBuffer(), c.AdminServerPort())
	}
	if len(c.FourLetterWhitelist()) != len(FourLetterWords) {
		t.Errorf("* should enable all: %v", c.FourLetterWhitelist())
	}
	for _, name := range []string{"zookeeper.snapCount", "snapCount"} {
		if v, ok := c.Prop(name); !ok || v != "7" {
			t.Errorf("Prop(%q) = %q, %v", name, v, ok)
		}
	}
}

func TestJVMFlags(t *testing.T) {
	flags := `-Xmx1g -Djute.maxbuffer=2000000 -Dzookeeper.snapCount=10 "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc=" ` +
		`-Djava.security.auth.login.config='/etc/zk/jaas file.conf' -Dreadonlymode.enabled=true -Dempty -D -XX:+UseG1GC ` +
		`-Dzookeeper.authProvider.2=b -Dzookeeper.authProvider.1=a -Desc=a\ b -Dq="x\"y"`
	props := ParseJVMFlags(flags)
	want := map[string]string{
		"jute.maxbuffer":      "2000000",
		"zookeeper.snapCount": "10",
		"zookeeper.DigestAuthenticationProvider.superDigest": "super:abc=",
		"java.security.auth.login.config":                    "/etc/zk/jaas file.conf",
		"readonlymode.enabled":                               "true",
		"empty":                                              "",
		"zookeeper.authProvider.2":                           "b",
		"zookeeper.authProvider.1":                           "a",
		"esc":                                                "a b",
		"q":                                                  `x"y`,
	}
	if !reflect.DeepEqual(props, want) {
		t.Fatalf("ParseJVMFlags = %#v", props)
	}
	c := mustParse(t, "dataDir=/d\nclientPort=1\nsnapCount=5\njute.maxbuffer=100\n", WithSystemProps(props))
	// -D wins over zoo.cfg.
	if c.SnapCount() != 10 || c.JuteMaxBuffer() != 2000000 {
		t.Errorf("override: snap %d jute %d", c.SnapCount(), c.JuteMaxBuffer())
	}
	if c.SuperDigest() != "super:abc=" || c.JAASConfigFile() != "/etc/zk/jaas file.conf" || !c.ReadOnlyModeEnabled() {
		t.Errorf("jvm-only: %q %q %v", c.SuperDigest(), c.JAASConfigFile(), c.ReadOnlyModeEnabled())
	}
	if !c.FourLetterWhitelist()["isro"] {
		t.Errorf("isro must be whitelisted in read-only mode")
	}
	if got := c.AuthProviders(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("AuthProviders = %v", got)
	}
}

func TestTypedHelpersJavaSemantics(t *testing.T) {
	tests := []struct {
		cfg  string
		get  func(*Config) any
		want any
	}{
		{"snapCount=1", func(c *Config) any { return c.SnapCount() }, 2},
		{"snapCount=abc", func(c *Config) any { return c.SnapCount() }, 100000},
		{"snapCount=#10", func(c *Config) any { return c.SnapCount() }, 16},
		{"snapCount=010", func(c *Config) any { return c.SnapCount() }, 8},
		{"jute.maxbuffer=0X10", func(c *Config) any { return c.JuteMaxBuffer() }, 16},
		{"jute.maxbuffer=-0x10", func(c *Config) any { return c.JuteMaxBuffer() }, -16},
		{"jute.maxbuffer=99999999999", func(c *Config) any { return c.JuteMaxBuffer() }, 0xfffff},
		{"skipACL=YES", func(c *Config) any { return c.SkipACL() }, false},
		{"skipACL=yes", func(c *Config) any { return c.SkipACL() }, true},
		{"forceSync=no", func(c *Config) any { return c.ForceSync() }, false},
		{"forceSync=NO", func(c *Config) any { return c.ForceSync() }, true},
		{"digest.enabled=False", func(c *Config) any { return c.DigestEnabled() }, false},
		{"digest.enabled=nope", func(c *Config) any { return c.DigestEnabled() }, false},
		{"extendedTypesEnabled=True", func(c *Config) any { return c.ExtendedTypesEnabled() }, true},
		{"enforceQuota=true", func(c *Config) any { return c.EnforceQuota() }, true},
		{"preAllocSize=1024", func(c *Config) any { return c.PreAllocSizeKB() }, 1024},
		{"preAllocSize=0x10", func(c *Config) any { return c.PreAllocSizeKB() }, 65536},
		{"maxCnxns=-5", func(c *Config) any { return c.MaxCnxns() }, 0},
		{"admin.enableServer=FALSE", func(c *Config) any { return c.AdminEnableServer() }, true},
		{"admin.enableServer=false", func(c *Config) any { return c.AdminEnableServer() }, false},
		{"fsync.warningthresholdms=50", func(c *Config) any { return c.FsyncWarningThresholdMs() }, 50},
		{"readonlymode.enabled=TRUE", func(c *Config) any { return c.ReadOnlyModeEnabled() }, true},
		// FourLetterCommands compares readonlymode.enabled case-sensitively.
		{"readonlymode.enabled=TRUE", func(c *Config) any { return c.FourLetterWhitelist()["isro"] }, false},
		{"4lw.commands.whitelist=stat ruok", func(c *Config) any { return len(c.FourLetterWhitelist()) }, 3},
		{"znode.container.checkIntervalMs=1000", func(c *Config) any { return c.ContainerCheckIntervalMs() }, 1000},
		{"DigestAuthenticationProvider.superDigest=super:x", func(c *Config) any { return c.SuperDigest() }, "super:x"},
	}
	for _, tt := range tests {
		c := mustParse(t, "dataDir=/d\nclientPort=1\n"+tt.cfg+"\n")
		if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, cfg, want string
	}{
		{"bad integer", "dataDir=/d\nclientPort=1\n\n\n\n\ntickTime=abc\n", `zoo.cfg:7: tickTime: invalid integer "abc"`},
		{"int overflow", "dataDir=/d\nclientPort=2147483648\n", `zoo.cfg:2: clientPort: invalid integer "2147483648"`},
		{"bad boolean", "dataDir=/d\nclientPort=1\nsyncEnabled=yes\n", `zoo.cfg:3: syncEnabled: invalid option "yes", choose 'true' or 'false'`},
		{"electionAlg", "dataDir=/d\nclientPort=1\nelectionAlg=1\n", "zoo.cfg:3: electionAlg: invalid electionAlg value 1, only 3 is supported"},
		{"peerType", "dataDir=/d\nclientPort=1\npeerType=leader\n", `zoo.cfg:3: peerType: unrecognised peertype "leader"`},
		{"no dataDir", "clientPort=1\n", "zoo.cfg: dataDir: dataDir is not set"},
		{"no client port", "dataDir=/d\n", "zoo.cfg: clientPort: clientPort is not set (and no client port in the server line)"},
		{"address without port", "dataDir=/d\nsecureClientPort=1\nclientPortAddress=1.2.3.4\n", "zoo.cfg:3: clientPortAddress: clientPortAddress is set but clientPort is not set"},
		{"port range", "dataDir=/d\nclientPort=70000\n", "zoo.cfg:2: clientPort: port out of range: 70000"},
		{"tickTime 0", "dataDir=/d\nclientPort=1\ntickTime=0\n", "zoo.cfg:3: tickTime: tickTime is not set"},
		{"session order", "dataDir=/d\nclientPort=1\nminSessionTimeout=70000\n", "zoo.cfg:3: minSessionTimeout: minSessionTimeout must not be larger than maxSessionTimeout"},
		{"sasl", "dataDir=/d\nclientPort=1\nquorum.auth.serverRequireSasl=true\n", "zoo.cfg:3: quorum.auth.serverRequireSasl: quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"},
		{"metrics class", "dataDir=/d\nclientPort=1\nmetricsProvider.className=com.Foo\n", `zoo.cfg:3: metricsProvider.className: metrics provider class "com.Foo" was not found`},
		{"bad escape", "dataDir=/d\nx=\\u00\n", `zoo.cfg:2: malformed \uxxxx encoding`},
		{"server format", "dataDir=/d\nclientPort=1\nserver.1=h:2888\n", `zoo.cfg:3: server.1: "h:2888" does not have the form`},
		{"server id", "dataDir=/d\nclientPort=1\nserver.x=h:1:2\n", `zoo.cfg:3: server.x: invalid server id "x"`},
		{"same ports", "dataDir=/d\nclientPort=1\nserver.1=h:1:1\n", "zoo.cfg:3: server.1: quorum and election port must be different (server.1)"},
		{"server port", "dataDir=/d\nclientPort=1\nserver.1=h:1:99999\n", "zoo.cfg:3: server.1: election port of h:1:99999: port out of range: 99999"},
		{"server type", "dataDir=/d\nclientPort=1\nserver.1=h:1:2:leader\n", `zoo.cfg:3: server.1: unrecognised peertype "leader"`},
		{"multi address off", "dataDir=/d\nclientPort=1\nserver.1=a:1:2|b:1:2\n", "zoo.cfg:3: server.1: multiple address feature is disabled"},
		{"client part", "dataDir=/d\nclientPort=1\nserver.1=h:1:2;a:b:3\n", `does not have the form`},
		{"ipv6 bracket", "dataDir=/d\nclientPort=1\nserver.1=[::1:1:2\n", "starts with '[' but has no matching ']:'"},
		{"observers only", "dataDir=/d\nclientPort=1\nserver.1=h:1:2:observer\n", "zoo.cfg: observers w/o participants is an invalid configuration"},
		{"standalone disabled", "dataDir=/d\nclientPort=1\nstandaloneEnabled=false\n", "zoo.cfg: standaloneEnabled: standaloneEnabled = false then number of participants should be >0"},
		{"quorum initLimit", "dataDir=/d\nclientPort=1\nserver.1=a:1:2\nserver.2=b:1:2\n", "zoo.cfg: initLimit: initLimit is not set"},
		{"quorum syncLimit", "dataDir=/d\nclientPort=1\ninitLimit=5\nserver.1=a:1:2\nserver.2=b:1:2\n", "zoo.cfg: syncLimit: syncLimit is not set"},
		{"quorum myid", "dataDir=/nonexistent\nclientPort=1\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\n", "zoo.cfg:1: dataDir: myid file is missing (/nonexistent/myid)"},
		{"dynamic and server", "dataDir=/d\nclientPort=1\ndynamicConfigFile=/x\nserver.1=a:1:2\n", "zoo.cfg:4: server.1: must be in a separate dynamic config file"},
		{"dynamic missing", "dataDir=/d\nclientPort=1\ndynamicConfigFile=/nonexistent.dyn\n", "/nonexistent.dyn: open: no such file or directory"},
		{"group", "dataDir=/d\nclientPort=1\ngroup.1=1:x\n", `zoo.cfg:3: group.1: invalid server id "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseString(t, tt.cfg)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want) && !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\nwant    %q", msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error must be one line: %q", msg)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	_, err := Parse(filepath.Join(t.TempDir(), "missing.cfg"))
	if err == nil || !strings.Contains(err.Error(), "missing.cfg: open: no such file") {
		t.Errorf("got %v", err)
	}
}

func TestSampleConfig(t *testing.T) {
	c, err := Parse("testdata/zoo_sample.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if c.TickTime != 2000 || c.InitLimit != 10 || c.SyncLimit != 5 || c.DataDir != "/var/lib/zookeeper" ||
		c.ClientPort != 2181 || !c.Standalone() || len(c.Props) != 0 || len(c.Servers) != 0 {
		t.Errorf("sample: %+v", c)
	}
}

// ensemble writes testdata/ensemble.cfg with a dataDir holding myid.
func ensemble(t *testing.T, myid string) string {
	t.Helper()
	dir := t.TempDir()
	if myid != "" {
		if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(myid), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile("testdata/ensemble.cfg")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(path, bytes.ReplaceAll(data, []byte("@DATADIR@"), []byte(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnsemble(t *testing.T) {
	c, err := Parse(ensemble(t, "3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Standalone() || c.MyID != 3 || len(c.Servers) != 4 {
		t.Fatalf("standalone=%v myid=%d servers=%d", c.Standalone(), c.MyID, len(c.Servers))
	}
	if !reflect.DeepEqual(c.VotingMembers(), []int64{1, 2, 3}) || !reflect.DeepEqual(c.ObservingMembers(), []int64{4}) {
		t.Errorf("members %v %v", c.VotingMembers(), c.ObservingMembers())
	}
	want := map[int64]string{
		1: "zk1.example.com:2888:3888:participant;0.0.0.0:2181",
		2: "zk2.example.com:2888:3888:participant;0.0.0.0:2181",
		3: "[fe80::1]:2888:3888:participant;[::1]:2181",
		4: "zk4.example.com:2888:3888:observer",
	}
	for id, s := range want {
		if got := c.Servers[id].String(); got != s {
			t.Errorf("server.%d = %q, want %q", id, got, s)
		}
	}
	s3 := c.Servers[3]
	if s3.Host != "fe80::1" || s3.QuorumPort != 2888 || s3.ElectionPort != 3888 || s3.ClientAddr != "::1" {
		t.Errorf("server.3 = %+v", s3)
	}
	// setupClientPort: the client address comes from this server's line.
	if c.ClientPort != 2181 || c.ClientListenAddr() != "[::1]:2181" {
		t.Errorf("client addr %q", c.ClientListenAddr())
	}
	if c.SnapCount() != 50000 || c.JuteMaxBuffer() != 0x200000 {
		t.Errorf("props: %v", c.Props)
	}
	if wl := c.FourLetterWhitelist(); !reflect.DeepEqual(wl, map[string]bool{"srvr": true, "mntr": true, "ruok": true}) {
		t.Errorf("whitelist %v", wl)
	}

	c, err = Parse(ensemble(t, "4"))
	if err != nil {
		t.Fatal(err)
	}
	if c.PeerType != Observer || c.ClientPort != 0 {
		t.Errorf("observer: peerType %v clientPort %d", c.PeerType, c.ClientPort)
	}

	if _, err := Parse(ensemble(t, "x")); err == nil || !strings.Contains(err.Error(), `serverid "x" is not a number`) {
		t.Errorf("bad myid: %v", err)
	}
}

func TestSingleServerLineIsStandalone(t *testing.T) {
	dir := t.TempDir()
	line := "dataDir=" + dir + "\nserver.1=localhost:2888:3888;2182\n"
	// Without myid the server line's client port is not ours: no client port.
	if _, err := parseString(t, line); err == nil || !strings.Contains(err.Error(), "clientPort is not set") {
		t.Errorf("no myid: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "myid"), []byte("1"), 0o644)
	c := mustParse(t, line)
	if !c.Standalone() || c.MyID != 1 || c.ClientPort != 2182 || c.ClientPortAddress != "0.0.0.0" {
		t.Errorf("standalone=%v myid=%d addr=%q", c.Standalone(), c.MyID, c.ClientListenAddr())
	}
	// A static clientPort that disagrees with the server line is an error.
	_, err := parseString(t, "clientPort=2181\n"+line)
	if err == nil || !strings.Contains(err.Error(), "zoo.cfg:1: clientPort: client address for this server (id = 1)") {
		t.Errorf("conflict: %v", err)
	}
	// standaloneEnabled=false turns the single server into a quorum of one.
	c = mustParse(t, "standaloneEnabled=false\ninitLimit=5\nsyncLimit=2\n"+line)
	if c.Standalone() || c.StandaloneEnabled {
		t.Errorf("standaloneEnabled=false: standalone=%v", c.Standalone())
	}
}

func TestMultiAddress(t *testing.T) {
	cfg := "dataDir=/d\nclientPort=1\nserver.1=b:1:2|a:3:4\n"
	for _, opt := range []Option{
		WithSystemProps(map[string]string{"zookeeper.multiAddress.enabled": "true"}),
		func(c *Config) { c.MultiAddressEnabled = true },
	} {
		c := mustParse(t, cfg, opt)
		if got := c.Servers[1].String(); got != "a:3:4|b:1:2:participant" {
			t.Errorf("multi address: %q", got)
		}
	}
	c := mustParse(t, "multiAddress.enabled=true\n"+cfg)
	if len(c.Servers[1].Addrs) != 2 {
		t.Errorf("zoo.cfg multiAddress.enabled should enable it: %+v", c.Servers[1])
	}
}

func TestDynamicConfigFile(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "zoo.cfg.dynamic.100000000")
	os.WriteFile(dyn, []byte("server.1=a:2888:3888:participant;2181\nserver.2=b:2888:3888;2181\nserver.3=c:2888:3888;2181\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "myid"), []byte("2\n"), 0o644)
	c := mustParse(t, "dataDir="+dir+"\ninitLimit=5\nsyncLimit=2\ndynamicConfigFile="+dyn+"\n")
	if len(c.Servers) != 3 || c.ConfigVersion != 0x100000000 || c.MyID != 2 || c.ClientPort != 2181 || c.Standalone() {
		t.Errorf("dynamic: servers %d version %x myid %d port %d", len(c.Servers), c.ConfigVersion, c.MyID, c.ClientPort)
	}
	os.WriteFile(dyn, []byte("server.1=a:2888:3888\ntickTime=5\n"), 0o644)
	if _, err := parseString(t, "dataDir="+dir+"\nclientPort=1\ndynamicConfigFile="+dyn+"\n"); err == nil ||
		!strings.Contains(err.Error(), ":2: tickTime: unrecognised parameter") {
		t.Errorf("dynamic with static key: %v", err)
	}
}

func TestHierarchical(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "myid"), []byte("1"), 0o644)
	base := "dataDir=" + dir + "\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n"
	c := mustParse(t, base+"group.1=1:2\ngroup.2=3\nweight.3=0\n")
	if !reflect.DeepEqual(c.Groups, map[int64][]int64{1: {1, 2}, 2: {3}}) || !reflect.DeepEqual(c.Weights, map[int64]int64{1: 1, 2: 1, 3: 0}) {
		t.Errorf("groups %v weights %v", c.Groups, c.Weights)
	}
	if _, err := parseString(t, base+"group.1=1:2\n"); err == nil || !strings.Contains(err.Error(), "server 3 is not in a group") {
		t.Errorf("missing group: %v", err)
	}
	if _, err := parseString(t, base+"group.1=1:2:3\ngroup.2=3\n"); err == nil || !strings.Contains(err.Error(), "multiple groups") {
		t.Errorf("dup group: %v", err)
	}
}

func TestDefaultAndValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dataDir is not set") {
		t.Errorf("Default without dataDir: %v", err)
	}
	c.DataDir = "/tmp/zk"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ClientPort != 2181 || c.TickTime != 2000 || c.MaxClientCnxns != 60 || c.DataLogDir != "/tmp/zk" ||
		c.MinSessionTimeoutMs() != 4000 || c.MaxSessionTimeoutMs() != 40000 || !c.Standalone() {
		t.Errorf("Default: %+v", c)
	}
}

// TestDump compares with the conf output of Apache ZooKeeper 3.8.0 for
// tickTime=2000, clientPort=48975 (observed on the Debian package).
func TestDump(t *testing.T) {
	c := mustParse(t, "tickTime=2000\ndataDir=/tmp/zkreal/data\nclientPort=48975\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n")
	var b bytes.Buffer
	if err := c.Dump(&b, 457, 457); err != nil {
		t.Fatal(err)
	}
	want := `clientPort=48975
secureClientPort=-1
dataDir=/tmp/zkreal/data/version-2
dataDirSize=457
dataLogDir=/tmp/zkreal/data/version-2
dataLogSize=457
tickTime=2000
maxClientCnxns=60
minSessionTimeout=4000
maxSessionTimeout=40000
clientPortListenBacklog=-1
serverId=0
`
	if b.String() != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", b.String(), want)
	}
	if got := versionDir("rel//dir/"); !strings.HasSuffix(got, "/rel/dir/version-2") || !strings.HasPrefix(got, "/") {
		t.Errorf("versionDir = %q", got)
	}
}

func TestJavaDecode(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10", 10, true}, {"+10", 10, true}, {"-10", -10, true}, {"0x1f", 31, true}, {"#1F", 31, true},
		{"017", 15, true}, {"0", 0, true}, {"", 0, false}, {" 1", 0, false}, {"0x", 0, false},
		{"--1", 0, false}, {"0x-1", 0, false}, {"08", 0, false}, {"2147483648", 0, false}, {"-2147483648", -2147483648, true},
	}
	for _, tt := range tests {
		got, err := javaDecode(tt.in, 32)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("javaDecode(%q) = %d, %v", tt.in, got, err)
		}
	}
}

// FuzzParse checks that no input panics, that errors stay on one line, and
// that an accepted config satisfies the invariants QuorumPeerConfig ensures.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/zoo_sample.cfg", "testdata/ensemble.cfg"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("dynamicConfigFile")) {
			t.Skip() // would read an arbitrary file (think /dev/zero)
		}
		c, err := ParseReader(bytes.NewReader(data), "zoo.cfg")
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if c.DataDir == "" || c.DataLogDir == "" || c.TickTime == 0 {
			t.Fatalf("accepted without dataDir/tickTime: %+v", c)
		}
		if c.MinSessionTimeoutMs() > c.MaxSessionTimeoutMs() {
			t.Fatalf("min > max session timeout: %+v", c)
		}
		if c.SnapRetainCount < MinSnapRetainCount || c.ElectionAlg != 3 {
			t.Fatalf("snapRetainCount %d electionAlg %d", c.SnapRetainCount, c.ElectionAlg)
		}
		if c.Standalone() && c.ClientPort == 0 && c.SecureClientPort == 0 {
			t.Fatalf("standalone without client port")
		}
		for id, s := range c.Servers {
			if s.ID != id || len(s.Addrs) == 0 || s.QuorumPort == s.ElectionPort {
				t.Fatalf("bad server %d: %+v", id, s)
			}
		}
		var b bytes.Buffer
		if err := c.Dump(&b, 0, 0); err != nil || bytes.Count(b.Bytes(), []byte("\n")) < 12 {
			t.Fatalf("dump: %v %q", err, b.String())
		}
	})
}

// BinaryInputArchive's limit: jute.maxbuffer plus extrasize, which defaults to jute.maxbuffer
// and is never below 1024.
func TestJuteReadLimit(t *testing.T) {
	for _, c := range []struct {
		cfg  string
		want int
	}{
		{"jute.maxbuffer=4096\n", 8192},
		{"jute.maxbuffer=4096\njute.maxbuffer.extrasize=100\n", 4096 + 1024},
		{"jute.maxbuffer=4096\njute.maxbuffer.extrasize=10000\n", 14096},
	} {
		if got := mustParse(t, "dataDir=/d\nclientPort=1\n"+c.cfg).JuteReadLimit(); got != c.want {
			t.Errorf("%q: %d, want %d", c.cfg, got, c.want)
		}
	}
}
