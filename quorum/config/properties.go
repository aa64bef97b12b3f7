package config

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// property is one key/value pair of a java.util.Properties file, with the
// natural line its logical line starts on (for error messages).
type property struct {
	key, value string
	line       int
}

// loadProperties reads data the way java.util.Properties.load(InputStream)
// does (JDK 9+ LineReader and load0): '#'/'!' comment lines, blank lines,
// "key=value", "key: value" and "key value", leading whitespace stripped,
// a line ending in an odd number of backslashes continues on the next one
// (whose leading whitespace is dropped), and \t \n \r \f \uXXXX escapes.
//
// One deliberate difference: Java decodes the file as ISO-8859-1, so UTF-8
// text in zoo.cfg turns into mojibake there. Bytes are passed through here,
// which is what every operator writing a UTF-8 path means.
//
// Keys repeat as in a Hashtable: the last one wins; the result keeps file
// order of the surviving entries.
func loadProperties(data []byte) ([]property, error) {
	var props []property
	index := map[string]int{}
	for _, ll := range logicalLines(data) {
		key, value, err := splitKeyValue(ll.text)
		if err != nil {
			return nil, &Error{Line: ll.line, Msg: err.Error()}
		}
		p := property{key: key, value: value, line: ll.line}
		if i, ok := index[key]; ok {
			props[i].line = -1 // superseded, dropped below
		}
		index[key] = len(props)
		props = append(props, p)
	}
	out := props[:0]
	for _, p := range props {
		if p.line != -1 {
			out = append(out, p)
		}
	}
	return out, nil
}

type logicalLine struct {
	text []byte
	line int
	end  int // natural line the logical line ends on (continuations)
}

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// logicalLines mirrors the state machine of Properties.LineReader.
func logicalLines(data []byte) []logicalLine {
	var (
		out                []logicalLine
		buf                []byte
		start              int
		skipWhiteSpace     = true
		appendedLineBegin  = false
		precedingBackslash = false
		skipLF             = false
		lineNo             = 1
	)
	emit := func(end int) {
		out = append(out, logicalLine{text: append([]byte(nil), buf...), line: start, end: end})
		buf = buf[:0]
		skipWhiteSpace, appendedLineBegin, precedingBackslash = true, false, false
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		cur := lineNo
		// Natural line numbering: \n, \r and \r\n each end one line.
		if c == '\r' || (c == '\n' && (i == 0 || data[i-1] != '\r')) {
			lineNo++
		}
		if skipLF {
			skipLF = false
			if c == '\n' {
				continue
			}
		}
		if skipWhiteSpace {
			if isPropSpace(c) {
				continue
			}
			if !appendedLineBegin && (c == '\r' || c == '\n') {
				continue
			}
			skipWhiteSpace, appendedLineBegin = false, false
		}
		if len(buf) == 0 && (c == '#' || c == '!') {
			// A comment runs to the end of the natural line; it never continues.
			for i+1 < len(data) && data[i+1] != '\n' && data[i+1] != '\r' {
				i++
			}
			skipWhiteSpace = true
			continue
		}
		if c != '\n' && c != '\r' {
			if len(buf) == 0 {
				start = cur
			}
			buf = append(buf, c)
			if c == '\\' {
				precedingBackslash = !precedingBackslash
			} else {
				precedingBackslash = false
			}
			continue
		}
		// End of a natural line.
		if len(buf) == 0 {
			skipWhiteSpace = true
			continue
		}
		if precedingBackslash {
			buf = buf[:len(buf)-1]
			skipWhiteSpace, appendedLineBegin, precedingBackslash = true, true, false
			if c == '\r' {
				skipLF = true
			}
			continue
		}
		emit(cur)
	}
	if len(buf) > 0 {
		if precedingBackslash { // a backslash at EOF is dropped, as in Java
			buf = buf[:len(buf)-1]
		}
		emit(lineNo)
	}
	return out
}

// splitKeyValue is Properties.load0 for one logical line.
func splitKeyValue(line []byte) (string, string, error) {
	limit := len(line)
	keyLen, valueStart := 0, limit
	hasSep, precedingBackslash := false, false
	for keyLen < limit {
		c := line[keyLen]
		if (c == '=' || c == ':') && !precedingBackslash {
			valueStart, hasSep = keyLen+1, true
			break
		} else if isPropSpace(c) && !precedingBackslash {
			valueStart = keyLen + 1
			break
		}
		if c == '\\' {
			precedingBackslash = !precedingBackslash
		} else {
			precedingBackslash = false
		}
		keyLen++
	}
	for valueStart < limit {
		c := line[valueStart]
		if !isPropSpace(c) {
			if !hasSep && (c == '=' || c == ':') {
				hasSep = true
			} else {
				break
			}
		}
		valueStart++
	}
	key, err := unescape(line[:keyLen])
	if err != nil {
		return "", "", err
	}
	value, err := unescape(line[valueStart:])
	if err != nil {
		return "", "", err
	}
	return key, value, nil
}

// unescape is Properties.loadConvert: \uXXXX (UTF-16, so surrogate pairs
// combine), \t \r \n \f, and a backslash before any other byte drops out.
func unescape(in []byte) (string, error) {
	out := make([]byte, 0, len(in))
	var pendingHigh rune = -1 // high surrogate waiting for its low half
	flush := func() {
		if pendingHigh >= 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' || i+1 >= len(in) {
			flush()
			out = append(out, c)
			continue
		}
		i++
		c = in[i]
		if c != 'u' {
			flush()
			switch c {
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			case 'n':
				c = '\n'
			case 'f':
				c = '\f'
			}
			out = append(out, c)
			continue
		}
		if i+4 >= len(in) { // needs four hex digits after the 'u'
			return "", fmt.Errorf("malformed \\uxxxx encoding")
		}
		var r rune
		for _, h := range in[i+1 : i+5] {
			switch {
			case h >= '0' && h <= '9':
				r = r<<4 | rune(h-'0')
			case h >= 'a' && h <= 'f':
				r = r<<4 | rune(h-'a'+10)
			case h >= 'A' && h <= 'F':
				r = r<<4 | rune(h-'A'+10)
			default:
				return "", fmt.Errorf("malformed \\uxxxx encoding")
			}
		}
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00:
			flush()
			pendingHigh = r
		case utf16.IsSurrogate(r) && pendingHigh >= 0:
			out = utf8.AppendRune(out, utf16.DecodeRune(pendingHigh, r))
			pendingHigh = -1
		default:
			flush()
			out = utf8.AppendRune(out, r)
		}
	}
	flush()
	return string(out), nil
}
