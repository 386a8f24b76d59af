// dashboard.js: the live dashboard, built on the JS API (atmo.js) only.
//
// It starts a pool from the host's examples (/api/examples), shows a card
// per worker with its utilisation, totals, throughput, the pool's size as it
// grows and shrinks, latency percentiles and a log, and offers controls to
// run one task, run a batch (its bar follows onProgress reports too) and add
// or close workers, elastic groups included. window.dashboard exposes the
// same actions to scripts (the headless demo and the end-to-end tests).
import { loadAtmo } from './atmo.js';

const $ = (sel) => document.querySelector(sel);

// Sample params per task, filled in when a task is picked. "image": "sample"
// stands for a generated 64×64 gradient.
const samples = {
  add: { a: 2, b: 3 },
  subtract: { a: 10, b: 4 },
  multiply: { a: 6, b: 7 },
  divide: { a: 1, b: 0 },
  power: { a: 2, b: 10 },
  sqrt: { a: 144 },
  fibonacci: { n: 24 },
  fetch: { url: '/data/people.json' },
  transform: { url: '/data/people.json', select: ['name', 'age'], sortBy: 'age', descending: true },
  validate: { url: '/data/people.json', schema: { age: 'number', email: 'email' } },
  filter: { url: '/data/people.json', where: [{ field: 'age', op: '>=', value: 85 }] },
  resize: { image: 'sample', width: 16, height: 16 },
  compress: { image: 'sample', type: 'image/webp', quality: 0.7 },
  'image-filter': { image: 'sample', filter: 'sepia' },
  analyze: { image: 'sample' },
  sha256: { data: 'hello, atmo', rounds: 1000000 },
  sha256Stream: { data: 'hello, atmo' },
};

// The pool the page starts with: name of an example → the config's count
// and, for an elastic group, maxWorkers and idleTimeout (ms). The JS math
// workers grow under a batch and shrink back when it is over; sha256 (Go)
// reports progress, which the batch bar follows.
const defaultPool = {
  'math/js': { count: 2, maxWorkers: 4, idleTimeout: 5000 },
  'data/js': { count: 1 },
  'image/js': { count: 1 },
  'math/go': { count: 2 },
  'sha256/go': { count: 1 },
};

const state = {
  atmo: null,
  tm: null,
  wm: null,
  examples: [],
  latencies: [], // the last 500, ms
  perSecond: new Array(60).fill(0), // settled tasks per second, oldest first
  poolSize: new Array(60).fill(null), // live workers each second, oldest first
  ownIds: new Set(), // ids of workers the page started; the others were grown by the pool
  batch: null,
  dirty: true,
};

// --- helpers -------------------------------------------------------------

function sampleImage(w = 64, h = 64) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (x * 255) / (w - 1);
      data[i + 1] = (y * 255) / (h - 1);
      data[i + 2] = 160;
      data[i + 3] = 255;
    }
  }
  return new ImageData(data, w, h);
}

// expand turns what JSON cannot say into what workers want: "image":
// "sample" becomes a generated image, and the text data of sha256 and
// sha256Stream its UTF-8 bytes.
function expand(name, params) {
  if (!params || typeof params !== 'object') return params;
  if (params.image === 'sample') return { ...params, image: sampleImage() };
  if ((name === 'sha256' || name === 'sha256Stream') && typeof params.data === 'string') return { ...params, data: new TextEncoder().encode(params.data) };
  return params;
}

// short renders a result for the log: images and bytes by their size.
function short(v) {
  if (v instanceof Uint8Array) {
    return v.length <= 32 ? [...v].map((b) => b.toString(16).padStart(2, '0')).join('') : `‹${v.length} bytes›`;
  }
  if (v && typeof v === 'object' && v.data instanceof Uint8Array && v.width) return `image ${v.width}×${v.height}`;
  if (v && typeof v === 'object' && v.bytes instanceof Uint8Array) return `${v.type}, ${v.size} bytes (${Math.round(v.ratio * 100)}%)`;
  // JSON writes Infinity and NaN as null: a result of power(10, 400) or
  // sqrt's NaN would read "→ null". Numbers show as themselves.
  if (typeof v === 'number') return String(v);
  let s;
  try {
    s = JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isFinite(x) ? `\u2063${x}\u2063` : x)).replace(/"\u2063(.*?)\u2063"/g, '$1');
  } catch (_) {
    s = String(v);
  }
  return s === undefined ? String(v) : s.length > 140 ? s.slice(0, 137) + '…' : s;
}

// progressText shows a report: a fraction as a percentage, anything else short.
function progressText(v) {
  return typeof v === 'number' && v >= 0 && v <= 1 ? `${Math.round(v * 100)}%` : short(v);
}

// percentile is the nearest rank, as tm.stats() has it: the smallest
// sample that p% of them are at or below (the median of two is the smaller).
function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// latencyText shows two durations with one unit: "12 · 40 ms", "0.8 · 1.2 s".
function latencyText(a, b) {
  if (b >= 1000) return `${(a / 1000).toFixed(1)} · ${(b / 1000).toFixed(1)} s`;
  const f = (x) => (x >= 10 ? String(Math.round(x)) : x.toFixed(1));
  return `${f(a)} · ${f(b)} ms`;
}

function fmtUptime(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function fmtMs(ms) {
  return ms >= 1000 ? (ms / 1000).toFixed(1) + ' s' : ms >= 10 ? Math.round(ms) + ' ms' : ms.toFixed(1) + ' ms';
}

// --- log -----------------------------------------------------------------

const MAX_LOG = 200;

function log(kind, text, meta = '', taskId = '') {
  const li = document.createElement('li');
  li.className = kind;
  if (taskId) li.dataset.taskId = taskId;
  const t = new Date();
  const cells = [
    ['time', t.toTimeString().slice(0, 8)],
    ['mark', kind === 'ok' ? '✓' : kind === 'err' ? '✗' : '•'],
    ['text', text],
    ['meta', meta],
  ];
  for (const [cls, s] of cells) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = s;
    if (cls === 'text') span.title = s;
    li.appendChild(span);
  }
  const ol = $('#log');
  ol.prepend(li);
  while (ol.children.length > MAX_LOG) ol.lastChild.remove();
}

// --- submitting ----------------------------------------------------------

// settled counts a task that settled, submitted at t0, and returns how long
// it took. A task may settle inside addTask itself (one no worker lists), so
// t0 is taken before it is added.
function settled(t0) {
  tick(); // into this second's bucket, however late the timer is
  state.perSecond[59]++;
  state.dirty = true;
  const ms = performance.now() - t0;
  state.latencies.push(ms);
  if (state.latencies.length > 500) state.latencies.shift();
  return ms;
}

/**
 * submit runs one task and resolves with {ok, taskId, workerId, value or
 * error, ms}; it never rejects. quiet skips the log line for successes.
 */
function submit(name, params, { quiet = false, onProgress } = {}) {
  return new Promise((resolve) => {
    const label = `${name}(${short(params)})`;
    const t0 = performance.now();
    // A long task reports often: a line per report said "progress 3%" many
    // times over and pushed every other line out of the log (MAX_LOG).
    let lastProgress;
    try {
      state.tm.addTask({
        name,
        params: expand(name, params),
        onProgress: (r) => {
          if (onProgress) {
            onProgress(r);
            return;
          }
          const text = progressText(r.content);
          if (quiet || text === lastProgress) return;
          lastProgress = text;
          log('info', `${label}: progress ${text}`, r.workerId, r.taskId);
        },
        onSuccess: (r) => {
          const ms = settled(t0);
          if (!quiet) log('ok', `${label} → ${short(r.content)}`, `${r.workerId} · ${fmtMs(ms)}`, r.taskId);
          resolve({ ok: true, taskId: r.taskId, workerId: r.workerId, value: r.content, ms });
        },
        onError: (r) => {
          const ms = settled(t0);
          log('err', `${label} → ${r.error}`, `${r.workerId || r.code} · ${fmtMs(ms)}`, r.taskId);
          resolve({ ok: false, taskId: r.taskId, workerId: r.workerId || '', error: r.error, code: r.code, ms });
        },
      });
    } catch (err) {
      log('err', `${label}: ${err.message}`);
      resolve({ ok: false, taskId: '', workerId: '', error: err.message, code: err.code, ms: 0 });
      return;
    }
    state.dirty = true;
  });
}

/**
 * batch runs n tasks at once and updates the progress bar until every one
 * settled. The bar moves with settled tasks and with the progress reports
 * of running ones (onProgress): a report of a number in 0..1 counts as that
 * share of its task. params may be a function of the index. Resolves with
 * the results.
 */
async function batch(name, n, params) {
  const bad = batchProblem(name, n);
  if (bad) {
    log('err', bad);
    throw new Error(bad);
  }
  showBatchForm(name, n, params);
  const b = { name, n, done: 0, failed: 0, reports: 0, partial: new Map(), t0: performance.now() };
  state.batch = b;
  renderBatch();
  log('info', `batch of ${n} × ${name} started`);
  const onProgress = (r) => {
    b.reports++;
    if (typeof r.content === 'number' && r.content >= 0 && r.content <= 1) b.partial.set(r.taskId, r.content);
    if (state.batch === b) renderBatch();
  };
  const runs = [];
  for (let i = 0; i < n; i++) {
    const p = typeof params === 'function' ? params(i) : params;
    runs.push(
      submit(name, p, { quiet: true, onProgress }).then((r) => {
        b.done++;
        b.partial.delete(r.taskId);
        if (!r.ok) b.failed++;
        if (state.batch === b) renderBatch();
        return r;
      }),
    );
  }
  const results = await Promise.all(runs);
  b.ms = performance.now() - b.t0;
  if (state.batch === b) renderBatch();
  const reports = b.reports ? `, ${b.reports} progress reports` : '';
  log(b.failed ? 'err' : 'ok', `batch of ${n} × ${name} settled: ${n - b.failed} ok, ${b.failed} failed${reports}`, `${fmtMs(b.ms)} · ${Math.round((n * 1000) / b.ms)} tasks/s`);
  return results;
}

// noTaskText is what Run and Run batch say when the task selects are empty:
// no live worker lists a task.
const noTaskText = 'no live worker handles a task: add a worker first (Add a worker)';

// batchProblem says what is wrong with a batch of n × name, or '' if
// nothing: n is a whole number from 1 to the count field's max (however
// the batch was started: the form, a script, an older browser that does not
// check the field), and name a task. A bad batch would otherwise log
// "settled: NaN ok", run ceil(n) tasks, or fail each of n tasks alike.
function batchProblem(name, n, shown = typeof n === 'string' ? JSON.stringify(n) : String(n)) {
  const max = Number($('#batch-count').max) || 100000;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    return `batch count must be a whole number of 1 to ${max} (got ${shown})`;
  }
  if (name === '') return noTaskText;
  return '';
}

// showBatchForm puts a batch started from code (the demo, the console) in
// the form, so that the form shows what the bar below it counts.
function showBatchForm(name, n, params) {
  const sel = $('#batch-name');
  if ([...sel.options].some((o) => o.value === name)) sel.value = name;
  $('#batch-count').value = String(n);
  if (typeof params === 'function') return;
  try {
    $('#batch-params').value = JSON.stringify(params ?? null);
  } catch (_) {
    // params JSON cannot write (a BigInt, a cycle): atmo says what is wrong
    // with them task by task, and the form keeps its text
  }
}

function renderBatch() {
  const b = state.batch;
  const el = $('#batch-progress');
  if (!b) return;
  let partial = 0;
  for (const f of b.partial.values()) partial += f;
  // Settled tasks count whole, running ones by their last report; the bar
  // reaches 100% only when every task has settled.
  const share = b.done === b.n ? 1 : Math.min((b.done + partial) / b.n, 0.999);
  const pct = Math.floor(share * 100);
  el.querySelector('.bar').style.width = (share * 100).toFixed(1) + '%';
  el.dataset.percent = String(pct);
  el.dataset.settled = String(b.done);
  el.dataset.reports = String(b.reports);
  el.setAttribute('aria-valuenow', String(pct));
  el.classList.toggle('complete', b.done === b.n && b.failed === 0);
  el.classList.toggle('failed', b.failed > 0);
  $('#batch-label').textContent =
    `${b.n} × ${b.name}: ${b.done} / ${b.n} settled` +
    (b.failed ? ` · ${b.failed} failed` : '') +
    (b.reports ? ` · ${b.reports} progress reports` : '') +
    (b.ms !== undefined ? ` · ${fmtMs(b.ms)}` : '');
}

// --- workers -------------------------------------------------------------

function configOf(ex, extra = {}) {
  const where = ex.kind === 'go' ? { module: ex.module } : { script: ex.script };
  return { tasks: ex.tasks, ...where, ...extra };
}

function example(key) {
  const ex = state.examples.find((e) => `${e.name}/${e.kind}` === key);
  if (!ex) throw new Error(`no example ${key}`);
  return ex;
}

function addWorker(key) {
  const ex = example(key);
  const w = state.wm.addWorker(configOf(ex));
  state.ownIds.add(w.id);
  log('info', `added ${w.id} (${ex.name}, ${ex.kind.toUpperCase()})`);
  state.dirty = true;
  return w;
}

/**
 * addElasticGroup starts one worker of the example key that grows up to
 * maxWorkers while its tasks wait and closes the grown ones after
 * idleTimeout ms without work.
 */
function addElasticGroup(key, maxWorkers, idleTimeout) {
  const ex = example(key);
  const w = state.wm.addWorker(configOf(ex, { maxWorkers, idleTimeout }));
  state.ownIds.add(w.id);
  log('info', `added elastic group ${w.id} (${ex.name}, ${ex.kind.toUpperCase()}): grows to ${maxWorkers}, releases after ${fmtMs(idleTimeout)} idle`);
  state.dirty = true;
  return w;
}

function closeWorker(id) {
  try {
    const w = state.wm.workers().find((x) => x.id === id);
    if (w && w.status === 'closed') { // closing it again does nothing: say so, not "closed" again
      log('info', `${id} is closed already`);
      return;
    }
    state.wm.closeWorker(id);
  } catch (err) {
    log('err', err.message);
    return;
  }
  log('info', `closed ${id}`);
  state.dirty = true;
}

function workerCard(w) {
  const card = document.createElement('article');
  card.className = 'worker-card';
  card.dataset.workerId = w.id;
  card.innerHTML = `
    <div class="head">
      <span class="id"></span>
      <span class="grown-badge" title="started by the pool because tasks waited; closed again after its idle timeout" hidden>grown</span>
      <span class="kind"></span>
    </div>
    <div class="status"><span class="dot"></span><span class="status-text"></span><span class="uptime"></span></div>
    <div class="util" title="tasks in flight / capacity (concurrency)">
      <div class="meter"><div class="fill"></div></div>
      <span class="util-text"><b class="in-flight">0</b> / <span class="capacity">1</span> in flight</span>
    </div>
    <div class="tasks"></div>
    <div class="error" hidden></div>
    <div class="foot">
      <span class="done-count"><b class="done"></b>tasks answered <span class="failed-count"></span> <span class="restarts"></span></span>
      <button class="ghost close" type="button">close</button>
    </div>`;
  card.querySelector('.id').textContent = w.id;
  card.querySelector('.grown-badge').hidden = state.ownIds.has(w.id);
  card.classList.toggle('grown', !state.ownIds.has(w.id));
  const kind = card.querySelector('.kind');
  kind.textContent = w.kind.toUpperCase();
  kind.classList.add(w.kind);
  const tasks = card.querySelector('.tasks');
  for (const t of w.tasks) {
    const c = document.createElement('span');
    c.className = 'chip';
    c.textContent = t;
    tasks.appendChild(c);
  }
  card.querySelector('.close').addEventListener('click', () => closeWorker(w.id));
  return card;
}

// put sets o[k] to v only when it differs: a render runs twice a second,
// and every frame while tasks come and go, over every card (the pool keeps
// its 64 latest closed workers listed); writing what did not change would
// replace each card's text nodes and attributes every time.
function put(o, k, v) {
  if (o[k] !== v) o[k] = v;
}

function renderWorkers(stats) {
  const list = state.wm.workers();
  const byId = new Map(stats.workers.map((w) => [w.id, w]));
  const box = $('#workers');
  const cards = new Map([...box.querySelectorAll('.worker-card')].map((c) => [c.dataset.workerId, c]));
  for (const w of list) {
    let card = cards.get(w.id);
    if (!card) {
      card = workerCard(w);
      box.appendChild(card);
    }
    cards.delete(w.id);
    const ws = byId.get(w.id);
    const inFlight = ws ? ws.inFlight : 0;
    const capacity = ws ? Math.max(ws.capacity, 1) : 1;
    const util = Math.min(inFlight / capacity, 1);
    const q = (sel) => card.querySelector(sel);
    put(card.dataset, 'status', w.status);
    put(q('.status-text'), 'textContent', w.status);
    put(q('.done'), 'textContent', String(w.tasksDone));
    put(q('.failed-count'), 'textContent', ws && ws.failed ? `(${ws.failed} failed)` : '');
    put(q('.restarts'), 'textContent', ws && ws.restarts ? `${ws.restarts} restart${ws.restarts === 1 ? '' : 's'}` : '');
    put(q('.restarts'), 'title', ws && ws.restarts ? ws.lastError || '' : '');
    put(card.dataset, 'inFlight', String(inFlight));
    put(card.dataset, 'capacity', String(capacity));
    put(card.dataset, 'utilisation', String(Math.round(util * 100)));
    put(q('.in-flight'), 'textContent', String(inFlight));
    put(q('.capacity'), 'textContent', String(capacity));
    const fill = q('.util .fill');
    if (fill.util !== util) {
      fill.util = util; // the style's own text is rounded: compare the number
      fill.style.width = util * 100 + '%';
    }
    q('.util').classList.toggle('full', inFlight >= capacity);
    put(q('.uptime'), 'textContent', ws && ws.uptime > 0 && w.status !== 'closed' ? `up ${fmtUptime(ws.uptime)}` : '');
    put(q('.close'), 'disabled', w.status === 'closed');
    const err = q('.error');
    put(err, 'hidden', !(w.status === 'closed' && w.lastError));
    put(err, 'textContent', w.lastError || '');
  }
  for (const c of cards.values()) c.remove();
  const live = list.filter((w) => w.status !== 'closed').length;
  $('#worker-count').textContent = `${live} live` + (list.length > live ? ` · ${list.length - live} closed` : '');
  if (!list.length) box.innerHTML = '<div class="empty">no workers: add one</div>';
  renderTaskNames(list);
}

// renderTaskNames fills the task selects with the names live workers handle.
function renderTaskNames(list) {
  const names = [...new Set(list.filter((w) => w.status !== 'closed').flatMap((w) => w.tasks))].sort();
  for (const [id, paramsId] of [['#task-name', '#task-params'], ['#batch-name', '#batch-params']]) {
    const sel = $(id);
    const have = [...sel.options].map((o) => o.value);
    if (have.join() === names.join()) continue;
    const keep = have.length ? sel.value : sel.dataset.default;
    sel.replaceChildren(...names.map((n) => new Option(n, n)));
    if (names.includes(keep)) sel.value = keep;
    // The task picked went (its workers closed): the params follow the
    // task shown instead, as a pick by hand fills them.
    else if (samples[sel.value]) $(paramsId).value = JSON.stringify(samples[sel.value]);
  }
}

// --- totals and chart ----------------------------------------------------

function renderTotals(s) {
  $('#kpi-queue').textContent = String(s.queued);
  $('#kpi-running').textContent = String(s.running);
  $('#kpi-done').textContent = String(s.done);
  $('#kpi-failed').textContent = String(s.failed);
  $('#kpi-latency-hint').textContent = s.runTime.count
    ? `on a worker: ${latencyText(s.runTime.p50, s.runTime.p95)}`
    : 'submit → result';
  // Throughput: over the second under way, once half of it has passed, else
  // with the whole second before it; whole seconds alone lag a burst by two.
  const part = Math.min(1, (performance.now() - lastTick) / 1000);
  const ps = state.perSecond;
  const tps = part >= 0.5 ? ps[59] / part : (ps[58] + ps[59]) / (1 + part);
  $('#kpi-throughput').textContent = tps >= 100 ? String(Math.round(tps)) : tps.toFixed(1);
  const sorted = [...state.latencies].sort((a, b) => a - b);
  $('#kpi-latency').textContent = sorted.length ? latencyText(percentile(sorted, 50), percentile(sorted, 95)) : '–';
}

// renderPool shows how many workers are live, over time, and how many the
// elastic groups grew and released.
function renderPool(s) {
  const live = s.workers.filter((w) => w.status !== 'closed').length;
  state.poolSize[59] = live;
  $('#pool-grown').textContent = String(s.grown);
  $('#pool-released').textContent = String(s.released);
  const panel = $('.pool-panel');
  panel.dataset.live = String(live);
  panel.dataset.grown = String(s.grown);
  panel.dataset.released = String(s.released);
  const { ctx, w, h } = canvasOf('#pool-chart');
  // The scale is of the minute shown, not of every size ever: a spike
  // long gone would keep today's line flat at the bottom.
  const peak = state.poolSize.reduce((m, v) => (v === null ? m : Math.max(m, v)), live);
  const max = 2 * Math.ceil(Math.max(4, peak + 2) / 2); // even, with room above the line for its label
  panel.dataset.scale = String(max);
  const top = 14;
  const bottom = h - 16;
  const y = (v) => bottom - (v / max) * (bottom - top);
  grid(ctx, w, h, top, bottom, max);
  const bw = (w - 36) / 60;
  const pts = state.poolSize.map((v, i) => [36 + i * bw, v]).filter(([, v]) => v !== null);
  if (!pts.length) return;
  // A step line with a soft fill: the count changes at whole seconds.
  ctx.beginPath();
  ctx.moveTo(pts[0][0], bottom);
  for (const [x, v] of pts) {
    ctx.lineTo(x, y(v));
    ctx.lineTo(x + bw, y(v));
  }
  ctx.lineTo(pts.at(-1)[0] + bw, bottom);
  ctx.closePath();
  const grad = ctx.createLinearGradient(0, top, 0, bottom);
  grad.addColorStop(0, 'rgba(129, 140, 248, 0.45)');
  grad.addColorStop(1, 'rgba(129, 140, 248, 0.05)');
  ctx.fillStyle = grad;
  ctx.fill();
  ctx.beginPath();
  pts.forEach(([x, v], i) => {
    if (i === 0) ctx.moveTo(x, y(v));
    else ctx.lineTo(x, y(v));
    ctx.lineTo(x + bw, y(v));
  });
  ctx.strokeStyle = '#a5b4fc';
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.fillStyle = '#e0e7ff';
  ctx.font = '600 12px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.fillText(`${live} live`, w - 4, Math.max(y(live) - 6, 12));
  ctx.textAlign = 'left';
}

// renderLatency fills the percentile table from stats: queue wait and run
// time, with a bar from p50 to p99 on a shared scale.
function renderLatency(s) {
  const scale = Math.max(1, s.queueWait.p99, s.runTime.p99);
  $('#latency-window').textContent = s.runTime.count
    ? `over the last ${s.runTime.count.toLocaleString('en-US')} tasks`
    : 'no task finished yet';
  for (const key of ['queueWait', 'runTime']) {
    const p = s[key];
    const row = document.querySelector(`#latency tr[data-metric="${key}"]`);
    for (const q of ['p50', 'p95', 'p99', 'max']) row.querySelector('.' + q).textContent = p.count ? fmtMs(p[q]) : '–';
    row.dataset.count = String(p.count);
    const range = row.querySelector('.range');
    const width = p.count ? Math.max(((p.p99 - p.p50) / scale) * 100, 1.5) : 0;
    range.style.width = width + '%';
    range.style.left = p.count ? Math.min((p.p50 / scale) * 100, 100 - width) + '%' : '0';
  }
}

// canvasOf sizes a canvas for the screen and returns its cleared context.
function canvasOf(sel) {
  const canvas = $(sel);
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  // Whole device pixels, as a canvas has them: at a fractional scale
  // w * dpr never equals its width, and every render would size it afresh.
  const cw = Math.round(w * dpr);
  const ch = Math.round(h * dpr);
  if (canvas.width !== cw || canvas.height !== ch) {
    canvas.width = cw;
    canvas.height = ch;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// grid draws three scale lines from 0 to max and the time axis.
function grid(ctx, w, h, top, bottom, max) {
  ctx.strokeStyle = '#1e2b47';
  ctx.fillStyle = '#8b9bb8';
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = Math.round(bottom - f * (bottom - top)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(34, y);
    ctx.lineTo(w, y);
    ctx.stroke();
    ctx.fillText(String(Math.round(f * max)), 2, y + 4);
  }
  ctx.fillText('60 s ago', 36, h - 2);
  ctx.textAlign = 'right';
  ctx.fillText('now', w - 2, h - 2);
  ctx.textAlign = 'left';
}

// roundUp is the axis top for a largest value v: the next of 1, 2, 4, 6, 8
// or 10 times a power of ten, so that the axis reads 0, half and top in
// round numbers (0 / 100 / 200, not 0 / 55 / 109).
function roundUp(v) {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  for (const m of [1, 2, 4, 6, 8]) if (m * p >= v) return m * p;
  return 10 * p;
}

function renderChart() {
  const { ctx, w, h } = canvasOf('#chart');
  const data = state.perSecond;
  const max = roundUp(Math.max(10, ...data));
  const top = 14;
  const bottom = h - 16;
  grid(ctx, w, h, top, bottom, max);
  // Bars, the current (partial) second brighter.
  const bw = (w - 36) / data.length;
  data.forEach((v, i) => {
    const bh = (v / max) * (bottom - top);
    const grad = ctx.createLinearGradient(0, bottom - bh, 0, bottom);
    grad.addColorStop(0, i === 59 ? '#7dd3fc' : '#38bdf8');
    grad.addColorStop(1, 'rgba(56, 189, 248, 0.25)');
    ctx.fillStyle = grad;
    ctx.fillRect(36 + i * bw + 1, bottom - bh, Math.max(1, bw - 2), bh);
  });
}

// tick moves the per-second charts on by the seconds that passed since the
// last tick: a timer runs late when the page is busy, and a hidden tab's
// about once a minute, and a bucket must still hold one second.
let lastTick = performance.now();
function tick() {
  const now = performance.now();
  const n = Math.floor((now - lastTick) / 1000);
  if (n < 1) return;
  lastTick += n * 1000;
  for (let i = 0; i < Math.min(n, 60); i++) {
    state.perSecond.shift();
    state.perSecond.push(0);
    state.poolSize.shift();
    state.poolSize.push(state.poolSize.at(-1)); // until render counts again
  }
  state.dirty = true;
}

function render() {
  if (!state.dirty || state.exited) return;
  state.dirty = false;
  let stats;
  try {
    stats = state.tm.stats(); // the Go TaskManager's Stats()
  } catch (err) {
    if (err.code !== 'ERR_EXITED') throw err;
    showExit(err);
    return;
  }
  renderWorkers(stats);
  renderTotals(stats);
  renderChart();
  renderPool(stats);
  renderLatency(stats);
  renderConn(stats);
}

// showExit says, once, that the Go module has ended (a panic, or Go out of
// memory): the header shows why, and the page stops rendering.
function showExit(err) {
  state.exited = true;
  const conn = $('#conn');
  conn.textContent = err.message;
  conn.classList.remove('ready');
  conn.classList.add('error');
  document.body.dataset.state = 'error';
  document.body.dataset.error = err.message;
  // Nothing can run any more: the controls go off, and the figures stay as
  // they were when the module exited, greyed (dashboard.css), saying so.
  for (const b of document.querySelectorAll('main button:not(#clear-log)')) b.disabled = true;
  $('.kpis').title = 'as they were when the Go module exited';
  log('err', err.message);
}

// renderConn keeps the header's worker count live as the pool grows,
// shrinks and loses workers.
function renderConn(stats) {
  if (document.body.dataset.state !== 'ready') return;
  const live = stats.workers.filter((w) => w.status !== 'closed');
  const go = live.filter((w) => w.kind === 'go').length;
  $('#conn').textContent = `ready · ${live.length} workers (${live.length - go} JS, ${go} Go)`;
}

function frame() {
  render();
  requestAnimationFrame(frame);
}

// --- controls ------------------------------------------------------------

function readParams(sel) {
  const text = $(sel).value.trim();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`params are not valid JSON: ${err.message}`);
  }
}

function wireControls() {
  $('#task-name').addEventListener('change', (e) => {
    const s = samples[e.target.value];
    if (s) $('#task-params').value = JSON.stringify(s);
  });
  $('#batch-name').addEventListener('change', (e) => {
    const s = samples[e.target.value];
    if (s) $('#batch-params').value = JSON.stringify(s);
  });
  $('#one-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!$('#task-name').value) {
      log('err', noTaskText);
      return;
    }
    try {
      submit($('#task-name').value, readParams('#task-params'));
    } catch (err) {
      log('err', err.message);
    }
  });
  $('#batch-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#batch-count').value.trim();
    const n = text === '' ? NaN : Number(text);
    const bad = batchProblem($('#batch-name').value, n, JSON.stringify(text));
    if (bad) {
      log('err', bad);
      return;
    }
    let params;
    try {
      params = readParams('#batch-params');
    } catch (err) {
      log('err', err.message);
      return;
    }
    const button = $('#run-batch');
    button.disabled = true;
    try {
      await batch($('#batch-name').value, n, params);
    } finally {
      button.disabled = state.exited;
    }
  });
  $('#add-form').addEventListener('submit', (e) => {
    e.preventDefault();
    try {
      addWorker($('#worker-kind').value);
    } catch (err) {
      log('err', err.message);
    }
  });
  $('#elastic-form').addEventListener('submit', (e) => {
    e.preventDefault();
    // The inputs' own min and max are the limits, also when the browser
    // does not check them.
    const maxIn = $('#elastic-max');
    const idleIn = $('#elastic-idle');
    const max = Number(maxIn.value);
    const idle = Number(idleIn.value);
    if (!Number.isInteger(max) || max < Number(maxIn.min) || max > Number(maxIn.max)) {
      log('err', `an elastic group grows up to a whole number of ${maxIn.min} to ${maxIn.max} workers`);
      return;
    }
    if (!(idle >= Number(idleIn.min)) || !Number.isFinite(idle)) {
      log('err', `the idle timeout must be a number of seconds of ${idleIn.min} or more`);
      return;
    }
    // atmo takes milliseconds: a finite number of seconds may still be
    // Infinity in ms, which atmo refuses in words of a config field.
    if (!Number.isFinite(Math.round(idle * 1000))) {
      log('err', `the idle timeout of ${idleIn.value} s is too long: give a number of seconds up to 1e300`);
      return;
    }
    try {
      addElasticGroup($('#worker-kind').value, max, Math.round(idle * 1000));
    } catch (err) {
      log('err', err.message);
    }
  });
  $('#clear-log').addEventListener('click', () => $('#log').replaceChildren());
  const kinds = $('#worker-kind');
  kinds.replaceChildren(...state.examples.map((ex) => new Option(`${ex.name} worker (${ex.kind.toUpperCase()})`, `${ex.name}/${ex.kind}`)));
}

// --- start ---------------------------------------------------------------

async function start() {
  const conn = $('#conn');
  try {
    const [atmo, examples] = await Promise.all([
      loadAtmo({ wasm: '/atmo.wasm' }),
      fetch('/api/examples').then((r) => r.json()),
    ]);
    state.atmo = atmo;
    state.examples = examples;
    state.tm = atmo.createTaskManager();
    const configs = [];
    for (const ex of examples) {
      const c = defaultPool[`${ex.name}/${ex.kind}`];
      if (c) configs.push(configOf(ex, c));
    }
    state.wm = atmo.createBrowserWorkerManager(state.tm, configs);
    for (const w of state.wm.workers()) state.ownIds.add(w.id);
    // Workers a script adds through window.dashboard.wm are the page's own
    // too, every one of a config's count: only the pool's growth is grown.
    const addOwn = state.wm.addWorker.bind(state.wm);
    state.wm.addWorker = (config) => {
      const before = new Set(state.wm.workers().map((w) => w.id));
      const w = addOwn(config);
      for (const x of state.wm.workers()) if (!before.has(x.id)) state.ownIds.add(x.id);
      return w;
    };
    const restarting = new Set(); // ids the log last said were restarting
    state.tm.subscribe((m) => {
      if (m.message === 'worker-updated' || m.message === 'worker-ready' || m.message === 'task-updated' || m.message === 'new-task') {
        state.dirty = true;
      }
      // A worker that goes offline with a reason is restarting (it crashed,
      // timed out, failed to start): say why, or only a count shows it.
      if (m.message !== 'worker-updated') return;
      if (m.error && m.content === 'offline') {
        log('err', `${m.workerId} restarting: ${m.error}`, m.workerId);
        restarting.add(m.workerId);
      } else if (m.content === 'closed' && restarting.has(m.workerId)) {
        // It closed while restarting: the pool gave up on it (it failed to
        // start, again and again), and "restarting" must not be the log's
        // last word on it.
        log('err', `${m.workerId} closed: ${m.error || 'while restarting'}`, m.workerId);
      }
      if (m.content !== 'offline') restarting.delete(m.workerId);
    });
    wireControls();
    // No transitions while the tab is hidden (dashboard.css): one under way
    // (a card's fade, its bar's width) is held by the document's timeline,
    // and its element with it, until a frame ends it, and a hidden tab draws
    // no frames; every card removed mid-transition stayed in memory for as
    // long as the tab was hidden.
    const syncHidden = () => document.body.toggleAttribute('data-hidden', document.hidden);
    document.addEventListener('visibilitychange', syncHidden);
    syncHidden();
    requestAnimationFrame(frame);
    setInterval(tick, 1000);
    // Refresh twice a second even when nothing reported a change, and
    // render from the timer too: background tabs get no animation frames.
    setInterval(() => {
      state.dirty = true;
      render();
    }, 500);
    await state.wm.ready().catch((err) => log('err', err.message));
    const ws = state.wm.workers();
    const go = ws.filter((w) => w.kind === 'go').length;
    conn.textContent = `ready · ${ws.length} workers (${ws.length - go} JS, ${go} Go)`;
    conn.classList.add('ready');
    log('info', `pool ready: ${ws.map((w) => `${w.id} ${w.kind.toUpperCase()} ${w.status}`).join(', ')}`);
    document.body.dataset.state = 'ready';
    // Render now, not at the next frame or tick: whoever waits for
    // data-state="ready" (a script, a test) finds the cards and the task
    // lists filled, and a background tab gets no animation frames at all.
    state.dirty = true;
    render();
  } catch (err) {
    conn.textContent = err.message;
    conn.classList.add('error');
    document.body.dataset.state = 'error';
    document.body.dataset.error = err.message;
    console.error(err);
  }
}

/** What scripts (the demo, the tests) may drive. */
window.dashboard = {
  get tm() {
    return state.tm;
  },
  get wm() {
    return state.wm;
  },
  submit,
  batch,
  addWorker,
  addElasticGroup,
  closeWorker,
  ready: start(),
};
