package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoRunsItsWorkloadOnEveryExampleAndSaysEveryResultWasRight(t *testing.T) {
	needBuild(t)
	out := filepath.Join(t.TempDir(), "demo.png")
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "-wasm", repoWasmDir, "-out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	assert.Contains(t, stdout.String(), "every result was right")
	assert.Contains(t, stdout.String(), "tasks on GO workers")
	png, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "a screenshot")
}

func TestDemoFailsWhenAGoExampleWasNotBuilt(t *testing.T) {
	needBuild(t)
	// A build directory with atmo.wasm and the sha256 Go worker, but not the
	// math one: the JS math workers would take its tasks unseen.
	abs, err := filepath.Abs(repoWasmDir)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "workers"), 0o755))
	for _, name := range []string{"atmo.wasm", "wasm_exec.js", filepath.Join("workers", "sha256.wasm")} {
		require.NoError(t, os.Symlink(filepath.Join(abs, name), filepath.Join(dir, name)))
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "-wasm", dir, "-out", filepath.Join(t.TempDir(), "demo.png")}, &stdout, &stderr)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr.String(), "no GO worker for fibonacci ran a task: is workers/math.wasm built in -wasm's directory? (make build")
	// go tool host demo runs from a module of one's own too (go tool host -h
	// lists it), where there is no make build: the hint says what builds it there.
	assert.Contains(t, stderr.String(), "GOOS=js GOARCH=wasm go build -o "+filepath.Join(dir, "workers", "math.wasm")+" github.com/atmoworkers/atmo/examples/goworker/math")
	assert.NotContains(t, stdout.String(), "every result was right")
}

func TestDemoChecksWhereItsScreenshotGoesBeforeItRuns(t *testing.T) {
	needBuild(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "-wasm", repoWasmDir, "-out", "/no/such/dir/demo.png"}, &stdout, &stderr)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr.String(), "-out /no/such/dir/demo.png: there is no directory /no/such/dir to write the screenshot in")
	assert.Empty(t, stdout.String(), "nothing was started")
}

// An -out that names a folder (or nothing) cannot take the screenshot
// either: that too is said before the run, not after it.
func TestDemoRefusesAnOutThatIsAFolderBeforeItRuns(t *testing.T) {
	needBuild(t)
	for _, out := range []string{t.TempDir(), ""} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"demo", "-wasm", repoWasmDir, "-out", out}, &stdout, &stderr)
		assert.NotEqual(t, 0, code)
		assert.Contains(t, stderr.String(), "-out "+out+":")
		assert.Empty(t, stdout.String(), "nothing was started")
	}
}

// An -out the screenshot cannot be written to is a word the user typed:
// a usage error (exit 2), as a bad flag is, saying what to type instead,
// before anything is started. A missing directory is not made: the
// message says to make it.
func TestDemoBadOutIsAUsageErrorSayingWhatToDo(t *testing.T) {
	needBuild(t)
	missing := filepath.Join(t.TempDir(), "no", "such")
	folder := t.TempDir()
	for _, c := range []struct{ out, say string }{
		{filepath.Join(missing, "demo.png"), "-out " + filepath.Join(missing, "demo.png") + ": there is no directory " + missing + " to write the screenshot in: make it first (mkdir -p " + missing + "), or name a file in a directory that exists"},
		{folder, "-out " + folder + ": is a directory; name a file in it, such as " + filepath.Join(folder, "demo.png")},
		{"", "-out : name a file to write the screenshot to, such as demo.png"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"demo", "-wasm", repoWasmDir, "-out", c.out}, &stdout, &stderr)
		assert.Equal(t, 2, code, "-out %q: %s", c.out, &stderr)
		assert.Contains(t, stderr.String(), c.say)
		assert.Empty(t, stdout.String(), "nothing was started")
	}
	_, err := os.Stat(missing)
	assert.True(t, os.IsNotExist(err), "the missing directory is not made")
}
