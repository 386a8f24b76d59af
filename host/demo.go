package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// demoTask is one task of the demo's fixed workload and how to check it.
type demoTask struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
	// check says what is wrong with a result ("" when right); a task
	// expected to fail gets its error in errMsg.
	check func(got any, errMsg string) string
	// expectFail marks a task that must fail (divide by zero).
	expectFail bool
}

// demoResult is what the page reports for one task.
type demoResult struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	TaskID   string `json:"taskId"`
	WorkerID string `json:"workerId"`
	Value    any    `json:"value"`
	Error    string `json:"error"`
	MS       float64
}

type demoWorker struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Tasks     []string `json:"tasks"`
	Status    string   `json:"status"`
	TasksDone int      `json:"tasksDone"`
	LastError string   `json:"lastError"`
}

type demoReport struct {
	Results []demoResult `json:"results"`
	Batch   []demoResult `json:"batch"`
	Workers []demoWorker `json:"workers"`
	MS      float64      `json:"ms"`
	BatchMS float64      `json:"batchMs"`
}

func fib(n int) float64 {
	a, b := 0.0, 1.0
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

func equalNumber(want float64) func(any, string) string {
	return func(got any, _ string) string {
		f, ok := got.(float64)
		if !ok || math.Abs(f-want) > 1e-9*math.Max(1, math.Abs(want)) {
			return fmt.Sprintf("want %v, got %v", want, got)
		}
		return ""
	}
}

// demoBatchSize and demoBatchN make the CPU-heavy batch: fibonacci(n) each.
const (
	demoBatchSize = 48
	demoBatchN    = 27
)

// The demo's sha256 task: this text hashed, then each digest hashed again,
// rounds times in all (progress is reported every 100,000 rounds).
const (
	demoSHA256Text   = "hello, atmo"
	demoSHA256Rounds = 200_000
)

// demoSHA256 is the sha256 task's answer, in hex.
func demoSHA256() string {
	sum := sha256.Sum256([]byte(demoSHA256Text))
	for i := 1; i < demoSHA256Rounds; i++ {
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:])
}

// demoWorkload is the fixed set of tasks: math on every worker kind, data
// and image tasks, bytes through a Go worker, and one task that must fail.
func demoWorkload() []demoTask {
	var ts []demoTask
	for i := 1; i <= 8; i++ {
		a, b := float64(i*7), float64(i)
		ts = append(ts,
			demoTask{Name: "add", Params: map[string]any{"a": a, "b": b}, check: equalNumber(a + b)},
			demoTask{Name: "subtract", Params: map[string]any{"a": a, "b": b}, check: equalNumber(a - b)},
			demoTask{Name: "multiply", Params: map[string]any{"a": a, "b": b}, check: equalNumber(a * b)},
			demoTask{Name: "divide", Params: map[string]any{"a": a, "b": b}, check: equalNumber(a / b)},
			demoTask{Name: "power", Params: map[string]any{"a": b, "b": 3.0}, check: equalNumber(math.Pow(b, 3))},
			demoTask{Name: "sqrt", Params: map[string]any{"a": a * a}, check: equalNumber(a)},
			demoTask{Name: "fibonacci", Params: map[string]any{"n": float64(10 + i)}, check: equalNumber(fib(10 + i))},
		)
	}
	ts = append(ts,
		demoTask{Name: "divide", Params: map[string]any{"a": 1.0, "b": 0.0}, expectFail: true, check: func(_ any, msg string) string {
			if !strings.Contains(strings.ToLower(msg), "zero") {
				return fmt.Sprintf("want a division-by-zero error, got %q", msg)
			}
			return ""
		}},
		demoTask{Name: "filter", Params: map[string]any{"url": "/data/people.json", "where": []any{map[string]any{"field": "age", "op": ">=", "value": 85.0}}},
			check: func(got any, _ string) string {
				if rows, ok := got.([]any); !ok || len(rows) != 6 {
					return fmt.Sprintf("want the 6 people aged 85 or more, got %v", got)
				}
				return ""
			}},
		demoTask{Name: "validate", Params: map[string]any{"url": "/data/people.json", "schema": map[string]any{"age": "number", "email": "email"}},
			check: func(got any, _ string) string {
				m, _ := got.(map[string]any)
				if errs, _ := m["errors"].([]any); m["valid"] != false || len(errs) != 1 {
					return fmt.Sprintf("want one invalid email, got %v", got)
				}
				return ""
			}},
		// Bytes in and out of a Go worker, with progress reports: the
		// dashboard sends the text as UTF-8 bytes; the page reports the
		// digest as hex.
		demoTask{Name: "sha256", Params: map[string]any{"data": demoSHA256Text, "rounds": float64(demoSHA256Rounds)},
			check: func(got any, _ string) string {
				if want := demoSHA256(); got != want {
					return fmt.Sprintf("want the digest %s, got %v", want, got)
				}
				return ""
			}},
		demoTask{Name: "analyze", Params: map[string]any{"image": "sample"},
			check: func(got any, _ string) string {
				m, _ := got.(map[string]any)
				if m["pixels"] != 4096.0 {
					return fmt.Sprintf("want 4096 pixels analyzed, got %v", got)
				}
				return ""
			}},
	)
	return ts
}

// demoScript runs the workload in the dashboard and returns a demoReport as JSON.
const demoScript = `(async (tasks, batchSize, batchN) => {
  const d = window.dashboard;
  await d.ready;
  const t0 = performance.now();
  const hex = (v) => (v instanceof Uint8Array ? [...v].map((b) => b.toString(16).padStart(2, '0')).join('') : v);
  const results = await Promise.all(tasks.map((t) => d.submit(t.name, t.params).then((r) => ({ name: t.name, ...r, value: hex(r.value) }))));
  const b0 = performance.now();
  const batch = (await d.batch('fibonacci', batchSize, { n: batchN })).map((r) => ({ name: 'fibonacci', ...r }));
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 400)); // let the cards and the chart catch up
  return JSON.stringify({ results, batch, workers: d.wm.workers(), ms, batchMs: performance.now() - b0 - 400 });
})`

func demoCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "demo.png", "where to save the screenshot")
	wasmDir := fs.String("wasm", "bin/wasm", "directory of the built WASM")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "print the page's console")
	if err := fs.Parse(args); err != nil {
		return flagError{err} // the flag package has said it
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("demo takes no arguments, got %q", fs.Args())}
	}
	if err := checkWasm(*wasmDir); err != nil {
		return err
	}
	// Where the screenshot goes is checked before the run, not after it.
	// An -out it cannot go to is a word the user typed: a usage error, as
	// a bad flag is, saying what to type instead. A missing directory is
	// not made (a typo would leave folders about): the message says to.
	if *out == "" {
		return usageError{fmt.Errorf("-out %s: name a file to write the screenshot to, such as demo.png", *out)}
	}
	if fi, err := os.Stat(filepath.Dir(*out)); err != nil || !fi.IsDir() {
		d := filepath.Dir(*out)
		return usageError{fmt.Errorf("-out %s: there is no directory %s to write the screenshot in: make it first (mkdir -p %s), or name a file in a directory that exists", *out, d, shellQuote(d))}
	}
	if fi, err := os.Stat(*out); err == nil && fi.IsDir() {
		return usageError{fmt.Errorf("-out %s: is a directory; name a file in it, such as %s", *out, filepath.Join(*out, "demo.png"))}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on a loopback port: %w", err)
	}
	srv := newServer(NewHandler(Config{WasmDir: *wasmDir}))
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "atmo demo: serving on %s, opening it in headless Chromium\n", url)

	bctx, closeBrowser, err := newBrowser(ctx)
	if err != nil {
		return err
	}
	defer closeBrowser()
	var plog pageLog
	var echo io.Writer
	if *verbose {
		echo = stderr
	}
	plog.listen(bctx, echo)
	if err := chromedp.Run(bctx, chromedp.EmulateViewport(1440, 1000)); err != nil {
		return err
	}
	if err := waitDashboard(bctx, url, min(60*time.Second, *timeout)); err != nil {
		return fmt.Errorf("%w\npage log:\n%s", err, plog.String())
	}

	tasks := demoWorkload()
	tasksJSON, _ := json.Marshal(tasks)
	var raw string
	expr := fmt.Sprintf("%s(%s, %d, %d)", demoScript, tasksJSON, demoBatchSize, demoBatchN)
	if err := chromedp.Run(bctx, chromedp.Evaluate(expr, &raw, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		return fmt.Errorf("run the workload: %w\npage log:\n%s", err, plog.String())
	}
	var rep demoReport
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		return fmt.Errorf("read the page's report: %w", err)
	}

	problems := printDemoReport(stdout, tasks, rep, *wasmDir)
	var png []byte
	if err := chromedp.Run(bctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if err := os.WriteFile(*out, png, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "screenshot: %s\n", *out)
	if len(problems) > 0 {
		return fmt.Errorf("%d wrong:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	fmt.Fprintln(stdout, "every result was right")
	return nil
}

// demoExamples are the examples of the dashboard's default pool, each by a
// task it runs: the demo runs on all of them.
// A Go example's hint is made from its package under examples/goworker
// (see goExampleHint).
var demoExamples = []struct{ kind, task, hint, goPkg string }{
	{"js", "fibonacci", "examples/workers/math-worker.js is embedded; is the dashboard's pool changed?", ""},
	{"js", "transform", "examples/workers/data-worker.js is embedded; is the dashboard's pool changed?", ""},
	{"js", "resize", "examples/workers/image-worker.js is embedded; is the dashboard's pool changed?", ""},
	{"go", "fibonacci", "", "math"},
	{"go", "sha256", "", "sha256"},
}

// goExampleHint asks whether the Go example pkg is built in wasmDir, and
// says how to build it there: with make build in the atmo repository, or
// go build from a module of one's own (go tool host demo runs there too).
func goExampleHint(pkg, wasmDir string) string {
	return fmt.Sprintf("is workers/%s.wasm built in -wasm's directory? (make build; outside the atmo repository: %s)",
		pkg, goBuildWasm(filepath.Join(wasmDir, "workers", pkg+".wasm"), "github.com/atmoworkers/atmo/examples/goworker/"+pkg))
}

// printDemoReport prints the tables and returns what was wrong.
func printDemoReport(w io.Writer, tasks []demoTask, rep demoReport, wasmDir string) []string {
	var problems []string
	type row struct{ n, ok, failed, expectedFail, wrong int }
	byName := map[string]*row{}
	var names []string
	perWorker := map[string]int{}
	get := func(name string) *row {
		r := byName[name]
		if r == nil {
			r = &row{}
			byName[name] = r
			names = append(names, name)
		}
		return r
	}
	if len(rep.Results) != len(tasks) {
		problems = append(problems, fmt.Sprintf("the page reported %d results for %d tasks", len(rep.Results), len(tasks)))
	}
	for i, res := range rep.Results {
		if i >= len(tasks) {
			break
		}
		t := tasks[i]
		r := get(t.Name)
		r.n++
		if res.WorkerID != "" {
			perWorker[res.WorkerID]++
		}
		if res.OK {
			r.ok++
		} else {
			r.failed++
		}
		var bad string
		switch {
		case t.expectFail && res.OK:
			bad = fmt.Sprintf("want an error, got %v", res.Value)
		case t.expectFail:
			r.expectedFail++
			bad = t.check(nil, res.Error)
		case !res.OK:
			bad = "failed: " + res.Error
		default:
			bad = t.check(res.Value, "")
		}
		if bad != "" {
			r.wrong++
			params, _ := json.Marshal(t.Params)
			problems = append(problems, fmt.Sprintf("%s %s (%s on %s): %s", t.Name, params, res.TaskID, res.WorkerID, bad))
		}
	}
	br := get(fmt.Sprintf("fibonacci(%d) batch", demoBatchN))
	want := fib(demoBatchN)
	for _, res := range rep.Batch {
		br.n++
		perWorker[res.WorkerID]++
		if !res.OK {
			br.failed++
			br.wrong++
			problems = append(problems, fmt.Sprintf("batch %s on %s failed: %s", res.TaskID, res.WorkerID, res.Error))
			continue
		}
		br.ok++
		if f, _ := res.Value.(float64); f != want {
			br.wrong++
			problems = append(problems, fmt.Sprintf("batch %s on %s: want %v, got %v", res.TaskID, res.WorkerID, want, res.Value))
		}
	}
	if len(rep.Batch) != demoBatchSize {
		problems = append(problems, fmt.Sprintf("the batch settled %d tasks of %d", len(rep.Batch), demoBatchSize))
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "TASK\tRUN\tOK\tFAILED\tEXPECTED FAILURES\tWRONG\t")
	total := row{}
	for _, n := range names {
		r := byName[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", n, r.n, r.ok, r.failed, r.expectedFail, r.wrong)
		total.n += r.n
		total.ok += r.ok
		total.failed += r.failed
		total.expectedFail += r.expectedFail
		total.wrong += r.wrong
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", total.n, total.ok, total.failed, total.expectedFail, total.wrong)
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "WORKER\tKIND\tSTATUS\tTHIS RUN\tTASKS DONE\tTASKS\t")
	kinds := map[string]int{}
	for _, wk := range rep.Workers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t\n", wk.ID, strings.ToUpper(wk.Kind), wk.Status, perWorker[wk.ID], wk.TasksDone, strings.Join(wk.Tasks, ","))
		if wk.Status == "closed" {
			problems = append(problems, fmt.Sprintf("worker %s (%s) is closed: %s", wk.ID, wk.Kind, wk.LastError))
		}
		kinds[wk.Kind] += perWorker[wk.ID]
	}
	tw.Flush()
	var kindNames []string
	for k := range kinds {
		kindNames = append(kindNames, k)
		if kinds[k] == 0 {
			problems = append(problems, fmt.Sprintf("no task ran on a %s worker", strings.ToUpper(k)))
		}
	}
	sort.Strings(kindNames)
	// Every example of the default pool took part: a Go worker module that
	// was not built leaves its tasks to the JS workers, which would hide it.
	for _, want := range demoExamples {
		ran := false
		for _, wk := range rep.Workers {
			if wk.Kind == want.kind && slices.Contains(wk.Tasks, want.task) && perWorker[wk.ID] > 0 {
				ran = true
			}
		}
		if !ran {
			hint := want.hint
			if want.goPkg != "" {
				hint = goExampleHint(want.goPkg, wasmDir)
			}
			problems = append(problems, fmt.Sprintf("no %s worker for %s ran a task: %s", strings.ToUpper(want.kind), want.task, hint))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "time: %.0f ms in all; the batch of %d × fibonacci(%d): %.0f ms (%.0f tasks/s)\n",
		rep.MS, demoBatchSize, demoBatchN, rep.BatchMS, float64(demoBatchSize)*1000/math.Max(rep.BatchMS, 1))
	for _, k := range kindNames {
		fmt.Fprintf(w, "tasks on %s workers: %d\n", strings.ToUpper(k), kinds[k])
	}
	return problems
}
