// Command zktool inspects and maintains zkgo / Apache ZooKeeper data dirs:
//
//	zktool log [-d] FILE                        like TxnLogToolkit -d
//	zktool snapshot [-d] [-json] FILE           like SnapshotFormatter
//	zktool check DATADIR [DATALOGDIR]           verify checksums, zxids and that the dir restores
//	zktool purge -n COUNT DATADIR [DATALOGDIR]  like zkCleanup.sh / PurgeTxnLog
package main

import (
	"os"

	"github.com/zkgo/zkgo/persistence/inspect"
)

func main() {
	os.Exit(inspect.Run(os.Args[1:], os.Stdout, os.Stderr))
}
