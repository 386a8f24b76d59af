package worker

import (
	"context"
	"fmt"
	"reflect"
)

// Handler runs one task. params is the task's params as the host sent them
// (see the package doc); the result goes back to the host as the task's
// content, the error as the task's error. ctx is cancelled when the host
// cancels the task.
type Handler func(ctx context.Context, params any) (any, error)

// Handle registers h for the task name. It panics if name is empty, h is nil
// or name already has a handler, as http.Handle does, and if the worker has
// told the host its tasks already (its worker-ready, which Run sends once
// the host's init-worker comes: a handler registered after it would never
// be sent a task): those are mistakes in the program, not conditions to
// handle.
func Handle(name string, h func(ctx context.Context, params any) (any, error)) {
	std.handle(name, h)
}

// HandleTyped registers h for the task name, with params decoded into a P
// (by its json tags, as encoding/json would, but that a Go array takes
// exactly its length of elements, where encoding/json drops the extra ones or
// leaves the missing ones zero) and the result sent as an R. A params value
// that does not fit P fails the task with an error naming the field, such as
// `params.n is a string ("x"), want a number for int` or `params.rgb has 4
// elements, want 3 for [3]float64`, and h is not called. It panics like Handle.
func HandleTyped[P, R any](name string, h func(ctx context.Context, params P) (R, error)) {
	if h == nil {
		panic(fmt.Sprintf("worker: HandleTyped(%q) with a nil handler", name))
	}
	std.register("HandleTyped", name, typed(name, h))
}

// typed adapts a typed handler to a Handler.
func typed[P, R any](name string, h func(ctx context.Context, params P) (R, error)) Handler {
	return func(ctx context.Context, params any) (any, error) {
		var p P
		if err := decode(params, reflect.ValueOf(&p).Elem(), "params"); err != nil {
			return nil, fmt.Errorf("bad params for task %q: %w", name, err)
		}
		return h(ctx, p)
	}
}
