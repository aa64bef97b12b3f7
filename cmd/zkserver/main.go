// Command zkserver is the operator binary of zkgo, a drop-in replacement for
// Apache ZooKeeper 3.8's zkServer.sh + QuorumPeerMain:
//
//	zkserver {start|start-foreground|stop|restart|status|version} [zoo.cfg]
//
// Without zoo.cfg it runs on embedded defaults (clientPort 2181, tickTime
// 2000) with --data-dir and --client-port.
package main

import "os"

// version is the zkgo release; set it with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(newCLI().run(os.Args[1:]))
}
