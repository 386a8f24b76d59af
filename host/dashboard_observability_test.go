package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sha256Card finds the card of the Go sha256 worker the dashboard starts.
const sha256Card = `[...document.querySelectorAll('.worker-card')].find((c) => [...c.querySelectorAll('.chip')].some((x) => x.textContent === 'sha256'))`

func TestDashboardShowsPerWorkerUtilisationAndLatencyPercentiles(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)

	// At rest every live worker shows 0 of its capacity in flight.
	var idle []string
	eval(t, ctx, `[...document.querySelectorAll('.worker-card')].map((c) => c.querySelector('.util-text').textContent)`, &idle)
	require.NotEmpty(t, idle)
	for _, u := range idle {
		assert.Equal(t, "0 / 1 in flight", u)
	}

	// A long sha256 task: its worker's card shows it in flight, full.
	eval(t, ctx, `(window.longTask = window.dashboard.submit('sha256', { data: 'utilisation', rounds: 3000000 }), true)`, nil)
	waitFor(t, ctx, sha256Card+`.dataset.inFlight === '1'`)
	var busy map[string]string
	eval(t, ctx, `(() => { const c = `+sha256Card+`; return { text: c.querySelector('.util-text').textContent,
	  width: c.querySelector('.util .fill').style.width, util: c.dataset.utilisation, full: String(c.querySelector('.util').classList.contains('full')) }; })()`, &busy)
	assert.Equal(t, map[string]string{"text": "1 / 1 in flight", "width": "100%", "util": "100", "full": "true"}, busy)
	var ok bool
	eval(t, ctx, `window.longTask.then((r) => r.ok)`, &ok)
	require.True(t, ok)
	waitFor(t, ctx, sha256Card+`.dataset.inFlight === '0'`)

	// A few more tasks, then the percentile table has numbers for both rows.
	eval(t, ctx, `Promise.all([1, 2, 3, 4].map((i) => window.dashboard.submit('fibonacci', { n: 15 + i }))).then(() => true)`, nil)
	waitFor(t, ctx, `document.querySelector('#latency tr[data-metric="runTime"]').dataset.count === '5'`)
	var table map[string][]string
	eval(t, ctx, `Object.fromEntries([...document.querySelectorAll('#latency tbody tr')].map((r) => [r.dataset.metric,
	  ['p50', 'p95', 'p99', 'max'].map((q) => r.querySelector('.' + q).textContent).concat([r.dataset.count])]))`, &table)
	duration := regexp.MustCompile(`^\d+(\.\d)? (ms|s)$`)
	for _, metric := range []string{"queueWait", "runTime"} {
		require.Len(t, table[metric], 5, metric)
		for _, cell := range table[metric][:4] {
			assert.Regexp(t, duration, cell, metric)
		}
		assert.Equal(t, "5", table[metric][4], metric)
	}
	var window string
	require.NoError(t, chromedp.Run(ctx, chromedp.Text("#latency-window", &window, chromedp.ByQuery)))
	assert.Equal(t, "over the last 5 tasks", window)
}

func TestDashboardBatchBarMovesWithProgressReportsBeforeTasksSettle(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	// Record every state of the bar: a MutationObserver with old values
	// replays them in order, however the page batched its updates.
	eval(t, ctx, `(() => {
	  const el = document.querySelector('#batch-progress');
	  window.barRecords = [];
	  new MutationObserver((rs) => window.barRecords.push(...rs.map((r) => [r.attributeName, r.oldValue])))
	    .observe(el, { attributes: true, attributeOldValue: true, attributeFilter: ['data-percent', 'data-settled'] });
	  return true;
	})()`, nil)
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#batch-name", "sha256", chromedp.ByQuery),
		chromedp.SetValue("#batch-count", "3", chromedp.ByQuery),
		chromedp.SetValue("#batch-params", `{"data": "bar", "rounds": 1000000}`, chromedp.ByQuery),
		chromedp.Click("#run-batch", chromedp.ByQuery),
	))
	waitFor(t, ctx, `document.querySelector('#batch-progress').dataset.settled === '3'`)
	var got struct {
		States  [][2]string `json:"states"`
		Reports string      `json:"reports"`
		Percent string      `json:"percent"`
		Label   string      `json:"label"`
	}
	eval(t, ctx, `(() => {
	  const el = document.querySelector('#batch-progress');
	  const names = ['data-percent', 'data-settled'];
	  const seq = Object.fromEntries(names.map((n) => [n, window.barRecords.filter((r) => r[0] === n).map((r) => r[1]).concat([el.getAttribute(n)])]));
	  const at = { 'data-percent': 0, 'data-settled': 0 };
	  const states = window.barRecords.map((r) => { at[r[0]]++; return [seq['data-percent'][at['data-percent']], seq['data-settled'][at['data-settled']]]; });
	  return { states, reports: el.dataset.reports, percent: el.dataset.percent, label: document.querySelector('#batch-label').textContent };
	})()`, &got)
	// sha256 reports every 100,000 of 1,000,000 rounds: 9 reports a task.
	assert.Equal(t, "27", got.Reports)
	assert.Equal(t, "100", got.Percent)
	assert.Contains(t, got.Label, "3 / 3 settled · 27 progress reports")
	movedBeforeSettled := false
	last := -1
	for _, s := range got.States {
		p, err := strconv.Atoi(s[0])
		if err != nil || s[1] == "" {
			continue // the values before the batch started
		}
		assert.GreaterOrEqual(t, p, last, "the bar never moves back: %v", got.States)
		last = p
		if s[1] == "0" && p > 0 {
			movedBeforeSettled = true
		}
	}
	assert.True(t, movedBeforeSettled, "the bar advanced with reports before any task settled: %v", got.States)
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.ok .text')].some((e) => e.textContent.includes('batch of 3 × sha256 settled: 3 ok, 0 failed, 27 progress reports'))`)
}

func TestDashboardShowsThePoolGrowingAndShrinking(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var start map[string]string
	eval(t, ctx, `({ ...document.querySelector('.pool-panel').dataset })`, &start)
	assert.Equal(t, "0", start["grown"])
	assert.Equal(t, "0", start["released"])
	live := atoi(start["live"])

	// An elastic group from the control: one JS math worker that may grow to 3
	// and releases grown workers after 0.3 s idle.
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue("#worker-kind", "math/js", chromedp.ByQuery),
		chromedp.SetValue("#elastic-max", "3", chromedp.ByQuery),
		chromedp.SetValue("#elastic-idle", "0.3", chromedp.ByQuery),
		chromedp.Click("#add-elastic", chromedp.ByQuery),
	))
	waitFor(t, ctx, `[...document.querySelectorAll('#log li.info .text')].some((e) => e.textContent.includes('grows to 3, releases after 300 ms idle'))`)
	before := itoa(live + 1)
	waitFor(t, ctx, `document.querySelector('.pool-panel').dataset.live === '`+before+`' && `+allAvailable)

	// A burst: the math groups grow while the tasks wait…
	eval(t, ctx, `(window.burst = window.dashboard.batch('fibonacci', 200, { n: 22 }), true)`, nil)
	waitFor(t, ctx, `Number(document.querySelector('#pool-grown').textContent) > 0 && document.querySelectorAll('.worker-card.grown').length > 0`)
	var grownCard string
	eval(t, ctx, `document.querySelector('.worker-card.grown .grown-badge').textContent`, &grownCard)
	assert.Equal(t, "grown", grownCard)
	eval(t, ctx, `window.burst.then((rs) => rs.every((r) => r.ok))`, nil)

	// …and shrink back after their idle timeouts: every grown worker is
	// released and its card leaves.
	waitFor(t, ctx, `(() => { const d = document.querySelector('.pool-panel').dataset;
	  return Number(d.grown) > 0 && d.released === d.grown && d.live === '`+before+`' && !document.querySelector('.worker-card.grown'); })()`)
	var counts map[string]string
	eval(t, ctx, `({ grown: document.querySelector('#pool-grown').textContent, released: document.querySelector('#pool-released').textContent, stats: String(window.dashboard.tm.stats().released) })`, &counts)
	assert.Equal(t, counts["grown"], counts["released"])
	assert.Equal(t, counts["released"], counts["stats"], "the dashboard shows tm.stats()")
}

// The pool chart's scale is of the minute it shows: once a spike of workers
// has left the chart, the line is drawn against today's sizes, not kept
// flat at the bottom by the largest pool ever seen. The page's clock is
// moved on a minute rather than waited for.
func TestDashboardPoolChartScalesToTheMinuteItShows(t *testing.T) {
	ctx := openDashboard(t)
	waitFor(t, ctx, allAvailable)
	var got struct{ High, Low, Live int }
	eval(t, ctx, `(async () => {
	  const now = performance.now.bind(performance);
	  let ahead = 0;
	  performance.now = () => now() + ahead;
	  const d = window.dashboard, panel = document.querySelector('.pool-panel');
	  const until = async (ok) => {
	    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
	  };
	  const scale = () => Number(panel.dataset.scale), live = () => Number(panel.dataset.live);
	  const [scaleBefore, liveBefore] = [scale(), live()];
	  const added = [];
	  for (let i = 0; i < 12; i++) added.push(d.addWorker('math/js'));
	  await d.wm.ready();
	  await until(() => scale() > scaleBefore);
	  const high = scale();
	  for (const w of added) d.closeWorker(w.id);
	  await until(() => live() <= liveBefore);
	  ahead += 61000; // the spike leaves the chart's minute
	  await until(() => scale() < high);
	  const low = scale();
	  return { high, low, live: live() };
	})()`, &got)
	t.Logf("%+v", got)
	require.Greater(t, got.High, 12, "the chart's scale took in the twelve workers added")
	assert.Less(t, got.Low, got.High, "a minute later the scale is of the workers live now")
	assert.GreaterOrEqual(t, got.Low, got.Live+2, "with room above the line")
}
