// Package hooks lets package jsapi ask of package atmo what only the JS API
// needs, without widening atmo's public API. Package atmo sets them in its
// init, so they are set whenever jsapi, which imports atmo, runs.
package hooks

// HoldRawResults makes tm, an *atmo.TaskManager, keep the answers of its
// RawResult tasks in JS's table of held values while nobody subscribes to
// it: Go then carries each as its slot (a values.Held read once), not as a
// js.Value, which costs a reference with a finalizer. Every RawResult task
// of the JS API's managers is the JS API's own, and its answer only crosses
// back to JS.
var HoldRawResults func(tm any)
