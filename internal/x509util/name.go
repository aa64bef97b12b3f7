package x509util

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"unicode/utf16"
)

// rfc2253Keywords are the attribute names Java's X500Principal.getName() writes (RFC 2253's
// own); any other attribute is written as its OID and the hex of its DER value.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// rawRDNs is a distinguished name with each value's DER kept, so that a value is shown with
// its own string type (or hex-encoded with its own tag) as Java shows it.
type rawRDNs []rawRDNSET

// rawRDNSET is one RDN (a SET OF; encoding/asn1 takes a slice type named ...SET as a set).
type rawRDNSET []struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// JavaName is the distinguished name in the DER bytes of a certificate's subject (or issuer),
// written as Java's X500Principal.getName() writes it (RFC 2253: last RDN first, no spaces).
// ZooKeeper's x509 authentication uses that string as the client's id.
func JavaName(rawSubject []byte) string {
	var rdns rawRDNs
	if rest, err := asn1.Unmarshal(rawSubject, &rdns); err != nil || len(rest) > 0 {
		var seq pkix.RDNSequence // not our shape: Go's rendering is the best we have
		asn1.Unmarshal(rawSubject, &seq)
		return seq.String()
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i < len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, ava := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			kw, known := rfc2253Keywords[ava.Type.String()]
			s, isString := derString(ava.Value)
			if !known || !isString {
				if known {
					b.WriteString(kw)
				} else {
					b.WriteString(ava.Type.String())
				}
				b.WriteString("=#")
				b.WriteString(hex.EncodeToString(ava.Value.FullBytes)) // lower case, as Java
				continue
			}
			b.WriteString(kw)
			b.WriteByte('=')
			b.WriteString(escape2253(s))
		}
	}
	return b.String()
}

func derString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	// AVA.isDerString: the string types Java writes as text (others, VisibleString and
	// UniversalString included, as '#' and hex).
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, 27 /* GeneralString */ :
		return string(v.Bytes), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// escape2253 is AVA.toRFC2253String's escaping: the special characters anywhere, NUL as \00,
// and leading and trailing spaces and carriage returns.
func escape2253(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case strings.ContainsRune(",=+<>#;\"\\", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == 0:
			b.WriteString(`\00`)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	lead := len(out) - len(strings.TrimLeft(out, " \r"))
	trail := len(out) - len(strings.TrimRight(out, " \r"))
	if lead == len(out) {
		return escapeEach(out)
	}
	return escapeEach(out[:lead]) + out[lead:len(out)-trail] + escapeEach(out[len(out)-trail:])
}

// escapeEach puts a backslash before every byte of s (spaces and carriage returns).
func escapeEach(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte('\\')
		b.WriteByte(s[i])
	}
	return b.String()
}

// javaKeywords are the attribute names Java's X500Principal(String) accepts.
var javaKeywords = map[string]bool{
	"CN": true, "C": true, "L": true, "S": true, "ST": true, "O": true, "OU": true, "T": true, "IP": true,
	"STREET": true, "DC": true, "DNQUALIFIER": true, "DNQ": true, "SURNAME": true, "GIVENNAME": true,
	"INITIALS": true, "GENERATION": true, "EMAIL": true, "EMAILADDRESS": true, "UID": true, "SERIALNUMBER": true,
}

// ValidJavaName reports whether Java's X500Principal(String) takes s, which is what
// ZooKeeper's X509AuthenticationProvider.isValid asks of an x509 ACL id: RDNs separated by
// ',' or ';', attributes within one by '+', each a keyword or OID, '=', and a value that is
// escaped text, a quoted string or '#' and the hex of a DER value.
func ValidJavaName(s string) bool {
	if strings.TrimSpace(s) == "" {
		return true // the empty name
	}
	var avas []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			// Java takes an escaped special character or two hex digits.
			switch {
			case i+1 < len(s) && strings.IndexByte(",=\n+<>#;\\\" ", s[i+1]) >= 0:
				i++
			case i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
				i += 2
			default:
				return false
			}
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '+'):
			avas = append(avas, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return false
	}
	avas = append(avas, s[start:])
	for _, a := range avas {
		kw, val, ok := strings.Cut(a, "=")
		if !ok || !validKeyword(strings.TrimSpace(kw)) || !validValue(strings.TrimSpace(val)) {
			return false
		}
	}
	return true
}

func validKeyword(kw string) bool {
	if javaKeywords[strings.ToUpper(kw)] {
		return true
	}
	if len(kw) > 4 && strings.EqualFold(kw[:4], "OID.") {
		kw = kw[4:]
	}
	parts := strings.Split(kw, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	switch {
	case strings.HasPrefix(v, "#"):
		der, err := hex.DecodeString(v[1:])
		if err != nil || len(der) == 0 {
			return false
		}
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(der, &raw)
		return err == nil && len(rest) == 0
	case strings.HasPrefix(v, `"`):
		if len(v) < 2 || !strings.HasSuffix(v, `"`) || strings.HasSuffix(v, `\"`) && !strings.HasSuffix(v, `\\"`) {
			return false
		}
		return true
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++ // an escaped character, or the first of two hex digits (ValidJavaName checked)
			if i+1 < len(v) && isHex(v[i]) && isHex(v[i+1]) {
				i++
			}
		case '<', '>', '"':
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
