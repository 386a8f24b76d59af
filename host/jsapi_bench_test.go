package main

import (
	"testing"
)

// BenchmarkJSAPI times atmo.js as a plain page uses it, against hand-written
// postMessage (raw) in the same page, once both are warm: one echo task at
// a time, then 20,000 at once on 2 workers (atmo at Concurrency 64), through
// run(), through the seed's addTask, and through run() with a subscriber.
// make bench drives the Go API; this is the JS one. Run:
// go test -run XXX -bench JSAPI ./host
func BenchmarkJSAPI(b *testing.B) {
	ctx := apiPageWith(b, map[string]string{
		"echo.js": "importScripts('/jsworker/atmo-worker.js'); atmoWorker({ echo: (p) => p });",
		"raw.js":  "self.onmessage = (e) => self.postMessage(e.data);",
	})
	for i := 0; i < b.N; i++ {
		var got map[string]float64
		eval(b, ctx, js(`
  const N = 3000, FLOOD = 20000, WARM = 24000;
  const raw = [new Worker('/t/raw.js'), new Worker('/t/raw.js')];
  const rawCall = (w, v) => new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.postMessage(v); });
  const rawFlood = () => new Promise((resolve) => {
    let left = FLOOD;
    for (const w of raw) w.onmessage = () => { if (--left === 0) resolve(); };
    for (let i = 0; i < FLOOD; i++) raw[i & 1].postMessage({ i });
  });
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo'], script: '/t/echo.js', count: 2, concurrency: 64 }]);
  await wm.ready();
  const time = async (f) => { const t0 = performance.now(); await f(); return performance.now() - t0; };
  const oneAtATime = async (call) => { for (let i = 0; i < N; i++) await call(i); };
  // Warm up both. V8 optimises by calls made, not by time passed: in rounds
  // of 2,000, atmo's one at a time took 467-502 µs a task in the first,
  // ~240 in the second and 100-160 only after ~20,000 (the same with 15 s
  // idle before the first), against raw's 55-80 throughout.
  await rawFlood();
  await Promise.all(Array.from({ length: FLOOD }, (_, i) => tm.run('echo', { i })));
  for (let k = 0; k < WARM / N; k++) {
    await oneAtATime((i) => rawCall(raw[0], { i }));
    await oneAtATime((i) => tm.run('echo', { i }));
  }
  // One at a time: five rounds of N/5, raw's and atmo's alternating, so that
  // a busy moment of the host skews a round of each rather than one figure;
  // the medians.
  const rawRounds = [], apiRounds = [];
  const round = async (call) => (await time(async () => { for (let i = 0; i < N / 5; i++) await call(i); })) * 5000 / N;
  for (let k = 0; k < 5; k++) {
    rawRounds.push(await round((i) => rawCall(raw[0], { i })));
    apiRounds.push(await round((i) => tm.run('echo', { i })));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const out = {
    raw_rt_us: median(rawRounds),
    api_rt_us: median(apiRounds),
    raw_tasks_per_s: FLOOD / ((await time(rawFlood)) / 1000),
    api_tasks_per_s: FLOOD / ((await time(() => Promise.all(Array.from({ length: FLOOD }, (_, i) => tm.run('echo', { i }))))) / 1000),
    // the seed's addTask, and run() under a subscriber that only counts
    add_tasks_per_s: FLOOD / ((await time(() => Promise.all(Array.from({ length: FLOOD }, (_, i) => new Promise((resolve, reject) =>
      tm.addTask({ name: 'echo', params: { i }, onSuccess: resolve, onError: reject })))))) / 1000),
  };
  let events = 0;
  const stop = tm.subscribe(() => { events++; });
  out.sub_tasks_per_s = FLOOD / ((await time(() => Promise.all(Array.from({ length: FLOOD }, (_, i) => tm.run('echo', { i }))))) / 1000);
  stop();
  out.events_per_task = events / FLOOD;
  raw.forEach((w) => w.terminate());
  await tm.close();
  return out;`), &got)
		for k, v := range got {
			b.ReportMetric(v, k)
		}
		b.ReportMetric(got["api_rt_us"]/got["raw_rt_us"], "rt_vs_raw")
		b.ReportMetric(got["api_tasks_per_s"]/got["raw_tasks_per_s"], "tput_vs_raw")
	}
}
