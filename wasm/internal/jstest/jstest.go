//go:build js && wasm

// Package jstest helps browser tests start real Web Workers from the real
// scripts of the repository. wasmbrowsertest serves only the test itself and
// wasm_exec.js (any other path answers 200 with an empty body), so workers
// are started from Blob URLs made of the files' text, read with os.ReadFile.
package jstest

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall/js"
	"testing"
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
	return blobURL(t, text, "text/javascript")
}

// BytesURL makes a Blob URL of bytes with a MIME type, revoked when the test ends.
func BytesURL(t testing.TB, b []byte, mime string) string {
	t.Helper()
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return blobURL(t, u8, mime)
}

func blobURL(t testing.TB, part any, mime string) string {
	blob := js.Global().Get("Blob").New([]any{part}, map[string]any{"type": mime})
	url := js.Global().Get("URL").Call("createObjectURL", blob).String()
	t.Cleanup(func() { js.Global().Get("URL").Call("revokeObjectURL", url) })
	return url
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
	return BlobURL(t, Read(t, "jsworker/atmo-worker.js")+"\n"+body)
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
