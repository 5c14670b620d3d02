"""Interop both ways between jwtd (driven through its CLI) and peer JWT libraries: for every
algorithm a peer supports, a token jwtd signs verifies in the peer with the same claims, a token
the peer signs verifies in jwtd with the same claims, and a tampered token is refused both ways.

Usage: /usr/bin/python3 -I interop.py --jwtd PATH --work DIR [--node NODE --node-modules DIR] PEER...
PEER: pyjwt, jwcrypto, jose, jsonwebtoken. Keys are made fresh in DIR on every run (jwtd keygen;
openssl for Ed448, which keygen does not make). Prints "ok|FAIL PEER ALG DIRECTION" per check and
ends with "N passed, N failed"; exits 1 if anything failed."""
import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT = 60  # seconds for any one subprocess (an RSA-4096 keygen on a busy machine included)
AUD = "interop-peers"
ISS = "jwtd-interop"
HMAC_SECRET_BYTES = 64

# (label, JWS alg, signature bytes). The signature length pins down what was really used: ES*
# as raw r||s (not DER), Ed448 rather than Ed25519, and the RSA sizes jwtd keygen picks.
ALGS = [
    ("HS256", "HS256", 32), ("HS384", "HS384", 48), ("HS512", "HS512", 64),
    ("RS256", "RS256", 256), ("RS384", "RS384", 384), ("RS512", "RS512", 512),
    ("PS256", "PS256", 256), ("PS384", "PS384", 384), ("PS512", "PS512", 512),
    ("ES256", "ES256", 64), ("ES384", "ES384", 96), ("ES512", "ES512", 132),
    ("EdDSA-Ed25519", "EdDSA", 64), ("EdDSA-Ed448", "EdDSA", 114),
]
ALL = [a[0] for a in ALGS]
NO_EDDSA = [a for a in ALL if not a.startswith("EdDSA")]


def peer_table(args):
    """What each peer is run as, the algorithms it must support (a missing one is a failure,
    not a skip), and the public key format it is given (jwtd verifies with the same file)."""
    py = [sys.executable, "-I"]
    node = [args.node, str(HERE / "peer_node.js")]
    return {
        "pyjwt": {"cmd": py + [str(HERE / "peer_pyjwt.py")], "algs": ALL, "pub": "pem"},
        "jwcrypto": {"cmd": py + [str(HERE / "peer_jwcrypto.py")], "algs": ALL, "pub": "jwk"},
        "jose": {"cmd": node + ["jose"], "algs": ALL, "pub": "jwk"},
        # jsonwebtoken 9 has no EdDSA at all ("algorithm" must be a valid string enum value).
        "jsonwebtoken": {"cmd": node + ["jsonwebtoken"], "algs": NO_EDDSA, "pub": "pem"},
    }


class Result:
    """Counts checks and prints one line for each."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, why=""):
        if ok:
            self.passed += 1
            print(f"ok {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {what}: {why}", flush=True)
        return ok


def run(cmd, env=None):
    """(exit code, stdout, stderr) of cmd; exit code None if it could not run or timed out."""
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT,
                           env=env, stdin=subprocess.DEVNULL, check=False)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {TIMEOUT} s: {' '.join(map(str, cmd[:3]))} ..."
    except OSError as e:
        return None, "", f"cannot run {cmd[0]}: {e}"


def first_line(text):
    """The line that says what went wrong: the first, or a Python traceback's last."""
    lines = text.strip().splitlines()
    if not lines:
        return "(nothing on stderr)"
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(obj):
    """JSON text that tells 42 from 42.0 and ignores member order."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def make_claims(tag):
    now = int(time.time())
    return {
        "iss": ISS, "sub": "alice", "aud": AUD, "iat": now, "nbf": now, "exp": now + 600,
        "jti": f"{tag}-{secrets.token_hex(8)}", "roles": ["user", "admin"], "n": 42, "ratio": 0.5,
        "name": "Zo\u00eb \u2713 \"quoted\" \\ /", "nested": {"a": [1, 2, {"b": None}], "t": True},
    }


def tampered(token, claims):
    """The token with its payload swapped for other claims, header and signature kept."""
    header, _, sig = token.split(".")
    other = dict(claims, sub="mallory")
    return f"{header}.{b64url(json.dumps(other).encode())}.{sig}"


def token_shape(token, alg, sig_len):
    """Why the compact token does not have the alg header and signature size expected, or ''."""
    parts = token.split(".")
    if len(parts) != 3:
        return f"not a compact JWS: {token[:60]!r}"
    try:
        header = json.loads(unb64url(parts[0]))
        sig = unb64url(parts[2])
    except ValueError as e:
        return f"undecodable token: {e}"
    if header.get("alg") != alg:
        return f"header alg is {header.get('alg')!r}, expected {alg}"
    if len(sig) != sig_len:
        return f"signature is {len(sig)} bytes, expected {sig_len}"
    return ""


def make_hmac_secret(path):
    """64 random bytes that the jwtd CLI reads back unchanged: it drops one trailing newline and
    takes a file starting with '{' or '-----BEGIN' (after blanks) for a JWK or PEM."""
    while True:
        secret = secrets.token_bytes(HMAC_SECRET_BYTES)
        if not secret.endswith(b"\n") and not secret.lstrip(b" \t\r\n").startswith((b"{", b"-")):
            break
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)


def make_keys(jwtd, work, labels):
    """{label: {"priv": file, "pem": public PEM file, "jwk": public JWK file or None}}, or an
    error text. HS* share one secret file, which is private and public key at once."""
    keys = {}
    secret = work / "hmac.key"
    for label in labels:
        if label.startswith("HS"):
            if not secret.exists():
                make_hmac_secret(secret)
            keys[label] = {"priv": secret, "pem": secret, "jwk": secret}
            continue
        priv, pub_pem, pub_jwk = (work / f"{label}.pem", work / f"{label}.pub.pem",
                                  work / f"{label}.pub.jwk")
        if label == "EdDSA-Ed448":
            rc, out, err = run(["openssl", "genpkey", "-algorithm", "ed448", "-out", priv])
            pub_jwk = None
        else:
            rc, out, err = run([jwtd, "keygen", "--alg", label.split("-")[0], "--out", priv])
            if rc == 0:
                try:
                    json.loads(out)
                except ValueError:
                    return f"{label}: jwtd keygen printed no JWK: {out[:80]!r}"
                pub_jwk.write_text(out)
        if rc != 0:
            return f"{label}: key generation failed ({rc}): {first_line(err)}"
        rc, out, err = run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub_pem])
        if rc != 0:
            return f"{label}: openssl pkey -pubout failed ({rc}): {first_line(err)}"
        keys[label] = {"priv": priv, "pem": pub_pem, "jwk": pub_jwk}
    return keys


def jwtd_sign(jwtd, key, alg, claims):
    return run([jwtd, "token", "sign", "--key", key, "--alg", alg, "--typ", "JWT",
                json.dumps(claims)])


def jwtd_verify(jwtd, key, alg, token):
    return run([jwtd, "token", "verify", "--key", key, "--alg", alg, "--aud", AUD, "--iss", ISS,
                token])


def same_claims(rc, out, err, claims):
    """Why a verify result is not exit 0 with exactly these claims, or ''."""
    if rc != 0:
        return f"verify failed ({rc}): {first_line(err)}"
    try:
        got = json.loads(out)
    except ValueError:
        return f"verify printed no JSON: {out[:80]!r}"
    if canonical(got) != canonical(claims):
        return f"claims differ: got {canonical(got)}, expected {canonical(claims)}"
    return ""


def refused_bad_signature(rc, err):
    """Why a verify of a tampered token was not refused as InvalidSignature, or ''."""
    if rc == 0:
        return "the tampered token was accepted"
    if rc != 1:
        return f"expected exit 1, got {rc}: {first_line(err)}"
    words = err.split()
    # The first word is the kind, as "InvalidSignature" or "InvalidSignature:".
    if not words or words[0].rstrip(":") != "InvalidSignature":
        return f"expected InvalidSignature first on stderr, got: {first_line(err)}"
    return ""


def test_pair(res, jwtd, name, peer, env, label, alg, sig_len, key):
    """The four checks of one peer and one algorithm."""
    pub = key["jwk"] if peer["pub"] == "jwk" and key["jwk"] is not None else key["pem"]
    what = f"{name} {label}"

    # (a) jwtd signs, the peer verifies (pinned to alg) and sees the same claims.
    claims = make_claims(f"jwtd-{name}-{label}")
    rc, out, err = jwtd_sign(jwtd, key["priv"], alg, claims)
    token = out.strip()
    why = f"jwtd token sign failed ({rc}): {first_line(err)}" if rc != 0 else \
        token_shape(token, alg, sig_len)
    if why:
        res.check(False, f"{what} jwtd->peer", why)
        res.check(False, f"{what} jwtd->peer tampered", "no token to tamper with")
    else:
        rc, out, err = run(peer["cmd"] + ["verify", alg, pub, AUD, ISS, token], env)
        res.check(not same_claims(rc, out, err, claims), f"{what} jwtd->peer",
                  same_claims(rc, out, err, claims))
        rc, out, err = run(peer["cmd"] + ["verify", alg, pub, AUD, ISS, tampered(token, claims)],
                           env)
        res.check(not refused_bad_signature(rc, err), f"{what} jwtd->peer tampered",
                  refused_bad_signature(rc, err))

    # (b) the peer signs, jwtd verifies (pinned to alg) and prints the same claims.
    claims = make_claims(f"{name}-jwtd-{label}")
    rc, out, err = run(peer["cmd"] + ["sign", alg, key["priv"], json.dumps(claims)], env)
    token = out.strip()
    why = f"peer sign failed ({rc}): {first_line(err)}" if rc != 0 else \
        token_shape(token, alg, sig_len)
    if why:
        res.check(False, f"{what} peer->jwtd", why)
        res.check(False, f"{what} peer->jwtd tampered", "no token to tamper with")
    else:
        rc, out, err = jwtd_verify(jwtd, pub, alg, token)
        res.check(not same_claims(rc, out, err, claims), f"{what} peer->jwtd",
                  same_claims(rc, out, err, claims))
        rc, out, err = jwtd_verify(jwtd, pub, alg, tampered(token, claims))
        res.check(not refused_bad_signature(rc, err), f"{what} peer->jwtd tampered",
                  refused_bad_signature(rc, err))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jwtd", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--node", default="node")
    ap.add_argument("--node-modules", type=Path)
    ap.add_argument("peers", nargs="+", choices=["pyjwt", "jwcrypto", "jose", "jsonwebtoken"])
    args = ap.parse_args()

    table = peer_table(args)
    env = dict(os.environ)
    if args.node_modules is not None:
        env["NODE_PATH"] = str(args.node_modules)
    res = Result()

    print(f"# python {sys.version.split()[0]} ({sys.executable})")
    for cmd in ([args.jwtd, "--version"], ["openssl", "version"]):
        rc, out, err = run(cmd)
        print(f"# {Path(str(cmd[0])).name}: {first_line(out if rc == 0 else err)}")
    ready = {}
    for name in args.peers:
        rc, out, err = run(table[name]["cmd"] + ["info"], env)
        if res.check(rc == 0, f"{name} - info", f"peer not usable ({rc}): {first_line(err)}"):
            print(f"# {first_line(out)}")
            ready[name] = table[name]
        missing = [a for a in ALL if a not in table[name]["algs"]]
        if missing:
            print(f"# {name} supports no {', '.join(missing)}: not tested with it")

    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, mode=0o700)
    keys = make_keys(args.jwtd, args.work, ALL)
    if isinstance(keys, str):
        res.check(False, "keys - generate", keys)
    else:
        for name, peer in ready.items():
            for label, alg, sig_len in ALGS:
                if label in peer["algs"]:
                    test_pair(res, args.jwtd, name, peer, env, label, alg, sig_len, keys[label])

    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
