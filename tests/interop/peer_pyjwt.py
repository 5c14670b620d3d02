"""PyJWT (Debian python3-jwt, with python3-cryptography) as a peer of jwtd's interop test,
driven by interop.py and run with /usr/bin/python3 -I.
Usage: peer_pyjwt.py info | sign ALG PRIVATE_KEY_FILE CLAIMS_JSON | verify ALG PUBLIC_KEY_FILE AUD ISS TOKEN
A failed verify exits 1 and stderr's first word is InvalidSignature for a bad signature
(the driver asserts it), PeerError otherwise."""
import json
import sys

import jwt


def load_key(alg, path):
    """The secret file's bytes for HS*, else the key as PEM, or a JWK turned into a key object."""
    with open(path, "rb") as f:
        data = f.read()
    if alg.startswith("HS") or not data.lstrip().startswith(b"{"):
        return data
    return jwt.PyJWK(json.loads(data), algorithm=alg).key


def main(argv):
    if argv[:1] == ["info"]:
        import cryptography  # PyJWT signs and verifies every non-HMAC algorithm through it

        print(f"pyjwt {jwt.__version__} (cryptography {cryptography.__version__})")
        return 0
    if len(argv) == 4 and argv[0] == "sign":
        _, alg, path, claims = argv
        print(jwt.encode(json.loads(claims), load_key(alg, path), algorithm=alg))
        return 0
    if len(argv) == 6 and argv[0] == "verify":
        _, alg, path, aud, iss, token = argv
        try:
            claims = jwt.decode(token, load_key(alg, path), algorithms=[alg],
                                audience=aud, issuer=iss, options={"require": ["exp"]})
        except jwt.InvalidSignatureError as e:
            print(f"InvalidSignature {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        except jwt.PyJWTError as e:
            print(f"PeerError {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(claims))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
