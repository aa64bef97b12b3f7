package server

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// testDigestClient is a minimal client side of DIGEST-MD5 (RFC 2831, qop=auth), written from
// the RFC, to drive the server mechanism.
type testDigestClient struct {
	user, password string
	realm          string // "" = take the challenge's
	service, host  string
	authzid        string
	cnonce         string

	nonce, uri, usedRealm string
}

func newTestDigestClient(user, password string) *testDigestClient {
	return &testDigestClient{user: user, password: password, service: "zookeeper", host: "zk-sasl-md5", cnonce: "OA6MHXh6VqTrRk"}
}

// parseChallenge reads key=value / key="value" pairs (enough for the server's challenge).
func parseChallenge(t *testing.T, c []byte) map[string]string {
	t.Helper()
	vals, err := parseTestDirectives(string(c))
	if err != nil {
		t.Fatalf("challenge %q: %v", c, err)
	}
	return vals
}

func parseTestDirectives(s string) (map[string]string, error) {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, fmt.Errorf("no '=' in %q", s)
		}
		k := strings.TrimSpace(s[:eq])
		s = s[eq+1:]
		var v strings.Builder
		if strings.HasPrefix(s, `"`) {
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
				v.WriteByte(s[i])
			}
			s = s[i+1:]
		} else {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				i = len(s)
			}
			v.WriteString(s[:i])
			s = s[i:]
		}
		out[k] = v.String()
		s = strings.TrimPrefix(s, ",")
	}
	return out, nil
}

func testHexMD5(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// value computes response-value per RFC 2831 2.1.2.1 with Latin-1 user/realm/password
// when they fit, as the RFC says.
func (c *testDigestClient) value(method string) string {
	h := md5.Sum(latin1OrUTF8(c.user + ":" + c.usedRealm + ":" + c.password))
	a1 := append(h[:], ":"+c.nonce+":"+c.cnonce...)
	if c.authzid != "" {
		a1 = append(a1, ":"+c.authzid...)
	}
	a2 := method + ":" + c.uri
	return testHexMD5([]byte(testHexMD5(a1) + ":" + c.nonce + ":00000001:" + c.cnonce + ":auth:" + testHexMD5([]byte(a2))))
}

func (c *testDigestClient) respond(t *testing.T, challenge []byte) []byte {
	t.Helper()
	ch := parseChallenge(t, challenge)
	c.nonce = ch["nonce"]
	c.usedRealm = c.realm
	if c.usedRealm == "" {
		c.usedRealm = ch["realm"]
	}
	c.uri = c.service + "/" + c.host
	r := fmt.Sprintf(`charset=utf-8,username="%s",realm="%s",nonce="%s",nc=00000001,cnonce="%s",digest-uri="%s",maxbuf=65536,qop=auth`,
		c.user, c.usedRealm, c.nonce, c.cnonce, c.uri)
	if c.authzid != "" {
		r += fmt.Sprintf(`,authzid="%s"`, c.authzid)
	}
	return []byte(r + ",response=" + c.value("AUTHENTICATE"))
}

func (c *testDigestClient) checkRspauth(t *testing.T, final []byte) {
	t.Helper()
	if want := "rspauth=" + c.value(""); string(final) != want {
		t.Fatalf("final token %q, want %q", final, want)
	}
}

var testSASLUsers = map[string]string{"jaasuser": "jaas_password", "super": "super_secret", "jürgen": "pässword"}

func testMech(superPW ...string) *digestMD5 {
	if len(superPW) > 0 {
		return newSASLServer(testSASLUsers, superPW[0], true).mech
	}
	return newSASLServer(testSASLUsers, "", false).mech
}

var challengeRE = regexp.MustCompile(`^realm="zk-sasl-md5",nonce="[A-Za-z0-9+/]{40}",charset=utf-8,algorithm=md5-sess$`)

func TestSASLDigestExchange(t *testing.T) {
	for _, tc := range []struct {
		name, user, password, authzid, superPW string
		wantID                                 string
	}{
		{name: "plain", user: "jaasuser", password: "jaas_password", wantID: "jaasuser"},
		// The authorized id is the authentication id whatever authzid the client asks for.
		{name: "authzid", user: "jaasuser", password: "jaas_password", authzid: "super", wantID: "jaasuser"},
		{name: "latin1", user: "jürgen", password: "pässword", wantID: "jürgen"},
		{name: "superPasswordProp", user: "super", password: "override", superPW: "override", wantID: "super"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMech()
			if tc.superPW != "" {
				m = testMech(tc.superPW)
			}
			ch, err := m.evaluate([]byte{})
			if err != nil || !challengeRE.Match(ch) {
				t.Fatalf("challenge %q, %v", ch, err)
			}
			if m.complete {
				t.Fatal("complete after the challenge")
			}
			c := newTestDigestClient(tc.user, tc.password)
			c.authzid = tc.authzid
			final, err := m.evaluate(c.respond(t, ch))
			if err != nil {
				t.Fatal(err)
			}
			c.checkRspauth(t, final)
			if !m.complete || m.authzID != tc.wantID {
				t.Fatalf("complete=%v id=%q, want %q", m.complete, m.authzID, tc.wantID)
			}
			// Only one exchange per connection: anything more is an error.
			if _, err := m.evaluate([]byte{}); err == nil {
				t.Fatal("token after completion accepted")
			}
		})
	}
}

func TestSASLDigestNonceIsFresh(t *testing.T) {
	a, _ := testMech().evaluate(nil)
	b, _ := testMech().evaluate(nil)
	if bytes.Equal(a, b) {
		t.Fatal("two challenges with the same nonce")
	}
}

// A non-empty first token (an attempt at subsequent authentication) is ignored.
func TestSASLDigestInitialResponseIgnored(t *testing.T) {
	m := testMech()
	ch, err := m.evaluate([]byte("hello"))
	if err != nil || !challengeRE.Match(ch) {
		t.Fatalf("challenge %q, %v", ch, err)
	}
	c := newTestDigestClient("jaasuser", "jaas_password")
	final, err := m.evaluate(c.respond(t, ch))
	if err != nil {
		t.Fatal(err)
	}
	c.checkRspauth(t, final)
}

func TestSASLDigestFailures(t *testing.T) {
	flipHex := func(r []byte) []byte {
		i := bytes.Index(r, []byte("response=")) + len("response=")
		out := append([]byte{}, r...)
		if out[i] == '0' {
			out[i] = '1'
		} else {
			out[i] = '0'
		}
		return out
	}
	upperHex := func(r []byte) []byte {
		i := bytes.Index(r, []byte("response=")) + len("response=")
		return append(append([]byte{}, r[:i]...), bytes.ToUpper(r[i:])...)
	}
	replace := func(old, new string) func([]byte) []byte {
		return func(r []byte) []byte { return bytes.Replace(r, []byte(old), []byte(new), 1) }
	}
	for _, tc := range []struct {
		name           string
		user, password string
		realm, host    string
		tamper         func([]byte) []byte
		fatal          bool
		notSpent       bool // rejected before the state machine runs
	}{
		{name: "wrong password", user: "jaasuser", password: "wrong"},
		{name: "unknown user", user: "baduser", password: "badpassword"},
		{name: "tampered response", user: "jaasuser", password: "jaas_password", tamper: flipHex},
		{name: "upper-case response", user: "jaasuser", password: "jaas_password", tamper: upperHex},
		{name: "tampered nonce", user: "jaasuser", password: "jaas_password", tamper: func(r []byte) []byte {
			return regexp.MustCompile(`nonce="[^"]*"`).ReplaceAll(r, []byte(`nonce="AAAA"`))
		}},
		{name: "tampered username", user: "jaasuser", password: "jaas_password", tamper: replace(`username="jaasuser"`, `username="super"`)},
		{name: "other realm", user: "jaasuser", password: "jaas_password", realm: "elsewhere"},
		{name: "no realm", user: "jaasuser", password: "jaas_password", tamper: replace(`realm="zk-sasl-md5",`, ``)},
		{name: "wrong host in digest-uri", user: "jaasuser", password: "jaas_password", host: "example.com"},
		{name: "no digest-uri", user: "jaasuser", password: "jaas_password", tamper: replace(`digest-uri="zookeeper/zk-sasl-md5",`, ``)},
		{name: "no cnonce", user: "jaasuser", password: "jaas_password", tamper: replace(`cnonce="OA6MHXh6VqTrRk",`, ``)},
		{name: "qop auth-int", user: "jaasuser", password: "jaas_password", tamper: replace(`qop=auth`, `qop=auth-int`)},
		{name: "qop unknown", user: "jaasuser", password: "jaas_password", tamper: replace(`qop=auth`, `qop=bogus`)},
		{name: "charset", user: "jaasuser", password: "jaas_password", tamper: replace(`charset=utf-8`, `charset=UTF-8`)},
		{name: "duplicate directive", user: "jaasuser", password: "jaas_password", tamper: func(r []byte) []byte { return append(r, `,username="x"`...) }},
		{name: "unterminated quote", user: "jaasuser", password: "jaas_password", tamper: func(r []byte) []byte { return append(r, `,authzid="x`...) }},
		{name: "too long", user: "jaasuser", password: "jaas_password", tamper: func(r []byte) []byte { return append(r, bytes.Repeat([]byte(" "), 4097)...) }, notSpent: true},
		{name: "bad maxbuf", user: "jaasuser", password: "jaas_password", tamper: replace(`maxbuf=65536`, `maxbuf=abc`), fatal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMech()
			ch, err := m.evaluate(nil)
			if err != nil {
				t.Fatal(err)
			}
			c := newTestDigestClient(tc.user, tc.password)
			c.realm = tc.realm
			if tc.host != "" {
				c.host = tc.host
			}
			resp := c.respond(t, ch)
			if tc.tamper != nil {
				resp = tc.tamper(resp)
			}
			out, err := m.evaluate(resp)
			if err == nil {
				t.Fatalf("accepted: %q", out)
			}
			var se *saslError
			if tc.fatal != errors.Is(err, errSASLFatal) || (!tc.fatal && !errors.As(err, &se)) {
				t.Fatalf("error %v (fatal=%v)", err, tc.fatal)
			}
			if m.complete || m.authzID != "" {
				t.Fatal("completed after a failure")
			}
			// The mechanism is spent: the right answer now fails too (the connection is
			// closed anyway).
			_, err = m.evaluate(newTestDigestClient("jaasuser", "jaas_password").respond(t, ch))
			if (err == nil) != tc.notSpent {
				t.Fatalf("second response: %v", err)
			}
		})
	}
}

// The super password property applies only to a user "super" that the JAAS section lists.
func TestSASLDigestSuperPassword(t *testing.T) {
	m := newSASLServer(map[string]string{"bob": "pw"}, "override", true).mech
	ch, _ := m.evaluate(nil)
	if _, err := m.evaluate(newTestDigestClient("super", "override").respond(t, ch)); err == nil {
		t.Fatal("super without a JAAS entry accepted")
	}
	m = testMech("override")
	ch, _ = m.evaluate(nil)
	if _, err := m.evaluate(newTestDigestClient("super", "super_secret").respond(t, ch)); err == nil {
		t.Fatal("JAAS password accepted although the super password property is set")
	}
}

func TestSASLDigestDirectives(t *testing.T) {
	v, err := parseDigestDirectives([]byte(" , USERNAME = \"a\\\"b\\\\c\" ,\t realm=\"r\"\r\n, nc=00000001, qop=auth,foo=\"ignored\",response=abc"))
	if err != nil {
		t.Fatal(err)
	}
	if string(v[dUsername]) != `a"b\c` || string(v[dRealm]) != "r" || string(v[dQop]) != "auth" || string(v[dResponse]) != "abc" {
		t.Fatalf("directives %q", v)
	}
	if v[dNonceCount] != nil { // "nc" is not the JDK's "nonce-count" key
		t.Fatalf("nc parsed: %q", v[dNonceCount])
	}
	for _, bad := range []string{`=x`, `a b=c`, `a="x"y`, `a=`, `a,b=c`} {
		if _, err := parseDigestDirectives([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// A vector computed independently (RFC 2831 section 4 example, with our realm/uri replaced
// by the RFC's): checks the response-value arithmetic.
func TestSASLDigestRFCVector(t *testing.T) {
	got := digestResponseValue("AUTHENTICATE", "imap/elwood.innosoft.com", "auth", "chris", "elwood.innosoft.com", "secret",
		[]byte("OA6MG9tEQGm2hh"), []byte("OA6MHXh6VqTrRk"), nil)
	if string(got) != "d388dad90d4bbd760a152321f2143af7" {
		t.Fatalf("response %s", got)
	}
	got = digestResponseValue("", "imap/elwood.innosoft.com", "auth", "chris", "elwood.innosoft.com", "secret",
		[]byte("OA6MG9tEQGm2hh"), []byte("OA6MHXh6VqTrRk"), nil)
	if string(got) != "ea40f60335c427b5527b84dbabcdfffd" {
		t.Fatalf("rspauth %s", got)
	}
}
