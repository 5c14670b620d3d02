// Resource-server side of the default-algorithm decision (issue 11): what verifying a jwtd-style
// access token costs in Node for each asymmetric algorithm jwtd serve can sign with, through
// `jose` (node:crypto underneath), `jsonwebtoken` and the bare node:crypto verify (the floor),
// and whether each library accepts the algorithm at all. Figures only, never a test.
// Usage: NODE_PATH=BUILD/tests/interop/node_modules node verify_algs.js   (scripts/bench-algs.sh)
'use strict';
const crypto = require('node:crypto');
const jose = require('jose');
const jsonwebtoken = require('jsonwebtoken');

const ROUNDS = Number(process.env.BENCH_BATCHES || 5);
const ROUND_MS = Number(process.env.BENCH_BATCH_MS || 300);
const AUD = 'https://api.example.com';

// Median us/op of ROUNDS rounds of about ROUND_MS each; async ops are awaited one by one.
async function time(op) {
  await op();
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(ROUND_MS) * 1000000n;
    let now = t0;
    while (now < end) {
      for (let i = 0; i < 16; i++) await op();
      n += 16;
      now = process.hrtime.bigint();
    }
    per.push(Number(now - t0) / 1000 / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

function fmt(v) {
  return typeof v === 'number' ? v.toFixed(1) : v;
}

async function one(alg) {
  const opts = alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {};
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { ...opts, crv: 'Ed25519', extractable: true });
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'https://auth.example.com', sub: 'user-8f14e45fceea167a', aud: AUD, exp: now + 900,
    iat: now, jti: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', roles: ['user', 'billing:read', 'admin'],
  };
  const sign = () => new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', kid: 'k1' }).sign(privateKey);
  const token = await sign();
  const [h, p, s] = token.split('.');
  const input = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const md = alg === 'EdDSA' ? null : 'sha256';
  const fopts = alg.startsWith('PS')
    ? { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
    : alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey;
  const floor = () => { if (!crypto.verify(md, input, fopts, sig)) throw new Error('floor'); };
  const joseVerify = async () => {
    const { payload } = await jose.jwtVerify(token, publicKey, { algorithms: [alg], audience: AUD });
    if (payload.sub[0] !== 'u') throw new Error('sub');
  };
  let jwtVerify = null, jwtNote = '';
  try {
    jsonwebtoken.verify(token, publicKey, { algorithms: [alg], audience: AUD });
    jwtVerify = () => { if (jsonwebtoken.verify(token, publicKey, { algorithms: [alg], audience: AUD }).sub[0] !== 'u') throw new Error('sub'); };
  } catch (e) {
    jwtNote = `refused (${e.message})`;
  }
  const row = {
    alg, token: token.length, sign: await time(sign), floor: await time(floor),
    jose: await time(joseVerify), jsonwebtoken: jwtVerify ? await time(jwtVerify) : jwtNote,
  };
  console.log([row.alg.padEnd(6), String(row.token).padEnd(6), fmt(row.sign).padEnd(10), fmt(row.floor).padEnd(12),
    fmt(row.jose).padEnd(10), fmt(row.jsonwebtoken)].join(' '));
}

(async () => {
  console.log(`node ${process.version}, OpenSSL ${process.versions.openssl}, jose ${require('jose/package.json').version}, ` +
    `jsonwebtoken ${require('jsonwebtoken/package.json').version}; us/op, median of ${ROUNDS} rounds of ~${ROUND_MS} ms`);
  console.log('alg    bytes  jose sign  node:crypto  jose       jsonwebtoken (verify)');
  for (const alg of ['EdDSA', 'ES256', 'RS256', 'PS256']) await one(alg);
})().catch((e) => { console.error(e); process.exit(1); });
