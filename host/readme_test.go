package main

import (
	"os"
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
