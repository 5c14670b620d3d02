"""jwcrypto (Debian python3-jwcrypto) as a peer of jwtd's interop test, driven by interop.py
and run with /usr/bin/python3 -I.
Usage: peer_jwcrypto.py info | sign ALG PRIVATE_KEY_FILE CLAIMS_JSON | verify ALG PUBLIC_KEY_FILE AUD ISS TOKEN
A failed verify exits 1 and stderr's first word is InvalidSignature for a bad signature
(the driver asserts it), PeerError otherwise."""
import json
import sys
from importlib.metadata import version

from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException, base64url_encode


def load_key(alg, path):
    """An oct JWK holding the secret file's bytes for HS*, else the PEM or JWK in the file."""
    with open(path, "rb") as f:
        data = f.read()
    if alg.startswith("HS"):
        return jwk.JWK(kty="oct", k=base64url_encode(data))
    if data.lstrip().startswith(b"{"):
        return jwk.JWK.from_json(data)
    return jwk.JWK.from_pem(data)


def main(argv):
    if argv[:1] == ["info"]:
        print(f"jwcrypto {version('jwcrypto')} (cryptography {version('cryptography')})")
        return 0
    if len(argv) == 4 and argv[0] == "sign":
        _, alg, path, claims = argv
        token = jwt.JWT(header={"alg": alg, "typ": "JWT"}, claims=json.loads(claims))
        token.make_signed_token(load_key(alg, path))
        print(token.serialize())
        return 0
    if len(argv) == 6 and argv[0] == "verify":
        _, alg, path, aud, iss, token = argv
        try:
            # check_claims: aud and iss must match, exp must be present (and is checked).
            got = jwt.JWT(jwt=token, key=load_key(alg, path), algs=[alg],
                          check_claims={"aud": aud, "iss": iss, "exp": None})
        except jws.InvalidJWSSignature as e:
            print(f"InvalidSignature {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        except (JWException, ValueError) as e:
            print(f"PeerError {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(json.loads(got.claims)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
