//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A named pipe among the served files (a dev tool's, or a link to one) is
// no file to send: opening it waits for a writer that never comes, so a
// request for it would hang, holding its connection and goroutine for good.
func TestServerAnswersANamedPipeWith404AtOnce(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(mount, "d"), 0o755))
	var fifos []string
	for _, p := range []string{
		filepath.Join(mount, "pipe.js"),
		filepath.Join(mount, "d", "index.html"),
		filepath.Join(dir, "workers", "pipe.wasm"),
		filepath.Join(dir, "wasm_exec.js"),
	} {
		if _, err := os.Stat(p); err == nil {
			require.NoError(t, os.Remove(p))
		}
		require.NoError(t, syscall.Mkfifo(p, 0o644))
		fifos = append(fifos, p)
	}
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}}))
	// On failure, a writer's open and close lets every blocked open end,
	// so that srv.Close does not wait for ever.
	t.Cleanup(func() {
		for i := 0; t.Failed() && i < 200; i++ {
			for _, p := range fifos {
				if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		srv.Close()
	})
	client := &http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/m/pipe.js", "/m/d", "/m/d/", "/workers/pipe.wasm"} {
		res, err := client.Get(srv.URL + path)
		if !assert.NoError(t, err, "%s: a request for a named pipe hangs", path) {
			continue
		}
		res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	res, err := client.Get(srv.URL + "/wasm_exec.js")
	if assert.NoError(t, err, "/wasm_exec.js: a request for a named pipe hangs") {
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "the toolchain's wasm_exec.js stands in for the build's, which is no file")
	}
}
