package generate

import "strings"

// jsHandlers are the task handlers of each template, in plain JS shared by
// browser and server workers. Each takes params and returns a value or a
// Promise; a throw becomes the task's error.
var jsHandlers = map[string]string{
	Math: `// num is params[key], which must be a number (not NaN): '1' + 2 is not 3.
function num(params, key) {
  const v = params[key];
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error('params.' + key + ' must be a number');
  return v;
}

const handlers = {
  add: (p) => num(p, 'a') + num(p, 'b'),
  subtract: (p) => num(p, 'a') - num(p, 'b'),
  multiply: (p) => num(p, 'a') * num(p, 'b'),
  divide: (p) => {
    const a = num(p, 'a');
    const b = num(p, 'b');
    if (b === 0) throw new Error('Division by zero is not allowed');
    return a / b;
  },
  power: (p) => Math.pow(num(p, 'a'), num(p, 'b')),
  sqrt: (p) => {
    const a = num(p, 'a');
    if (a < 0) throw new Error('Square root of a negative number is not real');
    return Math.sqrt(a);
  },
};`,
	Data: `// Records are arrays of plain objects.
// Values compare only with their own kind: numbers by value, strings by
// text (a mixed pair is never <, <=, > or >=).
const kind = (v) => (typeof v === 'number' || typeof v === 'string' ? typeof v : null);
const cmp = (a, b) => (kind(a) !== null && kind(a) === kind(b) ? (a < b ? -1 : a > b ? 1 : 0) : NaN);
const ops = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => cmp(a, b) < 0,
  '<=': (a, b) => cmp(a, b) <= 0,
  '>': (a, b) => cmp(a, b) > 0,
  '>=': (a, b) => cmp(a, b) >= 0,
  // A missing or null field contains nothing.
  contains: (a, b) => a != null && String(a).includes(String(b)),
};

// order sorts numbers first (by value), then strings (by text), then
// booleans (false first), then anything else (null, missing, objects).
const rank = (v) => (typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : typeof v === 'boolean' ? 2 : 3);
const order = (a, b) => rank(a) - rank(b) || (rank(a) < 3 ? (a < b ? -1 : a > b ? 1 : 0) : 0);

const types = ['number', 'string', 'boolean', 'email'];

function records(params) {
  if (!params || !Array.isArray(params.records)) throw new Error('params.records must be an array of objects');
  const bad = params.records.findIndex((r) => r === null || typeof r !== 'object' || Array.isArray(r));
  if (bad >= 0) throw new Error('params.records[' + bad + '] is not an object');
  return params.records;
}

const handlers = {
  // fetch {url, as: 'json' | 'text'}: in a Web Worker a relative URL is
  // resolved against the worker's own; under Node.js it must be absolute.
  fetch: async ({ url, as = 'json' } = {}) => {
    if (!url) throw new Error('fetch needs params.url');
    const base = typeof location !== 'undefined' ? location.href : undefined;
    let u;
    try {
      u = new URL(url, base);
    } catch (_) {
      throw new Error('fetch needs params.url to be a URL' + (base ? '' : ' with its scheme (https://…): under Node.js there is no page to resolve it against') + ', not ' + JSON.stringify(url));
    }
    const res = await fetch(u);
    if (!res.ok) throw new Error('fetch ' + url + ': HTTP ' + res.status);
    return as === 'text' ? res.text() : res.json();
  },
  // transform {records, select?, sortBy?}: sort, then keep some fields.
  transform: (params) => {
    const key = params.sortBy;
    const rows = [...records(params)];
    if (key) rows.sort((x, y) => order(x[key], y[key]));
    return rows.map((r) => {
      if (!Array.isArray(params.select)) return { ...r };
      const o = {};
      for (const k of params.select) if (Object.hasOwn(r, k)) o[k] = r[k]; // a field it lacks stays out
      return o;
    });
  },
  // validate {records, schema: {field: 'number' | 'string' | 'boolean' | 'email'}}.
  validate: (params) => {
    const schema = params.schema;
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new Error('validate needs params.schema, e.g. {email: "email"}');
    for (const [field, type] of Object.entries(schema)) {
      if (!types.includes(type)) throw new Error('params.schema.' + field + ' must be one of ' + types.join(', '));
    }
    const errors = [];
    records(params).forEach((r, index) => {
      for (const [field, type] of Object.entries(schema)) {
        const v = r[field];
        const ok = type === 'email' ? typeof v === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) : typeof v === type;
        if (!ok) errors.push({ index, field, message: 'is not a valid ' + type });
      }
    });
    return { valid: errors.length === 0, errors };
  },
  // filter {records, where: [{field, op, value}]}: the records matching every condition.
  filter: (params) => {
    const where = params.where ?? []; // only null or undefined is none, as in the Go worker
    if (!Array.isArray(where)) throw new Error('params.where must be an array of {field, op, value}');
    for (const c of where) if (!c || !Object.hasOwn(ops, c.op)) throw new Error('unknown op ' + String((c && c.op) ?? null));
    return records(params).filter((r) => where.every((c) => ops[c.op](r[c.field], c.value)));
  },
};`,
	Image: `// An image is {width, height, data} with width*height*4 RGBA bytes
// (an ImageData works too). Pure JS, so it runs in any worker.
function pixels(image) {
  const bytes = image && (image.data instanceof Uint8ClampedArray || image.data instanceof Uint8Array || Array.isArray(image.data));
  if (!bytes || !Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1 || image.data.length !== image.width * image.height * 4) {
    throw new Error('params.image must be {width, height, data} with width*height*4 RGBA bytes');
  }
  return Array.isArray(image.data) ? Uint8ClampedArray.from(image.data) : image.data;
}

const handlers = {
  // resize {image, width, height}: nearest-neighbour sampling.
  resize: ({ image, width, height }) => {
    const src = pixels(image);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 1 << 24) {
      throw new Error('resize needs params.width and params.height: whole numbers of pixels, at most 16,777,216 in all');
    }
    const out = new Uint8ClampedArray(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = Math.floor((x * image.width) / width);
        const sy = Math.floor((y * image.height) / height);
        for (let c = 0; c < 4; c++) out[(y * width + x) * 4 + c] = src[(sy * image.width + sx) * 4 + c];
      }
    }
    return { width, height, data: out };
  },
  // compress {image}: run-length encoding of equal pixels, [count, r, g, b, a]...
  compress: ({ image }) => {
    const src = pixels(image);
    const out = [];
    for (let i = 0; i < src.length; ) {
      let n = 1;
      while (n < 255 && i + n * 4 < src.length && [0, 1, 2, 3].every((c) => src[i + c] === src[i + n * 4 + c])) n++;
      out.push(n, src[i], src[i + 1], src[i + 2], src[i + 3]);
      i += n * 4;
    }
    return { type: 'application/x-rle-rgba', size: out.length, originalSize: src.length, bytes: new Uint8Array(out) };
  },
  // filter {image, filter: 'grayscale' | 'invert'}.
  filter: ({ image, filter }) => {
    if (filter == null) filter = 'grayscale'; // null too: the Go worker cannot tell it from undefined
    const src = pixels(image);
    const out = new Uint8ClampedArray(src.length);
    for (let i = 0; i < src.length; i += 4) {
      const [r, g, b] = [src[i], src[i + 1], src[i + 2]];
      if (filter === 'invert') {
        out.set([255 - r, 255 - g, 255 - b], i);
      } else if (filter === 'grayscale') {
        const l = Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);
        out.set([l, l, l], i);
      } else {
        throw new Error('unknown filter ' + filter + ' (known: grayscale, invert)');
      }
      out[i + 3] = src[i + 3];
    }
    return { width: image.width, height: image.height, data: out };
  },
  // analyze {image}: pixel count and mean colour.
  analyze: ({ image }) => {
    const src = pixels(image);
    const n = image.width * image.height;
    const sum = [0, 0, 0, 0];
    for (let i = 0; i < src.length; i++) sum[i % 4] += src[i];
    return { width: image.width, height: image.height, pixels: n, mean: { r: sum[0] / n, g: sum[1] / n, b: sum[2] / n, a: sum[3] / n } };
  },
};`,
}

// jsSamples are sample tasks of each template, [name, params] in JS, used
// by the usage examples.
var jsSamples = map[string]string{
	Math: `[
  ['add', { a: 2, b: 3 }],
  ['subtract', { a: 10, b: 4 }],
  ['multiply', { a: 6, b: 7 }],
  ['divide', { a: 10, b: 4 }],
  ['power', { a: 2, b: 10 }],
  ['sqrt', { a: 144 }],
  ['divide', { a: 1, b: 0 }], // fails: Division by zero is not allowed
]`,
	Data: `[
  ['fetch', { url: 'data:application/json,%5B1%2C2%2C3%5D' }],
  ['transform', { records: [{ name: 'Alan', age: 41 }, { name: 'Ada', age: 36 }], select: ['name'], sortBy: 'name' }],
  ['validate', { records: [{ email: 'ada@example.org' }, { email: 'nope' }], schema: { email: 'email' } }],
  ['filter', { records: [{ name: 'Ada', age: 36 }, { name: 'Alan', age: 41 }], where: [{ field: 'age', op: '>', value: 40 }] }],
]`,
	Image: `[
  ['resize', { image: sample, width: 1, height: 1 }],
  ['compress', { image: sample }],
  ['filter', { image: sample, filter: 'invert' }],
  ['analyze', { image: sample }],
]`,
}

// jsSampleImage defines sample, the 2×2 image the image samples use.
const jsSampleImage = `// A 2×2 image: red, green, blue, white.
const sample = { width: 2, height: 2, data: new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]) };
`

const browserWorkerJS = `// {{NAME}}.js: {{A_TEMPLATE}} worker for atmo, run as a Web Worker.
// Generated by: go run ./host generate-worker {{NAME}} <dir> browser
//
// Tasks: {{TASKS}}.
// It speaks the Atmo Workers protocol by hand (no imports), so it runs as a
// plain script URL, a Blob URL or a module worker alike.
'use strict';

{{HANDLERS}}

let myWorkerId = null; // our id, from init-worker, sent back with every message

self.onmessage = async (e) => {
  const { message, taskId, content } = e.data || {};
  switch (message) {
    case 'init-worker':
      myWorkerId = e.data.id;
      self.postMessage({ message: 'worker-ready', workerId: myWorkerId, content: { tasks: Object.keys(handlers) } });
      break;
    case 'worker-work': {
      const { name, params } = content;
      try {
        if (!Object.prototype.hasOwnProperty.call(handlers, name)) {
          throw new Error('Unknown task: ' + name + ' (this worker handles: ' + Object.keys(handlers).join(', ') + ')');
        }
        const result = await handlers[name](params || {});
        self.postMessage({ message: 'worker-response', taskId, workerId: myWorkerId, content: result });
      } catch (error) {
        // Never an empty error: the protocol reads one as success.
        const text = (error && error.message) || String(error) || 'the handler threw an empty string';
        self.postMessage({ message: 'worker-response', taskId, workerId: myWorkerId, error: text });
      }
      break;
    }
  }
};
`

const serverWorkerJS = `// {{NAME}}.js: {{A_TEMPLATE}} worker for atmo, run as a Node.js worker_threads Worker.
// Generated by: go run ./host generate-worker {{NAME}} <dir> server
//
// Tasks: {{TASKS}}.
// It speaks the Atmo Workers protocol over parentPort. Start it with
// atmo.NewServerWorkerManager (Go, under Node.js) or see {{NAME}}.example.js.
'use strict';
const { parentPort } = require('worker_threads');

{{HANDLERS}}

let myWorkerId = null; // our id, from init-worker, sent back with every message

parentPort.on('message', async (data) => {
  const { message, taskId, content } = data || {};
  switch (message) {
    case 'init-worker':
      myWorkerId = data.id;
      parentPort.postMessage({ message: 'worker-ready', workerId: myWorkerId, content: { tasks: Object.keys(handlers) } });
      break;
    case 'worker-work': {
      const { name, params } = content;
      try {
        if (!Object.prototype.hasOwnProperty.call(handlers, name)) {
          throw new Error('Unknown task: ' + name + ' (this worker handles: ' + Object.keys(handlers).join(', ') + ')');
        }
        const result = await handlers[name](params || {});
        parentPort.postMessage({ message: 'worker-response', taskId, workerId: myWorkerId, content: result });
      } catch (error) {
        // Never an empty error: the protocol reads one as success.
        const text = (error && error.message) || String(error) || 'the handler threw an empty string';
        parentPort.postMessage({ message: 'worker-response', taskId, workerId: myWorkerId, error: text });
      }
      break;
    }
  }
});
`

const browserExampleHTML = `<!doctype html>
<!-- {{NAME}}.example.html: how to use {{NAME}}.js from a page, with atmo's JS API.
     Serve it with the host server: from the atmo repository
       go run ./host -mount /my/=<dir>    then open http://127.0.0.1:8080/my/{{NAME}}.example.html
     or, from a module of your own, go tool host -mount /my/=<dir> (see the README's quick start) -->
<html lang="en">
<head><meta charset="utf-8"><title>{{NAME}} example</title></head>
<body data-state="running">
<h1>{{NAME}}</h1>
<pre id="out">running…</pre>
<script type="module">
import { loadAtmo } from '/atmo.js';

{{SAMPLE_IMAGE}}const samples = {{SAMPLES}};

const out = document.getElementById('out');
const results = [];
try {
  const atmo = await loadAtmo({ wasm: '/atmo.wasm' });
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [
    { tasks: {{TASK_LIST}}, script: new URL('{{NAME}}.js', import.meta.url).href },
  ]);
  for (const [name, params] of samples) {
    try {
      results.push({ name, ok: true, value: await tm.run(name, params) });
    } catch (err) {
      results.push({ name, ok: false, error: err.message, taskId: err.taskId, workerId: err.workerId });
    }
  }
  await tm.close();
  // Typed arrays print as arrays.
  const text = JSON.stringify(results, (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v), 2);
  out.textContent = text;
  document.body.dataset.results = text;
  document.body.dataset.state = 'done';
} catch (err) {
  out.textContent = 'failed: ' + err.message;
  document.body.dataset.state = 'error';
}
</script>
</body>
</html>
`

const serverExampleJS = `// {{NAME}}.example.js: run {{NAME}}.js on a worker_threads Worker and
// send it each sample task by the Atmo Workers protocol.
//   node {{NAME}}.example.js
// In a Go program under Node.js, atmo.NewServerWorkerManager does this for
// you: WorkerConfig{Tasks: ..., Script: "/path/to/{{NAME}}.js"}.
'use strict';
const { Worker } = require('worker_threads');
const path = require('path');

{{SAMPLE_IMAGE}}const samples = {{SAMPLES}};

const worker = new Worker(path.join(__dirname, '{{NAME}}.js'));
const pending = new Map(); // taskId → resolve
worker.on('message', (m) => {
  if (m.message === 'worker-response' && pending.has(m.taskId)) {
    pending.get(m.taskId)(m);
    pending.delete(m.taskId);
  }
});

function send(taskId, name, params) {
  return new Promise((resolve) => {
    pending.set(taskId, resolve);
    worker.postMessage({ message: 'worker-work', taskId, workerId: 'w1', content: { name, params } });
  });
}

(async () => {
  await new Promise((resolve) => {
    worker.once('message', resolve); // worker-ready
    worker.postMessage({ message: 'init-worker', id: 'w1', content: {{TASK_LIST}} });
  });
  const results = [];
  for (const [i, [name, params]] of samples.entries()) {
    const r = await send('task-' + (i + 1), name, params);
    results.push(r.error === undefined ? { name, ok: true, value: r.content } : { name, ok: false, error: r.error });
  }
  console.log(JSON.stringify(results, (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v)));
  await worker.terminate();
})();
`

func jsFill(s, name, tmpl string) string {
	img := ""
	if tmpl == Image {
		img = jsSampleImage + "\n"
	}
	return fill(s,
		"{{NAME}}", name,
		"{{A_TEMPLATE}}", article(tmpl),
		"{{TEMPLATE}}", tmpl,
		"{{TASKS}}", strings.Join(Tasks(tmpl), ", "),
		"{{TASK_LIST}}", quoteList(Tasks(tmpl)),
		"{{HANDLERS}}", jsHandlers[tmpl],
		"{{SAMPLES}}", jsSamples[tmpl],
		"{{SAMPLE_IMAGE}}", img,
	)
}

func browserWorker(name, tmpl string) string  { return jsFill(browserWorkerJS, name, tmpl) }
func serverWorker(name, tmpl string) string   { return jsFill(serverWorkerJS, name, tmpl) }
func browserExample(name, tmpl string) string { return jsFill(browserExampleHTML, name, tmpl) }
func serverExample(name, tmpl string) string  { return jsFill(serverExampleJS, name, tmpl) }

// article is the template's name after "a" or "an": "a math", "an image".
func article(tmpl string) string {
	if strings.ContainsRune("aeiou", rune(tmpl[0])) {
		return "an " + tmpl
	}
	return "a " + tmpl
}
