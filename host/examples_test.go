package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExampleWorkersSayWhatToGiveWhenParamsAreNull runs every task of the
// data and image example workers with no params (null: what the dashboard
// sends for an empty params box, tm.run(name) and Do(ctx, name, nil)): each
// must say which param to give, as the math worker does, not leak a
// TypeError about destructuring null.
func TestTheDataAndImageExampleWorkersSayWhatToGiveWhenParamsAreNull(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [
    { tasks: ['fetch', 'transform', 'validate', 'filter'], script: '/workers/data-worker.js' },
    { tasks: ['resize', 'compress', 'image-filter', 'analyze'], script: '/workers/image-worker.js' },
  ]);
  await wm.ready();
  const out = {};
  for (const name of ['fetch', 'transform', 'validate', 'filter', 'resize', 'compress', 'image-filter', 'analyze']) {
    out[name] = await tm.run(name, null).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message);
  }
  wm.close(); tm.close();
  return out;`), &got)
	for name, msg := range got {
		assert.NotContains(t, msg, "null", "%s(null): %q", name, msg)
		assert.Contains(t, msg, "params.", "%s(null) says which param to give: %q", name, msg)
	}
}

// TestDataWorkerContainsDoesNotMatchAMissingField: 'contains' on a field a
// record lacks (or holds null) must not match the text "undefined" or
// "null": a filter for phone numbers containing "n" returned every record.
func TestDataWorkerContainsDoesNotMatchAMissingField(t *testing.T) {
	ctx := apiPage(t)
	var got []int
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['filter'], script: '/workers/data-worker.js' }]);
  await wm.ready();
  const records = [{ id: 1, phone: '555-0100' }, { id: 2 }, { id: 3, phone: null }, { id: 4, phone: 'none' }];
  const out = [];
  for (const value of ['n', 'u', 'def']) {
    const rows = await tm.run('filter', { records, where: [{ field: 'phone', op: 'contains', value }] });
    out.push(rows.length);
  }
  wm.close(); tm.close();
  return out;`), &got)
	assert.Equal(t, []int{1, 0, 0}, got, "records matched by 'n', 'u' and 'def': only {id: 4, phone: 'none'} contains an n")
}

// TestDataWorkerRefusesASchemaTypeItDoesNotKnow: a schema type the worker
// does not know ('integer', a typo of 'number') is refused up front, naming
// the known ones, as the generated data workers do, rather than failing
// every record with "should be a integer, is a number".
func TestDataWorkerRefusesASchemaTypeItDoesNotKnow(t *testing.T) {
	ctx := apiPage(t)
	var got []string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['validate'], script: '/workers/data-worker.js' }]);
  await wm.ready();
  const records = [{ age: 3 }, { age: 4 }];
  const out = [];
  for (const schema of [{ age: 'integer' }, { age: { type: 'int', min: 0 } }]) {
    out.push(await tm.run('validate', { records, schema }).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message));
  }
  out.push(await tm.run('validate', { records, schema: { age: { min: 0 } } }).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message));
  out.push(await tm.run('validate', { records, schema: { age: { type: null, min: 0 } } }).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message));
  wm.close(); tm.close();
  return out;`), &got)
	assert.Contains(t, got[0], "params.schema.age", got[0])
	assert.Contains(t, got[0], "'number', 'string', 'boolean' or 'email'", got[0])
	assert.Contains(t, got[1], "params.schema.age", got[1])
	assert.Equal(t, `ok: {"valid":true,"checked":2,"errors":[]}`, got[2], "a rule without a type checks only what it has")
	assert.Equal(t, got[2], got[3], "as does one whose type is null (a Go struct's unset field)")
}

// TestDataWorkerRefusesASelectOrAsItCannotUse: transform's select is an
// array of field names, its descending a boolean, and fetch's as is 'json'
// or 'text'; anything else (select: 'name', a typo of ['name'], descending:
// 'false', which sorted descending, or as: 'blob') is refused with what to
// give, not ignored, which returned every field, or the body read as JSON.
// A body that is not JSON names its URL and as: 'text'.
func TestDataWorkerRefusesASelectOrAsItCannotUse(t *testing.T) {
	ctx := apiPage(t)
	var got []string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['fetch', 'transform'], script: '/workers/data-worker.js' }]);
  await wm.ready();
  const records = [{ name: 'Ada', age: 36 }];
  const out = [];
  for (const [name, params] of [
    ['transform', { records, select: 'name' }],
    ['transform', { records, select: { name: true } }],
    ['fetch', { url: '/data/people.json', as: 'blob' }],
    ['transform', { records, select: ['name'] }],
    ['transform', { records, select: null }],
    ['transform', { records, sortBy: 'age', descending: 'false' }],
    ['fetch', { url: '/workers/data-worker.js' }],
    ['fetch', { url: '/workers/data-worker.js', as: 'text' }],
  ]) {
    out.push(await tm.run(name, params).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message));
  }
  wm.close(); tm.close();
  return out;`), &got)
	assert.Contains(t, got[0], "params.select", got[0])
	assert.Contains(t, got[1], "params.select", got[1])
	assert.Contains(t, got[2], "params.as", got[2])
	assert.Equal(t, `ok: [{"name":"Ada"}]`, got[3])
	assert.Equal(t, `ok: [{"name":"Ada","age":36}]`, got[4], "a null select is none")
	assert.Contains(t, got[5], "params.descending must be true or false", got[5])
	assert.Contains(t, got[6], "/workers/data-worker.js: the body is not JSON", got[6])
	assert.Contains(t, got[6], "as: 'text'", got[6])
	assert.Contains(t, got[7], "ok: ", "as: 'text' reads any body")
}

// TestImageWorkerSaysWhatItsImageDataIs: image data that is no bytes (an
// ArrayBuffer, an object) is refused naming what it is, not as "has
// undefined" RGBA bytes.
func TestImageWorkerSaysWhatItsImageDataIs(t *testing.T) {
	ctx := apiPage(t)
	var got []string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['analyze'], script: '/workers/image-worker.js' }]);
  await wm.ready();
  const out = [];
  for (const data of [new ArrayBuffer(4), { r: 1 }, 7]) {
    out.push(await tm.run('analyze', { image: { width: 1, height: 1, data } }).then((v) => 'ok: ' + JSON.stringify(v), (e) => e.message));
  }
  wm.close(); tm.close();
  return out;`), &got)
	for i, what := range []string{"ArrayBuffer", "Object", "Number"} {
		assert.NotContains(t, got[i], "undefined", got[i])
		assert.Contains(t, got[i], "params.image.data must be bytes", got[i])
		assert.Contains(t, got[i], what, got[i])
	}
}
