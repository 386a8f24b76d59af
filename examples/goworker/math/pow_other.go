//go:build !(js && wasm)

package main

import "math"

// pow is math.Pow with JS's rule for (±1) ** ±Infinity, which is NaN. (The
// worker itself, built for js/wasm, calls the engine's Math.pow.)
func pow(a, b float64) float64 {
	if math.IsInf(b, 0) && math.Abs(a) == 1 {
		return math.NaN()
	}
	return math.Pow(a, b)
}
