package main

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// web/atmo.d.ts, checked against what atmo.js really gives and takes: a
// page's TypeScript trusts it (typescript_test.go compiles it; this checks
// what the compiler cannot: that the script has what it declares). The parser
// reads the file's own style: `export interface Name {` (or class) up to a
// line `}`, one member a line at two spaces, `name?: type;` for a field and
// `name(` or `name<` for a method.

// dtsType is one interface or class of atmo.d.ts: its fields, each with
// whether it is optional, and its methods.
type dtsType struct {
	fields  map[string]bool
	methods map[string]bool
}

var (
	dtsHeader = regexp.MustCompile(`^export (?:interface|class) (\w+)(?:<.*>)?(?: extends (\w+))? \{$`)
	dtsMember = regexp.MustCompile(`^  (?:readonly )?(\w+)(\??)([:(<])`)
	dtsCode   = regexp.MustCompile(`^\s*\| '(ERR_[A-Z_]+)'`)
)

// readDts parses ../web/atmo.d.ts: its types by name, and the codes of
// AtmoErrorCode.
func readDts(t *testing.T) (map[string]dtsType, []string) {
	t.Helper()
	return readDtsFile(t, "../web/atmo.d.ts")
}

// readDtsFile parses the declarations file at path, as readDts does.
func readDtsFile(t *testing.T, path string) (map[string]dtsType, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	types := map[string]dtsType{}
	var codes []string
	var cur *dtsType
	inCodes := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "export type AtmoErrorCode ="):
			inCodes = true
		case inCodes:
			if m := dtsCode.FindStringSubmatch(line); m != nil {
				codes = append(codes, m[1])
			}
			inCodes = !strings.HasSuffix(strings.TrimSpace(line), ";")
		case cur == nil:
			m := dtsHeader.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			types[m[1]] = dtsType{fields: map[string]bool{}, methods: map[string]bool{}}
			c := types[m[1]]
			if p, ok := types[m[2]]; ok { // extends one of the file's own
				for k, v := range p.fields {
					c.fields[k] = v
				}
				for k := range p.methods {
					c.methods[k] = true
				}
			}
			cur = &c
		case line == "}":
			cur = nil
		default:
			if m := dtsMember.FindStringSubmatch(line); m != nil {
				if m[3] == ":" {
					cur.fields[m[1]] = m[2] == "?"
				} else {
					cur.methods[m[1]] = true
				}
			}
		}
	}
	return types, codes
}

// checkShape says what keys, the own keys of a real object, do not match
// type name of atmo.d.ts: keys it does not declare, and the fields it
// declares required that are missing. methods says whether the type's
// methods count as keys too.
func checkShape(t *testing.T, types map[string]dtsType, name, what string, keys []string, methods bool) {
	t.Helper()
	ty, ok := types[name]
	if !assert.True(t, ok, "the .d.ts declares %s (for %s)", name, what) {
		return
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
		_, field := ty.fields[k]
		assert.True(t, field || (methods && ty.methods[k]), "%s has %q, which the .d.ts's %s does not declare", what, k, name)
	}
	for k, optional := range ty.fields {
		assert.True(t, optional || have[k], "the .d.ts's %s declares %q required, which %s lacks", name, k, what)
	}
	if methods {
		for k := range ty.methods {
			assert.True(t, have[k], "the .d.ts's %s declares method %s(), which %s lacks", name, k, what)
		}
	}
}

// checkOptions says whether the options a call knows (as its error for an
// unknown one lists them) are the fields type name of atmo.d.ts declares.
func checkOptions(t *testing.T, types map[string]dtsType, name, what string, known []string) {
	t.Helper()
	ty, ok := types[name]
	if !assert.True(t, ok, "the .d.ts declares %s (for %s)", name, what) {
		return
	}
	var declared []string
	for k := range ty.fields {
		declared = append(declared, k)
	}
	sort.Strings(declared)
	sort.Strings(known)
	assert.Equal(t, known, declared, "the options %s takes, and those atmo.d.ts's %s declares", what, name)
}

func TestTheDtsErrorCodesAreTheOnesAtmoGives(t *testing.T) {
	_, declared := readDts(t)
	given := map[string]bool{}
	codeIn := regexp.MustCompile(`['"](ERR_[A-Z_]+)['"]`)
	files := []string{"../web/atmo.js"}
	more, err := os.ReadDir("../wasm/jsapi")
	require.NoError(t, err)
	for _, f := range more {
		if strings.HasSuffix(f.Name(), "_js.go") {
			files = append(files, "../wasm/jsapi/"+f.Name())
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range codeIn.FindAllStringSubmatch(string(b), -1) {
			given[m[1]] = true
		}
	}
	var codes []string
	for c := range given {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	sort.Strings(declared)
	assert.Equal(t, codes, declared, "the codes atmo.js and the bridge give, and atmo.d.ts's AtmoErrorCode")
}

func TestTheDtsDeclaresWhatTheJSAPIGivesAndTakes(t *testing.T) {
	types, _ := readDts(t)
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const keys = (o) => Object.keys(o);
  // An object's API: its own fields and its class's methods, not the private _ ones.
  const api = (o) => [...new Set([...Object.keys(o), ...Object.getOwnPropertyNames(Object.getPrototypeOf(o))])]
    .filter((k) => k !== 'constructor' && !k.startsWith('_'));
  const known = (f) => { try { f(); } catch (e) { return e.message; } return 'accepted'; };
  const knownAsync = async (f) => { try { await f(); } catch (e) { return e.message; } return 'accepted'; };
  const out = { events: [], errors: {}, options: {} };
  const tm = atmo.createTaskManager();
  const stop = tm.subscribe((m) => out.events.push(keys(m)));
  const wm = atmo.createBrowserWorkerManager(tm, [math, { tasks: ['steps', 'hold'], script: '/t/progress-worker.js' }]);
  await wm.ready();
  out.atmo = api(atmo); out.tm = api(tm); out.wm = api(wm);
  out.success = await new Promise((resolve, reject) => tm.addTask({ name: 'add', params: { a: 1, b: 2 }, onSuccess: (r) => resolve(keys(r)), onError: reject }));
  out.failure = await new Promise((resolve, reject) => tm.addTask({ name: 'divide', params: { a: 1, b: 0 }, onSuccess: reject, onError: (r) => resolve(keys(r)) }));
  let handle;
  out.progress = await new Promise((resolve, reject) => { handle = tm.addTask({ name: 'steps', params: { n: 1 }, onProgress: (r) => resolve(keys(r)), onError: reject }); });
  out.handle = keys(handle);
  const ac = new AbortController();
  const held = new Promise((resolve) => tm.addTask({ name: 'hold', params: { i: 1 }, signal: ac.signal, onError: (r) => resolve(keys(r)) }));
  out.stats = tm.stats();
  ac.abort(new Error('why'));
  out.canceled = await held;
  out.status = keys(tm.status());
  out.workers = wm.workers().map(keys);
  out.added = keys(wm.addWorker({ tasks: ['add'], script: '/workers/math-worker.js' }));
  for (const [name, f] of [
    ['task', () => tm.run('divide', { a: 1, b: 0 })],
    ['argument', () => tm.run('', {})],
    ['canceled', () => { const a = new AbortController(); const p = tm.run('hold', { i: 2 }, { signal: a.signal }); setTimeout(() => a.abort('stop'), 50); return p; }],
    ['queueFull', async () => {
      const tm2 = atmo.createTaskManager({ maxQueue: 1 });
      await atmo.createBrowserWorkerManager(tm2, [{ tasks: ['hold'], script: '/t/progress-worker.js' }]).ready();
      const held = [1, 2].map((i) => tm2.run('hold', { i }).catch(() => {}));
      const buf = new ArrayBuffer(8);
      try { await tm2.run('hold', { i: 3, buf }, { transfer: [buf] }); } finally { await tm2.close(); await Promise.all(held); }
    }],
  ]) {
    try { await f(); out.errors[name] = 'resolved'; } catch (e) { out.errors[name] = keys(e); }
  }
  out.options.run = await knownAsync(() => tm.run('add', {}, { nope: 1 }));
  out.options.addTask = known(() => tm.addTask({ name: 'add', nope: 1 }));
  out.options.createTaskManager = known(() => atmo.createTaskManager({ nope: 1 }));
  out.options.config = known(() => wm.addWorker({ tasks: ['add'], script: '/workers/math-worker.js', nope: 1 }));
  out.options.ready = await knownAsync(() => wm.ready({ nope: 1 }));
  out.options.loadAtmo = await knownAsync(() => window.loadAtmo({ nope: 1 }));
  await new Promise((r) => setTimeout(r, 100));
  stop();
  await tm.close();
  return out;`), &got)

	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	checkShape(t, types, "Atmo", "loadAtmo's API", strs(got["atmo"]), true)
	checkShape(t, types, "TaskManager", "a TaskManager", strs(got["tm"]), true)
	checkShape(t, types, "BrowserWorkerManager", "a BrowserWorkerManager", strs(got["wm"]), true)
	checkShape(t, types, "SuccessResponse", "onSuccess's response", strs(got["success"]), false)
	checkShape(t, types, "ErrorResponse", "onError's response", strs(got["failure"]), false)
	checkShape(t, types, "ErrorResponse", "onError's response to a signal", strs(got["canceled"]), false)
	checkShape(t, types, "ProgressReport", "onProgress's report", strs(got["progress"]), false)
	checkShape(t, types, "TaskHandle", "addTask's handle", strs(got["handle"]), true)
	checkShape(t, types, "StatusSummary", "status()", strs(got["status"]), false)
	for _, w := range got["workers"].([]any) {
		checkShape(t, types, "WorkerInfo", "a worker of workers()", strs(w), false)
	}
	checkShape(t, types, "WorkerInfo", "addWorker's worker", strs(got["added"]), false)
	stats := got["stats"].(map[string]any)
	var statsKeys []string
	for k := range stats {
		statsKeys = append(statsKeys, k)
	}
	checkShape(t, types, "Stats", "stats()", statsKeys, false)
	for _, p := range []string{"queueWait", "runTime"} {
		var pk []string
		for k := range stats[p].(map[string]any) {
			pk = append(pk, k)
		}
		checkShape(t, types, "Percentiles", "stats()."+p, pk, false)
	}
	require.NotEmpty(t, stats["workers"])
	for _, w := range stats["workers"].([]any) {
		var wk []string
		for k := range w.(map[string]any) {
			wk = append(wk, k)
		}
		checkShape(t, types, "WorkerStats", "a worker of stats()", wk, false)
	}
	require.NotEmpty(t, got["events"])
	for _, e := range got["events"].([]any) {
		checkShape(t, types, "AtmoEvent", "an event", strs(e), false)
	}
	errs := got["errors"].(map[string]any)
	for _, name := range []string{"task", "argument", "canceled", "queueFull"} {
		require.IsType(t, []any{}, errs[name], "the %s error", name)
		checkShape(t, types, "AtmoError", "the "+name+" error", strs(errs[name]), false)
	}
	assert.Contains(t, errs["task"], "workerMessage")
	assert.Contains(t, errs["argument"], "argument")
	assert.Contains(t, errs["canceled"], "cause")
	assert.Contains(t, errs["queueFull"], "transfer")

	// The options each call knows, as its error for an unknown one lists them.
	listed := regexp.MustCompile(`(?:the options are |\(known: )([\w, ]+)`)
	options := func(call string) []string {
		msg, _ := got["options"].(map[string]any)[call].(string)
		m := listed.FindStringSubmatch(msg)
		if !assert.NotNil(t, m, "%s's error for an unknown option lists the known ones: %q", call, msg) {
			return nil
		}
		return strings.Split(m[1], ", ")
	}
	checkOptions(t, types, "RunOptions", "run()", options("run"))
	checkOptions(t, types, "TaskParams", "addTask()", append(options("addTask"), "id", "status", "assignedWorker")) // the seed's, taken and ignored
	checkOptions(t, types, "TaskManagerOptions", "createTaskManager()", options("createTaskManager"))
	checkOptions(t, types, "WorkerConfig", "a worker config", options("config"))
	checkOptions(t, types, "ReadyOptions", "ready()", options("ready"))
	checkOptions(t, types, "LoadOptions", "loadAtmo()", options("loadAtmo"))
}

// AtmoError's constructor takes its fields (AtmoErrorFields) as atmo.js's
// does: code and those it copies. A page subclasses it (see
// TestASubclassOfAtmoErrorKeepsItsOwnInstanceof); TypeScript then needs
// the constructor declared.
func TestTheDtsAtmoErrorIsMadeWithTheFieldsAtmoJSTakes(t *testing.T) {
	types, _ := readDts(t)
	b, err := os.ReadFile("../web/atmo.js")
	require.NoError(t, err)
	m := regexp.MustCompile(`for \(const k of \[([^\]]*)\]\) \{\n\s*if \(fields\[k\] !== undefined\) this\[k\] = fields\[k\];`).FindSubmatch(b)
	require.NotNil(t, m, "atmo.js's AtmoError copies its fields in a loop")
	copied := []string{"code"}
	for _, f := range strings.Split(string(m[1]), ",") {
		copied = append(copied, strings.Trim(strings.TrimSpace(f), "'"))
	}
	checkOptions(t, types, "AtmoErrorFields", "new AtmoError(message, fields)", copied)
	assert.True(t, types["AtmoError"].methods["constructor"], "atmo.d.ts declares AtmoError's constructor(message, fields)")
	for _, f := range copied {
		_, ok := types["AtmoError"].fields[f]
		assert.True(t, ok, "atmo.d.ts's AtmoError declares %q", f)
	}
}

// The README's JS API section lists every option of each call as
// atmo.d.ts declares them, and names every field of a worker config.
func TestTheREADMEsJSAPIListsTheOptionsTheDtsDeclares(t *testing.T) {
	types, _ := readDts(t)
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## The JS API for plain pages\n")
	require.True(t, ok)
	section, _, _ = strings.Cut(section, "\n## ")
	section = strings.Join(strings.Fields(section), " ") // lists wrap across lines
	for _, c := range []struct{ call, typ string }{
		{"loadAtmo", "LoadOptions"}, {"createTaskManager", "TaskManagerOptions"}, {"run", "RunOptions"},
		{"addTask", "TaskParams"}, {"ready", "ReadyOptions"},
	} {
		m := regexp.MustCompile("`(?:\\w+\\.)*" + c.call + `\((?:name, params, )?\{ ([\w, ]+) \}\)` + "`").FindStringSubmatch(section)
		if !assert.NotNil(t, m, "the README writes `%s({ ... })` with its options", c.call) {
			continue
		}
		listed := strings.Split(m[1], ", ")
		if c.call == "addTask" {
			listed = append(listed, "id", "status", "assignedWorker") // "also takes, and ignores, the seed's"
		}
		checkOptions(t, types, c.typ, "the README's "+c.call+"()", listed)
	}
	for f := range types["WorkerConfig"].fields {
		named := strings.Contains(section, "`"+f+"`") || strings.Contains(section, f+": ") // in prose, or in an example
		assert.True(t, named, "the README's JS API names the worker config's %s", f)
	}
}

// atmo.js reads, and never changes, the arrays a page passes (configs,
// their tasks, a transfer list): atmo.d.ts types them readonly, so that
// TypeScript takes `as const` ones. Frozen, they work as any other.
func TestJSAPITakesFrozenArrays(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tasks = Object.freeze([...math.tasks]);
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, Object.freeze([Object.freeze({ tasks, script: math.script })]));
  wm.addWorker(Object.freeze({ tasks, script: math.script }));
  const buf = new Uint8Array([1, 2, 3]);
  const sum = await tm.run('add', { a: 1, b: 2, buf }, { transfer: Object.freeze([buf.buffer]) });
  const out = { sum, moved: buf.byteLength === 0, workers: wm.workers().length };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{"sum": 3.0, "moved": true, "workers": 2.0}, got)
}

// jsworker/atmo-worker.d.ts types a handler's ctx and atmoWorker itself as
// the helper makes them in a real worker.
func TestTheWorkerDtsDeclaresWhatAtmoWorkerGives(t *testing.T) {
	types, _ := readDtsFile(t, "../jsworker/atmo-worker.d.ts")
	ctx := apiPageWith(t, map[string]string{"keys-worker.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({
  keys: (p, ctx) => ({ ctx: Object.keys(ctx), helper: Object.keys(atmoWorker), transfer: Object.keys(atmoWorker.transfer(1, [])) }),
});
`})
	var got map[string][]string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['keys'], script: '/t/keys-worker.js' }]);
  const out = await tm.run('keys', {});
  await tm.close();
  return out;`), &got)
	checkShape(t, types, "TaskContext", "a handler's ctx", got["ctx"], true)
	checkShape(t, types, "AtmoWorker", "atmoWorker", got["helper"], true)
	checkShape(t, types, "Transfer", "atmoWorker.transfer's value", got["transfer"], false)
}
