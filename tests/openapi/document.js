// openapi.document: docs/openapi.json is a valid OpenAPI 3.1 document (npm
// @seriousme/openapi-schema-validator: the OAS 3.1 schema and its $refs), every Schema Object
// in it compiles under Ajv's strict JSON Schema 2020-12, no operation has a `default`
// response, every security requirement names a declared scheme; and a real `jwtd serve`
// answers GET /openapi.json with exactly the file's bytes, as application/json, counted in
// the metrics like every route, and 405 to other methods.
// Usage: node document.js --doc FILE --jwtd BIN --work DIR --node-modules DIR [--argon2-t N ...]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { loadDoc, deref, makeAjv, operations } = require('./openapi_lib.js');
const { startServer, stopServer, report } = require('../http/support/testserver.js');

const check = report.check.bind(report);
const TIMEOUT_MS = 20000;

function parse(argv) {
  const a = { serve: [] };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--doc') a.doc = v;
    else if (k === '--jwtd') a.jwtd = v;
    else if (k === '--work') a.work = v;
    else if (k === '--node-modules') a.nodeModules = v;
    else if (k === '--argon2-t' || k === '--argon2-m-kib') a.serve.push(k, v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.doc || !a.jwtd || !a.work || !a.nodeModules)
    throw new Error('usage: document.js --doc FILE --jwtd BIN --work DIR --node-modules DIR');
  return a;
}

// Every Schema Object of the document: [where, schema].
function schemas(doc) {
  const out = [];
  for (const [name, s] of Object.entries(doc.components.schemas || {})) out.push([`components.schemas.${name}`, s]);
  const visit = (where, obj) => {
    if (!obj || typeof obj !== 'object' || obj.$ref) return;
    if (obj.schema) out.push([`${where}.schema`, obj.schema]);
    for (const [mt, media] of Object.entries(obj.content || {})) if (media.schema) out.push([`${where}.content[${mt}]`, media.schema]);
    for (const [h, hdr] of Object.entries(obj.headers || {})) visit(`${where}.headers.${h}`, hdr);
  };
  for (const kind of ['responses', 'headers', 'parameters', 'requestBodies'])
    for (const [name, o] of Object.entries(doc.components[kind] || {})) visit(`components.${kind}.${name}`, o);
  for (const [p, item] of Object.entries(doc.paths))
    for (const prm of item.parameters || []) visit(`${p}.parameters`, prm);
  for (const [p, m, op] of operations(doc)) {
    for (const prm of op.parameters || []) visit(`${m} ${p} parameter`, prm);
    if (op.requestBody) visit(`${m} ${p} requestBody`, op.requestBody);
    for (const [st, r] of Object.entries(op.responses || {})) visit(`${m} ${p} ${st}`, r);
  }
  return out;
}

async function checkDocument(doc, docText, nodeModules) {
  const entry = path.join(nodeModules, '@seriousme', 'openapi-schema-validator', 'index.js');
  const { Validator } = await import(pathToFileURL(entry).href);
  const validator = new Validator();
  const res = await validator.validate(JSON.parse(docText));
  check(res.valid && validator.version === '3.1', `the document is valid OpenAPI ${validator.version}`,
    JSON.stringify(res.errors, null, 1)?.slice(0, 4000));

  const { compile } = makeAjv(doc);
  let bad = [];
  for (const [where, s] of schemas(doc)) {
    try {
      compile(s);
    } catch (e) {
      bad.push(`${where}: ${e.message}`);
    }
  }
  check(bad.length === 0, `every Schema Object compiles under Ajv 2020-12 strict (${schemas(doc).length})`, bad.join('\n    '));

  bad = [];
  const schemes = Object.keys(doc.components.securitySchemes || {});
  for (const [p, m, op] of operations(doc)) {
    const codes = Object.keys(op.responses || {});
    if (codes.length === 0) bad.push(`${m} ${p}: no responses`);
    for (const c of codes) if (!/^[1-5][0-9][0-9]$/.test(c)) bad.push(`${m} ${p}: response '${c}' is no explicit status`);
    for (const req of op.security || doc.security || [])
      for (const name of Object.keys(req)) if (!schemes.includes(name)) bad.push(`${m} ${p}: unknown scheme ${name}`);
    for (const c of codes) deref(doc, op.responses[c]); // every $ref resolves
  }
  check(bad.length === 0, `${operations(doc).length} operations, every status explicit (no default), security schemes declared`, bad.join('\n    '));
}

function counterOf(text, name, label) {
  const re = new RegExp(`^${name}\\{${label}\\} ([0-9]+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

async function checkServed(a, docBytes) {
  fs.rmSync(a.work, { recursive: true, force: true });
  fs.mkdirSync(a.work, { recursive: true });
  const log = path.join(a.work, 'server.log');
  const { child, base } = await startServer(a.jwtd, ['--db', path.join(a.work, 'jwtd.db'), ...a.serve], log);
  try {
    const get = (p, init) => fetch(`${base}${p}`, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const ops = '"ops"';
    const label = `route_class=${ops}`;
    const before = counterOf(await (await get('/metrics')).text(), 'jwtd_http_request_duration_seconds_count', label);
    const res = await get('/openapi.json');
    const body = Buffer.from(await res.arrayBuffer());
    check(res.status === 200, 'GET /openapi.json is 200', `status ${res.status}`);
    check(res.headers.get('content-type') === 'application/json', 'its Content-Type is application/json',
      `Content-Type: ${res.headers.get('content-type')}`);
    check(Buffer.compare(body, docBytes) === 0, `its body is docs/openapi.json byte for byte (${docBytes.length} bytes)`,
      `${body.length} bytes served, ${docBytes.length} in the file`);
    const after = counterOf(await (await get('/metrics')).text(), 'jwtd_http_request_duration_seconds_count', label);
    // The first /metrics is counted after it was written, then /openapi.json: two more.
    check(after - before === 2, 'it is counted in jwtd_http_request_duration_seconds{route_class="ops"}',
      `count ${before} before, ${after} after`);
    for (const method of ['HEAD', 'POST', 'PUT']) {
      const r = await get('/openapi.json', { method });
      check(r.status === 405 && r.headers.get('allow') === 'GET', `${method} /openapi.json is 405 with Allow: GET`,
        `status ${r.status}, Allow: ${r.headers.get('allow')}`);
    }
  } finally {
    const how = await stopServer(child);
    check(how === 'exit 0', 'jwtd serve stops cleanly on SIGTERM', how);
  }
}

async function main() {
  const a = parse(process.argv);
  const docBytes = fs.readFileSync(a.doc);
  const doc = loadDoc(a.doc);
  await checkDocument(doc, docBytes.toString('utf8'), a.nodeModules);
  await checkServed(a, docBytes);
  return report.summary();
}

main().then((code) => process.exit(code), (e) => {
  console.log(`FAIL - ${e.stack || e}`);
  process.exit(1);
});
