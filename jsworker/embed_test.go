package jsworker

import (
	"regexp"
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
