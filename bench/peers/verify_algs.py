"""Resource-server side of the default-algorithm decision (issue 11): what verifying a
jwtd-style access token costs in Python with PyJWT (over pyca/cryptography) for each
asymmetric algorithm jwtd serve can sign with. Figures only, never a test.
Usage: /usr/bin/python3 verify_algs.py   (Debian's python3-jwt; scripts/bench-algs.sh)"""
import os
import time

import cryptography
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ROUNDS = int(os.environ.get("BENCH_BATCHES", "5"))
ROUND_S = int(os.environ.get("BENCH_BATCH_MS", "300")) / 1000
AUD = "https://api.example.com"


def median_us(op):
    op()
    per = []
    for _ in range(ROUNDS):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < ROUND_S:
            for _ in range(8):
                op()
            n += 8
        per.append((time.perf_counter() - t0) * 1e6 / n)
    return sorted(per)[len(per) // 2]


def main():
    keys = {
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "PS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    now = int(time.time())
    claims = {"iss": "https://auth.example.com", "sub": "user-8f14e45fceea167a", "aud": AUD,
              "exp": now + 900, "iat": now, "jti": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
              "roles": ["user", "billing:read", "admin"]}
    print(f"PyJWT {jwt.__version__}, cryptography {cryptography.__version__}; us/op, median of "
          f"{ROUNDS} rounds of ~{ROUND_S * 1000:.0f} ms")
    print("alg    bytes  sign       verify (jwt.decode, alg pinned, aud checked)")
    for alg, priv in keys.items():
        pub = priv.public_key()
        token = jwt.encode(claims, priv, algorithm=alg, headers={"kid": "k1"})
        sign = median_us(lambda: jwt.encode(claims, priv, algorithm=alg, headers={"kid": "k1"}))
        verify = median_us(lambda: jwt.decode(token, pub, algorithms=[alg], audience=AUD))
        print(f"{alg:<6} {len(token):<6} {sign:<10.1f} {verify:.1f}")


main()
