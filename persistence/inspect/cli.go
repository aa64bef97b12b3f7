package inspect

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
)

const usage = `usage:
  zktool log [-d] FILE                      print a txn log like TxnLogToolkit -d
  zktool snapshot [-d] [-json] FILE         print a snapshot like SnapshotFormatter
  zktool check DATADIR [DATALOGDIR]         verify snapshots, logs and that they restore
  zktool purge -n COUNT DATADIR [DATALOGDIR] keep the COUNT (>= 3) newest snapshots and their logs
`

// Run is zktool's main: it returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := pflag.NewFlagSet("zktool "+args[0], pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	switch args[0] {
	case "log":
		fs.BoolP("dump", "d", false, "dump mode (the default; accepted for TxnLogToolkit compatibility)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return usageErr(stderr, err)
		}
		if err := DumpLog(stdout, fs.Arg(0)); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "snapshot", "snap":
		data := fs.BoolP("data", "d", false, "dump the data of each znode (base64)")
		asJSON := fs.Bool("json", false, "dump znode info in ncdu JSON format")
		// SnapshotFormatter spells it -json: accept that as well as --json.
		rest := append([]string(nil), args[1:]...)
		for i, a := range rest {
			if a == "-json" {
				rest[i] = "--json"
			}
		}
		if err := fs.Parse(rest); err != nil || fs.NArg() != 1 {
			return usageErr(stderr, err)
		}
		if *data && *asJSON {
			fmt.Fprintln(stderr, "Cannot specify both data dump (-d) and json mode (-json) in same call")
			return 2
		}
		if err := DumpSnapshot(stdout, fs.Arg(0), *data, *asJSON, time.Now()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "check":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
			return usageErr(stderr, err)
		}
		rep, err := Check(fs.Arg(0), fs.Arg(1))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		WriteCheckReport(stdout, rep)
		if !rep.OK() {
			return 1
		}
	case "purge":
		n := fs.IntP("count", "n", 3, "number of snapshots to keep (>= 3)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
			return usageErr(stderr, err)
		}
		if err := Purge(stdout, fs.Arg(0), fs.Arg(1), *n); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "zktool: unknown command %q\n", args[0])
		fmt.Fprint(stderr, usage)
		return 2
	}
	return 0
}

func usageErr(w io.Writer, err error) int {
	if err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(w, err)
	}
	fmt.Fprint(w, usage)
	return 2
}
