// Package generate writes worker skeletons, as the seed's generate-worker
// CLI does: a worker (a JS script for the browser or for Node.js
// worker_threads, or a Go main package for a Go WASM worker) and a usage
// example next to it.
//
// The template follows the name: names containing "math" or "calc" get the
// math tasks, "data" or "api" the data tasks, "image" or "img" the image
// tasks; anything else gets math.
//
// The package uses only the os, path/filepath, go/parser and go/build packages (no
// processes, no network), so it also compiles for GOOS=js.
package generate

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kinds of worker: where the worker runs.
const (
	Browser = "browser" // a Web Worker script
	Server  = "server"  // a Node.js worker_threads script
	Go      = "go"      // a Go WASM worker module (a main package using wasm/worker)
)

// Templates: which tasks the worker gets.
const (
	Math  = "math"  // add, subtract, multiply, divide, power, sqrt
	Data  = "data"  // fetch, transform, validate, filter
	Image = "image" // resize, compress, filter, analyze
)

// ErrBadInput is wrapped by every error about the options.
var ErrBadInput = errors.New("generate-worker: bad input")

// ErrExists is wrapped by the error for files that exist without Force.
var ErrExists = errors.New("generate-worker: files exist")

// Options say what to generate.
type Options struct {
	// Name names the worker and picks its template, e.g. "math-worker".
	// Letters, digits, '-', '_' and '.'; no path separators, no "..".
	Name string
	// Dir is where the files go. Default ".".
	Dir string
	// Kind is Browser (default), Server or Go.
	Kind string
	// Force overwrites existing files.
	Force bool
}

// File is one generated file.
type File struct {
	Path    string // under Options.Dir
	Content string
	Role    string // "worker" or "example"
}

// TemplateFor picks the template by the worker's name.
func TemplateFor(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "math") || strings.Contains(n, "calc"):
		return Math
	case strings.Contains(n, "data") || strings.Contains(n, "api"):
		return Data
	case strings.Contains(n, "image") || strings.Contains(n, "img"):
		return Image
	}
	return Math
}

// Tasks are the task names of a template.
func Tasks(template string) []string {
	switch template {
	case Data:
		return []string{"fetch", "transform", "validate", "filter"}
	case Image:
		return []string{"resize", "compress", "filter", "analyze"}
	}
	return []string{"add", "subtract", "multiply", "divide", "power", "sqrt"}
}

func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: the worker needs a NAME, e.g. math-worker", ErrBadInput)
	}
	if strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
		return fmt.Errorf("%w: NAME %q must be a plain name, without path separators or \"..\"; put the directory in DIR", ErrBadInput, name)
	}
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w: NAME %q must not start with %q; e.g. %q", ErrBadInput, name, name[:1], nameLike(name))
	}
	for _, r := range name {
		if !nameRune(r) {
			return fmt.Errorf("%w: NAME %q may hold only letters, digits, '-', '_' and '.', not %q; e.g. %q", ErrBadInput, name, r, nameLike(name))
		}
	}
	return nil
}

// nameRune says whether r may be in a NAME.
func nameRune(r rune) bool {
	return r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// nameLike is a NAME checkName takes made of name, a plain name it
// refused: its runs of allowed characters joined by '-', without a
// leading or trailing '.' or '-' (math-worker when nothing is left).
func nameLike(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return !nameRune(r) })
	s := strings.Trim(strings.Join(parts, "-"), ".-")
	if s == "" || strings.Contains(s, "..") {
		return "math-worker"
	}
	return s
}

// Plan returns the files Generate would write, without touching the disk
// (beyond nothing at all), or an error for bad options.
func Plan(o Options) ([]File, error) {
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Kind == "" {
		o.Kind = Browser
	}
	tmpl := TemplateFor(o.Name)
	base := strings.TrimSuffix(o.Name, ".js")
	switch o.Kind {
	case Browser:
		return []File{
			{Path: filepath.Join(o.Dir, base+".js"), Content: browserWorker(base, tmpl), Role: "worker"},
			{Path: filepath.Join(o.Dir, base+".example.html"), Content: browserExample(base, tmpl), Role: "example"},
		}, nil
	case Server:
		return []File{
			{Path: filepath.Join(o.Dir, base+".js"), Content: serverWorker(base, tmpl), Role: "worker"},
			{Path: filepath.Join(o.Dir, base+".example.js"), Content: serverExample(base, tmpl), Role: "example"},
		}, nil
	case Go:
		if strings.EqualFold(base, "vendor") {
			// DIR/vendor at a module's root turns on -mod=vendor for the
			// whole module: every build of it would fail.
			return nil, fmt.Errorf("%w: a Go worker is written to a folder named after it, and Go takes a folder named %q for the module's vendored dependencies: pick another NAME", ErrBadInput, base)
		}
		if why, like := ImportElemRefused(base); why != "" {
			// README.md and main.go build the package ./NAME: Go refuses
			// such a folder in an import path ("malformed import path").
			return nil, fmt.Errorf("%w: a Go worker is written to a folder named after it, and Go refuses a folder named %q in an import path (%s): pick another NAME, e.g. %q", ErrBadInput, base, why, like)
		}
		return []File{
			{Path: filepath.Join(o.Dir, base, "main.go"), Content: goWorker(base, tmpl), Role: "worker"},
			{Path: filepath.Join(o.Dir, base, "README.md"), Content: goExample(base, tmpl), Role: "example"},
		}, nil
	}
	return nil, fmt.Errorf("%w: unknown type %q; use browser, server or go", ErrBadInput, o.Kind)
}

// ImportElemRefused says why Go refuses elem as an element of an import
// path wherever it builds (golang.org/x/mod/module's CheckImportPath: a
// trailing dot, a name Windows reserves before any dot, as aux or
// nul.calc, or a Windows short name, as w~1), and a name like it that Go
// takes; "" if it takes it. Its characters are checked elsewhere.
func ImportElemRefused(elem string) (why, like string) {
	short, rest, _ := strings.Cut(elem, ".")
	switch strings.ToUpper(short) {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		like = short + "-worker"
		if rest = strings.TrimRight(rest, "."); rest != "" {
			like += "." + rest
		}
		return "a name Windows reserves", like
	}
	if strings.HasSuffix(elem, ".") {
		return "a trailing dot", strings.TrimRight(elem, ".")
	}
	if i := strings.LastIndexByte(short, '~'); i >= 0 && i < len(short)-1 && strings.Trim(short[i+1:], "0123456789") == "" {
		return "a Windows short name, as PROGRA~1", strings.ReplaceAll(elem, "~", "-")
	}
	return "", ""
}

// Generate writes the files of Plan. It writes nothing when the options
// are bad, or when a file exists and Force is not set.
func Generate(o Options) ([]File, error) {
	files, err := Plan(o)
	if err != nil {
		return nil, err
	}
	if o.Kind == Go {
		if err := otherPackage(filepath.Dir(files[0].Path)); err != nil {
			return nil, err
		}
	}
	var exist []string
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil {
			if st.IsDir() {
				return nil, fmt.Errorf("%w: %s is a directory", ErrBadInput, f.Path)
			}
			exist = append(exist, f.Path)
		}
	}
	if len(exist) > 0 && !o.Force {
		sort.Strings(exist)
		return nil, fmt.Errorf("%w: %s already exist; pass -force to overwrite", ErrExists, strings.Join(exist, ", "))
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.Path, []byte(f.Content), 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// otherPackage is an error if dir holds Go files of a package other than
// main: a Go worker written there would break that package, and not build.
func otherPackage(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // no directory yet, or Generate's own checks say what is wrong
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err == nil && ignored(f) {
			continue // no build takes it (a go:generate helper): no package of dir's
		}
		// A test file counts too: package calc's tests beside a main.go
		// break the build ("found packages"); main's own tests may be main_test.
		if err != nil || (f.Name.Name != "main" && !(strings.HasSuffix(name, "_test.go") && f.Name.Name == "main_test")) {
			return fmt.Errorf("%w: %s holds %s, a Go file of another package; a Go worker is a main package of its own: pick another NAME or DIR", ErrBadInput, dir, name)
		}
		// A package main file other than the main.go written here that has
		// a func main of its own is another program: main.go beside it
		// would not build ("main redeclared"), nor would that program.
		if name != "main.go" && !strings.HasSuffix(name, "_test.go") && builtForJSWasm(dir, name) && declaresMain(filepath.Join(dir, name)) {
			return fmt.Errorf("%w: %s holds %s, which has a func main: that folder is another program; a Go worker is a main package of its own: pick another NAME or DIR", ErrBadInput, dir, name)
		}
	}
	return nil
}

// builtForJSWasm says whether GOOS=js GOARCH=wasm builds the file (its
// name and //go:build line): a main_other.go for other systems is not in
// the worker's build.
func builtForJSWasm(dir, name string) bool {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "js", "wasm", false
	ok, err := ctx.MatchFile(dir, name)
	return err != nil || ok
}

// declaresMain says whether the Go file has a top-level func main.
func declaresMain(file string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" {
			return true
		}
	}
	return false
}

// ignored says whether f is built by no build: //go:build ignore.
func ignored(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if constraint.IsGoBuild(c.Text) {
				x, err := constraint.Parse(c.Text)
				return err == nil && x.String() == "ignore"
			}
		}
	}
	return false
}

// fill replaces {{KEY}} placeholders.
func fill(s string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(s)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
