//go:build js && wasm

package atmo_test

import (
	"fmt"
	"runtime"
	"syscall/js"
	"testing"
	"time"
	"unsafe"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bounceWorker marks the bytes it gets and moves them back.
const bounceWorker = `atmoWorker({ bounce: (u8) => { u8[0] = 7; return atmoWorker.transfer(u8, [u8.buffer]); } });`

// moveRoundTrip sends u8 moved and waits for the raw result.
func moveRoundTrip(tm *atmo.TaskManager, name string, u8 js.Value) (js.Value, error) {
	res := make(chan atmo.Response, 1)
	settle := func(r atmo.Response) { res <- r }
	if _, err := tm.AddTask(atmo.TaskParams{Name: name, Params: atmo.Transfer(u8), RawResult: true, OnSuccess: settle, OnError: settle}); err != nil {
		return js.Value{}, err
	}
	r := <-res
	if r.Err != nil {
		return js.Value{}, r.Err
	}
	v, ok := r.Content.(js.Value)
	if !ok {
		return js.Value{}, fmt.Errorf("RawResult gave %T, want js.Value", r.Content)
	}
	return v, nil
}

func TestTransferAndRawResultMoveBytesBothWaysWithoutACopy(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"bounce"}, Script: jstest.HelperWorker(t, bounceWorker)})
	const size = 16 << 20
	u8 := js.Global().Get("Uint8Array").New(size)
	got, err := moveRoundTrip(tm, "bounce", u8)
	require.NoError(t, err)
	assert.Equal(t, 0, u8.Get("byteLength").Int(), "moved out: the page's buffer is detached")
	assert.Equal(t, size, got.Get("byteLength").Int())
	assert.Equal(t, 7, got.Index(0).Int(), "the worker's write came back")
}

func TestWithoutRawResultTypedArraysStillComeBackAsBytes(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"bounce"}, Script: jstest.HelperWorker(t, bounceWorker)})
	got, err := tm.Do(testCtx(t), "bounce", atmo.Transfer(js.Global().Get("Uint8Array").New(3)))
	require.NoError(t, err)
	assert.Equal(t, []byte{7, 0, 0}, got)
}

func TestATransferListThatIsNotAnArrayFailsItsTaskAndTheWorkerGoesOnAnswering(t *testing.T) {
	// A slip (one buffer, not [buffer]) while answers are batched once left
	// the worker silent for good: every later answer waited on a flush
	// that was never queued.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"slip", "echo"}, Concurrency: 4, Script: jstest.HelperWorker(t, `atmoWorker({
  slip: async (u8) => atmoWorker.transfer(u8, u8.buffer),
  echo: async (n) => n,
});`)})
	start := func(name string, params any) <-chan atmo.Response {
		c := make(chan atmo.Response, 1)
		settle := func(r atmo.Response) { c <- r }
		_, err := tm.AddTask(atmo.TaskParams{Name: name, Params: params, OnSuccess: settle, OnError: settle})
		require.NoError(t, err)
		return c
	}
	for round := 0; round < 3; round++ {
		slip := start("slip", []byte{1, 2, 3})
		echoes := []<-chan atmo.Response{start("echo", 1.0), start("echo", 2.0), start("echo", 3.0)}
		r := <-slip
		require.Error(t, r.Err, "round %d", round)
		assert.Contains(t, r.Error, "atmoWorker.transfer(value, list): list must be an array of the ArrayBuffers in value to move, such as [bytes.buffer] (got [object ArrayBuffer])")
		for i, e := range echoes {
			r := <-e
			require.NoError(t, r.Err, "round %d", round)
			assert.Equal(t, float64(i+1), r.Content)
		}
	}
}

func TestAnswersWithCyclesOrAnExplodingGraphOfSharedObjectsNeitherFreezeNorHang(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"cyclic", "exploding"}, Script: jstest.HelperWorker(t, `atmoWorker({
  cyclic: () => { const root = { name: 'root', kids: [] }; root.kids.push({ parent: root }); return root; },
  exploding: () => { let s = {}; for (let i = 0; i < 40; i++) s = { l: s, r: s }; return s; },
});`)})
	got, err := tm.Do(testCtx(t), "cyclic", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"name": "root", "kids": []any{map[string]any{"parent": nil}}}, got, "a back-pointer reads as null")
	_, err = tm.Do(testCtx(t), "exploding", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the worker's answer cannot be read: it makes more than 4194304 arrays and objects written out as a tree: shared references?")
}

func TestProgressReportsWithCyclesOrAnExplodingGraphAreReadAsAnswersAre(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"report"}, Script: jstest.HelperWorker(t, `atmoWorker({
  report: (_, { progress }) => {
    const root = { name: 'root', kids: [] };
    root.kids.push({ parent: root });
    progress(root);
    let s = {};
    for (let i = 0; i < 40; i++) s = { l: s, r: s };
    progress(s);
    progress({ bytes: new Uint8Array([1, 2, 3]), when: new Date(0), err: new TypeError('bad') });
    return 'done';
  },
});`)})
	before := tm.Stats().Ignored
	reports, r := runWithProgress(t, tm, "report", nil)
	require.NoError(t, r.Err)
	require.Len(t, reports, 2, "the report that cannot be read is dropped, at once, and the task goes on")
	assert.Equal(t, map[string]any{"name": "root", "kids": []any{map[string]any{"parent": nil}}}, reports[0], "a back-pointer reads as null")
	assert.Equal(t, map[string]any{"bytes": []byte{1, 2, 3}, "when": "1970-01-01T00:00:00.000Z",
		"err": map[string]any{"name": "TypeError", "message": "bad"}}, reports[1], "the value rules of answers")
	assert.Equal(t, before+1, tm.Stats().Ignored, "the dropped report is counted")
}

// BenchmarkPayload64MiB compares a 64 MiB round trip: raw JS moving an
// ArrayBuffer, atmo with a []byte (copied into JS and back into Go), and
// atmo moving a JS Uint8Array both ways (Transfer + RawResult).
func BenchmarkPayload64MiB(b *testing.B) {
	const size = 64 << 20
	url := jstest.HelperWorker(b, bounceWorker)
	b.Run("raw-transfer", func(b *testing.B) {
		ping := js.Global().Get("Function").New("url", "size", "n", "done", `
const w = new Worker(url);
let i = 0, u8 = new Uint8Array(size);
const send = () => w.postMessage({ message: 'worker-work', taskId: 'task-' + (i + 1), workerId: 'w', content: { name: 'bounce', params: u8 } }, [u8.buffer]);
w.onmessage = (e) => {
  if (e.data.message === 'worker-ready') { send(); return; }
  u8 = e.data.content;
  if (++i === n) { w.terminate(); done(); } else send();
};
w.postMessage({ message: 'init-worker', id: 'w', content: ['bounce'] });`)
		finished := make(chan struct{})
		cb := js.FuncOf(func(js.Value, []js.Value) any { close(finished); return nil })
		defer cb.Release()
		b.ResetTimer()
		ping.Invoke(url, size, b.N, cb)
		<-finished
	})
	tm := benchPoolScriptTasks(b, url, "bounce")
	b.Run("atmo-bytes", func(b *testing.B) {
		buf := make([]byte, size)
		for i := 0; i < b.N; i++ {
			got, err := tm.Do(b.Context(), "bounce", buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = got.([]byte)
		}
	})
	b.Run("atmo-transfer-raw", func(b *testing.B) {
		u8 := js.Global().Get("Uint8Array").New(size)
		for i := 0; i < b.N; i++ {
			var err error
			if u8, err = moveRoundTrip(tm, "bounce", u8); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestLargeBytesSentAndTakenBackRoundAfterRoundReuseThePagesHeap(t *testing.T) {
	// The page holds the bytes it sends while the answer comes back, so two
	// such arrays are live at once. A collection before each large copy into
	// Go (values.CollectBeforeCopy) lets each answer land where the bytes of
	// the round before last were, memory already written to, instead of
	// going round more of the heap until the pacer collects: memory not
	// touched yet is slow to write the first time.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"bounce"}, Script: jstest.HelperWorker(t, bounceWorker)})
	// From a heap of this test's own. What tests before it left can take a
	// third place for a round: values.CollectBeforeCopy weighs the copy
	// against the bytes a collection would scan, garbage allocated since the
	// last one included, so after much allocation it lets the pacer collect
	// instead, and one copy lands in fresh memory (slower, never wrong).
	runtime.GC()
	const size = 32 << 20
	buf := make([]byte, size)
	places := map[uintptr]bool{}
	for round := range 10 {
		got, err := tm.Do(testCtx(t), "bounce", buf)
		require.NoError(t, err)
		require.Len(t, got, size)
		buf = got.([]byte)
		if round >= 4 { // once the heap has settled
			places[uintptr(unsafe.Pointer(&buf[0]))] = true
		}
	}
	// Two places, round after round; a third when the pacer collected
	// instead once (the heap the tests before left weighs in: see above).
	// Going round the heap would give a place a round.
	assert.LessOrEqual(t, len(places), 3, "the answers take turns between two places in the heap")
}

func TestATransferOfSomethingNoBufferIsErrBadParamsWhetherTheWorkerIsFreeOrBusy(t *testing.T) {
	// It once panicked the page's Go program: at once to a free worker, and
	// from deep inside the manager when a busy one freed up.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	busy := make(chan atmo.Response, 1)
	settle := func(r atmo.Response) { busy <- r }
	for _, worker := range []string{"free", "busy"} {
		if worker == "busy" {
			_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"delay": 200}, OnSuccess: settle, OnError: settle})
			require.NoError(t, err)
		}
		for _, v := range []js.Value{js.Null(), js.Undefined(), {}, js.ValueOf(5), js.ValueOf("s")} {
			_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"data": atmo.Transfer(v)}})
			require.ErrorIs(t, err, atmo.ErrBadParams, "%s worker, %s", worker, v.Type())
			assert.Contains(t, err.Error(), "params.data is atmo.Transfer("+v.Type().String()+"): Transfer takes a typed array, an ArrayBuffer or another transferable (an OffscreenCanvas, an ImageBitmap, a MessagePort)")
			_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: atmo.Transfer(v)})
			require.ErrorIs(t, err, atmo.ErrBadParams, "at the root, %s worker, %s", worker, v.Type())
		}
	}
	require.NoError(t, (<-busy).Err)
	got, err := tm.Do(testCtx(t), "echo", 1.0)
	require.NoError(t, err, "the manager goes on")
	assert.Equal(t, 1.0, got.(map[string]any)["params"])
}

func TestParamsWhoseSharedPartsMakeAHugeTreeAreErrBadParams(t *testing.T) {
	// 41 levels deep, but 2^40 written out as a tree: the page's Go program
	// ran out of memory.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	var x any = 1.0
	for range 40 {
		x = []any{x, x}
	}
	for _, params := range []any{x, map[string]any{"tree": x}} { // (structs count alike, but reflect takes seconds to get there)
		_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: params})
		require.ErrorIs(t, err, atmo.ErrBadParams)
		assert.Contains(t, err.Error(), "makes more than 4194304 arrays, objects and maps written out as a tree (a part met twice counts twice)")
	}
	x = 1.0
	for range 16 {
		x = []any{x, x}
	}
	got, err := tm.Do(testCtx(t), "echo", x)
	require.NoError(t, err, "65,535 arrays: shared parts are fine within the bound")
	assert.Equal(t, x, got.(map[string]any)["params"])
}

// The planes of a frame, views of one buffer, each moved: the buffer
// moves once and the task runs.
func TestTwoViewsOfOneBufferMovedInOneTaskMoveItOnce(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"sizes"}, Script: jstest.HelperWorker(t,
		`atmoWorker({ sizes: (p) => [p.y.length, p.uv.length, p.y.buffer === p.uv.buffer] });`)})
	frame := js.Global().Get("Uint8Array").New(12)
	got, err := tm.Do(testCtx(t), "sizes", map[string]any{
		"y":  atmo.Transfer(frame.Call("subarray", 0, 8)),
		"uv": atmo.Transfer(frame.Call("subarray", 8, 12)),
	})
	require.NoError(t, err)
	require.Equal(t, []any{8.0, 4.0, true}, got)
}

// An OffscreenCanvas (transferControlToOffscreen's, for a worker to draw
// on) and a MessagePort cross only in a transfer list: atmo.Transfer puts
// them there, as it does a buffer. Its transfer list held undefined, and
// the task failed with "Failed to convert value to 'object'".
func TestTransferMovesAnOffscreenCanvasOrAMessagePortToTheWorker(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"look"}, Script: jstest.HelperWorker(t, `atmoWorker({
  look: ({ x }) => {
    if (x instanceof OffscreenCanvas) return 'canvas ' + x.width + 'x' + x.height + ' ' + (x.getContext('2d') !== null);
    if (x instanceof MessagePort) { x.postMessage('hi'); return 'port'; }
    return String(x);
  },
});`)})
	ctx := testCtx(t)
	canvas := js.Global().Get("OffscreenCanvas").New(3, 4)
	got, err := tm.Do(ctx, "look", map[string]any{"x": atmo.Transfer(canvas)})
	require.NoError(t, err)
	assert.Equal(t, "canvas 3x4 true", got)
	assert.Equal(t, 0, canvas.Get("width").Int(), "moved: the page's is detached")

	ch := js.Global().Get("MessageChannel").New()
	heard := make(chan string, 1)
	onMsg := js.FuncOf(func(_ js.Value, args []js.Value) any { heard <- args[0].Get("data").String(); return nil })
	defer onMsg.Release()
	ch.Get("port2").Set("onmessage", onMsg)
	got, err = tm.Do(ctx, "look", map[string]any{"x": atmo.Transfer(ch.Get("port1"))})
	require.NoError(t, err)
	assert.Equal(t, "port", got)
	assert.Equal(t, "hi", <-heard, "the worker talks through the port it was given")

	_, err = tm.Do(ctx, "look", map[string]any{"x": atmo.Transfer(js.Global().Get("Headers").New())})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te, "an object of no transferable kind fails its task when posted")
	assert.Contains(t, te.Message, "does not have a transferable type")
}

// A js.Func is a struct to Go, with no field to show: it crossed as {},
// without a word. A function cannot cross to another thread.
func TestAJSFuncInParamsIsErrBadParams(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	f := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	defer f.Release()
	for _, params := range []any{f, map[string]any{"onChunk": f}, struct{ OnChunk *js.Func }{&f}} {
		_, err := tm.Do(testCtx(t), "echo", params)
		require.ErrorIs(t, err, atmo.ErrBadParams, "%T", params)
		assert.Contains(t, err.Error(), "is a js.Func, a function, which cannot cross to another thread")
	}
}

// The planes of a frame, views of one buffer, each listed in the helper's
// atmoWorker.transfer: the buffer moves once, as atmo.Transfer and
// worker.Transfer move it. postMessage threw on the duplicate, and the task
// failed.
func TestAHelperWorkerMovesTwoViewsOfOneBufferListedTwiceOnce(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"frame"}, Script: jstest.HelperWorker(t, `atmoWorker({ frame: () => {
  const b = new Uint8Array(12), y = b.subarray(0, 8), uv = b.subarray(8);
  y[0] = 1; uv[0] = 2;
  return atmoWorker.transfer({ y, uv }, [y.buffer, uv.buffer]);
} });`)})
	got, err := tm.Do(testCtx(t), "frame", nil)
	require.NoError(t, err)
	m := got.(map[string]any)
	assert.Equal(t, byte(1), m["y"].([]byte)[0])
	assert.Equal(t, byte(2), m["uv"].([]byte)[0])
}

func TestATransferOfAnObjectThatOnlyHoldsTransferablesIsErrBadParamsNamingIt(t *testing.T) {
	// A plain object, an Array or an ImageData is never transferable
	// itself: AddTask says so, rather than the task failing when posted
	// with the browser's DataCloneError.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	for _, c := range []struct {
		v    js.Value
		kind string
	}{
		{js.Global().Get("Object").New(), "object"},
		{js.Global().Get("Array").New(3), "Array"},
		{js.Global().Get("ImageData").New(2, 2), "ImageData"},
		{js.Global().Get("Object").Call("create", js.Null()), "object"},
	} {
		_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"data": atmo.Transfer(c.v)}})
		require.ErrorIs(t, err, atmo.ErrBadParams, c.kind)
		assert.Contains(t, err.Error(), "params.data is atmo.Transfer("+c.kind+"): Transfer takes a typed array, an ArrayBuffer or another transferable")
		assert.Contains(t, err.Error(), "move the one it holds (an ImageData's data), or send the value with atmo.TransferWith(v, list...)")
	}
	// What Transfer does take still moves.
	for _, v := range []js.Value{
		js.Global().Get("Uint8Array").New(4),
		js.Global().Get("DataView").New(js.Global().Get("ArrayBuffer").New(4)),
		js.Global().Get("ImageData").New(1, 1).Get("data"),
	} {
		buf := v.Get("buffer")
		_, err := tm.Do(testCtx(t), "echo", map[string]any{"data": atmo.Transfer(v)})
		require.NoError(t, err)
		assert.Equal(t, 0, buf.Get("byteLength").Int(), "moved")
	}
}

func TestTransferWithSendsAValueWithTheTransferablesInItMoved(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"size"}, Script: jstest.HelperWorker(t, `atmoWorker({ size: (p) => [p.c.width, p.c.height, String(p.c), p.bytes.byteLength] });`)})
	canvas := js.Global().Get("OffscreenCanvas").New(3, 2)
	bytes := js.Global().Get("Uint8Array").New(5)
	v := js.Global().Get("Object").New()
	v.Set("c", canvas)
	v.Set("bytes", bytes)
	got, err := tm.Do(testCtx(t), "size", atmo.TransferWith(v, canvas, bytes.Get("buffer")))
	require.NoError(t, err)
	assert.Equal(t, []any{3.0, 2.0, "[object OffscreenCanvas]", 5.0}, got)
	assert.Equal(t, 0, canvas.Get("width").Int(), "the page's canvas moved to the worker")
	assert.Equal(t, 0, bytes.Get("byteLength").Int(), "and its bytes")
	_, err = tm.AddTask(atmo.TaskParams{Name: "size", Params: atmo.TransferWith(js.Global().Get("OffscreenCanvas").New(1, 1), js.Global().Get("OffscreenCanvas").New(1, 1)), Retries: 1})
	require.ErrorIs(t, err, atmo.ErrBadParams, "what moves cannot be sent twice")
}

func TestATransferOfABufferMovedAlreadyIsErrBadParams(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	u8 := js.Global().Get("Uint8Array").New(4)
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"data": atmo.Transfer(u8)})
	require.NoError(t, err)
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"data": atmo.Transfer(u8)}})
	require.ErrorIs(t, err, atmo.ErrBadParams, "refused when added, not failed when posted as a worker's error")
	assert.Contains(t, err.Error(), "params.data is atmo.Transfer of a buffer moved already (detached): each buffer can be transferred once")
}

func TestTransferWithMovesTheBufferOfATypedArrayItLists(t *testing.T) {
	// atmo.Transfer(u8) moves u8's buffer; atmo.TransferWith(v, u8) failed
	// when posted ("Value at index 0 does not have a transferable type",
	// with a hint about functions and DOM nodes).
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"size"}, Script: jstest.HelperWorker(t, `atmoWorker({ size: (p) => p.bytes.byteLength });`)})
	bytes := js.Global().Get("Uint8Array").New(5)
	v := js.Global().Get("Object").New()
	v.Set("bytes", bytes)
	got, err := tm.Do(testCtx(t), "size", atmo.TransferWith(v, bytes))
	require.NoError(t, err)
	assert.Equal(t, 5.0, got)
	assert.Equal(t, 0, bytes.Get("byteLength").Int(), "its buffer moved")
}

func TestAHelperWorkersTransferInAProgressReportOrInsideItsResultMovesItsValue(t *testing.T) {
	// atmoWorker.transfer given to progress (as worker.Progress takes
	// worker.Transfer in a Go worker), or placed inside a result rather than
	// returned, once arrived as {value, list}, copied, without a word.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"chunks", "nested"}, Script: jstest.HelperWorker(t, `atmoWorker({
  chunks: (_, { progress }) => {
    const u8 = new Uint8Array([1, 2]);
    progress(atmoWorker.transfer(u8, [u8.buffer]));
    return u8.byteLength; // 0 once moved
  },
  nested: () => {
    const u8 = new Uint8Array([3]);
    const out = { data: atmoWorker.transfer(u8, [u8.buffer]), list: [atmoWorker.transfer(new Uint8Array([4]), [])] };
    setTimeout(() => { if (u8.byteLength !== 0) throw new Error('not moved'); });
    return out;
  },
})`)})
	reports, r := runWithProgress(t, tm, "chunks", nil)
	require.NoError(t, r.Err)
	assert.Equal(t, []any{[]byte{1, 2}}, reports, "the report is the transfer's value")
	assert.Equal(t, 0.0, r.Content, "its buffer moved")
	got, err := tm.Do(testCtx(t), "nested", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"data": []byte{3}, "list": []any{[]byte{4}}}, got, "a transfer inside a result is its value")
}

func TestATransferWithOfABufferMovedAlreadyIsErrBadParamsAsATransferOfOneIs(t *testing.T) {
	// atmo.Transfer of a buffer moved already is refused when added; the
	// same buffer listed in atmo.TransferWith was taken, and its task
	// failed when posted, with a hint about functions, symbols and DOM
	// nodes.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoScript(t, "echo")})
	u8 := js.Global().Get("Uint8Array").New(4)
	v := js.Global().Get("Object").New()
	v.Set("data", u8)
	_, err := tm.Do(testCtx(t), "echo", atmo.TransferWith(v, u8))
	require.NoError(t, err)
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: atmo.TransferWith(v, u8)})
	require.ErrorIs(t, err, atmo.ErrBadParams, "refused when added, not failed when posted as a worker's error")
	assert.Contains(t, err.Error(), "params is atmo.TransferWith of a buffer moved already (detached): each buffer can be transferred once")
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"v": atmo.TransferWith(js.Global().Get("Object").New(), js.ValueOf(3))}})
	require.ErrorIs(t, err, atmo.ErrBadParams, "a list item that is no transferable")
	assert.Contains(t, err.Error(), "params.v is atmo.TransferWith listing number")
}

func TestOneBufferTransferredByTwoQueuedTasksFailsTheSecondSayingSoWithoutAHintAboutFunctions(t *testing.T) {
	// Both tasks are added while the buffer is the page's; the first sent
	// moves it, and the second cannot be posted. Its error said to pass
	// "no functions, symbols or DOM nodes", which it had not.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"wait", "len"}, Script: jstest.HelperWorker(t, `atmoWorker({
  wait: (ms) => new Promise((r) => setTimeout(r, ms)),
  len: (u8) => u8.byteLength,
});`)})
	_, err := tm.AddTask(atmo.TaskParams{Name: "wait", Params: 100}) // the worker is busy: both wait in line
	require.NoError(t, err)
	u8 := js.Global().Get("Uint8Array").New(8)
	res := make(chan atmo.Response, 2)
	settle := func(r atmo.Response) { res <- r }
	for range 2 {
		_, err := tm.AddTask(atmo.TaskParams{Name: "len", Params: atmo.Transfer(u8), OnSuccess: settle, OnError: settle})
		require.NoError(t, err)
	}
	first, second := <-res, <-res
	require.NoError(t, first.Err)
	assert.Equal(t, 8.0, first.Content)
	var te *atmo.TaskError
	require.ErrorAs(t, second.Err, &te)
	assert.Contains(t, te.Message, "an ArrayBuffer in the transfer list was moved already (it is detached): each buffer can be transferred once")
	assert.NotContains(t, te.Message, "no functions, symbols or DOM nodes", "the hint is for values structured clone refuses, not for a buffer moved already")
}

// A MessagePort or an OffscreenCanvas moved to a worker already (by an
// earlier task) cannot move again; its task fails when posted, as a buffer
// moved already does when two queued tasks list it. Its error told the
// caller to "pass values that structured clone accepts: no functions,
// symbols or DOM nodes", which they had, instead of that it moved already.
func TestATransferableMovedAlreadyFailsItsTaskSayingSoWithoutAHintAboutFunctions(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"look"}, Script: jstest.HelperWorker(t, `atmoWorker({ look: (p) => String(p.x) });`)})
	ctx := testCtx(t)
	port := js.Global().Get("MessageChannel").New().Get("port1")
	canvas := js.Global().Get("OffscreenCanvas").New(2, 2)
	for _, x := range []js.Value{port, canvas} {
		_, err := tm.Do(ctx, "look", map[string]any{"x": atmo.Transfer(x)})
		require.NoError(t, err, "the first move")
		_, err = tm.Do(ctx, "look", map[string]any{"x": atmo.Transfer(x)})
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te)
		assert.NotContains(t, te.Message, "no functions, symbols or DOM nodes", "the hint is for values structured clone refuses, not for one moved already")
		assert.Contains(t, te.Message, "each transferable can be transferred once")
	}
}

// One buffer given to two tasks: the first sent moves it, and the second
// fails saying so (TestOneBufferTransferredByTwoQueuedTasksFailsTheSecond...),
// when each is posted alone. When the worker is busy, both go in one
// worker-work-batch, whose transfer list holds the buffer once: both tasks
// got it, sharing it, and the second read it empty once the first had
// moved it back, with no error.
func TestOneBufferTransferredByTwoTasksOfOneBatchFailsTheSecondAsWhenPostedAlone(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"wait", "len"}, Concurrency: 4, Script: jstest.HelperWorker(t, `atmoWorker({
  wait: (ms) => new Promise((r) => setTimeout(r, ms)),
  len: async (p) => {
    await new Promise((r) => setTimeout(r, p.ms));
    const n = p.u8.byteLength;
    return p.ms === 10 ? atmoWorker.transfer(n, [p.u8.buffer]) : n; // the first moves it back
  },
});`)})
	_, err := tm.AddTask(atmo.TaskParams{Name: "wait", Params: 300}) // in flight: the next tasks go in the turn's batch
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	u8 := js.Global().Get("Uint8Array").New(8)
	res := make(chan atmo.Response, 2)
	settle := func(r atmo.Response) { res <- r }
	for _, ms := range []int{10, 50} {
		_, err := tm.AddTask(atmo.TaskParams{Name: "len", Params: map[string]any{"ms": ms, "u8": atmo.Transfer(u8)}, OnSuccess: settle, OnError: settle})
		require.NoError(t, err)
	}
	first, second := <-res, <-res
	if first.Err != nil {
		first, second = second, first
	}
	require.NoError(t, first.Err)
	assert.Equal(t, 8.0, first.Content)
	var te *atmo.TaskError
	require.ErrorAs(t, second.Err, &te, "the second task got %v", second.Content)
	assert.Contains(t, te.Message, "each buffer can be transferred once")
	assert.NotContains(t, te.Message, "no functions, symbols or DOM nodes")
}
