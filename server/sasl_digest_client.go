package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// DigestMD5Client is the client side of a DIGEST-MD5 exchange, as the JDK's mechanism runs
// it for a ZooKeeper quorum learner (SecurityUtils.createSaslClient with no authzid): no
// initial response; the challenge's first realm, qop auth, utf-8; the server's rspauth is
// checked.
type DigestMD5Client struct {
	user, password, uri string
	nonce, cnonce       []byte
	realm               string
	step                int // 0: expect the challenge; 1: expect rspauth; 2: complete
}

// NewDigestMD5Client starts an exchange with the server serverName of protocol.
func NewDigestMD5Client(user, password, protocol, serverName string) *DigestMD5Client {
	return &DigestMD5Client{user: user, password: password, uri: protocol + "/" + serverName}
}

// Complete reports whether the server proved it knows the password too.
func (c *DigestMD5Client) Complete() bool { return c.step == 2 }

// Evaluate answers a server token: the digest-response to the challenge, then nil once the
// rspauth checks out.
func (c *DigestMD5Client) Evaluate(tok []byte) ([]byte, error) {
	switch c.step {
	case 0:
		v, err := parseDigestDirectives(tok)
		if err != nil {
			return nil, err
		}
		if v[dNonce] == nil {
			return nil, saslErrf("DIGEST-MD5: digest-challenge format violation: missing nonce")
		}
		if v[dQop] != nil && !strings.Contains(","+strings.ReplaceAll(string(v[dQop]), " ", "")+",", ",auth,") {
			return nil, saslErrf("DIGEST-MD5: no common protection layer between client and server")
		}
		c.nonce = v[dNonce]
		if v[dRealm] != nil {
			c.realm = javaUTF8(v[dRealm])
		}
		var raw [30]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		c.cnonce = []byte(base64.StdEncoding.EncodeToString(raw[:]))
		resp := digestResponseValue("AUTHENTICATE", c.uri, "auth", c.user, c.realm, c.password, c.nonce, c.cnonce, nil)
		var b []byte
		b = append(b, `charset=utf-8,username="`...)
		b = appendQuotedValue(b, []byte(c.user))
		if c.realm != "" { // the JDK leaves realm out when the challenge names none
			b = append(b, `",realm="`...)
			b = appendQuotedValue(b, []byte(c.realm))
		}
		b = append(b, `",nonce="`...)
		b = appendQuotedValue(b, c.nonce)
		b = append(b, `",nc=`+saslNonceCount+`,cnonce="`...)
		b = appendQuotedValue(b, c.cnonce)
		b = append(b, `",digest-uri="`...)
		b = appendQuotedValue(b, []byte(c.uri))
		b = append(b, `",response=`...)
		b = append(b, resp...)
		b = append(b, ",qop=auth"...)
		c.step = 1
		return b, nil
	case 1:
		got, ok := strings.CutPrefix(string(tok), "rspauth=")
		want := digestResponseValue("", c.uri, "auth", c.user, c.realm, c.password, c.nonce, c.cnonce, nil)
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			return nil, saslErrf("DIGEST-MD5: server's rspauth does not match")
		}
		c.step = 2
		return nil, nil
	}
	return nil, errors.New("DIGEST-MD5: authentication already complete")
}
