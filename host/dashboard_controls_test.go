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
