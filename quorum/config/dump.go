package config

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Dump writes the answer of the "conf" four letter word of a standalone
// server (ZooKeeperServer.dumpConf), e.g.
//
//	clientPort=2181
//	secureClientPort=-1
//	dataDir=/var/lib/zookeeper/version-2
//	...
//	serverId=0
//
// Unset ports print as -1 (no connection factory). The sizes are those of
// the snapshot and log directories (the server measures them). A server
// bound to an ephemeral port should store the bound port in ClientPort.
func (c *Config) Dump(w io.Writer, dataDirSize, dataLogSize int64) error {
	port := func(p int) int {
		if p == 0 {
			return -1
		}
		return p
	}
	maxCnxns := c.MaxClientCnxns
	if c.ClientPort == 0 && c.SecureClientPort == 0 {
		maxCnxns = -1
	}
	serverID := int64(0) // ZooKeeperServer.getServerId of a standalone server
	if !c.Standalone() {
		serverID = c.MyID
	}
	_, err := fmt.Fprintf(w, "clientPort=%d\nsecureClientPort=%d\ndataDir=%s\ndataDirSize=%d\n"+
		"dataLogDir=%s\ndataLogSize=%d\ntickTime=%d\nmaxClientCnxns=%d\nminSessionTimeout=%d\n"+
		"maxSessionTimeout=%d\nclientPortListenBacklog=%d\nserverId=%d\n",
		port(c.ClientPort), port(c.SecureClientPort),
		versionDir(c.DataDir), dataDirSize, versionDir(c.DataLogDir), dataLogSize,
		c.TickTime, maxCnxns, c.MinSessionTimeoutMs(), c.MaxSessionTimeoutMs(),
		c.ClientPortListenBacklog, serverID)
	return err
}

// versionDir is new File(dir, "version-2").getAbsolutePath(): relative to
// the working directory, redundant slashes removed, "." and ".." kept.
func versionDir(dir string) string {
	if !strings.HasPrefix(dir, "/") {
		if wd, err := os.Getwd(); err == nil {
			dir = wd + "/" + dir
		}
	}
	for strings.Contains(dir, "//") {
		dir = strings.ReplaceAll(dir, "//", "/")
	}
	return strings.TrimSuffix(dir, "/") + "/version-2"
}
