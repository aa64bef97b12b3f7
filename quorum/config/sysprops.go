package config

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zkgo/zkgo/persistence"
)

// ParseJVMFlags extracts the -Dkey=value words of a JVM flag string such as
// SERVER_JVMFLAGS. Words are split like a POSIX shell would (blanks, '...',
// "..." with \" \\ \$ \` escapes, backslash outside quotes); other words
// (-Xmx1g, -XX:...) are ignored. "-Dkey" alone sets key to "", as java does.
// Later words win.
func ParseJVMFlags(s string) map[string]string {
	props := map[string]string{}
	for _, w := range shellWords(s) {
		if !strings.HasPrefix(w, "-D") || len(w) == 2 {
			continue
		}
		k, v, _ := strings.Cut(w[2:], "=")
		props[k] = v
	}
	return props
}

// shellWords splits s into words; an unterminated quote runs to the end.
func shellWords(s string) []string {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' { // backslash-newline is a line continuation
					cur.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
			} else {
				cur.WriteString(s[i+1 : i+1+j])
				i += j + 1
			}
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				cur.WriteByte(s[i])
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// Prop looks up the Java system property name. It also accepts the zoo.cfg
// spelling: a zoo.cfg key k is stored as "zookeeper.k", so Prop("jute.maxbuffer")
// finds both -Djute.maxbuffer= and zoo.cfg "jute.maxbuffer=", and
// Prop("zookeeper.snapCount") finds zoo.cfg "snapCount=". The exact name
// (a -D flag, or the zookeeper.-prefixed form) is tried first, so -D wins.
func (c *Config) Prop(name string) (string, bool) {
	if v, ok := c.Props[name]; ok {
		return v, true
	}
	if !strings.HasPrefix(name, "zookeeper.") {
		if v, ok := c.Props["zookeeper."+name]; ok {
			return v, true
		}
	}
	return "", false
}

// PropString is System.getProperty(name, def).
func (c *Config) PropString(name, def string) string {
	if v, ok := c.Prop(name); ok {
		return v
	}
	return def
}

// PropInt is Integer.getInteger(name, def): Integer.decode syntax (decimal,
// 0x/#hex, 0octal), and def when missing or malformed.
func (c *Config) PropInt(name string, def int) int {
	v, ok := c.Prop(name)
	if !ok {
		return def
	}
	n, err := javaDecode(v, 32)
	if err != nil {
		return def
	}
	return int(n)
}

// PropLong is Long.getLong(name, def).
func (c *Config) PropLong(name string, def int64) int64 {
	v, ok := c.Prop(name)
	if !ok {
		return def
	}
	n, err := javaDecode(v, 64)
	if err != nil {
		return def
	}
	return n
}

// PropDouble is Double.parseDouble(System.getProperty(name)), def when missing; unlike
// Integer.getInteger, a malformed value is an error (parseDouble throws).
func (c *Config) PropDouble(name string, def float64) (float64, error) {
	v, ok := c.Prop(name)
	if !ok {
		return def, nil
	}
	return parseJavaDouble(v)
}

// PropBool is Boolean.getBoolean(name): true only for "true" in any case.
func (c *Config) PropBool(name string) bool {
	v, _ := c.Prop(name)
	return parseJavaBool(v)
}

// PropBoolDefault is Boolean.parseBoolean(System.getProperty(name, def)).
func (c *Config) PropBoolDefault(name string, def bool) bool {
	v, ok := c.Prop(name)
	if !ok {
		return def
	}
	return parseJavaBool(v)
}

func parseJavaBool(s string) bool { return strings.EqualFold(s, "true") }

// javaDecode is Integer.decode/Long.decode: optional sign, then 0x, 0X or #
// for hex, a leading 0 for octal, else decimal. No blanks allowed.
func javaDecode(s string, bits int) (int64, error) {
	body, neg := s, false
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X"):
		base, body = 16, body[2:]
	case strings.HasPrefix(body, "#"):
		base, body = 16, body[1:]
	case strings.HasPrefix(body, "0") && len(body) > 1:
		base, body = 8, body[1:]
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, strconv.ErrSyntax
	}
	if neg {
		body = "-" + body
	}
	return strconv.ParseInt(body, base, bits)
}

// JuteMaxBuffer is jute.maxbuffer (BinaryInputArchive), default 0xfffff.
func (c *Config) JuteMaxBuffer() int { return c.PropInt("jute.maxbuffer", 0xfffff) }

// JuteReadLimit is the longest string or buffer BinaryInputArchive reads from a record:
// jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize (by default jute.maxbuffer again,
// never less than 1024). It bounds what members read from each other (a txn can outgrow the
// request it came from: a closeSession lists the session's ephemerals); client requests are
// bounded by jute.maxbuffer alone.
func (c *Config) JuteReadLimit() int {
	mb := c.JuteMaxBuffer()
	return mb + max(1024, c.PropInt("zookeeper.jute.maxbuffer.extrasize", mb))
}

// SuperDigest is zookeeper.DigestAuthenticationProvider.superDigest
// ("super:<base64 sha1>"), "" when unset.
func (c *Config) SuperDigest() string {
	return c.PropString("zookeeper.DigestAuthenticationProvider.superDigest", "")
}

// FourLetterWords are the commands known to FourLetterCommands in 3.8.
var FourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
	"srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
}

// FourLetterWhitelist is the set of enabled four letter words
// (FourLetterCommands.isEnabled): zookeeper.4lw.commands.whitelist, "*" for
// all; srvr always (zkServer.sh status needs it) and isro when
// readonlymode.enabled is exactly "true". Java splits on commas only;
// blanks are accepted as separators too.
func (c *Config) FourLetterWhitelist() map[string]bool {
	wl := map[string]bool{}
	if v, ok := c.Prop("zookeeper.4lw.commands.whitelist"); ok {
		for _, cmd := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r <= ' ' }) {
			if cmd == "*" {
				for _, w := range FourLetterWords {
					wl[w] = true
				}
				break
			}
			wl[cmd] = true
		}
	}
	if v, _ := c.Prop("readonlymode.enabled"); v == "true" {
		wl["isro"] = true
	}
	wl["srvr"] = true
	return wl
}

// ExtendedTypesEnabled is zookeeper.extendedTypesEnabled (TTL nodes).
func (c *Config) ExtendedTypesEnabled() bool { return c.PropBool("zookeeper.extendedTypesEnabled") }

// FlushPolicy is zookeeper.flushDelay (ms, 0), zookeeper.maxWriteQueuePollTime (ms,
// flushDelay/3) and zookeeper.maxBatchSize (1000; it bounds a wait for more txns only).
func (c *Config) FlushPolicy() persistence.FlushPolicy {
	delay := c.PropLong("zookeeper.flushDelay", 0)
	return persistence.FlushPolicy{
		Delay:    time.Duration(delay) * time.Millisecond,
		Poll:     time.Duration(c.PropLong("zookeeper.maxWriteQueuePollTime", delay/3)) * time.Millisecond,
		MaxBatch: c.PropInt("zookeeper.maxBatchSize", 1000),
	}
}

// Emulate353TTLNodes is zookeeper.emulate353TTLNodes: with extended types, nodes whose
// ephemeralOwner is negative are TTL nodes, as ZooKeeper 3.5.3 wrote them.
func (c *Config) Emulate353TTLNodes() bool { return c.PropBool("zookeeper.emulate353TTLNodes") }

// EnforceQuota is zookeeper.enforceQuota.
func (c *Config) EnforceQuota() bool { return c.PropBoolDefault("zookeeper.enforceQuota", false) }

// SkipACL is zookeeper.skipACL: only the exact "yes" disables ACL checks.
func (c *Config) SkipACL() bool { return c.PropString("zookeeper.skipACL", "no") == "yes" }

// ContainerCheckIntervalMs is znode.container.checkIntervalMs (ContainerManager).
func (c *Config) ContainerCheckIntervalMs() int {
	return c.PropInt("znode.container.checkIntervalMs", 60000)
}

// ContainerMaxPerMinute is znode.container.maxPerMinute.
func (c *Config) ContainerMaxPerMinute() int { return c.PropInt("znode.container.maxPerMinute", 10000) }

// ContainerMaxNeverUsedIntervalMs is znode.container.maxNeverUsedIntervalMs (0 = off).
func (c *Config) ContainerMaxNeverUsedIntervalMs() int64 {
	return c.PropLong("znode.container.maxNeverUsedIntervalMs", 0)
}

// ReadOnlyModeEnabled is readonlymode.enabled (Boolean.getBoolean).
func (c *Config) ReadOnlyModeEnabled() bool { return c.PropBool("readonlymode.enabled") }

// SnapCount is zookeeper.snapCount (ZooKeeperServer.getSnapCount), at least 2.
func (c *Config) SnapCount() int {
	return max(c.PropInt("zookeeper.snapCount", 100000), 2)
}

// SnapSizeLimitInKb is zookeeper.snapSizeLimitInKb; <= 0 disables the limit.
func (c *Config) SnapSizeLimitInKb() int64 {
	return c.PropLong("zookeeper.snapSizeLimitInKb", 4194304)
}

// PreAllocSizeKB is zookeeper.preAllocSize (FilePadding), in KiB.
func (c *Config) PreAllocSizeKB() int {
	if v, ok := c.Prop("zookeeper.preAllocSize"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil { // Long.parseLong
			return int(n)
		}
	}
	return 65536
}

// ForceSync is zookeeper.forceSync: anything but the exact "no" syncs.
func (c *Config) ForceSync() bool { return c.PropString("zookeeper.forceSync", "yes") != "no" }

// DigestEnabled is zookeeper.digest.enabled (default true).
func (c *Config) DigestEnabled() bool { return c.PropBoolDefault("zookeeper.digest.enabled", true) }

// CloseSessionTxnEnabled is zookeeper.closeSessionTxn.enabled (default true).
func (c *Config) CloseSessionTxnEnabled() bool {
	return c.PropBoolDefault("zookeeper.closeSessionTxn.enabled", true)
}

// MaxCnxns is zookeeper.maxCnxns, the total connection limit; 0 = none.
func (c *Config) MaxCnxns() int { return max(c.PropInt("zookeeper.maxCnxns", 0), 0) }

// GlobalOutstandingLimit is zookeeper.globalOutstandingLimit (default 1000).
func (c *Config) GlobalOutstandingLimit() int {
	return c.PropInt("zookeeper.globalOutstandingLimit", 1000)
}

// AdminEnableServer is zookeeper.admin.enableServer: on unless exactly "false".
func (c *Config) AdminEnableServer() bool {
	v, ok := c.Prop("zookeeper.admin.enableServer")
	return !ok || v != "false"
}

// AdminServerPort is zookeeper.admin.serverPort (default 8080).
func (c *Config) AdminServerPort() int { return c.PropInt("zookeeper.admin.serverPort", 8080) }

// AdminServerAddress is zookeeper.admin.serverAddress (default 0.0.0.0).
func (c *Config) AdminServerAddress() string {
	return c.PropString("zookeeper.admin.serverAddress", "0.0.0.0")
}

// AdminCommandURL is zookeeper.admin.commandURL (default /commands).
func (c *Config) AdminCommandURL() string {
	return c.PropString("zookeeper.admin.commandURL", "/commands")
}

// FsyncWarningThresholdMs is zookeeper.fsync.warningthresholdms, falling
// back to fsync.warningthresholdms, default 1000 (FileTxnLog).
func (c *Config) FsyncWarningThresholdMs() int {
	if v, ok := c.Props["zookeeper.fsync.warningthresholdms"]; ok {
		if n, err := javaDecode(v, 64); err == nil {
			return int(n)
		}
	}
	if v, ok := c.Props["fsync.warningthresholdms"]; ok {
		if n, err := javaDecode(v, 64); err == nil {
			return int(n)
		}
	}
	return 1000
}

// JAASConfigFile is java.security.auth.login.config, "" when unset.
func (c *Config) JAASConfigFile() string {
	return c.PropString("java.security.auth.login.config", "")
}

// AuthProviders are the zookeeper.authProvider.* class names, by key order.
func (c *Config) AuthProviders() []string {
	const prefix = "zookeeper.authProvider."
	seen := map[string]string{}
	for k, v := range c.Props {
		if strings.HasPrefix(k, prefix) {
			seen[k] = v
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, seen[k])
	}
	return out
}

// TxnLogSizeLimit is zookeeper.txnLogSizeLimitInKb in bytes (FileTxnLog: the log is rolled
// once its file passes it); 0 when unset or not positive.
func (c *Config) TxnLogSizeLimit() int64 {
	if kb := c.PropLong("zookeeper.txnLogSizeLimitInKb", -1); kb > 0 {
		return kb * 1024
	}
	return 0
}
