//go:build js && wasm

// Package jstest helps the repository's browser tests start real Web
// Workers from its real scripts: package workertest, which users have too,
// with the files found from the repository's root.
package jstest

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/wasm/atmo/workertest"
)

// Root is the repository root, found from this file's path.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Read returns the text of a repository file, by its path from the root.
func Read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(), path))
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return string(b)
}

// BlobURL makes a Blob URL of JavaScript text, revoked when the test ends.
func BlobURL(t testing.TB, text string) string {
	t.Helper()
	return workertest.ScriptURL(t, text)
}

// BytesURL makes a Blob URL of bytes with a MIME type, revoked when the test ends.
func BytesURL(t testing.TB, b []byte, mime string) string {
	t.Helper()
	return workertest.BytesURL(t, b, mime)
}

// FileURL makes a Blob URL of one repository file.
func FileURL(t testing.TB, path string) string {
	t.Helper()
	return BlobURL(t, Read(t, path))
}

// HelperWorker makes a Blob URL of a worker written with
// jsworker/atmo-worker.js: the helper's text followed by body, which calls
// atmoWorker({...}).
func HelperWorker(t testing.TB, body string) string {
	t.Helper()
	return workertest.HelperScriptURL(t, body)
}

// RevokedURL is a Blob URL that no longer exists: loading it fails the way a
// 404 does (wasmbrowsertest cannot serve a real 404).
func RevokedURL(t testing.TB) string {
	t.Helper()
	blob := js.Global().Get("Blob").New([]any{"// gone"}, map[string]any{"type": "text/javascript"})
	url := js.Global().Get("URL").Call("createObjectURL", blob).String()
	js.Global().Get("URL").Call("revokeObjectURL", url)
	return url
}
