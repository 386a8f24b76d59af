package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The TypeScript compiler, run over the types a page and a worker import
// (web/atmo.d.ts, jsworker/atmo-worker.d.ts and .d.mts) with the code they
// would write against them (host/testdata/typescript): the README's
// examples compile under strict, and each misuse is refused where its
// @ts-expect-error says. jsapi_dts_test.go holds the same files to what the
// scripts really have; this holds them to TypeScript itself.
func TestTheTypeScriptTypesCompileWithThePagesAndWorkersThatUseThem(t *testing.T) {
	tsc := typeScriptCompiler(t)
	dir := t.TempDir()
	for _, src := range []string{"../web/atmo.d.ts", "../jsworker/atmo-worker.d.ts", "../jsworker/atmo-worker.d.mts"} {
		copyFile(t, src, dir)
	}
	uses, err := filepath.Glob("testdata/typescript/*.[tj]s*")
	require.NoError(t, err)
	for _, src := range uses {
		if filepath.Base(src) != "package.json" && filepath.Base(src) != "package-lock.json" {
			copyFile(t, src, dir)
		}
	}
	for _, project := range []string{"tsconfig.page.json", "tsconfig.worker.json"} {
		t.Run(project, func(t *testing.T) {
			out, err := exec.Command("node", tsc, "-p", filepath.Join(dir, project)).CombinedOutput()
			require.NoError(t, err, "tsc -p %s:\n%s", project, out)
		})
	}
}

// typeScriptCompiler gives the path of the tsc that
// testdata/typescript/package-lock.json pins, installing it with npm ci
// the first time.
func typeScriptCompiler(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/typescript")
	require.NoError(t, err)
	tsc := filepath.Join(dir, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err == nil {
		return tsc
	}
	_, err = exec.LookPath("npm")
	require.NoError(t, err, "npm is not on PATH: install Node.js and npm (make deps does), or run npm ci in %s", dir)
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci in %s (it installs the TypeScript compiler):\n%s", dir, out)
	return tsc
}

func copyFile(t *testing.T, src, dir string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644))
}
