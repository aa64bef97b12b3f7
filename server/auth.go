package server

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"github.com/zkgo/zkgo/internal/x509util"
	"hash"
	"net"
	"strconv"
	"strings"

	"github.com/zkgo/zkgo/jute"
)

// Auth schemes the server knows (ProviderRegistry defaults plus sasl).
const (
	schemeWorld  = "world"
	schemeAuth   = "auth"
	schemeDigest = "digest"
	schemeIP     = "ip"
	schemeSuper  = "super"
	schemeSASL   = "sasl"
)

// DigestID returns the digest id of "user:password": user:base64(sha1(user:password))
// (DigestAuthenticationProvider.generateDigest with the default digestAlg).
func DigestID(userPassword string) string {
	sum := sha1.Sum([]byte(userPassword))
	return digestID(userPassword, sum[:])
}

func digestID(userPassword string, sum []byte) string {
	user, _, _ := strings.Cut(userPassword, ":")
	return user + ":" + base64.StdEncoding.EncodeToString(sum)
}

// digestHash is the hash of zookeeper.DigestAuthenticationProvider.digestAlg, named as Java's
// MessageDigest names it (case does not matter); every server and client of an ensemble must
// use the same one. An unknown name stops the server, as MessageDigest.getInstance does.
func digestHash(alg string) (func([]byte) []byte, error) {
	newHash, ok := digestAlgs[strings.ToUpper(alg)]
	if !ok {
		return nil, fmt.Errorf("zookeeper.DigestAuthenticationProvider.digestAlg: unknown digest algorithm %q", alg)
	}
	return func(b []byte) []byte { h := newHash(); h.Write(b); return h.Sum(nil) }, nil
}

// digestAlgs are the MessageDigest names digestHash knows, upper case.
var digestAlgs = map[string]func() hash.Hash{
	"SHA": sha1.New, "SHA1": sha1.New, "SHA-1": sha1.New,
	"SHA-224": sha256.New224, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New,
	"SHA3-224": func() hash.Hash { return sha3.New224() }, "SHA3-256": func() hash.Hash { return sha3.New256() },
	"SHA3-384": func() hash.Hash { return sha3.New384() }, "SHA3-512": func() hash.Hash { return sha3.New512() },
	"MD5": md5.New,
}

// digestIDOf is DigestID with the server's digestAlg.
func (s *Server) digestIDOf(userPassword string) string {
	return digestID(userPassword, s.digestHash([]byte(userPassword)))
}

// validACLID checks an ACL id for its scheme (AuthenticationProvider.isValid).
func validACLID(scheme, id string) bool {
	switch scheme {
	case schemeWorld:
		return id == "anyone"
	case schemeDigest:
		// Java: id.split(":").length == 2, where split drops trailing empty parts.
		parts := strings.Split(id, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return len(parts) == 2
	case schemeIP:
		_, _, ok := parseIPACL(id)
		return ok
	case schemeSASL:
		return true
	case schemeX509:
		return x509util.ValidJavaName(id) // X509AuthenticationProvider.isValid: new X500Principal(id)
	}
	return false
}

// parseIPACL parses "addr[/bits]".
func parseIPACL(s string) (net.IP, int, bool) {
	addr, bitsStr, hasBits := strings.Cut(s, "/")
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, 0, false
	}
	full := 128
	if v4 := ip.To4(); v4 != nil && !strings.Contains(addr, ":") {
		ip, full = v4, 32
	}
	bits := full
	if hasBits {
		b, err := strconv.Atoi(bitsStr)
		if err != nil || b < 0 || b > full {
			return nil, 0, false
		}
		bits = b
	}
	return ip, bits, true
}

// ipMatches reports whether the client address id falls in the ACL expression (IPAuthenticationProvider.matches).
func ipMatches(id, expr string) bool {
	aip, bits, ok := parseIPACL(expr)
	if !ok {
		return false
	}
	cip := net.ParseIP(id)
	if cip == nil {
		return false
	}
	if v4 := cip.To4(); v4 != nil && len(aip) == 4 {
		cip = v4
	}
	if len(cip) != len(aip) {
		return false
	}
	mask := net.CIDRMask(bits, len(aip)*8)
	return cip.Mask(mask).Equal(aip.Mask(mask))
}

func (s *Server) idMatches(scheme, id, expr string) bool {
	switch scheme {
	case schemeIP:
		return ipMatches(id, expr)
	case schemeX509:
		return s.x509Matches(id, expr)
	case schemeDigest, schemeSASL:
		return id == expr || scheme == schemeSASL && s.saslMatches(id, expr)
	}
	return false
}

// checkACL enforces perm on a node's ACL for the caller's ids (ZooKeeperServer.checkACL).
func (s *Server) checkACL(acl []jute.ACL, perm int32, ids []jute.Id) jute.Code {
	if s.skipACL || len(acl) == 0 {
		return jute.OK
	}
	for _, id := range ids {
		if id.Scheme == schemeSuper {
			return jute.OK
		}
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		if a.Id.Scheme == schemeWorld && a.Id.ID == "anyone" {
			return jute.OK
		}
		if !s.auth.providers[a.Id.Scheme] {
			continue // no provider to match with (ZooKeeperServer.checkACL)
		}
		for _, id := range ids {
			if id.Scheme == a.Id.Scheme && s.idMatches(id.Scheme, id.ID, a.Id.ID) {
				return jute.OK
			}
		}
	}
	return jute.NoAuth
}

// fixupACL validates a create/setACL ACL list, drops duplicates and expands `auth` entries
// into the caller's authenticated ids (PrepRequestProcessor.fixupACL).
func (s *Server) fixupACL(acl []jute.ACL, ids []jute.Id) ([]jute.ACL, jute.Code) {
	if len(acl) == 0 {
		return nil, jute.InvalidACL
	}
	uniq := make([]jute.ACL, 0, len(acl))
	for _, a := range acl {
		dup := false
		for _, u := range uniq {
			if u == a {
				dup = true
				break
			}
		}
		if !dup {
			uniq = append(uniq, a)
		}
	}
	out := make([]jute.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.Id.Scheme == schemeWorld && a.Id.ID == "anyone":
			out = append(out, a)
		case a.Id.Scheme == schemeAuth:
			added := false
			for _, id := range ids {
				if s.auth.authenticates(id.Scheme) {
					out = append(out, jute.ACL{Perms: a.Perms, Id: id})
					added = true
				}
			}
			if !added {
				return nil, jute.InvalidACL
			}
		default:
			if !s.auth.providers[a.Id.Scheme] || !validACLID(a.Id.Scheme, a.Id.ID) {
				return nil, jute.InvalidACL
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, jute.InvalidACL
	}
	// Expansion of `auth` can itself produce duplicates.
	final := out[:0:0]
	for _, a := range out {
		dup := false
		for _, u := range final {
			if u == a {
				dup = true
				break
			}
		}
		if !dup {
			final = append(final, a)
		}
	}
	return final, jute.OK
}

// maskDigests hides digest hashes from callers without ADMIN (getACL in 3.6+).
func maskDigests(acl []jute.ACL) []jute.ACL {
	out := make([]jute.ACL, len(acl))
	for i, a := range acl {
		out[i] = a
		if a.Id.Scheme == schemeDigest {
			user, _, _ := strings.Cut(a.Id.ID, ":")
			out[i].Id.ID = user + ":x"
		}
	}
	return out
}
