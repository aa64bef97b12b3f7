package x509util

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Quorum secures an ensemble member's election and quorum connections as ZooKeeper's
// QuorumX509Util and UnifiedServerSocket do: with sslQuorum it dials with TLS and accepts
// only TLS; with portUnification it accepts TLS and plain text alike (for a rolling change to
// or from TLS). Both sides check the other's certificate against the trust store and, with
// ssl.quorum.hostnameVerification (on by default), against the other's address.
type Quorum struct {
	set         *Settings
	dialTLS     bool // sslQuorum
	acceptPlain bool // portUnification
	reload      bool // sslQuorumReloadCertFiles: stores read again when their files change
	// OnReloadError hears of a changed store that could not be read (set before use).
	OnReloadError func(error)

	mu     sync.Mutex
	cert   tls.Certificate
	roots  *x509.CertPool // nil: the system's
	stamps []fileStamp    // the stores as last read
}

type fileStamp struct {
	path string
	mod  time.Time
	size int64
}

// NewQuorum reads the ssl.quorum.* settings and stores; nil (and no error) when neither
// sslQuorum nor portUnification asks for TLS.
func NewQuorum(get Get, sslQuorum, portUnification, reload bool) (*Quorum, error) {
	if !sslQuorum && !portUnification {
		return nil, nil
	}
	set, err := Read(get, QuorumPrefix)
	if err != nil {
		return nil, err
	}
	if set.KeyStoreLocation == "" {
		return nil, errors.New("no key store for the quorum: set ssl.quorum.keyStore.location")
	}
	q := &Quorum{set: set, dialTLS: sslQuorum, acceptPlain: portUnification, reload: reload}
	if err := q.load(); err != nil {
		return nil, err
	}
	return q, nil
}

// load reads the key and trust stores.
func (q *Quorum) load() error {
	cert, err := LoadKeyStore(q.set.KeyStoreLocation, q.set.KeyStorePassword, q.set.KeyStoreType)
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if q.set.TrustStoreLocation != "" {
		if roots, err = LoadTrustStore(q.set.TrustStoreLocation, q.set.TrustStorePassword, q.set.TrustStoreType); err != nil {
			return err
		}
	}
	q.cert, q.roots, q.stamps = cert, roots, q.stampFiles()
	return nil
}

func (q *Quorum) stampFiles() []fileStamp {
	var out []fileStamp
	for _, p := range []string{q.set.KeyStoreLocation, q.set.TrustStoreLocation} {
		if p == "" {
			continue
		}
		st := fileStamp{path: p}
		if fi, err := os.Stat(p); err == nil {
			st.mod, st.size = fi.ModTime(), fi.Size()
		}
		out = append(out, st)
	}
	return out
}

// material is the certificate and roots to use now, read again first if the files changed
// and reloading is on (a store that no longer reads keeps the last good one, as Java keeps
// its context when a reload fails).
func (q *Quorum) material() (tls.Certificate, *x509.CertPool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.reload {
		now := q.stampFiles()
		changed := len(now) != len(q.stamps)
		for i := range now {
			changed = changed || now[i] != q.stamps[i]
		}
		if changed {
			if err := q.load(); err != nil { // load changes nothing unless both stores read
				q.stamps = now // not read again until the files change again
				if q.OnReloadError != nil {
					q.OnReloadError(fmt.Errorf("reloading the quorum's key or trust store (the previous ones stay): %w", err))
				}
			}
		}
	}
	return q.cert, q.roots
}

// DialsTLS reports whether outgoing connections use TLS (sslQuorum).
func (q *Quorum) DialsTLS() bool { return q != nil && q.dialTLS }

// Dial secures an outgoing connection to host (the peer's configured host) with a TLS
// handshake within timeout; without sslQuorum it returns c as is. On error c is closed.
func (q *Quorum) Dial(c net.Conn, host string, timeout time.Duration) (net.Conn, error) {
	if !q.DialsTLS() {
		return c, nil
	}
	cert, roots := q.material()
	cfg := q.set.base()
	cfg.Certificates = []tls.Certificate{cert}
	cfg.InsecureSkipVerify = true // checked below: chain, then the host as ZKTrustManager does
	remote := remoteIP(c)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return q.verifyPeer(cs, roots, x509.ExtKeyUsageServerAuth, host, remote)
	}
	return handshake(tls.Client(c, cfg), timeout)
}

// Accept secures an incoming connection: TLS when its first bytes are a TLS record, plain
// text when portUnification allows it (or when the bytes do not come within
// ssl.quorum.handshakeDetectionTimeoutMillis), else an error. On error c is closed.
func (q *Quorum) Accept(c net.Conn, timeout time.Duration) (net.Conn, error) {
	if q == nil {
		return c, nil
	}
	if !isTLS(c, q.set.HandshakeTimeout) {
		if q.acceptPlain {
			return c, nil
		}
		c.Close()
		return nil, errors.New("blocked insecure connection attempt")
	}
	cert, roots := q.material()
	cfg := q.set.base()
	cfg.Certificates = []tls.Certificate{cert}
	cfg.ClientAuth = q.set.ClientAuth
	if cfg.ClientAuth == tls.RequireAndVerifyClientCert {
		cfg.ClientAuth = tls.RequireAnyClientCert // the chain is checked below, with the host
	} else if cfg.ClientAuth == tls.VerifyClientCertIfGiven {
		cfg.ClientAuth = tls.RequestClientCert
	}
	remote := remoteIP(c)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil // clientAuth none or want, none given
		}
		return q.verifyPeer(cs, roots, x509.ExtKeyUsageClientAuth, "", remote)
	}
	return handshake(tls.Server(c, cfg), timeout)
}

func handshake(tc *tls.Conn, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// verifyPeer checks the peer's chain against roots and, with hostname verification, that
// the certificate names the peer as ZKTrustManager.performHostVerification does with the
// socket's address: its IP address, else its host name, which is the configured host when
// this side dialled a name and the reverse-DNS name of the address otherwise.
func (q *Quorum) verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, usage x509.ExtKeyUsage, host, ip string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if err := verifyChain(cs.PeerCertificates, roots, usage); err != nil {
		return err
	}
	if !q.set.HostnameVerification {
		return nil
	}
	if ip != "" && verifyHost(leaf, ip) == nil {
		return nil
	}
	names := []string{host}
	if host == "" || net.ParseIP(host) != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		names, _ = net.DefaultResolver.LookupAddr(ctx, ip)
		cancel()
	}
	for _, n := range names {
		if n != "" && verifyHost(leaf, strings.TrimSuffix(n, ".")) == nil {
			return nil
		}
	}
	return fmt.Errorf("failed to verify both host address and host name: certificate %s names neither %s nor %v", JavaName(leaf.RawSubject), ip, names)
}

// verifyHost is the certificate's subject alternative names checked against host, or its
// common name when it has no DNS or IP names at all (ZKHostnameVerifier, as older
// certificates are made).
func verifyHost(cert *x509.Certificate, host string) error {
	if len(cert.DNSNames) > 0 || len(cert.IPAddresses) > 0 {
		return cert.VerifyHostname(host)
	}
	if cn := cert.Subject.CommonName; cn != "" && (strings.EqualFold(cn, host) || net.ParseIP(cn) != nil && net.ParseIP(cn).Equal(net.ParseIP(host))) {
		return nil
	}
	return fmt.Errorf("certificate is not valid for %s", host)
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// isTLS peeks at the first bytes of c (leaving them to be read) as UnifiedServerSocket.detectMode
// reads them: five bytes that make a TLS record header mean TLS; fewer, others, or none within
// timeout mean plain text.
func isTLS(c net.Conn, timeout time.Duration) bool {
	return sniff(c, timeout, false)
}

// LooksLikeTLS is the client port's detection with port unification (Netty's
// DualModeSslHandler): a connection whose first byte cannot start a TLS handshake is plain
// text at once (a four-letter word such as ruok); one whose first byte can is TLS if its
// first five bytes make a TLS record header. The bytes stay to be read.
func LooksLikeTLS(c net.Conn, timeout time.Duration) bool {
	return sniff(c, timeout, true)
}

// sniff peeks at c's first five bytes within timeout; patient keeps waiting for all five
// while the first is 0x16 (a TLS handshake record), as Netty's decoder waits for more.
func sniff(c net.Conn, timeout time.Duration, patient bool) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	var b [5]byte
	n := 0
	raw.Read(func(fd uintptr) bool {
		m, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
			return false // wait until readable (or the deadline)
		case err != nil || m == 0:
			return true // closed or failed: plain, and the reader meets it
		}
		n = m
		return !patient || n == len(b) || b[0] != 0x16 // else wait for more
	})
	return n == len(b) && b[0] >= 20 && b[0] <= 23 && b[1] == 3
}
