package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite is a benchmark, not a test: this only checks that it runs end
// to end and reports a figure for every workload and implementation. It
// asserts no time.
func TestBenchShortRunsEveryWorkloadAndWritesJSON(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	if err := ensurePeer(root, &bytes.Buffer{}); errors.Is(err, errPeerUnavailable) {
		t.Skipf("the bench's peer is missing and could not be installed, so the suite cannot run here: %v", err)
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-tiny", "-json", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "WORKLOAD")
	assert.Contains(t, stdout.String(), "wrote "+out)

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var rep benchReport
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Equal(t, "tiny", rep.Settings.Name)
	assert.NotEmpty(t, rep.Machine.Browser)
	assert.Positive(t, rep.Machine.HardwareConcurrency)

	positive := map[string]map[string]bool{}
	for _, r := range rep.Results {
		if positive[r.Workload] == nil {
			positive[r.Workload] = map[string]bool{}
		}
		if r.Median > 0 {
			positive[r.Workload][r.Impl] = true
		}
		assert.Len(t, r.Runs, rep.Settings.runsOf(r.Workload), "%s %s %s %s", r.Workload, r.Case, r.Impl, r.Variant)
		if r.Impl == implAtmoJS || r.Impl == implAtmoGo {
			assert.Positive(t, r.VsRaw, "%s %s %s: no ratio to raw", r.Workload, r.Case, r.Impl)
			assert.Positive(t, r.VsWorkerpool, "%s %s %s: no ratio to workerpool", r.Workload, r.Case, r.Impl)
		}
	}
	for _, w := range benchWorkloads {
		for _, impl := range benchImpls {
			assert.True(t, positive[w][impl], "no positive figure for %s on %s", w, impl)
		}
	}
}

func TestBenchProfilesAWorkersThreadOnRequest(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	if err := ensurePeer(root, &bytes.Buffer{}); errors.Is(err, errPeerUnavailable) {
		t.Skipf("the bench's peer is missing and could not be installed, so the suite cannot run here: %v", err)
	}
	var stdout, stderr bytes.Buffer
	dir := filepath.Join(t.TempDir(), "profiles")
	code := run([]string{"bench", "-tiny", "-only", "roundtrip", "-profile", "atmo-go/worker", "-profile-dir", dir, "-json", filepath.Join(t.TempDir(), "b.json")}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "profile: atmo-go | roundtrip")
	assert.Contains(t, out, "worker thread blob:", "the profile is of the worker's thread")
	assert.Contains(t, out, "self time by function")
	assert.Regexp(t, `\d%  \S`, out, "functions are listed with their share of the samples")

	saved, err := filepath.Glob(filepath.Join(dir, "atmo-go_*roundtrip*worker_thread_blob*.cpuprofile"))
	require.NoError(t, err)
	require.NotEmpty(t, saved, "-profile-dir saves each profile whole")
	b, err := os.ReadFile(saved[0])
	require.NoError(t, err)
	var prof struct {
		Nodes   []json.RawMessage `json:"nodes"`
		Samples []int64           `json:"samples"`
	}
	require.NoError(t, json.Unmarshal(b, &prof), "a .cpuprofile is V8's profile as JSON")
	assert.NotEmpty(t, prof.Nodes)
	assert.NotEmpty(t, prof.Samples)
}

func TestBenchProfileDirWithoutProfileIsAnError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-tiny", "-profile-dir", t.TempDir()}, &stdout, &stderr)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr.String(), "nothing to save without -profile")
}

func TestBenchProfileFlagSaysWhatItTakes(t *testing.T) {
	for flagValue, want := range map[string]string{
		"atmo":             `no implementation "atmo"; use one of raw, workerpool, atmo-js, atmo-go`,
		"atmo-go/gpu":      `"gpu" is not a thread; write atmo-go for the main thread or atmo-go/worker`,
		"workerpool/other": `"other" is not a thread`,
	} {
		_, err := parseBenchProfile(flagValue)
		require.Error(t, err, flagValue)
		assert.Contains(t, err.Error(), want)
	}
	p, err := parseBenchProfile("raw/worker")
	require.NoError(t, err)
	assert.Equal(t, "raw", p.impl)
	assert.True(t, p.worker)
	p, err = parseBenchProfile("")
	require.NoError(t, err)
	assert.Nil(t, p, "no flag, no profile")
}

func TestTheRoundTripRatioIsAlsoShownRunByRun(t *testing.T) {
	rep := &benchReport{Machine: benchMachine{PreciseMemory: true}, Results: []benchResult{
		{Workload: "roundtrip", Case: "one at a time", Impl: implRaw, Runs: []float64{50, 100, 60}},
		{Workload: "roundtrip", Case: "one at a time", Impl: implAtmoJS, Runs: []float64{60, 110, 90}},
		{Workload: "roundtrip", Case: "one at a time", Impl: implAtmoGo, Runs: []float64{100, 200}}, // a run missing: no pairs
	}}
	assert.Equal(t, []string{"round trip ÷ raw, run by run (each pair measured side by side): atmo-js 1.10-1.50× (median 1.20×)"}, benchDerived(rep))
}

func TestCPUScalingIsShownForEachOfAtmosSettings(t *testing.T) {
	one, two := "64 × fib(27), 1 worker", "64 × fib(27), 2 workers (the cores)"
	rep := &benchReport{Machine: benchMachine{HardwareConcurrency: 2, PreciseMemory: true}, Results: []benchResult{
		{Workload: "cpu", Case: one, Impl: implRaw, Median: 100},
		{Workload: "cpu", Case: one, Impl: implAtmoJS, Variant: "Concurrency 2", Median: 100},
		{Workload: "cpu", Case: one, Impl: implAtmoJS, Variant: "Concurrency 32", Median: 96},
		{Workload: "cpu", Case: two, Impl: implRaw, Median: 55},
		{Workload: "cpu", Case: two, Impl: implAtmoJS, Variant: "Concurrency 2", Median: 56},
		{Workload: "cpu", Case: two, Impl: implAtmoJS, Variant: "Concurrency 32", Median: 50},
	}}
	assert.Equal(t, []string{"CPU scaling, speedup from 1 worker to 2: raw 1.82×, atmo-js (Concurrency 2) 1.79×, atmo-js (Concurrency 32) 1.92×"},
		benchDerived(rep))
}

func TestCPUScalingGivesAtmoEachWorkersShareAtOnceAsWellAsTwoAtATime(t *testing.T) {
	assert.Equal(t, []int{2, 32}, cpuConcurrencies(64, 2), "2 cores: 32 tasks each")
	assert.Equal(t, []int{2, 16}, cpuConcurrencies(64, 4))
	assert.Equal(t, []int{2, 3}, cpuConcurrencies(5, 2), "an odd share rounds up")
	assert.Equal(t, []int{2}, cpuConcurrencies(4, 2), "a share of 2 is the first setting already")
}

func TestTheQueuesPerTaskGrowthTakesTheStartUpOffBothSizes(t *testing.T) {
	// 300 ms of start-up in every drain, then 50 µs a task at both sizes:
	// linear. Divided by the task count alone, the start-up weighed ten
	// times more on the smaller queue, and it read 0.66×.
	base, small, large := "100 echo queued", "10000 echo queued", "100000 echo queued"
	queue := func(name string, tasks int, drainMs float64) benchResult {
		return benchResult{Workload: "queue", Case: name, Impl: implRaw, Spec: benchSpec{Tasks: tasks},
			Median: drainMs * 1000 / float64(tasks), Figures: map[string]float64{"drain_ms": drainMs, "bytes_per_task": 100}}
	}
	results := []benchResult{queue(base, 100, 305), queue(small, 10_000, 800), queue(large, 100_000, 5300)}
	rep := &benchReport{Settings: benchSettings{QueueBaseTasks: 100}, Machine: benchMachine{PreciseMemory: true}, Results: results}
	assert.Contains(t, benchDerived(rep), "queue, per-task cost at the largest size ÷ at the smallest, the start-up (the base queue's drain) taken off both (1.00× is linear): raw 1.00×")

	rep = &benchReport{Machine: benchMachine{PreciseMemory: true}, Results: results[1:]} // runs from before the base queue
	assert.Contains(t, benchDerived(rep), "queue, µs per task at the largest size ÷ at the smallest (1.00× is linear): raw 0.66×")
}

// A bad value of a bench flag is a usage error, as a flag the flag package
// refuses is (exit 2, the project's rule: 1 says the command ran and
// failed), and -runs 0, which says "want 1 or more" of -1, is refused too
// rather than taken as the default. -short with -tiny is refused, not taken
// as -tiny. A refused command makes no -profile-dir.
func TestABadBenchFlagValueIsAUsageError(t *testing.T) {
	unmade := filepath.Join(t.TempDir(), "profiles")
	for _, args := range [][]string{
		{"-short"},
		{"-timeout", "0s", "-profile", "atmo-go", "-profile-dir", unmade},
		{"-runs", "-1"},
		{"-runs", "0"},
		{"-only", "roundtrips"},
		{"-profile", "atmo"},
		{"-profile-dir", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"bench", "-tiny"}, args...), &stdout, &stderr)
		assert.Equal(t, 2, code, "%q: %s", args, &stderr)
		assert.Contains(t, stderr.String(), "host: "+args[0], "%q", args)
		assert.Empty(t, stdout.String(), "%q: nothing ran", args)
	}
	assert.NoDirExists(t, unmade)
}

// README.md sends the reader to examples/bench/README.md for "every
// workload, figure and flag": each flag bench -h lists is there.
func TestEveryBenchFlagIsInTheBenchREADME(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"bench", "-h"}, &stdout, &stderr))
	doc, err := os.ReadFile(filepath.Join("..", "examples", "bench", "README.md"))
	require.NoError(t, err)
	flags := regexp.MustCompile(`(?m)^  (-[a-z-]+)`).FindAllStringSubmatch(stderr.String(), -1)
	require.NotEmpty(t, flags, stderr.String())
	for _, f := range flags {
		assert.True(t, strings.Contains(string(doc), "`"+f[1]), "examples/bench/README.md says nothing of %s", f[1])
	}
}
