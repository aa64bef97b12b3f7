package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/x509util"
	"github.com/zkgo/zkgo/quorum/config"
)

// adminTLS is the AdminServer's TLS (JettyAdminServer): with zookeeper.admin.forceHttps it
// serves HTTPS only, with zookeeper.admin.portUnification HTTP and HTTPS on the one port;
// either way with the quorum's key store (ssl.quorum.keyStore.*) and without asking clients
// for certificates, as Jetty's SslContextFactory there. Nil: plain HTTP.
func adminTLS(cfg *config.Config) (tc *tls.Config, unified bool, err error) {
	force, unified := cfg.PropBool("zookeeper.admin.forceHttps"), cfg.PropBool("zookeeper.admin.portUnification")
	if !force && !unified {
		return nil, false, nil
	}
	set, err := x509util.Read(cfg.Prop, x509util.QuorumPrefix)
	if err != nil {
		return nil, false, err
	}
	if tc, err = set.ServerConfig(); err != nil {
		return nil, false, err
	}
	// Jetty's SslContextFactory there gets the stores only: the JVM's default protocols and
	// ciphers (TLS 1.3 and 1.2), not ssl.quorum.protocol and ssl.quorum.ciphersuites.
	tc.ClientAuth = tls.NoClientCert
	tc.MinVersion, tc.MaxVersion, tc.CipherSuites = tls.VersionTLS12, 0, nil
	return tc, unified && !force, nil
}

// adminListener wraps the AdminServer's listener in TLS: every connection, or (unified) those
// whose first byte opens a TLS handshake.
// plain is called for each plain connection of a unified port (insecure_admin_count).
func adminListener(ln net.Listener, tc *tls.Config, unified bool, plain func()) net.Listener {
	if !unified {
		return tls.NewListener(ln, tc)
	}
	return unifiedListener{Listener: ln, tc: tc, plain: plain}
}

type unifiedListener struct {
	net.Listener
	tc    *tls.Config
	plain func()
}

func (l unifiedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, tc: l.tc, plain: l.plain}, nil
}

// sniffConn decides on its first read whether the client speaks TLS (a handshake record,
// 0x16), in the connection's own goroutine so that a silent client holds up no other.
type sniffConn struct {
	net.Conn
	tc    *tls.Config
	plain func()
	once  sync.Once
	inner net.Conn // the TLS or plain stream, the first byte given back
	err   error
}

func (c *sniffConn) sniff() {
	var b [1]byte
	if _, err := c.Conn.Read(b[:]); err != nil {
		c.err = err
		return
	}
	p := &prefixConn{Conn: c.Conn, pre: b[:]}
	if b[0] == 0x16 {
		c.inner = tls.Server(p, c.tc)
	} else {
		c.inner = p
		c.plain()
	}
}

func (c *sniffConn) Read(b []byte) (int, error) {
	if c.once.Do(c.sniff); c.err != nil {
		return 0, c.err
	}
	return c.inner.Read(b)
}

func (c *sniffConn) Write(b []byte) (int, error) {
	if c.once.Do(c.sniff); c.err != nil {
		return 0, c.err
	}
	return c.inner.Write(b)
}

// secure reports whether the connection turned out to be TLS (once sniffed).
func (c *sniffConn) secure() bool {
	_, ok := c.inner.(*tls.Conn)
	return ok
}

// prefixConn reads pre before the rest of the connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

type adminConnKey struct{}

// withAdminConn keeps the connection in the request's context, for hsts.
func withAdminConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, adminConnKey{}, c)
}

// hsts adds Strict-Transport-Security to answers over TLS, as Jetty's
// SecureRequestCustomizer with JettyAdminServer's max age (a day) and subdomains.
func hsts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := r.TLS != nil
		if c, ok := r.Context().Value(adminConnKey{}).(*sniffConn); ok {
			secure = c.secure()
		}
		if secure {
			w.Header().Set("Strict-Transport-Security", "max-age=86400; includeSubDomains")
		}
		h.ServeHTTP(w, r)
	})
}

// httpErrorLog logs what net/http reports: failed TLS handshakes (any client can cause
// them) at debug level, the rest (a handler's panic, accept errors) as warnings.
type httpErrorLog struct{ log zerolog.Logger }

func (w httpErrorLog) Write(b []byte) (int, error) {
	msg := strings.TrimSpace(string(b))
	if strings.Contains(msg, "TLS handshake error") {
		w.log.Debug().Msg(msg)
	} else {
		w.log.Warn().Msg(msg)
	}
	return len(b), nil
}
