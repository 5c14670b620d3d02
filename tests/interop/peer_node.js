// The npm peers of jwtd's interop test (jose, jsonwebtoken), driven by interop.py; the
// packages are found through NODE_PATH (the build tree's node_modules, see npm_setup.sh).
// Usage: node peer_node.js jose|jsonwebtoken info
//        node peer_node.js LIB sign ALG PRIVATE_KEY_FILE CLAIMS_JSON   -> token on stdout
//        node peer_node.js LIB verify ALG PUBLIC_KEY_FILE AUD ISS TOKEN -> claims JSON on stdout
// A failed verify exits 1 and stderr's first word is InvalidSignature for a bad signature
// (the driver asserts it), PeerError otherwise.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');

const isHmac = (alg) => alg.startsWith('HS');

// An HMAC key is the secret file's bytes as they are; others are PEM or a JWK.
function keyText(alg, file) {
  const bytes = fs.readFileSync(file);
  return isHmac(alg) ? { secret: bytes } : { text: bytes.toString('utf8') };
}

const isJwk = (text) => text.trimStart().startsWith('{');

const peers = {
  jose: {
    lib: () => require('jose'),
    version: () => require('jose/package.json').version,
    async sign(alg, file, claims) {
      const jose = this.lib();
      const k = keyText(alg, file);
      const key = k.secret ?? (isJwk(k.text) ? await jose.importJWK(JSON.parse(k.text), alg)
                                              : await jose.importPKCS8(k.text, alg));
      return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
    },
    async verify(alg, file, aud, iss, token) {
      const jose = this.lib();
      const k = keyText(alg, file);
      const key = k.secret ?? (isJwk(k.text) ? await jose.importJWK(JSON.parse(k.text), alg)
                                              : await jose.importSPKI(k.text, alg));
      try {
        const { payload } = await jose.jwtVerify(token, key, {
          algorithms: [alg], audience: aud, issuer: iss, requiredClaims: ['exp'],
        });
        return payload;
      } catch (e) {
        if (e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') e.kind = 'InvalidSignature';
        throw e;
      }
    },
  },
  jsonwebtoken: {
    lib: () => require('jsonwebtoken'),
    version: () => require('jsonwebtoken/package.json').version,
    async sign(alg, file, claims) {
      const k = keyText(alg, file);
      const key = k.secret ?? (isJwk(k.text)
        ? crypto.createPrivateKey({ key: JSON.parse(k.text), format: 'jwk' }) : k.text);
      // jsonwebtoken keeps the claims' own iat (its noTimestamp option would delete it).
      return this.lib().sign(claims, key, { algorithm: alg });
    },
    async verify(alg, file, aud, iss, token) {
      const k = keyText(alg, file);
      const key = k.secret ?? (isJwk(k.text)
        ? crypto.createPublicKey({ key: JSON.parse(k.text), format: 'jwk' }) : k.text);
      try {
        const payload = this.lib().verify(token, key, { algorithms: [alg], audience: aud, issuer: iss });
        if (typeof payload.exp !== 'number') throw new Error('exp missing');
        return payload;
      } catch (e) {
        if (e.name === 'JsonWebTokenError' && e.message === 'invalid signature') e.kind = 'InvalidSignature';
        throw e;
      }
    },
  },
};

async function main(argv) {
  const [name, cmd, ...args] = argv;
  const peer = peers[name];
  if (peer === undefined || !['info', 'sign', 'verify'].includes(cmd)) {
    process.stderr.write('usage: peer_node.js jose|jsonwebtoken info|sign|verify ...\n');
    return 2;
  }
  if (cmd === 'info') {
    process.stdout.write(`${name} ${peer.version()} (node ${process.version}, OpenSSL ${process.versions.openssl})\n`);
    return 0;
  }
  if (cmd === 'sign') {
    const [alg, file, claims] = args;
    process.stdout.write(`${await peer.sign(alg, file, JSON.parse(claims))}\n`);
    return 0;
  }
  const [alg, file, aud, iss, token] = args;
  try {
    process.stdout.write(`${JSON.stringify(await peer.verify(alg, file, aud, iss, token))}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`${e.kind ?? 'PeerError'} ${e.name}: ${e.message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (rc) => { process.exitCode = rc; },
  (e) => { process.stderr.write(`PeerError ${e.name}: ${e.message}\n`); process.exitCode = 3; },
);
