package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite is a benchmark, not a test: this only checks that it runs end
// to end and reports a figure for every workload and implementation. It
// asserts no time.
func TestBenchShortRunsEveryWorkloadAndWritesJSON(t *testing.T) {
	root, err := repoRoot()
	require.NoError(t, err)
	if err := ensurePeer(root, &bytes.Buffer{}); errors.Is(err, errPeerUnavailable) {
		t.Skipf("the bench's peer is missing and could not be installed, so the suite cannot run here: %v", err)
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "-tiny", "-json", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "WORKLOAD")
	assert.Contains(t, stdout.String(), "wrote "+out)

	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var rep benchReport
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Equal(t, "tiny", rep.Settings.Name)
	assert.NotEmpty(t, rep.Machine.Browser)
	assert.Positive(t, rep.Machine.HardwareConcurrency)

	positive := map[string]map[string]bool{}
	for _, r := range rep.Results {
		if positive[r.Workload] == nil {
			positive[r.Workload] = map[string]bool{}
		}
		if r.Median > 0 {
			positive[r.Workload][r.Impl] = true
		}
		assert.Len(t, r.Runs, rep.Settings.Runs, "%s %s %s %s", r.Workload, r.Case, r.Impl, r.Variant)
		if r.Impl == implAtmoJS || r.Impl == implAtmoGo {
			assert.Positive(t, r.VsRaw, "%s %s %s: no ratio to raw", r.Workload, r.Case, r.Impl)
			assert.Positive(t, r.VsWorkerpool, "%s %s %s: no ratio to workerpool", r.Workload, r.Case, r.Impl)
		}
	}
	for _, w := range benchWorkloads {
		for _, impl := range benchImpls {
			assert.True(t, positive[w][impl], "no positive figure for %s on %s", w, impl)
		}
	}
}
