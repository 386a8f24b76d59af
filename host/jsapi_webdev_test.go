package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A web developer's usual slips: an AbortController given as signal (not
// its .signal), a name or params still a Promise (a forgotten await). The
// error names what was given, not "{}", which is what JSON makes of them.
func TestJSAPIErrorsNameTheKindOfObjectGivenNotItsEmptyJSON(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const fail = (p) => p.then((v) => ({ resolved: v }), (e) => ({ code: e.code, argument: e.argument, message: e.message }));
  const throws = (f) => { try { f(); return { returned: true }; } catch (e) { return { code: e.code, argument: e.argument, message: e.message }; } };
  const ac = new AbortController();
  const name = (async () => 'add')();
  const out = {
    controller: await fail(tm.run('add', { a: 1, b: 2 }, { signal: ac })),
    controllerTask: throws(() => tm.addTask({ name: 'add', params: { a: 1, b: 2 }, signal: ac })),
    promiseName: await fail(tm.run(name, { a: 1, b: 2 })),
    promiseNameTask: throws(() => tm.addTask({ name, params: { a: 1, b: 2 } })),
  };
  await tm.close();
  return out;`), &got)
	for k, v := range got {
		assert.Equal(t, "ERR_BAD_ARGUMENT", v["code"], k)
		assert.NotContains(t, v["message"], "{}", k)
	}
	assert.Contains(t, got["controller"]["message"], "got an AbortController")
	assert.Contains(t, got["controllerTask"]["message"], "got an AbortController")
	assert.Contains(t, got["promiseName"]["message"], "got a Promise")
	assert.Contains(t, got["promiseName"]["message"], "await")
	assert.Contains(t, got["promiseNameTask"]["message"], "got a Promise")
}

// atmo.d.ts's global loadAtmo, for classic scripts: atmo.js is an ES
// module, which a classic <script src> cannot load (a SyntaxError at its
// export); loaded as a module, it sets the global for the classic scripts
// that run once the page is parsed, as the d.ts says.
func TestTheGlobalLoadAtmoReachesAClassicScriptAsTheDtsSays(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script>window.errors = []; addEventListener('error', (e) => window.errors.push(e.message));</script>
<script type="module" src="/atmo.js"></script>
<script>
document.addEventListener('DOMContentLoaded', async () => {
  try {
    const atmo = await loadAtmo();
    const tm = atmo.createTaskManager();
    atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '/workers/math-worker.js' }]);
    window.answer = { sum: await tm.run('add', { a: 1, b: 2 }), errors: window.errors };
    await tm.close();
  } catch (e) {
    window.answer = { error: String(e), errors: window.errors };
  }
});
</script>`}, "window.answer")
	var got map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"sum": 3.0, "errors": []any{}}, got)
}

// Passing the object instead of its id, as a page does that keeps what
// addTask or workers() gave: the error says to pass its id, not "no worker
// <object> in this manager".
func TestJSAPICancelAndCloseWorkerGivenTheObjectSayToPassItsID(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]map[string]any
	eval(t, ctx, js(`
  const throws = (f) => { try { f(); return { returned: true }; } catch (e) { return { code: e.code, argument: e.argument, message: e.message }; } };
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const task = tm.addTask({ name: 'fibonacci', params: { n: 25 } });
  const out = {
    cancel: throws(() => tm.cancel(task)),
    closeWorker: throws(() => wm.closeWorker(wm.workers()[0])),
    closeWorkerNothing: throws(() => wm.closeWorker()),
  };
  await tm.close();
  return out;`), &got)
	for k, v := range got {
		assert.Equal(t, "ERR_BAD_ARGUMENT", v["code"], k)
		assert.NotContains(t, v["message"], "<", k)
	}
	assert.Equal(t, "taskId", got["cancel"]["argument"])
	assert.Contains(t, got["cancel"]["message"], `pass its id ("task-1")`)
	assert.Equal(t, "id", got["closeWorker"]["argument"])
	assert.Contains(t, got["closeWorker"]["message"], `pass its id ("worker-1")`)
	assert.Contains(t, got["closeWorkerNothing"]["message"], "got undefined")
}
