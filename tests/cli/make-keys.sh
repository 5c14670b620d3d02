#!/bin/sh
# Makes the fixture keys the CLI cases use (%KEYS%), fresh on every run, with `jwtd keygen`
# and `openssl` (for the PEM flavours keygen does not write: PKCS#1, SEC1, Ed448).
# Usage: make-keys.sh JWTD_BINARY KEYS_DIR. No private key is committed to the repository.
set -eu
jwtd=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

# One key per algorithm family from jwtd itself; ${name}.pem is private (PKCS#8),
# ${name}.pub.jwk the public JWK keygen prints, ${name}.pub.pem its SPKI form.
for alg in RS256 ES256 ES384 ES512 EdDSA; do
    "$jwtd" keygen --alg "$alg" --out "$alg.pem" > "$alg.pub.jwk"
    openssl pkey -in "$alg.pem" -pubout -out "$alg.pub.pem"
done
# A second RSA key (from OpenSSL, PKCS#1 "BEGIN RSA PRIVATE KEY") for PS* and wrong-key cases.
openssl genrsa -traditional -out RSA2.pem 2048 2>/dev/null
openssl rsa -in RSA2.pem -pubout -out RSA2.pub.pem 2>/dev/null
# EC in SEC1 form ("BEGIN EC PRIVATE KEY") and Ed448, which keygen does not make.
openssl ecparam -name prime256v1 -genkey -noout -out EC2.pem
openssl ec -in EC2.pem -pubout -out EC2.pub.pem 2>/dev/null
openssl genpkey -algorithm ed448 -out Ed448.pem
openssl pkey -in Ed448.pem -pubout -out Ed448.pub.pem
# Another Ed25519 key: signing with it and verifying with EdDSA.pub.pem must fail.
openssl genpkey -algorithm ed25519 -out Ed25519b.pem

# HMAC secrets: raw bytes and oct JWKs (which name their alg), and a text secret.
for alg in HS256 HS384 HS512; do
    "$jwtd" keygen --alg "$alg" --out "$alg.key"
    "$jwtd" keygen --alg "$alg" --jwk --out "$alg.jwk"
done
printf '%s\n' 'a text secret of more than thirty-two bytes' > text-secret.key
printf '%s' 'a text secret of more than thirty-two bytes' > text-secret-nonl.key
printf '%s\r\n' 'a text secret of more than thirty-two bytes' > text-secret-crlf.key
printf '%s\n\n' 'a text secret of more than thirty-two bytes' > text-secret-2nl.key

# Private JWKs with and without kid, and a JWKS of two public keys (ES256 and EdDSA).
"$jwtd" keygen --alg ES256 --jwk --out ES256b.jwk > ES256b.pub.jwk
printf '{"keys":[%s,%s]}\n' "$(cat ES256.pub.jwk)" "$(cat EdDSA.pub.jwk)" > pub.jwks
printf '{"keys":[%s,%s]}\n' "$(cat ES256b.jwk)" "$(cat RS256.pub.jwk)" > mixed.jwks

# Not keys at all.
printf 'zq-garbage-zq\n' > short-garbage.key
printf -- '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' > bad.pem
printf '{"kty":"EC","crv":"P-256"}\n' > bad.jwk
head -c 1048577 /dev/zero | tr '\0' 'a' > huge.key
echo "keys made in $dir"
