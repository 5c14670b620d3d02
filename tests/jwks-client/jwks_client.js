// A real outside client of jwtd serve: npm jose's createRemoteJWKSet verifies access tokens
// from POST /login against /.well-known/jwks.json, before and after `jwtd keys rotate` (run
// while the server runs). jose is found through NODE_PATH (tests/interop's npm ci fixture).
// Usage: node jwks_client.js --jwtd BIN --work DIR [--argon2-t N --argon2-m-kib N]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const jose = require('jose');
const { startServer, stopServer, report, parseArgs, runJwtd } = require('../http/support/testserver.js');

const ok = report.ok.bind(report);
const fail = report.fail.bind(report);
const check = report.check.bind(report);

const ROTATE_TIMEOUT_MS = 15000; // until the server publishes the rotated key (it syncs every few s)
const POLL_MS = 250;
// What jwtd serve puts in its access tokens by default, pinned here as a client would.
const ISSUER = 'jwtd';
const AUDIENCE = 'jwtd';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function login(base, username, password) {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(20000),
  });
  const body = await res.json();
  if (res.status !== 200 || typeof body.access_token !== 'string')
    throw new Error(`POST /login: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function jwksKids(base) {
  const res = await fetch(`${base}/.well-known/jwks.json`, { signal: AbortSignal.timeout(20000) });
  if (res.status !== 200) throw new Error(`GET /.well-known/jwks.json: ${res.status}`);
  const { keys } = await res.json();
  return keys.map((k) => k.kid);
}

// jwtVerify with everything pinned: the JWKS, the algorithm, typ at+jwt, issuer, audience.
async function verify(jwks, token) {
  return jose.jwtVerify(token, jwks, {
    algorithms: ['RS256'],
    typ: 'at+jwt',
    issuer: ISSUER,
    audience: AUDIENCE,
    requiredClaims: ['exp', 'iat', 'sub', 'jti'],
  });
}

async function expectVerified(jwks, token, what) {
  try {
    const { payload, protectedHeader } = await verify(jwks, token);
    check(payload.role === 'user' && Array.isArray(payload.roles) && payload.roles.includes('user'),
      `${what}: verified, role user`, `claims ${JSON.stringify(payload)}`);
    return protectedHeader.kid;
  } catch (e) {
    fail(`${what}: verified`, `${e.code ?? e.name}: ${e.message}`);
    return undefined;
  }
}

async function expectRefused(jwks, token, what, code) {
  try {
    await verify(jwks, token);
    fail(what, 'jose accepted it');
  } catch (e) {
    check(e.code === code, what, `expected ${code}, got ${e.code ?? e.name}: ${e.message}`);
  }
}

// One character of the signature changed (the middle one carries six bits of it alone).
function tamper(token) {
  const dot = token.lastIndexOf('.');
  const i = dot + 1 + Math.floor((token.length - dot - 1) / 2);
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

async function main() {
  const args = parseArgs(process.argv, 'jwks_client.js');
  console.log(`jose ${require('jose/package.json').version}, node ${process.version}`);
  fs.rmSync(args.work, { recursive: true, force: true });
  fs.mkdirSync(args.work, { recursive: true });
  const db = path.join(args.work, 'jwtd.db');
  const logPath = path.join(args.work, 'server.log');

  runJwtd(args.jwtd, ['user', 'add', 'alice', '--password-stdin', '--role', 'user', '--db', db], 'hunter2\n');
  ok('jwtd user add alice');

  const { child, base } = await startServer(args.jwtd, ['--db', db, ...args.argon2], logPath);
  // A driver that dies must not leave a server behind.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  ok(`jwtd serve is listening at ${base}`);
  try {
    const jwksUrl = new URL(`${base}/.well-known/jwks.json`);
    // A long-lived client: cooldown 0 lets it refetch as soon as it meets an unknown kid.
    const longLived = jose.createRemoteJWKSet(jwksUrl, { cooldownDuration: 0 });

    const before = await jwksKids(base);
    check(before.length === 1, 'the JWKS holds one key', `kids ${JSON.stringify(before)}`);
    const oldToken = await login(base, 'alice', 'hunter2');
    const oldKid = jose.decodeProtectedHeader(oldToken).kid;
    check(before.includes(oldKid), 'the token names the published key', `kid ${oldKid}`);
    await expectVerified(longLived, oldToken, 'token before the rotation');
    await expectRefused(longLived, tamper(oldToken), 'a tampered token is refused',
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    try {
      await jose.jwtVerify(oldToken, longLived, { algorithms: ['RS256'], issuer: ISSUER, audience: 'other' });
      fail('another audience is refused', 'jose accepted it');
    } catch (e) {
      check(e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud',
        'another audience is refused', `${e.code}: ${e.message}`);
    }

    const out = runJwtd(args.jwtd, ['keys', 'rotate', '--db', db]);
    ok(`jwtd keys rotate (while the server runs): ${out.trim()}`);

    let kids = before;
    const deadline = Date.now() + ROTATE_TIMEOUT_MS;
    while (Date.now() < deadline && !kids.some((k) => !before.includes(k))) {
      await sleep(POLL_MS);
      kids = await jwksKids(base);
    }
    const newKids = kids.filter((k) => !before.includes(k));
    check(newKids.length === 1, `the server publishes the new key within ${ROTATE_TIMEOUT_MS} ms`,
      `kids ${JSON.stringify(kids)}`);
    check(kids.includes(oldKid), 'the retired key stays published', `kids ${JSON.stringify(kids)}`);

    const newToken = await login(base, 'alice', 'hunter2');
    const newKid = jose.decodeProtectedHeader(newToken).kid;
    check(newKids.length === 1 && newKid === newKids[0], 'a new login is signed with the new key',
      `kid ${newKid}, new kids ${JSON.stringify(newKids)}`);

    const fresh = jose.createRemoteJWKSet(jwksUrl, { cooldownDuration: 0 });
    await expectVerified(fresh, oldToken, 'old token, fresh JWKS client');
    await expectVerified(fresh, newToken, 'new token, fresh JWKS client');
    await expectVerified(longLived, newToken, 'new token, the long-lived client refetches');
    await expectVerified(longLived, oldToken, 'old token, the long-lived client');
  } catch (e) {
    fail('the client run', e.stack ?? String(e));
  } finally {
    const how = await stopServer(child);
    check(how === 'exit 0', 'jwtd serve stops cleanly on SIGTERM', how);
    if (report.failures > 0) console.log(`# server log: ${logPath}\n${fs.readFileSync(logPath, 'utf8').slice(-4000)}`);
  }
  process.exitCode = report.summary();
}

main().catch((e) => {
  console.log(`FAIL ${e.stack ?? e}`);
  process.exitCode = 1;
});
