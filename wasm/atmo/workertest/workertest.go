//go:build js && wasm

// Package workertest starts real Web Workers in browser tests of a page's
// Go code, run with GOOS=js GOARCH=wasm go test under wasmbrowsertest.
//
// wasmbrowsertest serves only the test binary and wasm_exec.js: any other
// path answers 200 with an empty body, so a worker started from a path
// (Script: "/workers/math-worker.js") never answers init-worker, and its
// start fails only after WorkerConfig.StartTimeout, three times over.
// Start workers from Blob URLs instead, made of the scripts' and modules'
// bytes, which a test reads with os.ReadFile (relative to its package's
// directory) or from an embedded file system:
//
//	tm := atmo.NewTaskManager()
//	wm, err := atmo.NewBrowserWorkerManager(tm,
//		atmo.WorkerConfig{Tasks: []string{"add"}, Script: workertest.HelperScriptURL(t, `atmoWorker({ add: ({ a, b }) => a + b });`)},
//		atmo.WorkerConfig{Tasks: []string{"resize"}, Module: workertest.FileURL(t, "testdata/resize.wasm")},
//	)
//
// A Go worker module is built before the test (go generate, or a make
// step): go test does not build it.
package workertest

import (
	"io/fs"
	"os"
	"path"
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/jsworker"
)

// ScriptURL makes a Blob URL of JavaScript source, revoked when the test
// ends.
func ScriptURL(t testing.TB, source string) string {
	t.Helper()
	return blobURL(t, source, "text/javascript")
}

// HelperScriptURL makes a Blob URL of a classic worker written with atmo's
// helper (jsworker/atmo-worker.js, from jsworker.FS): the helper's text,
// then body, which calls atmoWorker({...}).
func HelperScriptURL(t testing.TB, body string) string {
	t.Helper()
	helper, err := fs.ReadFile(jsworker.FS, "atmo-worker.js")
	if err != nil {
		t.Fatalf("workertest: reading atmo-worker.js: %v", err)
	}
	return ScriptURL(t, string(helper)+"\n"+body)
}

// FileURL makes a Blob URL of a file read with os.ReadFile: a path relative
// to the test's package directory, such as a Go worker module built into
// testdata. A .wasm file is served as application/wasm, anything else as
// JavaScript.
func FileURL(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("workertest: %v (a Go worker module is built before go test runs: GOOS=js GOARCH=wasm go build -o %s ./your/worker)", err, name)
	}
	return BytesURL(t, b, mimeOf(name))
}

// FSURL is FileURL for a file of fsys, an embedded file system such as
// jsworker.FS or the examples' workers.FS.
func FSURL(t testing.TB, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("workertest: %v", err)
	}
	return BytesURL(t, b, mimeOf(name))
}

// BytesURL makes a Blob URL of b with the MIME type mime, revoked when the
// test ends.
func BytesURL(t testing.TB, b []byte, mime string) string {
	t.Helper()
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return blobURL(t, u8, mime)
}

func mimeOf(name string) string {
	if path.Ext(name) == ".wasm" {
		return "application/wasm"
	}
	return "text/javascript"
}

func blobURL(t testing.TB, part any, mime string) string {
	blob := js.Global().Get("Blob").New([]any{part}, map[string]any{"type": mime})
	url := js.Global().Get("URL").Call("createObjectURL", blob).String()
	t.Cleanup(func() { js.Global().Get("URL").Call("revokeObjectURL", url) })
	return url
}
