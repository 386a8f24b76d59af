// data-worker.js: fetch, transform, validate and filter records, written
// with the helper jsworker/atmo-worker.js.
//
// Tasks (records are arrays of plain objects; each task that takes records
// may instead take url, which it fetches first):
//   fetch     {url, as: 'json' | 'text'}               → {url, status, contentType, data}
//   transform {records | url, select?, rename?, sortBy?, descending?}  → records, sorted then picked
//   validate  {records | url, schema}                  → {valid, checked, errors: [{index, field, message}]}
//   filter    {records | url, where: [{field, op, value}]}             → records
//
// fetch reads same-origin URLs only (the host server's /data/people.json,
// for example), so the example works offline.
importScripts('/jsworker/atmo-worker.js');

// sameOrigin resolves url against the worker's own URL and refuses others.
function sameOrigin(url) {
  if (typeof url !== 'string' || url === '') throw new Error('fetch needs params.url, e.g. "/data/people.json"');
  const u = new URL(url, self.location.href);
  if (u.origin !== self.location.origin) {
    throw new Error(`fetch reads same-origin URLs only; ${u.origin} is not ${self.location.origin}`);
  }
  return u;
}

async function fetchURL(params, signal) {
  const { url, as } = params || {}; // null params: say which to give
  const u = sameOrigin(url);
  // None given (undefined, null, '': a Go struct's unset field) is JSON.
  if (as != null && as !== '' && as !== 'json' && as !== 'text') {
    throw new Error(`params.as must be 'json' or 'text', not ${JSON.stringify(as)}`);
  }
  const res = await fetch(u, { signal });
  if (!res.ok) throw new Error(`fetch ${u.pathname}: HTTP ${res.status}`);
  const text = await res.text();
  let data = text;
  if (as !== 'text') {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error(`fetch ${u.pathname}: the body is not JSON (${e.message}); give as: 'text' to read it as text`);
    }
  }
  return { url: u.pathname, status: res.status, contentType: res.headers.get('content-type') || '', data };
}

// records takes params.records, or fetches params.url (JSON, an array), and
// checks that each is an object.
async function records(params, signal) {
  params = params || {}; // null params: say which to give
  let rows;
  if (Array.isArray(params.records)) rows = params.records;
  else if (params.url) {
    const { data } = await fetchURL({ url: params.url }, signal);
    if (!Array.isArray(data)) throw new Error(`${params.url} is not a JSON array of records`);
    rows = data;
  } else {
    throw new Error('give params.records (an array of objects) or params.url (a same-origin JSON array)');
  }
  const bad = rows.findIndex((r) => r === null || typeof r !== 'object');
  if (bad >= 0) throw new Error(`records[${bad}] is not an object: ${String(rows[bad])}`);
  return rows;
}

// compare orders numbers by value before other values by their text, and
// puts a missing (undefined or null) value last whichever the direction.
function compare(a, b, descending) {
  const missingA = a === undefined || a === null;
  const missingB = b === undefined || b === null;
  if (missingA || missingB) return missingA - missingB;
  let c;
  if (typeof a === 'number' && typeof b === 'number') c = a - b;
  else if (typeof a === 'number' || typeof b === 'number') c = typeof a === 'number' ? -1 : 1;
  else c = String(a).localeCompare(String(b));
  return descending ? -c : c;
}

async function transform(params, { signal }) {
  const { select, sortBy, descending = false } = params || {};
  const rename = params && params.rename != null ? params.rename : {};
  if (descending != null && typeof descending !== 'boolean') { // 'false' would sort descending
    throw new Error(`params.descending must be true or false, not ${JSON.stringify(descending)}`);
  }
  if (select != null && !Array.isArray(select)) throw new Error('params.select must be an array of field names, e.g. ["name", "age"]');
  if (typeof rename !== 'object') throw new Error('params.rename must be an object of {field: new name}');
  let rows = await records(params, signal);
  if (sortBy) {
    // Sort first, so a record can be sorted by a field it does not keep.
    rows = [...rows].sort((a, b) => compare(a[sortBy], b[sortBy], descending));
  }
  return rows.map((r) => {
    const keys = Array.isArray(select) ? select : Object.keys(r);
    const o = {};
    for (const k of keys) o[Object.hasOwn(rename, k) && typeof rename[k] === 'string' && rename[k] ? rename[k] : k] = r[k];
    return o;
  });
}

const schemaTypes = ['number', 'string', 'boolean', 'email'];

// A schema maps a field to a type name ('number', 'string', 'boolean',
// 'email') or to {type, required, min, max, pattern}.
async function validate(params, { signal }) {
  const schema = params && params.schema;
  if (!schema || typeof schema !== 'object') throw new Error('validate needs params.schema, e.g. {age: "number", email: "email"}');
  for (const [field, rule] of Object.entries(schema)) {
    if (typeof rule !== 'string' && (rule === null || typeof rule !== 'object' || Array.isArray(rule))) {
      throw new Error(`params.schema.${field} must be a type name ('number', 'string', 'boolean', 'email') or {type, required, min, max, pattern}`);
    }
    const type = typeof rule === 'string' ? rule : rule.type;
    if (type && !schemaTypes.includes(type)) { // none given (undefined, null, ''): any type
      throw new Error(`params.schema.${field}: unknown type ${JSON.stringify(type)}; give 'number', 'string', 'boolean' or 'email'`);
    }
  }
  const rows = await records(params, signal);
  const errors = [];
  rows.forEach((r, index) => {
    for (const [field, ruleIn] of Object.entries(schema)) {
      const rule = typeof ruleIn === 'string' ? { type: ruleIn, required: true } : ruleIn;
      const v = r[field];
      const fail = (message) => errors.push({ index, field, message });
      if (v === undefined || v === null) {
        if (rule.required !== false) fail('is missing');
        continue;
      }
      if (rule.type === 'email') {
        if (typeof v !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) fail(`is not an email address: ${JSON.stringify(v)}`);
      } else if (rule.type && typeof v !== rule.type) {
        fail(`should be a ${rule.type}, is a ${typeof v}`);
        continue;
      }
      if (rule.min !== undefined && v < rule.min) fail(`is below ${rule.min}`);
      if (rule.max !== undefined && v > rule.max) fail(`is above ${rule.max}`);
      if (rule.pattern && !new RegExp(rule.pattern).test(String(v))) fail(`does not match ${rule.pattern}`);
    }
  });
  return { valid: errors.length === 0, checked: rows.length, errors };
}

const ops = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  // A missing (undefined or null) value contains nothing, not the text "undefined".
  contains: (a, b) => a !== undefined && a !== null && String(a).toLowerCase().includes(String(b).toLowerCase()),
};

async function filter(params, { signal }) {
  const where = (params && params.where) || [];
  if (!Array.isArray(where)) throw new Error('filter needs params.where: an array of {field, op, value}');
  for (const c of where) {
    if (!c || !Object.hasOwn(ops, c.op)) throw new Error(`unknown op ${JSON.stringify(c && c.op)} (known: ${Object.keys(ops).join(' ')})`);
  }
  const rows = await records(params, signal);
  return rows.filter((r) => where.every((c) => ops[c.op](r[c.field], c.value)));
}

atmoWorker({
  fetch: (params, { signal }) => fetchURL(params, signal),
  transform,
  validate,
  filter,
});
