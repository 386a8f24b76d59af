//go:build js && wasm

package worker

import (
	"fmt"
	"syscall/js"
)

// The syscall/js boundary: connecting the server to the host and converting
// values. Everything else in the package is plain Go.

var (
	jsObject      = js.Global().Get("Object")
	jsArray       = js.Global().Get("Array")
	jsUint8Array  = js.Global().Get("Uint8Array")
	jsArrayBuffer = js.Global().Get("ArrayBuffer")
	jsDate        = js.Global().Get("Date")
	jsError       = js.Global().Get("Error")
)

func init() {
	isOpaque = func(v any) bool { _, ok := v.(js.Value); return ok }
}

// selfPort is how a module talks to the host when it was loaded without
// go-worker.js: straight through the Web Worker's global scope.
var selfPort = js.Global().Get("Function").New(`
if (typeof self === 'undefined' || typeof self.postMessage !== 'function') return null;
return {
  post: (msg, transfer) => self.postMessage(msg, transfer),
  listen: (fn) => self.addEventListener('message', (e) => fn(e.data)),
};`)

// Run serves the protocol for the life of the worker: it answers
// init-worker with the registered task names, runs each worker-work with its
// handler and honours worker-cancel. It never returns. Register handlers
// before calling it.
//
// The module must run in a Web Worker or a Node.js worker_threads Worker
// started by the host (atmo.WorkerConfig{Module: url}); Run panics anywhere
// else, and the host reports that panic as the worker's start failure.
func Run() {
	host := js.Global().Get("atmoGoPort") // set by jsworker/go-worker.js
	if host.Type() != js.TypeObject {
		host = selfPort.Invoke()
	}
	if host.Type() != js.TypeObject {
		panic("worker.Run: no host to serve: run this module in a Web Worker or worker_threads Worker, " +
			"started by atmo (WorkerConfig.Module) or by jsworker/go-worker.js")
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
	s.port = jsPort{fn: host.Get("post").Call("bind", host)}
	s.mu.Unlock()
	// The listener lives as long as the worker, so it is never released.
	onMessage := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 {
			s.receive(fromJS(args[0]))
		}
		return nil
	})
	host.Call("listen", onMessage)
}

// jsPort posts messages to the host, transferring the buffers of []byte
// values instead of copying them.
type jsPort struct{ fn js.Value }

func (p jsPort) post(msg map[string]any) {
	var transfer []any
	v := toJS(msg, &transfer)
	if err := jsCall(func() { p.fn.Invoke(v, transfer) }); err != nil {
		// Not cloneable (an opaque JS value such as a function): say so
		// instead of leaving the host waiting.
		if id, ok := msg["taskId"].(string); ok && msg["message"] == msgWorkerResponse {
			p.fn.Invoke(toJS(map[string]any{
				"message": msgWorkerResponse, "taskId": id, "workerId": msg["workerId"],
				"error": "the result could not be posted to the host: " + err.Error(),
			}, nil), []any{})
		}
	}
}

// toJS turns a normalized value into JS. The ArrayBuffers it creates for
// []byte are fresh, so they are listed in transfer.
func toJS(v any, transfer *[]any) js.Value {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case bool, float64, string:
		return js.ValueOf(x)
	case []byte:
		a := jsUint8Array.New(len(x))
		js.CopyBytesToJS(a, x)
		if transfer != nil && len(x) > 0 {
			*transfer = append(*transfer, a.Get("buffer"))
		}
		return a
	case []any:
		a := jsArray.New(len(x))
		for i, e := range x {
			a.SetIndex(i, toJS(e, transfer))
		}
		return a
	case map[string]any:
		o := jsObject.New()
		for k, e := range x {
			o.Set(k, toJS(e, transfer))
		}
		return o
	case js.Value:
		return x
	}
	return js.ValueOf(fmt.Sprint(v)) // normalize returns nothing else
}

// fromJS turns a JS value into Go: numbers float64, strings, booleans, null
// and undefined nil, arrays []any, typed arrays and ArrayBuffers []byte,
// Dates their ISO text, Errors {name, message}, other objects map[string]any.
// Nesting past maxDepth becomes nil.
func fromJS(v js.Value) any { return fromJSAt(v, 0) }

func fromJSAt(v js.Value, depth int) any {
	switch v.Type() {
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeNumber:
		return v.Float()
	case js.TypeString:
		return v.String()
	case js.TypeObject:
		if depth > maxDepth {
			return nil
		}
		return objectFromJS(v, depth)
	}
	return nil
}

func objectFromJS(v js.Value, depth int) any {
	switch {
	case jsArray.Call("isArray", v).Bool():
		out := make([]any, v.Length())
		for i := range out {
			out[i] = fromJSAt(v.Index(i), depth+1)
		}
		return out
	case v.InstanceOf(jsArrayBuffer):
		return bytesFromJS(jsUint8Array.New(v))
	case jsArrayBuffer.Call("isView", v).Bool():
		return bytesFromJS(jsUint8Array.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength")))
	case v.InstanceOf(jsDate):
		return v.Call("toISOString").String()
	case v.InstanceOf(jsError):
		return map[string]any{"name": v.Get("name").String(), "message": v.Get("message").String()}
	}
	keys := jsObject.Call("keys", v)
	n := keys.Length()
	out := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k := keys.Index(i).String()
		out[k] = fromJSAt(v.Get(k), depth+1)
	}
	return out
}

func bytesFromJS(u8 js.Value) []byte {
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return b
}

// jsCall runs f and turns a thrown JS exception into a Go error.
func jsCall(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if je, ok := p.(js.Error); ok {
				err = fmt.Errorf("%s", je.Value.Get("message").String())
				return
			}
			err = fmt.Errorf("%v", p)
		}
	}()
	f()
	return nil
}
