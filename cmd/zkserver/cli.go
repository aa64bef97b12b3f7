package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/zkgo/zkgo/quorum"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
)

// Exit codes: 1 like zkServer.sh for a failed operation, 2 for bad usage or
// an invalid config (QuorumPeerMain exits with INVALID_INVOCATION = 2).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

const usage = "Usage: zkserver [--config <conf-dir>] [--data-dir DIR] [--client-port N] " +
	"{start|start-foreground|stop|version|restart|status} [zoo.cfg]"

// zkServer is the part of *server.Server that start-foreground drives.
type zkServer interface {
	Start() error
	Addr() net.Addr
	Close() error
}

// cli holds everything the commands touch, so tests can replace it.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// exe is re-executed by "start"; args are prepended (tests use them to
	// run a fake server).
	exe     string
	exeArgs []string
	// newServer builds the server for start-foreground.
	newServer func(*config.Config, zerolog.Logger) (zkServer, error)
	// signals ends start-foreground; nil means SIGINT/SIGTERM.
	signals      context.Context
	startTimeout time.Duration // how long "start" waits for srvr to answer
	stopTimeout  time.Duration // how long "stop" waits after SIGTERM
}

func newCLI() *cli {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return &cli{
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		exe:    exe,
		newServer: func(c *config.Config, l zerolog.Logger) (zkServer, error) {
			if !c.Standalone() {
				return quorum.New(c, l)
			}
			return server.New(c, l)
		},
		startTimeout: 30 * time.Second,
		stopTimeout:  30 * time.Second,
	}
}

// options are the command line after flag parsing.
type options struct {
	cmd        string
	configPath string // "" = embedded defaults
	dataDir    string
	clientPort int
}

func (c *cli) run(args []string) int {
	fs := pflag.NewFlagSet("zkserver", pflag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, usage)
		fs.PrintDefaults()
	}
	confDir := fs.String("config", "", "directory holding zoo.cfg (like zkServer.sh --config)")
	dataDir := fs.String("data-dir", "./data", "dataDir when no zoo.cfg is given")
	clientPort := fs.Int("client-port", 2181, "clientPort when no zoo.cfg is given")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(c.stderr, usage)
		return exitUsage
	}
	o := options{cmd: fs.Arg(0), dataDir: *dataDir, clientPort: *clientPort}
	switch {
	case fs.NArg() == 2:
		o.configPath = fs.Arg(1)
		if *confDir != "" && !filepath.IsAbs(o.configPath) && filepath.Dir(o.configPath) == "." {
			// zkServer.sh: a bare file name is looked up in the conf dir.
			o.configPath = filepath.Join(*confDir, o.configPath)
		}
	case *confDir != "":
		o.configPath = filepath.Join(*confDir, "zoo.cfg")
	}

	if o.cmd == "version" {
		fmt.Fprintf(c.stdout, "zkgo, version %s, compatible with Apache ZooKeeper 3.8\n", version)
		return exitOK
	}
	switch o.cmd {
	case "start", "start-foreground", "stop", "restart", "status":
	default:
		fmt.Fprintln(c.stderr, usage)
		return exitUsage
	}

	cfg, err := c.loadConfig(o)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitUsage
	}
	if o.cmd == "start-foreground" || o.cmd == "start" || o.cmd == "restart" {
		if err := server.CheckQuorumSASL(cfg); err != nil {
			fmt.Fprintf(c.stderr, "%s: quorum.auth.enableSasl: %v\n", cfg.File, err)
			return exitUsage
		}
		if err := server.CheckAuth(cfg); err != nil {
			fmt.Fprintf(c.stderr, "%s: %v\n", cfg.File, err)
			return exitUsage
		}
		if err := server.CheckAudit(cfg); err != nil {
			fmt.Fprintf(c.stderr, "%s: %v\n", cfg.File, err)
			return exitUsage
		}
		if err := server.CheckTLS(cfg); err != nil {
			key := "secureClientPort"
			if cfg.SecureClientPort == 0 {
				key = "client.portUnification"
			}
			fmt.Fprintf(c.stderr, "%s: %s: %v\n", cfg.File, key, err)
			return exitUsage
		}
		if len(cfg.Servers) > 0 {
			if _, err := quorum.QuorumTLS(cfg); err != nil {
				fmt.Fprintf(c.stderr, "%s: %v\n", cfg.File, err)
				return exitUsage
			}
		}
	}
	switch o.cmd {
	case "start-foreground":
		return c.startForeground(cfg)
	case "start":
		return c.start(cfg, o)
	case "stop":
		return c.stop(cfg)
	case "restart":
		c.stop(cfg) // zkServer.sh restarts whether or not stop found a server
		return c.start(cfg, o)
	default:
		return c.status(cfg)
	}
}

// loadConfig reads zoo.cfg (or the embedded defaults) and applies the -D
// words of SERVER_JVMFLAGS, printing "Using config:" as zkServer.sh does.
func (c *cli) loadConfig(o options) (*config.Config, error) {
	props := config.ParseJVMFlags(c.getenv("SERVER_JVMFLAGS"))
	if d := c.getenv("ZOO_LOG_DIR"); d != "" {
		// zkServer.sh passes -Dzookeeper.log.dir=$ZOO_LOG_DIR: the audit log goes there.
		if _, ok := props["zookeeper.log.dir"]; !ok {
			props["zookeeper.log.dir"] = d
		}
	}
	if o.configPath != "" {
		fmt.Fprintf(c.stderr, "Using config: %s\n", o.configPath)
		return config.Parse(o.configPath, config.WithSystemProps(props))
	}
	fmt.Fprintf(c.stderr, "Using config: (defaults) dataDir=%s clientPort=%d\n", o.dataDir, o.clientPort)
	cfg := config.Default()
	cfg.DataDir = o.dataDir
	cfg.ClientPort = o.clientPort
	cfg.ApplySystemProps(props)
	return cfg, cfg.Validate()
}

// logTimeFormat is RFC 3339 with milliseconds.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// logger writes to stderr (zookeeper.out under "start"): human-readable lines by default,
// one JSON object per line with ZKGO_LOG_FORMAT=json; ZKGO_LOG_LEVEL sets the level
// (debug, info, warn, error; info by default).
func (c *cli) logger() zerolog.Logger {
	level := zerolog.InfoLevel
	if l, err := zerolog.ParseLevel(strings.ToLower(c.getenv("ZKGO_LOG_LEVEL"))); err == nil && l != zerolog.NoLevel {
		level = l
	}
	// Milliseconds, as Apache ZooKeeper's log4j pattern has them: elections and failovers
	// happen within a second.
	zerolog.TimeFieldFormat = logTimeFormat
	if strings.EqualFold(c.getenv("ZKGO_LOG_FORMAT"), "json") {
		return zerolog.New(c.stderr).Level(level).With().Timestamp().Logger()
	}
	// No colour escapes in zookeeper.out or a pipe.
	noColor := true
	if f, ok := c.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			noColor = false
		}
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: c.stderr, TimeFormat: logTimeFormat, NoColor: noColor}).
		Level(level).With().Timestamp().Logger()
}

// startForeground runs the server until SIGINT/SIGTERM.
func (c *cli) startForeground(cfg *config.Config) int {
	log := c.logger()
	procs, local := shareProcs(c.getenv, cfg, isLocalHost)
	if procs > 0 {
		log.Info().Int("members_on_this_host", local).Int("gomaxprocs", procs).
			Msg("ensemble members share this host's CPUs: GOMAXPROCS set to this member's share (set GOMAXPROCS to override)")
	}
	if local >= 2 {
		server.YieldReads(true)
		log.Info().Int("members_on_this_host", local).
			Msg("ensemble members share this host's CPUs: this member yields its CPU in stretches of reads (no write in between or in flight)")
	}
	if procs := standaloneProcs(c.getenv, cfg); procs > 0 {
		log.Info().Int("gomaxprocs", procs).Int("cpus", startProcs).
			Msg("standalone on a small host: GOMAXPROCS set to 1, log syncs through AIO (set GOMAXPROCS to override)")
	}
	ctx := c.signals
	if ctx == nil {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	if err := serve(ctx, cfg, log, c.newServer); err != nil {
		log.Error().Err(err).Msg("server failed")
		return exitFailed
	}
	return exitOK
}

// serve builds and starts the server, waits for ctx, then closes it.
func serve(ctx context.Context, cfg *config.Config, log zerolog.Logger,
	newServer func(*config.Config, zerolog.Logger) (zkServer, error)) error {
	srv, err := newServer(cfg, log)
	if err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	addr := "?"
	if a := srv.Addr(); a != nil {
		addr = a.String()
	}
	log.Info().Msgf("serving on %s", addr)
	var fatal <-chan error
	if f, ok := srv.(interface{ Fatal() <-chan error }); ok {
		fatal = f.Fatal()
	}
	select {
	case <-ctx.Done():
	case err := <-fatal:
		srv.Close()
		return err
	}
	log.Info().Msg("shutting down")
	if err := srv.Close(); err != nil {
		return fmt.Errorf("close server: %w", err)
	}
	return nil
}

// pidFile is $ZOOPIDFILE or <dataDir>/zookeeper_server.pid (zkServer.sh).
func (c *cli) pidFile(cfg *config.Config) string {
	if p := c.getenv("ZOOPIDFILE"); p != "" {
		return p
	}
	return filepath.Join(cfg.DataDir, "zookeeper_server.pid")
}

// outFile is where "start" sends the server's stdout and stderr.
func (c *cli) outFile(cfg *config.Config) string {
	if d := c.getenv("ZOO_LOG_DIR"); d != "" {
		return filepath.Join(d, "zookeeper.out")
	}
	return filepath.Join(cfg.DataDir, "zookeeper.out")
}

// readPid returns the pid in path; ok is false when the file is missing.
func readPid(path string) (pid int, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	pid, err = strconv.Atoi(string(trimSpace(data)))
	if err != nil || pid <= 0 {
		return 0, true, fmt.Errorf("%s: invalid pid %q", path, data)
	}
	return pid, true, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// alive is "kill -0 pid".
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
