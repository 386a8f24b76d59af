// Package jsapi exposes atmo's TaskManager and BrowserWorkerManager to
// JavaScript. It is the Go half of the JS API: web/atmo.js loads the
// main-thread module built from wasm/cmd/atmo, which calls New and hands the
// returned bridge object to loadAtmo. Pages use atmo.js, never the bridge.
//
// The bridge never blocks inside a JS callback: anything that waits (a
// task's result, Ready, Close) runs in a goroutine and answers through a JS
// callback that atmo.js turns into a settled Promise. Synchronous calls
// return {value} or {error}, where error is {message, code, argument?,
// taskId?, workerId?, workerMessage?}, and never throw.
package jsapi
