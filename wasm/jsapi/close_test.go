//go:build js && wasm

package jsapi

import (
	"runtime"
	"syscall/js"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
)

// useAndClose drives the bridge as atmo.js does for a manager's life: a
// TaskManager and a worker manager, a task run, both closed. It resolves
// with what the bridge answers for them after that.
var useAndClose = js.Global().Get("Function").New("bridge", "url", `
return new Promise((resolve, reject) => {
  const tm = bridge.createTaskManager().value.handle;
  const wm = bridge.createWorkerManager(tm, [{ tasks: ['echo'], script: url }]).value;
  bridge.listen(tm, () => {
    bridge.closeWorkerManager(wm, () => bridge.closeTaskManager(tm, () => {
      bridge.ready(wm, 1000, (err) => resolve({
        tm, wm, readyErr: err,
        status: bridge.status(tm).value, stats: bridge.stats(tm).value, workers: bridge.workers(wm).value,
        closeWorker: bridge.closeWorker(wm, 'worker-1').error, run: bridge.createWorkerManager(tm, [{ tasks: ['echo'], script: url }]).error,
      }));
    }));
  });
  const sent = bridge.run([tm, 'echo', 0, 0, 0, bridge.hold({ a: 1 }), -1, 0]);
  if (sent.error) reject(new Error(sent.error.message));
});`)

func TestAClosedManagerIsLetGoAndStillSaysHowItEnded(t *testing.T) {
	url := jstest.HelperWorker(t, `atmoWorker({ echo: (p) => p });`)
	b, bridge := newBridge()
	defer bridge.Call("shutdown")
	var tm weak.Pointer[atmo.TaskManager]
	var wm weak.Pointer[atmo.BrowserWorkerManager]
	watch := js.FuncOf(func(js.Value, []js.Value) any {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.tms {
			tm = weak.Make(e.tm)
		}
		for _, e := range b.wms {
			wm = weak.Make(e.wm)
		}
		return nil
	})
	defer watch.Release()
	js.Global().Call("setTimeout", watch, 0) // once both exist

	got, err := await(useAndClose.Invoke(bridge, url))
	require.NoError(t, err)
	assert.True(t, got.Get("readyErr").IsNull(), "ready() on a closed manager: none is starting")
	assert.Equal(t, 1, got.Get("status").Get("done").Int(), "status() answers with the last counts")
	assert.Equal(t, 1, got.Get("stats").Get("submitted").Int(), "so does stats()")
	assert.Equal(t, "closed", got.Get("workers").Index(0).Get("status").String(), "and workers() with the last workers")
	assert.Equal(t, "ERR_CLOSED", got.Get("closeWorker").Get("code").String())
	assert.Equal(t, "ERR_CLOSED", got.Get("run").Get("code").String())

	b.mu.Lock()
	e := b.tms[got.Get("tm").Int()]
	assert.Nil(t, e.tm)
	assert.True(t, e.runs.deliver.IsUndefined(), "atmo.js's handler is let go")
	assert.Nil(t, b.wms[got.Get("wm").Int()].wm)
	b.mu.Unlock()
	runtime.GC()
	runtime.GC()
	assert.Nil(t, tm.Value(), "nothing holds the closed TaskManager")
	assert.Nil(t, wm.Value(), "nor its worker manager")
}
