// Package jsworker holds the JavaScript helpers for writing atmo workers
// (atmo-worker.js, atmo-worker.mjs, go-worker.js) and embeds their text so
// a Go program, such as the host server, can serve them.
package jsworker

import "embed"

// FS holds every script of this directory, by file name.
//
//go:embed *.js *.mjs *.d.ts *.d.mts
var FS embed.FS
