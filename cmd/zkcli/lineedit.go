package main

import (
	"bufio"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// lineReader reads one edited line after showing a prompt (jline's ConsoleReader.readLine).
type lineReader interface {
	ReadLine(prompt string) (string, error)
}

// editor is a small line editor for a terminal: the terminal is in raw mode only while a
// line is being read, so command output and watch events print normally in between.
// Keys: left/right, Home/End, ctrl-a/ctrl-e, backspace, Delete, ctrl-k/ctrl-u/ctrl-w,
// up/down (history), ctrl-c (discard the line), ctrl-d (end of input on an empty line).
type editor struct {
	fd      int
	in      *bufio.Reader
	out     io.Writer
	history []string
}

// newTerminalEditor returns an editor if f is a terminal, else nil.
func newTerminalEditor(f *os.File, out io.Writer) *editor {
	fd := int(f.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return nil
	}
	return &editor{fd: fd, in: bufio.NewReader(f), out: out}
}

func (e *editor) rawMode() (restore func(), err error) {
	old, err := unix.IoctlGetTermios(e.fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(e.fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(e.fd, unix.TCSETS, old) }, nil
}

// lineState is the line being edited; it does no I/O, so it is tested on its own.
type lineState struct {
	buf     []rune
	pos     int
	history []string
	hpos    int    // index in history while browsing; len(history) = the new line
	saved   string // the new line while browsing history
}

func (l *lineState) insert(r rune) {
	l.buf = append(l.buf[:l.pos], append([]rune{r}, l.buf[l.pos:]...)...)
	l.pos++
}

func (l *lineState) backspace() {
	if l.pos > 0 {
		l.buf = append(l.buf[:l.pos-1], l.buf[l.pos:]...)
		l.pos--
	}
}

func (l *lineState) del() {
	if l.pos < len(l.buf) {
		l.buf = append(l.buf[:l.pos], l.buf[l.pos+1:]...)
	}
}

func (l *lineState) left() {
	if l.pos > 0 {
		l.pos--
	}
}

func (l *lineState) right() {
	if l.pos < len(l.buf) {
		l.pos++
	}
}

func (l *lineState) home() { l.pos = 0 }
func (l *lineState) end()  { l.pos = len(l.buf) }

func (l *lineState) killToEnd()   { l.buf = l.buf[:l.pos] }
func (l *lineState) killToStart() { l.buf = append([]rune{}, l.buf[l.pos:]...); l.pos = 0 }

func (l *lineState) killWord() {
	i := l.pos
	for i > 0 && l.buf[i-1] == ' ' {
		i--
	}
	for i > 0 && l.buf[i-1] != ' ' {
		i--
	}
	l.buf = append(l.buf[:i], l.buf[l.pos:]...)
	l.pos = i
}

func (l *lineState) set(s string) {
	l.buf = []rune(s)
	l.pos = len(l.buf)
}

func (l *lineState) up() {
	if l.hpos == 0 {
		return
	}
	if l.hpos == len(l.history) {
		l.saved = string(l.buf)
	}
	l.hpos--
	l.set(l.history[l.hpos])
}

func (l *lineState) down() {
	if l.hpos >= len(l.history) {
		return
	}
	l.hpos++
	if l.hpos == len(l.history) {
		l.set(l.saved)
	} else {
		l.set(l.history[l.hpos])
	}
}

func (l *lineState) String() string { return string(l.buf) }

// key applies one key (a rune, or an escape sequence name) and reports whether the line is
// complete ("enter") or input ended ("eof").
func (l *lineState) key(k string) (done, eof bool) {
	switch k {
	case "enter":
		return true, false
	case "eof":
		if len(l.buf) == 0 {
			return false, true
		}
		l.del()
	case "left":
		l.left()
	case "right":
		l.right()
	case "home":
		l.home()
	case "end":
		l.end()
	case "up":
		l.up()
	case "down":
		l.down()
	case "backspace":
		l.backspace()
	case "delete":
		l.del()
	case "kill-end":
		l.killToEnd()
	case "kill-start":
		l.killToStart()
	case "kill-word":
		l.killWord()
	case "interrupt":
		l.buf, l.pos = nil, 0
	default:
		r, _ := utf8.DecodeRuneInString(k)
		if r >= ' ' && r != 0x7f {
			l.insert(r)
		}
	}
	return false, false
}

// readKey reads one key from the terminal.
func (e *editor) readKey() (string, error) {
	b, err := e.in.ReadByte()
	if err != nil {
		return "", err
	}
	switch b {
	case '\r', '\n':
		return "enter", nil
	case 1:
		return "home", nil
	case 2:
		return "left", nil
	case 3:
		return "interrupt", nil
	case 4:
		return "eof", nil
	case 5:
		return "end", nil
	case 6:
		return "right", nil
	case 8, 0x7f:
		return "backspace", nil
	case 11:
		return "kill-end", nil
	case 14:
		return "down", nil
	case 16:
		return "up", nil
	case 21:
		return "kill-start", nil
	case 23:
		return "kill-word", nil
	case 0x1b:
		return e.readEscape()
	}
	if b < utf8.RuneSelf {
		return string(rune(b)), nil
	}
	buf := []byte{b}
	for !utf8.FullRune(buf) && len(buf) < utf8.UTFMax {
		c, err := e.in.ReadByte()
		if err != nil {
			return "", err
		}
		buf = append(buf, c)
	}
	return string(buf), nil
}

func (e *editor) readEscape() (string, error) {
	b, err := e.in.ReadByte()
	if err != nil {
		return "", err
	}
	if b != '[' && b != 'O' {
		return "", nil
	}
	var seq []byte
	for {
		c, err := e.in.ReadByte()
		if err != nil {
			return "", err
		}
		seq = append(seq, c)
		if c >= 0x40 && c <= 0x7e {
			break
		}
	}
	k := string(seq)
	if last := k[len(k)-1]; last != '~' {
		k = string(last) // "1;5C" (ctrl-right), "3C": the final letter names the key
	}
	switch k {
	case "A":
		return "up", nil
	case "B":
		return "down", nil
	case "C":
		return "right", nil
	case "D":
		return "left", nil
	case "H", "1~", "7~":
		return "home", nil
	case "F", "4~", "8~":
		return "end", nil
	case "3~":
		return "delete", nil
	}
	return "", nil
}

func (e *editor) refresh(prompt string, l *lineState) {
	var b strings.Builder
	b.WriteString("\r")
	b.WriteString(prompt)
	b.WriteString(l.String())
	b.WriteString("\x1b[K")
	if back := len(l.buf) - l.pos; back > 0 {
		b.WriteString("\x1b[" + itoa(back) + "D")
	}
	_, _ = io.WriteString(e.out, b.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for n > 0 {
		d = append([]byte{byte('0' + n%10)}, d...)
		n /= 10
	}
	return string(d)
}

// ReadLine shows prompt and returns the edited line; io.EOF at the end of input.
func (e *editor) ReadLine(prompt string) (string, error) {
	restore, err := e.rawMode()
	if err != nil {
		return "", err
	}
	defer restore()
	l := &lineState{history: e.history, hpos: len(e.history)}
	e.refresh(prompt, l)
	for {
		k, err := e.readKey()
		if err != nil {
			_, _ = io.WriteString(e.out, "\r\n")
			return "", err
		}
		if k == "" {
			continue
		}
		done, eof := l.key(k)
		if eof {
			_, _ = io.WriteString(e.out, "\r\n")
			return "", io.EOF
		}
		if done {
			_, _ = io.WriteString(e.out, "\r\n")
			line := l.String()
			if strings.TrimSpace(line) != "" && (len(e.history) == 0 || e.history[len(e.history)-1] != line) {
				e.history = append(e.history, line)
			}
			return line, nil
		}
		e.refresh(prompt, l)
	}
}
