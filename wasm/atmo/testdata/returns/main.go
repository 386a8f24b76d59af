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
	configs := []atmo.WorkerConfig{
		{Tasks: []string{"add"}, Module: "/workers/math.wasm", Count: 2},
		{Tasks: []string{"heldLocks"}, Script: js.Global().Get("aliveScript").String()},
	}
	crash := js.Global().Get("crashBeforeReturn").Truthy()
	if crash {
		configs = append(configs, atmo.WorkerConfig{Tasks: []string{"gopanic"}, Module: "/testdata/testworker.wasm"})
	}
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, configs...)
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
	if crash {
		// A worker that crashes is restarted after a backoff: main closes
		// its managers and returns while that timer of atmo's is pending.
		defer tm.Close()
		defer wm.Close()
		_, err := tm.Do(ctx, "gopanic", nil)
		if err == nil {
			return "crash answered"
		}
		// Printing waits on wasm_exec.js's fs.write callback: Go idles
		// once more, with the restart's timer the next one due.
		fmt.Println("the task failed:", err)
		return "ok: crashed: " + err.Error()
	}
	return fmt.Sprintf("ok: %v locks held", held)
}
