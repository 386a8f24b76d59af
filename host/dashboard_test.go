package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/host/generate"
)

// openDashboard opens the real dashboard and waits for its pool.
func openDashboard(t *testing.T) context.Context {
	t.Helper()
	ctx, base, _ := newTab(t, Config{})
	require.NoError(t, waitDashboard(ctx, base+"/", 30*time.Second))
	return ctx
}

// cards reads the worker cards: id → [kind, status, tasks done].
func cards(t *testing.T, ctx context.Context) map[string][]string {
	t.Helper()
	var out map[string][]string
	eval(t, ctx, `Object.fromEntries([...document.querySelectorAll('.worker-card')].map((c) => [c.dataset.workerId,
	  [c.querySelector('.kind').textContent, c.dataset.status, c.querySelector('.done').textContent,
	   [...c.querySelectorAll('.chip')].map((x) => x.textContent).join(',')]]))`, &out)
	return out
}

// allAvailable: there are worker cards, and every one says available (Go
// workers start a little later).
const allAvailable = `document.querySelectorAll('.worker-card').length > 0 && [...document.querySelectorAll('.worker-card')].every((c) => c.dataset.status === 'available')`

// waitFor polls a JS condition on the page.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	var ok bool
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(cond, &ok, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))), "waiting for %s", cond)
}

func TestDashboardShowsACardPerWorkerWithKindStatusAndTasks(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	got := cards(t, ctx)
	require.GreaterOrEqual(t, len(got), 4)
	assert.Equal(t, []string{"JS", "available", "0", "add,subtract,multiply,divide,power,sqrt,fibonacci"}, got["worker-1"])
	assert.Equal(t, []string{"JS", "available", "0", "fetch,transform,validate,filter"}, got["worker-3"])
	assert.Equal(t, []string{"JS", "available", "0", "resize,compress,image-filter,analyze"}, got["worker-4"])
	for id, c := range got {
		if c[0] == "GO" {
			assert.Equal(t, "available", c[1], "Go worker %s started", id)
		}
	}
	var queue, conn string
	require.NoError(t, chromedp.Run(ctx, chromedp.Text("#kpi-queue", &queue), chromedp.Text("#conn", &conn)))
	assert.Equal(t, "0", queue)
	assert.Contains(t, conn, "ready")
}

func TestDashboardRunsATaskFromTheFormAndLogsResultAndError(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	run := func(name, params string) {
		require.NoError(t, chromedp.Run(ctx,
			chromedp.SetValue("#task-name", name, chromedp.ByQuery),
			chromedp.SetValue("#task-params", params, chromedp.ByQuery),
			chromedp.Click("#run-task", chromedp.ByQuery),
		))
	}
	run("add", `{"a": 20, "b": 22}`)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.ok .text')].some((e) => e.textContent.includes('add({"a":20,"b":22}) → 42'))`)
	run("divide", `{"a": 1, "b": 0}`)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.err .text')].some((e) => e.textContent.includes('Division by zero is not allowed'))`)
	run("fibonacci", `{"n": 20}`)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.ok .text')].some((e) => e.textContent.includes('→ 6765'))`)

	// The log line names the worker, the card counts the task, the totals add up.
	var meta string
	require.NoError(t, chromedp.Run(ctx, chromedp.Text(`#log li.err .meta`, &meta, chromedp.ByQuery)))
	assert.Regexp(t, `^worker-\d+ · `, meta)
	waitFor(t, ctx, `document.querySelector('#kpi-done').textContent === '2' && document.querySelector('#kpi-failed').textContent === '1'`)
	got := cards(t, ctx)
	mathDone := 0
	for _, c := range got {
		if strings.HasPrefix(c[3], "add,") {
			mathDone += atoi(c[2])
		}
	}
	assert.Equal(t, 3, mathDone, "the math workers ran the 3 tasks: %v", got)

	// Bad JSON is reported, not thrown.
	run("add", `{"a": `)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.err .text')].some((e) => e.textContent.includes('not valid JSON'))`)
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestDashboardBatchFillsTheProgressBarTo100Percent(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#batch-name", "fibonacci", chromedp.ByQuery),
		chromedp.SetValue("#batch-count", "150", chromedp.ByQuery),
		chromedp.SetValue("#batch-params", `{"n": 18}`, chromedp.ByQuery),
		chromedp.Click("#run-batch", chromedp.ByQuery),
	))
	waitFor(t, ctx, `document.querySelector('#batch-progress').dataset.percent === '100'`)
	var label, width, aria string
	var complete bool
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text("#batch-label", &label, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#batch-progress .bar').style.width`, &width),
		chromedp.AttributeValue("#batch-progress", "aria-valuenow", &aria, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#batch-progress').classList.contains('complete')`, &complete),
	))
	assert.True(t, strings.HasPrefix(label, "150 × fibonacci: 150 / 150 settled"), label)
	assert.NotContains(t, label, "failed")
	assert.Equal(t, "100%", width)
	assert.Equal(t, "100", aria)
	assert.True(t, complete)
	waitFor(t, ctx, `document.querySelector('#kpi-done').textContent === '150'`)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.ok .text')].some((e) => e.textContent.includes('batch of 150 × fibonacci settled: 150 ok, 0 failed'))`)
}

func TestDashboardShowsABatchStartedFromCodeInItsForm(t *testing.T) {
	// As make demo does: the form shows what the bar below it counts, not
	// its defaults (a batch of 200 with 48 settled, in demo.png).
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	eval(t, ctx, `window.dashboard.batch('fibonacci', 4, { n: 10 }).then(() => true)`, nil)
	var got struct{ Name, Count, Params, Label string }
	eval(t, ctx, `({ name: document.querySelector('#batch-name').value, count: document.querySelector('#batch-count').value,
	  params: document.querySelector('#batch-params').value, label: document.querySelector('#batch-label').textContent })`, &got)
	assert.Equal(t, "fibonacci", got.Name)
	assert.Equal(t, "4", got.Count)
	assert.JSONEq(t, `{"n": 10}`, got.Params)
	assert.True(t, strings.HasPrefix(got.Label, "4 × fibonacci: 4 / 4 settled"), got.Label)

	// Params JSON cannot write (a cycle): the batch runs all the same.
	var settled string
	eval(t, ctx, `(() => { const c = { n: 5 }; c.self = c;
	  return window.dashboard.batch('fibonacci', 2, c).then((r) => 'settled ' + r.filter((x) => x.ok).length, (e) => 'rejected: ' + e.message); })()`, &settled)
	assert.Equal(t, "settled 2", settled)
}

func TestDashboardClosesAWorkerAndAddsOne(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	require.NoError(t, chromedp.Run(ctx, chromedp.Click(`.worker-card[data-worker-id="worker-2"] button.close`, chromedp.ByQuery)))
	waitFor(t, ctx, `document.querySelector('.worker-card[data-worker-id="worker-2"]').dataset.status === 'closed'`)
	var statusText string
	var disabled bool
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text(`.worker-card[data-worker-id="worker-2"] .status-text`, &statusText, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('.worker-card[data-worker-id="worker-2"] button.close').disabled`, &disabled),
	))
	assert.Equal(t, "closed", statusText)
	assert.True(t, disabled, "a closed worker cannot be closed again")

	before := len(cards(t, ctx))
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
		chromedp.Click("#add-worker", chromedp.ByQuery),
	))
	waitFor(t, ctx, `document.querySelectorAll('.worker-card').length === `+itoa(before+1))
	waitFor(t, ctx, `[...document.querySelectorAll('.worker-card')].at(-1).dataset.status === 'available'`)
	got := cards(t, ctx)
	assert.Equal(t, "JS", got["worker-"+itoa(before+1)][0])
	var count string
	eval(t, ctx, `document.querySelector('#worker-count').textContent`, &count)
	assert.Contains(t, count, "1 closed")
}

// runExamplePage opens a generated usage example and returns the results it
// puts in its body's data-results once it has run every sample.
func runExamplePage(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	var state, results string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(url),
		chromedp.Poll(`document.body.dataset.state !== 'running' && document.body.dataset.state`, &state, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)),
	), url)
	require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(`document.body.dataset.results || document.getElementById('out').textContent`, &results)))
	require.Equal(t, "done", state, "%s: %s", url, results)
	return results
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestDashboardChartsKeepTheirCanvasOnAScreenOfFractionalScale(t *testing.T) {
	// At 1.25 device pixels a CSS pixel, width * scale is no whole number,
	// which a canvas's width never equals: each render made a fresh canvas.
	ctx := openDashboard(t)
	require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1440, 1000, chromedp.EmulateScale(1.25))))
	var scale float64
	eval(t, ctx, `window.devicePixelRatio`, &scale)
	require.Equal(t, 1.25, scale)
	eval(t, ctx, `(() => {
	  window.sized = 0; window.drawn = 0;
	  const width = Object.getOwnPropertyDescriptor(HTMLCanvasElement.prototype, 'width');
	  Object.defineProperty(HTMLCanvasElement.prototype, 'width', { get: width.get, set(v) { window.sized++; width.set.call(this, v); } });
	  const getContext = HTMLCanvasElement.prototype.getContext;
	  HTMLCanvasElement.prototype.getContext = function (...a) { if (this.id === 'pool-chart') window.drawn++; return getContext.apply(this, a); };
	  return true;
	})()`, nil)
	waitFor(t, ctx, `window.drawn >= 3`)
	var sized int
	eval(t, ctx, `window.sized`, &sized)
	assert.LessOrEqual(t, sized, 2, "each chart sized once for the new scale, then kept")
}

// TestGeneratedBrowserWorkersRunInChromium generates each browser template,
// serves it, and opens its usage example, which runs every sample task
// through the JS API.
func TestGeneratedBrowserWorkersRunInChromium(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"math-worker", "data-api", "image-worker"} {
		_, err := generate.Generate(generate.Options{Name: name, Dir: dir, Kind: generate.Browser})
		require.NoError(t, err)
	}
	ctx, base, _ := newTab(t, Config{Mounts: []Mount{{Prefix: "/gen/", Dir: dir}}})
	want := map[string][]string{
		"math-worker":  {`"value": 5`, `"value": 6`, `"value": 42`, `"value": 2.5`, `"value": 1024`, `"value": 12`, `"error": "Division by zero is not allowed"`},
		"data-api":     {`"name": "fetch"`, `"valid": false`, `"name": "Alan"`},
		"image-worker": {`"pixels": 4`, `"type": "application/x-rle-rgba"`},
	}
	for name, parts := range want {
		results := runExamplePage(t, ctx, base+"/gen/"+name+".example.html")
		var rs []map[string]any
		require.NoError(t, json.Unmarshal([]byte(results), &rs))
		for _, r := range rs {
			if r["name"] == "divide" && r["ok"] == false {
				continue // the sample that must fail
			}
			assert.Equal(t, true, r["ok"], "%s: %v", name, r)
		}
		for _, p := range parts {
			assert.Contains(t, results, p, name)
		}
	}
	_, err := os.Stat(filepath.Join(dir, "math-worker.js"))
	require.NoError(t, err)
}
