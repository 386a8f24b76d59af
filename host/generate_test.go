package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/host/generate"
)

func TestGenerateWorkerTakesNoTypeWordForTheDirectoryByMistake(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run([]string{"generate-worker", "calc-w", "server"}, &stdout, &stderr)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr.String(), `there is no directory "server"; for a server worker here, say generate-worker calc-w . server`)
	_, err := os.Stat("server")
	assert.True(t, os.IsNotExist(err), "nothing written")

	require.NoError(t, os.Mkdir("server", 0o755))
	code = run([]string{"generate-worker", "calc-w", "server"}, &stdout, &stderr)
	assert.Equal(t, 0, code, "a directory of that name is taken, as NAME DIR says: %s", stderr.String())
	_, err = os.Stat(filepath.Join("server", "calc-w.js"))
	assert.NoError(t, err)
}

// TestGeneratedGoWorkersAnswerEverySampleAsTheJSWorkersDo generates each
// template as a JS worker and as a Go worker, builds the Go one, and sends
// both the samples of the JS worker's usage example: in Chromium, through the
// page's JS API, and under Node.js, through worker_threads and go-worker.js.
func TestGeneratedGoWorkersAnswerEverySampleAsTheJSWorkersDo(t *testing.T) {
	dir := t.TempDir()
	names := []string{"math-worker", "data-api", "image-worker"}
	for _, name := range names {
		for _, kind := range []string{generate.Browser, generate.Server, generate.Go} {
			sub := filepath.Join(dir, kind)
			_, err := generate.Generate(generate.Options{Name: name, Dir: sub, Kind: kind})
			require.NoError(t, err)
		}
		buildGoWorker(t, filepath.Join(dir, "go", name), filepath.Join(dir, name+".wasm"))
	}

	t.Run("in Chromium", func(t *testing.T) {
		ctx, base, _ := newTab(t, Config{Mounts: []Mount{{Prefix: "/gen/", Dir: dir}}})
		for _, name := range names {
			// The same page, with the Go module in place of the script.
			page := readFile(t, filepath.Join(dir, generate.Browser, name+".example.html"))
			script := `script: new URL('` + name + `.js', import.meta.url).href`
			require.Contains(t, page, script)
			page = strings.Replace(page, script, `module: new URL('../`+name+`.wasm', import.meta.url).href`, 1)
			writeFile(t, filepath.Join(dir, generate.Browser, name+".go.example.html"), page)

			js := runExamplePage(t, ctx, base+"/gen/browser/"+name+".example.html")
			goes := runExamplePage(t, ctx, base+"/gen/browser/"+name+".go.example.html")
			assert.JSONEq(t, withoutWorkerIDs(t, js), withoutWorkerIDs(t, goes), name)
		}

		// Odd inputs, refused or answered alike by both.
		odd := map[string]string{
			"math-worker": `['add', { a: '1', b: 2 }],
  ['sqrt', {}],
  ['add', { a: NaN, b: 1 }],
  ['power', { a: 1.0411, b: -22 }],
  ['power', { a: 1, b: Infinity }],`,
			"data-api": `['filter', { records: [{ a: [1] }], where: [{ field: 'a', op: '=', value: [1] }] }],
  ['validate', { records: [{ a: 'x' }] }],
  ['filter', { records: [{ a: null }, {}], where: [{ field: 'a', op: '=', value: null }] }],
  ['filter', { records: [{ a: null }, {}], where: [{ field: 'a', op: '!=', value: null }] }],
  ['filter', { records: [{ a: 'b' }, { a: 'd' }], where: [{ field: 'a', op: '<', value: 'c' }] }],
  ['filter', { records: [{ age: 36 }], where: [{ field: 'age', op: '>', value: 40 }] }],
  ['validate', { records: [{ email: 'ada@example.org' }], schema: { email: 'email' } }],
  ['filter', { records: [{ a: 1 }], where: [{ field: 'a', op: 'toString', value: 1 }] }],
  ['filter', { records: [{ a: 1 }], where: 'a' }],
  ['transform', { records: [1, null] }],
  ['filter', { records: [{ a: 1 }], where: false }],
  ['filter', { records: [{ a: 1 }], where: [null] }],
  ['filter', { records: [], where: [{ field: 'a', op: 'bogus' }] }],
  ['transform', { records: [{ v: '9' }, { v: 10 }, { v: null }, {}, { v: 9 }, { v: true }, { v: false }, { v: 'a' }], sortBy: 'v' }],
  ['transform', { records: [{ a: 1 }], select: ['a', 'zz'] }],
  ['validate', { records: [{ e: 'x@.y' }, { e: 'a b@c.d' }, { e: 'a@b.c' }], schema: { e: 'email' } }],
  ['validate', { records: [{ a: [] }], schema: { a: 'object' } }],
  ['validate', { records: [{ a: 1 }], schema: { a: { type: 'number' } } }],
  ['filter', { records: [{ a: null }, {}, { a: 'null' }], where: [{ field: 'a', op: 'contains', value: 'null' }] }],
  ['filter', { records: [{ a: 100000000 }, { a: 1.5 }], where: [{ field: 'a', op: 'contains', value: '000' }] }],
  ['filter', { records: [{ a: '10' }, { a: 10 }], where: [{ field: 'a', op: '>', value: 9 }] }],`,
			"image-worker": `['resize', { image: sample, width: 1.5, height: 1 }],
  ['resize', { image: sample, width: 30000, height: 30000 }],
  ['filter', { image: sample, filter: 5 }],
  ['filter', { image: sample, filter: null }],
  ['resize', { image: { width: 1, height: 1, data: [300, -5, 'x', 1.7] }, width: 1, height: 1 }],
  ['resize', { image: { width: 2.5, height: 2, data: new Uint8Array(20) }, width: 1, height: 1 }],
  ['resize', { image: { width: 1.5, height: 1, data: new Uint8Array(4) }, width: 1, height: 1 }],`,
		}
		for name, samples := range odd {
			var answers [2]string
			for i, page := range []string{name + ".example.html", name + ".go.example.html"} {
				text := withSamples(t, readFile(t, filepath.Join(dir, generate.Browser, page)), samples)
				writeFile(t, filepath.Join(dir, generate.Browser, "odd."+page), text)
				answers[i] = withoutWorkerIDs(t, runExamplePage(t, ctx, base+"/gen/browser/odd."+page))
			}
			assert.JSONEq(t, answers[0], answers[1], name)
			assert.NotContains(t, answers[1], "panicked", name)
		}

		// The Go fetch, further: it reads text too, says an HTTP error, and
		// asks for an absolute URL, which a Go worker (run from a Blob URL)
		// cannot do without.
		page := readFile(t, filepath.Join(dir, generate.Browser, "data-api.go.example.html"))
		page = withSamples(t, page, `['fetch', { url: location.origin + '/data/people.json' }],
  ['fetch', { url: 'data:text/plain,hello', as: 'text' }],
  ['fetch', { url: location.origin + '/data/no-such.json' }],
  ['fetch', { url: '/data/people.json' }],
  ['fetch', {}],
  ['fetch', { url: location.origin + '/data/100%' }],`)
		writeFile(t, filepath.Join(dir, generate.Browser, "fetch.go.example.html"), page)
		var rs []map[string]any
		require.NoError(t, json.Unmarshal([]byte(runExamplePage(t, ctx, base+"/gen/browser/fetch.go.example.html")), &rs))
		require.Len(t, rs, 6)
		assert.Len(t, rs[0]["value"], 12, "the people")
		assert.Equal(t, "hello", rs[1]["value"])
		assert.Regexp(t, `^fetch http://127\.0\.0\.1:\d+/data/no-such\.json: HTTP 404$`, rs[2]["error"])
		assert.Equal(t, `fetch needs params.url to be absolute (https://…, http://… or data:…), not "/data/people.json"`, rs[3]["error"])
		assert.Equal(t, "fetch needs params.url", rs[4]["error"])
		assert.Regexp(t, `^fetch http://127\.0\.0\.1:\d+/data/100%: HTTP 400$`, rs[5]["error"], "a URL url.Parse refuses goes to fetch (and to Go's server, which refuses it too)")
	})

	t.Run("under Node.js", func(t *testing.T) {
		if _, err := exec.LookPath("node"); err != nil {
			t.Skip("node is not installed (make test installs it)")
		}
		bootstrap, err := filepath.Abs(filepath.Join("..", "jsworker", "go-worker.js"))
		require.NoError(t, err)
		wasmExec := filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")
		for _, name := range names {
			example := filepath.Join(dir, generate.Server, name+".example.js")
			js := runNode(t, example)
			// The same program, with go-worker.js running the module.
			src := readFile(t, example)
			start := `new Worker(path.join(__dirname, '` + name + `.js'));`
			require.Contains(t, src, start)
			src = strings.Replace(src, start, fmt.Sprintf(`new Worker(%q);
worker.postMessage({ message: 'go-module', url: %q, wasmExec: %q });`, bootstrap, filepath.Join(dir, name+".wasm"), wasmExec), 1)
			goExample := filepath.Join(dir, generate.Server, name+".go.example.js")
			writeFile(t, goExample, src)
			assert.JSONEq(t, js, runNode(t, goExample), name)
		}
	})
}

// buildGoWorker builds a generated Go worker's main package to out, in this
// module, so that it uses this tree's wasm/worker.
func buildGoWorker(t *testing.T, pkgDir, out string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, filepath.Join(pkgDir, "main.go"))
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "building %s: %s", pkgDir, b)
}

// runNode runs a program under Node.js, started as Go's go_js_wasm_exec
// starts it: as "node", which Go's net/http takes for its own tests and so
// does not use fetch.
func runNode(t *testing.T, file string) string {
	t.Helper()
	cmd := exec.Command("node", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node %s: %s", file, stderr.String())
	return string(out)
}

// withoutWorkerIDs drops the ids of the worker that failed a task: they are
// not the JS and Go workers' to choose.
func withoutWorkerIDs(t *testing.T, results string) string {
	t.Helper()
	var rs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(results), &rs))
	for _, r := range rs {
		delete(r, "workerId")
		delete(r, "taskId")
	}
	b, err := json.Marshal(rs)
	require.NoError(t, err)
	return string(b)
}

// withSamples is a generated usage page with samples (its items, each
// ending in a comma) in place of its own.
func withSamples(t *testing.T, page, samples string) string {
	t.Helper()
	start, end := strings.Index(page, "const samples = ["), strings.Index(page, "];\n")
	require.True(t, start >= 0 && end > start, "the page has its samples")
	return page[:start] + "const samples = [\n  " + samples + "\n" + page[end:]
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, []byte(text), 0o644))
}

// Flags may come after the arguments (generate-worker NAME -force, as the
// usage allows): none of them is taken for DIR, which would write the worker
// into a directory named "-h" or "-force=true".
func TestGenerateWorkerTakesNoFlagForTheDirectory(t *testing.T) {
	for _, args := range [][]string{
		{"calc-w", "-h"},
		{"calc-w", "-help"},
		{"calc-w", "-force=true"},
		{"calc-w", "--force=true"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"generate-worker"}, args...), &stdout, &stderr)
			entries, err := os.ReadDir(".")
			require.NoError(t, err)
			for _, e := range entries {
				assert.False(t, strings.HasPrefix(e.Name(), "-"), "exit %d: the flag was taken for DIR, and the worker written to %s/:\n%s", code, e.Name(), stdout.String())
			}
		})
	}
}

// What generate-worker prints ends with the next step, naming what it wrote.
func TestGenerateWorkerSaysWhatToDoNext(t *testing.T) {
	for kind, want := range map[string]string{
		"browser": "next, in your module (once: go get -tool github.com/atmoworkers/atmo/host): GOOS=js GOARCH=wasm go build -o bin/wasm/atmo.wasm github.com/atmoworkers/atmo/wasm/cmd/atmo && go tool host -mount /my/={out}, then open http://127.0.0.1:8080/my/calc-w.example.html",
		"server":  "next: node " + filepath.Join("out", "calc-w.example.js"),
		"go":      "GOOS=js GOARCH=wasm go build -o " + filepath.Join("out", "calc-w") + ".wasm ." + string(filepath.Separator) + filepath.Join("out", "calc-w"),
	} {
		t.Run(kind, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run([]string{"generate-worker", "calc-w", "out", kind}, &stdout, &stderr), stderr.String())
			out, err := filepath.Abs("out") // the host runs elsewhere: its folder is named absolutely
			require.NoError(t, err)
			assert.Contains(t, stdout.String(), strings.ReplaceAll(want, "{out}", out))
		})
	}
}

// Run from the atmo repository, the browser worker's next step uses its
// Makefile and the host's source.
func TestGenerateWorkerInTheAtmoRepositorySaysToRunTheHostFromIt(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	out := t.TempDir()
	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"generate-worker", "calc-w", out, "browser"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "next, in the atmo repository: make build-wasm && go run ./host -mount /my/="+out+", then open http://127.0.0.1:8080/my/calc-w.example.html")
}

// The printed next step is a command that works as printed, also for a DIR
// written ./-dir (as generate-worker's comment says to) or a hidden one: node
// takes "-dir/x.js" for an option, and go build takes ".gen/x" for an import
// path, not a directory.
func TestGenerateWorkersNextStepTakesEveryDirAsAPath(t *testing.T) {
	for _, c := range []struct{ dir, kind, want string }{
		{"./-dir", "server", "next: node ." + string(filepath.Separator) + filepath.Join("-dir", "calc-w.example.js")},
		{"./.gen", "go", "go build -o " + filepath.Join(".gen", "calc-w") + ".wasm ." + string(filepath.Separator) + filepath.Join(".gen", "calc-w") + " "},
	} {
		t.Run(c.dir+" "+c.kind, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run([]string{"generate-worker", "calc-w", c.dir, c.kind}, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), c.want)
			if c.kind == "server" {
				if node, err := exec.LookPath("node"); err == nil {
					line := stdout.String()[strings.LastIndex(stdout.String(), "next: node ")+len("next: node "):]
					out, err := exec.Command(node, strings.TrimSpace(line)).CombinedOutput()
					assert.NoError(t, err, "the printed step fails: %s", out)
				}
			}
		})
	}
}

// The printed next step works as printed when DIR holds a space (a folder
// such as "My Projects"): sh splits it into the words meant. Each command's
// program is swapped for printf, which prints the words it was given.
func TestGenerateWorkersNextStepQuotesAPathWithASpace(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, c := range []struct {
		kind, cmdStart, cmdEnd, prog string
		want                         func(abs string) []string
	}{
		{"server", "next: ", "\n", "node", func(string) []string {
			return []string{filepath.Join("my dir", "calc-w.example.js")}
		}},
		{"go", ": GOOS=js GOARCH=wasm ", " (then see", "go build", func(string) []string {
			return []string{"-o", filepath.Join("my dir", "calc-w") + ".wasm", "." + string(filepath.Separator) + filepath.Join("my dir", "calc-w", "main.go")} // go build refuses the folder: "malformed import path"
		}},
		{"browser", "&& ", ", then open", "go tool host", func(abs string) []string {
			return []string{"-mount", "/my/=" + abs}
		}},
	} {
		t.Run(c.kind, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run([]string{"generate-worker", "calc-w", "my dir", c.kind}, &stdout, &stderr), stderr.String())
			out := stdout.String()
			i := strings.LastIndex(out, c.cmdStart)
			require.GreaterOrEqual(t, i, 0, out)
			line := out[i+len(c.cmdStart):]
			line = line[:strings.Index(line, c.cmdEnd)]
			require.True(t, strings.HasPrefix(line, c.prog+" "), "%q", line)
			script := `printf '%s\n'` + strings.TrimPrefix(line, c.prog)
			words, err := exec.Command(sh, "-c", script).Output()
			require.NoError(t, err, script)
			abs, err := filepath.Abs("my dir")
			require.NoError(t, err)
			assert.Equal(t, c.want(abs), strings.Split(strings.TrimSuffix(string(words), "\n"), "\n"), "the printed step: %s", line)
		})
	}
}

// Run from a folder of the atmo repository other than its root, the next
// step still works as printed: make and go run ./host need the root.
func TestGenerateWorkerInASubfolderOfTheRepositorySaysToRunFromItsRoot(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	out := t.TempDir()
	t.Chdir(filepath.Join(root, "examples"))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"generate-worker", "calc-w", out, "browser"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "next, in the atmo repository: cd "+root+" && make build-wasm && go run ./host -mount /my/="+out+", then open http://127.0.0.1:8080/my/calc-w.example.html")
}

// The Go worker's next step builds as printed in a module of the user's
// own, also when DIR is a folder Go refuses in an import path, for its
// characters ("my dir", "café", ".workers") or more (an element with a
// trailing dot, a name Windows reserves, even before a dot, or a Windows
// short name): go build ./DIR/NAME fails there with "malformed import
// path", so the step names the worker's file instead.
func TestGenerateWorkerGoNextStepBuildsInAFolderGoRefusesInImportPaths(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	root, err := repoRoot()
	require.NoError(t, err)
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	if i := strings.Index(goVersion, " "); i >= 0 {
		goVersion = goVersion[:i]
	}
	for _, dir := range []string{"workers", "my dir", "café", ".workers", "w.", "com1", "nul.d/sub", "w~1"} {
		t.Run(dir, func(t *testing.T) {
			mod := t.TempDir()
			writeFile(t, filepath.Join(mod, "go.mod"), "module example.com/m\n\ngo "+goVersion+"\n\nrequire github.com/atmoworkers/atmo v0.0.0\n\nreplace github.com/atmoworkers/atmo => "+root+"\n")
			t.Chdir(mod)
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run([]string{"generate-worker", "calc", dir, "go"}, &stdout, &stderr), stderr.String())
			out := stdout.String()
			i := strings.Index(out, "GOOS=js GOARCH=wasm go build")
			require.GreaterOrEqual(t, i, 0, out)
			line := out[i:]
			line = line[:strings.Index(line, " (then see")]
			cmd := exec.Command(sh, "-c", line)
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s: %s", line, b)
			_, err = os.Stat(filepath.Join(dir, "calc.wasm"))
			assert.NoError(t, err, "the step writes the .wasm it says")
		})
	}
}

// A TYPE word generate-worker does not take is a usage error, as a fourth
// word is (exit 2, host: TestExtraArgumentsAreAUsageError), and nothing is
// written.
func TestGenerateWorkerUnknownTypeIsAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"generate-worker", "calc", ".", "brwoser"},
		{"generate-worker", "calc", "go"}, // no folder "go": the type word given as DIR
	} {
		dir := t.TempDir()
		t.Chdir(dir)
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		assert.Equal(t, 2, code, "%q: %s", args, &stderr)
		entries, _ := os.ReadDir(dir)
		assert.Empty(t, entries, "%q", args)
	}
}

// host -h says "host COMMAND -h: every flag of COMMAND, with what it does";
// generate-worker -h named -force without saying what it does.
func TestGenerateWorkerDashHSaysWhatEachFlagDoes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run([]string{"generate-worker", "-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-force")
	assert.Contains(t, stderr.String(), "overwrite existing files")
}

// A NAME generate-worker does not take is a usage error (exit 2), as an
// unknown TYPE is, not a failure (exit 1): it is a word the user typed,
// and the message says what to type instead. Nothing is written.
func TestGenerateWorkerBadNameIsAUsageErrorSayingWhatToType(t *testing.T) {
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"generate-worker", "my worker"}, `NAME "my worker" may hold only letters, digits, '-', '_' and '.', not ' '; e.g. "my-worker"`},
		{[]string{"generate-worker", "calc+", ".", "go"}, `not '+'; e.g. "calc"`},
		{[]string{"generate-worker", ".hidden"}, `NAME ".hidden" must not start with "."; e.g. "hidden"`},
		{[]string{"generate-worker", "--", "-calc"}, `NAME "-calc" must not start with "-"; e.g. "calc"`},
		{[]string{"generate-worker", "sub/calc"}, `put the directory in DIR`},
		{[]string{"generate-worker", "vendor", ".", "go"}, `pick another NAME`},
	} {
		dir := t.TempDir()
		t.Chdir(dir)
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		assert.Equal(t, 2, code, "%q: %s", c.args, &stderr)
		assert.Contains(t, stderr.String(), c.say, "%q", c.args)
		entries, _ := os.ReadDir(dir)
		assert.Empty(t, entries, "%q", c.args)
	}
}

// TestGeneratedGoDataWorkerChecksItsParamsInTheJSWorkersOrder: the Go data
// worker checks where (filter) and schema (validate) before records, "as
// the JS worker does", so that a call with both wrong, or without records,
// gets the same error from both.
func TestGeneratedGoDataWorkerChecksItsParamsInTheJSWorkersOrder(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	for _, kind := range []string{generate.Server, generate.Go} {
		_, err := generate.Generate(generate.Options{Name: "data-api", Dir: filepath.Join(dir, kind), Kind: kind})
		require.NoError(t, err)
	}
	buildGoWorker(t, filepath.Join(dir, "go", "data-api"), filepath.Join(dir, "data-api.wasm"))
	example := filepath.Join(dir, generate.Server, "data-api.example.js")
	src := withSamples(t, readFile(t, example), `['filter', { where: [{ field: 'a', op: 'bogus' }] }],
  ['filter', { where: 'a' }],
  ['validate', {}],
  ['validate', { schema: { a: 'int' } }],
  ['validate', { records: [{ a: 1 }], schema: [] }],`)
	writeFile(t, example, src)
	bootstrap, err := filepath.Abs(filepath.Join("..", "jsworker", "go-worker.js"))
	require.NoError(t, err)
	wasmExec := filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")
	start := `new Worker(path.join(__dirname, 'data-api.js'));`
	goSrc := strings.Replace(src, start, fmt.Sprintf(`new Worker(%q);
worker.postMessage({ message: 'go-module', url: %q, wasmExec: %q });`, bootstrap, filepath.Join(dir, "data-api.wasm"), wasmExec), 1)
	goExample := filepath.Join(dir, generate.Server, "data-api.go.example.js")
	writeFile(t, goExample, goSrc)
	var js, goes []map[string]any
	require.NoError(t, json.Unmarshal([]byte(runNode(t, example)), &js))
	require.NoError(t, json.Unmarshal([]byte(runNode(t, goExample)), &goes))
	require.Len(t, goes, len(js))
	for i := range js {
		assert.Equal(t, js[i], goes[i], "sample %d", i)
	}
}
