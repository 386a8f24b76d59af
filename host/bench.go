package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/performance"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The benchmark suite of issue 7 (go run ./host bench, make bench): every
// workload runs side by side in one headless Chromium with four
// implementations, and the host takes the median of each figure over the
// runs. Nothing here asserts a time: a benchmark is not a test.
//
// The page, its workers and the Go program that drives atmo live in
// examples/bench; this file builds what they need, serves them, and drives
// the page one measurement at a time (setup, measure, teardown), reading the
// page's main-thread CPU time from the DevTools Performance domain around
// each measure.

// The implementations, in the order of the table's columns.
const (
	implRaw        = "raw"        // hand-written postMessage to bare workers: the limit
	implWorkerpool = "workerpool" // workerpool 10.x from npm: the peer
	implAtmoJS     = "atmo-js"    // atmo's TaskManager with JS workers
	implAtmoGo     = "atmo-go"    // atmo's TaskManager with Go WASM workers
)

var benchImpls = []string{implRaw, implWorkerpool, implAtmoJS, implAtmoGo}

// benchWorkloads are the workloads every run covers, in the table's order.
var benchWorkloads = []string{"roundtrip", "throughput", "cpu", "payload", "startup", "main-thread", "queue"}

// errPeerUnavailable says that workerpool could not be installed with npm
// (no npm, or no network): the suite cannot compare without its peer.
var errPeerUnavailable = errors.New("workerpool is not installed and npm could not install it")

// benchSettings sizes the workloads.
type benchSettings struct {
	Name string `json:"name"` // full, short or tiny
	Runs int    `json:"runs"`
	// QuickRuns, when more than Runs, repeats the quick workloads more
	// (the round trip, CPU scaling, start-up): each measurement takes well
	// under a second, and their ratios are the noisiest on a shared machine.
	QuickRuns         int   `json:"quickRuns,omitempty"`
	RoundTripTasks    int   `json:"roundTripTasks"`
	ThroughputTasks   int   `json:"throughputTasks"`
	ThroughputWorkers int   `json:"throughputWorkers"`
	Concurrencies     []int `json:"concurrencies"` // atmo's Concurrency settings tried for throughput
	CPUTasks          int   `json:"cpuTasks"`
	FibN              int   `json:"fibN"`
	PayloadMiB        []int `json:"payloadMiB"`
	StartupWorkers    []int `json:"startupWorkers"`
	MainThreadTasks   int   `json:"mainThreadTasks"`
	QueueTasks        []int `json:"queueTasks"`
	// QueueBaseTasks, when set, adds a queue of that few tasks first: its
	// drain is the start-up and little else, taken off the others' for the
	// per-task cost whose growth says whether the drain is linear.
	QueueBaseTasks int `json:"queueBaseTasks,omitempty"`
	// Only, when set, names the workloads to run; the others are skipped.
	Only []string `json:"only,omitempty"`
}

// quickWorkloads are the workloads QuickRuns repeats.
var quickWorkloads = []string{"roundtrip", "cpu", "startup"}

// runsOf is how many times workload's measurements repeat.
func (s benchSettings) runsOf(workload string) int {
	if slices.Contains(quickWorkloads, workload) && s.QuickRuns > s.Runs {
		return s.QuickRuns
	}
	return s.Runs
}

// runs reports whether the settings run workload.
func (s benchSettings) runs(workload string) bool {
	return len(s.Only) == 0 || slices.Contains(s.Only, workload)
}

func fullBenchSettings() benchSettings {
	return benchSettings{
		Name: "full", Runs: 3, QuickRuns: 9,
		RoundTripTasks: 2000, ThroughputTasks: 50_000, ThroughputWorkers: 2, Concurrencies: []int{1, 8, 32, 64},
		CPUTasks: 64, FibN: 27, PayloadMiB: []int{1, 16, 64}, StartupWorkers: []int{1, 4},
		MainThreadTasks: 10_000, QueueTasks: []int{10_000, 100_000}, QueueBaseTasks: 100,
	}
}

// shortBenchSettings finish the whole suite in under a minute.
func shortBenchSettings() benchSettings {
	return benchSettings{
		Name: "short", Runs: 1,
		RoundTripTasks: 300, ThroughputTasks: 5000, ThroughputWorkers: 2, Concurrencies: []int{1, 32},
		CPUTasks: 64, FibN: 27, PayloadMiB: []int{1, 16}, StartupWorkers: []int{1, 4},
		MainThreadTasks: 2000, QueueTasks: []int{2000, 10_000}, QueueBaseTasks: 100,
	}
}

// tinyBenchSettings are the smallest that still run every workload and
// implementation: for the smoke test.
func tinyBenchSettings() benchSettings {
	return benchSettings{
		Name: "tiny", Runs: 1,
		RoundTripTasks: 20, ThroughputTasks: 200, ThroughputWorkers: 2, Concurrencies: []int{1, 8},
		CPUTasks: 4, FibN: 15, PayloadMiB: []int{1}, StartupWorkers: []int{1},
		MainThreadTasks: 100, QueueTasks: []int{200},
	}
}

func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "small settings: the whole suite in under a minute")
	tiny := fs.Bool("tiny", false, "the smallest settings: a smoke test of the suite (its figures mean little)")
	runs := fs.Int("runs", 0, "repeat each measurement this many times and report the median (default 3, and 9 for roundtrip, cpu and startup; 1 with -short or -tiny)")
	jsonPath := fs.String("json", "bench.json", "where to write the results as JSON (relative to the repository root)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "print the page's console and each measurement as it ends")
	only := fs.String("only", "", "run only these workloads, comma-separated (of "+strings.Join(benchWorkloads, ", ")+")")
	profileFlag := fs.String("profile", "", profileUsage)
	profileDir := fs.String("profile-dir", "", "with -profile, also save each profile whole in this directory, as a .cpuprofile file that Chrome DevTools opens, for call trees")
	if err := fs.Parse(args); err != nil {
		return flagError{err} // the flag package has said it
	}
	// A bad flag value is a usage error (exit 2), as a flag the flag
	// package refuses is: nothing has run.
	prof, err := parseBenchProfile(*profileFlag)
	if err != nil {
		return usageError{err}
	}
	if *profileDir != "" && prof == nil {
		return usageError{fmt.Errorf("-profile-dir %s: there is nothing to save without -profile", *profileDir)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("bench takes no arguments, got %q", fs.Args())}
	}
	set := fullBenchSettings()
	switch {
	case *short && *tiny:
		return usageError{errors.New("-short with -tiny: give one of them (-tiny is the smaller)")}
	case *short:
		set = shortBenchSettings()
	case *tiny:
		set = tinyBenchSettings()
	}
	runsSet := false
	fs.Visit(func(f *flag.Flag) { runsSet = runsSet || f.Name == "runs" })
	if *runs < 0 || runsSet && *runs == 0 {
		return usageError{fmt.Errorf("-runs %d: want 1 or more", *runs)}
	}
	if *runs > 0 {
		set.Runs, set.QuickRuns = *runs, 0
	}
	if *only != "" {
		for _, w := range strings.Split(*only, ",") {
			w = strings.TrimSpace(w)
			if !slices.Contains(benchWorkloads, w) {
				return usageError{fmt.Errorf("-only %q: no workload %q; the workloads are %s", *only, w, strings.Join(benchWorkloads, ", "))}
			}
			set.Only = append(set.Only, w)
		}
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("-timeout %s: want more than 0", *timeout)}
	}
	// Made only once every flag is known good: a refused command leaves
	// nothing behind.
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			return fmt.Errorf("-profile-dir: %w", err)
		}
		if err := checkWritable(filepath.Join(*profileDir, "profile.cpuprofile")); err != nil {
			return fmt.Errorf("-profile-dir %s: %w", *profileDir, err)
		}
		prof.dir = *profileDir
	}
	// Where the JSON goes is checked now: a run takes minutes, and a path
	// found unwritable at its end would lose every run it measured.
	path := *jsonPath
	if !filepath.IsAbs(path) {
		root, err := repoRoot()
		if err != nil {
			return err
		}
		path = filepath.Join(root, path)
	}
	if err := checkWritable(path); err != nil {
		return fmt.Errorf("-json %s: %w", *jsonPath, err)
	}
	// Ctrl-C (or SIGTERM) ends the run as a failure does: the browser is
	// closed and chromedp removes the profile directory it made for it.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(sigCtx, stop) // a second Ctrl-C ends the program at once
	ctx, cancel := context.WithTimeout(sigCtx, *timeout)
	defer cancel()
	var progress io.Writer
	if *verbose {
		progress = stderr
	}
	rep, err := runBench(ctx, set, prof, stdout, progress)
	if err != nil {
		switch {
		case sigCtx.Err() != nil:
			return fmt.Errorf("interrupted: %w", err)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("gave up after -timeout %s: %w", *timeout, err)
		}
		return err
	}
	printBenchReport(stdout, rep)
	if err := writeBenchJSON(path, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", path)
	return nil
}

// benchReport is everything one run of the suite measured; bench.json is
// this, as JSON.
type benchReport struct {
	Started  time.Time     `json:"started"`
	Seconds  float64       `json:"seconds"`
	Settings benchSettings `json:"settings"`
	Machine  benchMachine  `json:"machine"`
	// Best is atmo's best Concurrency for throughput, by implementation;
	// main-thread and queue run with it.
	Best    map[string]int `json:"bestConcurrency"`
	Results []benchResult  `json:"results"`
}

// benchMachine names where the figures come from.
type benchMachine struct {
	OS                  string `json:"os"`
	Arch                string `json:"arch"`
	CPU                 string `json:"cpu"`
	CPUs                int    `json:"cpus"`
	Go                  string `json:"go"`
	Browser             string `json:"browser"`
	UserAgent           string `json:"userAgent"`
	HardwareConcurrency int    `json:"hardwareConcurrency"`
	PreciseMemory       bool   `json:"preciseMemory"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute load when the
	// suite started and ended: other work on the machine skews the figures.
	LoadBefore float64 `json:"loadBefore"`
	LoadAfter  float64 `json:"loadAfter"`
}

// benchResult is one implementation's figures for one case of a workload.
type benchResult struct {
	Workload string `json:"workload"`
	Case     string `json:"case"`
	Impl     string `json:"impl"`
	// Variant is a setting only some implementations have (atmo's
	// Concurrency, a Go module's compile): "" when none.
	Variant string `json:"variant,omitempty"`
	Figure  string `json:"figure"` // the name of the headline figure
	Unit    string `json:"unit"`
	Better  string `json:"better"` // "higher" or "lower"
	// Median is the headline figure's median over Runs.
	Median float64   `json:"median"`
	Runs   []float64 `json:"runs"`
	// Figures holds the median of every figure the page reported, plus
	// main_thread_ms (the page's main-thread CPU time during the measure).
	Figures map[string]float64 `json:"figures"`
	// VsRaw and VsWorkerpool are Median divided by raw's and workerpool's
	// medians in the same case (in the figure's unit: for a time, lower is
	// better; for a rate, higher).
	VsRaw        float64   `json:"vsRaw,omitempty"`
	VsWorkerpool float64   `json:"vsWorkerpool,omitempty"`
	Spec         benchSpec `json:"spec"`
}

// benchSpec is what the page is asked to run; bench.js and atmobench read it.
type benchSpec struct {
	Workload    string `json:"workload"`
	Impl        string `json:"impl"`
	Tasks       int    `json:"tasks,omitempty"`
	Workers     int    `json:"workers,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	N           int    `json:"n,omitempty"`
	Size        int    `json:"size,omitempty"`
	Rounds      int    `json:"rounds,omitempty"`
	WarmUps     int    `json:"warmUps,omitempty"`
	Transfer    bool   `json:"transfer,omitempty"`
	KeepInJS    bool   `json:"keepInJS,omitempty"`
	Task        string `json:"task,omitempty"` // payload with KeepInJS: the worker's task, when not "bytes"
	Shared      bool   `json:"shared,omitempty"`
	// LoneTaskAwakeUs is atmo's Options.LoneTaskAwake in µs: 0 its default,
	// negative off.
	LoneTaskAwakeUs int `json:"loneTaskAwakeUs,omitempty"`
	Run             int `json:"run"`
}

// benchEntry is one implementation (and variant) of a case.
type benchEntry struct {
	impl, variant string
	spec          benchSpec
}

// benchCase is one setting of a workload, run by several entries.
type benchCase struct {
	workload, name string
	figure, unit   string
	better         string
	entries        []benchEntry
}

// repoRoot finds the repository: the nearest directory up from the working
// directory with atmo's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/atmoworkers/atmo\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the atmo repository (no go.mod of github.com/atmoworkers/atmo above the working directory): run the bench from the repository")
		}
		dir = parent
	}
}

// ensurePeer installs workerpool under examples/bench with npm when it is
// missing, so that a fresh clone can run the suite.
func ensurePeer(root string, log io.Writer) error {
	dir := filepath.Join(root, "examples", "bench")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "workerpool", "dist", "workerpool.min.js")); err == nil {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("%w: npm is not on PATH (install Node.js and npm, then run npm ci in %s)", errPeerUnavailable, dir)
	}
	fmt.Fprintf(log, "atmo bench: installing workerpool (npm ci in %s)\n", dir)
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: npm ci in %s: %v\n%s", errPeerUnavailable, dir, err, out)
	}
	return nil
}

// buildBenchWasm builds the bench's Go programs for the browser: the page's
// program and the Go worker, into bin/wasm/bench.
func buildBenchWasm(root string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(goruntime.GOROOT(), "bin", "go") //nolint:staticcheck // the toolchain that built host
	}
	out := filepath.Join(root, "bin", "wasm", "bench")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, p := range []struct{ pkg, file string }{
		{"./examples/bench/atmobench", "atmobench.wasm"},
		{"./examples/bench/goworker", "goworker.wasm"},
	} {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(out, p.file), p.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s (GOOS=js GOARCH=wasm): %v\n%s", p.pkg, err, b)
		}
	}
	return nil
}

// benchHandler serves the host's usual files plus the bench page
// (examples/bench, workerpool from its node_modules) and the bench's WASM.
func benchHandler(root string) http.Handler {
	return NewHandler(Config{
		WasmDir: filepath.Join(root, "bin", "wasm"),
		Mounts: []Mount{
			{Prefix: "/bench/bin/", Dir: filepath.Join(root, "bin", "wasm", "bench")},
			{Prefix: "/bench/", Dir: filepath.Join(root, "examples", "bench")},
		},
	})
}

// newBenchBrowser starts headless Chromium as newBrowser does, plus what
// the memory figures need: precise performance.memory and a gc() to call.
func newBenchBrowser(parent context.Context) (context.Context, context.CancelFunc, error) {
	path, err := findChromium()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("enable-precise-memory-info", true),
		chromedp.Flag("js-flags", "--expose-gc"),
		chromedp.NoFirstRun,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Run(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, nil, fmt.Errorf("start Chromium (%s): %w", path, err)
	}
	return bctx, func() { cancelBrowser(); cancelAlloc() }, nil
}

// runBench builds and serves the bench, runs every workload in headless
// Chromium and returns the medians. log gets what it is doing; progress,
// when not nil, every measurement and the page's console.
func runBench(ctx context.Context, set benchSettings, prof *benchProfile, log, progress io.Writer) (*benchReport, error) {
	start := time.Now()
	load0 := loadAverage()
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if err := ensurePeer(root, log); err != nil {
		return nil, err
	}
	fmt.Fprintln(log, "atmo bench: building examples/bench/atmobench and examples/bench/goworker (GOOS=js GOARCH=wasm)")
	if err := buildBenchWasm(root); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on a loopback port: %w", err)
	}
	srv := newServer(benchHandler(root))
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/bench/"
	fmt.Fprintf(log, "atmo bench: serving on %s, opening it in headless Chromium (%s settings, %d run(s) each)\n", url, set.Name, set.Runs)

	bctx, closeBrowser, err := newBenchBrowser(ctx)
	if err != nil {
		return nil, err
	}
	defer closeBrowser()
	var plog pageLog
	plog.listen(bctx, progress)
	d := &benchDriver{ctx: bctx, log: &plog, profile: prof, out: log}
	if err := d.open(url); err != nil {
		return nil, err
	}
	rep := &benchReport{Started: start, Settings: set, Best: map[string]int{}}
	if rep.Machine, err = d.machine(); err != nil {
		return nil, err
	}

	if err := d.warmUp(set, log); err != nil {
		return nil, err
	}
	cases := benchPlan(set, rep.Machine.HardwareConcurrency, nil)
	for _, c := range cases {
		if c.workload == "main-thread" || c.workload == "queue" {
			break
		}
		if !set.runs(c.workload) {
			continue
		}
		if err := d.runCase(c, set.runsOf(c.workload), rep, progress); err != nil {
			return nil, err
		}
	}
	pickBestConcurrency(rep)
	for _, c := range benchPlan(set, rep.Machine.HardwareConcurrency, rep.Best) {
		if c.workload != "main-thread" && c.workload != "queue" || !set.runs(c.workload) {
			continue
		}
		if err := d.runCase(c, set.runsOf(c.workload), rep, progress); err != nil {
			return nil, err
		}
	}
	addRatios(rep)
	rep.Machine.LoadBefore, rep.Machine.LoadAfter = load0, loadAverage()
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// cpuConcurrencies are atmo's settings for the CPU scaling cases, the same
// for 1 worker and for every core: 2, where each worker holds its next task
// while it computes one (at Concurrency 1 a worker idles for a round trip
// per task), and the tasks shared out among the cores, where each worker
// is handed its share at once, in one batch, as raw's workers are handed
// every message at once, and answers its share in a batch too, so the
// page's thread wakes once per batch rather than once per task.
func cpuConcurrencies(tasks, cores int) []int {
	share := (tasks + cores - 1) / cores
	if share <= 2 {
		return []int{2}
	}
	return []int{2, share}
}

// benchPlan lists the cases of every workload. best holds atmo's best
// throughput Concurrency per implementation, once known; main-thread and
// queue use it (32 until then).
func benchPlan(set benchSettings, cores int, best map[string]int) []benchCase {
	if cores < 1 {
		cores = 1
	}
	conc := func(impl string) int {
		if c := best[impl]; c > 0 {
			return c
		}
		return 32
	}
	all := func(workload string, each func(impl string) benchSpec) []benchEntry {
		var es []benchEntry
		for _, impl := range benchImpls {
			s := each(impl)
			s.Workload, s.Impl = workload, impl
			es = append(es, benchEntry{impl: impl, spec: s})
		}
		return es
	}
	var cs []benchCase

	rt := benchCase{workload: "roundtrip", name: "1 worker, one echo at a time", figure: "us_per_task", unit: "µs/task", better: "lower"}
	for _, e := range all("roundtrip", func(string) benchSpec { return benchSpec{Tasks: set.RoundTripTasks} }) {
		rt.entries = append(rt.entries, e)
		if e.impl == implAtmoJS || e.impl == implAtmoGo { // what LoneTaskAwake buys: both threads asleep, as the seed's
			e.spec.LoneTaskAwakeUs = -1
			e.variant = "LoneTaskAwake off"
			rt.entries = append(rt.entries, e)
		}
	}
	cs = append(cs, rt)

	tp := benchCase{workload: "throughput", name: fmt.Sprintf("%d echo at once, %d workers", set.ThroughputTasks, set.ThroughputWorkers),
		figure: "tasks_per_s", unit: "tasks/s", better: "higher"}
	for _, impl := range benchImpls {
		spec := benchSpec{Workload: "throughput", Impl: impl, Tasks: set.ThroughputTasks, Workers: set.ThroughputWorkers}
		if impl == implRaw || impl == implWorkerpool {
			tp.entries = append(tp.entries, benchEntry{impl: impl, spec: spec})
			continue
		}
		for _, c := range set.Concurrencies {
			spec.Concurrency = c
			tp.entries = append(tp.entries, benchEntry{impl: impl, variant: fmt.Sprintf("Concurrency %d", c), spec: spec})
		}
	}
	cs = append(cs, tp)

	for _, w := range []int{1, cores} {
		name := fmt.Sprintf("%d × fib(%d), 1 worker", set.CPUTasks, set.FibN)
		if w != 1 {
			name = fmt.Sprintf("%d × fib(%d), %d workers (the cores)", set.CPUTasks, set.FibN, w)
		} else if cores == 1 {
			name += " (1 core: no scaling to measure)"
		}
		cpu := benchCase{workload: "cpu", name: name, figure: "ms", unit: "ms", better: "lower"}
		for _, impl := range benchImpls {
			spec := benchSpec{Workload: "cpu", Impl: impl, Tasks: set.CPUTasks, N: set.FibN, Workers: w}
			if impl == implRaw || impl == implWorkerpool {
				cpu.entries = append(cpu.entries, benchEntry{impl: impl, spec: spec})
				continue
			}
			for _, c := range cpuConcurrencies(set.CPUTasks, cores) {
				spec.Concurrency = c
				cpu.entries = append(cpu.entries, benchEntry{impl: impl, variant: fmt.Sprintf("Concurrency %d", c), spec: spec})
			}
		}
		cs = append(cs, cpu)
		if cores == 1 {
			break
		}
	}

	for _, mib := range set.PayloadMiB {
		rounds := max(1, 16/mib) // about 16 MiB each way per measure
		for _, transfer := range []bool{true, false} {
			mode := "copied"
			if transfer {
				mode = "transferred"
			}
			c := benchCase{workload: "payload", name: fmt.Sprintf("%d MiB round trip, %s", mib, mode), figure: "ms", unit: "ms", better: "lower"}
			for _, impl := range benchImpls {
				spec := benchSpec{Workload: "payload", Impl: impl, Size: mib << 20, Rounds: rounds, WarmUps: payloadWarmUps, Transfer: transfer}
				switch {
				case impl == implAtmoGo && !transfer:
					continue // a Go worker always transfers the []byte it answers
				case impl == implAtmoGo:
					// A Go []byte on the page (four copies a round trip), and
					// the page's bytes kept in JS (two: the worker's own).
					c.entries = append(c.entries, benchEntry{impl: impl, variant: "Go: a []byte on the page", spec: spec})
					spec.KeepInJS = true
					c.entries = append(c.entries, benchEntry{impl: impl, variant: "Go: the page's bytes kept in JS", spec: spec})
					// A handler of worker.HandleJS, which takes the bytes as
					// they came and moves them back: no copy, or one when it
					// reads them into Go.
					spec.Task = "bytesJS"
					c.entries = append(c.entries, benchEntry{impl: impl, variant: "Go: HandleJS, bytes left in JS", spec: spec})
					spec.Task = "bytesRead"
					c.entries = append(c.entries, benchEntry{impl: impl, variant: "Go: HandleJS, bytes read into Go", spec: spec})
					continue
				case impl == implAtmoJS && transfer:
					spec.KeepInJS = true
				}
				c.entries = append(c.entries, benchEntry{impl: impl, spec: spec})
			}
			cs = append(cs, c)
		}
	}

	for _, w := range set.StartupWorkers {
		c := benchCase{workload: "startup", name: fmt.Sprintf("%d worker(s) ready", w), figure: "ms", unit: "ms", better: "lower"}
		for _, impl := range benchImpls {
			spec := benchSpec{Workload: "startup", Impl: impl, Workers: w}
			if impl != implAtmoGo {
				c.entries = append(c.entries, benchEntry{impl: impl, spec: spec})
				continue
			}
			for _, shared := range []bool{true, false} {
				spec.Shared = shared
				v := "module compiled once, shared"
				if !shared {
					v = "each worker compiles"
				}
				c.entries = append(c.entries, benchEntry{impl: impl, variant: v, spec: spec})
			}
		}
		cs = append(cs, c)
	}

	cs = append(cs, benchCase{workload: "main-thread", name: fmt.Sprintf("%d echo at once, %d workers: main-thread CPU", set.MainThreadTasks, set.ThroughputWorkers),
		figure: "main_us_per_task", unit: "µs/task", better: "lower",
		entries: all("main-thread", func(impl string) benchSpec {
			return benchSpec{Tasks: set.MainThreadTasks, Workers: set.ThroughputWorkers, Concurrency: conc(impl)}
		})})

	queues := set.QueueTasks
	if set.QueueBaseTasks > 0 && len(queues) >= 2 {
		queues = append([]int{set.QueueBaseTasks}, queues...)
	}
	for _, n := range queues {
		cs = append(cs, benchCase{workload: "queue", name: fmt.Sprintf("%d echo queued before the workers start, %d workers", n, set.ThroughputWorkers),
			figure: "us_per_task", unit: "µs/task", better: "lower",
			entries: all("queue", func(impl string) benchSpec {
				return benchSpec{Tasks: n, Workers: set.ThroughputWorkers, Concurrency: conc(impl)}
			})})
	}
	return cs
}

// benchDriver runs measurements in the bench page.
type benchDriver struct {
	ctx context.Context
	log *pageLog
	// profile, when set, adds a profiled run of its implementation to every
	// case, written to out; its figures are not counted.
	profile *benchProfile
	out     io.Writer
}

// open loads the page and waits for its Go program.
func (d *benchDriver) open(url string) error {
	var state string
	err := chromedp.Run(d.ctx,
		performance.Enable().WithTimeDomain(performance.EnableTimeDomainThreadTicks),
		chromedp.Navigate(url),
		chromedp.Poll(`document.body && document.body.dataset.state !== 'loading' && document.body.dataset.state`, &state,
			chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)),
	)
	if err != nil {
		return fmt.Errorf("the bench page did not load: %w\npage log:\n%s", err, d.log)
	}
	if state != "ready" {
		var msg string
		_ = chromedp.Run(d.ctx, chromedp.Evaluate(`document.body.dataset.error || ''`, &msg))
		return fmt.Errorf("the bench page failed to start: %s\npage log:\n%s", msg, d.log)
	}
	return nil
}

// machine describes the machine and the browser.
func (d *benchDriver) machine() (benchMachine, error) {
	m := benchMachine{OS: goruntime.GOOS, Arch: goruntime.GOARCH, CPUs: goruntime.NumCPU(), Go: goruntime.Version(), CPU: cpuModel()}
	var info struct {
		UserAgent           string `json:"userAgent"`
		HardwareConcurrency int    `json:"hardwareConcurrency"`
		PreciseMemory       bool   `json:"preciseMemory"`
	}
	var product string
	err := chromedp.Run(d.ctx,
		chromedp.Evaluate(`bench.info()`, &info),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			_, product, _, _, _, err = browser.GetVersion().Do(ctx)
			return err
		}),
	)
	if err != nil {
		return m, fmt.Errorf("read the browser's description: %w", err)
	}
	m.Browser, m.UserAgent, m.HardwareConcurrency, m.PreciseMemory = product, info.UserAgent, info.HardwareConcurrency, info.PreciseMemory
	return m, nil
}

// cpuModel is the CPU's name from /proc/cpuinfo, "" where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the machine's 1-minute load average, 0 where unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

// await evaluates a promise-returning expression and stores its value in res.
func (d *benchDriver) await(expr string, res any) error {
	return chromedp.Run(d.ctx, chromedp.Evaluate(expr, res, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// mainThreadSeconds is the page's main-thread CPU time so far (the
// Performance domain's TaskDuration, in thread ticks). Workers run on other
// threads and are not in it.
func (d *benchDriver) mainThreadSeconds() (float64, error) {
	var ms []*performance.Metric
	err := chromedp.Run(d.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		ms, err = performance.GetMetrics().Do(ctx)
		return err
	}))
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.Name == "TaskDuration" {
			return m.Value, nil
		}
	}
	return 0, errors.New("the browser reports no TaskDuration metric")
}

// measure runs one measurement of spec: setup, measure (with the
// main-thread CPU time around it), teardown.
func (d *benchDriver) measure(spec benchSpec) (map[string]float64, error) {
	return d.measureProfiled(spec, "")
}

// measureProfiled is measure; with a title, it profiles the measure as
// d.profile asks and writes the profile under that title.
func (d *benchDriver) measureProfiled(spec benchSpec, title string) (map[string]float64, error) {
	specJSON, _ := json.Marshal(spec)
	var ok bool
	if err := d.await(fmt.Sprintf("bench.setup(%s).then(() => true)", specJSON), &ok); err != nil {
		return nil, fmt.Errorf("set up %s: %w", specJSON, err)
	}
	cpu0, err := d.mainThreadSeconds()
	if err != nil {
		return nil, err
	}
	var pr *profiling
	if title != "" {
		if pr, err = d.startProfile(d.profile); err != nil {
			return nil, err
		}
		defer pr.stop() // after teardown: detaching from a worker may end it
	}
	var figs map[string]float64
	if err := d.await(`bench.measure()`, &figs); err != nil {
		return nil, fmt.Errorf("measure %s: %w", specJSON, err)
	}
	if pr != nil {
		if err := pr.finish(d.out, title, d.profile.top, d.profile.dir); err != nil {
			return nil, err
		}
	}
	cpu1, err := d.mainThreadSeconds()
	if err != nil {
		return nil, err
	}
	if err := d.await(`bench.teardown().then(() => true)`, &ok); err != nil {
		return nil, fmt.Errorf("tear down %s: %w", specJSON, err)
	}
	figs["main_thread_ms"] = (cpu1 - cpu0) * 1000
	if n := figs["tasks"]; n > 0 {
		figs["main_us_per_task"] = (cpu1 - cpu0) * 1e6 / n
	}
	return figs, nil
}

// payloadWarmUps is how many full-size round trips each payload
// measurement makes first, uncounted. A large copy into memory never
// touched before faults page by page, and a new worker's first round trips
// land there: with one warm-up (and before values.CollectBeforeCopy read
// what a collection scans), a 64 MiB []byte round trip with a Go worker
// took 254, 71 and 26 ms in three runs one after another in one page.
const payloadWarmUps = 4

// warmUpRounds is how many times warmUp runs each implementation: with
// three, atmo's first round trips after it still ran 30% slower than its
// later ones in the same page (113 against 83-90 µs).
const warmUpRounds = 6

// warmUp runs each implementation's echo tasks, all at once and then one at
// a time, warmUpRounds times, before anything is measured. The page lives
// through the whole suite, and V8 compiles a hot wasm function with its
// optimising tier in the background some time after it turned hot: without
// this, the first cases measured the Go main thread half-compiled (atmo's
// round trip fell from 174 to 87 µs over five runs of one suite, raw's from
// 99 to 69). Each measurement still warms up its own workers, which are new.
func (d *benchDriver) warmUp(set benchSettings, log io.Writer) error {
	if set.Name == "tiny" {
		return nil // a smoke test: its figures mean little anyway
	}
	fmt.Fprintln(log, "atmo bench: warming up the page (not counted)")
	for range warmUpRounds {
		for _, impl := range benchImpls {
			for _, spec := range []benchSpec{
				{Workload: "throughput", Impl: impl, Tasks: set.ThroughputTasks / 5, Workers: set.ThroughputWorkers, Concurrency: 32},
				{Workload: "roundtrip", Impl: impl, Tasks: set.RoundTripTasks},
			} {
				if _, err := d.measure(spec); err != nil {
					return fmt.Errorf("warm-up, %s %s: %w\npage log:\n%s", spec.Workload, impl, err, d.log)
				}
			}
		}
	}
	// Let the browser finish what the warm-up left (the ended workers'
	// teardown, collection) before the first measurement.
	time.Sleep(time.Second)
	return nil
}

// runCase runs every entry of c, runs times, interleaved so that drift
// (heat, other load) spreads over the implementations, and adds the medians
// to rep.
func (d *benchDriver) runCase(c benchCase, runs int, rep *benchReport, progress io.Writer) error {
	all := make([][]map[string]float64, len(c.entries))
	for r := 0; r < runs; r++ {
		for i, e := range c.entries {
			spec := e.spec
			spec.Run = len(rep.Results)*1000 + r*100 + i // unique per measurement
			figs, err := d.measure(spec)
			if err != nil {
				return fmt.Errorf("%s (%s), %s %s: %w\npage log:\n%s", c.workload, c.name, e.impl, e.variant, err, d.log)
			}
			if progress != nil {
				fmt.Fprintf(progress, "bench: %s | %s | %s %s | run %d: %s = %.4g\n", c.workload, c.name, e.impl, e.variant, r+1, c.figure, figs[c.figure])
			}
			all[i] = append(all[i], figs)
		}
	}
	if d.profile != nil {
		for i, e := range c.entries {
			if e.impl != d.profile.impl {
				continue
			}
			spec := e.spec
			spec.Run = len(rep.Results)*1000 + runs*100 + i
			title := strings.Join(slices.DeleteFunc([]string{e.impl, e.variant, c.workload, c.name}, func(s string) bool { return s == "" }), " | ")
			if _, err := d.measureProfiled(spec, title); err != nil {
				return fmt.Errorf("%s (%s), %s %s, profiled: %w\npage log:\n%s", c.workload, c.name, e.impl, e.variant, err, d.log)
			}
		}
	}
	for i, e := range c.entries {
		res := benchResult{Workload: c.workload, Case: c.name, Impl: e.impl, Variant: e.variant,
			Figure: c.figure, Unit: c.unit, Better: c.better, Figures: map[string]float64{}, Spec: e.spec}
		names := map[string]bool{}
		for _, f := range all[i] {
			res.Runs = append(res.Runs, f[c.figure])
			for k := range f {
				names[k] = true
			}
		}
		for k := range names {
			var vs []float64
			for _, f := range all[i] {
				if v, ok := f[k]; ok {
					vs = append(vs, v)
				}
			}
			res.Figures[k] = median(vs)
		}
		res.Median = median(res.Runs)
		rep.Results = append(rep.Results, res)
	}
	return nil
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pickBestConcurrency records, per atmo implementation, the throughput
// Concurrency with the highest median.
func pickBestConcurrency(rep *benchReport) {
	top := map[string]float64{}
	for _, r := range rep.Results {
		if r.Workload != "throughput" || r.Spec.Concurrency == 0 {
			continue
		}
		if r.Median > top[r.Impl] {
			top[r.Impl] = r.Median
			rep.Best[r.Impl] = r.Spec.Concurrency
		}
	}
}

// addRatios sets VsRaw and VsWorkerpool from the medians of the same case.
func addRatios(rep *benchReport) {
	type key struct{ workload, name string }
	base := map[key]map[string]float64{}
	for _, r := range rep.Results {
		if r.Impl == implRaw || r.Impl == implWorkerpool {
			k := key{r.Workload, r.Case}
			if base[k] == nil {
				base[k] = map[string]float64{}
			}
			base[k][r.Impl] = r.Median
		}
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		b := base[key{r.Workload, r.Case}]
		if v := b[implRaw]; v > 0 {
			r.VsRaw = r.Median / v
		}
		if v := b[implWorkerpool]; v > 0 {
			r.VsWorkerpool = r.Median / v
		}
	}
}

// checkWritable says why a file could not be written at path, before
// anything is: its directory must exist and take a new file, and path must
// not be a directory.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errors.New("is a directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".bench-*.json")
	if err != nil {
		return fmt.Errorf("cannot write there: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func writeBenchJSON(path string, rep *benchReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the results: %w", err)
	}
	return nil
}
