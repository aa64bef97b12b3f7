package x509util

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func quorumProps(extra map[string]string) Get {
	p := map[string]string{
		QuorumPrefix + "keyStore.location":   store("server.p12"),
		QuorumPrefix + "keyStore.password":   "secret",
		QuorumPrefix + "trustStore.location": store("truststore.jks"),
		QuorumPrefix + "trustStore.password": "secret",
	}
	for k, v := range extra {
		p[QuorumPrefix+k] = v
	}
	return func(k string) (string, bool) { v, ok := p[k]; return v, ok }
}

func newQuorum(t *testing.T, ssl, unify bool, extra map[string]string) *Quorum {
	t.Helper()
	q, err := NewQuorum(quorumProps(extra), ssl, unify, false)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// exchange dials the listener with dial, accepts with accept, and sends "ping" from the
// dialling side; it returns what the accepting side read and the errors of both sides.
func exchange(t *testing.T, dial func(net.Conn) (net.Conn, error), accept func(net.Conn) (net.Conn, error)) (string, error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		got string
		err error
	}
	done := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- res{err: err}
			return
		}
		sc, err := accept(c)
		if err != nil {
			done <- res{err: err}
			return
		}
		defer sc.Close()
		sc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 4)
		_, err = io.ReadFull(sc, b)
		done <- res{string(b), err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, derr := dial(c)
	if derr == nil {
		cc.Write([]byte("ping"))
		defer cc.Close()
	} else {
		c.Close()
	}
	r := <-done
	return r.got, derr, r.err
}

func TestQuorumTLSBothWays(t *testing.T) {
	q := newQuorum(t, true, false, nil)
	dial := func(c net.Conn) (net.Conn, error) { return q.Dial(c, "127.0.0.1", 5*time.Second) }
	accept := func(c net.Conn) (net.Conn, error) { return q.Accept(c, 5*time.Second) }
	if got, derr, aerr := exchange(t, dial, accept); got != "ping" || derr != nil || aerr != nil {
		t.Fatalf("TLS quorum connection: %q, dial %v, accept %v", got, derr, aerr)
	}
	// Plain text to a TLS-only port is refused.
	plain := func(c net.Conn) (net.Conn, error) { return c, nil }
	if _, _, aerr := exchange(t, plain, accept); aerr == nil {
		t.Error("a TLS-only quorum port took a plain-text connection")
	}
	// The dialled host must be named by the certificate (hostnameVerification) ...
	wrongHost := func(c net.Conn) (net.Conn, error) { return q.Dial(c, "zk9.example.com", 5*time.Second) }
	if _, derr, _ := exchange(t, wrongHost, accept); derr != nil {
		// 127.0.0.1 is in the certificate: the peer's address vouches for it, as in Java.
		t.Errorf("the peer's IP address did not verify the certificate: %v", derr)
	}
	// ... and a member whose certificate the trust store does not vouch for is refused.
	stranger := newQuorum(t, true, false, map[string]string{"keyStore.location": store("stranger-keystore.pem"), "keyStore.password": ""})
	sdial := func(c net.Conn) (net.Conn, error) { return stranger.Dial(c, "127.0.0.1", 5*time.Second) }
	if _, _, aerr := exchange(t, sdial, accept); aerr == nil {
		t.Error("a member with an untrusted certificate was accepted")
	}
}

func TestQuorumTLSChecksTheClientsAddress(t *testing.T) {
	// The client certificate names "client one" and no address: with hostname verification
	// (ssl.quorum.hostnameVerification, on by default) a member presenting it is refused.
	server := newQuorum(t, true, false, nil)
	client := newQuorum(t, true, false, map[string]string{"keyStore.location": store("client.p12")})
	dial := func(c net.Conn) (net.Conn, error) { return client.Dial(c, "127.0.0.1", 5*time.Second) }
	accept := func(c net.Conn) (net.Conn, error) { return server.Accept(c, 5*time.Second) }
	if _, _, aerr := exchange(t, dial, accept); aerr == nil {
		t.Error("a certificate that does not name the member's address was accepted")
	}
	lax := newQuorum(t, true, false, map[string]string{"hostnameVerification": "false"})
	laxAccept := func(c net.Conn) (net.Conn, error) { return lax.Accept(c, 5*time.Second) }
	if got, derr, aerr := exchange(t, dial, laxAccept); got != "ping" || derr != nil || aerr != nil {
		t.Errorf("hostnameVerification=false: %q, dial %v, accept %v", got, derr, aerr)
	}
}

func TestQuorumPortUnificationTakesBoth(t *testing.T) {
	tlsDialer := newQuorum(t, true, false, nil)
	unified := newQuorum(t, false, true, nil)
	if unified.DialsTLS() {
		t.Fatal("portUnification alone dials with TLS")
	}
	accept := func(c net.Conn) (net.Conn, error) { return unified.Accept(c, 5*time.Second) }
	for name, dial := range map[string]func(net.Conn) (net.Conn, error){
		"tls":   func(c net.Conn) (net.Conn, error) { return tlsDialer.Dial(c, "127.0.0.1", 5*time.Second) },
		"plain": func(c net.Conn) (net.Conn, error) { return unified.Dial(c, "127.0.0.1", 5*time.Second) },
	} {
		if got, derr, aerr := exchange(t, dial, accept); got != "ping" || derr != nil || aerr != nil {
			t.Errorf("%s on a unified port: %q, dial %v, accept %v", name, got, derr, aerr)
		}
	}
	if q, err := NewQuorum(quorumProps(nil), false, false, false); q != nil || err != nil {
		t.Errorf("neither sslQuorum nor portUnification: %v, %v", q, err)
	}
}

func TestQuorumReloadsChangedStores(t *testing.T) {
	dir := t.TempDir()
	ks := filepath.Join(dir, "member.pem")
	copyFile(t, store("server-keystore.pem"), ks)
	q, err := NewQuorum(quorumProps(map[string]string{"keyStore.location": ks, "keyStore.password": ""}), true, false, true)
	if err != nil {
		t.Fatal(err)
	}
	var served []byte
	peer := newQuorum(t, true, false, map[string]string{"hostnameVerification": "false"})
	accept := func(c net.Conn) (net.Conn, error) {
		sc, err := peer.Accept(c, 5*time.Second)
		if err == nil {
			served = sc.(*tls.Conn).ConnectionState().PeerCertificates[0].Raw
		}
		return sc, err
	}
	dial := func(c net.Conn) (net.Conn, error) { return q.Dial(c, "127.0.0.1", 5*time.Second) }
	if _, derr, aerr := exchange(t, dial, accept); derr != nil || aerr != nil {
		t.Fatal(derr, aerr)
	}
	first := served
	// The key store now holds the client's key and certificate (a renewal, say).
	copyFile(t, store("client-keystore.pem"), ks)
	os.Chtimes(ks, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if _, derr, aerr := exchange(t, dial, accept); derr != nil || aerr != nil {
		t.Fatal(derr, aerr)
	}
	if bytes.Equal(first, served) || !bytes.Equal(served, readCert(t, "client-cert.pem").Raw) {
		t.Error("the changed key store was not read again")
	}
	// A store that no longer reads keeps the last good one.
	var reloadErr error
	q.OnReloadError = func(err error) { reloadErr = err }
	os.WriteFile(ks, []byte("garbage"), 0o600)
	if _, derr, aerr := exchange(t, dial, accept); derr != nil || aerr != nil || reloadErr == nil {
		t.Errorf("after a broken store: dial %v, accept %v, reload error %v", derr, aerr, reloadErr)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
