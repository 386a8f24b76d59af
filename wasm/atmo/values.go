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

// prepareParams normalizes params and writes a map or slice to the wire's
// bytes at once, which is how a queued task keeps them: a queue of 100,000
// tasks held 742 B a task in Chromium with each task's params as a map,
// 471 as bytes, which the collector need not scan. Plain params (maps and
// slices of numbers, strings, bools and bytes) are written in one walk,
// without the copy normalizing makes.
func prepareParams(v any) (any, error) {
	if e, ok := values.EncodePlain(v); ok {
		return e, nil
	}
	n, err := normalize(v)
	if err != nil {
		return nil, err
	}
	return values.Preencoded(n), nil
}
