// What the two checkers of docs/openapi.json share (tests/openapi): loading the document,
// following its local $refs, and one Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) in
// strict mode that knows the document's component schemas, so that a schema with a keyword
// Ajv does not know (a typo) fails instead of being ignored.
'use strict';
const fs = require('node:fs');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

const COMPONENTS_ID = 'https://jwtd.invalid/openapi/components';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function loadDoc(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// The value a local JSON pointer ("#/components/...") names; throws when there is none.
function pointer(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are used: ${ref}`);
  let o = doc;
  for (const raw of ref.slice(2).split('/')) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (o === null || typeof o !== 'object' || !(p in o)) throw new Error(`unresolved $ref ${ref}`);
    o = o[p];
  }
  return o;
}

// An object that is a $ref (a response, header, parameter) followed to what it names.
function deref(doc, obj) {
  for (let i = 0; obj && typeof obj === 'object' && typeof obj.$ref === 'string'; i++) {
    if (i > 8) throw new Error(`$ref loop at ${obj.$ref}`);
    obj = pointer(doc, obj.$ref);
  }
  return obj;
}

// A deep copy of a schema whose "#/components/schemas/X" refs name the components schema
// added to Ajv.
function rewriteRefs(schema) {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
      out[k] = `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
    else out[k] = rewriteRefs(v);
  }
  return out;
}

// Ajv for the document's schemas: strict (unknown keywords and formats are errors), every error.
// strictRequired is off: `anyOf: [{"required": ["a"]}, {"required": ["b"]}]` beside the
// properties is the JSON Schema idiom for "one of these members", which it would refuse.
function makeAjv(doc) {
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    strictTypes: false,
    strictTuples: false,
    allErrors: true,
  });
  (addFormats.default || addFormats)(ajv);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs((doc.components || {}).schemas || {}) });
  const cache = new Map();
  return {
    ajv,
    // A validating function of a schema object of the document (compiled once).
    compile(schema) {
      let fn = cache.get(schema);
      if (!fn) {
        fn = ajv.compile(rewriteRefs(schema));
        cache.set(schema, fn);
      }
      return fn;
    },
    errors(fn) {
      return ajv.errorsText(fn.errors, { separator: '; ' });
    },
  };
}

// Every operation: [path, method, operation, the path item].
function operations(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths || {}))
    for (const m of METHODS) if (item[m]) ops.push([p, m, item[m], item]);
  return ops;
}

module.exports = { loadDoc, pointer, deref, makeAjv, operations, METHODS };
