#!/bin/sh
# tests/net/make_certs.sh DIR - throw-away TLS material for the tests, made
# at run time (no key is ever committed): DIR/ca.pem (a CA), DIR/cert.pem and
# DIR/key.pem (a server certificate it signed, for localhost and 127.0.0.1,
# the chain file holding leaf and CA), DIR/other.pem and DIR/other-key.pem (a
# self-signed certificate nobody trusts, for "does not verify" cases).
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=grove test CA" \
  -keyout ca-key.pem -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout key.pem -out leaf.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
q openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem
cat leaf.pem ca.pem > cert.pem
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout other-key.pem -out other.pem
rm -f leaf.csr leaf.ext ca.srl
