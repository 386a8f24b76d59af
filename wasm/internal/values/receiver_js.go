//go:build js && wasm

package values

import (
	"sync"
	"syscall/js"
)

// A Receiver is the Go side of a message listener made with codec.deliver.
//
// The bytes of a message reach Go one of two ways. The plain one is a
// js.Func, syscall/js's event path. The fast one (the hop) is a wasm export
// plus the Go instance's _resume, when this program can find its instance:
// JS calls atmoWireDeliver, which only queues the delivery, then resumes Go,
// whose scheduler runs the pump below and whatever the message woke (a Do
// waiting for its answer) before control returns to JS. It skips the
// references syscall/js makes for every event (the event, this, the
// arguments, the result). Measured in Chromium: a bare Go ping-pong with a
// worker took 144 µs per round trip through a js.Func and 117 µs through
// the hop, against 104 µs for the same ping-pong in JS; atmo's round trip
// with a JS worker, in the bench page, 104 µs and 89 µs (raw JS: 64).
//
// Either way, onWire runs during the JS call that delivered the message, so
// it can read the values set aside on the wire (DecodeReceived,
// ReceivedItem); like any JS callback it must not block.
type Receiver struct {
	id      int32
	fn      js.Func
	onWire  func(b []byte)
	onOther func(data js.Value)
	// JS is the value to hand to codec.deliver.
	JS js.Value
}

var receivers = struct {
	sync.Mutex
	byID map[int32]*Receiver
	next int32
}{byID: map[int32]*Receiver{}}

// NewReceiver makes a Receiver: onWire gets the bytes JS wrote, onOther a
// message JS could not write, as it came. Release it when its listener is
// removed.
func NewReceiver(onWire func(b []byte), onOther func(data js.Value)) *Receiver {
	r := &Receiver{onWire: onWire, onOther: onOther}
	r.fn = js.FuncOf(func(_ js.Value, args []js.Value) any {
		b, data, ok := delivered(args)
		if ok {
			r.receive(b)
		} else {
			r.onOther(data)
		}
		return nil
	})
	receivers.Lock()
	receivers.next++
	r.id = receivers.next
	receivers.byID[r.id] = r
	receivers.Unlock()
	r.JS = js.Global().Get("Object").New()
	r.JS.Set("fn", r.fn)
	r.JS.Set("id", r.id)
	return r
}

// Release frees the Receiver's js.Func; messages that still come are dropped.
func (r *Receiver) Release() {
	receivers.Lock()
	delete(receivers.byID, r.id)
	receivers.Unlock()
	r.fn.Release()
}

// hop is the fast path's state: deliveries queued by the export, and the
// pump's wake-up.
var hop struct {
	sync.Mutex
	queue []delivery // queue[head:] waits; its array is reused once all are handed on
	head  int
	wake  chan struct{}
}

type delivery struct {
	id, n int32
	grown bool
}

//go:wasmexport atmoWireDeliver
func wireDeliver(id, n, grown int32) {
	// Called from JS while every goroutine waits: it only queues and wakes
	// the pump, and never blocks. Handing the message to the receiver here
	// would save the pump's goroutine switch (~2 µs of BenchmarkPagePath's
	// ~12), but a goroutine that parks inside an export (an allocation's
	// GC assist can) lets the export return to JS half done, after which
	// the message's values set aside on the wire are gone.
	hop.Lock()
	hop.queue = append(hop.queue, delivery{id: id, n: n, grown: grown != 0})
	hop.Unlock()
	select {
	case hop.wake <- struct{}{}:
	default:
	}
}

// pump hands queued deliveries to their receivers. The JS call that queued
// one resumes Go at once, so the pump runs before that call returns.
func pump() {
	for range hop.wake {
		for {
			hop.Lock()
			if hop.head == len(hop.queue) {
				hop.queue, hop.head = hop.queue[:0], 0
				hop.Unlock()
				break
			}
			d := hop.queue[hop.head]
			hop.head++
			hop.Unlock()
			if d.grown {
				wireIn = wire.Get("in")
			}
			receivers.Lock()
			r := receivers.byID[d.id]
			receivers.Unlock()
			if r != nil {
				r.receive(Received(int(d.n), js.Undefined()))
			}
		}
	}
}

// findGo returns the Go instance (wasm_exec.js's Go) running this program,
// or null. syscall/js makes every js.Func with the instance's
// _makeFuncWrapper, so wrapping that method for one js.Func shows which
// instance calls it.
func findGo() js.Value {
	probe := js.Global().Get("Function").New(`
const G = globalThis.Go;
if (typeof G !== 'function' || typeof G.prototype._makeFuncWrapper !== 'function') return null;
const proto = G.prototype, orig = proto._makeFuncWrapper;
let found = null;
proto._makeFuncWrapper = function (id) { found = this; return orig.call(this, id); };
return { found: () => found, restore: () => { proto._makeFuncWrapper = orig; } };`).Invoke()
	if probe.IsNull() {
		return js.Null()
	}
	f := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	f.Release()
	probe.Call("restore")
	g := probe.Call("found")
	if g.IsNull() || g.Get("_resume").Type() != js.TypeFunction {
		return js.Null()
	}
	inst := g.Get("_inst")
	if inst.Type() != js.TypeObject || inst.Get("exports").Get("atmoWireDeliver").Type() != js.TypeFunction {
		return js.Null()
	}
	return g
}

// hopGo is the Go instance, when found: the fast path is available.
var hopGo = js.Null()

// GoInstance is the program's wasm_exec.js Go instance, or null where it
// could not be found (see findGo).
func GoInstance() js.Value { return hopGo }

func init() {
	g := findGo()
	if g.IsNull() {
		return
	}
	hopGo = g
	hop.wake = make(chan struct{}, 1)
	go pump()
	jsHop := Codec.Get("hop")
	jsHop.Set("deliver", g.Get("_inst").Get("exports").Get("atmoWireDeliver"))
	jsHop.Set("go", g)
}

// SetHop turns the fast path off (false) or back on, where it is available,
// so that tests can run the plain js.Func path too; it reports whether the
// fast path is on now.
func SetHop(on bool) bool {
	if !on || hopGo.IsNull() {
		Codec.Get("hop").Set("go", js.Null())
		return false
	}
	Codec.Get("hop").Set("go", hopGo)
	return true
}
