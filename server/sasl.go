package server

import (
	"fmt"
	"os"
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// SASL (op 102) as Apache ZooKeeper 3.8 runs it (ZooKeeperServer.processSasl): the client
// sends GetSASLRequest{token}, the server answers SetSASLResponse{token}, both with reply
// zxid 0. Only DIGEST-MD5 with users from the JAAS "Server" section is supported (GSSAPI
// needs Kerberos).

// System properties (zoo.cfg spellings work too: unknown zoo.cfg keys are zookeeper.*).
const (
	propSASLServerSection    = "zookeeper.sasl.serverconfig" // JAAS section, default "Server"
	propSASLSuperPassword    = "zookeeper.SASLAuthenticationProvider.superPassword"
	propSASLSuperUser        = "zookeeper.superUser" // also zookeeper.superUser.<anything>
	propAllowSASLFailed      = "zookeeper.allowSaslFailedClients"
	propRequireClientSASL    = "zookeeper.sessionRequireClientSASLAuth"
	propEnforceAuthEnabled   = "zookeeper.enforce.auth.enabled"
	propEnforceAuthSchemes   = "zookeeper.enforce.auth.schemes"
	propLetAnySASLUserDoX    = "zookeeper.letAnySaslUserDoX"
	defaultSASLServerSection = "Server"
	jaasUserPrefix           = "user_"
)

// saslServer is the server side of one connection's SASL exchange (DIGEST-MD5). Apache
// ZooKeeper makes one per connection when SASL is configured; here it is made on the
// connection's first SASL request.
type saslServer struct {
	mech *digestMD5
}

func newSASLServer(users map[string]string, superPassword string, hasSuperPassword bool) *saslServer {
	lookup := func(user string) (string, bool) {
		pw, ok := users[user]
		if !ok {
			return "", false // "User ... not found in list of DIGEST-MD5 authenticateable users."
		}
		if user == "super" && hasSuperPassword {
			return superPassword, true
		}
		return pw, true
	}
	return &saslServer{mech: newDigestMD5(lookup)}
}

func (z *saslServer) evaluate(tok []byte) ([]byte, error) { return z.mech.evaluate(tok) }
func (z *saslServer) complete() bool                      { return z.mech.complete }
func (z *saslServer) authorizationID() string             { return z.mech.authzID }

// saslMatches is SASLAuthenticationProvider.matches: the id "super" matches every sasl ACL
// entry; otherwise ids match exactly, or the entry is the zookeeper.letAnySaslUserDoX name,
// which stands for every SASL-authenticated user.
func (s *Server) saslMatches(id, expr string) bool {
	if id == "super" || id == expr {
		return true
	}
	return s.saslAnyUser != "" && expr == s.saslAnyUser
}

// loadSASLUsers reads the DIGEST-MD5 users of the JAAS "Server" section named by
// java.security.auth.login.config (SaslServerCallbackHandler: every option user_<name>
// of every login module of the section). It returns nil when SASL is not configured (no
// JAAS file, or no such section: ServerCnxnFactory.configureSaslLogin), and an error when
// the file cannot be read or parsed (Apache ZooKeeper refuses to start then).
func loadSASLUsers(cfg *config.Config) (map[string]string, error) {
	entries, err := jaasSection(cfg, cfg.PropString(propSASLServerSection, defaultSASLServerSection))
	if err != nil || len(entries) == 0 {
		// No such section (an empty one counts as none: getAppConfigurationEntry is null).
		return nil, err
	}
	return jaasUsers(entries), nil
}

// jaasUsers is every option user_<name> of every login module of a section.
func jaasUsers(entries []jaasEntry) map[string]string {
	users := map[string]string{}
	for _, e := range entries {
		for k, v := range e.Options {
			if name, ok := strings.CutPrefix(k, jaasUserPrefix); ok {
				users[name] = v
			}
		}
	}
	return users
}

// jaasSection reads a section of the JAAS file named by java.security.auth.login.config:
// nil when there is no file or no such section, an error when the file cannot be read or
// parsed.
func jaasSection(cfg *config.Config, section string) ([]jaasEntry, error) {
	file := cfg.JAASConfigFile()
	if file == "" {
		return nil, nil
	}
	lookup := func(name string) (string, bool) {
		if v, ok := cfg.Props[name]; ok {
			return v, true
		}
		return javaDefaultProp(name)
	}
	fail := func(err error) error {
		return fmt.Errorf("No JAAS configuration section named '%s' was found in '%s': %w", section, file, err)
	}
	expanded, err := expandJavaProps(file, lookup)
	if err != nil {
		return nil, fail(err)
	}
	text, err := os.ReadFile(jaasFilePath(expanded))
	if err != nil {
		return nil, fail(err)
	}
	jc, err := parseJAAS(string(text), lookup)
	if err != nil {
		return nil, fail(err)
	}
	return jc[section], nil
}

// QuorumSASL is what quorum SASL (quorum.auth.enableSasl) needs from the JAAS file: the
// users the server section (quorum.auth.server.saslLoginContext, "QuorumServer") accepts, as
// SaslQuorumServerCallbackHandler reads them, and the name and password of the learner
// section (quorum.auth.learner.saslLoginContext, "QuorumLearner"), DigestLoginModule's
// username and password options. Only DIGEST-MD5 is supported: a section with a Kerberos
// login module (Krb5LoginModule) is an error, as a missing section is (ZooKeeper fails to
// start then too).
type QuorumSASL struct {
	Users                   map[string]string
	LearnerUser, LearnerPwd string
}

// CheckQuorumSASL reads the JAAS sections an ensemble member with quorum.auth.enableSasl
// needs (zkserver checks them before it starts one, as ZooKeeper fails without them).
func CheckQuorumSASL(cfg *config.Config) error {
	if !cfg.QuorumEnableSasl || len(cfg.Servers) == 0 {
		return nil
	}
	_, err := LoadQuorumSASL(cfg)
	return err
}

// LoadQuorumSASL reads the two sections.
func LoadQuorumSASL(cfg *config.Config) (*QuorumSASL, error) {
	serverSection, learnerSection := cfg.QuorumLoginContexts()
	q := &QuorumSASL{}
	for i, sec := range []string{serverSection, learnerSection} {
		entries, err := jaasSection(cfg, sec)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("SASL-authentication failed because the specified JAAS configuration section '%s' could not be found", sec)
		}
		for _, e := range entries {
			if strings.Contains(e.Module, "Krb5LoginModule") {
				return nil, fmt.Errorf("JAAS section '%s': zkgo supports DIGEST-MD5 quorum SASL only, not Kerberos (%s)", sec, e.Module)
			}
		}
		if i == 0 {
			q.Users = jaasUsers(entries)
			continue
		}
		found := false
		for _, e := range entries {
			if u, ok := e.Options["username"]; ok {
				q.LearnerUser, q.LearnerPwd, found = u, e.Options["password"], true
			}
		}
		if !found {
			return nil, fmt.Errorf("JAAS section '%s' has no username for the quorum learner", sec)
		}
	}
	return q, nil
}

// isSASLSuperUser: zookeeper.superUser, or any zookeeper.superUser.<x>, names the id.
func isSASLSuperUser(cfg *config.Config, id string) bool {
	if id == "" {
		return false
	}
	for k, v := range cfg.Props {
		if rest, ok := strings.CutPrefix(k, propSASLSuperUser); ok && (rest == "" || rest[0] == '.') && v == id {
			return true
		}
	}
	return false
}

// handleSASL answers a SASL token (op 102). Called with c.mu held.
func (s *Server) handleSASL(r *request) {
	c := r.conn
	var req jute.SASLToken
	if err := jute.Unmarshal(r.body, &req); err != nil || req.Token == nil {
		// Java fails outside processSasl's handlers (bad record, or a null token) and the
		// connection is dropped without a reply.
		s.log.Warn().Str("client", c.remote).Msg("bad SASL request; closing connection")
		c.sendAndClose(nil)
		return
	}
	var out []byte
	if s.saslUsers == nil {
		// No JAAS Server section: the connection has no SASL server, and Apache ZooKeeper
		// answers OK with a null token (the NullPointerException is caught and logged).
		s.log.Error().Str("client", c.remote).Msg("SASL requested but SASL is not configured (no JAAS Server section)")
	} else {
		if c.saslSrv == nil {
			pw, hasPW := s.cfg.Prop(propSASLSuperPassword)
			c.saslSrv = newSASLServer(s.saslUsers, pw, hasPW)
		}
		tok, err := c.saslSrv.evaluate(req.Token)
		switch {
		case err == errSASLFatal:
			s.log.Warn().Str("client", c.remote).Msg("malformed SASL response; closing connection")
			c.sendAndClose(nil)
			return
		case err != nil:
			s.log.Warn().Str("client", c.remote).Err(err).Msg("client failed to SASL authenticate")
			required := s.auth.saslRequired()
			if s.cfg.PropBool(propAllowSASLFailed) && !required {
				s.log.Warn().Str("client", c.remote).Msg("maintaining client connection despite SASL authentication failure")
				break
			}
			code := jute.AuthFailed
			if required {
				code = jute.SessionClosedRequireSASLAuth
				s.log.Warn().Str("client", c.remote).Msg("closing client connection: the server requires SASL authentication, which failed")
			} else {
				s.log.Warn().Str("client", c.remote).Msg("closing client connection due to SASL authentication failure")
			}
			c.sendAndClose(frame(jute.ReplyHeader{Xid: r.xid, Err: int32(code)}, &jute.SASLToken{}))
			return
		default:
			out = tok
			if c.saslSrv.complete() {
				id := c.saslSrv.authorizationID()
				s.log.Info().Str("session", fmt.Sprintf("0x%x", c.sid())).Str("authorizationID", id).Msg("adding SASL authorization")
				c.addAuth(jute.Id{Scheme: schemeSASL, ID: id})
				if isSASLSuperUser(s.cfg, id) {
					c.addAuth(jute.Id{Scheme: schemeSuper, ID: ""})
					s.log.Info().Str("session", fmt.Sprintf("0x%x", c.sid())).Str("id", id).Msg("authenticated as super user")
				}
				c.saslDone = true
			}
		}
	}
	c.send(frame(jute.ReplyHeader{Xid: r.xid}, &jute.SASLToken{Token: out}))
}
