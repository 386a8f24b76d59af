//go:build js && wasm

// Command returns is a page's own Go program (no JS API) that starts Go and
// JS workers, runs a task on each, and returns from main with its managers
// still open, as a program that forgot to wait would: for the host's test
// that its Web Workers end with it. The page gives the JS worker's URL as
// globalThis.aliveScript and learns the outcome from globalThis.goReturned.
package main

import (
	"context"
	"fmt"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
)

func main() {
	js.Global().Set("goReturned", run())
}

func run() string {
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm,
		atmo.WorkerConfig{Tasks: []string{"add"}, Module: "/workers/math.wasm", Count: 2},
		atmo.WorkerConfig{Tasks: []string{"heldLocks"}, Script: js.Global().Get("aliveScript").String()},
	)
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := wm.Ready(ctx); err != nil {
		return err.Error()
	}
	if _, err := tm.Do(ctx, "add", map[string]any{"a": 1, "b": 2}); err != nil {
		return err.Error()
	}
	// The JS worker answers how many of atmo's Web Locks, one held by each
	// live worker thread, the origin has.
	held, err := tm.Do(ctx, "heldLocks", nil)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("ok: %v locks held", held)
}
