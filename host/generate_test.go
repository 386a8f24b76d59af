package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
