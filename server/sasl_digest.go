package server

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DIGEST-MD5 (RFC 2831) as the JDK's server mechanism runs it for Apache ZooKeeper: the
// server is created with protocol "zookeeper" and server name "zk-sasl-md5" and no SASL
// properties (SecurityUtils.createSaslServer), so
//   - the only realm is "zk-sasl-md5" and the digest-uri must be "zookeeper/zk-sasl-md5";
//   - the challenge carries no qop directive (qop defaults to "auth", the only one allowed);
//   - charset=utf-8 and algorithm=md5-sess are always sent;
//   - only initial authentication is supported: one challenge, one response, then rspauth.
const (
	saslDigestRealm     = "zk-sasl-md5"
	saslDigestURI       = "zookeeper/" + saslDigestRealm
	saslMaxResponseLen  = 4096       // DigestMD5Base.MAX_RESPONSE_LENGTH
	saslNonceCount      = "00000001" // the server always expects nonce-count 1
	saslSecurityLayerA2 = ":00000000000000000000000000000000"
)

// errSASLFatal marks a failure that Java raises as a RuntimeException (not a SaslException)
// out of processSasl: the connection is dropped without a reply.
var errSASLFatal = errors.New("sasl: internal failure")

// saslError is a SaslException: the client gets AUTHFAILED and the connection closes.
type saslError struct{ msg string }

func (e *saslError) Error() string { return "DIGEST-MD5: " + e.msg }

func saslErrf(format string, args ...any) error {
	return &saslError{msg: fmt.Sprintf(format, args...)}
}

// digestMD5 is the server side of one DIGEST-MD5 exchange.
type digestMD5 struct {
	// lookup returns the password of a user, false when the user may not log in
	// (SaslServerCallbackHandler: NameCallback + PasswordCallback).
	lookup func(user string) (string, bool)

	realm, uri string // the server name, and protocol/server name (SecurityUtils.createSaslServer)

	step     int // 1: expect the (empty) initial token; 3: expect the digest-response; 0: done
	nonce    []byte
	complete bool
	authzID  string // the authorized id once complete (the authentication id: see finish)
	askedFor string // the authzid the client asked for, if any
}

func newDigestMD5(lookup func(string) (string, bool)) *digestMD5 {
	return &digestMD5{lookup: lookup, step: 1, realm: saslDigestRealm, uri: saslDigestURI}
}

// DigestMD5Server is the server side of a DIGEST-MD5 exchange for another protocol than the
// client port's (quorum SASL: "zookeeper-quorum", "zk-quorum-sasl-md5").
type DigestMD5Server struct{ d *digestMD5 }

// NewDigestMD5Server starts an exchange; lookup returns a user's password.
func NewDigestMD5Server(protocol, serverName string, lookup func(user string) (string, bool)) *DigestMD5Server {
	return &DigestMD5Server{&digestMD5{lookup: lookup, step: 1, realm: serverName, uri: protocol + "/" + serverName}}
}

// Evaluate consumes the client's token and returns the server's.
func (s *DigestMD5Server) Evaluate(tok []byte) ([]byte, error) { return s.d.evaluate(tok) }

// Complete reports whether the client has authenticated.
func (s *DigestMD5Server) Complete() bool { return s.d.complete }

// User is the authenticated user once Complete.
func (s *DigestMD5Server) User() string { return s.d.authzID }

// RequestedAuthorization is the authzid the client asked for, "" if none.
func (s *DigestMD5Server) RequestedAuthorization() string { return s.d.askedFor }

// evaluate consumes one client token and returns the server's token.
func (d *digestMD5) evaluate(resp []byte) ([]byte, error) {
	if len(resp) > saslMaxResponseLen {
		return nil, saslErrf("Invalid digest response length. Got:  %d Expected < %d", len(resp), saslMaxResponseLen)
	}
	switch d.step {
	case 1:
		// A non-empty initial response asks for subsequent authentication, which is not
		// supported: it is ignored and the exchange starts over with a challenge (RFC 2831
		// section 2.2; JDK 11+ behaviour).
		d.nonce = newDigestNonce()
		d.step = 3
		return d.challenge(), nil
	case 3:
		d.step = 0
		out, err := d.validate(resp)
		if err != nil {
			return nil, err
		}
		d.complete = true
		return out, nil
	}
	return nil, saslErrf("Server at illegal state")
}

// newDigestNonce is 30 random bytes in standard base64 (40 characters), as DigestMD5Base.
func newDigestNonce() []byte {
	var raw [30]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(out, raw[:])
	return out
}

// challenge is the digest-challenge:
// realm="zk-sasl-md5",nonce="...",charset=utf-8,algorithm=md5-sess
func (d *digestMD5) challenge() []byte {
	var b []byte
	b = append(b, `realm="`...)
	b = appendQuotedValue(b, []byte(d.realm))
	b = append(b, `",nonce="`...)
	b = appendQuotedValue(b, d.nonce)
	b = append(b, `",charset=utf-8,algorithm=md5-sess`...)
	return b
}

// appendQuotedValue escapes what RFC 2831 section 7.2 does not allow bare in a quoted string.
func appendQuotedValue(b, v []byte) []byte {
	for _, c := range v {
		if c == '"' || c == '\\' || c == 127 || (c <= 31 && c != '\r' && c != '\t' && c != '\n') {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}

// Directives of a digest-response the server looks at. Others (auth-param, and "nc": the
// JDK's table names it "nonce-count", so the client's "nc" is never read) are ignored.
var digestResponseKeys = []string{
	"username", "realm", "nonce", "cnonce", "nonce-count", "qop", "digest-uri", "response",
	"maxbuf", "charset", "cipher", "authzid",
}

const (
	dUsername = iota
	dRealm
	dNonce
	dCnonce
	dNonceCount
	dQop
	dDigestURI
	dResponse
	dMaxbuf
	dCharset
	dCipher
	dAuthzid
)

func isLWS(c byte) bool { return c == '\r' || c == '\n' || c == ' ' || c == '\t' }

func skipLWS(b []byte, i int) int {
	for i < len(b) && isLWS(b[i]) {
		i++
	}
	return i
}

// parseDigestDirectives splits a digest-response into the known directives (nil when
// absent). A known directive given twice is an error.
func parseDigestDirectives(buf []byte) ([][]byte, error) {
	vals := make([][]byte, len(digestResponseKeys))
	var key, val []byte
	put := func() error {
		k := string(key)
		for i, name := range digestResponseKeys {
			if strings.EqualFold(k, name) {
				if vals[i] != nil {
					return saslErrf("Peer sent more than one %s directive: %s", name, val)
				}
				vals[i] = append([]byte{}, val...)
				break
			}
		}
		key, val = key[:0], val[:0]
		return nil
	}
	gettingKey, quoted, expectSep := true, false, false
	i := skipLWS(buf, 0)
	for i < len(buf) {
		c := buf[i]
		switch {
		case gettingKey:
			switch {
			case c == ',':
				if len(key) != 0 {
					return nil, saslErrf("Directive key contains a ',': %s", key)
				}
				i = skipLWS(buf, i+1)
			case c == '=':
				if len(key) == 0 {
					return nil, saslErrf("Empty directive key")
				}
				gettingKey = false
				i = skipLWS(buf, i+1)
				if i >= len(buf) {
					return nil, saslErrf("Valueless directive found: %s", key)
				}
				if buf[i] == '"' {
					quoted = true
					i++
				}
			case isLWS(c):
				i = skipLWS(buf, i+1)
				if i >= len(buf) || buf[i] != '=' {
					return nil, saslErrf("'=' expected after key: %s", key)
				}
			default:
				key = append(key, c)
				i++
			}
		case quoted:
			switch c {
			case '\\':
				i++
				if i >= len(buf) {
					return nil, saslErrf("Unmatched quote found for directive: %s with value: %s", key, val)
				}
				val = append(val, buf[i])
				i++
			case '"':
				i++
				quoted, expectSep = false, true
			default:
				val = append(val, c)
				i++
			}
		case isLWS(c) || c == ',':
			if err := put(); err != nil {
				return nil, err
			}
			gettingKey, quoted, expectSep = true, false, false
			i = skipLWS(buf, i+1)
		case expectSep:
			return nil, saslErrf("Expecting comma or linear whitespace after quoted string: %q", val)
		default:
			val = append(val, c)
			i++
		}
	}
	if quoted {
		return nil, saslErrf("Unmatched quote found for directive: %s with value: %s", key, val)
	}
	if len(key) > 0 {
		if err := put(); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// javaUTF8 decodes bytes the way new String(b, UTF_8) does (bad sequences become U+FFFD).
func javaUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// latin1OrUTF8 encodes a user name, realm or password for hashing (RFC 2831 section 2.1.2.1):
// ISO 8859-1 when every character fits, UTF-8 otherwise.
func latin1OrUTF8(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return []byte(s)
		}
		out = append(out, byte(r))
	}
	return out
}

// validate checks a digest-response and returns "rspauth=<hex>".
func (d *digestMD5) validate(resp []byte) ([]byte, error) {
	v, err := parseDigestDirectives(resp)
	if err != nil {
		return nil, err
	}
	if v[dCharset] != nil && javaUTF8(v[dCharset]) != "utf-8" {
		return nil, saslErrf("digest response format violation. Incompatible charset value: %s", v[dCharset])
	}
	if v[dMaxbuf] != nil {
		// Integer.parseInt: a NumberFormatException escapes processSasl.
		if _, err := strconv.ParseInt(javaUTF8(v[dMaxbuf]), 10, 32); err != nil {
			return nil, errSASLFatal
		}
	}
	if v[dUsername] == nil {
		return nil, saslErrf("digest response format violation. Missing username.")
	}
	username := javaUTF8(v[dUsername])
	realm := ""
	if v[dRealm] != nil {
		realm = javaUTF8(v[dRealm])
	}
	if realm != d.realm {
		return nil, saslErrf("digest response format violation. Nonexistent realm: %s", realm)
	}
	if v[dNonce] == nil {
		return nil, saslErrf("digest response format violation. Missing nonce.")
	}
	if string(v[dNonce]) != string(d.nonce) {
		return nil, saslErrf("digest response format violation. Mismatched nonce.")
	}
	if v[dCnonce] == nil {
		return nil, saslErrf("digest response format violation. Missing cnonce.")
	}
	cnonce := v[dCnonce]
	if v[dNonceCount] != nil {
		n, err := strconv.ParseInt(javaUTF8(v[dNonceCount]), 16, 32)
		if err != nil {
			return nil, errSASLFatal
		}
		if n != 1 {
			return nil, saslErrf("digest response format violation. Nonce count does not match: %s", v[dNonceCount])
		}
	}
	qop := "auth"
	if v[dQop] != nil {
		qop = javaUTF8(v[dQop])
	}
	switch qop {
	case "auth":
	case "auth-int", "auth-conf":
		return nil, saslErrf("server does not support  qop: %s", qop)
	default:
		return nil, saslErrf("digest response format violation. Invalid QOP: %s", qop)
	}
	if v[dDigestURI] == nil || !strings.EqualFold(javaUTF8(v[dDigestURI]), d.uri) {
		return nil, saslErrf("digest response format violation. Mismatched URI: %s; expecting: %s", v[dDigestURI], d.uri)
	}
	digestURI := javaUTF8(v[dDigestURI])
	if v[dResponse] == nil {
		return nil, saslErrf("digest response format  violation. Missing response.")
	}
	authzid := v[dAuthzid] // nil when absent
	password, ok := d.lookup(username)
	if !ok {
		return nil, saslErrf("cannot acquire password for %s in realm : %s", username, realm)
	}
	want := digestResponseValue("AUTHENTICATE", digestURI, qop, username, realm, password, d.nonce, cnonce, authzid)
	if subtle.ConstantTimeCompare(v[dResponse], want) != 1 {
		return nil, saslErrf("digest response format violation. Mismatched response.")
	}
	// AuthorizeCallback: every authzid is allowed, and the authorized id is derived from
	// the authentication id (the user name), not from the authzid the client asked for.
	d.authzID = username
	if authzid != nil {
		d.askedFor = javaUTF8(authzid)
	}
	rsp := digestResponseValue("", digestURI, qop, username, realm, password, d.nonce, cnonce, authzid)
	return append([]byte("rspauth="), rsp...), nil
}

// digestResponseValue computes the response-value of RFC 2831 section 2.1.2.1 (lower-case hex).
func digestResponseValue(method, uri, qop, user, realm, password string, nonce, cnonce, authzid []byte) []byte {
	a2 := method + ":" + uri
	if qop == "auth-int" || qop == "auth-conf" {
		a2 += saslSecurityLayerA2
	}
	ha2 := md5.Sum([]byte(a2))

	var begin []byte
	begin = append(begin, latin1OrUTF8(user)...)
	begin = append(begin, ':')
	begin = append(begin, latin1OrUTF8(realm)...)
	begin = append(begin, ':')
	begin = append(begin, latin1OrUTF8(password)...)
	hBegin := md5.Sum(begin)

	a1 := append([]byte{}, hBegin[:]...)
	a1 = append(a1, ':')
	a1 = append(a1, nonce...)
	a1 = append(a1, ':')
	a1 = append(a1, cnonce...)
	if authzid != nil {
		a1 = append(a1, ':')
		a1 = append(a1, authzid...)
	}
	ha1 := md5.Sum(a1)

	var kd []byte
	kd = append(kd, hex.EncodeToString(ha1[:])...)
	kd = append(kd, ':')
	kd = append(kd, nonce...)
	kd = append(kd, ':')
	kd = append(kd, saslNonceCount...)
	kd = append(kd, ':')
	kd = append(kd, cnonce...)
	kd = append(kd, ':')
	kd = append(kd, qop...)
	kd = append(kd, ':')
	kd = append(kd, hex.EncodeToString(ha2[:])...)
	sum := md5.Sum(kd)
	return []byte(hex.EncodeToString(sum[:]))
}
