package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeBlock returns the README's fenced code block that begins with first.
func readmeBlock(t *testing.T, first string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, block := range strings.Split(string(b), "```")[1:] {
		lang, body, _ := strings.Cut(block, "\n")
		if !strings.Contains(lang, " ") && strings.HasPrefix(body, first) {
			return body
		}
	}
	t.Fatalf("README.md has no code block beginning %q", first)
	return ""
}

func TestTheREADMEsHelperWorkerRunsAsWritten(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"readme-worker.js": readmeBlock(t, "importScripts('/jsworker/atmo-worker.js');")})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['add', 'divide', 'slow', 'bytes'], script: '/t/readme-worker.js' }]);
  const reports = [];
  const buf = new Uint8Array([1, 2, 3]);
  const out = {
    add: await tm.run('add', { a: 2, b: 3 }),
    divide: await tm.run('divide', { a: 1, b: 0 }).catch((e) => e.message),
    slow: await tm.run('slow', { ms: 10 }, { onProgress: (r) => reports.push(r.content) }),
    bytes: Array.from(await tm.run('bytes', { buf }, { transfer: [buf.buffer] })),
  };
  const task = tm.addTask({ name: 'slow', params: { ms: 60000 }, onError: (r) => (out.cancelled = r.error) });
  await new Promise((resolve) => setTimeout(resolve, 50));
  task.cancel();
  await new Promise((resolve) => setTimeout(resolve, 50));
  out.reports = reports;
  out.sent = buf.byteLength;
  await tm.close();
  return out;`), &got)
	assert.Equal(t, 5.0, got["add"])
	assert.Equal(t, "Division by zero is not allowed", got["divide"])
	assert.Equal(t, "done", got["slow"])
	assert.Equal(t, []any{0.5}, got["reports"])
	assert.Equal(t, []any{1.0, 2.0, 3.0}, got["bytes"])
	assert.Equal(t, 0.0, got["sent"], "the buffer moved to the worker")
	assert.NotEmpty(t, got["cancelled"], "a cancelled slow task settles at once")
}

func TestTheREADMEsGoWorkerBuildsAndRunsAsWritten(t *testing.T) {
	// The "Go workers" section's program, built as the README says
	// (GOOS=js GOARCH=wasm go build), started with Module as it says.
	src := readmeBlock(t, "package main\n\nimport (\n\t\"context\"\n\t\"errors\"\n\n\t\"github.com/atmoworkers/atmo/wasm/worker\"")
	dir, err := os.MkdirTemp("..", "_readme-goworker-") // inside the module, which it imports; "_" keeps it out of ./...
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	out := filepath.Join(t.TempDir(), "readme.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./"+filepath.Base(dir))
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "GOOS=js GOARCH=wasm go build: %s", b)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)

	ctx := apiPageWith(t, map[string]string{"readme.wasm": string(wasm)})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['add', 'divide'], module: '/t/readme.wasm' }]);
  const out = {
    add: await tm.run('add', { a: 2, b: 3 }),
    divide: await tm.run('divide', { A: 10, B: 4 }),
    byZero: await tm.run('divide', { a: 1, b: 0 }).catch((e) => e.message),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, 5.0, got["add"])
	assert.Equal(t, 2.5, got["divide"])
	assert.Equal(t, "Division by zero is not allowed", got["byZero"])
}
