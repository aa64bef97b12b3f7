package server

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zkgo/zkgo/quorum/config"
)

func testJAASLookup(props map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if v, ok := props[k]; ok {
			return v, true
		}
		return javaDefaultProp(k)
	}
}

// Expected values were checked against the JDK 17 javax.security.auth.login.Configuration
// reading the same files.
func TestSASLJAASParseFull(t *testing.T) {
	text, err := os.ReadFile("testdata/jaas_full.conf")
	if err != nil {
		t.Fatal(err)
	}
	jc, err := parseJAAS(string(text), testJAASLookup(map[string]string{"carol.password": "c4rol", "user.name": "root"}))
	if err != nil {
		t.Fatal(err)
	}
	want := jaasConfig{
		"Client": {{Module: "org.apache.zookeeper.server.auth.DigestLoginModule", Flag: "REQUIRED",
			Options: map[string]string{"username": "bob", "password": "bobsecret"}}},
		"Server": {
			{Module: "org.apache.zookeeper.server.auth.DigestLoginModule", Flag: "REQUIRED",
				Options: map[string]string{"user_alice": "alice secret", "user_bob": "bobsecret", "user_quote": "a\"b\\c\tz", "debug": "true"}},
			{Module: "com.example.OtherModule", Flag: "OPTIONAL",
				Options: map[string]string{"user_carol": "c4rol", "user_home": "root/x", "user_bob": "from the second module"}},
		},
		"Quorum Server": {{Module: "org.apache.zookeeper.server.auth.DigestLoginModule", Flag: "SUFFICIENT",
			Options: map[string]string{"user_q": "q"}}},
		"Empty": nil,
	}
	if !reflect.DeepEqual(jc, want) {
		t.Fatalf("got  %#v\nwant %#v", jc, want)
	}
}

func TestSASLJAASLexing(t *testing.T) {
	for _, tc := range []struct {
		opts string
		want map[string]string // nil: syntax error
	}{
		{`user_a=123;`, nil},   // a number token is not a value
		{`user_a=-x;`, nil},    // '-' not followed by a digit is punctuation
		{`user_a='x';`, nil},   // single quotes are not accepted
		{`user_a=x # c;`, nil}, // '#' is not a comment
		{"user_a=abc/def\n user_b=kept;", map[string]string{"user_a": "abc", "user_b": "kept"}}, // lone '/' comments out the line
		{`user_a=a.b-c*d$e9;`, map[string]string{"user_a": "a.b-c*d$e9"}},
		{`user_a=x.5;`, map[string]string{"user_a": "x.5"}},
		{"user_a=\"unterminated\n user_b=y;", map[string]string{"user_a": "unterminated", "user_b": "y"}},
		{`user_a="\101\7\x";`, map[string]string{"user_a": "A\ax"}},
		{`user_a="${nope}";`, nil},
		{`user_a="";`, map[string]string{"user_a": ""}},
		{`user_a="${/}x${{keep}}";`, map[string]string{"user_a": "/x${{keep}}"}},
		{`user_é=ü;`, map[string]string{"user_é": "ü"}},
		{`user_a=b user_a=c;`, map[string]string{"user_a": "c"}},
		{`user_a=b /* c */ user_c=d;`, map[string]string{"user_a": "b", "user_c": "d"}},
		{`user_a=b`, nil},
		{`user_a b;`, nil},
	} {
		text := "Server { m required " + tc.opts + " };\n"
		jc, err := parseJAAS(text, testJAASLookup(nil))
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q: no error, got %v", tc.opts, jc)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.opts, err)
			continue
		}
		if got := jc["Server"][0].Options; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q want %q", tc.opts, got, tc.want)
		}
	}
}

func TestSASLJAASSyntaxErrors(t *testing.T) {
	for _, text := range []string{
		"# comment\nServer { m required; };",
		"Server { m required; }",                          // missing ';' after '}'
		"Server { m mandatory; };",                        // bad control flag
		"Server { m required a=b };",                      // missing ';' after options
		"Server { m required; }; Server { n optional; };", // duplicate section
		"Server m required; };",
		"Server { m required; /* unterminated",
	} {
		if _, err := parseJAAS(text, nil); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func testSASLConfig(props map[string]string) *config.Config {
	cfg := config.Default()
	cfg.ApplySystemProps(props)
	return cfg
}

func TestSASLLoadUsers(t *testing.T) {
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	users, err := loadSASLUsers(testSASLConfig(map[string]string{"java.security.auth.login.config": abs("jaas_kazoo.conf")}))
	if err != nil || !reflect.DeepEqual(users, map[string]string{"super": "super_secret", "jaasuser": "jaas_password"}) {
		t.Fatalf("kazoo file: %v %v", users, err)
	}
	// Every module of the section contributes; later entries win.
	users, err = loadSASLUsers(testSASLConfig(map[string]string{
		"java.security.auth.login.config": "=file:" + abs("jaas_full.conf"), "carol.password": "c", "user.name": "u"}))
	want := map[string]string{"alice": "alice secret", "bob": "from the second module", "quote": "a\"b\\c\tz", "carol": "c", "home": "u/x"}
	if err != nil || !reflect.DeepEqual(users, want) {
		t.Fatalf("full file: %v %v", users, err)
	}
	// Another section through zookeeper.sasl.serverconfig.
	users, err = loadSASLUsers(testSASLConfig(map[string]string{
		"java.security.auth.login.config": abs("jaas_full.conf"), "zookeeper.sasl.serverconfig": "Quorum Server", "carol.password": "c"}))
	if err != nil || !reflect.DeepEqual(users, map[string]string{"q": "q"}) {
		t.Fatalf("Quorum Server section: %v %v", users, err)
	}
	// A missing or empty section: SASL is simply not configured.
	for _, section := range []string{"Missing", "Empty"} {
		users, err = loadSASLUsers(testSASLConfig(map[string]string{
			"java.security.auth.login.config": abs("jaas_full.conf"), "zookeeper.sasl.serverconfig": section, "carol.password": "c"}))
		if err != nil || users != nil {
			t.Fatalf("section %s: %v %v", section, users, err)
		}
	}
	// No JAAS file at all.
	if users, err = loadSASLUsers(testSASLConfig(nil)); err != nil || users != nil {
		t.Fatalf("no file: %v %v", users, err)
	}
	// A file that cannot be read or parsed stops the server.
	for _, f := range []string{abs("no_such_jaas.conf"), abs("jaas_bad_hash.conf")} {
		if _, err = loadSASLUsers(testSASLConfig(map[string]string{"java.security.auth.login.config": f})); err == nil ||
			!strings.Contains(err.Error(), "No JAAS configuration section named 'Server'") {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// ${carol.password} unset: expansion fails.
	if _, err = loadSASLUsers(testSASLConfig(map[string]string{"java.security.auth.login.config": abs("jaas_full.conf")})); err == nil {
		t.Fatal("unset property expanded")
	}
}
