#!/usr/bin/env python3
"""Writes the fuzz seed corpora tests/fuzz/seeds/<harness>/ from the public vectors (../shared/vectors)
plus a few hand-made hostile inputs. The output is committed; rerun only to change the seed set:
    python3 tests/fuzz/make_seeds.py [VECTORS_DIR]
Needs python3-cryptography for the PEM seeds (keys from the RFC vectors, so PEMs are reproducible)."""
import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "vectors")
RFC = os.path.join(VEC, "latchset-jose-rfc")
BOOK = os.path.join(VEC, "jose-cookbook")
WYCHE = os.path.join(VEC, "wycheproof")


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load(path):
    with open(path, "rb") as f:
        return f.read()


def write(harness, name, data):
    d = os.path.join(HERE, "seeds", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_verify: tokens and JWS in every serialization ----
for f in sorted(os.listdir(RFC)):
    if f.endswith((".jwsc", ".jwsf", ".jwsg")):
        write("fuzz_verify", "rfc7515_" + f.split("_", 1)[1], load(os.path.join(RFC, f)).strip())

for rel, forms in [("jws/4_1.rsa_v15_signature.json", ["compact", "json_flat"]),
                   ("jws/4_2.rsa-pss_signature.json", ["compact"]),
                   ("jws/4_3.ecdsa_signature.json", ["compact"]),
                   ("jws/4_4.hmac-sha2_integrity_protection.json", ["compact", "json"]),
                   ("jws/4_5.signature_with_detached_content.json", ["json_flat"]),
                   ("jws/4_6.protecting_specific_header_fields.json", ["json"]),
                   ("jws/4_7.protecting_content_only.json", ["json_flat"]),
                   ("jws/4_8.multiple_signatures.json", ["json"]),
                   ("curve25519/jws.json", ["compact"]),
                   ("rfc7797/hmac-sha2_b64_false.json", ["json_flat"])]:
    out = json.loads(load(os.path.join(BOOK, rel)))["output"]
    stem = os.path.basename(rel).split(".")[0]
    for form in forms:
        v = out[form]
        write("fuzz_verify", "rfc7520_%s_%s" % (stem, form),
              v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))

# One valid and one invalid token of each Wycheproof JWS group with a distinct comment.
seen = set()
for g in json.loads(load(os.path.join(WYCHE, "json_web_signature_test.json")))["testGroups"]:
    if g["comment"] in seen:
        continue
    seen.add(g["comment"])
    for want in ("valid", "invalid"):
        t = next((t for t in g["tests"] if t["result"] == want and isinstance(t["jws"], str)), None)
        if t:
            write("fuzz_verify", "wycheproof_jws_%d_%s" % (t["tcId"], want), t["jws"])

# Hostile tokens signed with the RFC 7515 A.1 secret (the harness's HS256 key), so the fuzzer
# starts past the signature, at the header and claim checks.
A1_KEY = unb64u(json.loads(load(os.path.join(RFC, "rfc7515_A.1.jwk")))["k"])


def hs256(header, claims):
    claims = claims if isinstance(claims, bytes) else claims.encode()
    si = b64u(header.encode()) + "." + b64u(claims)
    return si + "." + b64u(hmac.new(A1_KEY, si.encode(), hashlib.sha256).digest())


H = '{"alg":"HS256","typ":"JWT"}'
for name, header, claims in [
        ("claims_all", H, '{"iss":"joe","sub":"alice","aud":["x","fuzz-aud"],"exp":1300819380,'
                          '"nbf":1300818000,"iat":1300818000,"jti":"a1","roles":["admin","user"]}'),
        ("exp_string", H, '{"exp":"1300819380"}'),
        ("exp_huge", H, '{"exp":1e400}'),
        ("exp_2p63", H, '{"exp":9223372036854775808}'),
        ("exp_fraction", H, '{"exp":1300819380.5}'),
        ("exp_duplicate", H, '{"exp":1300819380,"exp":1}'),
        ("nbf_future", H, '{"exp":1300819380,"nbf":1400000000}'),
        ("aud_non_string", H, '{"exp":1300819380,"aud":["a",1]}'),
        ("alg_duplicate", '{"alg":"HS256","alg":"none"}', '{"exp":1300819380}'),
        ("crit_unknown", '{"alg":"HS256","crit":["x-custom"],"x-custom":1}', '{"exp":1300819380}'),
        ("crit_registered", '{"alg":"HS256","crit":["alg"]}', '{"exp":1300819380}'),
        ("b64_false_no_crit", '{"alg":"HS256","b64":false}', '{"exp":1300819380}'),
        ("kid_traversal", '{"alg":"HS256","kid":"../../etc/passwd"}', '{"exp":1300819380}'),
        ("embedded_jwk", '{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}', '{"exp":1300819380}'),
        ("deep_json", H, '{"exp":1300819380,"x":' + "[" * 20 + "]" * 20 + "}"),
        ("claims_not_object", H, '[1,2,3]'),
        ("utf8_bad", H, b'{"exp":1300819380,"sub":"\xc3\x28"}')]:
    write("fuzz_verify", "hostile_" + name, hs256(header, claims))
write("fuzz_verify", "hostile_alg_none", b64u(b'{"alg":"none"}') + "." + b64u(b'{"exp":1300819380}') + ".")
write("fuzz_verify", "hostile_one_segment", b64u(b'{"alg":"HS256"}'))
write("fuzz_verify", "hostile_padded", hs256(H, '{"exp":1300819380}').replace(".", "=.", 1))
# A payload for the harness's sign-then-verify path that passes every claim check it sets.
write("fuzz_verify", "payload_claims_ok",
      '{"iss":"joe","sub":"alice","aud":"fuzz-aud","jti":"j1","exp":1300819380,"roles":["admin"]}')

# ---- fuzz_jwk: single JWKs and JWKS ----
for f in sorted(os.listdir(RFC)):
    if f.endswith((".jwk", ".jwkset")):
        write("fuzz_jwk", f, load(os.path.join(RFC, f)).strip())
for f in sorted(os.listdir(os.path.join(BOOK, "jwk"))):
    write("fuzz_jwk", "rfc7520_" + f.split(".")[0],
          json.dumps(json.loads(load(os.path.join(BOOK, "jwk", f))), separators=(",", ":")))
write("fuzz_jwk", "rfc8037_ed25519",
      json.dumps(json.loads(load(os.path.join(BOOK, "curve25519", "jws.json")))["input"]["key"],
                 separators=(",", ":")))
for g in json.loads(load(os.path.join(WYCHE, "json_web_key_test.json")))["testGroups"]:
    for kind in ("private", "public"):
        if kind in g:
            write("fuzz_jwk", "wycheproof_%s_%s" % (g["comment"], kind),
                  json.dumps(g[kind], separators=(",", ":")))


# ---- fuzz_pem: the RFC keys as PEM in every container jwtd reads ----
def jwk_int(jwk, m):
    return int.from_bytes(unb64u(jwk[m]), "big")


rsa_jwk = json.loads(load(os.path.join(RFC, "rfc7515_A.2.jwk")))
pub = rsa.RSAPublicNumbers(jwk_int(rsa_jwk, "e"), jwk_int(rsa_jwk, "n"))
rsa_key = rsa.RSAPrivateNumbers(*[jwk_int(rsa_jwk, m) for m in ("p", "q", "d", "dp", "dq", "qi")],
                                public_numbers=pub).private_key()
curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
ec_keys = {}
for f in ("rfc7515_A.3.jwk", "rfc7515_A.4.jwk"):
    j = json.loads(load(os.path.join(RFC, f)))
    ec_keys[j["crv"]] = ec.derive_private_key(jwk_int(j, "d"), curves[j["crv"]])
ed = ed25519.Ed25519PrivateKey.from_private_bytes(
    unb64u(json.loads(load(os.path.join(BOOK, "curve25519", "jws.json")))["input"]["key"]["d"]))

P8, TL, SPKI, PK1 = ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL, \
    ser.PublicFormat.SubjectPublicKeyInfo, ser.PublicFormat.PKCS1
PEM, NOENC = ser.Encoding.PEM, ser.NoEncryption()
write("fuzz_pem", "rsa2048_pkcs8.pem", rsa_key.private_bytes(PEM, P8, NOENC))
write("fuzz_pem", "rsa2048_pkcs1.pem", rsa_key.private_bytes(PEM, TL, NOENC))
write("fuzz_pem", "rsa2048_spki.pem", rsa_key.public_key().public_bytes(PEM, SPKI))
write("fuzz_pem", "rsa2048_pkcs1_public.pem", rsa_key.public_key().public_bytes(PEM, PK1))
for crv, k in ec_keys.items():
    write("fuzz_pem", "ec_%s_sec1.pem" % crv, k.private_bytes(PEM, TL, NOENC))
    write("fuzz_pem", "ec_%s_pkcs8.pem" % crv, k.private_bytes(PEM, P8, NOENC))
    write("fuzz_pem", "ec_%s_spki.pem" % crv, k.public_key().public_bytes(PEM, SPKI))
write("fuzz_pem", "ed25519_pkcs8.pem", ed.private_bytes(PEM, P8, NOENC))
write("fuzz_pem", "ed25519_spki.pem", ed.public_key().public_bytes(PEM, SPKI))
# An encrypted key must be refused, never prompt for a passphrase.
write("fuzz_pem", "ec_P-256_encrypted.pem",
      ec_keys["P-256"].private_bytes(PEM, P8, ser.BestAvailableEncryption(b"fuzz-passphrase")))
write("fuzz_pem", "two_keys.pem", ed.public_key().public_bytes(PEM, SPKI) +
      rsa_key.public_key().public_bytes(PEM, SPKI))
write("fuzz_pem", "raw_secret", A1_KEY)
write("fuzz_pem", "jwk_oct", load(os.path.join(RFC, "rfc7515_A.1.jwk")).strip())
write("fuzz_pem", "jwks_public", load(os.path.join(RFC, "rfc7517_A.1.jwkset")).strip())
