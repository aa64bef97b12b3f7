#!/usr/bin/env bash
# Regenerates the TLS test stores with openssl and Java's keytool (as an operator makes them),
# valid for 100 years: a CA, a server certificate for 127.0.0.1/localhost and a client
# certificate, each as PKCS12, JKS and PEM (the key also PKCS#8-encrypted with PBES2 and with
# PBE-SHA1-3DES), and trust stores
# holding the CA. Every password is "secret". Run from anywhere; writes next to this script.
set -euo pipefail
cd "$(dirname "$0")"
rm -f ./*.pem ./*.p12 ./*.jks ./*.key ./*.srl ./*.ext
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days $days -subj "/CN=zkgo test CA" 2>/dev/null

leaf() { # leaf NAME SUBJECT EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days -extfile "$1.ext" -out "$1-cert.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
	openssl pkcs8 -topk8 -nocrypt -in "$1.key" | cat - "$1-cert.pem" >"$1-keystore.pem"
	openssl pkcs8 -topk8 -v2 aes256 -passout pass:secret -in "$1.key" | cat - "$1-cert.pem" >"$1-keystore-encrypted.pem"
	openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -passout pass:secret -in "$1.key" | cat - "$1-cert.pem" >"$1-keystore-pbes1.pem"
	openssl pkcs12 -export -inkey "$1.key" -in "$1-cert.pem" -certfile ca.pem -name "$1" -out "$1.p12" -passout pass:secret
	keytool -importkeystore -noprompt -srckeystore "$1.p12" -srcstoretype PKCS12 -srcstorepass secret \
		-destkeystore "$1.jks" -deststoretype JKS -deststorepass secret -destkeypass secret 2>/dev/null
	rm -f "$1.key"
}
leaf server "/CN=localhost" "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client "/O=Test, Inc./OU=zkgo/CN=client one" "extendedKeyUsage=clientAuth"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout stranger.key -out stranger-cert.pem -days $days -subj "/CN=stranger" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in stranger.key | cat - stranger-cert.pem >stranger-keystore.pem
rm -f stranger.key stranger-cert.pem
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.jks -storetype JKS -storepass secret 2>/dev/null
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.p12 -storetype PKCS12 -storepass secret 2>/dev/null
cp ca.pem truststore.pem
rm -f ca.key ca.srl
