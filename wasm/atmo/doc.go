// Package atmo runs named tasks on a pool of Web Workers from a Go program
// compiled to WebAssembly.
//
// A TaskManager queues tasks and settles each one exactly once. A
// BrowserWorkerManager (built only for js/wasm) starts Web Workers from
// worker configs and hands each task to a worker whose Tasks list its name:
// "specialist" workers list a few names, "generalist" workers many.
//
//	tm := atmo.NewTaskManager()
//	wm, err := atmo.NewBrowserWorkerManager(tm,
//		atmo.WorkerConfig{Tasks: []string{"add", "fibonacci"}, Script: "/workers/math-worker.js"})
//	...
//	sum, err := tm.Do(ctx, "add", map[string]any{"a": 1, "b": 2}) // 3.0
//
// The names follow the Atmo Workers design (TaskManager, BrowserWorkerManager,
// BrowserTaskWorker, TaskRequest) and so does the wire protocol, so a worker
// script written for it runs here unchanged. See the README for the protocol.
//
// The core of the package (task table, queue, matching, claims, events) is
// plain Go with no syscall/js; only the transports to real workers are built
// for js/wasm.
package atmo
