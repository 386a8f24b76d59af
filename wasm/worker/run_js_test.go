//go:build js && wasm

package worker

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// jsHost is a host port in JS, as go-worker.js provides one: it records
// what the worker posts and keeps the worker's listener.
func jsHost() js.Value {
	return js.Global().Get("Function").New(`
const host = { posted: [] };
host.post = (msg, transfer) => host.posted.push({ msg, transfer });
host.listen = (fn) => { host.fn = fn; };
return host;`).Invoke()
}

func waitPosted(t *testing.T, host js.Value, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for host.Get("posted").Length() < n {
		require.True(t, time.Now().Before(deadline), "the worker posted %d messages, want %d", host.Get("posted").Length(), n)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeOverAJSPortDecodesBytesAndTransfersResultBytes(t *testing.T) {
	s := newServer()
	s.handle("double", typed("double", func(_ context.Context, b []byte) ([]byte, error) {
		out := make([]byte, len(b))
		for i, x := range b {
			out[i] = 2 * x
		}
		return out, nil
	}))
	host := jsHost()
	serve(s, host)
	init := js.Global().Get("Object").New()
	init.Set("message", "init-worker")
	init.Set("id", "worker-1")
	host.Get("fn").Invoke(init)
	waitPosted(t, host, 1)
	ready := host.Get("posted").Index(0).Get("msg")
	assert.Equal(t, "worker-ready", ready.Get("message").String())
	assert.Equal(t, "worker-1", ready.Get("workerId").String())

	params := js.Global().Get("Uint8Array").New(3)
	js.CopyBytesToJS(params, []byte{1, 2, 3})
	work := js.Global().Get("Function").New("p", `return { message: 'worker-work', taskId: 'task-1', workerId: 'worker-1', content: { name: 'double', params: p } };`).Invoke(params)
	host.Get("fn").Invoke(work)
	waitPosted(t, host, 2)
	posted := host.Get("posted").Index(1)
	msg := posted.Get("msg")
	assert.Equal(t, "worker-response", msg.Get("message").String())
	assert.Equal(t, "task-1", msg.Get("taskId").String())
	content := msg.Get("content")
	require.True(t, content.InstanceOf(js.Global().Get("Uint8Array")), "[]byte arrives as a Uint8Array")
	got := make([]byte, content.Length())
	js.CopyBytesToGo(got, content)
	assert.Equal(t, []byte{2, 4, 6}, got)
	transfer := posted.Get("transfer")
	require.Equal(t, 1, transfer.Length())
	assert.True(t, transfer.Index(0).Equal(content.Get("buffer")), "its buffer is in the transfer list")
}

func TestFromJSFollowsTheCoreRules(t *testing.T) {
	v := js.Global().Get("Function").New(`return {
  n: 1.5, s: 'x', b: true, nil: null, undef: undefined,
  list: [1, 'two'], bytes: new Uint8Array([7, 8]), buf: new Uint16Array([1]).buffer,
  when: new Date(Date.UTC(2025, 0, 2)), err: new TypeError('bad'),
};`).Invoke()
	assert.Equal(t, map[string]any{
		"n": 1.5, "s": "x", "b": true, "nil": nil, "undef": nil,
		"list": []any{1.0, "two"}, "bytes": []byte{7, 8}, "buf": []byte{1, 0},
		"when": "2025-01-02T00:00:00.000Z", "err": map[string]any{"name": "TypeError", "message": "bad"},
	}, fromJS(v))
}

func TestServeOverAJSPortRunsWorkBatchesAndOddlyShapedWork(t *testing.T) {
	s := newServer()
	s.handle("double", func(_ context.Context, p any) (any, error) { return 2 * p.(float64), nil })
	host, send := servedHost(t, s)

	// A batch, as the compact form carries it; a worker id that is a
	// number (a hand-written host) and a work message with extra fields,
	// which take the general path.
	send(`{ message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'double', params: 1 }, { taskId: 'task-2', name: 'double', params: 2 } ] }`)
	send(`{ message: 'worker-work', taskId: 'task-3', workerId: 7, content: { name: 'double', params: 3 } }`)
	send(`{ message: 'worker-work', taskId: 'task-4', content: { name: 'double', params: 4, extra: true }, extra: 1 }`)
	waitPosted(t, host, 5)
	got := map[string]float64{}
	ids := map[string]string{}
	for i := 1; i < 5; i++ {
		msg := host.Get("posted").Index(i).Get("msg")
		require.Equal(t, "worker-response", msg.Get("message").String())
		id := msg.Get("taskId").String()
		got[id] = msg.Get("content").Float()
		ids[id] = msg.Get("workerId").String()
	}
	assert.Equal(t, map[string]float64{"task-1": 2, "task-2": 4, "task-3": 6, "task-4": 8}, got)
	assert.Equal(t, map[string]string{"task-1": "worker-1", "task-2": "worker-1", "task-3": "7", "task-4": "worker-1"}, ids)
}

func TestAResultThatCannotBePostedFailsOnlyItsOwnTaskInABatch(t *testing.T) {
	s := newServer()
	var mu sync.Mutex
	started := 0
	all := make(chan struct{})
	// Each task waits until all three run, so that their answers leave
	// together in one worker-response-batch.
	together := func() {
		mu.Lock()
		started++
		if started == 3 {
			close(all)
		}
		mu.Unlock()
		<-all
	}
	s.handle("ok", func(_ context.Context, p any) (any, error) { together(); return p, nil })
	s.handle("fn", func(context.Context, any) (any, error) { together(); return js.Global().Get("Function").New(""), nil })
	// A host that clones what it is posted, as postMessage does.
	host := js.Global().Get("Function").New(`
const host = { posted: [], tried: [] };
host.post = (msg, transfer) => { host.tried.push(msg.message); host.posted.push({ msg: structuredClone(msg), transfer }); };
host.listen = (fn) => { host.fn = fn; };
return host;`).Invoke()
	serve(s, host)
	send := func(src string) {
		t.Helper()
		host.Get("fn").Invoke(js.Global().Get("Function").New("return " + src).Invoke())
	}
	send(`{ message: 'init-worker', id: 'worker-1', features: ['batch'] }`)
	waitPosted(t, host, 1)
	send(`{ message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'ok', params: 1 }, { taskId: 'task-2', name: 'fn', params: null }, { taskId: 'task-3', name: 'ok', params: 3 } ] }`)
	waitPosted(t, host, 4)
	assert.Contains(t, host.Get("tried").Call("join", ",").String(), "worker-response-batch", "the answers first left together")
	got := map[string]string{}
	for i := 1; i < 4; i++ {
		msg := host.Get("posted").Index(i).Get("msg")
		require.Equal(t, "worker-response", msg.Get("message").String())
		assert.Equal(t, "worker-1", msg.Get("workerId").String())
		if e := msg.Get("error"); e.Truthy() {
			got[msg.Get("taskId").String()] = e.String()
		} else {
			got[msg.Get("taskId").String()] = strconv.FormatFloat(msg.Get("content").Float(), 'f', -1, 64)
		}
	}
	assert.Equal(t, "1", got["task-1"])
	assert.Equal(t, "3", got["task-3"])
	assert.Contains(t, got["task-2"], "the result could not be posted to the host")
}

func TestParamsGoCannotReadFailTheirTaskSayingWhyAndTheOthersRun(t *testing.T) {
	s := newServer()
	s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
	host, send := servedHost(t, s)

	send(`{ message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'echo', params: new Map([['a', new Set([1, 2])]]) },
	  { taskId: 'task-2', name: 'echo', params: { file: new Blob(['x']) } },
	  { taskId: 'task-3', name: 'echo', params: [10n] } ] }`)
	send(`{ message: 'worker-work', taskId: 'task-4', content: { name: 'echo', params: new Blob([]) } }`)
	waitPosted(t, host, 5)
	results, failures := map[string]any{}, map[string]string{}
	for i := 1; i < 5; i++ {
		msg := host.Get("posted").Index(i).Get("msg")
		require.Equal(t, "worker-response", msg.Get("message").String())
		id := msg.Get("taskId").String()
		assert.Equal(t, "worker-1", msg.Get("workerId").String(), id)
		if e := msg.Get("error"); e.Truthy() {
			failures[id] = e.String()
		} else {
			results[id] = fromJS(msg.Get("content"))
		}
	}
	assert.Equal(t, map[string]any{"task-1": map[string]any{"a": []any{1.0, 2.0}}}, results, "a Map and a Set are read")
	assert.Equal(t, map[string]string{
		"task-2": `the params of task "echo" cannot be read: a Blob cannot be read as a Go value: send its bytes (await blob.arrayBuffer()), or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS`,
		"task-3": `the params of task "echo" cannot be read: a BigInt (10n) cannot be read as a Go value: convert it with Number() or String() first`,
		"task-4": `the params of task "echo" cannot be read: a Blob cannot be read as a Go value: send its bytes (await blob.arrayBuffer()), or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS`,
	}, failures, "the others fail, saying why, and not one runs with nil")
}

// servedHost serves s over a JS port standing for the host, which has sent
// init-worker and had worker-ready; send posts it the JS value src.
func servedHost(t *testing.T, s *server) (host js.Value, send func(src string)) {
	t.Helper()
	host = jsHost()
	serve(s, host)
	send = func(src string) {
		t.Helper()
		host.Get("fn").Invoke(js.Global().Get("Function").New("return " + src).Invoke())
	}
	send(`{ message: 'init-worker', id: 'worker-1' }`)
	waitPosted(t, host, 1)
	return host, send
}

func TestAHandleJSHandlerGetsItsParamsAsTheyCameAndMovesThemBack(t *testing.T) {
	s := newServer()
	s.handleJS("passOn", func(_ context.Context, p js.Value) (any, error) {
		return map[string]any{"data": Transfer(p.Get("data")), "blob": p.Get("blob").Get("size").Int()}, nil
	})
	s.handle("double", func(_ context.Context, p any) (any, error) { return 2 * p.(float64), nil })
	host, send := servedHost(t, s)
	before := heldSlots()

	js.Global().Set("sent", js.Global().Get("Uint8Array").New(1<<20))
	defer js.Global().Delete("sent")
	send(`{ message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'passOn', params: { data: globalThis.sent, blob: new Blob(['four']) } },
	  { taskId: 'task-2', name: 'double', params: 2 } ] }`)
	answers := answersByID(t, host, 3)
	passed := answers["task-1"]
	content := passed.Get("msg").Get("content")
	assert.True(t, content.Get("data").Equal(js.Global().Get("sent")), "the very Uint8Array sent, not a copy")
	assert.Equal(t, 4, content.Get("blob").Int(), "a Blob, which Go cannot read, reached the handler")
	assert.True(t, passed.Get("transfer").Index(0).Equal(js.Global().Get("sent").Get("buffer")), "and its buffer is moved back")
	assert.Equal(t, 4.0, answers["task-2"].Get("msg").Get("content").Float(), "a task of Handle beside it reads its params in Go")
	assert.Equal(t, before, heldSlots(), "the params' slot is let go once taken")

	// A hand-written host's numeric ids, or a null workerId, are ids too.
	send(`{ message: 'worker-work', taskId: 7, workerId: null, content: { name: 'passOn', params: { data: globalThis.sent, blob: new Blob(['five!']) } } }`)
	answers = answersByID(t, host, 4)
	assert.Equal(t, 5, answers["7"].Get("msg").Get("content").Get("blob").Int())
	assert.True(t, answers["7"].Get("msg").Get("content").Get("data").Equal(js.Global().Get("sent")))
}

func TestAHandleJSHandlerOfAMessageThePortCannotWriteGetsItsParamsReadIntoGoAndMadeJSAgain(t *testing.T) {
	s := newServer()
	s.handleJS("size", func(_ context.Context, p js.Value) (any, error) {
		return map[string]any{"same": p.Get("data").Equal(js.Global().Get("sent")), "length": p.Get("data").Length()}, nil
	})
	host, send := servedHost(t, s)
	js.Global().Set("sent", js.Global().Get("Uint8Array").New(3))
	defer js.Global().Delete("sent")
	// Content that is no plain object: the general path reads the message
	// leniently, with null for what Go cannot read.
	send(`{ message: 'worker-work', taskId: 'task-1', workerId: 'w', content: Object.assign(Object.create({}), { name: 'size', params: { data: globalThis.sent } }) }`)
	c := answersByID(t, host, 2)["task-1"].Get("msg").Get("content")
	assert.False(t, c.Get("same").Bool(), "a copy")
	assert.Equal(t, 3, c.Get("length").Int())
}

func TestHandleJSLetsGoOfEveryParamsItKeeps(t *testing.T) {
	s := newServer()
	release := make(chan struct{})
	s.handleJS("wait", func(context.Context, js.Value) (any, error) { <-release; return nil, nil })
	s.handleJS("kind", func(_ context.Context, p js.Value) (any, error) { return p.Type().String(), nil })
	host, send := servedHost(t, s)
	before := heldSlots()

	// Without params, and sent twice: the second of the same id does not run.
	send(`{ message: 'worker-work', taskId: 'task-1', workerId: 'worker-1', content: { name: 'kind' } }`)
	send(`{ message: 'worker-work', taskId: 'task-2', workerId: 'worker-1', content: { name: 'wait', params: {} } }`)
	send(`{ message: 'worker-work', taskId: 'task-2', workerId: 'worker-1', content: { name: 'wait', params: {} } }`)
	assert.Equal(t, "undefined", answersByID(t, host, 2)["task-1"].Get("msg").Get("content").String())
	close(release)
	waitPosted(t, host, 3)
	require.Eventually(t, func() bool { return heldSlots() == before }, 5*time.Second, time.Millisecond, "no slot is left held")
}

func TestAHandleJSHandlersBytesAreNotReusedForAnotherTasksAnswer(t *testing.T) {
	// One Uint8Array in two tasks of a batch (structured clone keeps the
	// sharing): the copy Go makes of it for the second must not let its
	// buffer be reused for an answer while the first's handler holds it.
	s := newServer()
	taken := make(chan struct{})
	goOn := make(chan struct{})
	s.handleJS("keep", func(_ context.Context, p js.Value) (any, error) {
		close(taken)
		<-goOn
		return p.Index(0).Int(), nil
	})
	s.handle("copy", typed("copy", func(_ context.Context, b []byte) ([]byte, error) {
		return bytes.Repeat([]byte{0xEE}, len(b)), nil
	}))
	host, send := servedHost(t, s)
	send(`(() => { const u = new Uint8Array(8192).fill(7); return { message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'keep', params: u }, { taskId: 'task-2', name: 'copy', params: u } ] }; })()`)
	<-taken
	waitPosted(t, host, 2) // copy answered
	close(goOn)
	assert.Equal(t, 7, answersByID(t, host, 3)["task-1"].Get("msg").Get("content").Int())
}

func TestHandleJSNamesAreEachServersOwn(t *testing.T) {
	newServer().handleJS("shared", func(context.Context, js.Value) (any, error) { return nil, nil })
	s := newServer()
	s.handle("shared", func(_ context.Context, p any) (any, error) { return p, nil })
	host, send := servedHost(t, s)
	send(`{ message: 'worker-work', taskId: 'task-1', workerId: 'worker-1', content: { name: 'shared', params: 1 } }`)
	assert.Equal(t, 1, answersByID(t, host, 2)["task-1"].Get("msg").Get("content").Int())
}

func TestHandleJSRejectsAnEmptyNameAndANilHandler(t *testing.T) {
	assert.PanicsWithValue(t, "worker: HandleJS with an empty task name", func() {
		newServer().handleJS(" ", func(context.Context, js.Value) (any, error) { return nil, nil })
	})
	assert.PanicsWithValue(t, `worker: HandleJS("x") with a nil handler`, func() { newServer().handleJS("x", nil) })
}

// answersByID waits for n posted messages and gives those after the first
// (worker-ready) by task id.
func answersByID(t *testing.T, host js.Value, n int) map[string]js.Value {
	t.Helper()
	waitPosted(t, host, n)
	m := map[string]js.Value{}
	for i := 1; i < n; i++ {
		p := host.Get("posted").Index(i)
		m[p.Get("msg").Get("taskId").String()] = p
	}
	return m
}

// heldSlots counts the slots of the codec's table of held values in use.
func heldSlots() int {
	h := values.Codec.Get("held")
	return h.Get("values").Length() - h.Get("free").Length()
}

// recordingPort records the answers a server posts, as "id/worker error".
type recordingPort struct {
	mu  sync.Mutex
	out []string
}

func (p *recordingPort) post(msg any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m := msg.(type) {
	case answer:
		p.out = append(p.out, answerText(m.taskID, m.workerID, m.errText))
	case answers:
		for _, a := range m.items {
			p.out = append(p.out, answerText(a.taskID, m.workerID, a.errText))
		}
	}
}

func (p *recordingPort) answers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(slices.Values(p.out))
}

func answerText(taskID, workerID, errText string) string {
	if errText != "" {
		errText = " " + strings.SplitN(errText, " (", 2)[0]
	}
	return taskID + "/" + workerID + errText
}

// encodeSource writes the value of a JS expression to the wire as the
// general path takes it, or gives -1 where the writer throws (FromJS's
// turn then).
var encodeSource = js.Global().Get("Function").New("codec", "src", `
const d = (new Function('return ' + src))();
try { return codec.encode(d); } catch (e) { return -1; }`)

func TestTheCompactFormRunsWhatTheGeneralPathWould(t *testing.T) {
	// Each work message goes once through the port, which writes it in the
	// compact form where it can, and once through the general path alone:
	// the tasks that run, the ids their answers carry and whether the host
	// held the task alone must be the same.
	work := func(fields string) string { return `{ message: 'worker-work', ` + fields + ` }` }
	batch := func(workerID, items string) string {
		return `{ message: 'worker-work-batch', workerId: ` + workerID + `, content: [` + items + `] }`
	}
	var cases []string
	for _, id := range []string{`'a'`, `''`, `7`, `0`, `-0`, `-5`, `1.5`, `0.1 + 0.2`, `1e-7`, `1e21`, `NaN`, `Infinity`,
		`null`, `undefined`, `true`, `{}`, `[1]`, `new Date(0)`, `10n`} {
		cases = append(cases,
			work(`taskId: `+id+`, workerId: 'w', content: { name: 'echo', params: 1 }`),
			work(`taskId: 't', workerId: `+id+`, content: { name: 'echo', params: 1 }`),
			batch(id, `{ taskId: 't1', name: 'echo', params: 1 }`),
			batch(`'w'`, `{ taskId: `+id+`, name: 'echo', params: 1 }, { taskId: 't2', name: 'echo', params: 2 }`))
	}
	for _, awake := range []string{`1`, `0`, `-1`, `'1'`, `true`, `[1]`, `null`, `NaN`, `Infinity`, `1n`, `{ valueOf: () => 1 }`, `new Number(1)`} {
		cases = append(cases, work(`taskId: 't', workerId: 'w', awake: `+awake+`, content: { name: 'echo', params: 1 }`))
	}
	cases = append(cases,
		work(`taskId: 't', content: { name: 'nope', params: 1 }`),
		work(`taskId: 't', content: { name: 5, params: 1 }`),
		work(`taskId: 't', content: null`),
		batch(`'w'`, `{ taskId: 't1', name: 'echo' }, 5, null, { taskId: 't2', name: 7 }, { name: 'echo' }`),
		batch(`'w'`, `{ taskId: 't1', name: 'echo' }, { taskId: 't1', name: 'echo' }`),
		batch(`'w'`, ``),
		// Containers the codec writes by their entries, or objects with names
		// of their own: the general path reads them.
		work(`taskId: 't', workerId: 'w', content: new Map([['name', 'echo'], ['params', 1]])`),
		batch(`'w'`, `new Map([['taskId', 't1'], ['name', 'echo']]), { taskId: 't2', name: 'echo' }`),
		work(`taskId: 't', workerId: 'w', content: new File(['x'], 'echo')`),
		// Params nested as deep as the codec goes (past it, the compact form
		// fails the task, as it does params with a BigInt, where the general
		// path's FromJS would write null: see the next test).
		work(`taskId: 't', workerId: 'w', content: { name: 'echo', params: `+nested(63)+` }`),
		batch(`'w'`, `{ taskId: 't1', name: 'echo', params: 1 }, { taskId: 't2', name: 'echo', params: `+nested(64)+` }`))
	echo := func(_ context.Context, p any) (any, error) { return p, nil }
	for _, src := range cases {
		s := newServer()
		s.handle("echo", echo)
		viaPort := &recordingPort{}
		host, send := servedHost(t, s)
		send(src)

		g := newServer()
		g.handle("echo", echo)
		viaGeneral := &recordingPort{}
		g.port = viaGeneral
		g.receive(map[string]any{"message": "init-worker", "id": "worker-1"})
		if n := encodeSource.Invoke(values.Codec, src).Int(); n >= 0 {
			msg, err := values.DecodeReceived(values.ReceivedNow(n))
			require.NoError(t, err)
			g.receive(msg)
		} else {
			g.receive(fromJS(js.Global().Get("Function").New("return " + src).Invoke()))
		}

		same := func() bool {
			viaPort.out = viaPort.out[:0]
			for i := 1; i < host.Get("posted").Length(); i++ {
				m := host.Get("posted").Index(i).Get("msg")
				e := ""
				if m.Get("error").Truthy() {
					e = m.Get("error").String()
				}
				viaPort.out = append(viaPort.out, answerText(m.Get("taskId").String(), m.Get("workerId").String(), e))
			}
			s.mu.Lock()
			g.mu.Lock()
			defer s.mu.Unlock()
			defer g.mu.Unlock()
			return len(s.running) == 0 && len(g.running) == 0 && s.lone == g.lone &&
				slices.Equal(viaPort.answers(), viaGeneral.answers())
		}
		if !assert.Eventually(t, same, 5*time.Second, time.Millisecond) {
			t.Fatalf("%s\n  port:    %v lone=%v\n  general: %v lone=%v", src, viaPort.answers(), s.lone, viaGeneral.answers(), g.lone)
		}
	}
}

// nested is the source of an array n levels deep.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestParamsNestedPastTheCodecsDepthFailTheirTaskAloneAndLetGoOfEverySlot(t *testing.T) {
	s := newServer()
	s.handleJS("raw", func(context.Context, js.Value) (any, error) { return "ok", nil })
	s.handle("depth", func(_ context.Context, p any) (any, error) {
		n := 0 // arrays, one inside the other
		for a, ok := p.([]any); ok; a, ok = a[0].([]any) {
			n++
			if len(a) == 0 {
				break
			}
		}
		return n, nil
	})
	host, send := servedHost(t, s)
	before := heldSlots()
	send(`{ message: 'worker-work-batch', workerId: 'w', content: [ { taskId: 't1', name: 'raw', params: { big: 1 } },
	  { taskId: 't2', name: 'depth', params: ` + nested(70) + ` } ] }`)
	a := answersByID(t, host, 3)
	assert.Equal(t, "ok", a["t1"].Get("msg").Get("content").String())
	assert.Equal(t, `the params of task "depth" cannot be read: it nests deeper than 64 levels`, a["t2"].Get("msg").Get("error").String(),
		"not run with the params cut where the codec stops")
	send(`{ message: 'worker-work', taskId: 't3', workerId: 'w', content: { name: 'depth', params: ` + nested(64) + ` } }`)
	a = answersByID(t, host, 4)
	assert.Equal(t, 64, a["t3"].Get("msg").Get("content").Int(), "as deep as Go sends, whole")
	assert.Equal(t, before, heldSlots())
}

func TestABatchOfAHugeSparseArrayIsIgnoredAndTheNextTaskRuns(t *testing.T) {
	// A host's worker-work-batch whose content is new Array(2 ** 32 - 1),
	// which structured clone carries cheaply: not walked slot by slot.
	s := newServer()
	s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
	host, send := servedHost(t, s)
	send(`{ message: 'worker-work-batch', workerId: 'w', content: new Array(2 ** 32 - 1) }`)
	send(`{ message: 'worker-work', taskId: 't', workerId: 'w', content: { name: 'echo', params: 'after' } }`)
	a := answersByID(t, host, 2)
	assert.Equal(t, "after", a["t"].Get("msg").Get("content").String())
}

func TestUnreadableParamsForATaskAlreadyRunningAreIgnoredAsTheRepeatIs(t *testing.T) {
	release := make(chan struct{})
	s := newServer()
	s.handle("slow", func(context.Context, any) (any, error) { <-release; return "done", nil })
	host, send := servedHost(t, s)
	send(`{ message: 'worker-work', taskId: 't', workerId: 'w', content: { name: 'slow', params: 1 } }`)
	send(`{ message: 'worker-work', taskId: 't', workerId: 'w', content: { name: 'slow', params: 1n } }`)
	send(`{ message: 'worker-work', taskId: 't', workerId: 'w', content: { name: 'nope', params: 1 } }`) // not answered "Unknown task" for t either
	send(`{ message: 'worker-work', taskId: 'u', workerId: 'w', content: { name: 'nope', params: 1n } }`)
	a := answersByID(t, host, 2)
	assert.Contains(t, a["u"].Get("msg").Get("error").String(), "Unknown task: nope", "a name it does not handle says so first")
	close(release)
	a = answersByID(t, host, 3)
	assert.Equal(t, "done", a["t"].Get("msg").Get("content").String(), "the running task's own answer, the only one")
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.running)
}

func TestParamsThatLookLikeTheMarkOfUnreadableParamsRunAsParams(t *testing.T) {
	s := newServer()
	s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
	host, send := servedHost(t, s)
	send(`{ message: 'worker-work', taskId: 't1', workerId: 'w', content: { name: 'echo', params: ['\x00atmo-unreadable', 'boom'] } }`)
	// The general path: a worker id Go cannot read.
	send(`{ message: 'worker-work', taskId: 't2', workerId: 10n, content: { name: 'echo', params: ['\x00atmo-unreadable', 'boom'] } }`)
	for id, a := range answersByID(t, host, 3) {
		m := a.Get("msg")
		assert.False(t, m.Get("error").Truthy(), "%s: %v", id, m.Get("error"))
		assert.Equal(t, "boom", m.Get("content").Index(1).String(), id)
	}
}

func TestAMessageThatThrowsAsItIsWrittenLeavesTheNextWhole(t *testing.T) {
	s := newServer()
	s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
	host, send := servedHost(t, s)
	send(`{ message: 'worker-work-batch', workerId: 'w', content: [
	  { taskId: 't1', name: 'echo', params: 1 },
	  { taskId: 't2', name: 'echo', get params() { throw new Error('getter'); } } ] }`)
	send(`{ message: 'worker-work', taskId: 't3', workerId: 'w', content: { name: 'echo', params: 3 } }`)
	a := answersByID(t, host, 4)
	assert.Equal(t, 3, a["t3"].Get("msg").Get("content").Int())
	assert.Contains(t, a, "t2", "the general path ran it")
}

// A host that clones what it is posted, as postMessage does.
func cloningHost() js.Value {
	return js.Global().Get("Function").New(`
const host = { posted: [] };
host.post = (msg, transfer) => { host.posted.push({ msg: structuredClone(msg, { transfer }), transfer }); };
host.listen = (fn) => { host.fn = fn; };
return host;`).Invoke()
}

func TestProgressWithAValueThatCannotBePostedIsAnError(t *testing.T) {
	s := newServer()
	errs := make(chan error, 2)
	s.handle("p", func(ctx context.Context, _ any) (any, error) {
		errs <- Progress(ctx, js.Global().Get("Function").New("")) // a function: structured clone refuses it
		u := js.Global().Get("Uint8Array").New(4)
		_ = Progress(ctx, Transfer(u))
		errs <- Progress(ctx, Transfer(u)) // moved already
		return 1, nil
	})
	host := cloningHost()
	serve(s, host)
	host.Get("fn").Invoke(js.Global().Get("Function").New(`return { message: 'init-worker', id: 'w' }`).Invoke())
	host.Get("fn").Invoke(js.Global().Get("Function").New(`return { message: 'worker-work', taskId: 't1', workerId: 'w', content: { name: 'p', params: 1 } }`).Invoke())
	waitPosted(t, host, 3)
	assert.Error(t, <-errs, "a report of a function")
	assert.Error(t, <-errs, "a report of a buffer moved already")
}

// errorOfResult runs one task whose handler answers result, through a host
// that clones what it is posted, and returns the task's error ("" for none).
func errorOfResult(t *testing.T, result any) string {
	t.Helper()
	s := newServer()
	s.handle("t", func(context.Context, any) (any, error) { return result, nil })
	host := cloningHost()
	serve(s, host)
	host.Get("fn").Invoke(js.Global().Get("Function").New(`return { message: 'init-worker', id: 'w' }`).Invoke())
	host.Get("fn").Invoke(js.Global().Get("Function").New(`return { message: 'worker-work', taskId: 't1', workerId: 'w', content: { name: 't', params: 1 } }`).Invoke())
	waitPosted(t, host, 2)
	e := host.Get("posted").Index(1).Get("msg").Get("error")
	if e.Type() != js.TypeString {
		return ""
	}
	return e.String()
}

func TestAResultOfTransferOfSomethingNoBufferFailsItsTaskNamingWorkerTransfer(t *testing.T) {
	got := errorOfResult(t, map[string]any{"data": Transfer(js.Undefined())})
	assert.Contains(t, got, "data is worker.Transfer(undefined): Transfer takes a typed array, an ArrayBuffer or another transferable (an OffscreenCanvas, an ImageBitmap, a MessagePort)")
}

func TestAResultOfTransferOfAnImageDataFailsItsTaskSayingToMoveItsData(t *testing.T) {
	got := errorOfResult(t, map[string]any{"data": Transfer(js.Global().Get("ImageData").New(1, 1))})
	assert.Contains(t, got, "data is worker.Transfer(ImageData): Transfer takes a typed array")
	assert.Contains(t, got, "move the one it holds (an ImageData's data), or send the value with worker.TransferWith(v, list...)")
}

func TestParamsGoCannotReadFailTheirTaskEvenBesideAnIdGoCannotRead(t *testing.T) {
	s := newServer()
	ran := make(chan any, 1)
	s.handle("echo", func(_ context.Context, p any) (any, error) { ran <- p; return p, nil })
	host, send := servedHost(t, s)
	// A worker id that is a BigInt (a hand-written host).
	send(`{ message: 'worker-work', taskId: 't1', workerId: 10n, content: { name: 'echo', params: new Blob(['x']) } }`)
	waitPosted(t, host, 2)
	m := host.Get("posted").Index(1).Get("msg")
	select {
	case p := <-ran:
		t.Errorf("the handler ran with %#v where a Blob was", p)
	default:
	}
	require.Equal(t, js.TypeString, m.Get("error").Type(), "the task fails")
	assert.Contains(t, m.Get("error").String(), "cannot be read: a Blob")
}

func TestHandleTypedRefusesAJSValueFieldItCannotFillSayingToUseHandleJS(t *testing.T) {
	// HandleTyped decodes params from their Go value: a js.Value field of
	// P, given an object, was left undefined without a word (a js.Value is
	// a struct with no exported fields), and the handler's first Get on it
	// panicked.
	var p struct {
		Canvas js.Value `json:"canvas"`
		Scale  float64  `json:"scale"`
	}
	err := decode(map[string]any{"canvas": map[string]any{"width": 3.0}, "scale": 2.0}, reflect.ValueOf(&p).Elem(), "params")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "params.canvas: a js.Value cannot be decoded from params; take them as they came with worker.HandleJS")
}

// batchedCloningHost serves s over a host that clones what it is posted, as
// postMessage does, and takes batches; send posts it the JS value src.
func batchedCloningHost(t *testing.T, s *server) (host js.Value, send func(src string)) {
	t.Helper()
	host = cloningHost()
	serve(s, host)
	send = func(src string) { host.Get("fn").Invoke(js.Global().Get("Function").New("return " + src).Invoke()) }
	send(`{ message: 'init-worker', id: 'worker-1', features: ['batch'] }`)
	waitPosted(t, host, 1)
	return host, send
}

// contentsByID waits for the answers of n tasks, alone or in batches, and
// returns each task's content.
func contentsByID(t *testing.T, host js.Value, n int) map[string]js.Value {
	t.Helper()
	got := map[string]js.Value{}
	for i := 1; len(got) < n; i++ {
		waitPosted(t, host, i+1)
		msg := host.Get("posted").Index(i).Get("msg")
		if msg.Get("message").String() != "worker-response-batch" {
			got[msg.Get("taskId").String()] = msg.Get("content")
			continue
		}
		for j := 0; j < msg.Get("content").Length(); j++ {
			it := msg.Get("content").Index(j)
			got[it.Get("taskId").String()] = it.Get("content")
		}
	}
	return got
}

func TestAnAnswerInABatchHoldsTheBytesItsHandlerReturnedNotWhatTheNextTaskWrote(t *testing.T) {
	// A handler that renders into a buffer it keeps answers that buffer:
	// each task must get its own render, as a JS worker's postMessage
	// clones it on return, also when the answers leave together.
	s := newServer()
	frame := make([]byte, 4)
	s.handle("render", func(_ context.Context, p any) (any, error) {
		for i := range frame {
			frame[i] = byte(p.(float64))
		}
		return map[string]any{"frame": frame}, nil
	})
	host, send := batchedCloningHost(t, s)
	send(`{ message: 'worker-work-batch', workerId: 'worker-1', content: [
	  { taskId: 'task-1', name: 'render', params: 1 }, { taskId: 'task-2', name: 'render', params: 2 }, { taskId: 'task-3', name: 'render', params: 3 } ] }`)
	got := map[string][]byte{}
	for id, c := range contentsByID(t, host, 3) {
		b := make([]byte, c.Get("frame").Length())
		js.CopyBytesToGo(b, c.Get("frame"))
		got[id] = b
	}
	assert.Equal(t, map[string][]byte{"task-1": {1, 1, 1, 1}, "task-2": {2, 2, 2, 2}, "task-3": {3, 3, 3, 3}}, got)
}
