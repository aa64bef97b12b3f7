package server

import (
	"fmt"
	"net/url"
	"os"
	"os/user"
	"strings"
)

// JAAS login configuration files (the syntax of the JDK's default
// javax.security.auth.login.Configuration, sun.security.provider.ConfigFile):
//
//	Name {
//	    module.Class  required|requisite|sufficient|optional  key=value ... ;
//	    ...
//	};
//
// The file is read with the JDK's java.io.StreamTokenizer settings: words are letters,
// digits, '.', '$', '_', '-', '*' and non-ASCII letters; values may be double-quoted (with
// Java escapes); comments are // ... and /* ... */ (a lone '/' also starts a line comment);
// a token that starts like a number, a single-quoted string, '#' and other punctuation are
// syntax errors. Option values expand ${property} from the system properties.

// jaasEntry is one login module line (AppConfigurationEntry).
type jaasEntry struct {
	Module  string
	Flag    string // REQUIRED, REQUISITE, SUFFICIENT or OPTIONAL
	Options map[string]string
}

// jaasConfig maps application (section) names to their entries.
type jaasConfig map[string][]jaasEntry

type jaasTokKind int

const (
	jtEOF jaasTokKind = iota
	jtWord
	jtQuoted // a "double-quoted" string
	jtNumber
	jtOther // ordinary character (punctuation, or a 'single-quoted' string)
)

type jaasTok struct {
	kind jaasTokKind
	s    string // word / string text
	c    rune   // ordinary character
	line int
}

func (t jaasTok) String() string {
	switch t.kind {
	case jtEOF:
		return "end of file"
	case jtWord, jtQuoted:
		return t.s
	case jtNumber:
		return "number " + t.s
	}
	return string(t.c)
}

type jaasLexer struct {
	src  []rune
	pos  int
	line int
}

const jaasEOF = -1

func (l *jaasLexer) read() rune {
	if l.pos >= len(l.src) {
		l.pos++ // so that unread after EOF stays balanced
		return jaasEOF
	}
	c := l.src[l.pos]
	l.pos++
	return c
}

func (l *jaasLexer) unread() { l.pos-- }

func jaasIsSpace(c rune) bool { return c >= 0 && c <= ' ' }

func jaasIsDigit(c rune) bool { return (c >= '0' && c <= '9') || c == '.' || c == '-' }

func jaasIsAlpha(c rune) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= 160:
		return true
	}
	return c == '$' || c == '_' || c == '-' || c == '*'
}

func (l *jaasLexer) skipLine() {
	for {
		c := l.read()
		if c == jaasEOF || c == '\n' || c == '\r' {
			l.unread()
			return
		}
	}
}

// next returns the next token (StreamTokenizer.nextToken with ConfigFile's settings).
func (l *jaasLexer) next() jaasTok {
	for {
		c := l.read()
		for jaasIsSpace(c) {
			if c == '\n' {
				l.line++
			}
			c = l.read()
		}
		if c == jaasEOF {
			return jaasTok{kind: jtEOF, line: l.line}
		}
		start := l.pos - 1
		if jaasIsDigit(c) {
			if c == '-' {
				c2 := l.read()
				if c2 != '.' && (c2 < '0' || c2 > '9') {
					l.unread()
					return jaasTok{kind: jtOther, c: '-', line: l.line}
				}
				c = c2
			}
			seenDot := false
			for (c >= '0' && c <= '9') || (c == '.' && !seenDot) {
				if c == '.' {
					seenDot = true
				}
				c = l.read()
			}
			l.unread()
			return jaasTok{kind: jtNumber, s: string(l.src[start:min(l.pos, len(l.src))]), line: l.line}
		}
		if jaasIsAlpha(c) {
			for jaasIsAlpha(c) || jaasIsDigit(c) {
				c = l.read()
			}
			l.unread()
			return jaasTok{kind: jtWord, s: string(l.src[start:min(l.pos, len(l.src))]), line: l.line}
		}
		if c == '"' || c == '\'' {
			s := l.quoted(c)
			if c == '"' {
				return jaasTok{kind: jtQuoted, s: s, line: l.line}
			}
			return jaasTok{kind: jtOther, c: '\'', s: s, line: l.line}
		}
		if c == '/' {
			c2 := l.read()
			switch c2 {
			case '*':
				prev := rune(0)
				for {
					c = l.read()
					if c == jaasEOF {
						return jaasTok{kind: jtEOF, line: l.line}
					}
					if c == '\n' {
						l.line++
					}
					if c == '/' && prev == '*' {
						break
					}
					prev = c
				}
			case '/':
				l.skipLine()
			default:
				// '/' is also the tokenizer's comment character: the rest of the line
				// (after the character already read) is a comment.
				// Like the JDK, this skips the next line too when '/' ends a line.
				if c2 == jaasEOF {
					l.unread()
				} else {
					if c2 == '\n' {
						l.line++
					}
					l.skipLine()
				}
			}
			continue
		}
		return jaasTok{kind: jtOther, c: c, line: l.line}
	}
}

// quoted reads a quoted string up to the closing quote, a line end or the end of the file,
// with Java's escapes (\n \t \b \f \r \a \v, octal, and \x for any other x).
func (l *jaasLexer) quoted(q rune) string {
	var b strings.Builder
	for {
		c := l.read()
		switch {
		case c == q:
			return b.String()
		case c == jaasEOF || c == '\n' || c == '\r':
			l.unread()
			return b.String()
		case c == '\\':
			c = l.read()
			switch {
			case c >= '0' && c <= '7':
				first := c
				v := c - '0'
				if c2 := l.read(); c2 >= '0' && c2 <= '7' {
					v = v<<3 + (c2 - '0')
					if c3 := l.read(); c3 >= '0' && c3 <= '7' && first <= '3' {
						v = v<<3 + (c3 - '0')
					} else {
						l.unread()
					}
				} else {
					l.unread()
				}
				c = v
			case c == 'a':
				c = 7
			case c == 'b':
				c = '\b'
			case c == 'f':
				c = '\f'
			case c == 'n':
				c = '\n'
			case c == 'r':
				c = '\r'
			case c == 't':
				c = '\t'
			case c == 'v':
				c = '\v'
			case c == jaasEOF:
				l.unread()
				return b.String()
			}
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
}

// parseJAAS parses a whole login configuration file. lookup resolves ${name} in option
// values (System.getProperty); nil means no properties.
func parseJAAS(text string, lookup func(string) (string, bool)) (jaasConfig, error) {
	p := &jaasParser{lex: &jaasLexer{src: []rune(text), line: 1}, lookup: lookup}
	p.tok = p.lex.next()
	cfg := jaasConfig{}
	for p.tok.kind != jtEOF {
		if err := p.entry(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

type jaasParser struct {
	lex    *jaasLexer
	tok    jaasTok
	lookup func(string) (string, bool)
}

func (p *jaasParser) errf(format string, args ...any) error {
	return fmt.Errorf("JAAS configuration line %d: %s", p.tok.line, fmt.Sprintf(format, args...))
}

func (p *jaasParser) isChar(c rune) bool { return p.tok.kind == jtOther && p.tok.c == c }

// text consumes a word or double-quoted string.
func (p *jaasParser) text(what string) (string, error) {
	if p.tok.kind != jtWord && p.tok.kind != jtQuoted {
		return "", p.errf("expected [%s], found [%s]", what, p.tok)
	}
	s := p.tok.s
	p.tok = p.lex.next()
	return s, nil
}

func (p *jaasParser) char(c rune) error {
	if !p.isChar(c) {
		return p.errf("expected [%c], found [%s]", c, p.tok)
	}
	p.tok = p.lex.next()
	return nil
}

func (p *jaasParser) entry(cfg jaasConfig) error {
	name, err := p.text("application name")
	if err != nil {
		return err
	}
	if err := p.char('{'); err != nil {
		return err
	}
	var entries []jaasEntry
	for !p.isChar('}') {
		module, err := p.text("module class name")
		if err != nil {
			return err
		}
		flag, err := p.text("controlFlag")
		if err != nil {
			return err
		}
		switch f := strings.ToUpper(flag); f {
		case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
			flag = f
		default:
			return p.errf("Invalid control flag, %s", flag)
		}
		opts := map[string]string{}
		for !p.isChar(';') {
			key, err := p.text("option key")
			if err != nil {
				return err
			}
			if err := p.char('='); err != nil {
				return err
			}
			line := p.tok.line
			val, err := p.text("option value")
			if err != nil {
				return err
			}
			if val, err = expandJavaProps(val, p.lookup); err != nil {
				return fmt.Errorf("JAAS configuration line %d: %w", line, err)
			}
			opts[key] = val
		}
		p.tok = p.lex.next()
		entries = append(entries, jaasEntry{Module: module, Flag: flag, Options: opts})
	}
	p.tok = p.lex.next()
	if err := p.char(';'); err != nil {
		return err
	}
	if _, dup := cfg[name]; dup {
		return p.errf("Can not specify multiple entries for %s", name)
	}
	cfg[name] = entries
	return nil
}

// expandJavaProps expands ${name} (and ${/}) as sun.security.util.PropertyExpander does;
// ${{...}} is left alone. A property that is not set is an error, and so is a value that
// expands to nothing.
func expandJavaProps(v string, lookup func(string) (string, bool)) (string, error) {
	if v == "" || !strings.Contains(v, "${") {
		return v, nil
	}
	var b strings.Builder
	i := 0
	for {
		p := strings.Index(v[i:], "${")
		if p < 0 {
			b.WriteString(v[i:])
			break
		}
		p += i
		b.WriteString(v[i:p])
		if p+2 < len(v) && v[p+2] == '{' {
			e := strings.Index(v[p+2:], "}}")
			if e < 0 || p+2+e+2 == len(v) {
				b.WriteString(v[p:])
				break
			}
			e += p + 2
			b.WriteString(v[p : e+2])
			i = e + 2
			continue
		}
		e := strings.IndexByte(v[p+2:], '}')
		if e < 0 {
			b.WriteString(v[p:])
			break
		}
		e += p + 2
		name := v[p+2 : e]
		if name == "/" {
			b.WriteByte(os.PathSeparator)
		} else {
			val, ok := "", false
			if lookup != nil {
				val, ok = lookup(name)
			}
			if !ok {
				return "", fmt.Errorf("unable to expand property %s", name)
			}
			b.WriteString(val)
		}
		i = e + 1
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("system property value expanded to empty value: %s", v)
	}
	return b.String(), nil
}

// javaDefaultProp supplies the JVM's own system properties that a JAAS file may reference.
func javaDefaultProp(name string) (string, bool) {
	switch name {
	case "user.home":
		if h, err := os.UserHomeDir(); err == nil {
			return h, true
		}
	case "user.dir":
		if d, err := os.Getwd(); err == nil {
			return d, true
		}
	case "user.name":
		if u, err := user.Current(); err == nil {
			return u.Username, true
		}
	case "java.io.tmpdir":
		return "/tmp", true
	case "file.separator":
		return string(os.PathSeparator), true
	case "path.separator":
		return string(os.PathListSeparator), true
	case "line.separator":
		return "\n", true
	}
	return "", false
}

// jaasFilePath turns java.security.auth.login.config into a file name: a leading '='
// ("==file": use only this file) is dropped, and file: URLs are accepted.
func jaasFilePath(v string) string {
	v = strings.TrimPrefix(v, "=")
	if strings.HasPrefix(strings.ToLower(v), "file:") {
		if _, err := os.Stat(v); err == nil {
			return v
		}
		if u, err := url.Parse(v); err == nil && u.Path != "" {
			return u.Path
		}
		return v[len("file:"):]
	}
	return v
}
