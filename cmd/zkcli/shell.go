package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkgo/zkgo/client"
)

// This file is zkCli's ZooKeeperMain: options, the read-eval loop, history/redo,
// printwatches, connect/close/quit, and the dispatch to the commands of commands.go.

// javaCLIVersion is what `version` prints: the build of ZooKeeper 3.8.0 in Debian's
// zookeeper package, whose zkCli.sh output this tool reproduces.
const javaCLIVersion = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"

// stream is a Java PrintStream with autoflush (System.out, System.err): output reaches the
// underlying writer at each newline; writes from several goroutines never interleave
// within one call.
type stream struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	if i := strings.LastIndexByte(string(s.buf), '\n'); i >= 0 {
		_, err := s.w.Write(s.buf[:i+1])
		s.buf = append(s.buf[:0], s.buf[i+1:]...)
		if err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

func (s *stream) println(a string) { _, _ = s.Write([]byte(a + "\n")) }

// flush writes a pending partial line.
func (s *stream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 {
		_, _ = s.w.Write(s.buf)
		s.buf = s.buf[:0]
	}
}

// cliError is a CliException: its message goes to stderr, its code becomes the exit status.
type cliError struct {
	msg  string
	code int
}

func (e *cliError) Error() string { return e.msg }

func malformed(msg string) error { return &cliError{msg, 1} }

// javaCrash is an exception zkCli does not catch: the JVM prints it and exits with 1.
type javaCrash struct{ class, msg string }

// exitSignal unwinds run() with an exit status (System.exit).
type exitSignal struct{ code int }

type shell struct {
	out, err *stream
	in       io.Reader
	tty      bool
	editor   lineReader

	opts    map[string]string
	command []string // batch command, nil for interactive

	mu   sync.Mutex
	zk   *client.Conn
	host string

	history      map[int]string
	commandCount int
	printWatches atomic.Bool
	exitCode     int
	lastArgs     []string // MyCommandOptions keeps the last parsed command

	connectWait time.Duration // -waitforconnection
}

// cliWatcher is zkCli's MyWatcher: every event printed as "\nWATCHER::\n\nWatchedEvent ...".
type cliWatcher struct {
	s     *shell
	latch chan struct{}
	once  sync.Once
}

func (w *cliWatcher) Process(e client.Event) {
	if w.s.printWatches.Load() {
		_, _ = w.s.out.Write([]byte("\nWATCHER::\n\n" + e.String() + "\n"))
	}
	if w.latch != nil && e.Type == client.EventNone && e.State == client.StateSyncConnected {
		w.once.Do(func() { close(w.latch) })
	}
}

func newShell(stdin io.Reader, stdout, stderr io.Writer, tty bool) *shell {
	s := &shell{
		out:     &stream{w: stdout},
		err:     &stream{w: stderr},
		in:      stdin,
		tty:     tty,
		opts:    map[string]string{"server": "localhost:2181", "timeout": "30000"},
		history: map[int]string{},
	}
	s.printWatches.Store(true)
	return s
}

// parseOptions is MyCommandOptions.parseOptions: flags, then an optional command.
func (s *shell) parseOptions(args []string) bool {
	for i := 0; i < len(args); i++ {
		opt := args[i]
		next := func() bool {
			if i+1 >= len(args) {
				s.err.println("Error: no argument found for option " + opt)
				return false
			}
			i++
			return true
		}
		switch opt {
		case "-server":
			if !next() {
				return false
			}
			s.opts["server"] = args[i]
		case "-timeout":
			if !next() {
				return false
			}
			s.opts["timeout"] = args[i]
		case "-r":
			s.opts["readonly"] = "true"
		case "-client-configuration":
			if !next() {
				return false
			}
			s.opts["client-configuration"] = args[i]
		case "-waitforconnection":
			s.opts["waitforconnection"] = "true"
		}
		if !strings.HasPrefix(opt, "-") {
			s.command = append([]string{}, args[i:]...)
			return true
		}
	}
	return true
}

// javaSpace is Java's \s, and argsPattern zkCli's ARGS_PATTERN: unquoted words, or
// "double" / 'single' quoted strings without the quote character inside.
var argsPattern = regexp.MustCompile(`[ \t\n\x0B\f\r]*([^"'][^ \t\n\x0B\f\r]*|"[^"]*"|'[^']*')[ \t\n\x0B\f\r]*`)

// parseCommand is MyCommandOptions.parseCommand; nil if the line has no word.
func parseCommand(line string) []string {
	var args []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		args = append(args, v)
	}
	return args
}

func (s *shell) conn() *client.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.zk
}

func (s *shell) alive() bool {
	zk := s.conn()
	return zk != nil && zk.State().IsAlive()
}

// connectToZK is ZooKeeperMain.connectToZK.
func (s *shell) connectToZK(host string) error {
	if zk := s.conn(); zk != nil && zk.State().IsAlive() {
		zk.Close()
	}
	timeout, err := strconv.ParseInt(s.opts["timeout"], 10, 32)
	if err != nil {
		panic(javaCrash{"java.lang.NumberFormatException", "For input string: \"" + s.opts["timeout"] + "\""})
	}
	w := &cliWatcher{s: s}
	if s.opts["waitforconnection"] != "" {
		w.latch = make(chan struct{})
	}
	zk, err := client.Connect([]string{host}, time.Duration(timeout)*time.Millisecond,
		client.WithWatcher(w), client.WithReadOnly(s.opts["readonly"] != ""))
	if err != nil {
		panic(javaCrash{"java.lang.IllegalArgumentException", "A HostProvider may not be empty!"})
	}
	s.mu.Lock()
	s.zk, s.host = zk, host
	s.mu.Unlock()
	if w.latch != nil {
		select {
		case <-w.latch:
		case <-time.After(time.Duration(timeout) * time.Millisecond):
			zk.Close()
			return &cliError{"java.io.IOException: org.apache.zookeeper.KeeperException$ConnectionLossException: KeeperErrorCode = ConnectionLoss", 1}
		}
	}
	return nil
}

func (s *shell) exit(code int) { panic(exitSignal{code}) }

// run is ZooKeeperMain.main: the whole program; it returns the exit status.
func (s *shell) run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case exitSignal:
				code = x.code
			case javaCrash:
				s.err.println("Exception in thread \"main\" " + x.class + ": " + x.msg)
				code = 1
			default:
				panic(r)
			}
		}
		s.out.flush()
		s.err.flush()
	}()
	s.parseOptions(args)
	s.out.println("Connecting to " + s.opts["server"])
	if err := s.connectToZK(s.opts["server"]); err != nil {
		panic(javaCrash{"java.io.IOException", strings.TrimPrefix(err.Error(), "java.io.IOException: ")})
	}
	if s.command == nil {
		s.out.println("Welcome to ZooKeeper!")
		if s.tty && s.editor != nil {
			s.out.println("JLine support is enabled")
			for {
				line, err := s.editor.ReadLine(s.prompt())
				if err != nil {
					break
				}
				s.executeLine(line)
			}
		} else {
			s.out.println("JLine support is disabled")
			br := bufio.NewReader(s.in)
			for {
				line, err := readJavaLine(br)
				if err != nil {
					break
				}
				s.executeLine(line)
			}
		}
	} else {
		s.processCmd(s.command)
	}
	s.exit(s.exitCode)
	return 0
}

// readJavaLine is BufferedReader.readLine: a line ends at \n, \r or \r\n.
func readJavaLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				return string(b), nil
			}
			return "", err
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			if n, err := br.Peek(1); err == nil && n[0] == '\n' {
				_, _ = br.ReadByte()
			}
			return string(b), nil
		}
		b = append(b, c)
	}
}

func (s *shell) prompt() string {
	state := "CLOSED"
	if zk := s.conn(); zk != nil {
		state = zk.State().String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return "[zk: " + s.host + "(" + state + ") " + strconv.Itoa(s.commandCount) + "] "
}

// executeLine is ZooKeeperMain.executeLine.
func (s *shell) executeLine(line string) {
	if line == "" {
		return
	}
	if args := parseCommand(line); args != nil {
		s.lastArgs = args
	}
	s.history[s.commandCount] = line
	s.processCmd(s.lastArgs)
	s.commandCount++
}

// processCmd runs one command and records its exit status.
func (s *shell) processCmd(args []string) {
	err := s.processZKCmd(args)
	if err == nil {
		s.exitCode = 0
		return
	}
	var ce *cliError
	if errors.As(err, &ce) {
		s.exitCode = ce.code
		s.err.println(ce.msg)
		return
	}
	s.exitCode = 1
	s.err.println(err.Error())
}

func (s *shell) usage() {
	s.err.println("ZooKeeper -server host:port -client-configuration properties-file cmd args")
	names := commandNames()
	for _, n := range names {
		s.err.println("\t" + n + " " + commandOptions(n))
	}
}

// processZKCmd is ZooKeeperMain.processZKCmd.
func (s *shell) processZKCmd(args []string) error {
	if len(args) < 1 {
		s.usage()
		return malformed("No command entered")
	}
	cmd := args[0]
	if !isCommand(cmd) {
		s.usage()
		return &cliError{"Command not found: Command not found " + cmd, 127}
	}
	switch {
	case cmd == "quit":
		if zk := s.conn(); zk != nil {
			zk.Close()
		}
		s.exit(s.exitCode)
	case cmd == "redo" && len(args) >= 2:
		i, ok := javaDecode(args[1])
		if !ok {
			panic(javaCrash{"java.lang.NumberFormatException", "For input string: \"" + args[1] + "\""})
		}
		if s.commandCount <= i || i < 0 {
			return malformed("Command index out of range")
		}
		redo := parseCommand(s.history[i])
		if redo != nil {
			s.lastArgs = redo
		}
		if len(s.lastArgs) > 0 && s.lastArgs[0] == "redo" {
			return malformed("No redoing redos")
		}
		s.history[s.commandCount] = s.history[i]
		s.processCmd(s.lastArgs)
	case cmd == "history":
		for i := s.commandCount - 10; i <= s.commandCount; i++ {
			if i < 0 {
				continue
			}
			h, ok := s.history[i]
			if !ok {
				h = "null"
			}
			s.out.println(strconv.Itoa(i) + " - " + h)
		}
	case cmd == "printwatches":
		if len(args) == 1 {
			if s.printWatches.Load() {
				s.out.println("printwatches is on")
			} else {
				s.out.println("printwatches is off")
			}
		} else {
			s.printWatches.Store(args[1] == "on")
		}
	case cmd == "connect":
		host := s.host
		if len(args) >= 2 {
			host = args[1]
		}
		if err := s.connectToZK(host); err != nil {
			return err
		}
	}
	if !s.alive() {
		s.out.println("Not connected")
		return nil
	}
	if c, ok := commands[cmd]; ok {
		return c.run(s, append([]string{}, args...))
	}
	return nil
}

// javaDecode is Integer.decode: decimal, 0x/0X/# hex, leading-0 octal, optional sign.
func javaDecode(s string) (int, bool) {
	t, neg := s, false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "#"):
		base, t = 16, t[1:]
	case strings.HasPrefix(t, "0") && len(t) > 1:
		base, t = 8, t[1:]
	}
	if t == "" || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		return 0, false
	}
	v, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, false
	}
	return int(v), true
}

func fprintf(w io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
