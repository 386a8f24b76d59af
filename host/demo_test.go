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
