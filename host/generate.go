package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/atmoworkers/atmo/host/generate"
)

func isKind(word string) bool {
	switch strings.ToLower(word) {
	case generate.Browser, generate.Server, generate.Go:
		return true
	}
	return false
}

// generateCmd is `generate-worker [-force] NAME [DIR] [browser|server|go]`.
// -force may also come after the arguments.
func generateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "overwrite existing files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: host generate-worker [-force] NAME [DIR] [browser|server|go]")
		fmt.Fprintln(stderr, "  NAME picks the template: math/calc, data/api, image/img (default math)")
		fmt.Fprintln(stderr, "  DIR defaults to the current directory, the type to browser")
		fmt.Fprintln(stderr, "flags (before or after the arguments):")
		fs.PrintDefaults()
	}
	// Flags may come before, between or after the arguments: NAME cannot
	// start with '-', and a DIR that does can be written ./-dir. "--" ends them.
	var flags, pos []string
	for i, a := range args {
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			continue
		}
		pos = append(pos, a)
	}
	if err := fs.Parse(flags); err != nil {
		return flagError{err} // the flag package has said it
	}
	if len(pos) == 0 || len(pos) > 3 {
		fs.Usage()
		return usageError{fmt.Errorf("generate-worker takes NAME [DIR] [TYPE], got %d arguments", len(pos))}
	}
	o := generate.Options{Name: pos[0], Dir: ".", Kind: generate.Browser, Force: *force}
	if len(pos) > 1 {
		o.Dir = pos[1]
	}
	if len(pos) == 2 && isKind(pos[1]) {
		if fi, err := os.Stat(pos[1]); err != nil || !fi.IsDir() {
			return usageError{fmt.Errorf("generate-worker %s %s: the second word is the directory (NAME [DIR] [TYPE]), and there is no directory %q; for a %s worker here, say generate-worker %s . %s", pos[0], pos[1], pos[1], pos[1], pos[0], pos[1])}
		}
	}
	if len(pos) > 2 {
		if !isKind(pos[2]) {
			return usageError{fmt.Errorf("generate-worker: unknown type %q; use browser, server or go", pos[2])}
		}
		o.Kind = strings.ToLower(pos[2])
	}
	files, err := generate.Generate(o)
	if errors.Is(err, generate.ErrBadInput) {
		// A NAME, DIR or TYPE it does not take: words the user typed, as
		// an unknown TYPE is above; the error says what to type instead.
		return usageError{err}
	}
	if err != nil {
		return err
	}
	tmpl := generate.TemplateFor(o.Name)
	fmt.Fprintf(stdout, "generated a %s %s worker (tasks: %s):\n", o.Kind, tmpl, strings.Join(generate.Tasks(tmpl), ", "))
	for _, f := range files {
		fmt.Fprintf(stdout, "  %-8s %s\n", f.Role, f.Path)
	}
	fmt.Fprintln(stdout, nextStep(o, files))
	return nil
}

// nextStep says how to run what was generated.
func nextStep(o generate.Options, files []generate.File) string {
	dot := func(p string) string { // a path go build and node take as a path
		sep := string(filepath.Separator)
		if filepath.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "."+sep) || strings.HasPrefix(p, ".."+sep) {
			return p
		}
		return "." + sep + p
	}
	switch o.Kind {
	case generate.Server:
		p := files[1].Path
		if strings.HasPrefix(p, "-") { // node would take it for an option
			p = dot(p)
		}
		return "next: node " + shellQuote(p)
	case generate.Go:
		pkg := filepath.Dir(files[0].Path)
		target := dot(pkg)
		if !importPathOK(pkg) {
			// go build ./my dir/calc is "malformed import path": a folder
			// Go refuses in an import path is built by its file.
			target = dot(files[0].Path)
		}
		return fmt.Sprintf("next, in a module that requires github.com/atmoworkers/atmo: %s (then see %s)",
			goBuildWasm(shellQuote(pkg+".wasm"), shellQuote(target)), files[1].Path)
	}
	// The host may run from elsewhere than where the worker was written: its
	// folder is named absolutely.
	dir := o.Dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	where, build, host := "in the atmo repository", "make build-wasm", "go run ./host"
	if root, err := repoRoot(); err != nil { // a module of the user's own, with the host as its tool
		where, build, host = "in your module (once: go get -tool github.com/atmoworkers/atmo/host)",
			goBuildWasm(filepath.Join("bin", "wasm", "atmo.wasm"), atmoWasmPkg), "go tool host"
	} else if wd, err := os.Getwd(); err == nil && wd != root { // make and ./host are the root's
		build = "cd " + shellQuote(root) + " && " + build
	}
	return fmt.Sprintf("next, %s: %s && %s -mount %s, then open http://127.0.0.1:8080/my/%s", where, build, host, shellQuote("/my/="+dir), filepath.Base(files[1].Path))
}

// shellQuote is s as one word of a POSIX shell: as it is when it holds
// nothing the shell would split or expand, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// importPathOK says whether go build takes the folder p as a package: the
// characters of every element of its import path are ASCII letters and
// digits and "-._~+", and Go takes every element (generate.ImportElemRefused),
// as golang.org/x/mod/module's CheckImportPath has them. An absolute path may
// hold others above its module's root, which is not known here; it is told
// no, and built by its file.
func importPathOK(p string) bool {
	for _, r := range filepath.ToSlash(p) {
		if !(r == '/' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+", r)) {
			return false
		}
	}
	for _, elem := range strings.Split(filepath.ToSlash(p), "/") {
		if elem == "" || elem == "." || elem == ".." {
			continue // ./x, ../x: where the path starts, not a part of its import path
		}
		if why, _ := generate.ImportElemRefused(elem); why != "" {
			return false
		}
	}
	return true
}
