// Distinct valid access tokens for the many-token GET /me workload of scripts/bench-server.sh
// (issue 11), one per line on stdout. Node's own crypto and http only: no npm package.
//   node tokens.js hs TEMPLATE COUNT
//     HS256 tokens signed with $JWT_SECRET: TEMPLATE's header and claims (a token jwtd issued),
//     each with its own jti, exp one hour ahead and a "role" claim beside "roles" (the Rust
//     peer's Claims need sub, role and exp), so that jwtd and the Rust peer accept them all.
//   node tokens.js refresh PORT USER PASSWORD COUNT
//     COUNT access tokens of jwtd on 127.0.0.1:PORT, whatever its keys: one login, then a chain
//     of COUNT - 1 refreshes (each a new pair; no Argon2 after the login).
'use strict';
const crypto = require('crypto');
const http = require('http');

const b64 = (buf) => Buffer.from(buf).toString('base64url');
const die = (msg) => { process.stderr.write(`tokens.js: ${msg}\n`); process.exit(1); };
const [mode, ...args] = process.argv.slice(2);

function hs(template, count) {
  const secret = process.env.JWT_SECRET;
  if (!secret) die('JWT_SECRET is not set');
  const [h, p] = template.split('.');
  if (!p) die('TEMPLATE is not a JWS');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const out = [];
  for (let i = 0; i < count; i++) {
    const c = { ...claims, jti: `${claims.jti}-${i}`, exp, role: (claims.roles || ['user'])[0] };
    const input = `${h}.${b64(JSON.stringify(c))}`;
    out.push(`${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

function post(port, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: keepAlive,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } },
    (res) => {
      let s = '';
      res.on('data', (d) => { s += d; }).on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode} ${s}`));
        resolve(JSON.parse(s));
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

async function refresh(port, user, password, count) {
  let pair = await post(port, '/login', { username: user, password });
  const out = [pair.access_token];
  while (out.length < count) {
    pair = await post(port, '/refresh', { refresh_token: pair.refresh_token });
    out.push(pair.access_token);
  }
  process.stdout.write(out.join('\n') + '\n');
  keepAlive.destroy();
}

if (mode === 'hs' && args.length === 2) {
  hs(args[0], Number(args[1]));
} else if (mode === 'refresh' && args.length === 4) {
  refresh(Number(args[0]), args[1], args[2], Number(args[3])).catch((e) => die(e.message));
} else {
  die('usage: tokens.js hs TEMPLATE COUNT | refresh PORT USER PASSWORD COUNT');
}
