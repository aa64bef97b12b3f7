package x509util

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The certificates' subjects and the stores' keys of testdata/tls seed the targets.
func seedPEM(f *testing.F, want string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			if want == "" || b.Type == want {
				f.Add(b.Bytes)
			}
		}
	}
}

// FuzzJavaName: any DER is written as some name and never panics; a name written from a
// well-formed subject is one Java's X500Principal parses back (ValidJavaName), as an x509
// ACL id made from a certificate must be, except where Java itself writes what it cannot
// read: a value's leading or trailing carriage return, escaped (Java 17 refuses "O=a\\\r").
func FuzzJavaName(f *testing.F) {
	for _, name := range []string{"client-cert.pem", "server-cert.pem", "odd-name-cert.pem", "ca.pem"} {
		f.Add(readCertF(f, name).RawSubject)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		name := JavaName(der)
		var rdns rawRDNs
		if rest, err := asn1.Unmarshal(der, &rdns); err == nil && len(rest) == 0 && !strings.Contains(name, "\\\r") && !ValidJavaName(name) {
			t.Fatalf("JavaName wrote %q, which Java would not parse back", name)
		}
	})
}

// FuzzDecryptPKCS8: an encrypted key, malformed or with any password, is an error or a key.
// shortKDF bounds the iteration counts of keys the fuzz target decrypts, for as long as it
// runs: a fuzzed count near 2^24 takes seconds, and the parsing is what is fuzzed.
func shortKDF(f *testing.F) {
	old := maxKDFIterations
	maxKDFIterations = 1 << 12
	f.Cleanup(func() { maxKDFIterations = old })
}

func FuzzDecryptPKCS8(f *testing.F) {
	shortKDF(f)
	seedPEM(f, "ENCRYPTED PRIVATE KEY")
	f.Fuzz(func(t *testing.T, der []byte) {
		decryptPKCS8(der, "secret")
	})
}

// FuzzPEMKeyStore: a PEM key store file of any content is an error or a key and chain.
func FuzzPEMKeyStore(f *testing.F) {
	shortKDF(f)
	for _, name := range []string{"server-keystore.pem", "client-keystore-encrypted.pem", "client-keystore-pbes1.pem"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pemKey(data, "secret")
		pemCerts(data)
	})
}

func readCertF(f *testing.F, name string) *x509.Certificate {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		f.Fatal(err)
	}
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	return c
}
