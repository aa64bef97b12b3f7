package x509util

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The stores in testdata/tls were made by openssl and Java's keytool (gen.sh).
var dir = filepath.Join("..", "..", "testdata", "tls")

func store(name string) string { return filepath.Join(dir, name) }

func TestLoadKeyStoreEveryFormat(t *testing.T) {
	want := readCert(t, "server-cert.pem")
	for _, tc := range []struct{ file, password, typ string }{
		{"server.jks", "secret", ""},
		{"server.p12", "secret", ""},
		{"server-keystore.pem", "", ""},
		{"server-keystore-encrypted.pem", "secret", ""},
		{"server-keystore-pbes1.pem", "secret", ""},
		{"server.p12", "secret", "pkcs12"}, // the type setting, in any case
	} {
		cert, err := LoadKeyStore(store(tc.file), tc.password, tc.typ)
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if !cert.Leaf.Equal(want) {
			t.Errorf("%s: leaf %s, want the server's certificate", tc.file, cert.Leaf.Subject)
		}
	}
}

func TestLoadKeyStoreErrors(t *testing.T) {
	for _, tc := range []struct{ file, password, typ, want string }{
		{"server.jks", "wrong", "", "password"},
		{"server.p12", "wrong", "", "password"},
		{"server-keystore-encrypted.pem", "wrong", "", "wrong password"},
		{"server-keystore-encrypted.pem", "", "", "wrong password"},
		{"server-keystore-pbes1.pem", "wrong", "", "wrong password"},
		{"server-cert.pem", "", "", "no private key"},
		{"server.jks", "secret", "PEM", "no private key"},
		{"ca.pem", "", "BCFKS", "not supported"},
		{"server.jks", "secret", "XYZ", "invalid key store type"},
		{"gen.sh", "", "", "unable to auto-detect"},
		{"missing.pem", "", "", "no such file"},
	} {
		_, err := LoadKeyStore(store(tc.file), tc.password, tc.typ)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s (type %q, password %q): err %v, want one saying %q", tc.file, tc.typ, tc.password, err, tc.want)
		}
	}
}

func TestLoadTrustStoreEveryFormat(t *testing.T) {
	leaf := readCert(t, "client-cert.pem")
	for _, tc := range []struct{ file, password string }{
		{"truststore.jks", "secret"},
		{"truststore.p12", "secret"},
		{"truststore.pem", ""},
	} {
		pool, err := LoadTrustStore(store(tc.file), tc.password, "")
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: the client's certificate does not verify: %v", tc.file, err)
		}
	}
	for _, f := range []string{"truststore.p12", "truststore.jks"} {
		for _, pw := range []string{"wrong", ""} { // no password is a wrong one too, as in Java
			if _, err := LoadTrustStore(store(f), pw, ""); err == nil {
				t.Errorf("%s opened with password %q", f, pw)
			}
		}
	}
}

func TestJavaNameIsX500PrincipalGetName(t *testing.T) {
	// Expected strings printed by Java 17's X500Principal.getName() for these files.
	for file, want := range map[string]string{
		"client-cert.pem":   `CN=client one,OU=zkgo,O=Test\, Inc.`,
		"server-cert.pem":   `CN=localhost`,
		"odd-name-cert.pem": `STREET=Main St,2.5.4.5=#13023432,1.2.840.113549.1.9.1=#16056140622e63,CN=x\;y\<z\>+UID=u1,OU=\ lead\#mid\ ,O=A\+B\=C \"q\"\\,DC=example,DC=org`,
	} {
		if got := JavaName(readCert(t, file).RawSubject); got != want {
			t.Errorf("%s:\n got %s\nwant %s", file, got, want)
		}
	}
}

func settings(t *testing.T, props map[string]string, prefix string) *Settings {
	t.Helper()
	s, err := Read(func(k string) (string, bool) { v, ok := props[k]; return v, ok }, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadDefaultsAndErrors(t *testing.T) {
	s := settings(t, nil, ClientPrefix)
	if s.ClientAuth != tls.RequireAndVerifyClientCert || !s.HostnameVerification || s.HandshakeTimeout != 5*time.Second ||
		len(s.EnabledProtocols) != 1 || s.EnabledProtocols[0] != "TLSv1.2" || len(s.CipherSuites) != 12 {
		t.Errorf("defaults: %+v", s)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600) // as `echo secret > file` writes it
	s = settings(t, map[string]string{
		"zookeeper.ssl.quorum.keyStore.passwordPath": pw, "zookeeper.ssl.quorum.keyStore.password": "not this",
		"zookeeper.ssl.quorum.clientAuth":       "want",
		"zookeeper.ssl.quorum.enabledProtocols": "TLSv1.2, TLSv1.3", "zookeeper.ssl.keyStore.password": "client's",
	}, QuorumPrefix)
	if s.KeyStorePassword != "secret" || s.ClientAuth != tls.VerifyClientCertIfGiven || len(s.EnabledProtocols) != 2 {
		t.Errorf("quorum settings: %+v", s)
	}
	// A protocol without a suite of its own is off (Go would take an empty list as its
	// defaults): TLS 1.3 suites only leave TLS 1.2 off.
	s = settings(t, map[string]string{"zookeeper.ssl.enabledProtocols": "TLSv1.3,TLSv1.2", "zookeeper.ssl.ciphersuites": "TLS_AES_128_GCM_SHA256"}, ClientPrefix)
	if min, max := s.versions(); min != tls.VersionTLS13 || max != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 suites only: versions %x..%x", min, max)
	}
	for k, v := range map[string]string{
		"protocol": "SSLv3", "enabledProtocols": "TLSv1.2,TLSv9", "ciphersuites": "TLS_NOPE",
		"clientAuth": "maybe", "handshakeDetectionTimeoutMillis": "0", "crl": "true", "ocsp": "true",
		"context.supplier.class": "com.example.Ctx", "keyStore.passwordPath": "/nonexistent/pw",
		"protocol=": "TLSv1.3", // without TLS 1.3 suites Java fails every handshake
	} {
		k = strings.TrimSuffix(k, "=")
		if _, err := Read(func(key string) (string, bool) { return v, key == ClientPrefix+k }, ClientPrefix); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

// tlsPair runs a TLS handshake between the two configurations and returns the server's view.
func tlsPair(t *testing.T, srv, cli *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sc, cc := tls.Server(a, srv), tls.Client(b, cli)
	errc := make(chan error, 1)
	go func() {
		err := cc.Handshake()
		if err == nil {
			_, err = cc.Read(make([]byte, 1)) // a TLS 1.3 client learns of a refusal here
		}
		errc <- err
		cc.Close()
	}()
	serr := sc.Handshake()
	if serr == nil {
		sc.Write([]byte{1})
	}
	io.Copy(io.Discard, sc)
	return sc.ConnectionState(), serr, <-errc
}

func TestServerAndClientConfigs(t *testing.T) {
	props := map[string]string{
		"zookeeper.ssl.keyStore.location":   store("server.jks"),
		"zookeeper.ssl.keyStore.password":   "secret",
		"zookeeper.ssl.trustStore.location": store("truststore.p12"),
		"zookeeper.ssl.trustStore.password": "secret",
	}
	srv, err := settings(t, props, ClientPrefix).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := func(keystore, host string, extra map[string]string) *tls.Config {
		p := map[string]string{"zookeeper.ssl.trustStore.location": store("truststore.pem")}
		if keystore != "" {
			p["zookeeper.ssl.keyStore.location"] = store(keystore)
			p["zookeeper.ssl.keyStore.password"] = "secret"
		}
		for k, v := range extra {
			p[k] = v
		}
		c, err := settings(t, p, ClientPrefix).ClientConfig(host)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	st, serr, cerr := tlsPair(t, srv, client("client.p12", "127.0.0.1", nil))
	if serr != nil || cerr != nil {
		t.Fatalf("handshake: server %v, client %v", serr, cerr)
	}
	if len(st.PeerCertificates) == 0 || JavaName(st.PeerCertificates[0].RawSubject) != `CN=client one,OU=zkgo,O=Test\, Inc.` || st.Version != tls.VersionTLS12 {
		t.Errorf("server saw %d certificates, version %x", len(st.PeerCertificates), st.Version)
	}
	// clientAuth=need: no certificate, or one the trust store does not vouch for, is refused.
	for _, ks := range []string{"", "stranger-keystore.pem"} {
		if _, serr, cerr := tlsPair(t, srv, client(ks, "127.0.0.1", nil)); serr == nil || cerr == nil {
			t.Errorf("client key store %q: server %v, client %v; want both to fail", ks, serr, cerr)
		}
	}
	// The client checks the server's name unless hostnameVerification=false.
	if _, _, cerr := tlsPair(t, srv, client("client.p12", "zk.example.com", nil)); cerr == nil {
		t.Error("a server certificate for 127.0.0.1 was accepted for zk.example.com")
	}
	if _, serr, cerr := tlsPair(t, srv, client("client.p12", "zk.example.com", map[string]string{"zookeeper.ssl.hostnameVerification": "false"})); serr != nil || cerr != nil {
		t.Errorf("hostnameVerification=false: server %v, client %v", serr, cerr)
	}
	// ... but still its chain.
	strange := client("client.p12", "127.0.0.1", map[string]string{"zookeeper.ssl.hostnameVerification": "false", "zookeeper.ssl.trustStore.location": store("stranger-keystore.pem")})
	if _, _, cerr := tlsPair(t, srv, strange); cerr == nil {
		t.Error("hostnameVerification=false accepted a server the trust store does not vouch for")
	}
	// Protocols: TLS 1.2 by default; TLS 1.3 once both the protocol and its suites are named,
	// and then a client of TLS 1.3 only does not agree with a default server.
	tls13 := map[string]string{"zookeeper.ssl.protocol": "TLSv1.3", "zookeeper.ssl.enabledProtocols": "TLSv1.3,TLSv1.2",
		"zookeeper.ssl.ciphersuites": "TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
	for k, v := range tls13 {
		props[k] = v
	}
	srv13, err := settings(t, props, ClientPrefix).ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if st, serr, cerr := tlsPair(t, srv13, client("client.p12", "127.0.0.1", tls13)); serr != nil || cerr != nil || st.Version != tls.VersionTLS13 {
		t.Errorf("TLSv1.3: server %v, client %v, version %x", serr, cerr, st.Version)
	}
	tls13["zookeeper.ssl.enabledProtocols"] = "TLSv1.3"
	if _, serr, _ := tlsPair(t, srv, client("client.p12", "127.0.0.1", tls13)); serr == nil {
		t.Error("a default (TLSv1.2) server agreed with a TLSv1.3-only client")
	}
}

func readCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(store(name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestValidJavaNameIsX500PrincipalsParse(t *testing.T) {
	// What Java 17's new X500Principal(s) accepted (true) or threw on (false).
	for s, want := range map[string]bool{
		"": true, "CN=x": true, "cn=x,o=y": true, "CN=": true, "garbage": false, `CN=a\,b`: true, "CN=a,b": false,
		"FOO=x": false, "2.5.4.3=x": true, "OID.2.5.4.3=x": true, "CN=#0c0178": true, "CN=#zz": false,
		`CN="q,x"`: true, `CN="unterminated`: false, " CN = x ; O = y ": true, "CN=x+UID=y": true, "=x": false,
		"CN=x,": false, `CN=a\`: false, "EMAIL=a@b": true, "x509:CN=a": false, "CN=x,,O=y": false, "CN=<x>": false,
		"CN=a=b": true, clientIDForTest: true,
		`CN=a\x`: false, `CN=a\2C`: true, `CN=a\ b`: true, `CN=a\2`: false, `CN=\<x\>`: true, "CN=a\\\nb": true,
		`CN=a\2Cb`: true, `CN=a\zz`: false,
	} {
		if got := ValidJavaName(s); got != want {
			t.Errorf("ValidJavaName(%q) = %v, want %v", s, got, want)
		}
	}
}

const clientIDForTest = `CN=client one,OU=zkgo,O=Test\, Inc.`
