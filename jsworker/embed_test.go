package jsworker

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keepAwakeOf finds a script's keepAwake function: from its line to the
// first line that closes a function at the same indent.
var keepAwakeOf = regexp.MustCompile(`(?ms)^  function keepAwake\(\) \{\n.*?^  \}\n`)

// The JS worker helper and the Go worker bootstrap each stand alone in
// their worker, so each carries its own keepAwake. A mend to one must
// reach the other.
func TestBothWorkerScriptsKeepAwakeAlike(t *testing.T) {
	var bodies []string
	for _, name := range []string{"atmo-worker.js", "go-worker.js"} {
		text, err := FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		body := keepAwakeOf.Find(text)
		if body == nil {
			t.Fatalf("%s has no keepAwake function", name)
		}
		bodies = append(bodies, string(body))
	}
	if bodies[0] != bodies[1] {
		t.Errorf("keepAwake differs between atmo-worker.js and go-worker.js: copy the mended one over the other\natmo-worker.js:\n%s\ngo-worker.js:\n%s", bodies[0], bodies[1])
	}
}

// An ES-module copy of atmo-worker.js reaches worker_threads through
// process.getBuiltinModule, which Node.js added in 20.16 and 22.3 (never in
// 21, nor in 22.0-22.2). On a Node.js that lacks it, the error must not
// tell a user who runs 22.1 to "use Node.js 20.16 or later".
func TestESMHelperWithoutGetBuiltinModuleNamesAVersionThatHasIt(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "pkg")
	if err := os.Mkdir(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"atmo-worker.js", "atmo-worker.mjs"} {
		b, err := FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pkg/package.json", `{"type": "module"}`)
	write("w.mjs", `delete process.getBuiltinModule;
Object.defineProperty(process, 'versions', { value: { ...process.versions, node: process.env.FAKE } });
try {
  const m = await import('./pkg/atmo-worker.mjs');
  m.atmoWorker({ x: () => 1 });
  console.log('no error');
} catch (e) { console.log(e.message); }
process.exit(0);
`)
	write("main.mjs", `import { Worker } from 'node:worker_threads';
new Worker(new URL('./w.mjs', import.meta.url), { env: { FAKE: process.argv[2] } });
`)
	for _, v := range []string{"21.7.3", "22.1.0"} {
		out, err := exec.Command(node, filepath.Join(dir, "main.mjs"), v).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		msg := strings.TrimSpace(string(out))
		if !strings.Contains(msg, "on Node.js "+v) {
			t.Fatalf("Node.js %s: want the worker_threads error, got %q", v, msg)
		}
		if strings.Contains(msg, "20.16 or later") && !strings.Contains(msg, "22.3") {
			t.Errorf("Node.js %s: the error tells to use a version it already passes: %q", v, msg)
		}
	}
}
