// Package x509util turns ZooKeeper's ssl.* settings into a crypto/tls configuration, as
// Apache ZooKeeper's common.X509Util does for its Netty client port: the key store (the
// server's certificate and key) and trust store (the certificates it accepts) in the formats
// ZooKeeper reads (JKS, PKCS12, PEM), the protocols, cipher suites and client authentication.
package x509util

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// StoreType is a key or trust store's file format (KeyStoreFileType).
type StoreType string

const (
	JKS    StoreType = "JKS"
	PEM    StoreType = "PEM"
	PKCS12 StoreType = "PKCS12"
	BCFKS  StoreType = "BCFKS"
)

// storeType is KeyStoreFileType.fromPropertyValueOrFileName: the type setting if there is
// one (any case), else the file's extension.
func storeType(setting, path string) (StoreType, error) {
	if setting != "" {
		switch t := StoreType(strings.ToUpper(setting)); t {
		case JKS, PEM, PKCS12, BCFKS:
			return t, nil
		}
		return "", fmt.Errorf("invalid key store type %q (JKS, PEM, PKCS12 or BCFKS)", setting)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jks":
		return JKS, nil
	case ".pem":
		return PEM, nil
	case ".p12": // not .pfx, which ZooKeeper 3.8 does not take either
		return PKCS12, nil
	case ".bcfks":
		return BCFKS, nil
	}
	return "", fmt.Errorf("unable to auto-detect store file type from file name: %s", path)
}

// LoadKeyStore reads the certificate chain and private key of a key store. A JKS or PKCS12
// store's key is protected by the store's password, as ZooKeeper requires; a PEM file holds
// the key (PKCS#8, PKCS#1 or SEC 1, or PKCS#8 encrypted with the password) and its chain.
func LoadKeyStore(path, password, typ string) (tls.Certificate, error) {
	t, err := storeType(typ, path)
	if err != nil {
		return tls.Certificate{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, err
	}
	var (
		key   crypto.PrivateKey
		chain []*x509.Certificate
	)
	switch t {
	case JKS:
		key, chain, err = jksKey(data, password)
	case PKCS12:
		var leaf *x509.Certificate
		var cas []*x509.Certificate
		key, leaf, cas, err = pkcs12.DecodeChain(data, password)
		chain = append([]*x509.Certificate{leaf}, cas...)
	case PEM:
		key, chain, err = pemKey(data, password)
	default:
		err = fmt.Errorf("%s stores are not supported (JKS, PEM or PKCS12)", t)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key store %s: %w", path, err)
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	if !publicKeyMatches(chain[0], key) {
		return tls.Certificate{}, fmt.Errorf("key store %s: the private key does not belong to the certificate %s", path, JavaName(chain[0].RawSubject))
	}
	return cert, nil
}

// LoadTrustStore reads the certificates of a trust store.
func LoadTrustStore(path, password, typ string) (*x509.CertPool, error) {
	t, err := storeType(typ, path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	switch t {
	case JKS:
		certs, err = jksCerts(data, password)
	case PKCS12:
		certs, err = pkcs12.DecodeTrustStore(data, password)
		if err != nil {
			// A key store used as trust store: its chain is trusted (Java accepts that too).
			if _, leaf, cas, kerr := pkcs12.DecodeChain(data, password); kerr == nil {
				certs, err = append([]*x509.Certificate{leaf}, cas...), nil
			}
		}
	case PEM:
		certs, err = pemCerts(data)
	default:
		err = fmt.Errorf("%s stores are not supported (JKS, PEM or PKCS12)", t)
	}
	if err == nil && len(certs) == 0 {
		err = errors.New("no certificates")
	}
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func jksLoad(data []byte, password string) (keystore.KeyStore, error) {
	// ZooKeeper loads a store with its password, "" when none is set, and Java checks the
	// store's digest with any password it is given: a store with a password needs it.
	ks := keystore.New(keystore.WithMinPasswordLen(0))
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		if strings.Contains(err.Error(), "digest") {
			return ks, errors.New("keystore was tampered with, or password was incorrect")
		}
		return ks, err
	}
	return ks, nil
}

// jksKey is the store's first private key entry (by alias order), as Java's key manager
// picks one when the store has a single key, which is how ZooKeeper's stores are made.
func jksKey(data []byte, password string) (crypto.PrivateKey, []*x509.Certificate, error) {
	ks, err := jksLoad(data, password)
	if err != nil {
		return nil, nil, err
	}
	for _, alias := range ks.Aliases() {
		if !ks.IsPrivateKeyEntry(alias) {
			continue
		}
		e, err := ks.GetPrivateKeyEntry(alias, []byte(password))
		if err != nil {
			return nil, nil, fmt.Errorf("entry %q: %w", alias, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, nil, fmt.Errorf("entry %q: %w", alias, err)
		}
		var chain []*x509.Certificate
		for _, c := range e.CertificateChain {
			cert, err := x509.ParseCertificate(c.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			chain = append(chain, cert)
		}
		if len(chain) == 0 {
			return nil, nil, fmt.Errorf("entry %q has no certificate", alias)
		}
		return key, chain, nil
	}
	return nil, nil, errors.New("no private key entry")
}

// jksCerts are a JKS store's trusted certificates and the chains of its key entries.
func jksCerts(data []byte, password string) ([]*x509.Certificate, error) {
	ks, err := jksLoad(data, password)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, alias := range ks.Aliases() {
		var raw []keystore.Certificate
		if ks.IsTrustedCertificateEntry(alias) {
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, err
			}
			raw = []keystore.Certificate{e.Certificate}
		} else if raw, err = ks.GetPrivateKeyEntryCertificateChain(alias); err != nil {
			return nil, err
		}
		for _, c := range raw {
			cert, err := x509.ParseCertificate(c.Content)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			certs = append(certs, cert)
		}
	}
	return certs, nil
}

// pemKey reads a PEM key store: one private key and the certificates that follow or precede it.
func pemKey(data []byte, password string) (crypto.PrivateKey, []*x509.Certificate, error) {
	var (
		key   crypto.PrivateKey
		chain []*x509.Certificate
	)
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var err error
		switch b.Type {
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				chain = append(chain, c)
			}
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			key, err = decryptPKCS8(b.Bytes, password)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", strings.ToLower(b.Type), err)
		}
	}
	switch {
	case key == nil:
		return nil, nil, errors.New("no private key")
	case len(chain) == 0:
		return nil, nil, errors.New("no certificate")
	}
	return key, chain, nil
}

func pemCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return certs, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
}

func publicKeyMatches(cert *x509.Certificate, key crypto.PrivateKey) bool {
	type publicKeyer interface{ Public() crypto.PublicKey }
	k, ok := key.(publicKeyer)
	if !ok {
		return false
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return pub.Equal(k.Public())
	case *ecdsa.PublicKey:
		return pub.Equal(k.Public())
	case ed25519.PublicKey:
		return pub.Equal(k.Public())
	}
	return false
}
