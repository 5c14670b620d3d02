"""PyJWT's PyJWKClient (Debian's python3-jwt), a JWKS client nobody here wrote, verifies a
machine client's access token the way a resource server in Python would: it reads jwtd's
RFC 8414 metadata, follows the advertised jwks_uri, picks the key by the token's kid and
checks signature, iss, aud and exp. The token comes from POST /token (client credentials);
the issuer is the public URL, as discovery needs.
Usage: pyjwk_client.py --jwtd BIN --work DIR"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import jwt
from jwt import PyJWKClient

STEPS = {"n": 0, "failed": 0}


def check(cond, what, why=""):
    """One numbered line per check, as the other test programs print."""
    STEPS["n"] += 1
    if cond:
        print(f"ok {STEPS['n']} - {what}")
    else:
        STEPS["failed"] += 1
        print(f"FAIL {STEPS['n']} - {what}\n    {why}")
    return cond


def free_port():
    """A loopback port free now: the issuer must be known before the server starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None):
    """The status and the JSON body of one request."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jwtd", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    db = os.path.join(a.work, "jwtd.db")
    out = subprocess.run([a.jwtd, "client", "add", "svc.py", "--role", "reader", "--db", db],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    secret = next(l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("client_secret: "))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(a.work, "server.log"), "w")
    srv = subprocess.Popen([a.jwtd, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                            "--issuer", base, "--public-url", base],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                if http("GET", f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, meta = http("GET", f"{base}/.well-known/oauth-authorization-server")
        check(status == 200 and meta.get("issuer") == base and
              meta.get("jwks_uri") == f"{base}/.well-known/jwks.json",
              "the metadata names the issuer and the jwks_uri", json.dumps(meta))
        basic = base64.b64encode(f"svc.py:{secret}".encode()).decode()
        status, tok = http("POST", meta["token_endpoint"], b"grant_type=client_credentials",
                           {"Authorization": f"Basic {basic}",
                            "Content-Type": "application/x-www-form-urlencoded"})
        check(status == 200 and "access_token" in tok, "POST /token: an access token",
              f"{status} {tok}")
        token = tok["access_token"]
        key = PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="jwtd", issuer=base,
                            options={"require": ["exp", "iat", "sub"]})
        check(claims["sub"] == "client:svc.py" and claims["client_id"] == "svc.py" and
              claims["roles"] == ["reader"], "PyJWKClient verifies the client token",
              json.dumps(claims))
        check(jwt.get_unverified_header(token).get("typ") == "at+jwt",
              "the token's typ is at+jwt (RFC 9068)")
        try:
            jwt.decode(token, key.key, algorithms=["RS256"], audience="jwtd",
                       issuer="https://elsewhere.example")
            check(False, "another issuer is refused")
        except jwt.InvalidIssuerError:
            check(True, "another issuer is refused")
    except Exception as e:  # a failure anywhere above is a failed check, with its reason
        check(False, "the PyJWKClient flow", repr(e))
    finally:
        srv.send_signal(signal.SIGTERM)
        check(srv.wait(timeout=10) == 0, "the server stops cleanly")
        log.close()
    print(f"{STEPS['n'] - STEPS['failed']} passed, {STEPS['failed']} failed")
    return 1 if STEPS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
