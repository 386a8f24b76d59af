package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logTexts is the dashboard's log, line by line, oldest last.
const logTexts = `[...document.querySelectorAll('#log li .text')].map((e) => e.textContent)`

func TestDashboardElasticGroupRefusesMoreWorkersThanItsLimit(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	before := len(cards(t, ctx))
	for _, max := range []string{"1000000", "17"} { // the input says max="16"
		require.NoError(t, chromedp.Run(ctx,
			chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
			chromedp.SetValue("#elastic-max", max, chromedp.ByQuery),
			chromedp.SetValue("#elastic-idle", "3", chromedp.ByQuery),
			// Past the browser's own check of the field, as a script or an
			// older browser would submit it.
			chromedp.Evaluate(`document.querySelector('#elastic-form').dispatchEvent(new Event('submit', { cancelable: true }))`, nil),
		))
	}
	waitFor(t, ctx, logTexts+`.filter((s) => s.includes('a whole number of 2 to 16 workers')).length === 2`)
	var added []string
	eval(t, ctx, logTexts+`.filter((s) => s.startsWith('added '))`, &added)
	assert.Empty(t, added, "an elastic group of more than 16 workers is refused (a batch would start a Web Worker per waiting task)")
	assert.Len(t, cards(t, ctx), before, "no group was added")
}

func TestDashboardEnterInAnElasticFieldAddsTheElasticGroup(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
		chromedp.SetValue("#elastic-max", "", chromedp.ByQuery),
		chromedp.SendKeys("#elastic-max", "3"+kb.Enter, chromedp.ByQuery),
	))
	waitFor(t, ctx, logTexts+`.some((s) => s.startsWith('added '))`)
	var added []string
	eval(t, ctx, logTexts+`.filter((s) => s.startsWith('added '))`, &added)
	for _, s := range added {
		assert.Contains(t, s, "elastic group", "Enter in 'Grow up to' added a plain worker: %q", s)
	}
}

func TestDashboardAddWorkerIsNotBlockedByTheElasticFields(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	before := len(cards(t, ctx))
	// 0.25 s is a value "Add elastic group" accepts; it must not stop "Add".
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
		chromedp.SetValue("#elastic-idle", "0.25", chromedp.ByQuery),
		chromedp.SetValue("#elastic-max", "99", chromedp.ByQuery),
		chromedp.Click("#add-worker", chromedp.ByQuery),
	))
	waitFor(t, ctx, `document.querySelectorAll('.worker-card').length === `+itoa(before+1))
}

// crashAfterTaskJS answers its task, then crashes outside any task (an
// uncaught error in a timer): atmo restarts the worker.
const crashAfterTaskJS = `let id = null;
self.onmessage = (e) => {
  const { message, taskId } = e.data;
  if (message === 'init-worker') { id = e.data.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: e.data.content } }); return; }
  if (message === 'worker-work') {
    self.postMessage({ message: 'worker-response', taskId, workerId: id, content: 'fine' });
    setTimeout(() => { throw new Error('boom: the worker fell over'); }, 50);
  }
};`

func TestDashboardSaysWhyAWorkerRestarted(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crash.js"), []byte(crashAfterTaskJS), 0o644))
	ctx, base, _ := newTab(t, Config{Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	require.NoError(t, waitDashboard(ctx, base+"/", 30*time.Second))
	waitFor(t, ctx, allAvailable)
	var id string
	eval(t, ctx, `(async () => {
	  const w = window.dashboard.wm.addWorker({ tasks: ['boom'], script: '/t/crash.js' });
	  await window.dashboard.wm.ready();
	  await window.dashboard.submit('boom', {});
	  return w.id;
	})()`, &id)
	card := `document.querySelector('.worker-card[data-worker-id="` + id + `"]')`
	// The pool restarts it: the card counts the restart, and says why.
	waitFor(t, ctx, card+` && `+card+`.querySelector('.restarts').textContent === '1 restart' && `+card+`.dataset.status === 'available'`)
	var got struct {
		Title string   `json:"title"`
		Log   []string `json:"log"`
	}
	eval(t, ctx, `({ title: `+card+`.querySelector('.restarts').title, log: `+logTexts+` })`, &got)
	assert.Contains(t, got.Title, "boom: the worker fell over", "the restart count's title")
	var logged bool
	for _, l := range got.Log {
		logged = logged || (strings.Contains(l, id+" restarting") && strings.Contains(l, "boom: the worker fell over"))
	}
	assert.True(t, logged, "the log says why %s restarted: %q", id, got.Log)
}

// TestDashboardThroughputFollowsTheLoadAndFallsBackToZero reads the
// Throughput KPI under a steady stream of tasks and after it: a positive
// number while tasks settle, never NaN or negative, and 0.0 again once they
// stop (no time is asserted: the KPI is polled until it gets there).
func TestDashboardThroughputFollowsTheLoadAndFallsBackToZero(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	const kpi = `document.querySelector('#kpi-throughput').textContent`
	waitFor(t, ctx, kpi+` === '0.0'`)
	var loaded []string
	eval(t, ctx, `(async () => {
	  const d = window.dashboard;
	  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
	  const pending = [];
	  const seen = [];
	  for (let round = 0; round < 60; round++) {
	    for (let i = 0; i < 10; i++) pending.push(d.submit('add', { a: i, b: 1 }, { quiet: true }));
	    await sleep(50);
	    if (round >= 20 && round % 5 === 0) seen.push(`+kpi+`);
	  }
	  await Promise.all(pending);
	  return seen;
	})()`, &loaded)
	t.Logf("the KPI under load: %v", loaded)
	for _, s := range loaded {
		assert.Regexp(t, `^[0-9]+(\.[0-9])?$`, s, "a number, never NaN or negative: %v", loaded)
	}
	assert.NotContains(t, loaded, "0.0", "tasks settled every 50 ms: %v", loaded)
	waitFor(t, ctx, kpi+` === '0.0'`)
}

func TestTheDashboardUnderIsolateRunsEveryExample(t *testing.T) {
	ctx, base, _ := newTab(t, Config{Isolate: true})
	require.NoError(t, waitDashboard(ctx, base+"/", 30*time.Second))
	waitFor(t, ctx, allAvailable)
	var out map[string]any
	eval(t, ctx, `(async () => {
	  const d = window.dashboard;
	  const r = {isolated: crossOriginIsolated};
	  for (const [n, p] of [['add', {a: 2, b: 3}], ['sha256', {data: 'x', rounds: 10}], ['fetch', {url: '/data/people.json'}], ['analyze', {image: 'sample'}]]) {
	    const x = await d.submit(n, p);
	    r[n] = x.ok ? 'ok' : x.error;
	  }
	  return r;
	})()`, &out)
	assert.Equal(t, map[string]any{"isolated": true, "add": "ok", "sha256": "ok", "fetch": "ok", "analyze": "ok"}, out)
}

// When the task picked in "Run a task" loses its last worker, the select
// falls back to another task; its params must follow, as a pick by hand
// fills them, or Run sends the new task the old task's params.
func TestTheDashboardsTaskParamsFollowTheTaskItsSelectFallsBackTo(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var picked string
	eval(t, ctx, `(() => {
	  const sel = document.querySelector('#task-name');
	  sel.value = 'sha256';
	  sel.dispatchEvent(new Event('change'));
	  const w = window.dashboard.wm.workers().find((w) => w.tasks.includes('sha256'));
	  window.dashboard.closeWorker(w.id);
	  return document.querySelector('#task-params').value;
	})()`, &picked)
	require.Contains(t, picked, "rounds")
	waitFor(t, ctx, `![...document.querySelector('#task-name').options].some((o) => o.value === 'sha256')`)
	var got struct{ Task, Params string }
	eval(t, ctx, `({task: document.querySelector('#task-name').value, params: document.querySelector('#task-params').value})`, &got)
	assert.NotContains(t, got.Params, "rounds", "the select now shows %q, but the params are still sha256's: %s", got.Task, got.Params)
	var res map[string]any
	eval(t, ctx, `new Promise((resolve) => {
	  const before = document.querySelectorAll('#log li').length;
	  document.querySelector('#one-form').requestSubmit();
	  const iv = setInterval(() => {
	    const li = document.querySelector('#log li');
	    if (document.querySelectorAll('#log li').length > before && (li.className === 'ok' || li.className === 'err')) { clearInterval(iv); resolve({kind: li.className, text: li.querySelector('.text').textContent}); }
	  }, 20);
	})`, &res)
	assert.Equal(t, "ok", res["kind"], "Run with what the form shows: %v", res["text"])
}

// The Go sha256 example handles sha256Stream too, and /api/examples lists
// it: picked in "Run a task", it runs with the params the form fills in
// (text, sent as its UTF-8 bytes, as sha256's is) and answers the digest.
func TestTheDashboardRunsSha256StreamWithTheParamsItFillsIn(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var got map[string]any
	eval(t, ctx, `(async () => {
	  const sel = document.querySelector('#task-name');
	  const offered = [...sel.options].some((o) => o.value === 'sha256Stream');
	  sel.value = 'sha256Stream';
	  sel.dispatchEvent(new Event('change'));
	  const text = document.querySelector('#task-params').value;
	  let params = null;
	  try { params = JSON.parse(text); } catch (_) {}
	  const x = await window.dashboard.submit('sha256Stream', params);
	  const want = params && typeof params.data === 'string'
	    ? [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(params.data)))] : null;
	  return {offered, text, error: x.ok ? '' : String(x.error), right: x.ok && want !== null && JSON.stringify([...x.value]) === JSON.stringify(want)};
	})()`, &got)
	assert.Equal(t, true, got["offered"], "sha256Stream is offered")
	assert.Equal(t, "", got["error"], "params %v", got["text"])
	assert.Equal(t, true, got["right"], "the digest of the sample's text: %v", got)
}

// TestDashboardLogShowsInfinityAndNaNResultsAsSuch runs power(10, 400)
// (Infinity) and power(-8, 0.5) (NaN) from the form: the log must say so,
// not "→ null", which is what JSON.stringify makes of both.
func TestDashboardLogShowsInfinityAndNaNResultsAsSuch(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	for _, c := range []struct{ params, want string }{
		{`{"a": 10, "b": 400}`, "Infinity"},
		{`{"a": -8, "b": 0.5}`, "NaN"},
		{`{"a": 2, "b": 10}`, "1024"},
		{`{"a": 1e400, "b": 1}`, "Infinity"}, // and the params: a is Infinity, not null
	} {
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Evaluate(`document.querySelector('#clear-log').click()`, nil),
			chromedp.SetValue("#task-name", "power", chromedp.ByQuery),
			chromedp.SetValue("#task-params", c.params, chromedp.ByQuery),
			chromedp.Click("#run-task", chromedp.ByQuery),
		))
		waitFor(t, ctx, `document.querySelector('#log li.ok .text') !== null`)
		var line string
		eval(t, ctx, `document.querySelector('#log li.ok .text').textContent`, &line)
		assert.Regexp(t, `→ `+c.want+`$`, line, "power(%s)", c.params)
		assert.NotContains(t, line, "null", "power(%s)", c.params)
	}
}

// TestDashboardElasticIdleTimeoutTooLargeSaysSoInSeconds types an idle
// timeout of 1e306 seconds: a finite number, so the form passes it on, but
// 1e309 ms is Infinity, and atmo's answer ("config.idleTimeout must be a
// positive number of milliseconds") speaks of a field and a unit the form
// does not show, of a number that is positive.
func TestDashboardElasticIdleTimeoutTooLargeSaysSoInSeconds(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector('#clear-log').click()`, nil),
		chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
		chromedp.SetValue("#elastic-max", "4", chromedp.ByQuery),
		chromedp.SetValue("#elastic-idle", "1e306", chromedp.ByQuery),
		chromedp.Click("#add-elastic", chromedp.ByQuery),
	))
	waitFor(t, ctx, `document.querySelector('#log li .text') !== null`)
	var line string
	eval(t, ctx, `document.querySelector('#log li .text').textContent`, &line)
	assert.NotContains(t, line, "config.idleTimeout", "the form's own words, in seconds")
	assert.Contains(t, line, "idle timeout")
}

// TestDashboardMarksOnlyThePoolsGrowthAsGrown adds workers through
// window.dashboard.wm (as a script, and the tests, do): a config of count
// 2 starts two workers, none of them grown by the pool, so no card may
// carry the "grown" badge ("started by the pool because tasks waited").
func TestDashboardMarksOnlyThePoolsGrowthAsGrown(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var ids []string
	eval(t, ctx, `(async () => {
	  const before = new Set(window.dashboard.wm.workers().map((w) => w.id));
	  window.dashboard.wm.addWorker({ tasks: ['add'], script: '/workers/math-worker.js', count: 2 });
	  await window.dashboard.wm.ready();
	  return window.dashboard.wm.workers().map((w) => w.id).filter((id) => !before.has(id));
	})()`, &ids)
	require.Len(t, ids, 2)
	for _, id := range ids {
		card := `document.querySelector('.worker-card[data-worker-id="` + id + `"]')`
		waitFor(t, ctx, card+` !== null`)
		var badge bool
		eval(t, ctx, `!`+card+`.querySelector('.grown-badge').hidden`, &badge)
		assert.False(t, badge, "%s was added by a script, not grown by the pool", id)
	}
	var grown int
	eval(t, ctx, `window.dashboard.tm.stats().grown`, &grown)
	assert.Zero(t, grown)
}

// TestDashboardLatencyKPIUsesTheNearestRank runs four tasks: their median
// by the nearest rank (the method of tm.stats() and the percentile table
// below) is the second fastest; the KPI showed the third as p50.
func TestDashboardLatencyKPIUsesTheNearestRank(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var got struct {
		Want string    `json:"want"`
		Ms   []float64 `json:"ms"`
	}
	eval(t, ctx, `(async () => {
	  const ms = [];
	  for (const [name, params] of [['add', { a: 1, b: 2 }], ['fibonacci', { n: 30 }], ['add', { a: 1, b: 2 }], ['fibonacci', { n: 33 }]]) {
	    ms.push((await window.dashboard.submit(name, params)).ms);
	  }
	  const s = [...ms].sort((a, b) => a - b);
	  const at = (q) => s[Math.max(0, Math.ceil(q * s.length) - 1)];
	  const f = (x) => (x >= 10 ? String(Math.round(x)) : x.toFixed(1));
	  return { want: at(0.5) >= 1000 || at(0.95) >= 1000 ? 'slow' : f(at(0.5)) + ' · ' + f(at(0.95)) + ' ms', ms };
	})()`, &got)
	require.NotEqual(t, "slow", got.Want)
	var kpi string
	eval(t, ctx, `new Promise((r) => setTimeout(() => r(document.querySelector('#kpi-latency').textContent), 700))`, &kpi)
	assert.Equal(t, got.Want, kpi, "p50 · p95 of tasks of %v ms", got.Ms)
}

// TestDashboardLogsEachProgressStepOfATaskOnce runs sha256 of 20,000,000
// rounds from the form: the Go worker reports every 100,000 rounds, 199
// reports, and the log (it keeps 200 lines) wrote a line for each, mostly
// the same "progress 3%" again, pushing out every other line.
func TestDashboardLogsEachProgressStepOfATaskOnce(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector('#clear-log').click()`, nil),
		chromedp.SetValue("#task-name", "sha256", chromedp.ByQuery),
		chromedp.SetValue("#task-params", `{"data": "x", "rounds": 20000000}`, chromedp.ByQuery),
		chromedp.Click("#run-task", chromedp.ByQuery),
	))
	var logs []string
	eval(t, ctx, `new Promise((resolve) => {
	  const poll = () => document.querySelector('#log li.ok, #log li.err') ? resolve(`+logTexts+`) : setTimeout(poll, 100);
	  poll();
	})`, &logs)
	seen := map[string]int{}
	for _, l := range logs {
		seen[l]++
	}
	for l, n := range seen {
		assert.Equal(t, 1, n, "%q logged %d times", l, n)
	}
	assert.LessOrEqual(t, len(logs), 102, "at most a line per percent, and the result")
}

// TestDashboardLogsAWorkerThatGaveUp adds a Go worker whose module is not
// there: the pool tries three times and gives up, closing it. The log said
// "restarting: failed to start (2 of 3)" last, as if a third try were
// coming; the reason it closed must be in the log too.
func TestDashboardLogsAWorkerThatGaveUp(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var id string
	eval(t, ctx, `window.dashboard.wm.addWorker({ tasks: ['x1'], module: '/nope.wasm' }).id`, &id)
	card := `document.querySelector('.worker-card[data-worker-id="` + id + `"]')`
	waitFor(t, ctx, card+` && `+card+`.dataset.status === 'closed'`)
	waitFor(t, ctx, logTexts+`.some((s) => s.includes('`+id+`') && s.includes('giving up'))`)
	// Closing a worker by hand logs "closed worker-N" once, not again.
	eval(t, ctx, `window.dashboard.closeWorker('worker-1')`, nil)
	waitFor(t, ctx, `document.querySelector('.worker-card[data-worker-id="worker-1"]').dataset.status === 'closed'`)
	var n int
	eval(t, ctx, `new Promise((r) => setTimeout(() => r(`+logTexts+`.filter((s) => s === 'closed worker-1' || s.startsWith('worker-1 ')).length), 500))`, &n)
	var all []string
	eval(t, ctx, logTexts, &all)
	assert.Equal(t, 1, n, "%q", all)
}
