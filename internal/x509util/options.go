package x509util

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Prefixes of the two sets of settings (ClientX509Util and QuorumX509Util): a zoo.cfg key
// "ssl.keyStore.location" is the system property "zookeeper.ssl.keyStore.location".
const (
	ClientPrefix = "zookeeper.ssl."
	QuorumPrefix = "zookeeper.ssl.quorum."
)

// Settings are one prefix's ssl.* settings.
type Settings struct {
	KeyStoreLocation, KeyStorePassword, KeyStoreType       string
	TrustStoreLocation, TrustStorePassword, TrustStoreType string
	// Protocol is ssl.protocol (the context's protocol, TLSv1.2 by default); EnabledProtocols
	// is ssl.enabledProtocols (default: Protocol alone).
	Protocol         string
	EnabledProtocols []string
	// CipherSuites is ssl.ciphersuites, by default X509Util's list for Java 9 and later:
	// TLS 1.2 suites only, so that TLS 1.3 is on only when this names its suites too.
	CipherSuites []string
	// ClientAuth is ssl.clientAuth: need (the default), want or none.
	ClientAuth tls.ClientAuthType
	// HostnameVerification is ssl.hostnameVerification (default true): a client checks the
	// server's certificate against the host it dialled.
	HostnameVerification bool
	// HandshakeTimeout is ssl.handshakeDetectionTimeoutMillis (default 5 s), which ZooKeeper
	// uses on quorum ports only.
	HandshakeTimeout time.Duration
}

// Get looks a system property up.
type Get func(key string) (string, bool)

// Read collects the settings under prefix. A setting zkgo cannot honour (revocation checks,
// a Java SSLContext supplier class) is an error, so that a server never runs with less
// protection than its operator configured.
func Read(get Get, prefix string) (*Settings, error) {
	str := func(k string) string { v, _ := get(prefix + k); return strings.TrimSpace(v) }
	s := &Settings{
		KeyStoreLocation:     str("keyStore.location"),
		KeyStoreType:         str("keyStore.type"),
		TrustStoreLocation:   str("trustStore.location"),
		TrustStoreType:       str("trustStore.type"),
		Protocol:             "TLSv1.2",
		CipherSuites:         defaultCipherSuites,
		ClientAuth:           tls.RequireAndVerifyClientCert,
		HostnameVerification: true,
		HandshakeTimeout:     5 * time.Second,
	}
	var err error
	if s.KeyStorePassword, err = password(get, prefix+"keyStore"); err != nil {
		return nil, err
	}
	if s.TrustStorePassword, err = password(get, prefix+"trustStore"); err != nil {
		return nil, err
	}
	if v := str("protocol"); v != "" {
		s.Protocol = v
	}
	if _, err := tlsVersion(s.Protocol); err != nil {
		return nil, fmt.Errorf("%sprotocol: %w", prefix, err)
	}
	s.EnabledProtocols = []string{s.Protocol}
	if v := str("enabledProtocols"); v != "" {
		s.EnabledProtocols = splitList(v)
		for _, p := range s.EnabledProtocols {
			if _, err := tlsVersion(p); err != nil {
				return nil, fmt.Errorf("%senabledProtocols: %w", prefix, err)
			}
		}
	}
	if v := str("ciphersuites"); v != "" {
		s.CipherSuites = splitList(v)
		if _, err := cipherIDs(s.CipherSuites); err != nil {
			return nil, fmt.Errorf("%sciphersuites: %w", prefix, err)
		}
	}
	if min, max := s.versions(); min > max {
		// Java fails every handshake ("No appropriate protocol"): better not to start.
		return nil, fmt.Errorf("%senabledProtocols %s and %sciphersuites have no protocol and suite in common (TLS 1.3 needs TLS_AES_128_GCM_SHA256 or another TLS 1.3 suite, TLS 1.2 and older one of theirs)",
			prefix, strings.Join(s.EnabledProtocols, ","), prefix)
	}
	switch v := strings.ToUpper(str("clientAuth")); v {
	case "", "NEED":
	case "WANT":
		s.ClientAuth = tls.VerifyClientCertIfGiven
	case "NONE":
		s.ClientAuth = tls.NoClientCert
	default:
		return nil, fmt.Errorf("%sclientAuth: %q is none of NONE, WANT or NEED", prefix, v)
	}
	if v := str("hostnameVerification"); v != "" {
		s.HostnameVerification = strings.EqualFold(v, "true")
	}
	if v := str("handshakeDetectionTimeoutMillis"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%shandshakeDetectionTimeoutMillis: %q is not a number", prefix, v)
		}
		if ms >= 1 { // below 1 ZooKeeper warns and keeps 5000
			s.HandshakeTimeout = time.Duration(ms) * time.Millisecond
		}
	}
	for _, k := range []string{"crl", "ocsp"} {
		if strings.EqualFold(str(k), "true") {
			return nil, fmt.Errorf("%s%s=true: zkgo does not check certificate revocation; refusing to run without it", prefix, k)
		}
	}
	if v := str("context.supplier.class"); v != "" {
		return nil, fmt.Errorf("%scontext.supplier.class=%s: a Java class cannot be loaded by zkgo; use the key and trust store settings", prefix, v)
	}
	return s, nil
}

// password is a store's password: what the file named by .passwordPath holds, less one
// trailing newline (SecretUtils.readSecret), else the .password setting
// (X509Util.getPasswordFromConfigPropertyOrFile).
func password(get Get, key string) (string, error) {
	if path, _ := get(key + ".passwordPath"); strings.TrimSpace(path) != "" {
		b, err := os.ReadFile(strings.TrimSpace(path))
		if err != nil {
			return "", fmt.Errorf("%s.passwordPath: %w", key, err)
		}
		return strings.TrimSuffix(string(b), "\n"), nil
	}
	v, _ := get(key + ".password")
	return v, nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func tlsVersion(p string) (uint16, error) {
	switch p {
	case "TLSv1.3":
		return tls.VersionTLS13, nil
	case "TLSv1.2", "TLS":
		return tls.VersionTLS12, nil
	case "TLSv1.1":
		return tls.VersionTLS11, nil
	case "TLSv1":
		return tls.VersionTLS10, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (TLSv1.3, TLSv1.2, TLSv1.1 or TLSv1)", p)
}

// defaultCipherSuites is X509Util.getDefaultCipherSuitesForJavaVersion for Java 9 and later.
var defaultCipherSuites = []string{
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
}

// tls13Suites are TLS 1.3's suites. Go does not let them be chosen (all three are always on
// in TLS 1.3); naming any of them is what enables TLS 1.3, as in Java.
var tls13Suites = map[string]bool{"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true}

// javaOnlySuites are suites Java has and Go does not implement: a list naming them keeps
// the others (Java too skips suites its provider lacks).
var javaOnlySuites = map[string]bool{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": true, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": true}

// cipherIDs maps Java's suite names (the IANA names Go uses too) to Go's TLS 1.2 suite ids.
func cipherIDs(names []string) ([]uint16, error) {
	known := map[string]uint16{}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		known[c.Name] = c.ID
	}
	var ids []uint16
	for _, n := range names {
		if tls13Suites[n] || javaOnlySuites[n] {
			continue
		}
		id, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("unknown cipher suite %q", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// versions are the lowest and highest enabled protocol versions that have a suite: TLS 1.3
// when a TLS 1.3 suite is enabled, the older ones when one of the others is (Go would take
// an empty list as its own defaults).
func (s *Settings) versions() (min, max uint16) {
	has13 := false
	for _, c := range s.CipherSuites {
		has13 = has13 || tls13Suites[c]
	}
	ids, _ := cipherIDs(s.CipherSuites)
	for _, p := range s.EnabledProtocols {
		v, _ := tlsVersion(p)
		if v == tls.VersionTLS13 && !has13 || v < tls.VersionTLS13 && len(ids) == 0 {
			continue
		}
		if min == 0 || v < min {
			min = v
		}
		max = maxVersion(max, v)
	}
	if min == 0 {
		return 1, 0 // nothing to agree on
	}
	return min, max
}

func maxVersion(a, b uint16) uint16 {
	if a > b {
		return a
	}
	return b
}

// base is the tls.Config both sides share: protocols and suites.
func (s *Settings) base() *tls.Config {
	cfg := &tls.Config{}
	cfg.MinVersion, cfg.MaxVersion = s.versions()
	cfg.CipherSuites, _ = cipherIDs(s.CipherSuites)
	return cfg
}

// ServerConfig is the configuration of a TLS listener: the key store's certificate, and
// client certificates checked against the trust store (the system's roots without one, as a
// JVM's default trust store) as ssl.clientAuth says.
func (s *Settings) ServerConfig() (*tls.Config, error) {
	if s.KeyStoreLocation == "" {
		return nil, fmt.Errorf("no key store: set ssl.keyStore.location")
	}
	cert, err := LoadKeyStore(s.KeyStoreLocation, s.KeyStorePassword, s.KeyStoreType)
	if err != nil {
		return nil, err
	}
	cfg := s.base()
	cfg.Certificates = []tls.Certificate{cert}
	cfg.ClientAuth = s.ClientAuth
	if s.TrustStoreLocation != "" {
		if cfg.ClientCAs, err = LoadTrustStore(s.TrustStoreLocation, s.TrustStorePassword, s.TrustStoreType); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// ClientConfig is the configuration of a TLS client dialling host (zkserver status, tests):
// the key store's certificate if there is one, the server checked against the trust store,
// and against host when HostnameVerification is on.
func (s *Settings) ClientConfig(host string) (*tls.Config, error) {
	cfg := s.base()
	if s.KeyStoreLocation != "" {
		cert, err := LoadKeyStore(s.KeyStoreLocation, s.KeyStorePassword, s.KeyStoreType)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var roots *x509.CertPool
	if s.TrustStoreLocation != "" {
		var err error
		if roots, err = LoadTrustStore(s.TrustStoreLocation, s.TrustStorePassword, s.TrustStoreType); err != nil {
			return nil, err
		}
	}
	cfg.RootCAs = roots
	cfg.ServerName = host
	if !s.HostnameVerification {
		// Chain checked, name not: as ZKTrustManager with hostname verification off.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("server sent no certificate")
			}
			return verifyChain(cs.PeerCertificates, roots, x509.ExtKeyUsageServerAuth)
		}
	}
	return cfg, nil
}

// verifyChain checks a peer's certificate chain (leaf first) against roots (nil: the
// system's) for the given use.
func verifyChain(chain []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{usage}}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}
