// Real OAuth 2.0 clients nobody here wrote, against a running jwtd serve: npm oauth4webapi
// discovers jwtd through RFC 8414 (/.well-known/oauth-authorization-server, which needs
// --issuer to be the URL clients reach jwtd at: here --issuer = --public-url =
// http://127.0.0.1:PORT), then runs the client credentials grant (client_secret_basic), a
// refresh through /token (client_secret_post), introspection of both kinds of token (before
// and after a logout-all) and a refused secret. oauth4webapi only speaks https unless a call
// is given its allowInsecureRequests option, which this loopback test sets on every request.
// oauth4webapi is an ES module found in tests/interop's node_modules (the interop.npm-setup
// fixture; NODE_PATH names it).
// Usage: node oauth_client.js --jwtd BIN --work DIR [--argon2-t N --argon2-m-kib N]
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { startServer, stopServer, report, parseArgs, runJwtd } = require('../http/support/testserver.js');

const CLIENT_ID = 'svc.o4w';

// A loopback port free now: the issuer must be known before the server starts.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function main() {
  const a = parseArgs(process.argv, 'oauth_client.js');
  const oauth = await import(pathToFileURL(require.resolve('oauth4webapi', { paths: (process.env.NODE_PATH ?? '').split(':') })).href);
  const insecure = { [oauth.allowInsecureRequests]: true };
  fs.rmSync(a.work, { recursive: true, force: true });
  fs.mkdirSync(a.work, { recursive: true });
  const db = path.join(a.work, 'jwtd.db');
  const added = runJwtd(a.jwtd, ['client', 'add', CLIENT_ID, '--role', 'reader', '--db', db]);
  const secret = /^client_secret: (\S+)$/m.exec(added)?.[1];
  if (!secret) throw new Error(`no secret in: ${added}`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { child } = await startServer(a.jwtd, ['--listen', `127.0.0.1:${port}`, '--db', db, '--issuer', base,
    '--public-url', base, ...a.argon2], path.join(a.work, 'server.log'));
  try {
    // RFC 8414 discovery: oauth4webapi checks that the document's issuer is the one asked for.
    const issuer = new URL(base);
    const as = await oauth.processDiscoveryResponse(issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    report.check(as.token_endpoint === `${base}/token` && as.introspection_endpoint === `${base}/introspect`,
      'discovery: the metadata names /token and /introspect', JSON.stringify(as));

    const client = { client_id: CLIENT_ID };
    const basic = oauth.ClientSecretBasic(secret);
    const post = oauth.ClientSecretPost(secret);

    // Client credentials (client_secret_basic).
    const cc = await oauth.processClientCredentialsResponse(as, client,
      await oauth.clientCredentialsGrantRequest(as, client, basic, new URLSearchParams(), insecure));
    report.check(typeof cc.access_token === 'string' && cc.token_type === 'bearer' && cc.expires_in === 900,
      'client_credentials with client_secret_basic: a Bearer access token', JSON.stringify(cc));
    const me = await (await fetch(`${base}/me`, { headers: { Authorization: `Bearer ${cc.access_token}` } })).json();
    report.check(me.client_id === CLIENT_ID && me.sub === `client:${CLIENT_ID}`,
      'the client token opens /me, which names the client', JSON.stringify(me));

    // A user's refresh token, rotated through /token by the same client (client_secret_post).
    const reg = await fetch(`${base}/register`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
    });
    const pair = await reg.json();
    report.check(reg.status === 201, 'a user registers', JSON.stringify(pair));
    const rt = await oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, post, pair.refresh_token, insecure));
    report.check(typeof rt.access_token === 'string' && typeof rt.refresh_token === 'string' &&
      rt.refresh_token !== pair.refresh_token, 'refresh_token grant with client_secret_post: a new pair',
      JSON.stringify(Object.keys(rt)));

    // Introspection (client_secret_basic).
    const introspect = async (token) => oauth.processIntrospectionResponse(as, client,
      await oauth.introspectionRequest(as, client, basic, token, insecure));
    const i1 = await introspect(cc.access_token);
    report.check(i1.active === true && i1.client_id === CLIENT_ID && i1.token_type === 'access_token' &&
      i1.iss === base && i1.aud === 'jwtd', 'introspection: the client token is active', JSON.stringify(i1));
    const i2 = await introspect(rt.access_token);
    report.check(i2.active === true && i2.username === 'alice', 'introspection: the user token is active',
      JSON.stringify(i2));
    const i3 = await introspect(pair.refresh_token);
    report.check(i3.active === false && Object.keys(i3).length === 1,
      'introspection: the spent refresh token is {"active": false}', JSON.stringify(i3));
    const i4 = await introspect(rt.refresh_token);
    report.check(i4.active === true && i4.token_type === 'refresh_token',
      'introspection: the new refresh token is active', JSON.stringify(i4));
    const out = await fetch(`${base}/logout-all`, { method: 'POST', headers: { Authorization: `Bearer ${rt.access_token}` } });
    report.check(out.status === 204, 'the user logs out everywhere', String(out.status));
    const i5 = await introspect(rt.access_token);
    const i6 = await introspect(rt.refresh_token);
    report.check(i5.active === false && i6.active === false,
      'introspection: both of her tokens are inactive after logout-all', JSON.stringify([i5, i6]));

    // A wrong secret: 401 with the Basic challenge, which oauth4webapi surfaces as a
    // WWWAuthenticateChallengeError; the body is RFC 6749's invalid_client.
    let error = null;
    try {
      await oauth.processClientCredentialsResponse(as, client,
        await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('wrong-secret-0000000000'),
          new URLSearchParams(), insecure));
    } catch (e) {
      error = e;
    }
    const body = error?.response !== undefined ? await error.response.json().catch(() => null) : null;
    report.check(error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401 &&
      error.cause?.[0]?.scheme === 'basic' && body?.error === 'invalid_client',
      'a wrong secret: 401 invalid_client with a Basic challenge', `${error} ${JSON.stringify(body)}`);
  } catch (e) {
    report.fail('the OAuth flow', e.stack ?? String(e));
  } finally {
    const how = await stopServer(child);
    report.check(how === 'exit 0', 'the server stops cleanly', how);
  }
  process.exitCode = report.summary();
}

main().catch((e) => {
  console.log(`FAIL - ${e.stack ?? e}`);
  process.exitCode = 1;
});
