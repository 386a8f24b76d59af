//go:build js && wasm

package main

import "syscall/js"

var mathPow = js.Global().Get("Math").Get("pow")

// pow is the JS engine's own Math.pow, so that power answers to the last
// bit as the JS math worker does: Go's math.Pow is off by some units in
// the last place for many inputs (1.0411 ** -22), and is 1, not NaN, for
// (±1) ** ±Infinity.
func pow(a, b float64) float64 { return mathPow.Invoke(a, b).Float() }
