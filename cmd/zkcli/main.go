// Command zkcli is a ZooKeeper shell with the commands, options and output of Apache
// ZooKeeper 3.8's zkCli.sh, built on package client:
//
//	zkcli [-server host:port[,host:port...]] [-timeout ms] [-r] [-waitforconnection] [cmd args...]
//
// Without a command it reads commands from stdin (with line editing and history on a
// terminal); with one it runs it and exits with its status.
package main

import "os"

func main() {
	s := newShell(os.Stdin, os.Stdout, os.Stderr, false)
	if ed := newTerminalEditor(os.Stdin, os.Stdout); ed != nil {
		s.tty, s.editor = true, ed
	}
	os.Exit(s.run(os.Args[1:]))
}
