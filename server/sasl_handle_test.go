package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/jute"
)

func startSASLTestServer(t *testing.T, props map[string]string) string {
	t.Helper()
	s := serverOn(t, t.TempDir(), props)
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// saslWire is a raw protocol client: handshake, then request/reply frames.
type saslWire struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialSASLWire(t *testing.T, addr string) *saslWire {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &saslWire{t: t, nc: nc, r: bufio.NewReader(nc)}
	w.write(jute.Marshal(&jute.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}))
	if w.read() == nil {
		t.Fatal("no connect response")
	}
	return w
}

func (w *saslWire) write(b []byte) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.nc.Write(append(hdr[:], b...)); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next frame, nil once the server has closed the connection.
func (w *saslWire) read() []byte {
	w.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			w.t.Fatal("timeout waiting for the server")
		}
		return nil
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(w.r, b); err != nil {
		w.t.Fatal(err)
	}
	return b
}

type rawRecord []byte

func (r rawRecord) Encode(e *jute.Encoder) { e.B = append(e.B, r...) }
func (r rawRecord) Decode(d *jute.Decoder) {}

// call sends one request and returns the reply header and body (ok=false: connection closed).
func (w *saslWire) call(xid, op int32, body jute.Record) (jute.ReplyHeader, []byte, bool) {
	e := jute.NewEncoder(64)
	(&jute.RequestHeader{Xid: xid, Type: op}).Encode(e)
	if body != nil {
		body.Encode(e)
	}
	w.write(e.B)
	f := w.read()
	if f == nil {
		return jute.ReplyHeader{}, nil, false
	}
	d := jute.NewDecoder(f)
	var h jute.ReplyHeader
	h.Decode(d)
	return h, f[d.Off:], true
}

func (w *saslWire) sasl(xid int32, tok []byte) (jute.ReplyHeader, []byte, bool) {
	h, body, ok := w.call(xid, jute.OpSasl, &jute.SASLToken{Token: tok})
	if !ok {
		return h, nil, false
	}
	var resp jute.SASLToken
	if err := jute.Unmarshal(body, &resp); err != nil {
		w.t.Fatalf("SetSASLResponse: %v", err)
	}
	return h, resp.Token, true
}

func (w *saslWire) whoAmI() []jute.Id {
	_, body, ok := w.call(100, jute.OpWhoAmI, nil)
	if !ok {
		w.t.Fatal("closed")
	}
	d := jute.NewDecoder(body)
	n := d.Int()
	var ids []jute.Id
	for i := int32(0); i < n; i++ {
		ids = append(ids, jute.Id{Scheme: d.String(), ID: d.String()})
	}
	return ids
}

func (w *saslWire) closed() bool {
	w.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := w.r.ReadByte()
	return err == io.EOF
}

func hasID(ids []jute.Id, scheme, id string) bool {
	for _, x := range ids {
		if x.Scheme == scheme && x.ID == id {
			return true
		}
	}
	return false
}

func saslJAASProps(t *testing.T, extra map[string]string) map[string]string {
	p, err := filepath.Abs("testdata/jaas_kazoo.conf")
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]string{
		"java.security.auth.login.config": p,
		"zookeeper.authProvider.1":        "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

// Byte-level behaviour checked against Apache ZooKeeper 3.8.0: replies carry zxid 0, a
// failure is {err -115} + a null token and the connection closes.
func TestSASLHandleExchange(t *testing.T) {
	addr := startSASLTestServer(t, saslJAASProps(t, map[string]string{"zookeeper.superUser": "super"}))

	w := dialSASLWire(t, addr)
	h, ch, ok := w.sasl(1, []byte{})
	if !ok || h.Xid != 1 || h.Zxid != 0 || h.Err != 0 || !challengeRE.Match(ch) {
		t.Fatalf("challenge: %+v %q", h, ch)
	}
	c := newTestDigestClient("jaasuser", "jaas_password")
	h, final, ok := w.sasl(2, c.respond(t, ch))
	if !ok || h.Xid != 2 || h.Zxid != 0 || h.Err != 0 {
		t.Fatalf("final: %+v", h)
	}
	c.checkRspauth(t, final)
	ids := w.whoAmI()
	if !hasID(ids, "sasl", "jaasuser") || !hasID(ids, "ip", "127.0.0.1") || len(ids) != 2 {
		t.Fatalf("ids %v", ids)
	}
	// A further token fails the connection.
	if h, tok, ok := w.sasl(3, []byte{}); !ok || h.Err != int32(jute.AuthFailed) || tok != nil || h.Zxid != 0 {
		t.Fatalf("extra token: %+v %q %v", h, tok, ok)
	}
	if !w.closed() {
		t.Fatal("connection still open")
	}

	// zookeeper.superUser names a SASL user that also gets super.
	w = dialSASLWire(t, addr)
	_, ch, _ = w.sasl(1, []byte{})
	c = newTestDigestClient("super", "super_secret")
	if h, final, _ = w.sasl(2, c.respond(t, ch)); h.Err != 0 {
		t.Fatalf("super: %+v", h)
	}
	c.checkRspauth(t, final)
	if ids := w.whoAmI(); !hasID(ids, "sasl", "super") || !hasID(ids, "super", "") {
		t.Fatalf("super ids %v", ids)
	}
}

func TestSASLHandleFailures(t *testing.T) {
	addr := startSASLTestServer(t, saslJAASProps(t, nil))
	for _, tc := range []struct {
		name, user, password string
		tamper               func([]byte) []byte
	}{
		{"wrong password", "jaasuser", "wrong", nil},
		{"unknown user", "baduser", "badpassword", nil},
		{"tampered response", "jaasuser", "jaas_password", func(b []byte) []byte { return append(b[:len(b)-1:len(b)-1], 'x') }},
	} {
		w := dialSASLWire(t, addr)
		_, ch, _ := w.sasl(1, []byte{})
		resp := newTestDigestClient(tc.user, tc.password).respond(t, ch)
		if tc.tamper != nil {
			resp = tc.tamper(resp)
		}
		h, tok, ok := w.sasl(2, resp)
		if !ok || h.Xid != 2 || h.Zxid != 0 || h.Err != int32(jute.AuthFailed) || tok != nil {
			t.Fatalf("%s: %+v %q %v", tc.name, h, tok, ok)
		}
		if !w.closed() {
			t.Fatalf("%s: connection still open", tc.name)
		}
	}
	// A null token, or a malformed digest-response (maxbuf not a number), drops the
	// connection without a reply, as the Java server's uncaught exceptions do.
	w := dialSASLWire(t, addr)
	if _, _, ok := w.call(1, jute.OpSasl, rawRecord{0xff, 0xff, 0xff, 0xff}); ok {
		t.Fatal("null token answered")
	}
	w = dialSASLWire(t, addr)
	_, ch, _ := w.sasl(1, []byte{})
	resp := newTestDigestClient("jaasuser", "jaas_password").respond(t, ch)
	if _, _, ok := w.sasl(2, bytes.Replace(resp, []byte("maxbuf=65536"), []byte("maxbuf=x"), 1)); ok {
		t.Fatal("bad maxbuf answered")
	}
}

// sessionRequireClientSASLAuth turns the failure code into SESSIONCLOSEDREQUIRESASLAUTH;
// allowSaslFailedClients keeps the connection (answering OK with a null token).
func TestSASLHandleFailureProps(t *testing.T) {
	addr := startSASLTestServer(t, saslJAASProps(t, map[string]string{"zookeeper.sessionRequireClientSASLAuth": "true"}))
	w := dialSASLWire(t, addr)
	_, ch, _ := w.sasl(1, []byte{})
	h, _, ok := w.sasl(2, newTestDigestClient("jaasuser", "x").respond(t, ch))
	if !ok || h.Err != int32(jute.SessionClosedRequireSASLAuth) || !w.closed() {
		t.Fatalf("required: %+v %v", h, ok)
	}

	addr = startSASLTestServer(t, saslJAASProps(t, map[string]string{"zookeeper.allowSaslFailedClients": "true"}))
	w = dialSASLWire(t, addr)
	_, ch, _ = w.sasl(1, []byte{})
	h, tok, ok := w.sasl(2, newTestDigestClient("jaasuser", "x").respond(t, ch))
	if !ok || h.Err != 0 || tok != nil {
		t.Fatalf("allowed: %+v %q %v", h, tok, ok)
	}
	if ids := w.whoAmI(); hasID(ids, "sasl", "jaasuser") {
		t.Fatalf("failed client authenticated: %v", ids)
	}
}

// Without a JAAS Server section the connection has no SASL server: every token gets OK and
// a null token, and the connection stays open (Apache ZooKeeper 3.8.0, observed).
func TestSASLHandleNotConfigured(t *testing.T) {
	addr := startSASLTestServer(t, nil)
	w := dialSASLWire(t, addr)
	for xid := int32(1); xid <= 2; xid++ {
		h, tok, ok := w.sasl(xid, []byte("abc"))
		if !ok || h.Xid != xid || h.Zxid != 0 || h.Err != 0 || tok != nil {
			t.Fatalf("%+v %q %v", h, tok, ok)
		}
	}
	if ids := w.whoAmI(); len(ids) != 1 {
		t.Fatalf("ids %v", ids)
	}
}

func TestSASLACLMatches(t *testing.T) {
	s := &Server{}
	for _, tc := range []struct {
		id, expr string
		want     bool
	}{
		{"jaasuser", "jaasuser", true},
		{"jaasuser", "other", false},
		{"super", "anyone-at-all", true}, // SASL user "super" matches every sasl ACL
	} {
		if got := s.idMatches(schemeSASL, tc.id, tc.expr); got != tc.want {
			t.Errorf("idMatches(sasl, %q, %q) = %v", tc.id, tc.expr, got)
		}
	}
	if s.idMatches(schemeDigest, "super", "x") {
		t.Error("digest id super matched")
	}
	cfg := testSASLConfig(map[string]string{"zookeeper.letAnySaslUserDoX": "everyone"})
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if !s.idMatches(schemeSASL, "jaasuser", "everyone") || s.idMatches(schemeSASL, "jaasuser", "other") {
		t.Error("letAnySaslUserDoX not honoured")
	}
}

// sessionRequireClientSASLAuth (enforce.auth with sasl): SASL tokens go through before the
// login (and do not keep the session alive), any other request closes the connection with
// SESSIONCLOSEDREQUIRESASLAUTH, and after the login requests are served.
func TestSASLRequiredEnforced(t *testing.T) {
	addr := startSASLTestServer(t, saslJAASProps(t, map[string]string{"zookeeper.sessionRequireClientSASLAuth": "true"}))
	w := dialSASLWire(t, addr)
	if h, _, ok := w.call(1, jute.OpExists, &jute.PathWatchRequest{Path: "/"}); !ok || h.Err != int32(jute.SessionClosedRequireSASLAuth) || !w.closed() {
		t.Fatalf("exists before the login: %+v %v", h, ok)
	}
	w = dialSASLWire(t, addr)
	_, ch, _ := w.sasl(1, []byte{})
	if h, _, ok := w.sasl(2, newTestDigestClient("jaasuser", "jaas_password").respond(t, ch)); !ok || h.Err != 0 {
		t.Fatalf("login: %+v %v", h, ok)
	}
	if h, _, ok := w.call(3, jute.OpExists, &jute.PathWatchRequest{Path: "/"}); !ok || h.Err != 0 {
		t.Fatalf("exists after the login: %+v %v", h, ok)
	}
}
