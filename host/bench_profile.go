package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// benchProfile is what -profile asks for: V8's sampling profiler around
// the last run of one implementation's measurements, on the page's main
// thread or on a worker's thread, with the functions that took the most
// time printed under it. Go functions appear by name (Go's wasm keeps its
// name section), so this is how the Go main thread and Go workers are
// profiled where they run.
type benchProfile struct {
	impl   string
	worker bool
	top    int
	dir    string // where to save each profile whole, if anywhere (-profile-dir)
}

// profileUsage is -profile's help.
var profileUsage = "add a run of one implementation to each case, under V8's sampling profiler, and print its top functions (the run is not counted): " +
	"IMPL for the page's main thread or IMPL/worker for a worker's thread, IMPL one of " + strings.Join(benchImpls, ", ")

func parseBenchProfile(s string) (*benchProfile, error) {
	if s == "" {
		return nil, nil
	}
	impl, thread, _ := strings.Cut(s, "/")
	if !slices.Contains(benchImpls, impl) {
		return nil, fmt.Errorf("-profile %q: no implementation %q; use one of %s, optionally followed by /worker", s, impl, strings.Join(benchImpls, ", "))
	}
	if thread != "" && thread != "worker" {
		return nil, fmt.Errorf("-profile %q: %q is not a thread; write %s for the main thread or %s/worker for a worker's", s, thread, impl, impl)
	}
	return &benchProfile{impl: impl, worker: thread == "worker", top: 25}, nil
}

// profiling is a profile being taken.
type profiling struct {
	ctx    context.Context
	cancel context.CancelFunc // detaches from a worker; nil for the page
	thread string
}

// startProfile starts the profiler on the page, or on the first worker
// thread there is once the measurement is set up.
func (d *benchDriver) startProfile(p *benchProfile) (*profiling, error) {
	// 50 µs between samples: finer slows Go's wasm enough to skew what it shows.
	start := func(ctx context.Context) error {
		return chromedp.Run(ctx, profiler.Enable(), profiler.SetSamplingInterval(50), profiler.Start())
	}
	if !p.worker {
		if err := start(d.ctx); err != nil {
			return nil, fmt.Errorf("start the profiler: %w", err)
		}
		return &profiling{ctx: d.ctx, thread: "main thread"}, nil
	}
	ts, err := chromedp.Targets(d.ctx)
	if err != nil {
		return nil, fmt.Errorf("list the browser's targets: %w", err)
	}
	// Try each worker, from the end of the list: one that an earlier
	// measurement terminated may still be listed, and attaching to it fails.
	var errs []string
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Type != "worker" {
			continue
		}
		ctx, cancel := chromedp.NewContext(d.ctx, chromedp.WithTargetID(ts[i].TargetID))
		if err := start(ctx); err != nil {
			cancel()
			errs = append(errs, err.Error())
			continue
		}
		return &profiling{ctx: ctx, cancel: cancel, thread: "worker thread " + ts[i].URL}, nil
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("-profile %s/worker: could not profile any worker thread: %s", p.impl, strings.Join(errs, "; "))
	}
	return nil, fmt.Errorf("-profile %s/worker: no worker thread runs once the measurement is set up (startup and queue start theirs inside it); profile the main thread instead", p.impl)
}

func (pr *profiling) stop() {
	if pr.cancel != nil {
		pr.cancel()
	}
}

// finish stops the profiler and writes the functions with the most self
// time, as shares of the samples; with dir, it also saves the whole
// profile there (see writeProfile).
func (pr *profiling) finish(w io.Writer, title string, top int, dir string) error {
	var prof *profiler.Profile
	err := chromedp.Run(pr.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		prof, err = profiler.Stop().Do(ctx)
		return err
	}))
	if err != nil {
		return fmt.Errorf("stop the profiler: %w", err)
	}
	if dir != "" {
		if err := writeProfile(dir, title+", "+pr.thread, prof); err != nil {
			return err
		}
	}
	names := map[int64]string{}
	for _, n := range prof.Nodes {
		name := n.CallFrame.FunctionName
		if name == "" {
			name = "(anonymous " + n.CallFrame.URL + ")"
		}
		names[n.ID] = name
	}
	self := map[string]int{}
	for _, id := range prof.Samples {
		self[names[id]]++
	}
	fns := make([]string, 0, len(self))
	for f := range self {
		fns = append(fns, f)
	}
	sort.Slice(fns, func(i, j int) bool {
		return self[fns[i]] > self[fns[j]] || self[fns[i]] == self[fns[j]] && fns[i] < fns[j]
	})
	fmt.Fprintf(w, "\nprofile: %s, %s, %d samples; self time by function:\n", title, pr.thread, len(prof.Samples))
	for i, f := range fns {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %5.1f%%  %s\n", 100*float64(self[f])/float64(len(prof.Samples)), f)
	}
	return nil
}

// writeProfile saves a profile as a .cpuprofile file, which Chrome
// DevTools opens (Performance panel, "Load profile"): with its call tree,
// for the time spent inside a function and everything it calls, which the
// printed list of self times does not show. The file is named after title.
func writeProfile(dir, title string, prof *profiler.Profile) error {
	b, err := json.Marshal(prof)
	if err != nil {
		return fmt.Errorf("save the profile: %w", err)
	}
	name := strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == '|' || r == ',' {
			return '_'
		}
		return r
	}, title)
	path := filepath.Join(dir, name+".cpuprofile")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("save the profile: %w (is -profile-dir %s a directory you may write to?)", err, dir)
	}
	return nil
}
