// Command host serves atmo's dashboard, JS API and example workers, runs the
// dashboard headless as a demo, generates worker skeletons and runs the
// benchmark suite.
//
//	go run ./host [-addr 127.0.0.1:8080] [-wasm bin/wasm] [-isolate] [-mount /gen/=./dir] [-allow-host NAME]
//	go run ./host demo [-out demo.png] [-wasm bin/wasm] [-timeout 2m] [-v]
//	go run ./host generate-worker [-force] NAME [DIR] [browser|server|go]
//	go run ./host bench [-short|-tiny] [-runs N] [-only WORKLOADS] [-json bench.json] [-profile IMPL[/worker] [-profile-dir DIR]] [-timeout 30m] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit, for tests: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args, stdout, stderr)
	case "demo":
		err = demoCmd(args, stdout, stderr)
	case "generate-worker":
		err = generateCmd(args, stdout, stderr)
	case "bench":
		err = benchCmd(args, stdout, stderr)
	case "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "host: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.As(err, new(flagError)) {
		return 2
	}
	if errors.As(err, new(usageError)) {
		fmt.Fprintln(stderr, "host:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "host:", err)
		return 1
	}
	return 0
}

// flagError is a command line the flag package refused, and has printed
// with the usage already.
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

// usageError is a command line with words its command does not take: a
// usage error (exit 2), as a bad flag is, said with why.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  host [serve] [-addr 127.0.0.1:8080] [-wasm bin/wasm] [-isolate] [-mount /prefix/=DIR]... [-allow-host NAME]...
      serve the dashboard (/), the JS API (/atmo.js, /atmo.wasm), the example
      workers (/workers/), jsworker/ (/jsworker/) and /wasm_exec.js
  host demo [-out demo.png] [-wasm bin/wasm] [-timeout 2m] [-v]
      run the dashboard in headless Chromium with a fixed workload; print a
      table of results and save a screenshot; exit 1 if any result was wrong
  host generate-worker [-force] NAME [DIR] [browser|server|go]
      write a worker skeleton (math, data or image, chosen by NAME) and a usage example
  host bench [-short|-tiny] [-runs N] [-only WORKLOADS] [-json bench.json] [-profile IMPL[/worker] [-profile-dir DIR]] [-timeout 30m] [-v]
      the benchmark suite: raw postMessage, workerpool and atmo (JS and Go
      workers) side by side in headless Chromium; prints a table, writes JSON
  host COMMAND -h
      every flag of COMMAND, with what it does
`)
}

// mountFlags collects repeated -mount /prefix/=DIR flags.
type mountFlags []Mount

func (m *mountFlags) String() string { return fmt.Sprint(*m) }

func (m *mountFlags) Set(v string) error {
	prefix, dir, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(prefix, "/") || dir == "" {
		return fmt.Errorf("want /prefix/=DIR, got %q", v)
	}
	given := prefix
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if clean := strings.TrimSuffix(path.Clean(prefix), "/") + "/"; clean != prefix {
		return fmt.Errorf("the prefix %s could never be served: a URL's path is cleaned before it is matched; use %s", given, clean)
	}
	if st, err := os.Stat(dir); err != nil {
		return err // says why: no such directory, permission denied
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	*m = append(*m, Mount{Prefix: prefix, Dir: dir})
	return nil
}

// hostFlags collects repeated -allow-host NAME flags.
type hostFlags []string

func (h *hostFlags) String() string { return strings.Join(*h, ",") }

func (h *hostFlags) Set(v string) error {
	if v == "" || strings.ContainsAny(v, "/:[] ") {
		return fmt.Errorf("want a host name such as my-tunnel.example.com, got %q", v)
	}
	*h = append(*h, v)
	return nil
}

func serveCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { // host -h: the other commands too, then serve's flags
		usage(stderr)
		fmt.Fprintln(stderr, "\nserve's flags:")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; the default is loopback only")
	wasmDir := fs.String("wasm", "bin/wasm", "directory of the built WASM (atmo.wasm, workers/*.wasm, wasm_exec.js)")
	isolate := fs.Bool("isolate", false, "send COOP/COEP headers (cross-origin isolation, for SharedArrayBuffer)")
	var mounts mountFlags
	fs.Var(&mounts, "mount", "serve a directory under a URL prefix: /prefix/=DIR (repeatable)")
	var allowHosts hostFlags
	fs.Var(&allowHosts, "allow-host", "a host name, besides localhost and IP addresses, that requests on loopback may name, such as a tunnel's (repeatable)")
	if err := fs.Parse(args); err != nil {
		return flagError{err} // the flag package has said it
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := checkWasm(*wasmDir); err != nil {
		fmt.Fprintf(stderr, "host: warning: %v (a page that runs its own Go program with wasm/atmo does not need it)\n", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: %w (is another server running? pick another with -addr)", *addr, err)
		}
		return fmt.Errorf("listen on %s: %w (-addr takes host:port, such as 127.0.0.1:8080, or :0 for a free port)", *addr, err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(stderr, "host: warning: listening on %s, reachable from other machines\n", ln.Addr())
	}
	srv := newServer(NewHandler(Config{WasmDir: *wasmDir, Isolate: *isolate, Mounts: mounts, AllowedHosts: allowHosts}))
	fmt.Fprintf(stdout, "atmo: serving the dashboard on http://%s/ (Ctrl-C to stop)\n", displayAddr(ln.Addr()))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		stop() // a second Ctrl-C ends the process at once
		fmt.Fprintf(stderr, "host: stopping; waiting up to %v for the requests under way (Ctrl-C again to quit now)\n", shutdownGrace)
		shut, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(shut); errors.Is(err, context.DeadlineExceeded) {
			srv.Close()
			fmt.Fprintf(stderr, "host: stopped; requests still under way after %v were cut off\n", shutdownGrace)
			return nil
		} else if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "host: stopped")
		return nil
	}
}

// shutdownGrace is how long a stopping server lets requests under way end.
const shutdownGrace = 3 * time.Second

// displayAddr is an address a browser can open: 0.0.0.0 and :: become loopback.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
