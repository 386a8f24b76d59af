package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageCounts reads the Performance domain's counts of the tab: DOM nodes,
// JS event listeners, documents.
func pageCounts(t *testing.T, ctx context.Context) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	require.NoError(t, chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		for i := 0; i < 3; i++ { // what is gone counts no more (V8's wrappers, then Blink's nodes)
			if err := heapprofiler.CollectGarbage().Do(ctx); err != nil {
				return err
			}
		}
		if err := performance.Enable().Do(ctx); err != nil {
			return err
		}
		ms, err := performance.GetMetrics().Do(ctx)
		for _, m := range ms {
			out[m.Name] = m.Value
		}
		return err
	})))
	var els float64
	eval(t, ctx, `document.getElementsByTagName('*').length`, &els)
	out["elements"] = els
	return out
}

// liveObjects counts, with the prototype named by proto (a JS expression),
// the objects in the heap, and passes them to fn (a JS function of the array).
func liveObjects(t *testing.T, ctx context.Context, proto, fn string) any {
	t.Helper()
	var out any
	require.NoError(t, chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		p, exc, err := cdpruntime.Evaluate(proto).Do(ctx)
		if err != nil {
			return err
		}
		if exc != nil {
			return exc
		}
		arr, err := cdpruntime.QueryObjects(p.ObjectID).Do(ctx)
		if err != nil {
			return err
		}
		res, exc, err := cdpruntime.CallFunctionOn(fn).WithObjectID(arr.ObjectID).WithReturnByValue(true).Do(ctx)
		if err != nil {
			return err
		}
		if exc != nil {
			return exc
		}
		_ = cdpruntime.ReleaseObject(arr.ObjectID).Do(ctx)
		_ = cdpruntime.ReleaseObject(p.ObjectID).Do(ctx)
		return json.Unmarshal(res.Value, &out)
	})))
	return out
}

// logSince defines, in a page script, since(f, ms): the dashboard's log
// lines that f and the ms after it added, newest first.
const logSince = `
	  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
	  const lines = () => [...document.querySelectorAll('#log li')].map((e) => e.className + ': ' + e.querySelector('.text').textContent);
	  const since = async (f, ms) => { const n0 = lines().length; await f(); await sleep(ms); const l = lines(); return l.slice(0, l.length - n0); };`

// With no live worker the task selects are empty: Run and Run batch must say
// so, once, not hand atmo an empty name (an error about addTask("")) once
// per task of the batch.
func TestDashboardRunWithNoLiveWorkerSaysSoOnce(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	eval(t, ctx, `(() => { for (const w of window.dashboard.wm.workers()) if (w.status !== 'closed') window.dashboard.closeWorker(w.id); return true; })()`, nil)
	waitFor(t, ctx, `document.querySelector('#task-name').options.length === 0 && document.querySelector('#batch-name').options.length === 0`)
	var got struct {
		Run   []string `json:"run"`
		Batch []string `json:"batch"`
	}
	eval(t, ctx, `(async () => {`+logSince+`
	  const run = await since(() => document.querySelector('#one-form').requestSubmit(), 500);
	  document.querySelector('#batch-count').value = '50';
	  const batch = await since(() => document.querySelector('#batch-form').requestSubmit(), 500);
	  return { run, batch };
	})()`, &got)
	all := strings.Join(append(got.Run, got.Batch...), "\n")
	assert.NotContains(t, all[:min(len(all), 600)], `addTask("")`, "the error names what the user can do, not atmo's empty name")
	require.Len(t, got.Run, 1, "Run logs one line")
	assert.Contains(t, got.Run[0], "no live worker", got.Run)
	require.Len(t, got.Batch, 1, "Run batch logs one line, not one per task")
	assert.Contains(t, got.Batch[0], "no live worker", got.Batch)
}

// Closing a closed worker (a second click before its card goes, a script)
// says it is closed already, not "closed worker-1" a second time.
func TestDashboardClosingAClosedWorkerSaysItIsClosedAlready(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var got []string
	eval(t, ctx, `(async () => {`+logSince+`
	  const id = window.dashboard.wm.workers()[0].id;
	  return [...await since(() => window.dashboard.closeWorker(id), 100), ...await since(() => window.dashboard.closeWorker(id), 100)];
	})()`, &got)
	require.Len(t, got, 2, "%q", got)
	assert.Regexp(t, `^info: closed worker-`, got[0])
	assert.Regexp(t, `^info: worker-\d+ is closed already`, got[1], "the second close")
}

// The batch count's own max (100,000) is the limit also when the browser
// does not check it (a script's submit event, an older browser), as the
// elastic form's are; and dashboard.batch refuses a count that is not a
// whole number of 1 to 100,000 instead of logging "settled: NaN ok".
func TestDashboardBatchRefusesACountPastItsLimits(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var got struct {
		Form []string `json:"form"`
		API  []string `json:"api"`
	}
	eval(t, ctx, `(async () => {`+logSince+`
	  document.querySelector('#batch-name').value = 'add';
	  document.querySelector('#batch-params').value = '{"a": 1, "b": 2}';
	  document.querySelector('#batch-count').value = '100001';
	  const form = await since(() => document.querySelector('#batch-form').dispatchEvent(new Event('submit', { cancelable: true })), 300);
	  const api = [];
	  for (const n of [-1, 0, 'x', 2.5, 100001]) {
	    api.push(...await since(() => window.dashboard.batch('add', n, { a: 1, b: 2 }).then((r) => { api.push('resolved ' + n + ' with ' + r.length); }, (e) => { api.push('rejected ' + n + ': ' + e.message); }), 300));
	  }
	  return { form, api };
	})()`, &got)
	t.Logf("form: %q\napi: %q", got.Form, got.API)
	require.Len(t, got.Form, 1, "%q", got.Form)
	assert.Contains(t, got.Form[0], "err: batch count must be a whole number of 1 to 100000")
	api := strings.Join(got.API, "\n")
	assert.NotContains(t, api, "started", "no batch starts")
	assert.NotContains(t, api, "resolved", "a bad count rejects")
}

// A render (twice a second, and every animation frame while tasks come and
// go) must not rewrite what did not change: a closed worker's card (the pool
// keeps 64 of them listed) stays as it is, or every render replaces the text
// nodes of every card, closed ones included.
func TestDashboardRenderLeavesClosedWorkerCardsAlone(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	eval(t, ctx, `(async () => {
	  const d = window.dashboard;
	  for (let i = 0; i < 10; i++) { const w = d.addWorker('math/js'); await d.wm.ready(); d.closeWorker(w.id); }
	  return true;
	})()`, nil)
	waitFor(t, ctx, `document.querySelectorAll('.worker-card[data-status="closed"]').length === 10`)
	var got struct {
		Closed  int `json:"closed"`
		Renders int `json:"renders"`
		Records int `json:"records"`
	}
	eval(t, ctx, `(async () => {
	  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
	  await sleep(600); // the last render of their closing is done
	  const closed = [...document.querySelectorAll('.worker-card[data-status="closed"]')];
	  let records = 0;
	  const mo = new MutationObserver((l) => { records += l.length; });
	  for (const c of closed) mo.observe(c, { subtree: true, childList: true, characterData: true, attributes: true });
	  // Count the renders seen meanwhile by the KPI the render rewrites: the
	  // tasks below change the Done count each time.
	  let renders = 0;
	  const ko = new MutationObserver(() => { renders++; });
	  ko.observe(document.querySelector('#kpi-done'), { childList: true, characterData: true, subtree: true });
	  for (let i = 0; i < 6; i++) { await window.dashboard.submit('add', { a: i, b: 1 }, { quiet: true }); await sleep(600); }
	  mo.disconnect(); ko.disconnect();
	  return { closed: closed.length, renders, records };
	})()`, &got)
	t.Logf("%+v", got)
	require.Equal(t, 10, got.Closed)
	require.Greater(t, got.Renders, 1, "the page rendered meanwhile")
	assert.Zero(t, got.Records, "mutations of closed workers' cards over %d renders", got.Renders)
}

// A page left open with workers coming and going and tasks flowing keeps a
// bounded page: the log keeps 200 lines, the pool lists its 64 latest closed
// workers (so 64 closed cards at most), and neither DOM nodes nor event
// listeners grow with further rounds of the same work; a removed card is
// not kept in memory (the tests' tab is a hidden one: document.hidden, no
// animation frames, as a background tab).
func TestDashboardStaysBoundedOverManyTasksAndWorkerRestarts(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	type counts struct {
		Cards  int `json:"cards"`
		Closed int `json:"closed"`
		Live   int `json:"live"`
		Log    int `json:"log"`
	}
	round := func() (got counts) {
		eval(t, ctx, `(async () => {
		  const d = window.dashboard;
		  await d.batch('add', 1000, { a: 1, b: 2 });
		  await d.batch('divide', 300, { a: 1, b: 0 });
		  for (let i = 0; i < 40; i++) { const w = d.addWorker('math/js'); await d.wm.ready(); d.closeWorker(w.id); }
		  await new Promise((r) => setTimeout(r, 1200)); // a render or two
		  const cards = [...document.querySelectorAll('.worker-card')];
		  return { cards: cards.length, closed: cards.filter((c) => c.dataset.status === 'closed').length,
		    live: d.wm.workers().filter((w) => w.status !== 'closed').length, log: document.querySelectorAll('#log li').length };
		})()`, &got)
		return got
	}
	r1 := round()
	r2 := round() // past 64 closed workers: the oldest go
	c2 := pageCounts(t, ctx)
	r3 := round()
	c3 := pageCounts(t, ctx)
	detached := liveObjects(t, ctx, "HTMLElement.prototype", `function () {
	  return this.filter((e) => { try { return !e.isConnected && e.classList.contains('worker-card'); } catch (_) { return false; } }).map((e) => e.dataset.workerId);
	}`)
	assert.Empty(t, detached, "removed worker cards still in memory (after garbage collection)")
	t.Logf("rounds: %+v %+v %+v; elements %v → %v, listeners %v → %v, DOM nodes in memory %v → %v", r1, r2, r3, c2["elements"], c3["elements"], c2["JSEventListeners"], c3["JSEventListeners"], c2["Nodes"], c3["Nodes"])
	for _, r := range []counts{r1, r2, r3} {
		assert.LessOrEqual(t, r.Closed, 64, "closed cards")
		assert.Equal(t, r.Live+r.Closed, r.Cards, "a card per listed worker")
		assert.LessOrEqual(t, r.Log, 200, "log lines")
	}
	assert.Equal(t, 64, r3.Closed)
	assert.LessOrEqual(t, c3["elements"], c2["elements"], "elements after another round")
	assert.LessOrEqual(t, c3["JSEventListeners"], c2["JSEventListeners"], "event listeners after another round")
}
