package atmo

import (
	"fmt"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// normalize turns params into the tree that crosses to a worker (see
// values.Normalize): numbers become float64, as they do in JS; structs
// follow their json tags as encoding/json would; []byte stays bytes (a
// Uint8Array on the other side). A value JS cannot hold (a func, a channel,
// a complex number, a cycle) is an ErrBadParams error that names where it
// sits, never a panic.
func normalize(v any) (any, error) {
	n, err := values.Normalize(v, "params")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	return n, nil
}
