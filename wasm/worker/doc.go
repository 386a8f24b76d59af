// Package worker is the runtime of a Go-authored atmo worker: a main
// package, built with GOOS=js GOARCH=wasm, that registers a handler per task
// name and serves the Atmo Workers protocol for the life of its Web Worker
// (or Node.js worker_threads Worker).
//
//	func main() {
//		worker.Handle("add", func(ctx context.Context, params any) (any, error) {
//			p := params.(map[string]any)
//			return p["a"].(float64) + p["b"].(float64), nil
//		})
//		worker.HandleTyped("divide", func(ctx context.Context, p struct{ A, B float64 }) (float64, error) {
//			if p.B == 0 {
//				return 0, errors.New("Division by zero is not allowed")
//			}
//			return p.A / p.B, nil
//		})
//		worker.Run() // never returns
//	}
//
// The host starts such a module with atmo.WorkerConfig{Module: url}; the
// bootstrap jsworker/go-worker.js loads wasm_exec.js and runs it.
//
// Values follow the rules of package atmo. Params arrive as JS gave them:
// objects as map[string]any, arrays as []any, numbers as float64, typed
// arrays and ArrayBuffers as []byte, Maps, Sets and the rest as the README's
// value rules say. A task whose params Go cannot read (a BigInt, a Blob)
// fails, saying why, without running. HandleTyped decodes them into a Go type
// by its json tags. Results go back the same way: numbers, strings, bools,
// maps, slices, structs (by their json tags) and []byte, whose buffer is
// transferred to the host rather than copied. Data that already lives in JS
// moves with no copy at all: Transfer for a typed array or ArrayBuffer,
// TransferWith for a value with transferables in it (an OffscreenCanvas).
// In js/wasm builds, HandleJS gives a handler its params as the JS value
// they came as, with no copy into Go: for a handler that passes large bytes
// on, reads part of them or hands them to JS APIs, or that takes what Go
// cannot read (a Blob).
//
// A handler's error is the task's error. A handler's panic is caught and
// becomes the task's error too; the worker stays in service. Each task runs in
// its own goroutine, outside any JS callback, so a handler may block, start
// goroutines or wait on a JS Promise (Await, in js/wasm builds). When the host cancels a task (Cancel,
// DeleteTask, the end of the task's Context, or its Timeout), the handler's
// ctx is cancelled and its late answer dropped; a handler that has not
// returned within the host's CancelGrace has its worker terminated and
// replaced, with the other tasks it was running.
// The cancel comes as a message, which the worker reads only while all its
// goroutines wait: a handler that computes without waiting calls Yield at
// checkpoints, and stops when it returns an error. Progress yields too, when
// the event loop has not run for 10 ms: a handler that reports progress as
// it computes stops when Progress returns an error, or its ctx ended.
//
// A panic in a goroutine a handler started, or os.Exit, ends the whole Go
// runtime: the bootstrap tells the host, which fails the running task with
// atmo.ErrWorkerCrashed.
package worker
