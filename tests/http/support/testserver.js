// The Node.js twin of testserver.c, for the tests written in JavaScript (tests/jwks-client,
// tests/browser): a real `jwtd serve` on 127.0.0.1:0, its port read from the "listening on"
// line, always stopped (SIGTERM, then SIGKILL after a bounded wait); and the numbered
// `ok N - ...` / `FAIL N - ...` reporter with its final `N passed, N failed` line; the options
// the programs share and a runner of jwtd commands.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');

const START_TIMEOUT_MS = 15000; // until the "listening on" line
const STOP_TIMEOUT_MS = 10000; // after SIGTERM, before SIGKILL
const SETPRIV = '/usr/bin/setpriv';

// Starts `BIN serve --listen 127.0.0.1:0 ARGS...` with its stdout and stderr appended to
// logPath, and resolves with {child, base} ("http://127.0.0.1:PORT") once it prints its port.
// setpriv --pdeathsig (util-linux) makes the kernel kill the server when this process dies,
// even by SIGKILL (a CTest timeout), which no exit handler sees.
function startServer(bin, args, logPath) {
  const argv = ['serve', '--listen', '127.0.0.1:0', ...args];
  const child = fs.existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      fs.appendFileSync(logPath, chunk);
      if (seen.length < 65536) seen += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1] });
      }
    });
    child.stderr.on('data', (chunk) => fs.appendFileSync(logPath, chunk));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`jwtd serve ended before listening (${code ?? sig}); see ${logPath}`));
    });
  });
}

// SIGTERM, a bounded wait, then SIGKILL. Resolves with how it ended ("exit 0" when clean).
function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve('already ended');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('killed: no exit within the SIGTERM timeout');
    }, STOP_TIMEOUT_MS);
    child.removeAllListeners('exit');
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'exit 0' : `exit ${code ?? sig}`);
    });
    child.kill('SIGTERM');
  });
}

// The reporter: one numbered line per check, failures counted.
const report = {
  steps: 0,
  failures: 0,
  ok(what) {
    this.steps++;
    console.log(`ok ${this.steps} - ${what}`);
  },
  fail(what, why) {
    this.steps++;
    this.failures++;
    console.log(`FAIL ${this.steps} - ${what}\n    ${why}`);
  },
  check(cond, what, why) {
    if (cond) this.ok(what);
    else this.fail(what, why);
    return cond;
  },
  // Prints `N passed, N failed` and returns the exit code (0 when nothing failed).
  summary() {
    console.log(`${this.steps - this.failures} passed, ${this.failures} failed`);
    return this.failures === 0 ? 0 : 1;
  },
};

// The options of a test program: --jwtd BIN --work DIR [--argon2-t N --argon2-m-kib N] (the
// Argon2 pair kept as serve arguments in .argon2). Throws with the usage line of `program`.
function parseArgs(argv, program) {
  const a = { argon2: [] };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    if (argv[i] === '--jwtd') a.jwtd = argv[i + 1];
    else if (argv[i] === '--work') a.work = argv[i + 1];
    else if (argv[i] === '--argon2-t' || argv[i] === '--argon2-m-kib') a.argon2.push(argv[i], argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!a.jwtd || !a.work) throw new Error(`usage: ${program} --jwtd BIN --work DIR`);
  return a;
}

const CMD_TIMEOUT_MS = 60000;

// Runs a jwtd command to completion (bounded), input on its stdin; throws with its output when
// it fails, else returns its stdout.
function runJwtd(bin, args, input) {
  const r = spawnSync(bin, args, { input: input ?? '', timeout: CMD_TIMEOUT_MS, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`jwtd ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

module.exports = { startServer, stopServer, report, parseArgs, runJwtd };
