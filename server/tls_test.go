package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/quorum/config"
)

// The stores in testdata/tls (gen.sh): a server certificate for 127.0.0.1, a client one with
// subject "CN=client one,OU=zkgo,O=Test\, Inc.", a self-signed stranger, the CA's trust stores.
func tlsStore(name string) string { return filepath.Join("..", "testdata", "tls", name) }

const clientID = `CN=client one,OU=zkgo,O=Test\, Inc.`

// startTLS starts a standalone server with a secure client port (and the plain one when
// plain is true) and the ssl.* settings in props on top of a key and trust store.
func startTLS(t *testing.T, plain bool, props map[string]string) (s *Server, secure, plainAddr string) {
	t.Helper()
	all := map[string]string{
		"zookeeper.ssl.keyStore.location":   tlsStore("server.jks"),
		"zookeeper.ssl.keyStore.password":   "secret",
		"zookeeper.ssl.trustStore.location": tlsStore("truststore.p12"),
		"zookeeper.ssl.trustStore.password": "secret",
		"zookeeper.4lw.commands.whitelist":  "*",
	}
	for k, v := range props {
		if v == "" {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	s, _ = startConfigured(t, all, func(cfg *config.Config) {
		cfg.SecureClientPort, cfg.SecureClientPortAddress = zktest.FreePort(t), "127.0.0.1"
		if plain {
			cfg.ClientPort = zktest.FreePort(t)
		}
	}, nil)
	if plain {
		plainAddr = s.ln.Addr().String()
	}
	return s, s.SecureAddr().String(), plainAddr
}

// clientTLS is a client's TLS configuration with the given key store ("" for none).
func clientTLS(t *testing.T, keyStore string) *tls.Config {
	t.Helper()
	p := map[string]string{"zookeeper.ssl.trustStore.location": tlsStore("truststore.pem")}
	if keyStore != "" {
		p["zookeeper.ssl.keyStore.location"], p["zookeeper.ssl.keyStore.password"] = tlsStore(keyStore), "secret"
	}
	set, err := x509util.Read(func(k string) (string, bool) { v, ok := p[k]; return v, ok }, x509util.ClientPrefix)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := set.ClientConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// connectTLS opens a go-zookeeper session over TLS; it fails the test if none is made.
func connectTLS(t *testing.T, addr string, cfg *tls.Config) *zk.Conn {
	t.Helper()
	c, err := dialTLSSession(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func dialTLSSession(addr string, cfg *tls.Config) (*zk.Conn, error) {
	dial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, network, address, cfg)
	}
	c, ev, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithDialer(dial), zk.WithLogger(nopLogger{}))
	if err != nil {
		return nil, err
	}
	deadline := time.After(1500 * time.Millisecond) // a refused client retries forever
	for {
		select {
		case e := <-ev:
			if e.State == zk.StateHasSession {
				return c, nil
			}
		case <-deadline:
			c.Close()
			return nil, errors.New("no session")
		}
	}
}

// tlsWord sends a four-letter word over TLS and returns the answer.
func tlsWord(t *testing.T, addr string, cfg *tls.Config, cmd string) string {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte(cmd))
	b, _ := io.ReadAll(nc)
	return string(b)
}

func TestSecureClientPortAuthenticatesByCertificate(t *testing.T) {
	s, addr, _ := startTLS(t, false, nil)
	if s.Addr().String() != addr {
		t.Fatalf("Addr %v, want the secure port %s when there is no plain one", s.Addr(), addr)
	}
	c := connectTLS(t, addr, clientTLS(t, "client.p12"))
	// The certificate's subject is the session's x509 id: an ACL naming it lets it in ...
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: clientID}}
	if _, err := c.Create("/mine", []byte("x"), 0, acl); err != nil {
		t.Fatal(err)
	}
	if b, _, err := c.Get("/mine"); err != nil || string(b) != "x" {
		t.Fatalf("get as the owner: %q %v", b, err)
	}
	// ... and the auth scheme expands to it.
	if _, err := c.Create("/auth", nil, 0, zk.AuthACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.GetACL("/auth"); err != nil || len(got) != 1 || got[0] != (zk.ACL{Perms: zk.PermAll, Scheme: "x509", ID: clientID}) {
		t.Fatalf("auth ACL became %v (%v)", got, err)
	}
	// An x509 id must be a name Java's X500Principal parses.
	if _, err := c.Create("/bad", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: "garbage"}}); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("x509:garbage ACL: %v, want INVALIDACL", err)
	}
	// A client that is someone else (the same CA, another certificate) is not let in.
	other := connectTLS(t, addr, clientTLS(t, "server.jks"))
	if _, _, err := other.Get("/mine"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("another certificate read the node: %v", err)
	}
	// Four-letter words work over TLS too.
	if got := tlsWord(t, addr, clientTLS(t, "client.p12"), "ruok"); got != "imok" {
		t.Fatalf("ruok over TLS: %q", got)
	}
	if got := tlsWord(t, addr, clientTLS(t, "client.p12"), "conf"); !strings.Contains(got, "secureClientPort="+strings.Split(addr, ":")[1]+"\n") {
		t.Fatalf("conf does not show the secure port:\n%s", got)
	}
}

func TestSecureClientPortRefusesWhatItCannotAuthenticate(t *testing.T) {
	_, addr, plain := startTLS(t, true, nil)
	before := mntrValue(t, plain, "zk_auth_failed_count")
	// clientAuth=need (the default): no certificate, or one the trust store does not vouch for.
	for _, ks := range []string{"", "stranger-keystore.pem"} {
		if c, err := dialTLSSession(addr, clientTLS(t, ks)); err == nil {
			c.Close()
			t.Errorf("key store %q: a session was made", ks)
		}
	}
	// Plain text on the TLS port is a failed handshake, never a session.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("ruok"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(nc); strings.Contains(string(b), "imok") {
		t.Error("a plain-text four-letter word was answered on the TLS port")
	}
	nc.Close()
	// The plain port still serves plain clients, on the same tree.
	c, _ := connect(t, plain)
	if _, err := c.Create("/plain", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := connectTLS(t, addr, clientTLS(t, "client.p12")).Exists("/plain"); !ok || err != nil {
		t.Fatalf("the TLS client does not see the plain client's node: %v %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for mntrValue(t, plain, "zk_auth_failed_count") < before+3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := mntrValue(t, plain, "zk_auth_failed_count"); got < before+3 {
		t.Errorf("auth_failed_count %d after three failed handshakes (was %d)", got, before)
	}
	if got := mntrValue(t, plain, "zk_unsuccessful_handshake"); got < 3 {
		t.Errorf("unsuccessful_handshake %d after three failed handshakes", got)
	}
}

func TestSecureClientPortClientAuthWantAndSuperUser(t *testing.T) {
	_, addr, _ := startTLS(t, false, map[string]string{
		"zookeeper.ssl.clientAuth":                       "want",
		"zookeeper.X509AuthenticationProvider.superUser": clientID,
	})
	anon := connectTLS(t, addr, clientTLS(t, "")) // no certificate: served, without an id
	if _, err := anon.Create("/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "u", "p")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Get("/secret"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous read of a digest node: %v", err)
	}
	if _, err := anon.Create("/x509only", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: "CN=nobody"}}); err != nil {
		t.Fatal(err)
	}
	su := connectTLS(t, addr, clientTLS(t, "client.jks")) // the super user reads anything
	if b, _, err := su.Get("/secret"); err != nil || string(b) != "s" {
		t.Fatalf("super user read: %q %v", b, err)
	}
	if _, _, err := su.Get("/x509only"); err != nil {
		t.Fatalf("super user read of another x509 id's node: %v", err)
	}
	// A certificate the trust store does not vouch for is refused even when optional. (A
	// client picks no certificate the server's CA list rules out, so it is forced on it here.)
	stranger := clientTLS(t, "stranger-keystore.pem")
	cert := stranger.Certificates[0]
	stranger.Certificates = nil
	stranger.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	if c, err := dialTLSSession(addr, stranger); err == nil {
		c.Close()
		t.Error("an untrusted certificate made a session with clientAuth=want")
	}
}

func TestSecureClientPortWithoutTrustStoreRefusesCertificates(t *testing.T) {
	// No trust store: the handshake checks against the system's roots (which do not know the
	// test CA) and X509AuthenticationProvider has no trust manager, so no client gets in
	// with a certificate; with clientAuth=none no certificate is asked for.
	_, addr, _ := startTLS(t, false, map[string]string{"zookeeper.ssl.trustStore.location": "", "zookeeper.ssl.clientAuth": "none"})
	c := connectTLS(t, addr, clientTLS(t, ""))
	if _, err := c.Create("/n", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

// mntrLine is mntr's value for key.
func mntrLine(t *testing.T, addr, key string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("mntr"))
	b, _ := io.ReadAll(nc)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok && k == key {
			return v
		}
	}
	t.Fatalf("mntr has no %s:\n%s", key, b)
	return ""
}

// mntrValue is mntr's integer value for key.
func mntrValue(t *testing.T, addr, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(mntrLine(t, addr, key), 10, 64)
	if err != nil {
		t.Fatalf("mntr %s: %v", key, err)
	}
	return n
}

// TestClientPortUnification: with client.portUnification the plain client port takes TLS
// clients too (authenticated by certificate), and plain ones and four-letter words as before.
func TestClientPortUnification(t *testing.T) {
	_, _, plain := startTLS(t, true, map[string]string{"zookeeper.client.portUnification": "true"})
	tc := connectTLS(t, plain, clientTLS(t, "client.p12"))
	if _, err := tc.Create("/mine", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: clientID}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tc.Get("/mine"); err != nil {
		t.Fatalf("the TLS client on the unified port has no x509 id: %v", err)
	}
	pc, _ := connect(t, plain)
	if _, _, err := pc.Get("/mine"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("a plain client read the x509 node: %v", err)
	}
	if ok, _, err := pc.Exists("/mine"); !ok || err != nil {
		t.Fatalf("the plain client does not see the node: %v %v", ok, err)
	}
	if got := tlsWord(t, plain, clientTLS(t, "client.p12"), "ruok"); got != "imok" {
		t.Errorf("ruok over TLS on the unified port: %q", got)
	}
	nc, err := net.Dial("tcp", plain)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("ruok"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(nc); string(b) != "imok" {
		t.Errorf("plain ruok on the unified port: %q", b)
	}
}
