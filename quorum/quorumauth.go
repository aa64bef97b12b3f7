package quorum

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
)

// Quorum SASL (quorum.auth.enableSasl, ZooKeeper's QuorumAuth): right after a member opens an
// election connection (after its handshake) or a learner connection to its leader or
// observer master, the two run a SASL exchange of QuorumAuthPackets {long magic, int
// status, buffer token}. The learner (the side that connected) authenticates when
// quorum.auth.learnerRequireSasl is set; the server side (the side that accepted) answers
// a connection that starts with the magic and, when quorum.auth.serverRequireSasl is set,
// refuses one that does not or that fails. DIGEST-MD5 only, with the users of the JAAS
// QuorumServer section and the name and password of the QuorumLearner section.
const (
	quorumAuthMagic    = 0x5f2435013501edcc // QUORUM_AUTH_MAGIC_NUMBER: Java's -0xa0dbcafecafe1234L (the literal is negative)
	quorumAuthProtocol = "zookeeper-quorum"
	quorumAuthServer   = "zk-quorum-sasl-md5"
	quorumAuthRetries  = 5 // SaslQuorumAuthServer.MAX_RETRIES

	authInProgress int32 = 0
	authSuccess    int32 = 1
	authError      int32 = -1

	maxAuthToken = 64 << 10 // a DIGEST-MD5 token is a few hundred bytes
)

// quorumAuth authenticates quorum connections (cnx.Authenticator).
type quorumAuth struct {
	learnerRequire, serverRequire bool
	sasl                          *server.QuorumSASL
	timeout                       time.Duration
	log                           zerolog.Logger
}

// newQuorumAuth reads the JAAS sections when quorum.auth.enableSasl is set (nil when not);
// a missing section stops the server, as it stops ZooKeeper's.
func newQuorumAuth(cfg *config.Config, timeout time.Duration, log zerolog.Logger) (*quorumAuth, error) {
	if !cfg.QuorumEnableSasl {
		return nil, nil
	}
	sasl, err := server.LoadQuorumSASL(cfg)
	if err != nil {
		return nil, fmt.Errorf("quorum SASL: %w", err)
	}
	return &quorumAuth{learnerRequire: cfg.QuorumLearnerRequireSasl, serverRequire: cfg.QuorumServerRequireSasl,
		sasl: sasl, timeout: timeout, log: log}, nil
}

func writeAuthPacket(w io.Writer, status int32, tok []byte) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(int64(quorumAuthMagic)))
	b = binary.BigEndian.AppendUint32(b, uint32(status))
	if tok == nil {
		b = binary.BigEndian.AppendUint32(b, 0xFFFFFFFF) // a null buffer
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(tok)))
		b = append(b, tok...)
	}
	_, err := w.Write(b)
	return err
}

func readAuthPacket(r io.Reader) (status int32, tok []byte, err error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if int64(binary.BigEndian.Uint64(h[:8])) != quorumAuthMagic {
		return 0, nil, errors.New("not a quorum auth packet")
	}
	status = int32(binary.BigEndian.Uint32(h[8:12]))
	n := int32(binary.BigEndian.Uint32(h[12:16]))
	if n < 0 {
		return status, nil, nil
	}
	if n > maxAuthToken {
		return 0, nil, fmt.Errorf("quorum auth token of %d bytes", n)
	}
	tok = make([]byte, n)
	_, err = io.ReadFull(r, tok)
	return status, tok, err
}

// Learn authenticates a connection this member opened (SaslQuorumAuthLearner.authenticate).
func (a *quorumAuth) Learn(c net.Conn, host string) error {
	if !a.learnerRequire {
		return nil // ZooKeeper's learner skips it too
	}
	c.SetDeadline(time.Now().Add(a.timeout))
	defer c.SetDeadline(time.Time{})
	cli := server.NewDigestMD5Client(a.sasl.LearnerUser, a.sasl.LearnerPwd, quorumAuthProtocol, quorumAuthServer)
	if err := writeAuthPacket(c, authInProgress, []byte{}); err != nil {
		return err
	}
	status, tok, err := readAuthPacket(c)
	if err != nil {
		return err
	}
	for !cli.Complete() {
		switch status {
		case authSuccess:
			out, err := cli.Evaluate(tok)
			if err != nil {
				return err
			}
			if out != nil {
				return errors.New("SASL protocol error: a response after completion")
			}
		case authInProgress:
			out, err := cli.Evaluate(tok)
			if err != nil {
				return err
			}
			if err := writeAuthPacket(c, authInProgress, out); err != nil {
				return err
			}
			if status, tok, err = readAuthPacket(c); err != nil {
				return err
			}
		default:
			return fmt.Errorf("authentication failed against server addr: %s", c.RemoteAddr())
		}
	}
	if status != authSuccess {
		return fmt.Errorf("authentication failed against server addr: %s, status %d", c.RemoteAddr(), status)
	}
	a.log.Info().Str("server", c.RemoteAddr().String()).Msg("quorum SASL authentication completed")
	return nil
}

// Serve answers the exchange on a connection this member accepted
// (SaslQuorumAuthServer.authenticate) and returns the connection to go on with: one that
// starts with something else is let through unless authentication is required, with what
// was read of it put back.
func (a *quorumAuth) Serve(c net.Conn) (net.Conn, error) {
	c.SetDeadline(time.Now().Add(a.timeout))
	defer c.SetDeadline(time.Time{})
	br := bufio.NewReader(c)
	rest := func() net.Conn {
		if br.Buffered() == 0 {
			return c
		}
		return &bufferedConn{Conn: c, r: br}
	}
	head, err := br.Peek(8)
	if err != nil {
		if a.serverRequire {
			return nil, err
		}
		// Not required: the connection goes on as it is (a peer that lost the connection
		// challenge has closed it, and this side must still dial it back).
		return rest(), nil
	}
	if int64(binary.BigEndian.Uint64(head)) != quorumAuthMagic {
		if a.serverRequire {
			return nil, errors.New("learner not trying to authenticate and authentication is required")
		}
		return rest(), nil
	}
	fail := func(err error) (net.Conn, error) {
		writeAuthPacket(c, authError, []byte{})
		if a.serverRequire {
			return nil, fmt.Errorf("failed to authenticate using SASL: %w", err)
		}
		a.log.Warn().Err(err).Str("learner", c.RemoteAddr().String()).Msg("maintaining learner connection despite SASL authentication failure")
		return rest(), nil
	}
	_, tok, err := readAuthPacket(br)
	if err != nil {
		return fail(err)
	}
	users := a.sasl.Users
	srv := server.NewDigestMD5Server(quorumAuthProtocol, quorumAuthServer, func(u string) (string, bool) { pw, ok := users[u]; return pw, ok })
	for tries := 0; ; {
		challenge, err := srv.Evaluate(tok)
		if err != nil {
			return fail(err)
		}
		if srv.Complete() {
			if z := srv.RequestedAuthorization(); z != "" && z != srv.User() {
				// SaslQuorumServerCallbackHandler authorises a learner as itself only.
				return fail(fmt.Errorf("%s may not act as %s", srv.User(), z))
			}
			if err := writeAuthPacket(c, authSuccess, challenge); err != nil {
				return nil, err
			}
			a.log.Info().Str("learner", c.RemoteAddr().String()).Str("user", srv.User()).Msg("quorum SASL authentication completed")
			return rest(), nil
		}
		if tries++; tries > quorumAuthRetries {
			return fail(errors.New("too many SASL rounds"))
		}
		if err := writeAuthPacket(c, authInProgress, challenge); err != nil {
			return nil, err
		}
		if _, tok, err = readAuthPacket(br); err != nil {
			return fail(err)
		}
	}
}

// bufferedConn reads what a bufio.Reader holds before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
