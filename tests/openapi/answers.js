// openapi.answers: every answer the HTTP case files received (tests/http/cases, recorded by
// http_driver --record into one JSON-lines file per case) is checked against
// docs/openapi.json:
// - its path matches a documented path template, else it must be the router's 404;
// - its method is documented on that path, else it must be 405 with an Allow header naming
//   only documented methods;
// - its status is documented explicitly for the operation;
// - its Content-Type is one documented for that status (none when no content is documented;
//   a HEAD answer has no body), and its body is valid against that media type's schema;
// - every required header of the response is there, and every documented header it sent is
//   valid against its schema;
// - for a 2xx answer, the query and path parameters and a JSON or form request body are valid
//   against their schemas.
// Then every operation and every documented status must have been exercised by some case,
// except responses marked `x-jwtd-not-in-http-cases` (reached by other tests), so that the
// document cannot list what the server does not do. A case without a fresh, complete record
// (older than the jwtd binary, no end line, failed steps) fails too.
// --mutate changes the document after loading it, to see this checker fail
// (openapi.rejects.*): drop-status:PATH:METHOD:STATUS, drop-path:PATH,
// schema-type:SCHEMA:PROPERTY:TYPE, add-op:PATH:METHOD (an operation no route has).
// Usage: node answers.js --doc FILE --answers DIR --cases DIR --jwtd BIN [--mutate SPEC]...
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { loadDoc, deref, makeAjv, operations, METHODS } = require('./openapi_lib.js');
const { report } = require('../http/support/testserver.js');

const MAX_REASONS = 15; // per case, printed

function parse(argv) {
  const a = { mutate: [] };
  for (let i = 2; i + 1 < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--doc') a.doc = v;
    else if (k === '--answers') a.answers = v;
    else if (k === '--cases') a.cases = v;
    else if (k === '--jwtd') a.jwtd = v;
    else if (k === '--mutate') a.mutate.push(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.doc || !a.answers || !a.cases || !a.jwtd)
    throw new Error('usage: answers.js --doc FILE --answers DIR --cases DIR --jwtd BIN [--mutate SPEC]...');
  return a;
}

function mutate(doc, spec) {
  const [kind, ...rest] = spec.split(':');
  if (kind === 'drop-status') {
    const [p, m, st] = rest;
    if (!doc.paths[p]?.[m]?.responses?.[st]) throw new Error(`--mutate ${spec}: no such response`);
    delete doc.paths[p][m].responses[st];
  } else if (kind === 'drop-path') {
    if (!doc.paths[rest[0]]) throw new Error(`--mutate ${spec}: no such path`);
    delete doc.paths[rest[0]];
  } else if (kind === 'schema-type') {
    const [schema, prop, type] = rest;
    const s = doc.components.schemas[schema];
    if (!s?.properties?.[prop]) throw new Error(`--mutate ${spec}: no such property`);
    s.properties[prop] = { type };
  } else if (kind === 'add-op') {
    const [p, m] = rest;
    doc.paths[p] = { ...doc.paths[p], [m]: { responses: { 200: { description: 'made up' } } } };
  } else {
    throw new Error(`--mutate ${spec}: unknown kind`);
  }
  console.log(`# document mutated: ${spec}`);
}

// The documented path templates, concrete ones first (OpenAPI 3.1 "Path Templating Matching").
function templates(doc) {
  const list = Object.keys(doc.paths).map((p) => {
    const names = [];
    const src = p.split(/(\{[^}]+\})/).map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m) {
        names.push(m[1]);
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('');
    return { path: p, re: new RegExp(`^${src}$`), names };
  });
  return list.sort((x, y) => x.names.length - y.names.length);
}

function findTemplate(tpls, urlPath) {
  for (const t of tpls) {
    const m = t.re.exec(urlPath);
    if (m) {
      const params = {};
      t.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
      return { path: t.path, params };
    }
  }
  return null;
}

function headerValues(rec, name) {
  const lower = name.toLowerCase();
  return (rec.headers || []).filter(([k]) => k.toLowerCase() === lower).map(([, v]) => v);
}

function mediaType(ct) {
  return ct.split(';')[0].trim().toLowerCase();
}

// The documented media type key an answer's Content-Type matches: exactly when the key has
// parameters, else by its type/subtype.
function matchContent(content, ct) {
  for (const key of Object.keys(content)) {
    if (key.includes(';') ? key.replace(/\s+/g, '') === ct.replace(/\s+/g, '') : mediaType(key) === mediaType(ct))
      return key;
  }
  return null;
}

// A parameter's text as the value its schema describes (integers from digits).
function paramValue(schema, text) {
  const t = schema && (schema.type || (schema.$ref ? null : undefined));
  if (t === 'integer' && /^-?[0-9]+$/.test(text)) return Number(text);
  return text;
}

class Checker {
  constructor(doc) {
    this.doc = doc;
    this.v = makeAjv(doc);
    this.tpls = templates(doc);
    this.exercised = new Set(); // "METHOD PATH STATUS" and "METHOD PATH"
    this.errorSchema = doc.components.schemas.Error;
  }

  validate(schema, value) {
    const fn = this.v.compile(schema);
    return fn(value) ? null : this.v.errors(fn);
  }

  // The JSON body of an answer, or a reason.
  json(rec) {
    try {
      return { value: JSON.parse(rec.body) };
    } catch (e) {
      return { why: `the body is not JSON: ${e.message}` };
    }
  }

  // An answer no route documents: the router's 404 (or the 405 of an undocumented method).
  checkPlain(rec, status, message, why) {
    if (rec.status !== status) return [why];
    const j = this.json(rec);
    if (j.why) return [j.why];
    const bad = this.validate(this.errorSchema, j.value);
    if (bad) return [`the ${status} body does not match Error: ${bad}`];
    if (j.value.error !== message) return [`the ${status} body says '${j.value.error}', not '${message}'`];
    return [];
  }

  checkHeaders(rec, response, where) {
    const out = [];
    for (const [name, h0] of Object.entries(response.headers || {})) {
      const h = deref(this.doc, h0);
      const values = headerValues(rec, name);
      if (values.length === 0) {
        if (h.required) out.push(`${where}: required header ${name} is missing`);
        continue;
      }
      for (const v of values) {
        const bad = h.schema ? this.validate(h.schema, v) : null;
        if (bad) out.push(`${where}: header ${name}: '${v}' ${bad}`);
      }
    }
    return out;
  }

  checkBody(rec, response, where) {
    const cts = headerValues(rec, 'content-type');
    const content = response.content;
    if (!content || Object.keys(content).length === 0) {
      const out = [];
      if (cts.length > 0) out.push(`${where}: no content is documented, but Content-Type: ${cts[0]}`);
      if (rec.body_bytes > 0) out.push(`${where}: no content is documented, but a body of ${rec.body_bytes} bytes`);
      return out;
    }
    if (cts.length !== 1) return [`${where}: ${cts.length} Content-Type headers (one of ${Object.keys(content).join(', ')} expected)`];
    const key = matchContent(content, cts[0]);
    if (!key) return [`${where}: Content-Type ${cts[0]} is not documented (${Object.keys(content).join(', ')})`];
    if (rec.method === 'HEAD')
      return rec.body_bytes === 0 ? [] : [`${where}: a HEAD answer with a body of ${rec.body_bytes} bytes`];
    const schema = content[key].schema;
    if (!schema) return [];
    let value;
    if (/^application\/([a-z.+-]+\+)?json$/.test(mediaType(key))) {
      const j = this.json(rec);
      if (j.why) return [`${where}: ${j.why}`];
      value = j.value;
    } else {
      if (rec.body === null) return [`${where}: the ${key} body is not UTF-8`];
      value = rec.body;
    }
    const bad = this.validate(schema, value);
    return bad ? [`${where}: the body does not match its schema: ${bad}: ${String(rec.body).slice(0, 300)}`] : [];
  }

  // The parameters and request body of a successful exchange.
  checkRequest(rec, op, item, tpl, where) {
    const out = [];
    const params = [...(item.parameters || []), ...(op.parameters || [])].map((p) => deref(this.doc, p));
    const query = new URLSearchParams(rec.query || '');
    for (const p of params) {
      const schema = p.schema && p.schema.$ref ? deref(this.doc, p.schema) : p.schema;
      let text;
      if (p.in === 'path') text = tpl.params[p.name];
      else if (p.in === 'query') text = query.has(p.name) ? query.get(p.name) : undefined;
      else continue;
      if (text === undefined) {
        if (p.required) out.push(`${where}: required ${p.in} parameter ${p.name} is missing`);
        continue;
      }
      const bad = p.schema ? this.validate(p.schema, paramValue(schema, text)) : null;
      if (bad) out.push(`${where}: ${p.in} parameter ${p.name}='${text}' ${bad}`);
    }
    const rb = op.requestBody ? deref(this.doc, op.requestBody) : null;
    const reqCt = (rec.request_headers || []).find(([k]) => k.toLowerCase() === 'content-type');
    if (rec.request_body_bytes > 0 && rb) {
      const key = reqCt ? matchContent(rb.content, reqCt[1]) : null;
      if (!key) {
        out.push(`${where}: a 2xx to a request body of type ${reqCt ? reqCt[1] : '(none)'}, not documented`);
      } else if (rec.request_body !== null && rb.content[key].schema) {
        let value;
        if (mediaType(key) === 'application/x-www-form-urlencoded')
          value = Object.fromEntries(new URLSearchParams(rec.request_body));
        else {
          try {
            value = JSON.parse(rec.request_body);
          } catch (e) {
            out.push(`${where}: a 2xx to a request body that is not JSON`);
          }
        }
        const bad = value !== undefined ? this.validate(rb.content[key].schema, value) : null;
        if (bad) out.push(`${where}: the request body does not match its schema: ${bad}`);
      }
    } else if (rb && rb.required && rec.request_body_bytes === 0) {
      out.push(`${where}: a 2xx to a request without the required body`);
    }
    return out;
  }

  // The reasons one exchange breaks the document (none: it matches).
  check(rec) {
    const where = `${rec.method} ${rec.path}${rec.query !== null ? `?${rec.query}` : ''} -> ${rec.status} (step ${rec.step}: ${rec.label})`;
    const tpl = findTemplate(this.tpls, rec.path);
    if (!tpl)
      return this.checkPlain(rec, 404, 'not found', `route missing from the document: ${where}`).map((r) => r.startsWith('route') ? r : `${where}: ${r}`);
    const item = this.doc.paths[tpl.path];
    const method = rec.method.toLowerCase();
    const op = METHODS.includes(method) ? item[method] : undefined;
    if (!op) {
      const out = this.checkPlain(rec, 405, 'method not allowed',
        `method ${rec.method} missing from the document for ${tpl.path}: ${where}`);
      const allow = headerValues(rec, 'allow');
      if (rec.status === 405) {
        if (allow.length !== 1) out.push(`${where}: a 405 without one Allow header`);
        else for (const m of allow[0].split(', ')) if (!item[m.toLowerCase()]) out.push(`${where}: Allow names ${m}, not documented for ${tpl.path}`);
      }
      return out.map((r) => (r.startsWith('method') ? r : `${r}`));
    }
    const key = `${rec.method} ${tpl.path}`;
    this.exercised.add(key);
    const status = String(rec.status);
    const response0 = op.responses[status];
    if (!response0) return [`status ${status} of ${key} is not documented: ${where}`];
    this.exercised.add(`${key} ${status}`);
    const response = deref(this.doc, response0);
    const out = [...this.checkBody(rec, response, where), ...this.checkHeaders(rec, response, where)];
    if (rec.status >= 200 && rec.status < 300) out.push(...this.checkRequest(rec, op, item, tpl, where));
    return out;
  }

  // Operations and statuses no case reached.
  unexercised() {
    const ops = [];
    const statuses = [];
    for (const [p, m, op] of operations(this.doc)) {
      const key = `${m.toUpperCase()} ${p}`;
      if (!this.exercised.has(key)) ops.push(key);
      for (const [st, r] of Object.entries(op.responses)) {
        const resp = deref(this.doc, r);
        const marked = r['x-jwtd-not-in-http-cases'] || resp['x-jwtd-not-in-http-cases'];
        if (!marked && !this.exercised.has(`${key} ${st}`)) statuses.push(`${key} ${st}`);
      }
    }
    return { ops, statuses };
  }
}

// The records of one case: the exchanges, or a reason the record is not usable.
function readRecord(file, jwtdMtime) {
  if (!fs.existsSync(file)) return { why: `no record ${file}: run the case (ctest -R openapi.answers pulls the cases in)` };
  const st = fs.statSync(file);
  if (st.mtimeMs < jwtdMtime) return { why: `the record ${file} is older than the jwtd binary: run the case again` };
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const recs = lines.map((l) => JSON.parse(l));
  const end = recs.pop();
  if (!end || end.end !== true) return { why: `the record ${file} has no end line: the case did not run to its end` };
  if (end.failed !== 0) return { why: `the case failed ${end.failed} step(s): its answers are no evidence` };
  return { recs };
}

function main() {
  const a = parse(process.argv);
  const doc = loadDoc(a.doc);
  for (const m of a.mutate) mutate(doc, m);
  const checker = new Checker(doc);
  const jwtdMtime = fs.statSync(a.jwtd).mtimeMs;
  const cases = fs.readdirSync(a.cases).filter((f) => f.endsWith('.case')).sort();
  let total = 0;
  for (const file of cases) {
    const name = file.slice(0, -'.case'.length);
    const r = readRecord(path.join(a.answers, `${name}.jsonl`), jwtdMtime);
    if (r.why) {
      report.fail(name, r.why);
      continue;
    }
    const reasons = [];
    for (const rec of r.recs) reasons.push(...checker.check(rec));
    total += r.recs.length;
    const shown = reasons.slice(0, MAX_REASONS).join('\n    ') +
      (reasons.length > MAX_REASONS ? `\n    ... and ${reasons.length - MAX_REASONS} more` : '');
    report.check(reasons.length === 0, `${name}: ${r.recs.length} answers match the document`, shown);
  }
  const { ops, statuses } = checker.unexercised();
  report.check(ops.length === 0, `every documented operation is exercised by a case (${operations(doc).length}, ${total} answers)`,
    `operation never exercised: ${ops.join('\n    operation never exercised: ')}`);
  report.check(statuses.length === 0, 'every documented status is exercised by a case (or marked x-jwtd-not-in-http-cases)',
    `status never exercised: ${statuses.join('\n    status never exercised: ')}`);
  return report.summary();
}

try {
  process.exitCode = main();
} catch (e) {
  console.log(`FAIL - ${e.stack || e}`);
  process.exitCode = 1;
}
