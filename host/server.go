package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/atmoworkers/atmo/examples/workers"
	"github.com/atmoworkers/atmo/jsworker"
	"github.com/atmoworkers/atmo/web"
)

// Config says what the server serves and how. The zero value serves the
// embedded dashboard and scripts, and built WASM from bin/wasm.
type Config struct {
	// WasmDir holds the built WASM: atmo.wasm, workers/*.wasm and
	// wasm_exec.js (make build-wasm writes them to bin/wasm). Default "bin/wasm".
	WasmDir string
	// Isolate adds the COOP/COEP headers that make a page cross-origin
	// isolated, so it may post SharedArrayBuffers to workers.
	Isolate bool
	// Mounts serve extra directories, for example generated workers.
	Mounts []Mount
	// AllowedHosts are host names, besides localhost and IP addresses,
	// that a request arriving on loopback may name in its Host (a tunnel's
	// or a proxy's). Any other is refused: see hostAllowed.
	AllowedHosts []string
}

// Mount serves the files of Dir under the URL path Prefix (which starts and
// ends with "/").
type Mount struct {
	Prefix, Dir string
}

// root is one tree of files under a URL prefix.
type root struct {
	prefix string
	fsys   fs.FS
	what   string // said in 404s: where the file was looked for
}

// server serves the roots with compression, validators and no-cache.
type server struct {
	cfg   Config
	roots []root
}

// assets caches files and their compressed forms for every server of the
// process (the tests start many), by root and name; an entry is used only
// while the file's stamp (fileStamp) is unchanged.
var assets = struct {
	sync.Mutex
	m     map[string]*asset
	bytes int64 // the sizes of the files in m
}{m: map[string]*asset{}}

// NewHandler returns the host server's handler for cfg.
func NewHandler(cfg Config) http.Handler {
	if cfg.WasmDir == "" {
		cfg.WasmDir = filepath.Join("bin", "wasm")
	}
	s := &server{cfg: cfg}
	// In the build directory symlinks are followed, as http.Dir does: a
	// folder of links to builds kept elsewhere is served. A mounted
	// directory is any folder of the user's, so a link in it that leads
	// out of it is not followed (os.Root). A URL alone cannot leave a root
	// (safePath).
	wasmDir := os.DirFS(cfg.WasmDir)
	for _, m := range cfg.Mounts {
		s.roots = append(s.roots, root{m.Prefix, confined(m.Dir), m.Dir})
	}
	_, err := repoRoot()
	inRepo := err == nil
	s.roots = append(s.roots,
		root{"/jsworker/", jsworker.FS, "jsworker/ (embedded)"},
		root{"/workers/", workers.FS, "examples/workers/ (embedded)"},
		root{"/workers/", os.DirFS(filepath.Join(cfg.WasmDir, "workers")), filepath.Join(cfg.WasmDir, "workers") + buildHint(inRepo, "build a Go worker there", goBuildWasm(filepath.Join(cfg.WasmDir, "workers", "NAME.wasm"), "./PKG"))},
		root{"/", onlyFiles(wasmDir, "atmo.wasm", "wasm_exec.js"), cfg.WasmDir + buildHint(inRepo, "build atmo.wasm there", goBuildWasm(filepath.Join(cfg.WasmDir, "atmo.wasm"), atmoWasmPkg))},
		root{"/", goRootWasmExec{}, "GOROOT/lib/wasm"},
		root{"/", web.FS, "web/ (embedded)"},
	)
	return s
}

// newServer is the http.Server of serve, demo and bench: one that gives
// up on a request whose header does not come, and closes a keep-alive
// connection left idle, so that neither holds a connection for ever.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}

// buildHint says, in a 404, how a file of the build directory is made:
// make build in the atmo repository; in a module of the user's own (go
// tool host), which has no such target, the go build command (what, then
// cmd).
func buildHint(inRepo bool, what, cmd string) string {
	if inRepo {
		return " (run make build)"
	}
	return fmt.Sprintf(" (%s: %s)", what, cmd)
}

// atmoWasmPkg is the package of atmo.wasm, the JS API's module.
const atmoWasmPkg = "github.com/atmoworkers/atmo/wasm/cmd/atmo"

// goBuildWasm is the command that builds pkg for the browser into out.
func goBuildWasm(out, pkg string) string { return "GOOS=js GOARCH=wasm go build -o " + out + " " + pkg }

// confined serves dir's files and the links in it that stay inside it; a
// link that leads out is not found. The directory is opened afresh for
// each file, so a build that replaces it (rm -rf dist && build) is served.
func confined(dir string) fs.FS { return confinedFS{dir} }

type confinedFS struct{ dir string }

func (c confinedFS) Open(name string) (fs.File, error) {
	// A file opened through the root stays open once the root closes.
	return through(c, "open", name, func(r *os.Root, p string) (fs.File, error) { return r.FS().Open(p) })
}

// Stat is Open's answer without opening the file: load and isIndexedDir
// stat a file before they read it, and opening a named pipe (no file to
// serve) would wait for a writer for good.
func (c confinedFS) Stat(name string) (fs.FileInfo, error) {
	return through(c, "stat", name, func(r *os.Root, p string) (fs.FileInfo, error) { return fs.Stat(r.FS(), p) })
}

// through does op (named opName in its errors) on name, through a root of
// c.dir, which no link out of it can leave.
func through[T any](c confinedFS, opName, name string, op func(*os.Root, string) (T, error)) (T, error) {
	var none T
	r, err := os.OpenRoot(c.dir)
	if err != nil {
		return none, &fs.PathError{Op: opName, Path: name, Err: fs.ErrNotExist}
	}
	defer r.Close()
	v, err := op(r, name)
	if err == nil || !escaped(r, err) {
		return v, err
	}
	// os.Root follows no absolute link: one that ends inside dir is served
	// by the path it resolves to, done through the root again.
	if rel, ok := resolvedInside(c.dir, name); ok {
		if v, err := op(r, rel); err == nil {
			return v, nil
		}
	}
	return none, &fs.PathError{Op: opName, Path: name, Err: errLinkOut}
}

// errLinkOut is a mounted directory's link that leads out of it: not
// found, as any missing file, but the 404 says why (see ServeHTTP).
var errLinkOut = linkOutError{}

type linkOutError struct{}

func (linkOutError) Error() string        { return "a link that leads out of the mounted directory" }
func (linkOutError) Is(target error) bool { return target == fs.ErrNotExist }

// escaped says whether err is os.Root's refusal of a path that leads out
// of it. The os package does not export that error: it is what Stat("..")
// gives on the same root.
func escaped(r *os.Root, err error) bool {
	_, probe := r.Stat("..")
	return probe != nil && errors.Is(err, errors.Unwrap(probe))
}

// resolvedInside is name, in dir, with its links resolved, if that stays
// inside dir.
func resolvedInside(dir, name string) (string, bool) {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(base, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// onlyFiles exposes only the named files of f.
type onlyFilesFS struct {
	fsys  fs.FS
	names []string
}

func onlyFiles(f fs.FS, names ...string) fs.FS { return onlyFilesFS{f, names} }

// claimer is a file system that serves a fixed set of names: a 404 for
// any other does not name it among the places looked in.
type claimer interface{ claims(name string) bool }

func (o onlyFilesFS) claims(name string) bool { return slices.Contains(o.names, name) }

func (goRootWasmExec) claims(name string) bool { return name == "wasm_exec.js" }

// Stat stats without opening (see confinedFS.Stat).
func (o onlyFilesFS) Stat(name string) (fs.FileInfo, error) {
	if !o.claims(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fs.Stat(o.fsys, name)
}

func (o onlyFilesFS) Open(name string) (fs.File, error) {
	for _, n := range o.names {
		if n == name {
			return o.fsys.Open(name)
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// goRootWasmExec serves wasm_exec.js from the Go toolchain this binary was
// built with, for when make build-wasm has not copied it yet.
type goRootWasmExec struct{}

func (goRootWasmExec) Open(name string) (fs.File, error) {
	if name != "wasm_exec.js" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	//lint:ignore SA1019 the toolchain's own copy is the right fallback here
	return os.Open(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")) //nolint:staticcheck
}

// ServeHTTP serves one file. Anything that is not a clean path to a file of
// one of the roots (a "..", a backslash, a directory) is a 404.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer has its type from the fixed table below: browsers are
	// not to guess another (a .txt run as a script).
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if s.cfg.Isolate {
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	if !s.hostAllowed(r) {
		http.Error(w, fmt.Sprintf("403 forbidden: this server answers on loopback to localhost and IP addresses only, not to the host name %q (a page of another site can point its name at 127.0.0.1 to read what is served); start it with -allow-host NAME to serve that name", r.Host), http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if !safePath(p) || !safePath(r.URL.RawPath) {
		http.NotFound(w, r)
		return
	}
	if hidden(p) {
		http.Error(w, fmt.Sprintf("404 not found: %s (a name that starts with \".\" is not served, as .env or .git/ often hold secrets: rename it to serve it)", r.URL.Path), http.StatusNotFound)
		return
	}
	if p == "/api/examples" {
		s.serveExamples(w, r)
		return
	}
	if strings.HasSuffix(p, "/") {
		p += "index.html"
	}
	var tried []string
	for _, rt := range s.roots {
		name, ok := strings.CutPrefix(p, rt.prefix)
		if !ok || !fs.ValidPath(name) {
			continue
		}
		if c, ok := rt.fsys.(claimer); ok && !c.claims(name) {
			continue // it serves other names only: not a place this was looked for
		}
		a, err := s.load(rt, name)
		if errors.Is(err, fs.ErrNotExist) {
			what := rt.what
			if errors.Is(err, errLinkOut) {
				what += fmt.Sprintf(" (its %s is a link that leads out of it, not followed: copy the file in, or -mount the folder it leads to)", name)
			}
			tried = append(tried, what)
			continue
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if a.data == nil && a.size > maxCached {
			s.serveLarge(w, r, rt, a)
			return
		}
		s.serveAsset(w, r, a)
		return
	}
	if s.isIndexedDir(p) { // a folder named without its slash, as http.FileServer does
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	msg := fmt.Sprintf("404 not found: %s", r.URL.Path)
	if len(tried) > 0 && fromLoopback(r) { // where it looked is this machine's business
		msg += " (looked in " + strings.Join(tried, ", ") + ")"
	}
	http.Error(w, msg, http.StatusNotFound)
}

// hostAllowed says whether r may be answered: one that came in on a
// loopback address must name localhost (or a name under .localhost), an IP
// address, or one of cfg.AllowedHosts in its Host. Another name is a site's
// whose DNS was pointed at 127.0.0.1 (DNS rebinding), so that its page,
// same-origin with this server, reads what is served. A server that
// listens on another address is reached by the names it was given.
func (s *server) hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok || !local.IP.IsLoopback() {
		return true // a request not from a listener (a handler test's), or one from the network
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
		return true
	}
	for _, h := range s.cfg.AllowedHosts {
		if strings.TrimSuffix(strings.ToLower(h), ".") == host {
			return true
		}
	}
	return false
}

// fromLoopback says whether r comes from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	return err == nil && net.ParseIP(host).IsLoopback()
}

// safePath rejects paths that try to leave a root: "." and ".." segments,
// backslashes and NUL bytes, and in RawPath an encoded slash or backslash
// (which would join or split segments once decoded). An encoded dot is
// checked once decoded, in Path: "a%2Eb.js" names a.b.js, "%2e%2e" is "..".
func safePath(p string) bool {
	if strings.ContainsAny(p, "\\\x00") {
		return false
	}
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return false
		}
	}
	return true
}

// hidden says whether a segment of p starts with a dot: a dotfile or dot
// folder (.env, .git/) of a mounted directory, which is not served.
func hidden(p string) bool {
	return strings.HasPrefix(p, ".") || strings.Contains(p, "/.")
}

// asset is one file, read once, with its compressed forms made on demand.
type asset struct {
	name    string
	modTime time.Time
	size    int64
	stamp   fileStamp // what says the file changed since it was read
	data    []byte
	etag    string // of data, without quotes

	mu sync.Mutex
	gz []byte
	br []byte
}

// maxCached is the largest file kept in memory (with its compressed
// forms); a larger one is sent from disk as it is (see serveLarge), and
// maxCache bounds what all the cached files take together.
const (
	maxCached = 32 << 20
	maxCache  = 256 << 20
)

// isIndexedDir says whether p, with no slash at its end, is a folder of
// some root that holds an index.html.
func (s *server) isIndexedDir(p string) bool {
	if strings.HasSuffix(p, "/") {
		return false
	}
	for _, rt := range s.roots {
		name, ok := strings.CutPrefix(p+"/index.html", rt.prefix)
		if !ok || !fs.ValidPath(name) {
			continue
		}
		if fi, err := fs.Stat(rt.fsys, name); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// fileStamp is what says a file changed: its size and modification time
// and, where the system gives them (Linux), its inode and change time,
// which every rewrite moves, even one that keeps the size and sets the
// modification time back (cp -p, rsync -a, tar x, a coarse clock).
type fileStamp struct {
	size, mod  int64
	ino, ctime int64
}

func stampOf(fi fs.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mod: fi.ModTime().UnixNano()}
	s.ino, s.ctime = sysStamp(fi)
	return s
}

// load returns the file name of rt, from the cache while it is unchanged.
// A file larger than maxCached comes back with no data: serveLarge sends it.
func (s *server) load(rt root, name string) (*asset, error) {
	fi, err := fs.Stat(rt.fsys, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		// No listings, and nothing that is no file: a named pipe, a socket
		// or a device would hang the request or send without end.
		return nil, fs.ErrNotExist
	}
	key := rt.prefix + "\x00" + rt.what + "\x00" + name
	if fi.Size() > maxCached {
		assets.Lock()
		if old := assets.m[key]; old != nil { // it grew: what was cached counts no more
			assets.bytes -= old.size
			delete(assets.m, key)
		}
		assets.Unlock()
		return &asset{name: name, modTime: fi.ModTime(), size: fi.Size(), stamp: stampOf(fi)}, nil
	}
	assets.Lock()
	a := assets.m[key]
	assets.Unlock()
	if a != nil && a.stamp == stampOf(fi) {
		return a, nil
	}
	data, err := fs.ReadFile(rt.fsys, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	a = &asset{name: name, modTime: fi.ModTime(), size: fi.Size(), stamp: stampOf(fi), data: data, etag: hex.EncodeToString(sum[:12])}
	assets.Lock()
	if old := assets.m[key]; old != nil {
		assets.bytes -= old.size
	}
	if assets.bytes+a.size > maxCache { // start again rather than grow without bound
		clear(assets.m)
		assets.bytes = 0
	}
	assets.m[key] = a
	assets.bytes += a.size
	assets.Unlock()
	return a, nil
}

// serveLarge sends a file too large to cache straight from its root,
// uncompressed, with a validator made of its stamp (fileStamp).
func (s *server) serveLarge(w http.ResponseWriter, r *http.Request, rt root, a *asset) {
	f, err := rt.fsys.Open(a.name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, a.name+" cannot be read in ranges", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(a.name))
	h.Set("Cache-Control", "no-cache")
	// Strong, so that a download resumes with If-Range of it (ServeContent
	// matches If-Range strongly only): the stamp moves with every rewrite.
	st := a.stamp
	h.Set("ETag", fmt.Sprintf(`"%x-%x-%x-%x"`, st.size, st.mod, st.ino, st.ctime))
	http.ServeContent(w, r, "", a.modTime, rs)
}

// serveAsset sends a with its type, validators and the best encoding the
// client accepts. http.ServeContent answers If-None-Match, If-Modified-Since
// and ranges.
func (s *server) serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	ctype := contentType(a.name)
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache")
	body, etag := a.data, a.etag
	if compressible(ctype) && len(a.data) >= 512 {
		h.Add("Vary", "Accept-Encoding")
		switch enc := pickEncoding(r.Header.Get("Accept-Encoding")); enc {
		case "br":
			body, etag = a.brotli(), a.etag+"-br"
			h.Set("Content-Encoding", enc)
		case "gzip":
			body, etag = a.gzip(), a.etag+"-gz"
			h.Set("Content-Encoding", enc)
		}
	}
	h.Set("ETag", strconv.Quote(etag))
	if h.Get("Content-Encoding") != "" {
		w = sizedWriter{w, int64(len(body))}
	}
	http.ServeContent(w, r, "", a.modTime, bytes.NewReader(body))
}

// sizedWriter says the Content-Length of an encoded body, which
// http.ServeContent leaves out when Content-Encoding is set: without it a
// browser cannot show a download's progress, nor a page's loader.
type sizedWriter struct {
	http.ResponseWriter
	size int64
}

func (w sizedWriter) WriteHeader(code int) {
	h := w.Header()
	if h.Get("Content-Length") == "" {
		switch code {
		case http.StatusOK:
			h.Set("Content-Length", strconv.FormatInt(w.size, 10))
		case http.StatusPartialContent: // one range: bytes first-last/size
			var first, last, size int64
			if n, _ := fmt.Sscanf(h.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); n == 3 {
				h.Set("Content-Length", strconv.FormatInt(last-first+1, 10))
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (a *asset) gzip() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gz == nil {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression) // level 9 gains <1% on a Go module, at 3× the time
		zw.Write(a.data)
		zw.Close()
		a.gz = b.Bytes()
	}
	return a.gz
}

func (a *asset) brotli() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.br == nil {
		var b bytes.Buffer
		// Quality 5 takes a Go module to under a quarter (gzip: 27%) in a
		// quarter of a second; quality 11 gains little and takes seconds.
		zw := brotli.NewWriterLevel(&b, 5)
		zw.Write(a.data)
		zw.Close()
		a.br = b.Bytes()
	}
	return a.br
}

// pickEncoding chooses the encoding Accept-Encoding weighs highest among br
// and gzip (q > 0), br on a tie; "" means identity.
func pickEncoding(accept string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		if name == "" {
			continue
		}
		v := 1.0
		for _, f := range fields[1:] {
			if k, val, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.TrimSpace(k) == "q" {
				if x, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					v = x
				}
			}
		}
		q[name] = v
	}
	best, bestQ := "", 0.0
	for _, enc := range []string{"br", "gzip"} {
		v, ok := q[enc]
		if !ok {
			v, ok = q["*"]
		}
		if ok && v > bestQ {
			best, bestQ = enc, v
		}
	}
	return best
}

var contentTypes = map[string]string{
	".wasm":  "application/wasm",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".ts":    "text/plain; charset=utf-8",
	".md":    "text/markdown; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".htm":   "text/html; charset=utf-8",
	".csv":   "text/csv; charset=utf-8",
	".xml":   "application/xml",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".avif":  "image/avif",
	".mp3":   "audio/mpeg",
	".wav":   "audio/wav",
	".mp4":   "video/mp4",
	".webm":  "video/webm",
	".woff2": "font/woff2",
	".pdf":   "application/pdf",
}

// contentType is the MIME type by extension; the table is fixed so the
// answer does not depend on the machine's mime.types.
func contentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "application/wasm" ||
		ctype == "application/json" || ctype == "image/svg+xml"
}

// Example is one worker the dashboard can start, as /api/examples lists them.
type Example struct {
	Name   string   `json:"name"`             // e.g. "math (JS)"
	Kind   string   `json:"kind"`             // "js" or "go"
	Script string   `json:"script,omitempty"` // URL of a JS worker
	Module string   `json:"module,omitempty"` // URL of a Go worker module
	Tasks  []string `json:"tasks"`
}

// jsExamples are the example scripts and the tasks each handles.
var jsExamples = []Example{
	{Name: "math", Kind: "js", Script: "/workers/math-worker.js", Tasks: []string{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}},
	{Name: "data", Kind: "js", Script: "/workers/data-worker.js", Tasks: []string{"fetch", "transform", "validate", "filter"}},
	{Name: "image", Kind: "js", Script: "/workers/image-worker.js", Tasks: []string{"resize", "compress", "image-filter", "analyze"}},
}

// goExampleTasks are the tasks of the Go worker examples (examples/goworker),
// by module name: every task each registers (TestAPIExamplesListsEveryTask-
// EachGoExampleModuleHandles reads them from its source). A module not
// listed here is not offered (its tasks are not known until it runs: start
// it with a worker config of its own).
var goExampleTasks = map[string][]string{
	"math":   {"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"},
	"sha256": {"sha256", "sha256Stream"},
}

// examples lists the JS examples and the Go worker modules that are built.
func (s *server) examples() []Example {
	out := append([]Example(nil), jsExamples...)
	entries, _ := os.ReadDir(filepath.Join(s.cfg.WasmDir, "workers"))
	var goEx []Example
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".wasm")
		if !ok || e.IsDir() {
			continue
		}
		tasks, ok := goExampleTasks[n]
		if !ok {
			continue
		}
		goEx = append(goEx, Example{Name: n, Kind: "go", Module: "/workers/" + e.Name(), Tasks: tasks})
	}
	sort.Slice(goEx, func(i, j int) bool { return goEx[i].Name < goEx[j].Name })
	return append(out, goEx...)
}

func (s *server) serveExamples(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(s.examples())
}

// checkWasm says what to do when the main-thread module is missing.
func checkWasm(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "atmo.wasm")); err != nil {
		// make builds into bin/wasm unless told another WASM_OUT.
		build := "make build"
		if filepath.Clean(dir) != filepath.Join("bin", "wasm") {
			build += " WASM_OUT=" + shellQuote(dir)
		}
		return fmt.Errorf("%s not found: run `%s` first (it builds the main-thread WASM the dashboard and atmo.js load), or outside the atmo repository `%s`", filepath.Join(dir, "atmo.wasm"), build, goBuildWasm(filepath.Join(dir, "atmo.wasm"), atmoWasmPkg))
	}
	return nil
}
