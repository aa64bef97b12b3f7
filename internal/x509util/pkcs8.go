package x509util

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"
)

// decryptPKCS8 reads an "ENCRYPTED PRIVATE KEY" (RFC 5958 EncryptedPrivateKeyInfo), the key of
// a PEM key store with ssl.keyStore.password: protected with PKCS#12's pbeWithSHAAnd3-KeyTripleDES-CBC
// (openssl pkcs8 -v1 PBE-SHA1-3DES, what ZooKeeper 3.8 on Java 17 reads) or with PBES2 (RFC 8018:
// PBKDF2 and AES or 3DES in CBC mode, openssl's default, which Java 17's ZooKeeper cannot read).
// maxKDFIterations bounds a key's PBKDF iteration count (a key store's own, not a peer's;
// 2^24 takes seconds). A variable so that the fuzz tests can keep each input short.
var maxKDFIterations = 1 << 24

func decryptPKCS8(der []byte, password string) (crypto.PrivateKey, error) {
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed encrypted private key")
	}
	if info.Algo.Algorithm.Equal(oidPBESHA3DES) {
		var params struct {
			Salt []byte
			Iter int
		}
		if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil || params.Iter <= 0 || params.Iter > maxKDFIterations {
			return nil, errors.New("malformed PBE parameters")
		}
		key := pkcs12KDF(password, params.Salt, params.Iter, 1, 24)
		iv := pkcs12KDF(password, params.Salt, params.Iter, 2, 8)
		block, err := des.NewTripleDESCipher(key)
		if err != nil {
			return nil, err
		}
		return decryptCBC(block, iv, info.Data)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("unsupported key encryption %v (PBES2 or PBE-SHA1-3DES only)", info.Algo.Algorithm)
	}
	var params struct {
		KDF, Cipher pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &params); err != nil {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("unsupported key derivation %v (PBKDF2 only)", params.KDF.Algorithm)
	}
	var kdf struct {
		Salt      []byte
		Iter      int
		KeyLength int                      `asn1:"optional"`
		PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || kdf.Iter <= 0 || kdf.Iter > maxKDFIterations {
		return nil, errors.New("malformed PBKDF2 parameters")
	}
	prf := sha1.New
	switch {
	case len(kdf.PRF.Algorithm) == 0 || kdf.PRF.Algorithm.Equal(oidHMACSHA1):
	case kdf.PRF.Algorithm.Equal(oidHMACSHA256):
		prf = sha256.New
	case kdf.PRF.Algorithm.Equal(oidHMACSHA384):
		prf = sha512.New384
	case kdf.PRF.Algorithm.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("unsupported PBKDF2 function %v", kdf.PRF.Algorithm)
	}
	var (
		keyLen   int
		newBlock func([]byte) (cipher.Block, error)
	)
	switch c := params.Cipher.Algorithm; {
	case c.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case c.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case c.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case c.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("unsupported key cipher %v", c)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Cipher.Parameters.FullBytes, &iv); err != nil {
		return nil, errors.New("malformed cipher parameters")
	}
	key, err := pbkdf2.Key(func() hash.Hash { return prf() }, password, kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	return decryptCBC(block, iv, info.Data)
}

// decryptCBC decrypts a PKCS#8 key encrypted in CBC mode with PKCS#7 padding.
func decryptCBC(block cipher.Block, iv, data []byte) (crypto.PrivateKey, error) {
	bs := block.BlockSize()
	if len(iv) != bs || len(data) == 0 || len(data)%bs != 0 {
		return nil, errors.New("malformed encrypted private key")
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	// PKCS#7 padding; a wrong password shows here or in the parse below.
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > bs {
		return nil, errors.New("wrong password for the private key")
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, errors.New("wrong password for the private key")
		}
	}
	k, err := x509.ParsePKCS8PrivateKey(plain[:len(plain)-pad])
	if err != nil {
		return nil, errors.New("wrong password for the private key")
	}
	return k, nil
}

// pkcs12KDF is RFC 7292 appendix B.2 with SHA-1: n bytes of key (id 1) or IV (id 2) material
// from a password (as a NUL-terminated BMPString) and a salt.
func pkcs12KDF(password string, salt []byte, iter int, id byte, n int) []byte {
	const u, v = sha1.Size, 64
	var pw []byte
	for _, r := range utf16.Encode([]rune(password)) {
		pw = append(pw, byte(r>>8), byte(r))
	}
	pw = append(pw, 0, 0)
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	I := append(fill(salt), fill(pw)...)
	D := bytes.Repeat([]byte{id}, v)
	var out []byte
	for len(out) < n {
		h := sha1.New()
		h.Write(D)
		h.Write(I)
		A := h.Sum(nil)
		for r := 1; r < iter; r++ {
			A1 := sha1.Sum(A)
			A = A1[:]
		}
		out = append(out, A...)
		B := make([]byte, v)
		for i := range B {
			B[i] = A[i%u]
		}
		for j := 0; j < len(I); j += v { // I_j = (I_j + B + 1) mod 2^(8v)
			carry := 1
			for k := v - 1; k >= 0; k-- {
				sum := int(I[j+k]) + int(B[k]) + carry
				I[j+k], carry = byte(sum), sum>>8
			}
		}
	}
	return out[:n]
}

var (
	oidPBESHA3DES = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)
