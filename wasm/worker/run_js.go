//go:build js && wasm

package worker

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The syscall/js boundary: connecting the server to the host and converting
// values. Everything else in the package is plain Go.

// selfPort is how a module talks to the host when it was loaded without
// go-worker.js: straight through the Web Worker's global scope.
var selfPort = js.Global().Get("Function").New("codec", `
if (typeof self === 'undefined' || typeof self.postMessage !== 'function') return null;
return {
  post: (msg, transfer) => codec.post(self, msg, transfer),
  listen: (fn) => self.addEventListener('message', (e) => fn(e.data)),
};`)

// Run serves the protocol for the life of the worker: it answers
// init-worker with the registered task names, runs each worker-work with its
// handler and honours worker-cancel. It never returns. Register handlers
// before calling it.
//
// The module must run in a Web Worker or a Node.js worker_threads Worker
// started by the host (atmo.WorkerConfig{Module: url}); Run panics anywhere
// else, or when no handler is registered, and the host reports that panic as
// the worker's start failure.
func Run() {
	host := js.Global().Get("atmoGoPort") // set by jsworker/go-worker.js
	if host.Type() != js.TypeObject {
		host = selfPort.Invoke(values.Codec)
	}
	if host.Type() != js.TypeObject {
		panic("worker.Run: no host to serve: run this module in a Web Worker or worker_threads Worker, " +
			"started by atmo (WorkerConfig.Module) or by jsworker/go-worker.js")
	}
	std.mu.Lock()
	none := len(std.handlers) == 0
	std.mu.Unlock()
	if none {
		// As atmo-worker.js refuses an empty handlers object: such a worker
		// would start and serve nothing.
		panic("worker.Run: no handler registered: call worker.Handle, HandleTyped or HandleJS for each task before worker.Run")
	}
	serve(std, host)
	select {} // handlers run in goroutines; this one only keeps the program alive
}

// serve connects s to a host port {post(msg, transfer), listen(fn)}.
func serve(s *server, host js.Value) {
	s.mu.Lock()
	if s.port != nil {
		s.mu.Unlock()
		panic("worker.Run called twice")
	}
	raw := js.Global().Get("Set").New()
	for _, n := range s.jsNames {
		raw.Call("add", n)
	}
	s.port = jsPort{fn: host.Get("post").Call("bind", host), idleFn: host.Get("idle"), raw: raw}
	s.mu.Unlock()
	// The listener lives as long as the worker, so it is never released.
	onMessage := values.NewReceiver(func(b []byte) {
		ranLoop()
		msg, err := values.DecodeReceived(b)
		if err != nil { // not reached: JS wrote it; say so rather than leave its tasks waiting unseen
			fmt.Fprintf(os.Stderr, "atmo worker: a message from the host could not be read and is dropped: %v\n", err)
			return
		}
		s.receive(msg)
	}, func(data js.Value) { ranLoop(); s.receive(fromJS(data)) })
	host.Call("listen", portJS.Call("listen", onMessage.JS, raw))
}

// portJS is the JS side of the port: messages cross syscall/js as bytes
// (see wasm/internal/values/wire_js.go), in one copy each way.
var portJS = js.Global().Get("Function").New("codec", "workTag", "loneWorkTag", `
// write writes a message for Go: worker-work and worker-work-batch in the
// compact form the server reads (server.go's workTag), anything else as it
// is, and a work message of an unexpected shape as it is too, for the
// server's general path to judge.
const compact = [];
// unreadable writes null in place of params Go cannot read (a Blob, a
// BigInt) and why in the task's next item, which is written after them
// (see server.go's workTag): the task fails saying so instead of running
// with nil where the value was.
const unreadable = (i, e) => {
  // Not params: an id or a name Go cannot read (a BigInt) is written as
  // null, as the general path would read it; the task's params are still
  // judged (the general path would read a Blob as nil and run the task).
  if (i < 2 || (i - 2) % 4 !== 2) return null;
  compact[i + 1] = String((e && e.message) || e);
  return null;
};
// params are written for Go to read, or, for a task of HandleJS (named in
// raw), kept as they came: Go takes them by their slot. Ids and names go
// as they are: the server reads them as the general path does
// (protocol.IDText), and an item of a batch that is not an object is
// written as a task with no id, which the server skips.
const params = (raw, name, p) => (raw.size > 0 && raw.has(name) ? codec.keep(p) : p);
// plain: an object the codec writes by its own keys, which the compact
// form may read by name (a Map, a File: the general path judges them).
const plain = (o) => { const p = Object.getPrototypeOf(o); return p === Object.prototype || p === null; };
const toTag = Object.prototype.toString;
// most is the most tasks a worker-work-batch may hold: one per task the
// host may have in flight here (init-worker's concurrency), with room for a
// few it should not have sent. A longer one is written as a message of no
// task (encodeNoTask), which the server ignores.
let most = 1 + 1024;
const encodeNoTask = () => codec.encode({ message: 'worker-work-batch', content: [] });
const write = (d, raw) => {
  if (d === null || typeof d !== 'object') return codec.encode(d);
  if (d.message === 'init-worker') {
    const n = d.concurrency;
    most = (typeof n === 'number' && n >= 1 ? Math.min(Math.floor(n), 1 << 24) : 1) + 1024;
  }
  try {
    const c = d.content;
    if (d.message === 'worker-work' && c !== null && typeof c === 'object' && plain(c)) {
      const a = d.awake, lone = (typeof a === 'number' || (typeof a === 'object' && a !== null && toTag.call(a) === '[object Number]')) && Number(a) > 0;
      compact.push(lone ? loneWorkTag : workTag, d.workerId, d.taskId, c.name, params(raw, c.name, c.params), null);
    } else if (d.message === 'worker-work-batch' && Array.isArray(c)) {
      if (c.length > most) return encodeNoTask(); // a sparse array from a bad host: not walked
      compact.push(workTag, d.workerId);
      for (const it of c) {
        if (it === null || typeof it !== 'object') { compact.push(null, null, null, null); continue; }
        if (!plain(it)) return codec.encode(d); // no slot is held before encodeList writes
        compact.push(it.taskId, it.name, params(raw, it.name, it.params), null);
      }
    } else {
      return codec.encode(d);
    }
    return codec.encodeList(compact, unreadable); // each task's params with a bound of their own
  } catch (e) {
    for (const x of compact) codec.unkeep(x); // the message takes the general path: no slot is taken
    throw e;
  } finally {
    compact.length = 0; // hold no params
  }
};
return {
  // listen wraps Go's listener: a message reaches it as bytes, or as it
  // came if it cannot be written (see codec.deliver). raw is the Set of
  // the server's HandleJS task names.
  listen: (r, raw) => {
    const w = (d) => write(d, raw);
    return (d) => codec.deliver(r, w, d);
  },
  // post posts the message Go wrote.
  post: (fn, r, t) => {
    const list = t || [];
    fn(codec.read(r, list), list);
  },
};`).Invoke(values.Codec, workTag, loneWorkTag)

var portPost = portJS.Get("post")

// jsPort posts messages to the host, transferring the buffers of []byte
// values instead of copying them.
type jsPort struct {
	fn     js.Value
	idleFn js.Value // go-worker.js's idle, or undefined (see idle)
	raw    js.Value // a Set of the names of the tasks of HandleJS
}

// idle tells go-worker.js that the last task is answered, so that it keeps
// the thread awake for WorkerConfig.KeepAwake, if the host set one.
func (p jsPort) idle() {
	if p.idleFn.Type() == js.TypeFunction {
		p.idleFn.Invoke()
	}
}

// tryPost posts msg, or says why it could not (structured clone refused a
// value, a buffer in the transfer list was moved already).
func (p jsPort) tryPost(msg any) error {
	var err error
	values.Post(msg, func(refs, transfer any) {
		err = jsCall(func() { portPost.Invoke(p.fn, refs, transfer) })
	})
	if err == nil {
		values.CollectAfterPost()
	}
	return err
}

func (p jsPort) post(msg any) {
	err := p.tryPost(msg)
	if err == nil {
		return
	}
	// Not cloneable (an opaque JS value such as a function): say so instead
	// of leaving the host waiting.
	switch m := msg.(type) {
	case answer:
		// Tried once: a port that refuses even this text is gone.
		_ = p.tryPost(answer{taskID: m.taskID, workerID: m.workerID, errText: "the result could not be posted to the host: " + err.Error()})
	case answers:
		// One answer spoils the batch: post each alone, so that the others
		// arrive and the one that cannot says so.
		for _, a := range m.items {
			a.workerID = m.workerID
			p.post(a)
		}
	}
}

// The value boundary is package atmo's, shared through internal/values.
var (
	toJS   = values.ToJS
	fromJS = values.FromJS
	jsCall = values.JSCall
)

// Yield lets the worker's event loop run once, then returns ctx's error. A
// Go worker hears from the host (worker-cancel among the rest) only when
// every goroutine waits: a handler that computes without waiting never sees
// its ctx end. Call Yield at checkpoints of a long computation and stop when
// it returns an error; it takes one JS task (tens of µs; a few hundred on
// a busy VM), not a timer's millisecond. Never call it from a js.FuncOf
// callback: the event loop waits for the callback, so the wait never ends
// (Go reports a deadlock).
func Yield(ctx context.Context) error {
	yield()
	return ctx.Err()
}

// yield lets the event loop run once.
func yield() {
	c := make(chan struct{})
	yields.Lock()
	yields.waiting = append(yields.waiting, c)
	yieldPost().Invoke() // under the lock: the posts go in the order of waiting
	yields.Unlock()
	<-c
}

// progressYieldEvery is how long Progress lets the event loop wait before it
// lets it run (see Progress): a yield (tens of µs) every 10 ms costs a loop
// that reports progress under 1% (a few % on a busy VM), and a cancel gets
// in within about 10 ms.
const progressYieldEvery = 10 * time.Millisecond

// loopRuns counts the times the event loop ran Go code (a message from the
// host, a yield's wake); progress holds the count Progress last saw and
// when, in ns since loopBase (a monotonic reading). Counting, not reading
// the clock, keeps the clock off the path of every message: Progress reads
// it, once a call.
var (
	loopBase = time.Now()
	loopRuns atomic.Uint64
	progress struct{ runs, at atomic.Int64 }
)

// ranLoop notes that the event loop ran Go code just now.
func ranLoop() { loopRuns.Add(1) }

// progressYield yields (see yield) when the event loop has not run Go code
// since a Progress call more than progressYieldEvery ago, unless the
// caller is a js.FuncOf callback: there the event loop waits for the
// callback to return, so a wait for it would never end (Go reports a
// deadlock).
func progressYield() {
	now, runs := int64(time.Since(loopBase)), int64(loopRuns.Load())
	if runs != progress.runs.Load() {
		progress.runs.Store(runs)
		progress.at.Store(now)
		return
	}
	if time.Duration(now-progress.at.Load()) < progressYieldEvery {
		return
	}
	progress.at.Store(now) // in a callback, the stack is read again only after as long
	if turn.InJSCallback() {
		return
	}
	yield()
}

// yields are the Yield calls waiting for their JS task, in the order they
// posted it.
var yields struct {
	sync.Mutex
	waiting []chan struct{}
}

// yieldPost posts to a MessageChannel of the worker's own, made on the
// first Yield: the message is a JS task, run after those already queued (a
// worker-cancel that came meanwhile), and its messages come in order, so
// each wakes the Yield that waited longest. The listener lives as long as
// the worker; under Node.js it does not keep the thread alive by itself.
// Under Node.js a setImmediate does it instead: a MessagePort's listener
// takes the messages posted to it while it runs in the same turn, up to a
// thousand, so a loop of Yields there let the host's messages in only
// every thousandth (a cancel took a second, measured), where the event
// loop polls for them before each setImmediate.
var yieldPost = sync.OnceValue(func() js.Value {
	return js.Global().Get("Function").New("wake", `
if (typeof setImmediate === 'function') return () => setImmediate(wake);
const c = new MessageChannel();
c.port1.onmessage = () => wake();
if (c.port1.unref) c.port1.unref();
return () => c.port2.postMessage(null);`).Invoke(js.FuncOf(func(js.Value, []js.Value) any {
		yields.Lock()
		c := yields.waiting[0]
		yields.waiting = yields.waiting[1:]
		yields.Unlock()
		ranLoop()
		close(c)
		return nil
	}))
})
