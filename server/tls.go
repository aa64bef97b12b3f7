package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

const (
	schemeX509 = "x509"
	// x509Provider is the class ZooKeeper registers for the x509 scheme when a secure client
	// port is configured (QuorumPeerConfig.configureSSLAuth).
	x509Provider = "org.apache.zookeeper.server.auth.X509AuthenticationProvider"
)

// tlsServer is the secure client port's state: its configuration from the ssl.* settings
// (ClientX509Util's: zoo.cfg keys ssl.*, or -Dzookeeper.ssl.*) and the handshake limits.
type tlsServer struct {
	cfg              *tls.Config
	handshakeTimeout time.Duration // Netty's SslHandler default: ZooKeeper sets none on this port
	// trusted: a trust store is configured. Without one ZooKeeper's X509AuthenticationProvider
	// has no trust manager and refuses every client certificate.
	trusted bool
	// handshakeLimit is zookeeper.netty.server.outstandingHandshake.limit (<= 0: none).
	handshakeLimit int64
	superUser      string // zookeeper.X509AuthenticationProvider.superUser
}

// CheckTLS reads the client TLS settings and stores, if a secureClientPort or
// client.portUnification needs them, so that zkserver can refuse bad ones before it starts.
func CheckTLS(cfg *config.Config) error {
	if cfg.SecureClientPort == 0 && !cfg.PropBool("zookeeper.client.portUnification") {
		return nil
	}
	_, err := newTLSServer(cfg)
	return err
}

// newTLSServer reads the secure client port's settings; any it cannot honour is an error.
func newTLSServer(cfg *config.Config) (*tlsServer, error) {
	set, err := x509util.Read(cfg.Prop, x509util.ClientPrefix)
	if err != nil {
		return nil, err
	}
	// ssl.authProvider names the scheme whose provider authenticates certificates. zkgo has
	// ZooKeeper's x509 one; under any other name ZooKeeper finds no provider (they register
	// under their scheme) and closes every TLS connection, so such a setting is refused.
	if name := cfg.PropString("zookeeper.ssl.authProvider", schemeX509); name != schemeX509 {
		return nil, fmt.Errorf("ssl.authProvider=%s: zkgo authenticates TLS clients with %s (scheme x509) only", name, x509Provider)
	}
	tc, err := set.ServerConfig()
	if err != nil {
		return nil, err
	}
	su, _ := cfg.Prop("zookeeper.X509AuthenticationProvider.superUser")
	return &tlsServer{
		cfg:              tc,
		handshakeTimeout: 10 * time.Second,
		trusted:          set.TrustStoreLocation != "",
		handshakeLimit:   int64(cfg.PropInt("zookeeper.netty.server.outstandingHandshake.limit", -1)),
		superUser:        su,
	}, nil
}

// tlsHandshake completes a secure connection's handshake and authenticates the client by its
// certificate, as NettyServerCnxnFactory's CertificateVerifier with X509AuthenticationProvider:
// the certificate's subject as X500Principal.getName() writes it becomes an "x509" id, and a
// "super" one too when it is zookeeper.X509AuthenticationProvider.superUser. A client without
// a certificate (ssl.clientAuth=want or none) is served without one. A connection that fails
// is closed before anything else is read from it.
func (c *conn) tlsHandshake() bool {
	s, t, tc := c.s, c.s.tls, c.tlsc
	if n := s.stats.tlsHandshakes.Add(1); t.handshakeLimit > 0 && n > t.handshakeLimit {
		s.stats.tlsHandshakes.Add(-1)
		s.Count(TLSHandshakeExceeded, 1)
		s.log.Warn().Str("remote", c.remote).Int64("limit", t.handshakeLimit).Msg("too many TLS handshakes in progress; closing")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	s.stats.tlsHandshakes.Add(-1)
	if err != nil {
		s.stats.authFailed.Add(1)
		s.Count(UnsuccessfulHandshake, 1)
		s.log.Warn().Str("remote", c.remote).Err(err).Msg("unsuccessful TLS handshake; closing")
		return false
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return true
	}
	if !t.trusted {
		s.stats.authFailed.Add(1)
		s.log.Error().Str("remote", c.remote).Msg("no trust store (ssl.trustStore.location) to authenticate the client's certificate with; closing")
		return false
	}
	id := x509util.JavaName(certs[0].RawSubject)
	if t.superUser != "" && id == t.superUser {
		c.addAuth(jute.Id{Scheme: schemeSuper, ID: id})
	}
	c.addAuth(jute.Id{Scheme: schemeX509, ID: id})
	s.log.Debug().Str("remote", c.remote).Str("id", id).Msg("authenticated by x509 certificate")
	return true
}

// startTLS makes the connection a TLS one, before its reader and writer start: its bytes go
// through TLS, and no longer with raw writes to the socket.
func (c *conn) startTLS() {
	c.tlsc = tls.Server(c.nc, c.s.tls.cfg)
	c.rw, c.raw = c.tlsc, nil
}

// x509Matches is X509AuthenticationProvider.matches: the id is the ACL's, or the super user's.
func (s *Server) x509Matches(id, expr string) bool {
	return id == expr || s.tls != nil && s.tls.superUser != "" && id == s.tls.superUser
}
