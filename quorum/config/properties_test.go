package config

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The expectations below were produced by java.util.Properties.load on
// OpenJDK 17 for the same bytes.
func TestLoadPropertiesMatchesJava(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"separators and comments", "a=b\n  c : d  \ne f\n#x=y\n  !z=w\ng\n", "[a]=[b] [c]=[d  ] [e]=[f] [g]=[]"},
		{"continuation", "a=b\\\n   c\\\n\nd=e\\\\\nf=g\n", "[a]=[bc] [d]=[e\\] [f]=[g]"},
		{"escapes", "k\\ ey=v\\u0041\\t\\q\nx\\=y=z\n:novalue\n=empty\n", "[]=[empty] [k ey]=[vA\tq] [x=y]=[z]"},
		{"CR and CRLF, backslash at EOF", "a=1\r\nb=2\\\r\n  3\rc=4\\", "[a]=[1] [b]=[23] [c]=[4]"},
		{"comment after empty continuation", "\\\n#notcomment=1\nb\\\n  #c=2\n a\t\f= =b\n", "[a]=[=b] [b#c]=[2]"},
		{"empty line ends continuation", "a=b\\\n\nc=d\\\n \\\n e\n", "[a]=[b] [c]=[de]"},
		{"last duplicate wins", "a=x\na=y\nkey   =   val   \n", "[a]=[y] [key]=[val   ]"},
		{"surrogate pair", "a=\\uD83D\\uDE00!\n", "[a]=[\U0001F600!]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props, err := loadProperties([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := render(props); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func render(props []property) string {
	var parts []string
	for _, p := range props {
		parts = append(parts, fmt.Sprintf("[%s]=[%s]", p.key, p.value))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestLoadPropertiesErrorsAndLines(t *testing.T) {
	_, err := loadProperties([]byte("a=1\n\nb=\\u12\n"))
	if err == nil || !strings.Contains(err.Error(), ":3: malformed \\uxxxx encoding") {
		t.Errorf("short \\u escape: got %v", err)
	}
	props, err := loadProperties([]byte("# c\n\n  a=1\\\n  2\r\nb=3\rc=4\n"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	for _, p := range props {
		lines[p.key] = p.line
	}
	want := map[string]int{"a": 3, "b": 5, "c": 6}
	for k, l := range want {
		if lines[k] != l {
			t.Errorf("line of %s = %d, want %d", k, lines[k], l)
		}
	}
}
