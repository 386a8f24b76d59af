package worker

import "github.com/atmoworkers/atmo/wasm/internal/values"

// The value rules are package atmo's, shared through internal/values.
var normalize = values.Normalize
