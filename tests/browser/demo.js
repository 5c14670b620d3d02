// browser.demo: the demo page of jwtd serve (web/: index.html, app.js, style.css) in a real
// browser, Debian's Chromium run headless by npm's playwright-core, doing what a user does:
//   - the page loads: no console error, no page error, no failed request, app.js and
//     style.css answered 200;
//   - register through the form: "Logged in as <user>" from the access token, then GET /me
//     shows the user; the refresh cookie is set HttpOnly, Secure (Chromium takes Secure
//     cookies over http on loopback), SameSite=Strict, and document.cookie does not show it;
//     neither localStorage nor sessionStorage holds anything, and the page never prints the
//     refresh token (it travels only as the cookie);
//   - reload: the page keeps the access token in memory only, so it shows "Not logged in."
//     until the user presses "Refresh (cookie)", which logs in again through the cookie
//     that survived the reload; GET /me works with the new access token;
//   - log out: "Not logged in.", the cookie is gone, "Refresh (cookie)" then answers 401;
//   - log in with a wrong password: the API's error message ("invalid credentials") shown;
//   - log in with the right one: logged in again, GET /me works.
//   - from another origin (the same page served by a tiny static server on another loopback
//     port, its <meta name="jwtd-api"> naming jwtd's origin, which lists it in --cors-origins):
//     register, reload, "Refresh (cookie)" logs in again through the SameSite=Strict cookie
//     (127.0.0.1:A and 127.0.0.1:B are one site), GET /me works; from a second, unlisted
//     origin the browser blocks the call (a CORS error, the page shows a network error).
// Every HTTP error the steps expect (401s) is named; any other console error or failed
// request fails the test. Screenshots go to the work directory (the build tree):
// failure.png when a step fails, demo.png at the end.
// Usage: node demo.js --jwtd BIN --web-dir DIR --work DIR --chromium PATH [--serve-arg ARG]...
// playwright-core is found through NODE_PATH (the browser.npm-setup fixture).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startServer, stopServer, report } = require('../http/support/testserver.js');

const ok = report.ok.bind(report);
const fail = report.fail.bind(report);
const check = report.check.bind(report);

const STEP_TIMEOUT_MS = 20000; // any one browser action or wait
const COOKIE = 'jwtd_refresh';
const BAD_CREDENTIALS = 'invalid credentials'; // the API's message for a failed login





function parseArgs(argv) {
  const a = { serveArgs: [] };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--jwtd') a.jwtd = v;
    else if (argv[i] === '--web-dir') a.webDir = v;
    else if (argv[i] === '--work') a.work = v;
    else if (argv[i] === '--chromium') a.chromium = v;
    else if (argv[i] === '--serve-arg') a.serveArgs.push(v);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!a.jwtd || !a.webDir || !a.work || !a.chromium)
    throw new Error('usage: demo.js --jwtd BIN --web-dir DIR --work DIR --chromium PATH [--serve-arg ARG]...');
  return a;
}



// Everything that went wrong in the page, in order: console errors, uncaught exceptions,
// requests that failed on the network and HTTP answers >= 400.
function watch(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push({ kind: 'console', text: m.text(), url: m.location()?.url });
  });
  page.on('pageerror', (e) => problems.push({ kind: 'pageerror', text: String(e) }));
  page.on('requestfailed', (r) =>
    problems.push({ kind: 'requestfailed', text: `${r.method()} ${r.url()}: ${r.failure()?.errorText}` }));
  page.on('response', (r) => {
    if (r.status() >= 400)
      problems.push({ kind: 'http', text: `${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}` });
  });
  return problems;
}

// Checks that the problems since the last call are exactly the HTTP errors a step expects
// (e.g. ['POST /login 401']), each with Chromium's console line about it, and nothing else.
function expectProblems(problems, what, expected = []) {
  const got = problems.splice(0);
  const http = got.filter((p) => p.kind === 'http').map((p) => p.text);
  const other = got.filter((p) => !(p.kind === 'console' && /^Failed to load resource: the server responded with a status of 4\d\d/.test(p.text)) && p.kind !== 'http');
  const consoleHttp = got.length - http.length - other.length;
  check(JSON.stringify(http) === JSON.stringify(expected) && other.length === 0 && consoleHttp <= expected.length,
    `${what}: ${expected.length ? `only the expected ${expected.join(', ')}` : 'no console error, no failed request'}`,
    `expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
}

async function text(page, sel) {
  return (await page.textContent(sel, { timeout: STEP_TIMEOUT_MS })) ?? '';
}

// Waits until the element's text matches (bounded); a check either way.
async function expectText(page, sel, re, what) {
  try {
    await page.waitForFunction(([s, src]) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ''),
      [sel, re.source], { timeout: STEP_TIMEOUT_MS });
    ok(what);
    return true;
  } catch (e) {
    fail(what, `${sel} is ${JSON.stringify(await text(page, sel).catch(() => '?'))}, expected ${re}`);
    return false;
  }
}

// The JSON the page shows as the last response body (#result-body), or null.
async function resultBody(page) {
  try {
    return JSON.parse(await text(page, '#result-body'));
  } catch (e) {
    return null;
  }
}

async function refreshCookie(context, base) {
  return (await context.cookies(base)).find((c) => c.name === COOKIE);
}

// Presses a button and waits for the page to show the answer of METHOD PATH with STATUS.
async function press(page, sel, method, route, status) {
  // Cleared first, so that an earlier answer with the same text cannot pass for this one.
  await page.evaluate(() => { document.getElementById('result-status').textContent = ''; });
  await page.click(sel, { timeout: STEP_TIMEOUT_MS });
  const esc = `${method} ${route}`.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return expectText(page, '#result-status', new RegExp(`^${esc}: ${status}\\b`), `${method} ${route} answered ${status}`);
}

async function meShows(page, username, what) {
  await press(page, '#btn-me', 'GET', '/me', 200);
  const me = await resultBody(page);
  check(me?.user === username && Array.isArray(me?.roles), `${what}: GET /me shows ${username}`, `#result-body ${JSON.stringify(me)}`);
}

// A minimal static server of dir on 127.0.0.1 (a free port): the page's own origin when it
// is not jwtd's. Resolves with { server, origin }.
function startStatic(dir) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
  const server = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname === '/' ? 'index.html' : path.basename(req.url);
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1',
    () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` })));
}

// web/ copied into dir with <meta name="jwtd-api" content="BASE">: the page calls jwtd there.
function siteFor(webDir, dir, base) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(webDir)) fs.copyFileSync(path.join(webDir, f), path.join(dir, f));
  const index = path.join(dir, 'index.html');
  fs.writeFileSync(index, fs.readFileSync(index, 'utf8')
    .replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  <meta name="jwtd-api" content="${base}">`));
}

// 8. The page on another origin: listed (works, cookie included) and unlisted (blocked).
async function crossOrigin(browser, base, listed, unlisted) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = watch(page);
  const user = `cors_${process.pid}_${Date.now() % 100000}`;
  const res = await page.goto(`${listed}/`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  check(res?.status() === 200, `the page loads from ${listed}`, `status ${res?.status()}`);
  await page.fill('#reg-username', user);
  await page.fill('#reg-password', 'correct horse battery');
  await page.click('#register-form button[type=submit]');
  await expectText(page, '#result-status', /^POST \/register: 201\b/,
    `from the listed origin ${listed}: POST ${base}/register answered 201`);
  await expectText(page, '#session-state', new RegExp(`^Logged in as ${user} `), 'logged in across origins');
  check(Boolean(await refreshCookie(context, base)), `jwtd's refresh cookie is set for ${base}`, '');
  await page.reload({ waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  await expectText(page, '#session-state', /^Not logged in\.$/, 'after a reload: logged out (memory only)');
  await press(page, '#btn-refresh', 'POST', '/refresh', 200);
  await expectText(page, '#session-state', new RegExp(`^Logged in as ${user} `),
    '"Refresh (cookie)" from the other origin logs in again: the SameSite=Strict cookie went along (same site)');
  await meShows(page, user, 'across origins');
  expectProblems(problems, 'the listed origin');

  const blocked = await context.newPage();
  const blockedProblems = watch(blocked);
  await blocked.goto(`${unlisted}/`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  await blocked.fill('#login-ident', user);
  await blocked.fill('#login-password', 'correct horse battery');
  await blocked.click('#login-form button[type=submit]');
  await expectText(blocked, '#result-status', /^POST \/login: network error$/,
    `from the unlisted origin ${unlisted}: the browser keeps the answer from the page`);
  await expectText(blocked, '#session-state', /^Not logged in\.$/, 'the unlisted origin stays logged out');
  const cors = blockedProblems.filter((p) => p.kind === 'console' && /CORS policy/.test(p.text));
  check(cors.length > 0, 'Chromium names the CORS policy as the reason',
    `problems ${JSON.stringify(blockedProblems)}`);
  await context.close();
}

async function run(chromium, args, base, sites) {
  // As root (CI containers) Chromium refuses to start with its sandbox; it needs user
  // namespaces or a setuid helper that containers lack. --no-sandbox only then: the page is
  // our own, served from loopback. As any other user the sandbox stays on.
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    chromiumSandbox: !isRoot,
    timeout: 60000,
  });
  let page;
  try {
    console.log(`chromium ${browser.version()}${isRoot ? ' (root: --no-sandbox)' : ''}`);
    const context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = watch(page);
    const user = `demo_${process.pid}_${Date.now() % 100000}`;
    const password = 'correct horse battery';

    // 1. The page loads.
    const loaded = {};
    page.on('response', (r) => { loaded[new URL(r.url()).pathname] = r.status(); });
    const res = await page.goto(`${base}/`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    check(res?.status() === 200, 'GET / answered 200', `status ${res?.status()}`);
    check(loaded['/app.js'] === 200 && loaded['/style.css'] === 200, 'app.js and style.css loaded',
      `responses ${JSON.stringify(loaded)}`);
    check((await page.title()) === 'jwtd demo', 'the title is "jwtd demo"', `title ${await page.title()}`);
    await expectText(page, '#session-state', /^Not logged in\.$/, 'the page starts logged out');
    expectProblems(problems, 'page load');

    // 2. Register through the form.
    await page.fill('#reg-username', user);
    await page.fill('#reg-password', password);
    await page.fill('#reg-email', `${user}@example.com`);
    await page.fill('#reg-name', 'Demo User');
    await page.click('#register-form button[type=submit]');
    await expectText(page, '#result-status', /^POST \/register: 201\b/, 'POST /register answered 201');
    await expectText(page, '#session-state', new RegExp(`^Logged in as ${user} \\(roles: user\\)`),
      'after registering the page shows the user logged in');
    check((await page.inputValue('#reg-password')) === '', 'the password field is cleared', '');
    // The answer of /register, shown as the last response, before /me replaces it.
    const registered = await refreshCookie(context, base);
    check(Boolean(registered) && !(await page.evaluate(() => document.body.innerText)).includes(registered.value),
      'the page does not show the refresh token of the answer', `cookie ${JSON.stringify(registered)}`);
    await meShows(page, user, 'after registering');
    expectProblems(problems, 'register');

    // 3. The refresh cookie and what scripts can see.
    const cookie = await refreshCookie(context, base);
    check(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/',
      `the ${COOKIE} cookie is set HttpOnly, Secure, SameSite=Strict, Path=/ (Secure works on loopback http)`,
      `cookie ${JSON.stringify(cookie)}`);
    const seen = await page.evaluate(() => ({
      cookie: document.cookie,
      local: Object.keys(localStorage).map((k) => k + '=' + localStorage.getItem(k)),
      session: Object.keys(sessionStorage).map((k) => k + '=' + sessionStorage.getItem(k)),
      shown: document.body.innerText,
    }));
    check(!seen.cookie.includes(COOKIE) && !(cookie && seen.cookie.includes(cookie.value)),
      'document.cookie does not show the refresh cookie', `document.cookie ${JSON.stringify(seen.cookie)}`);
    check(seen.local.length === 0 && seen.session.length === 0,
      'no token in localStorage or sessionStorage', `local ${JSON.stringify(seen.local)}, session ${JSON.stringify(seen.session)}`);

    // 4. Reload: the access token lived in memory only; the cookie logs the user in again.
    await page.reload({ waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    await expectText(page, '#session-state', /^Not logged in\.$/,
      'after a reload the page holds no access token (memory only)');
    check(Boolean(await refreshCookie(context, base)), 'the refresh cookie survives the reload', 'cookie gone');
    await press(page, '#btn-refresh', 'POST', '/refresh', 200);
    await expectText(page, '#session-state', new RegExp(`^Logged in as ${user} `),
      '"Refresh (cookie)" logs in again through the cookie');
    const rotated = await refreshCookie(context, base);
    check(rotated && cookie && rotated.value !== cookie.value, 'the refresh rotated the cookie', '');
    await meShows(page, user, 'after the refresh');
    expectProblems(problems, 'reload and refresh');

    // 5. Log out.
    await press(page, '#btn-logout', 'POST', '/logout', 204);
    await expectText(page, '#session-state', /^Not logged in\.$/, 'after logging out the page shows logged out');
    check(!(await refreshCookie(context, base)), 'logging out removed the refresh cookie',
      `cookie ${JSON.stringify(await refreshCookie(context, base))}`);
    await press(page, '#btn-refresh', 'POST', '/refresh', 401);
    await expectText(page, '#session-state', /^Not logged in\.$/, 'a refresh after logging out stays logged out');
    expectProblems(problems, 'log out', ['POST /refresh 401']);

    // 6. A wrong password: the API's error message is shown.
    await page.fill('#login-ident', user);
    await page.fill('#login-password', 'wrong password');
    await page.click('#login-form button[type=submit]');
    await expectText(page, '#result-status', /^POST \/login: 401\b/, 'a wrong password: POST /login answered 401');
    const err = await resultBody(page);
    check(err?.error === BAD_CREDENTIALS, `the page shows the API's error "${BAD_CREDENTIALS}"`,
      `#result-body ${JSON.stringify(err)}`);
    await expectText(page, '#session-state', /^Not logged in\.$/, 'a wrong password leaves the page logged out');
    check(!(await refreshCookie(context, base)), 'a wrong password sets no cookie', '');
    expectProblems(problems, 'wrong password', ['POST /login 401']);

    // 7. The right password (by email this time).
    await page.fill('#login-ident', `${user}@example.com`);
    await page.fill('#login-password', password);
    await page.click('#login-form button[type=submit]');
    await expectText(page, '#result-status', /^POST \/login: 200\b/, 'the right password: POST /login answered 200');
    await expectText(page, '#session-state', new RegExp(`^Logged in as ${user} `), 'logged in again');
    check(Boolean(await refreshCookie(context, base)), 'logging in set the refresh cookie again', '');
    await meShows(page, user, 'after logging in');
    expectProblems(problems, 'log in');

    await crossOrigin(browser, base, sites.listed.origin, sites.unlisted.origin);

    await page.screenshot({ path: path.join(args.work, 'demo.png'), fullPage: true });
  } catch (e) {
    fail('the browser steps ran to the end', e.stack ?? String(e));
  } finally {
    if (report.failures > 0 && page)
      await page.screenshot({ path: path.join(args.work, 'failure.png'), fullPage: true })
        .then(() => console.log(`screenshot: ${path.join(args.work, 'failure.png')}`))
        .catch(() => {});
    await browser.close();
  }
}

async function main() {
  const args = parseArgs(process.argv);
  if (!fs.existsSync(args.chromium)) {
    console.log(`FAIL: ${args.chromium} not found: this test needs Debian's Chromium ` +
      '(apt-get install chromium, or scripts/deps.sh)');
    process.exit(1);
  }
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    console.log(`FAIL: playwright-core does not load (the browser.npm-setup fixture installs it): ${e.message}`);
    process.exit(1);
  }
  console.log(`playwright-core ${require('playwright-core/package.json').version}, node ${process.version}`);
  fs.rmSync(args.work, { recursive: true, force: true });
  fs.mkdirSync(args.work, { recursive: true });
  const logPath = path.join(args.work, 'server.log');
  // The page's other origins (one port away: the same site as jwtd's 127.0.0.1, as a
  // front end on localhost:5173 is to jwtd on localhost:3000), the first one listed.
  const siteDir = path.join(args.work, 'site');
  const sites = { listed: await startStatic(siteDir), unlisted: await startStatic(siteDir) };
  const serveArgs = ['--db', path.join(args.work, 'jwtd.db'), '--web-dir', args.webDir,
    '--cors-origins', sites.listed.origin, ...args.serveArgs];

  const { child, base } = await startServer(args.jwtd, serveArgs, logPath);
  siteFor(args.webDir, siteDir, base);
  // A driver that ends by an exception or exit() must not leave a server behind either.
  process.on('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  ok(`jwtd serve is listening at ${base}`);
  try {
    await run(chromium, args, base, sites);
  } finally {
    sites.listed.server.close();
    sites.unlisted.server.close();
    const how = await stopServer(child);
    check(how === 'exit 0', 'jwtd serve stopped on SIGTERM', `${how}; see ${logPath}`);
  }
  process.exit(report.summary());
}

main().catch((e) => {
  console.log(`FAIL: ${e.stack ?? e}`);
  process.exit(1);
});
