package server

import (
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// saslServer is the server side of one SASL exchange (DIGEST-MD5).
type saslServer struct{}

// loadSASLUsers reads the DIGEST-MD5 users of the JAAS "Server" section named by
// java.security.auth.login.config.
func loadSASLUsers(cfg *config.Config) (map[string]string, error) { return nil, nil }

// handleSASL answers a SASL token (op 102).
func (s *Server) handleSASL(r *request) {
	c := r.conn
	c.send(frame(jute.ReplyHeader{Xid: r.xid, Err: int32(jute.AuthFailed)}, nil))
}
