//go:build js && wasm

package worker

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// HandleJS registers h for the task name, with params as the JS value they
// came as, not read into Go: no copy of their bytes is made, and what Go
// cannot read (a Blob, a BigInt, an OffscreenCanvas) arrives too. Use it
// for large binary data a handler passes on, reads in part, or hands to JS
// APIs: a handler that answers worker.Transfer(params.Get("data")) sends a
// 64 MiB Uint8Array back without a copy, where a []byte would be copied
// into the worker's memory and out again (the host takes it uncopied with
// TaskParams.RawResult, raw: true in the JS API). To read bytes in Go, copy
// what you need with js.CopyBytesToGo, which takes a Uint8Array: wrap an
// ArrayBuffer in one first (examples/goworker/sha256's sha256Stream hashes
// a Blob or a typed array a chunk at a time). params is null or undefined
// for a task sent without params. It panics like Handle.
//
// A JS object in a result (of any handler) is read, by structured clone,
// as the answer leaves: with other tasks of the worker running, at the end
// of the turn, after their handlers ran too. Answer a fresh object, not one
// a later task writes again. (A []byte is copied as the handler returns.)
//
// Register it before Run. Only a js/wasm build has it.
func HandleJS(name string, h func(ctx context.Context, params js.Value) (any, error)) {
	std.handleJS(name, h)
}

func (s *server) handleJS(name string, h func(ctx context.Context, params js.Value) (any, error)) {
	if strings.TrimSpace(name) == "" {
		panic("worker: HandleJS with an empty task name")
	}
	if h == nil {
		panic(fmt.Sprintf("worker: HandleJS(%q) with a nil handler", name))
	}
	s.register("HandleJS", name, func(ctx context.Context, params any) (any, error) {
		p := paramsJS(params)
		// Once answered, p is Go's to let go of; Go's collector does it,
		// and its heap alone would not call for one (see values.NoteHeld).
		defer values.NoteHeld(p)
		return h(ctx, p)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jsNames = append(s.jsNames, name)
	if p, ok := s.port.(jsPort); ok { // registered after Run
		p.raw.Call("add", name)
	}
}

// paramsJS gives a HandleJS handler its params: the value JS kept for it,
// or, for params that came another way (a work message of a shape the port
// does not take, read by the general path), the Go value made JS again.
func paramsJS(p any) js.Value {
	if h, ok := p.(values.Held); ok {
		return values.Take(h)
	}
	return toJS(p, nil)
}

func init() {
	opaqueType = func(t reflect.Type) bool {
		return t == reflect.TypeFor[js.Value]() || t == reflect.TypeFor[js.Func]()
	}
	dropParams = func(p any) {
		if h, ok := p.(values.Held); ok {
			values.Release(h)
		}
	}
}
