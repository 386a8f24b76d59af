package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeWasmDir is a bin/wasm stand-in: an atmo.wasm of repetitive bytes
// (compressible, like a real module), a Go worker module and wasm_exec.js.
func fakeWasmDir(t *testing.T) (dir string, wasm []byte) {
	t.Helper()
	dir = t.TempDir()
	wasm = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("atmo wasm module body "), 4000)...)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "workers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "atmo.wasm"), wasm, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "workers", "math.wasm"), wasm, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wasm_exec.js"), []byte("// wasm_exec.js of the build\n"), 0o644))
	return dir, wasm
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A bare transport: it neither asks for nor decodes gzip by itself.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

func TestServerSendsWasmAsApplicationWasm(t *testing.T) {
	dir, wasm := fakeWasmDir(t)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()

	for _, path := range []string{"/atmo.wasm", "/workers/math.wasm"} {
		res, body := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, "application/wasm", res.Header.Get("Content-Type"), path)
		assert.Equal(t, wasm, body, path)
	}
}

func TestServerGivesEachFileItsMIMEType(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()

	cases := map[string]string{
		"/":                           "text/html; charset=utf-8",
		"/index.html":                 "text/html; charset=utf-8",
		"/atmo.js":                    "text/javascript; charset=utf-8",
		"/dashboard.css":              "text/css; charset=utf-8",
		"/atmo.d.ts":                  "text/plain; charset=utf-8",
		"/wasm_exec.js":               "text/javascript; charset=utf-8",
		"/jsworker/atmo-worker.js":    "text/javascript; charset=utf-8",
		"/jsworker/atmo-worker.mjs":   "text/javascript; charset=utf-8",
		"/workers/math-worker.js":     "text/javascript; charset=utf-8",
		"/workers/data-worker.js":     "text/javascript; charset=utf-8",
		"/workers/image-worker.js":    "text/javascript; charset=utf-8",
		"/data/people.json":           "application/json",
		"/api/examples":               "application/json",
		"/workers/README.md":          "text/markdown; charset=utf-8",
		"/atmo.wasm":                  "application/wasm",
		"/workers/math.wasm":          "application/wasm",
		"/jsworker/../web/index.html": "", // 404, see the traversal test
	}
	mount := t.TempDir()
	for _, name := range []string{"photo.jpg", "clip.mp4", "page.htm", "font.woff2"} {
		require.NoError(t, os.WriteFile(filepath.Join(mount, name), []byte("x"), 0o644))
	}
	mounted := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}}))
	defer mounted.Close()
	for name, want := range map[string]string{"photo.jpg": "image/jpeg", "clip.mp4": "video/mp4", "page.htm": "text/html; charset=utf-8", "font.woff2": "font/woff2"} {
		res, _ := get(t, mounted.URL+"/m/"+name)
		assert.Equal(t, want, res.Header.Get("Content-Type"), name)
	}
	for path, want := range cases {
		res, _ := get(t, srv.URL+path)
		if want == "" {
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
			continue
		}
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, want, res.Header.Get("Content-Type"), path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
	}
}

func TestServerServesTheBuildsWasmExecJS(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()

	_, body := get(t, srv.URL+"/wasm_exec.js")
	assert.Equal(t, "// wasm_exec.js of the build\n", string(body), "bin/wasm/wasm_exec.js comes first: it matches the Go that built the modules")

	// Without a build, the toolchain's own copy.
	srv2 := httptest.NewServer(NewHandler(Config{WasmDir: t.TempDir()}))
	defer srv2.Close()
	res, body := get(t, srv2.URL+"/wasm_exec.js")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "globalThis.Go")
}

func TestServerCompressesWithBrotliOrGzipWhenAccepted(t *testing.T) {
	dir, wasm := fakeWasmDir(t)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()

	res, body := get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", "gzip, deflate, br")
	require.Equal(t, "br", res.Header.Get("Content-Encoding"))
	assert.Contains(t, res.Header.Get("Vary"), "Accept-Encoding")
	assert.Less(t, len(body), len(wasm)/4)
	plain, err := io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
	require.NoError(t, err)
	assert.Equal(t, wasm, plain)

	res, body = get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", "gzip, br;q=0")
	require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err = io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, wasm, plain)

	res, _ = get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", "gzip;q=1, br;q=0.1")
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"), "the browser's weights count")
	res, _ = get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", "gzip;q=0.5, br;q=0.5")
	assert.Equal(t, "br", res.Header.Get("Content-Encoding"), "br on a tie")

	for _, accept := range []string{"", "identity", "gzip;q=0, br;q=0"} {
		res, body = get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", accept)
		assert.Empty(t, res.Header.Get("Content-Encoding"), "Accept-Encoding %q", accept)
		assert.Equal(t, wasm, body, "Accept-Encoding %q", accept)
	}
}

func TestServerSaysTheLengthOfACompressedBody(t *testing.T) {
	// A browser shows a download's progress, and a page's loader can, only
	// with a Content-Length: ServeContent leaves it out when Content-Encoding
	// is set. A body that small would be measured by net/http anyway: the
	// real module's is not.
	_, err := os.Stat(filepath.Join(repoWasmDir, "atmo.wasm"))
	require.NoError(t, err, "bin/wasm/atmo.wasm is missing: run `make build` first")
	srv := httptest.NewServer(NewHandler(Config{WasmDir: repoWasmDir}))
	defer srv.Close()
	for _, enc := range []string{"br", "gzip", ""} {
		res, body := get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", enc)
		require.Equal(t, http.StatusOK, res.StatusCode, enc)
		require.Equal(t, enc, res.Header.Get("Content-Encoding"))
		assert.Equal(t, strconv.Itoa(len(body)), res.Header.Get("Content-Length"), "Accept-Encoding %q", enc)
	}
	// A range of the compressed body is that range's length.
	res, body := get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	assert.Len(t, body, 10)
	assert.Equal(t, "10", res.Header.Get("Content-Length"))
}

func TestServerCompressesARealGoModuleToAboutAQuarter(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join(repoWasmDir, "atmo.wasm"))
	require.NoError(t, err, "bin/wasm/atmo.wasm is missing: run `make build` first")
	srv := httptest.NewServer(NewHandler(Config{WasmDir: repoWasmDir}))
	defer srv.Close()
	for _, enc := range []string{"br", "gzip"} {
		res, body := get(t, srv.URL+"/atmo.wasm", "Accept-Encoding", enc)
		require.Equal(t, enc, res.Header.Get("Content-Encoding"))
		ratio := float64(len(body)) / float64(len(wasm))
		t.Logf("%s: %d → %d bytes (%.0f%%)", enc, len(wasm), len(body), ratio*100)
		assert.Less(t, ratio, 0.35, enc)
	}
}

func TestServerSendsETagAndNoCacheAndAnswersNotModified(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()

	for _, path := range []string{"/atmo.js", "/atmo.wasm"} {
		for _, enc := range []string{"", "gzip", "br"} {
			res, _ := get(t, srv.URL+path, "Accept-Encoding", enc)
			etag := res.Header.Get("ETag")
			require.NotEmpty(t, etag, path)
			assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), path)
			res, body := get(t, srv.URL+path, "Accept-Encoding", enc, "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, res.StatusCode, "%s %s", path, enc)
			assert.Empty(t, body)
		}
	}
	res, _ := get(t, srv.URL+"/atmo.wasm")
	assert.NotEmpty(t, res.Header.Get("Last-Modified"), "files from disk also send Last-Modified")

	// A changed file gets a new ETag.
	res1, _ := get(t, srv.URL+"/atmo.wasm")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "atmo.wasm"), []byte("\x00asm\x01\x00\x00\x00changed"), 0o644))
	res2, body := get(t, srv.URL+"/atmo.wasm", "If-None-Match", res1.Header.Get("ETag"))
	assert.Equal(t, http.StatusOK, res2.StatusCode)
	assert.Equal(t, "\x00asm\x01\x00\x00\x00changed", string(body))
}

// rawStatus sends path exactly as written, bypassing URL cleaning.
func rawStatus(t *testing.T, addr, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, path)
	defer res.Body.Close()
	return res.StatusCode
}

func TestServerAnswersPathTraversalWith404(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	// A secret next to the wasm dir, which a traversal would reach.
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.txt"), []byte("secret"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/gen/", Dir: dir}}}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	for _, path := range []string{
		"/../go.mod",
		"/workers/../../go.mod",
		"/workers/..%2f..%2fgo.mod",
		"/workers/%2e%2e/%2e%2e/go.mod",
		"/%2e%2e/secret.txt",
		"/gen/../secret.txt",
		"/gen/..%2fsecret.txt",
		"/gen/%2e%2e%2fsecret.txt",
		"/gen/.%2e/secret.txt",
		"/gen/%2E%2E/secret.txt",
		"/gen/%2e/atmo.wasm",
		"/jsworker/..\\..\\go.mod",
		"/jsworker/%5c..%5cgo.mod",
		"/./atmo.js",
		"/workers/",
		"/jsworker",
		"/data/",
	} {
		assert.Equal(t, http.StatusNotFound, rawStatus(t, addr, path), path)
	}
	assert.Equal(t, http.StatusOK, rawStatus(t, addr, "/gen/atmo.wasm"), "a mount still serves its own files")
	assert.Equal(t, http.StatusOK, rawStatus(t, addr, "/gen/atmo%2Ewasm"), "an encoded dot in a name is a dot")
}

func TestServerFollowsNoLinkOutOfAMountedDirectory(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("the password"), 0o644))
	mount := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mount, "worker.js"), []byte("// a worker"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(mount, "out")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(mount, "secret.txt")))
	require.NoError(t, os.Symlink("worker.js", filepath.Join(mount, "alias.js")))
	require.NoError(t, os.Symlink(filepath.Join(mount, "worker.js"), filepath.Join(mount, "abs.js")))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/gen/", Dir: mount}}}))
	defer srv.Close()
	for _, path := range []string{"/gen/out/secret.txt", "/gen/secret.txt"} {
		res, body := get(t, srv.URL+path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.NotContains(t, string(body), "the password", path)
	}
	for _, path := range []string{"/gen/alias.js", "/gen/abs.js"} {
		res, body := get(t, srv.URL+path)
		assert.Equal(t, http.StatusOK, res.StatusCode, "a link that stays inside is followed, relative or absolute: %s", path)
		assert.Equal(t, "// a worker", string(body), path)
	}
}

func TestServerServesAMountedDirectoryThatABuildReplaced(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	dist := filepath.Join(t.TempDir(), "dist")
	require.NoError(t, os.Mkdir(dist, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dist, "app.js"), []byte("// build 1"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: dist}}}))
	defer srv.Close()
	_, body := get(t, srv.URL+"/m/app.js")
	assert.Equal(t, "// build 1", string(body))
	require.NoError(t, os.RemoveAll(dist)) // rm -rf dist && build
	require.NoError(t, os.Mkdir(dist, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dist, "app.js"), []byte("// build 2, longer"), 0o644))
	res, body := get(t, srv.URL+"/m/app.js")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "// build 2, longer", string(body))
}

func TestServerSendsAFileTooLargeToCacheFromDiskInRanges(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	big := filepath.Join(mount, "big.bin")
	f, err := os.Create(big)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("end"), maxCached+100) // sparse: no disk to speak of
	require.NoError(t, err)
	require.NoError(t, f.Close())
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}}))
	defer srv.Close()

	res, body := get(t, srv.URL+"/m/big.bin", "Range", fmt.Sprintf("bytes=%d-", maxCached+100), "Accept-Encoding", "br, gzip")
	assert.Equal(t, http.StatusPartialContent, res.StatusCode)
	assert.Equal(t, "end", string(body))
	assert.Empty(t, res.Header.Get("Content-Encoding"), "sent as it is")
	assert.NotEmpty(t, res.Header.Get("ETag"))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	assets.Lock()
	for _, a := range assets.m {
		assert.NotEqual(t, "big.bin", a.name, "not kept in memory")
	}
	assets.Unlock()
	res, _ = get(t, srv.URL+"/m/big.bin", "If-None-Match", res.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
}

func TestA404SaysWhereItLookedOnlyToThisMachine(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	h := NewHandler(Config{WasmDir: dir})
	for remote, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "192.0.2.7:5000": false} {
		req := httptest.NewRequest(http.MethodGet, "/workers/nope.wasm", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, want, strings.Contains(rec.Body.String(), dir), "%s: %s", remote, rec.Body)
	}
}

func TestABadFlagIsSaidOnceWithWhy(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"serve", "-mount", "/x/=/no/such/dir"}, &stdout, &stderr)
	assert.Equal(t, 2, code, "a usage error")
	assert.Equal(t, 1, strings.Count(stderr.String(), "invalid value"), "said once, not again after the usage: %s", &stderr)
	assert.Contains(t, stderr.String(), `invalid value "/x/=/no/such/dir" for flag -mount: stat /no/such/dir: no such file or directory`)
}

func TestAMountPrefixThatNoURLCanReachIsRefused(t *testing.T) {
	// URL paths are cleaned before they are matched, so a prefix with a
	// . or .. segment, or an empty one, would never be served.
	dir := t.TempDir()
	for prefix, clean := range map[string]string{"/a/../b/": "/b/", "/a/./b/": "/a/b/", "//a/": "/a/", "/a//b": "/a/b/", "/..": "/"} {
		var stdout, stderr bytes.Buffer
		// The address cannot be listened on: a prefix let through fails the run
		// at once instead of serving.
		code := run([]string{"serve", "-mount", prefix + "=" + dir, "-addr", "127.0.0.1:-1"}, &stdout, &stderr)
		assert.Equal(t, 2, code, prefix)
		assert.Contains(t, stderr.String(), fmt.Sprintf("the prefix %s could never be served: a URL's path is cleaned before it is matched; use %s", prefix, clean), prefix)
	}
}

func TestHostDashHListsEveryCommandAndServesFlags(t *testing.T) {
	// go tool host -h is how a module's user finds generate-worker.
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run([]string{"-h"}, &stdout, &stderr))
	for _, want := range []string{"host generate-worker", "host demo", "host bench", "serve's flags:", "-mount value"} {
		assert.Contains(t, stderr.String(), want)
	}
}

func TestServeSaysWhatIsWrongWithItsAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	for addr, want := range map[string]string{
		busy.Addr().String(): "(is another server running? pick another with -addr)",
		"localhost":          "missing port in address (-addr takes host:port, such as 127.0.0.1:8080, or :0 for a free port)",
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"serve", "-addr", addr, "-wasm", t.TempDir()}, &stdout, &stderr)
		assert.NotEqual(t, 0, code, addr)
		assert.Contains(t, stderr.String(), want, addr)
	}
}

func TestServeStopsOnCtrlCAndASecondOneQuitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host binary")
	}
	bin := filepath.Join(t.TempDir(), "host")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	f, err := os.Create(filepath.Join(mount, "big.bin"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxCached+1<<20)) // sent from disk, more than sockets buffer
	require.NoError(t, f.Close())

	// start runs the server and a client that asks for big.bin and reads
	// none of it, so the answer is under way when Ctrl-C comes.
	start := func() (*exec.Cmd, *lockedBuffer) {
		cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-wasm", dir, "-mount", "/m/="+mount)
		stderr := &lockedBuffer{}
		cmd.Stderr = stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		line, err := bufio.NewReader(stdout).ReadString('\n')
		require.NoError(t, err)
		addr := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(line)[5], "http://"), "/")
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = fmt.Fprintf(conn, "GET /m/big.bin HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		require.NoError(t, err)
		head := make([]byte, 12)
		_, err = io.ReadFull(conn, head) // the answer has begun
		require.NoError(t, err)
		return cmd, stderr
	}

	cmd, stderr := start()
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), "one Ctrl-C: a clean stop once the grace is over: %s", stderr)
	assert.Contains(t, stderr.String(), "host: stopping; waiting up to 3s for the requests under way (Ctrl-C again to quit now)")
	assert.Contains(t, stderr.String(), "host: stopped; requests still under way after 3s were cut off")

	cmd, stderr = start()
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "host: stopping") }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "a second Ctrl-C ends the process")
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.True(t, ws.Signaled(), "ended by the signal itself, not by the server: %v, %s", err, stderr)
}

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAFileRewrittenWithTheSameSizeAndModTimeIsServedFresh(t *testing.T) {
	// cp -p, rsync -a, tar x or a coarse clock leave the size and the
	// modification time as they were: the cache, and the ETag a browser
	// revalidates with, must still see the new bytes.
	if runtime.GOOS != "linux" {
		t.Skip("the inode and change time that tell such a rewrite are read on Linux only")
	}
	dir, _ := fakeWasmDir(t)
	p := filepath.Join(dir, "workers", "math.wasm")
	require.NoError(t, os.WriteFile(p, []byte("build 1 ........"), 0o644))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()
	first, body := get(t, srv.URL+"/workers/math.wasm")
	require.Equal(t, "build 1 ........", string(body))
	require.NoError(t, os.WriteFile(p, []byte("build 2 ,,,,,,,,"), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	res, body := get(t, srv.URL+"/workers/math.wasm", "If-None-Match", first.Header.Get("ETag"))
	assert.Equal(t, http.StatusOK, res.StatusCode, "not 304: the bytes changed")
	assert.Equal(t, "build 2 ,,,,,,,,", string(body))
}

func TestAFileTooLargeToCacheResumesWithIfRangeOfItsETag(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	f, err := os.Create(filepath.Join(mount, "big.bin"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxCached+100))
	require.NoError(t, f.Close())
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}}))
	defer srv.Close()
	res, _ := get(t, srv.URL+"/m/big.bin", "Range", "bytes=0-9")
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	res, body := get(t, srv.URL+"/m/big.bin", "Range", "bytes=10-19", "If-Range", res.Header.Get("ETag"))
	assert.Equal(t, http.StatusPartialContent, res.StatusCode, "ETag %s", res.Header.Get("ETag"))
	assert.Equal(t, 10, len(body), "only the rest")
}

func TestAFolderNamedWithoutItsSlashRedirectsToIt(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(mount, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mount, "sub", "index.html"), []byte("<p>sub</p>"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/gen/", Dir: mount}}}))
	defer srv.Close()
	res, _ := get(t, srv.URL+"/gen/sub?x=1")
	assert.Equal(t, http.StatusMovedPermanently, res.StatusCode)
	assert.Equal(t, "/gen/sub/?x=1", res.Header.Get("Location"), "to the folder, with its query")
	res, body := get(t, srv.URL+"/gen/sub/?x=1")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "<p>sub</p>", string(body))
	res, _ = get(t, srv.URL+"/gen/none")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestAFileThatGrowsPastTheCacheLimitLeavesTheCache(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	p := filepath.Join(mount, "grows.bin")
	require.NoError(t, os.WriteFile(p, []byte("small"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/grow/", Dir: mount}}}))
	defer srv.Close()
	cached := func() (n int) {
		assets.Lock()
		defer assets.Unlock()
		for k := range assets.m {
			if strings.HasPrefix(k, "/grow/\x00") {
				n++
			}
		}
		return n
	}
	get(t, srv.URL+"/grow/grows.bin")
	require.Equal(t, 1, cached())
	require.NoError(t, os.Truncate(p, maxCached+1))
	res, _ := get(t, srv.URL+"/grow/grows.bin", "Range", "bytes=0-0")
	require.Equal(t, http.StatusPartialContent, res.StatusCode)
	assert.Equal(t, 0, cached(), "its old bytes no longer held, nor counted against the cache's bound")
}

// Words a command does not take are a usage error, as a bad flag is: exit
// 2, not 1 (which says the command ran and failed), and the message says so.
func TestExtraArgumentsAreAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "x"},
		{"-addr", "127.0.0.1:0", "x"},
		{"demo", "x"},
		{"bench", "x"},
		{"generate-worker"},
		{"generate-worker", "a", "b", "c", "d"},
	} {
		t.Chdir(t.TempDir())
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		assert.Equal(t, 2, code, "%q: %s", args, &stderr)
		assert.Contains(t, stderr.String(), "host: ", "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
	}
}

// A mounted directory's link that leads out of it is not followed; the 404
// says so (to this machine, as it says where it looked): "looked in ./web"
// alone, for a page.wasm that ls shows in ./web (a link to a build kept
// elsewhere), left the user nothing to go on.
func TestServerSaysALinkOutOfAMountIsWhyAFileWasNotFound(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "page.wasm"), []byte("\x00asm"), 0o644))
	mount := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(outside, "page.wasm"), filepath.Join(mount, "page.wasm")))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/app/", Dir: mount}}}))
	defer srv.Close()
	res, body := get(t, srv.URL+"/app/page.wasm")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, string(body), "page.wasm is a link that leads out of it", string(body))
	assert.Contains(t, string(body), "copy the file in, or -mount the folder it leads to", string(body))
	res, body = get(t, srv.URL+"/app/nothing.wasm")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.NotContains(t, string(body), "link", "a file that is not there is only not found")
}

// A 404 names only the places that could have served the path: the build
// directory and GOROOT serve atmo.wasm and wasm_exec.js alone at the root,
// so "run make build" (a target a module of the user's own has not) for a
// page's /app/page.wasm sends the user to build something that would not
// have been served there anyway.
func TestA404NamesOnlyThePlacesThatCouldServeThePath(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	h := NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/app/", Dir: mount}}})
	for path, want := range map[string][]string{
		"/app/page.wasm":     {mount, "web/ (embedded)"},
		"/nope.js":           {"web/ (embedded)"},
		"/workers/nope.wasm": {"examples/workers/ (embedded)", filepath.Join(dir, "workers") + " (run make build)", "web/ (embedded)"},
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.Equal(t, "404 not found: "+path+" (looked in "+strings.Join(want, ", ")+")\n", rec.Body.String(), path)
	}
	// What those roots do serve still says where it was looked for.
	empty := NewHandler(Config{WasmDir: t.TempDir()})
	req := httptest.NewRequest(http.MethodGet, "/atmo.wasm", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	rec := httptest.NewRecorder()
	empty.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, rec.Body.String(), "(run make build)")
}

// From a module of the user's own (go tool host, as the README's quick
// start runs it) there is no make build: a 404 for a Go worker not built
// says the go build that makes it instead.
func TestA404OutsideTheAtmoRepositorySaysHowToBuildTheWorker(t *testing.T) {
	t.Chdir(t.TempDir())
	h := NewHandler(Config{})
	for path, want := range map[string]string{
		"/workers/sha256.wasm": "bin/wasm/workers (build a Go worker there: GOOS=js GOARCH=wasm go build -o bin/wasm/workers/NAME.wasm ./PKG)",
		"/atmo.wasm":           "bin/wasm (build atmo.wasm there: GOOS=js GOARCH=wasm go build -o bin/wasm/atmo.wasm github.com/atmoworkers/atmo/wasm/cmd/atmo)",
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.Contains(t, rec.Body.String(), want, path)
		assert.NotContains(t, rec.Body.String(), "make build", path)
	}
}

// goHandlerNames are the task names the non-test Go files in dir register
// with worker.Handle, worker.HandleTyped or worker.HandleJS, read from their
// source (whatever GOOS each file is built for): a string literal given to
// one of them, or to a helper of the module's own that passes its parameter
// on as the name (math's binary("add", ...)).
func goHandlerNames(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var files []*ast.File
	for _, p := range paths {
		if !strings.HasSuffix(p, "_test.go") {
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
			require.NoError(t, err)
			files = append(files, f)
		}
	}
	isHandle := func(call *ast.CallExpr) bool {
		fun := call.Fun
		switch x := fun.(type) { // worker.HandleTyped[P, R](...)
		case *ast.IndexExpr:
			fun = x.X
		case *ast.IndexListExpr:
			fun = x.X
		}
		sel, ok := fun.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "Handle") || len(call.Args) == 0 {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "worker"
	}
	// helpers: a func (name := func(...) or func name(...)) that passes its
	// parameter number i on to worker.Handle* as the task's name.
	helpers := map[string]int{}
	named := map[*ast.CallExpr]bool{} // the Handle calls such a helper makes
	helper := func(name string, ft *ast.FuncType, body *ast.BlockStmt) {
		var params []string
		for _, f := range ft.Params.List {
			for _, n := range f.Names {
				params = append(params, n.Name)
			}
		}
		ast.Inspect(body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isHandle(call) {
				if id, ok := call.Args[0].(*ast.Ident); ok {
					if i := slices.Index(params, id.Name); i >= 0 {
						helpers[name] = i
						named[call] = true
					}
				}
			}
			return true
		})
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Body != nil {
					helper(x.Name.Name, x.Type, x.Body)
				}
			case *ast.AssignStmt:
				for i, r := range x.Rhs {
					if fl, ok := r.(*ast.FuncLit); ok && i < len(x.Lhs) {
						if id, ok := x.Lhs[i].(*ast.Ident); ok {
							helper(id.Name, fl.Type, fl.Body)
						}
					}
				}
			}
			return true
		})
	}
	var names []string
	literal := func(call *ast.CallExpr, i int) {
		lit, ok := call.Args[i].(*ast.BasicLit)
		require.True(t, ok && lit.Kind == token.STRING, "%s: a task name this test cannot read: %#v", dir, call.Args[i])
		name, err := strconv.Unquote(lit.Value)
		require.NoError(t, err)
		names = append(names, name)
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if isHandle(call) && !named[call] {
				literal(call, 0)
			}
			if id, ok := call.Fun.(*ast.Ident); ok {
				if i, ok := helpers[id.Name]; ok && i < len(call.Args) {
					literal(call, i)
				}
			}
			return true
		})
	}
	return names
}

// /api/examples offers each Go example module (examples/goworker) with the
// tasks its source registers: the sha256 module handles sha256Stream
// (stream_js.go) as well as sha256, and a pool started from the listing
// should route both to it.
func TestAPIExamplesListsEveryTaskEachGoExampleModuleHandles(t *testing.T) {
	dir, wasm := fakeWasmDir(t)
	mods, err := os.ReadDir(filepath.Join("..", "examples", "goworker"))
	require.NoError(t, err)
	want := map[string][]string{}
	for _, m := range mods {
		if !m.IsDir() {
			continue
		}
		want[m.Name()] = goHandlerNames(t, filepath.Join("..", "examples", "goworker", m.Name()))
		require.NotEmpty(t, want[m.Name()], m.Name())
		require.NoError(t, os.WriteFile(filepath.Join(dir, "workers", m.Name()+".wasm"), wasm, 0o644))
	}
	require.Contains(t, want, "sha256")

	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir}))
	defer srv.Close()
	res, body := get(t, srv.URL+"/api/examples")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var listed []Example
	require.NoError(t, json.Unmarshal(body, &listed))
	got := map[string][]string{}
	for _, ex := range listed {
		if ex.Kind == "go" {
			got[ex.Name] = ex.Tasks
		}
	}
	require.Len(t, got, len(want), "every Go example module is offered: %v", got)
	for name, tasks := range want {
		assert.ElementsMatch(t, tasks, got[name], "the tasks of the Go example %s", name)
	}
}

// A server on loopback is still reached by a page of any site through DNS
// rebinding: the site's name is made to resolve to 127.0.0.1, and its
// script then reads, as same-origin, whatever is served (a -mount of the
// user's folder). Such a request carries the site's name as its Host; one
// of the user's own says localhost or an IP address.
func TestServerOnLoopbackAnswersOnlyItsOwnHostNames(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mount, "notes.txt"), []byte("private notes"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}, AllowedHosts: []string{"dev.example.test"}}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	hostStatus := func(host, path string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Host = host
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "ATTACKER.example.:" + port, "localhost.attacker.example:" + port} {
		code, body := hostStatus(host, "/m/notes.txt")
		assert.Equal(t, http.StatusForbidden, code, host)
		assert.NotContains(t, body, "private notes", host)
		assert.Contains(t, body, "-allow-host", "%s: says how to serve it", host)
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost.:" + port, "app.localhost:" + port, "[::1]:" + port, "192.168.1.10:" + port, "dev.example.test:" + port} {
		code, body := hostStatus(host, "/m/notes.txt")
		assert.Equal(t, http.StatusOK, code, host)
		assert.Equal(t, "private notes", body, host)
	}
	var stderr bytes.Buffer
	assert.Equal(t, 2, run([]string{"serve", "-allow-host", "evil.example:80"}, io.Discard, &stderr), "a port is no host name")
	assert.Contains(t, stderr.String(), "want a host name")
}

func TestServerServesNoDotFileOrDotFolder(t *testing.T) {
	dir, _ := fakeWasmDir(t)
	mount := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mount, ".env"), []byte("API_KEY=secret"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(mount, ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mount, ".git", "config"), []byte("[remote] url=secret"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mount, "app.js"), []byte("// app"), 0o644))
	srv := httptest.NewServer(NewHandler(Config{WasmDir: dir, Mounts: []Mount{{Prefix: "/m/", Dir: mount}}}))
	defer srv.Close()
	for _, path := range []string{"/m/.env", "/m/.git/config", "/m/%2Eenv"} {
		res, body := get(t, srv.URL+path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		assert.NotContains(t, string(body), "=secret", path)
		assert.Contains(t, string(body), `a name that starts with "." is not served`, "%s: says why", path)
	}
	res, body := get(t, srv.URL+"/m/app.js")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "// app", string(body))
}

func TestTheServerClosesAConnectionLeftIdle(t *testing.T) {
	srv := newServer(http.NotFoundHandler()) // serve's, demo's and bench's
	assert.Positive(t, srv.IdleTimeout, "a keep-alive connection left idle is closed")
	assert.Positive(t, srv.ReadHeaderTimeout, "a request whose header never ends is given up")
}

// -wasm DIR with no atmo.wasm in it: `make build` alone fills bin/wasm, not
// DIR, so the advice must say where to build (make's WASM_OUT).
func TestCheckWasmOfAnotherDirSaysHowToBuildThere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	err := checkWasm(dir)
	require.Error(t, err)
	msg := err.Error()
	if strings.Contains(msg, "`make build`") {
		t.Errorf("the advice `make build` builds bin/wasm, not %s: %s", dir, msg)
	}
	assert.Contains(t, msg, "make build WASM_OUT="+dir)
	// The default keeps its plain advice.
	assert.Contains(t, checkWasm("bin/wasm").Error(), "run `make build` first")
}
