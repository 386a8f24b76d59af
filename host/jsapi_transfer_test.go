package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bytesWorker marks the bytes it gets and moves them back.
const bytesWorker = `importScripts('/jsworker/atmo-worker.js');
atmoWorker({
  mark: ({ data }) => { data[0] = 7; return atmoWorker.transfer({ data }, [data.buffer]); },
  kinds: () => ({ f64: new Float64Array([1.5]), when: new Date(0) }),
  hold: () => new Promise(() => {}),
});
`

func TestJSAPIATaskWhoseBuffersMovedFailsClearlyWhenItsWorkerIsReplaced(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark', 'hold'], script: '/t/bytes-worker.js', concurrency: 2 }]);
  await wm.ready();
  const data = new Uint8Array(1024);
  const moved = tm.run('hold', { data }, { transfer: [data.buffer] }).catch((e) => e);
  const late = tm.run('hold', null, { timeout: 200 }).catch((e) => e);
  const [m, l] = await Promise.all([moved, late]);
  const after = await tm.run('mark', { data: new Uint8Array(2) });
  await tm.close();
  return { movedCode: m.code, movedMessage: m.message, lateCode: l.code, after: after.data[0] };`), &got)
	assert.Equal(t, "ERR_TIMEOUT", got["lateCode"])
	assert.Equal(t, "ERR_WORKER_CRASHED", got["movedCode"], "not sent again to the fresh worker, where its detached buffer would fail to post")
	assert.Contains(t, got["movedMessage"], "cannot be sent again: its params moved JS buffers (its transfer option) to worker-1 (terminated: did not stop timed-out task task-2 (past its 200ms timeout) within 1s)")
	assert.NotContains(t, got["movedMessage"], "atmo.Transfer", "the page moved them with run()'s transfer option, not with Go's atmo.Transfer")
	assert.Equal(t, 7.0, got["after"], "the fresh worker serves")
}

func TestJSAPITransferMovesBuffersToTheWorkerAndRawBringsThemBackAsSent(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark', 'kinds'], script: '/t/bytes-worker.js' }]);
  const data = new Uint8Array(16 << 20);
  const moved = await tm.run('mark', { data }, { transfer: [data.buffer], raw: true });
  const copied = new Uint8Array(4);
  const back = await tm.run('mark', { data: copied });
  const raw = await tm.run('kinds', null, { raw: true });
  const converted = await tm.run('kinds');
  let badTransfer = '';
  try { await tm.run('mark', { data }, { transfer: 'no' }); } catch (err) { badTransfer = err.code + ' ' + err.argument; }
  await tm.close();
  return {
    detached: data.byteLength, movedLength: moved.data.byteLength, movedMark: moved.data[0],
    copiedKept: copied.byteLength, backMark: back.data[0], backIsBytes: back.data instanceof Uint8Array,
    rawF64: raw.f64 instanceof Float64Array, rawDate: raw.when instanceof Date,
    convertedF64: Object.prototype.toString.call(converted.f64), convertedDate: converted.when,
    badTransfer,
  };`), &got)
	assert.Equal(t, 0.0, got["detached"], "the page's buffer moved out")
	assert.Equal(t, float64(16<<20), got["movedLength"])
	assert.Equal(t, 7.0, got["movedMark"], "the worker's write came back")
	assert.Equal(t, 4.0, got["copiedKept"], "without transfer the page keeps its bytes")
	assert.Equal(t, 7.0, got["backMark"])
	assert.Equal(t, true, got["backIsBytes"])
	assert.Equal(t, true, got["rawF64"], "raw: typed arrays keep their type")
	assert.Equal(t, true, got["rawDate"])
	assert.Equal(t, "[object Uint8Array]", got["convertedF64"], "by default bytes come back as a Uint8Array")
	assert.Equal(t, "1970-01-01T00:00:00.000Z", got["convertedDate"])
	assert.Equal(t, "ERR_BAD_ARGUMENT transfer", got["badTransfer"])
}

// resultsWorker answers with shapes that show how run() hands results on.
const resultsWorker = `importScripts('/jsworker/atmo-worker.js');
const nums = Array.from({ length: 100000 }, (_, i) => i / 4);
atmoWorker({
  nums: () => nums,
  ordered: () => ({ z: 1, a: 2, m: { y: 3, b: 4 } }),
  unreadable: () => ({ list: new Array(2 ** 32 - 1) }),
});
`

func TestJSAPIResultsKeepTheWorkersShapeAndSayWhenGoCouldNotReadThem(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"results-worker.js": resultsWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['nums', 'ordered', 'unreadable'], script: '/t/results-worker.js' }]);
  const nums = await tm.run('nums');
  const ordered = await tm.run('ordered');
  let unreadable = '';
  try { await tm.run('unreadable'); } catch (err) { unreadable = err.code + ' ' + err.message + ' ' + (err.taskId ? 'with' : 'without') + ' taskId'; }
  const raw = await tm.run('unreadable', null, { raw: true });
  // addTask, the seed's callbacks, hands results on the same way.
  const viaAddTask = (name) => new Promise((resolve) => tm.addTask({ name, onSuccess: (r) => resolve(r.content), onError: (r) => resolve(r.code + ' ' + r.error) }));
  const addTaskKeys = Object.keys(await viaAddTask('ordered')).join();
  const addTaskUnreadable = await viaAddTask('unreadable');
  const addTaskRaw = await new Promise((resolve) => tm.addTask({ name: 'unreadable', raw: true, onSuccess: (r) => resolve(r.content.list.length), onError: (r) => resolve(r.error) }));
  await tm.close();
  return {
    numsRight: nums.length === 100000 && nums.every((x, i) => x === i / 4),
    keys: Object.keys(ordered).join() + ' ' + Object.keys(ordered.m).join(),
    unreadable, rawLength: raw.list.length, addTaskKeys, addTaskUnreadable, addTaskRaw,
  };`), &got)
	assert.Equal(t, true, got["numsRight"])
	assert.Equal(t, "z,a,m y,b", got["keys"], "keys keep the worker's order")
	assert.Contains(t, got["unreadable"], "ERR_TASK atmo: the worker's answer cannot be read: it holds an array of 4294967295 items")
	assert.Contains(t, got["unreadable"], "with taskId")
	assert.Equal(t, float64(1<<32-1), got["rawLength"], "raw: the answer as the worker sent it, unread")
	assert.Equal(t, "z,a,m", got["addTaskKeys"])
	assert.Contains(t, got["addTaskUnreadable"], "ERR_TASK atmo: the worker's answer cannot be read")
	assert.Equal(t, float64(1<<32-1), got["addTaskRaw"], "raw works for addTask too")
}

func TestJSAPITransferOfABufferNotInParamsIsRefusedAndLeftWithTheCaller(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark'], script: '/t/bytes-worker.js' }]);
  const data = new Uint8Array(4), stray = new ArrayBuffer(8);
  let runErr = null, addErr = null;
  try { await tm.run('mark', { data }, { transfer: [stray] }); } catch (e) { runErr = e.code + ' ' + e.argument; }
  const stray2 = new ArrayBuffer(8);
  try { tm.addTask({ name: 'mark', params: { data }, transfer: [data.buffer, stray2] }); } catch (e) { addErr = e.code + ' ' + e.argument; }
  await tm.close();
  return { runErr, addErr, stray: stray.byteLength, stray2: stray2.byteLength, data: data.byteLength };`), &got)
	assert.Equal(t, "ERR_BAD_ARGUMENT transfer", got["runErr"], "a buffer the worker would never see in params")
	assert.Equal(t, "ERR_BAD_ARGUMENT transfer", got["addErr"])
	assert.Equal(t, 8.0, got["stray"], "a refused call leaves the buffers yours")
	assert.Equal(t, 8.0, got["stray2"])
	assert.Equal(t, 4.0, got["data"])
}

// A transfer list is checked against params by walking them; what that walk
// meets is refused as structured clone would refuse it: a getter that throws
// or a revoked Proxy is ERR_BAD_ARGUMENT (argument params), as without
// transfer, not a bare Error or TypeError; and the buffers structured clone
// does send (an array's named property, an Error's cause) are found.
func TestJSAPITransferCheckOfParamsFailsAsTheCloneWouldAndFindsWhatItSends(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark'], script: '/t/bytes-worker.js' }]);
  await wm.ready();
  const how = (e) => (e instanceof AtmoError ? e.code + ' ' + e.argument : 'raw ' + e.constructor.name + ': ' + e.message);
  const out = {};
  const d1 = new Uint8Array(4);
  try { await tm.run('mark', { data: d1, get bad() { throw new Error('boom'); } }, { transfer: [d1.buffer] }); } catch (e) { out.getterRun = how(e); }
  const d2 = new Uint8Array(4);
  const p = Proxy.revocable({}, {}); p.revoke();
  try { tm.addTask({ name: 'mark', params: { data: d2, p: p.proxy }, transfer: [d2.buffer] }); } catch (e) { out.proxyAdd = how(e); }
  const d3 = new Uint8Array(4);
  const arr = Object.assign([1], { data: d3 });
  try { await tm.run('mark', arr, { transfer: [d3.buffer] }); out.arrayProp = 'sent ' + d3.byteLength; } catch (e) { out.arrayProp = how(e); }
  await tm.close();
  return out;`), &got)
	assert.Equal(t, "ERR_BAD_ARGUMENT params", got["getterRun"], "as without transfer")
	assert.Equal(t, "ERR_BAD_ARGUMENT params", got["proxyAdd"])
	assert.Equal(t, "sent 0", got["arrayProp"], "structured clone sends an array's named properties, and the buffer with them")
}

// A buffer listed twice in transfer (two views of it, each listed by its
// buffer) moves once, as atmo.Transfer, worker.Transfer and atmo-worker.js
// do with theirs; postMessage alone throws on the duplicate.
func TestJSAPITransferOfABufferListedTwiceMovesItOnce(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark'], script: '/t/bytes-worker.js' }]);
  const buf = new ArrayBuffer(8);
  const data = new Uint8Array(buf, 0, 4), rest = new Uint8Array(buf, 4);
  let out;
  try { const r = await tm.run('mark', { data, rest }, { transfer: [data.buffer, rest.buffer] }); out = 'marked ' + r.data[0]; } catch (e) { out = e.code + ' ' + e.argument + ': ' + e.message; }
  await tm.close();
  return { out, left: buf.byteLength };`), &got)
	assert.Equal(t, "marked 7", got["out"])
	assert.Equal(t, 0.0, got["left"], "moved")
}

func TestJSAPIAPriorityOutOfRangeIsRefusedBeforeTransferMovesTheBuffers(t *testing.T) {
	// README: "a call refused for any reason leaves them yours". A priority
	// past what the manager's aging ranks is refused: the buffers in
	// transfer must still be the caller's, for run() and addTask() alike.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const out = {};
  let buf = new ArrayBuffer(8);
  out.run = await tm.run('add', { a: 1, b: 2, buf }, { transfer: [buf], priority: 1e12 }).then(() => 'resolved', (e) => e.code + ' ' + e.argument);
  out.runLeft = buf.byteLength;
  buf = new ArrayBuffer(8);
  try { tm.addTask({ name: 'add', params: { a: 1, b: 2, buf }, transfer: [buf], priority: -1e12 }); out.addTask = 'added'; } catch (e) { out.addTask = e.code + ' ' + e.argument; }
  out.addTaskLeft = buf.byteLength;
  // The edge of the range still runs (1000 ms aging: up to 2305843009).
  out.edge = await tm.run('add', { a: 1, b: 2 }, { priority: 2305843009 });
  out.pastEdge = await tm.run('add', { a: 1, b: 2 }, { priority: 2305843010 }).then(() => 'resolved', (e) => e.code + ' ' + e.argument);
  // No aging: any safe integer.
  const noAging = atmo.createTaskManager({ agingInterval: -1 });
  atmo.createBrowserWorkerManager(noAging, [math]);
  out.noAging = await noAging.run('add', { a: 1, b: 2 }, { priority: Number.MAX_SAFE_INTEGER });
  await noAging.close();
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{
		"run": "ERR_BAD_ARGUMENT priority", "runLeft": 8.0,
		"addTask": "ERR_BAD_ARGUMENT priority", "addTaskLeft": 8.0,
		"edge": 3.0, "pastEdge": "ERR_BAD_ARGUMENT priority", "noAging": 3.0,
	}, got)
}

// A typed array listed in transfer instead of its buffer, or a buffer moved
// already, is the transfer option's fault: the error names transfer and
// the item as the caller listed it, not params, and leaves the rest alone.
func TestJSAPITransferOfAViewOrOfAMovedBufferIsRefusedNamingTransfer(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"bytes-worker.js": bytesWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['mark'], script: '/t/bytes-worker.js' }]);
  const how = (e) => e.code + ' ' + e.argument + ': ' + e.message;
  const out = {};
  const data = new Uint8Array(4);
  try { await tm.run('mark', { data }, { transfer: [data] }); out.view = 'sent'; } catch (e) { out.view = how(e); }
  out.viewLeft = data.byteLength;
  const moved = new Uint8Array(4);
  structuredClone(moved.buffer, { transfer: [moved.buffer] });
  const other = new ArrayBuffer(8);
  try { tm.addTask({ name: 'mark', params: { other, moved }, transfer: [other, moved.buffer] }); out.detached = 'sent'; } catch (e) { out.detached = how(e); }
  out.otherLeft = other.byteLength;
  await tm.close();
  return out;`), &got)
	assert.Regexp(t, `^ERR_BAD_ARGUMENT transfer: .*transfer\[0\] is a Uint8Array.*\.buffer`, got["view"])
	assert.Equal(t, 4.0, got["viewLeft"])
	assert.Regexp(t, `^ERR_BAD_ARGUMENT transfer: .*transfer\[1\] is an ArrayBuffer moved already`, got["detached"])
	assert.Equal(t, 8.0, got["otherLeft"], "a refused call leaves the buffers yours")
}

// A task whose transfer moved its buffers to a worker that wm.closeWorker
// then closes cannot be sent again: its error names the transfer option a
// page set, not Go's atmo.Transfer.
func TestJSAPIATransferTaskOnAClosedWorkerNamesTheTransferOption(t *testing.T) {
	ctx := apiPage(t)
	var got string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  await wm.ready();
  const buf = new ArrayBuffer(8);
  const p = tm.run('fibonacci', { n: 42, buf }, { transfer: [buf] }).then(() => 'resolved', (e) => e.code + ': ' + e.message);
  await new Promise((r) => setTimeout(r, 100));
  wm.closeWorker(wm.workers()[0].id);
  const out = await within(p);
  await tm.close();
  return out;`), &got)
	assert.Contains(t, got, "ERR_CLOSED")
	assert.NotContains(t, got, "atmo.Transfer")
	assert.NotContains(t, got, "Close()")
}

// atmo.d.ts: AtmoError.transfer is "the transferables of its transfer
// option, whole and the caller's again" for a task that failed before it
// was posted. A MessagePort (or OffscreenCanvas) moved into a task that
// the manager refuses at once is no less the caller's than an ArrayBuffer:
// left out of the error, it is lost (the caller's own port is neutered).
func TestJSAPIARefusedTaskGivesBackATransferableThatIsNoArrayBuffer(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager({ maxQueue: 1 });
  atmo.createBrowserWorkerManager(tm, [math]);
  const { port1 } = new MessageChannel();
  tm.run('add', { a: 1, b: 2 }).catch(() => {}); // takes the one place in the queue
  const back = (e) => ({ code: e.code, port: !!e.transfer && e.transfer[0] instanceof MessagePort });
  const full = await within(tm.run('add', { a: 1, b: 2, port: port1 }, { transfer: [port1] }).then(() => 'resolved', back));
  const ac = new AbortController();
  const { port1: p2 } = new MessageChannel();
  const aborted = tm.run('add', { a: 1, b: 2, port: p2 }, { transfer: [p2], signal: ac.signal }).then(() => 'resolved', back);
  ac.abort();
  const out = { full, aborted: await within(aborted) };
  const { port1: p3 } = new MessageChannel();
  out.noWorker = await within(tm.run('nosuch', { port: p3 }, { transfer: [p3] }).then(() => 'resolved', back));
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_QUEUE_FULL", "port": true}, got["full"])
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "port": true}, got["aborted"])
	assert.Equal(t, map[string]any{"code": "ERR_NO_WORKER", "port": true}, got["noWorker"], "failed by Go in the call that added it")
}

func TestJSAPIASharedArrayBufferInTransferIsSharedNotMoved(t *testing.T) {
	// A SharedArrayBuffer (a cross-origin isolated page has them) crosses
	// shared: listed in transfer, as atmo.Transfer may take one in Go, it is
	// left out of the transfer list, and the worker writes into the page's
	// memory.
	dir := t.TempDir()
	worker := `importScripts('/jsworker/atmo-worker.js');
atmoWorker({
  fill: ({ sab }) => { new Int32Array(sab).fill(7); return sab instanceof SharedArrayBuffer; },
  back: ({ sab }) => { new Int32Array(sab)[0] = 9; return atmoWorker.transfer({ sab }, [sab]); },
});
`
	page := `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
window.atmoLoaded = loadAtmo({ wasm: '/atmo.wasm' }).then((a) => (window.atmo = a));
</script>`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sab-worker.js"), []byte(worker), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644))
	ctx, base, _ := newTab(t, Config{Isolate: true, Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(base+"/t/index.html")))
	var got map[string]any
	eval(t, ctx, `window.atmoLoaded.then(async (atmo) => {
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['fill', 'back'], script: '/t/sab-worker.js' }]);
  const sab = new SharedArrayBuffer(16);
  const out = { isolated: crossOriginIsolated };
  out.shared = await tm.run('fill', { sab }, { transfer: [sab] }).catch((e) => e.code + ': ' + e.message);
  out.seen = new Int32Array(sab)[3];
  // Nothing moves, so nothing is lost if a worker dies: retries stand.
  out.retried = await tm.run('fill', { sab }, { transfer: [sab], retries: 2 }).catch((e) => e.code + ': ' + e.message);
  const back = await tm.run('back', { sab }, { raw: true }).catch((e) => e.code + ': ' + e.message);
  new Int32Array(sab)[1] = 5;
  out.back = back.sab instanceof SharedArrayBuffer ? [new Int32Array(back.sab)[0], new Int32Array(back.sab)[1]] : back;
  await tm.close();
  return out;
})`, &got)
	assert.Equal(t, map[string]any{"isolated": true, "shared": true, "seen": 7.0, "retried": true, "back": []any{9.0, 5.0}}, got, "and one the worker lists in atmoWorker.transfer comes back shared")
}

// README: a task that fails before it is posted gives its transfer back
// "whole" in its error's transfer. A task that was posted and timed out
// while the run() batch that added it was still in Go (its answer reaches
// atmo.js before the batch's ids do) must not hand back the buffer that
// moved to the worker, detached, as if it were the caller's again.
func TestJSAPIATaskThatTimesOutDuringItsOwnRunCallGivesNoDetachedBufferBack(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"variety-worker.js": varietyWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['sleep', 'echo'], script: '/t/variety-worker.js', cancelGrace: 100 }]);
  await wm.ready();
  // One turn: the first task is posted at once with a 1 ms timeout, and
  // the 3000 that follow keep Go in the same run() call well past it.
  const buf = new ArrayBuffer(8);
  const first = tm.run('sleep', { v: 0, ms: 50, buf }, { transfer: [buf], timeout: 1 })
    .then(() => 'ok', (e) => ({ code: e.code, back: e.transfer ? e.transfer.map((b) => b.detached ? 'detached' : b.byteLength) : null }));
  const rest = Array.from({ length: 3000 }, (_, i) => tm.run('echo', { v: i }).catch(() => {}));
  const got = await within(first);
  await tm.close();
  await Promise.all(rest);
  return got;`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_TIMEOUT", "back": nil}, got, "posted, so its buffer is the worker's: no error.transfer")
}

// The same in the turn its whole worker manager closes, while another
// manager's worker lists the task: its buffers never left, so it runs there
// (it used to fail with ERR_CLOSED, giving them back).
func TestJSAPIAManagerClosedInTheTurnATransferTaskWasQueuedForItsWorkerHandsItToAnother(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"variety-worker.js": varietyWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const first = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hang', 'echo'], script: '/t/variety-worker.js', concurrency: 2 }]);
  await first.ready();
  const hang = tm.run('hang', {}).catch((e) => e.code);
  await new Promise((r) => setTimeout(r, 50)); // its worker is busy
  const buf = new ArrayBuffer(8);
  const out = new Promise((resolve) => {
    tm.addTask({ name: 'echo', params: { v: 1, buf }, transfer: [buf], // goes in that worker's batch of this turn
      onSuccess: (r) => resolve({ ok: r.content, workerId: r.workerId }),
      onError: (r) => resolve({ code: r.code, error: r.error, back: r.transfer ? r.transfer.map((b) => b.byteLength) : null }) });
  });
  const second = atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo'], script: '/t/variety-worker.js' }]); // starting
  const closed = first.close(); // in the same turn: the batch was not posted
  const res = await within(out);
  const hangCode = await within(hang);
  await closed;
  await tm.close();
  return { ...res, hangCode, second: second.workers()[0].id };`), &got)
	assert.Equal(t, got["second"], got["workerId"], "its buffers never left: it runs on the other manager's worker")
	assert.Equal(t, map[string]any{"v": 1.0, "len": 8.0, "sum": 0.0}, got["ok"])
	assert.Equal(t, "ERR_CLOSED", got["hangCode"])
}

// README: closeWorker "terminates one worker (its running tasks go to other
// capable workers while their retries last, else fail with ERR_CLOSED;
// those it was never sent go back in line)". A task handed to a busy worker goes in that
// turn's batch, posted at the end of the turn: closed in the same turn, its
// buffers never moved (they come back whole in error.transfer), so it can
// go to the other worker like any other task instead of failing.
func TestJSAPICloseWorkerInTheTurnATransferTaskWasQueuedForItRequeuesIt(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"variety-worker.js": varietyWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hang', 'echo'], script: '/t/variety-worker.js', concurrency: 2 }]);
  await wm.ready();
  const hang = tm.run('hang', {}).catch((e) => e.code);
  await new Promise((r) => setTimeout(r, 50)); // worker-1 is busy
  const buf = new ArrayBuffer(8);
  const out = new Promise((resolve) => {
    tm.addTask({ name: 'echo', params: { v: 1, buf }, transfer: [buf], // goes in worker-1's batch of this turn
      onSuccess: (r) => resolve({ ok: r.content, workerId: r.workerId }),
      onError: (r) => resolve({ code: r.code, error: r.error, back: r.transfer ? r.transfer.map((b) => b.byteLength) : null }) });
  });
  wm.addWorker({ tasks: ['echo'], script: '/t/variety-worker.js' }); // worker-2, starting
  wm.closeWorker('worker-1'); // in the same turn: the batch was not posted
  const res = await within(out);
  const hangCode = await within(hang);
  await tm.close();
  return { ...res, hangCode };`), &got)
	assert.Equal(t, map[string]any{"ok": map[string]any{"v": 1.0, "len": 8.0, "sum": 0.0}, "workerId": "worker-2", "hangCode": "ERR_CLOSED"}, got,
		"its buffers never left: it runs on the other worker (the hang, sent, no retries, fails)")
}

// Params reach the worker as postMessage's structured clone sends them: an
// object found twice in them arrives as one object there too, whether
// params are small and plain (copied by hand, the fast path) or not.
func TestJSAPIAnObjectFoundTwiceInSmallParamsArrivesAsOneObject(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"same-worker.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ same: (p) => { p.a.x = 2; return { same: p.a === p.b, bx: p.b.x, inList: p.list[0] === p.a }; } });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['same'], script: '/t/same-worker.js' }]);
  const s = { x: 1 };
  const small = await tm.run('same', { a: s, b: s, list: [s] });
  const withDate = await tm.run('same', { a: s, b: s, list: [s], when: new Date(0) }); // not plain: structured clone
  await tm.close();
  return { small, withDate };`), &got)
	want := map[string]any{"same": true, "bx": 2.0, "inList": true}
	assert.Equal(t, want, got["withDate"], "structured clone keeps one object one")
	assert.Equal(t, want, got["small"], "so does the copy of small plain params")
}

// Params held in a Proxy (a Vue 3 reactive(), a MobX observable, an Immer
// draft) are taken or refused alike whatever their size: run() copied a
// small one by hand (plainCopy reads through the Proxy) but refused the
// same object with 100 items, or with a Date in it, or with a transfer
// list, as structured clone cannot clone a Proxy. A page that worked on
// test data failed on real data.
func TestJSAPIParamsInAProxyAreSentWhateverTheirSize(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"echo.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ echo: (p) => p, len: (p) => p.data.byteLength });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo', 'len'], script: '/t/echo.js' }]);
  const reactive = (t) => new Proxy(t, {});
  const how = (p) => p.then((v) => JSON.stringify(v), (e) => e.code + ': ' + e.message);
  const hundred = Array.from({ length: 100 }, (_, i) => i);
  const data = new Uint8Array(8);
  const shared = { s: 1 };
  const out = {
    small: await how(tm.run('echo', reactive({ a: 1, b: [1, 2] }))),
    big: await how(tm.run('echo', reactive({ a: 1, b: hundred }))),
    wantBig: JSON.stringify({ a: 1, b: hundred }),
    date: await how(tm.run('echo', reactive({ a: 1, when: new Date(0) }))),
    inner: await how(tm.run('echo', { list: reactive([1, 2, 3]), more: hundred.slice(0, 70) })),
    twice: await how(tm.run('echo', reactive({ x: shared, y: shared }))),
    transfer: await how(tm.run('len', reactive({ data }), { transfer: [data.buffer] })),
    fn: await how(tm.run('echo', reactive({ f: () => 1, b: hundred }))),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, `{"a":1,"b":[1,2]}`, got["small"])
	assert.Equal(t, got["wantBig"], got["big"])
	assert.Equal(t, `{"a":1,"when":"1970-01-01T00:00:00.000Z"}`, got["date"])
	assert.Contains(t, got["inner"], `{"list":[1,2,3],"more":[0,1,2,`)
	assert.Equal(t, `{"x":{"s":1},"y":{"s":1}}`, got["twice"])
	assert.Equal(t, "8", got["transfer"])
	assert.Contains(t, got["fn"], "ERR_BAD_ARGUMENT: ", "a function is refused still")
	assert.Contains(t, got["fn"], "could not be cloned")
}
