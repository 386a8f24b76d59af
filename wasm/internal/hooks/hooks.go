// Package hooks lets package jsapi ask of package atmo what only the JS API
// needs, without widening atmo's public API. Package atmo sets them in its
// init, so they are set whenever jsapi, which imports atmo, runs.
package hooks

// HoldRawResults makes tm, an *atmo.TaskManager, keep the answers of its
// RawResult tasks in JS's table of held values: Go then carries each as its
// slot (a values.Held), not as a js.Value, which costs a reference with a
// finalizer. JS lets the slot go once the answer has crossed back as many
// times as it was held for: once for the task's result, once for each
// subscriber's worker-response event. Every RawResult task of the JS API's
// managers is the JS API's own, so its result crosses back once; answers
// are held only while every subscriber is a SubscribeWire one, else they
// are js.Values, as RawResult promises.
var HoldRawResults func(tm any)

// CopyResults makes tm, an *atmo.TaskManager, keep the answers of its tasks
// without RawResult in JS as well, copied there by Go's value rules as they
// arrive (values.Codec's copy), as Go would decode them and hand them back
// to JS, but with no trip through Go: the task's result is the copy (held
// once, for the task's result, under HoldRawResults), while subscribers'
// worker-response events get the answer as it came, as a RawResult's. An
// answer that cannot be read by the value rules fails its task, as in a
// manager that decodes its answers in Go.
var CopyResults func(tm any)

// SubscribeWire is tm.SubscribeBatch(fn), fn a func([]atmo.Message), for
// the JS API's subscribers: fn writes every message to the wire, where JS
// reads a held answer in a worker-response event, and has what was queued
// even when the subscription ends, so each answer it was held for crosses
// back to JS.
var SubscribeWire func(tm any, fn any) (unsubscribe func())

// CancelTask cancels the task id of tm, an *atmo.TaskManager, as
// TaskRequest.Cancel does, its error saying how: "by cancel()", "by its
// signal". Unknown and finished tasks are ignored.
var CancelTask func(tm any, id, how string)

// MaxPriority is the largest |TaskParams.Priority| tm, an *atmo.TaskManager,
// takes: its aging ranks no higher one (AddTask refuses it). atmo.js checks
// a task's priority against it before it moves the task's buffers.
var MaxPriority func(tm any) int64

// CallbackThrew counts a JS callback of the JS API that threw (onSuccess,
// onError, onProgress, a subscriber) as tm's callback panic, and reports
// it on tm's event stream as a callback-panic message of task taskID ("" for
// a subscriber's), text saying what threw.
var CallbackThrew func(tm any, taskID, text string)

// HadWorker says whether id was ever the id of a worker of wm, an
// *atmo.BrowserWorkerManager: listed now, or closed and forgotten since.
var HadWorker func(wm any, id string) bool
