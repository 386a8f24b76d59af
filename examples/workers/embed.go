// Package workers holds the example JavaScript workers (math, data, image)
// and embeds them so the host server can serve them at /workers/.
package workers

import "embed"

// FS holds the example worker scripts and their README, by file name.
//
//go:embed *.js *.md
var FS embed.FS
