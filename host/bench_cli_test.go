package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A -json path that cannot be written is said before the suite runs, not
// after it (a full run takes minutes, and its every run and secondary
// figure would be lost). CHROMIUM points nowhere so that the code that
// does not check first fails fast, after printing that it started.
func TestBenchJSONPathIsCheckedBeforeTheRun(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	for _, p := range []string{
		filepath.Join(t.TempDir(), "missing", "bench.json"), // no such directory
		t.TempDir(), // a directory, not a file
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"bench", "-tiny", "-json", p}, &stdout, &stderr)
		assert.NotEqual(t, 0, code)
		assert.Contains(t, stderr.String(), "host: -json "+p, "%s", p)
		assert.Empty(t, stdout.String(), "%s: nothing should have run", p)
	}
}

// -timeout 0 or less can only fail, after building everything, as
// "start Chromium: context deadline exceeded": it is a usage error.
func TestBenchTimeoutMustBePositive(t *testing.T) {
	for _, v := range []string{"0s", "-1s"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"bench", "-tiny", "-timeout", v}, &stdout, &stderr)
		assert.Equal(t, 2, code, "%s: %s", v, &stderr)
		assert.Contains(t, stderr.String(), "host: -timeout "+v, v)
		assert.Empty(t, stdout.String(), "%s: nothing ran", v)
	}
}

// Ctrl-C during the suite closes the browser as the end of a run does,
// which removes the profile directory chromedp made for it under TMPDIR.
// A fake Chromium that never answers stands in for the browser: chromedp
// makes the directory before starting it.
func TestBenchInterruptRemovesTheBrowsersProfileDir(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("signals and the fake browser script are for Linux")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "host")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	mark := filepath.Join(dir, "started")
	fake := filepath.Join(dir, "chromium")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho started > "+mark+"\nexec sleep 600\n"), 0o755))
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "bench", "-tiny")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CHROMIUM="+fake, "TMPDIR="+tmp)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	require.Eventually(t, func() bool { _, err := os.Stat(mark); return err == nil }, 3*time.Minute, 100*time.Millisecond, "the fake browser never started")
	runners, _ := filepath.Glob(filepath.Join(tmp, "chromedp-runner*"))
	require.NotEmpty(t, runners, "chromedp made no profile directory")

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("bench did not end within 30 s of Ctrl-C")
	}
	runners, _ = filepath.Glob(filepath.Join(tmp, "chromedp-runner*"))
	assert.Empty(t, runners, "Ctrl-C left the browser's profile directory behind\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	assert.Contains(t, stderr.String(), "interrupted")
}

// `host help` shows bench's line of flags; each flag bench -h lists is on it
// (the doc comment of main.go has -profile-dir; the help did not).
func TestHostHelpListsEveryBenchFlag(t *testing.T) {
	var help, stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"help"}, &help, &stderr))
	require.Equal(t, 0, run([]string{"bench", "-h"}, &stdout, &stderr))
	var line string
	for _, l := range strings.Split(help.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "host bench ") {
			line = l
		}
	}
	require.NotEmpty(t, line, help.String())
	for _, f := range regexp.MustCompile(`(?m)^  (-[a-z-]+)`).FindAllStringSubmatch(stderr.String(), -1) {
		assert.Regexp(t, `[\[|]`+regexp.QuoteMeta(f[1])+`[\] |]`, line, "host help's bench line has no %s", f[1])
	}
}

// When -timeout ends the run, the error says so, rather than only
// "context deadline exceeded" from whatever step it cut short (here the
// browser's start, which a fake Chromium that never answers holds up).
func TestBenchTimeoutIsNamedWhenItEndsTheRun(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("the fake browser script is for Linux")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755))
	t.Setenv("CHROMIUM", fake)
	t.Setenv("TMPDIR", dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-tiny", "-timeout", "3s", "-json", filepath.Join(dir, "bench.json")}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "host: gave up after -timeout 3s")
}

// With -only main-thread or -only queue, throughput does not run, so no
// best Concurrency is picked and atmo runs at 32: the report says so (the
// README says these run at "its best throughput Concurrency").
func TestTheReportSaysWhichConcurrencyMainThreadRanWithoutThroughput(t *testing.T) {
	set := tinyBenchSettings()
	set.Only = []string{"main-thread"}
	rep := &benchReport{Settings: set, Best: map[string]int{}, Machine: benchMachine{PreciseMemory: true}}
	for _, c := range benchPlan(set, 2, rep.Best) {
		if c.workload != "main-thread" {
			continue
		}
		for _, e := range c.entries {
			rep.Results = append(rep.Results, benchResult{Workload: c.workload, Case: c.name, Impl: e.impl, Spec: e.spec, Figures: map[string]float64{}})
		}
	}
	require.NotEmpty(t, rep.Results)
	var found bool
	for _, l := range benchDerived(rep) {
		found = found || strings.Contains(l, "Concurrency 32")
	}
	assert.True(t, found, "nothing says atmo ran main-thread at Concurrency 32: %q", benchDerived(rep))
}

// A -profile-dir the profiles cannot be written to is said before the run
// too: the first profile is written only once the first case has run
// (all of it, with -only throughput). /sys/kernel exists and takes no new
// file, even from root.
func TestBenchProfileDirIsCheckedBeforeTheRun(t *testing.T) {
	if f, err := os.CreateTemp("/sys/kernel", "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Skip("/sys/kernel takes files here")
	} else if _, err := os.Stat("/sys/kernel"); err != nil {
		t.Skip("no /sys/kernel")
	}
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-tiny", "-profile", "atmo-go", "-profile-dir", "/sys/kernel", "-json", filepath.Join(t.TempDir(), "b.json")}, &stdout, &stderr)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr.String(), "host: -profile-dir /sys/kernel")
	assert.Empty(t, stdout.String(), "nothing should have run")
}
