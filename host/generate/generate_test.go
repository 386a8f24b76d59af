package generate

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTemplateFollowsTheName(t *testing.T) {
	for name, want := range map[string]string{
		"math-worker": Math, "calculator": Math, "DataProcessor": Data, "api-client": Data,
		"image-worker": Image, "img": Image, "thumbnailer": Math, "x": Math,
	} {
		assert.Equal(t, want, TemplateFor(name), name)
	}
}

func TestEachKindWritesAWorkerAndAUsageExample(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		kind  string
		files []string
	}{
		{Browser, []string{"math-worker.js", "math-worker.example.html"}},
		{Server, []string{"math-worker.js", "math-worker.example.js"}},
		{Go, []string{filepath.Join("math-worker", "main.go"), filepath.Join("math-worker", "README.md")}},
	}
	for _, c := range cases {
		out := filepath.Join(dir, c.kind)
		files, err := Generate(Options{Name: "math-worker", Dir: out, Kind: c.kind})
		require.NoError(t, err, c.kind)
		require.Len(t, files, 2)
		for i, f := range c.files {
			assert.Equal(t, filepath.Join(out, f), files[i].Path)
			body, err := os.ReadFile(files[i].Path)
			require.NoError(t, err)
			assert.Equal(t, files[i].Content, string(body))
			for _, task := range Tasks(Math) {
				if files[i].Role == "worker" {
					assert.Contains(t, string(body), task, "%s worker handles %s", c.kind, task)
				}
			}
		}
	}
}

func TestDefaultsAreTheCurrentDirectoryAndBrowser(t *testing.T) {
	files, err := Plan(Options{Name: "calc"})
	require.NoError(t, err)
	assert.Equal(t, []string{"calc.js", "calc.example.html"}, []string{files[0].Path, files[1].Path})
	assert.Contains(t, files[0].Content, "self.onmessage")
}

func TestBadInputIsRefusedAndNothingIsWritten(t *testing.T) {
	for _, o := range []Options{
		{Name: ""},
		{Name: "   "},
		{Name: "../escape"},
		{Name: "a/b"},
		{Name: `a\b`},
		{Name: ".."},
		{Name: "x..y"},
		{Name: ".hidden"},
		{Name: "-flag"},
		{Name: "sp ace"},
		{Name: "math-worker", Kind: "rust"},
		{Name: "math-worker", Kind: "Browser "},
	} {
		dir := t.TempDir()
		o.Dir = filepath.Join(dir, "out")
		_, err := Generate(o)
		require.Error(t, err, "%+v", o)
		assert.True(t, errors.Is(err, ErrBadInput), "%+v: %v", o, err)
		_, statErr := os.Stat(o.Dir)
		assert.True(t, os.IsNotExist(statErr), "%+v wrote %s", o, o.Dir)
	}
	_, err := Plan(Options{Name: "x", Kind: "rust"})
	assert.ErrorContains(t, err, "use browser, server or go")
	_, err = Plan(Options{Name: "a/b"})
	assert.ErrorContains(t, err, "without path separators")
}

func TestExistingFilesAreKeptUnlessForce(t *testing.T) {
	dir := t.TempDir()
	worker := filepath.Join(dir, "image-worker.js")
	require.NoError(t, os.WriteFile(worker, []byte("mine"), 0o644))

	_, err := Generate(Options{Name: "image-worker", Dir: dir})
	require.ErrorIs(t, err, ErrExists)
	assert.ErrorContains(t, err, "-force")
	body, _ := os.ReadFile(worker)
	assert.Equal(t, "mine", string(body))
	_, statErr := os.Stat(filepath.Join(dir, "image-worker.example.html"))
	assert.True(t, os.IsNotExist(statErr), "nothing is written when one file exists")

	_, err = Generate(Options{Name: "image-worker", Dir: dir, Force: true})
	require.NoError(t, err)
	body, _ = os.ReadFile(worker)
	assert.Contains(t, string(body), "resize")
}

// stubWorker is the documented API of github.com/atmoworkers/atmo/wasm/worker,
// so the Go templates can be compiled before (and apart from) the real one.
const stubWorker = `package worker

import (
	"context"
	"syscall/js"
)

func Handle(name string, fn func(ctx context.Context, params any) (any, error)) {}
func Await(ctx context.Context, promise js.Value) (js.Value, error)            { return promise, nil }
func Run() {}
`

func TestGoWorkersCompileForJSWasm(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, name := range []string{"math-worker", "data-api", "image-worker"} {
		t.Run(name, func(t *testing.T) {
			mod := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module github.com/atmoworkers/atmo\n\ngo 1.24\n"), 0o644))
			require.NoError(t, os.MkdirAll(filepath.Join(mod, "wasm", "worker"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(mod, "wasm", "worker", "worker.go"), []byte(stubWorker), 0o644))
			_, err := Generate(Options{Name: name, Dir: filepath.Join(mod, "gen"), Kind: Go})
			require.NoError(t, err)

			cmd := exec.Command(gobin, "vet", "./gen/"+name)
			cmd.Dir = mod
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=-mod=mod", "GOWORK=off")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)

			fmtOut, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "gofmt"), "-l", filepath.Join(mod, "gen")).CombinedOutput()
			require.NoError(t, err)
			assert.Empty(t, strings.TrimSpace(string(fmtOut)), "generated Go is gofmt'ed")
		})
	}
}

func TestGoWorkersCompileAgainstTheRealWorkerPackage(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "wasm", "worker")); err != nil {
		t.Skip("wasm/worker is not in this tree yet; TestGoWorkersCompileForJSWasm checks the templates against its documented API")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, name := range []string{"math-worker", "data-api", "image-worker"} {
		dir := filepath.Join(t.TempDir(), "gen")
		_, err := Generate(Options{Name: name, Dir: dir, Kind: Go})
		require.NoError(t, err)
		cmd := exec.Command(gobin, "build", "-o", os.DevNull, filepath.Join(dir, name, "main.go"))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
	}
}

func TestServerWorkersRunUnderNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the Node.js tests (make test-node) cover server workers")
	}
	dir := t.TempDir()
	for name, want := range map[string][]string{
		"math-worker":  {`"value":5`, `"value":1024`, `"error":"Division by zero is not allowed"`},
		"data-api":     {`"value":[1,2,3]`, `[{"name":"Ada"},{"name":"Alan"}]`, `"valid":false`},
		"image-worker": {`"pixels":4`, `"data":[0,255,255,255`},
	} {
		_, err := Generate(Options{Name: name, Dir: dir, Kind: Server})
		require.NoError(t, err)
		out, err := exec.Command(node, filepath.Join(dir, name+".example.js")).CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
		for _, w := range want {
			assert.Contains(t, string(out), w, name)
		}
	}
}

// A Go worker is a main package of its own: written into a folder that
// holds another package's Go files (its tests too), it would break that
// package ("found packages calc and main") and not build itself. -force
// overwrites the generator's own files, never such a folder. A file no build
// takes (//go:build ignore, a go:generate helper) and main's own external
// tests are no other package.
func TestAGoWorkerIsWrittenOnlyWhereNoOtherPackageLives(t *testing.T) {
	for _, c := range []struct {
		file, text string
		refused    bool
	}{
		{"api.go", "package jsapi\n", true},
		{"calc_test.go", "package calc\n", true},
		{"calc_test.go", "package main_test\n", false},
		{"gen.go", "//go:build ignore\n\npackage tools\n", false},
	} {
		t.Run(c.file+" "+strings.TrimSpace(c.text), func(t *testing.T) {
			dir := t.TempDir()
			pkg := filepath.Join(dir, "calc-w")
			require.NoError(t, os.MkdirAll(pkg, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(pkg, c.file), []byte(c.text), 0o644))
			_, err := Generate(Options{Name: "calc-w", Dir: dir, Kind: Go})
			if !c.refused {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadInput)
			_, statErr := os.Stat(filepath.Join(pkg, "main.go"))
			assert.True(t, os.IsNotExist(statErr), "nothing written")
			_, err = Generate(Options{Name: "calc-w", Dir: dir, Kind: Go, Force: true})
			assert.ErrorIs(t, err, ErrBadInput, "not with -force either")
		})
	}
}

// A Go worker named vendor is written to DIR/vendor/main.go: at a module's
// root, that folder turns on -mod=vendor for the whole module, and every
// build of it fails ("inconsistent vendoring").
func TestAGoWorkerNamedVendorIsRefused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n\nrequire golang.org/x/text v0.3.0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.go"), []byte("package m\n"), 0o644))
	_, err := Generate(Options{Name: "vendor", Dir: dir, Kind: Go})
	if err == nil {
		cmd := exec.Command("go", "build", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOPROXY=off")
		out, berr := cmd.CombinedOutput()
		t.Fatalf("a Go worker named vendor was written; the module's own package then builds with: %v\n%s", berr, out)
	}
	assert.True(t, errors.Is(err, ErrBadInput), "%v", err)
	_, statErr := os.Stat(filepath.Join(dir, "vendor"))
	assert.True(t, os.IsNotExist(statErr), "nothing is written")
}

// A folder that holds another program (a package main with its own func
// main in a file other than main.go) is a folder of another program: the
// generated main.go beside it would break that program's build ("main
// redeclared in this block"), and the worker's.
func TestAGoWorkerIsNotWrittenBesideAnotherProgramsMain(t *testing.T) {
	for _, c := range []struct {
		file, text string
		ok         bool
	}{
		{"server.go", "package main\n\nfunc main() {}\n", false},
		{"server.go", "package main\n\nfunc helper() {}\n", true},                     // a helper of the worker's own package main
		{"main_other.go", "//go:build !js\n\npackage main\n\nfunc main() {}\n", true}, // a main for other systems, as examples/server has
	} {
		dir := t.TempDir()
		pkg := filepath.Join(dir, "calc-w")
		require.NoError(t, os.MkdirAll(pkg, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(pkg, c.file), []byte(c.text), 0o644))
		_, err := Generate(Options{Name: "calc-w", Dir: dir, Kind: Go})
		if c.ok {
			assert.NoError(t, err, "%s: %s", c.file, c.text)
			continue
		}
		require.ErrorIs(t, err, ErrBadInput, "main.go written beside %s's func main", c.file)
		_, statErr := os.Stat(filepath.Join(pkg, "main.go"))
		assert.True(t, os.IsNotExist(statErr), "nothing written")
	}
}

// A Go worker generated into a module of one's own leaves that module's
// native go build ./..., go vet ./... and go test ./... (what a CI runs,
// with no GOOS) as they were: a worker that imports syscall/js without a
// build constraint failed all three with "build constraints exclude all Go
// files in .../syscall/js", for the math and data templates (the image one,
// and the repository's own examples/goworker, build natively).
func TestGoWorkersLeaveANativeBuildOfTheirModuleClean(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/app\n\ngo 1.26.0\n\n"+
		"require github.com/atmoworkers/atmo v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/atmoworkers/atmo => "+root+"\n"), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644))
	for _, name := range []string{"math-worker", "data-api", "image-worker"} {
		_, err := Generate(Options{Name: name, Dir: filepath.Join(mod, "cmd"), Kind: Go})
		require.NoError(t, err)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"build", "./..."}} {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=", "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "go %s in a module with the generated Go workers:\n%s", strings.Join(args, " "), out)
	}
}

// A Go worker's README and main.go say to build it as the package
// ./NAME: a NAME Go refuses in an import path (a trailing dot, a name
// Windows reserves, aux or nul.calc) makes that "malformed import path", so
// it is refused up front, as vendor is, or the build it documents works.
func TestAGoWorkerIsNamedSoThatItsDocumentedBuildWorks(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, name := range []string{"aux", "calc.", "Nul.calc", "com1-calc"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n\nrequire github.com/atmoworkers/atmo v0.0.0\n\nreplace github.com/atmoworkers/atmo => "+root+"\n"), 0o644))
			_, err := Generate(Options{Name: name, Dir: dir, Kind: Go})
			if err != nil {
				assert.True(t, errors.Is(err, ErrBadInput), "%v", err)
				assert.Contains(t, err.Error(), "import path")
				return
			}
			readme, _ := os.ReadFile(filepath.Join(dir, name, "README.md"))
			require.Contains(t, string(readme), "go build -o "+name+".wasm ./"+name+"\n")
			cmd := exec.Command("go", "build", "-o", name+".wasm", "./"+name)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=-mod=mod", "GOPROXY=off")
			out, berr := cmd.CombinedOutput()
			assert.NoError(t, berr, "the README's build: %s", out)
		})
	}
}
