// Package web is the dashboard and the JavaScript API (atmo.js, atmo.d.ts)
// served by the host server. The files are embedded so the server binary is
// self-contained.
package web

import "embed"

// FS holds the dashboard's files, by path relative to web/.
//
//go:embed *.html *.js *.css *.d.ts data
var FS embed.FS
