//go:build js && wasm

package atmo

import "github.com/atmoworkers/atmo/wasm/internal/values"

// The syscall/js boundary for values is shared with Go workers.
var (
	fromJS = values.FromJS // JS to Go, by the rules in the package doc
	jsCall = values.JSCall // runs f, turning a thrown JS exception into an error
)
