package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
)

// schemeEnsemble is EnsembleAuthenticationProvider's scheme: an addauth that names the
// ensemble a client means to reach, never an ACL id.
const schemeEnsemble = "ensemble"

// providerClasses are the authentication providers ZooKeeper ships, by the class names
// zookeeper.authProvider.* give, and the scheme each registers.
var providerClasses = map[string]string{
	"org.apache.zookeeper.server.auth.IPAuthenticationProvider":       schemeIP,
	"org.apache.zookeeper.server.auth.DigestAuthenticationProvider":   schemeDigest,
	"org.apache.zookeeper.server.auth.SASLAuthenticationProvider":     schemeSASL,
	"org.apache.zookeeper.server.auth.X509AuthenticationProvider":     schemeX509,
	"org.apache.zookeeper.server.auth.EnsembleAuthenticationProvider": schemeEnsemble,
}

// authConfig is ZooKeeper's ProviderRegistry and AuthenticationHelper: the schemes that have
// a provider, which alone can appear in ACLs, match callers and be added with addauth, and
// the schemes a connection must have authenticated with before any other request
// (zookeeper.enforce.auth.*).
type authConfig struct {
	providers map[string]bool
	// ensembleNames are zookeeper.ensembleAuthName's names; nil: any name is accepted.
	ensembleNames  map[string]bool
	enforce        bool
	enforceSchemes []string
}

// CheckAuth reads the authentication settings, so that zkserver can refuse bad ones before
// it starts, as ZooKeeper's server fails to start with them.
func CheckAuth(cfg *config.Config) error {
	_, err := newAuthConfig(cfg)
	return err
}

// newAuthConfig registers ip and digest (unless zookeeper.DigestAuthenticationProvider.enabled
// is false), the providers zookeeper.authProvider.* name, and x509 when a secure client port
// or port unification needs it (QuorumPeerConfig.configureSSLAuth). zkgo runs no Java
// classes: a provider class other than ZooKeeper's own is refused, rather than started
// without the scheme its clients authenticate with.
func newAuthConfig(cfg *config.Config) (*authConfig, error) {
	a := &authConfig{providers: map[string]bool{schemeIP: true}}
	if cfg.PropBoolDefault("zookeeper.DigestAuthenticationProvider.enabled", true) {
		a.providers[schemeDigest] = true
	}
	for _, class := range cfg.AuthProviders() {
		scheme, ok := providerClasses[strings.TrimSpace(class)]
		if !ok {
			return nil, fmt.Errorf("zookeeper.authProvider: %s: zkgo cannot load Java classes; its providers are ZooKeeper's IP, Digest, SASL, X509 and Ensemble AuthenticationProvider", class)
		}
		a.providers[scheme] = true
	}
	if _, named := cfg.Prop("zookeeper.authProvider.x509"); !named &&
		(cfg.SecureClientPort != 0 || cfg.PropBool("zookeeper.client.portUnification")) {
		a.providers[schemeX509] = true
	}
	if names, ok := cfg.Prop("zookeeper.ensembleAuthName"); ok {
		a.ensembleNames = map[string]bool{}
		for _, n := range strings.Split(names, ",") {
			a.ensembleNames[strings.TrimSpace(n)] = true
		}
	}

	// AuthenticationHelper: sessionRequireClientSASLAuth means enforcing sasl.
	if cfg.PropBoolDefault(propRequireClientSASL, false) {
		a.enforce, a.enforceSchemes = true, []string{schemeSASL}
	} else {
		a.enforce = cfg.PropBoolDefault(propEnforceAuthEnabled, false)
		if v, ok := cfg.Prop(propEnforceAuthSchemes); ok {
			// String.split drops trailing empty strings (not blank ones).
			parts := strings.Split(v, ",")
			for len(parts) > 0 && parts[len(parts)-1] == "" {
				parts = parts[:len(parts)-1]
			}
			for _, s := range parts {
				a.enforceSchemes = append(a.enforceSchemes, strings.TrimSpace(s))
			}
		}
	}
	if a.enforce {
		if len(a.enforceSchemes) == 0 {
			return nil, fmt.Errorf("%s is true %s must be  configured.", propEnforceAuthEnabled, propEnforceAuthSchemes)
		}
		for _, s := range a.enforceSchemes {
			if !a.providers[s] {
				return nil, fmt.Errorf("Authentication scheme %s is not available.", s)
			}
		}
	}
	return a, nil
}

// saslRequired is AuthenticationHelper.isSaslAuthRequired.
// userName is the provider's getUserName for id: a digest id's user, any other id itself;
// none for a scheme without a provider (super, sasl without SASLAuthenticationProvider).
func (a *authConfig) userName(id jute.Id) (string, bool) {
	if !a.providers[id.Scheme] {
		return "", false
	}
	if id.Scheme == schemeDigest {
		user, _, _ := strings.Cut(id.ID, ":")
		return user, true
	}
	return id.ID, true
}

func (a *authConfig) saslRequired() bool {
	return a.enforce && slices.Contains(a.enforceSchemes, schemeSASL)
}

// authenticates reports whether ids of this scheme stand for an authenticated user, which is
// what the `auth` ACL scheme expands to (a registered provider's isAuthenticated).
func (a *authConfig) authenticates(scheme string) bool {
	return a.providers[scheme] && (scheme == schemeDigest || scheme == schemeSASL || scheme == schemeX509)
}

// allows reports whether a connection with these ids may make requests: with enforcement on,
// only once it authenticated with one of the enforced schemes (isCnxnAuthenticated).
func (a *authConfig) allows(ids []jute.Id) bool {
	if !a.enforce {
		return true
	}
	for _, id := range ids {
		if slices.Contains(a.enforceSchemes, id.Scheme) {
			return true
		}
	}
	return false
}
