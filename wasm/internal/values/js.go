//go:build js && wasm

package values

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall/js"
)

// The syscall/js boundary: Go values to JS and back.

var (
	jsObject      = js.Global().Get("Object")
	jsArray       = js.Global().Get("Array")
	jsArrayBuffer = js.Global().Get("ArrayBuffer")
	jsImageData   = js.Global().Get("ImageData")         // undefined in Node.js
	jsSharedAB    = js.Global().Get("SharedArrayBuffer") // undefined in a page not cross-origin isolated
)

func init() {
	isOpaque = func(v any) bool {
		switch v.(type) {
		case js.Value, js.Func, Moved, Carrying:
			return true
		}
		return false
	}
	badOpaque = func(v any) string {
		if _, ok := v.(js.Func); ok {
			// A struct to reflect, whose JS function no field shows:
			// it would cross as {} without a word.
			return " is a js.Func, a function, which cannot cross to another thread (send data: numbers, strings, bools, maps, slices, structs, []byte)"
		}
		if c, ok := v.(Carrying); ok {
			return badList(c)
		}
		m, ok := v.(Moved)
		if !ok {
			return ""
		}
		const takes = ": Transfer takes a typed array, an ArrayBuffer or another transferable (an OffscreenCanvas, an ImageBitmap, a MessagePort)"
		if m.Value.Type() != js.TypeObject {
			return " is " + m.By + "(" + m.Value.Type().String() + ")" + takes
		}
		// What is surely no transferable, but may hold some: said now,
		// not as the browser's DataCloneError when the task is posted.
		if kind, holder := holdsTransferables(m.Value); holder {
			return " is " + m.By + "(" + kind + ")" + takes + "; for a value that holds one, move the one it holds (an ImageData's data), or send the value with " + m.By + "With(v, list...)"
		}
		if detached(m.buffer()) {
			return " is " + m.By + " of a buffer moved already (detached): each buffer can be transferred once; send a fresh one"
		}
		return ""
	}
	isMoving = func(v any) bool {
		switch x := v.(type) {
		case Moved:
			// A SharedArrayBuffer crosses shared, a view of Node's Buffer
			// pool as a copy of its bytes: nothing moves.
			return !shared(x.buffer()) && !pooled(x.Value)
		case Carrying:
			return x.List.Length() > 0
		}
		return false
	}
}

// holdsTransferables says whether v, an object, is one that is never
// transferable itself but may hold transferables: an array, a plain
// object, an ImageData; and names its kind.
func holdsTransferables(v js.Value) (kind string, holder bool) {
	defer func() {
		if recover() != nil { // a Proxy that throws: left to postMessage
			kind, holder = "", false
		}
	}()
	switch {
	case jsArray.Call("isArray", v).Bool():
		return "Array", true
	case jsImageData.Type() == js.TypeFunction && v.InstanceOf(jsImageData):
		return "ImageData", true
	}
	proto := jsObject.Call("getPrototypeOf", v)
	if proto.IsNull() || proto.Equal(jsObject.Get("prototype")) {
		return "object", true
	}
	return "", false
}

// detached says whether b is an ArrayBuffer moved already, as codec.post
// tells it (Node.js 20's ArrayBuffer has no detached property).
func detached(b js.Value) bool { return codecDetached.Invoke(b).Bool() }

// shared says whether b is a SharedArrayBuffer, which crosses shared and
// cannot be listed in a transfer list.
func shared(b js.Value) bool {
	return jsSharedAB.Type() == js.TypeFunction && b.InstanceOf(jsSharedAB)
}

// jsBuffer is Node.js's Buffer (undefined in a browser).
var jsBuffer = js.Global().Get("Buffer")

// pooled says whether v is a view into an ArrayBuffer that cannot move:
// under Node.js, a small Buffer (Buffer.from('abc'), Buffer.allocUnsafe(10))
// is a view into an 8 KiB pool that all of them share, marked untransferable,
// which postMessage copies whole, without a word, when it is listed: the
// worker got the whole pool, with the bytes of every other small Buffer in
// it, for a view of 3 bytes. ToJS sends a copy of the view's bytes instead.
func pooled(v js.Value) bool {
	return jsBuffer.Type() == js.TypeFunction && isPooled.Invoke(v).Bool()
}

// isPooled tells pooled's views: by worker_threads.isMarkedAsUntransferable
// where Node.js has it (21 and later), else (Node.js 20) a view (a Buffer,
// or a typed array or DataView made over a Buffer's bytes, the usual way to
// turn one into a Uint8Array) that is part of an ArrayBuffer of
// Buffer.poolSize bytes, as the pool's views are.
var isPooled = js.Global().Get("Function").New(`
const get = globalThis.process && process.getBuiltinModule ? process.getBuiltinModule : globalThis.require;
let marked;
try { marked = get && get('worker_threads').isMarkedAsUntransferable; } catch (_) {}
return (v) => {
  if (!ArrayBuffer.isView(v)) return false;
  const b = v.buffer;
  if (!(b instanceof ArrayBuffer) || v.byteLength === b.byteLength) return false;
  if (typeof marked === 'function') return marked(b);
  return b.byteLength === Buffer.poolSize;
};`).Invoke()

// viewCopy is a copy of the view v's bytes, in an ArrayBuffer of their own:
// a Uint8Array for a Buffer (as postMessage clones one), a DataView for a
// DataView, else a typed array of v's kind.
var viewCopy = js.Global().Get("Function").New("v", `
const b = v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
if (v instanceof DataView) return new DataView(b);
if (typeof Buffer === 'function' && Buffer.isBuffer(v)) return new Uint8Array(b);
return new v.constructor(b);`)

// Moved is a JS typed array or ArrayBuffer that crosses by transfer: the
// receiver gets the bytes without a copy, and the sender's buffer is left
// empty (detached).
type Moved struct {
	Value js.Value
	By    string // the function that made it, named in errors: atmo.Transfer, worker.Transfer
}

// Carrying is a JS value posted with a transfer list of its own: the
// ArrayBuffers (or other transferables) in List move to the worker with it.
// By names the function that made it, in errors.
type Carrying struct {
	Value, List js.Value
	By          string
	pooled      bool // a small Node.js Buffer was listed (see CarryingWith)
}

// badList says what is wrong with c's list, or "": an item that is no
// object (no transferable), or a buffer moved already, said when the task
// is added, as for a Moved, not when postMessage refuses it.
func badList(c Carrying) string {
	if c.pooled {
		return " is " + c.By + " listing a small Node.js Buffer, a view into Node's shared pool, which cannot move: the receiver would get a copy of the whole pool, with every other small Buffer's bytes in it; send its own bytes with " + strings.TrimSuffix(c.By, "With") + "(b), or list a Buffer of its own (Buffer.alloc)"
	}
	for i, n := 0, c.List.Length(); i < n; i++ {
		x := c.List.Index(i)
		if t := jsType(x); t != js.TypeObject {
			return " is " + c.By + " listing " + t.String() + ": list only the transferables in the value (ArrayBuffers, typed arrays, an OffscreenCanvas, an ImageBitmap, a MessagePort)"
		}
		if detached(x) {
			return " is " + c.By + " of a buffer moved already (detached): each buffer can be transferred once; send a fresh one"
		}
	}
	return ""
}

// CarryingWith is v posted with list, the transferables in it, moved. A
// typed array or DataView in list moves its ArrayBuffer, as with Moved
// (postMessage takes no view in its transfer list). by names the function
// the caller called, for errors.
func CarryingWith(v js.Value, list []js.Value, by string) Carrying {
	l := jsArray.New(0)
	c := Carrying{Value: v, List: l, By: by}
	for _, x := range list {
		if pooled(x) {
			// Its pool cannot move, and v holds the view: said when the
			// task is added (badList).
			c.pooled = true
		}
		if jsArrayBuffer.Call("isView", x).Bool() {
			x = x.Get("buffer")
		}
		if shared(x) {
			continue // crosses shared, as it is: postMessage takes none in its transfer list
		}
		l.Call("push", x)
	}
	return c
}

// buffer is what m's transfer list holds: the ArrayBuffer behind a typed
// array or DataView, else the value itself (an ArrayBuffer, or another
// transferable: an OffscreenCanvas, an ImageBitmap, a MessagePort).
func (m Moved) buffer() js.Value {
	if jsArrayBuffer.Call("isView", m.Value).Bool() {
		return m.Value.Get("buffer")
	}
	return m.Value
}

// ToJS turns a normalized value (see normalize) into JS. The ArrayBuffers it
// fills for []byte are its own (fresh, or spares, see codec.recycle), so
// they are listed in transfer: posting them moves the bytes instead of
// copying them a second time.
func ToJS(v any, transfer *[]any) js.Value {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case bool, float64, string:
		return js.ValueOf(x)
	case []byte:
		a := codecBytes.Invoke(len(x)) // a spare buffer when one fits (see codec.recycle)
		js.CopyBytesToJS(a, x)
		if transfer != nil && len(x) > 0 {
			*transfer = append(*transfer, a.Get("buffer"))
		}
		return a
	case []any:
		a := jsArray.New(len(x))
		for i, e := range x {
			a.SetIndex(i, ToJS(e, transfer))
		}
		return a
	case []float64:
		a := jsArray.New(len(x))
		for i, f := range x {
			a.SetIndex(i, f)
		}
		return a
	case map[string]any:
		o := jsObject.New()
		var small [8]string
		for _, k := range SortedKeys(x, small[:0]) {
			e := x[k]
			if k == "__proto__" { // a key, not the object's prototype
				jsObject.Call("defineProperty", o, k, map[string]any{"value": ToJS(e, transfer), "enumerable": true, "writable": true, "configurable": true})
				continue
			}
			o.Set(k, ToJS(e, transfer))
		}
		return o
	case js.Value:
		return x
	case Moved:
		v := x.Value
		if pooled(v) {
			v = viewCopy.Invoke(v) // its own bytes, in a buffer of its own, which moves
		}
		if b := (Moved{Value: v}).buffer(); transfer != nil && !shared(b) {
			*transfer = append(*transfer, b)
		}
		return v
	case Carrying:
		if transfer != nil {
			for i, n := 0, x.List.Length(); i < n; i++ {
				*transfer = append(*transfer, x.List.Index(i))
			}
		}
		return x.Value
	}
	// normalize never returns anything else; be safe all the same.
	return js.ValueOf(fmt.Sprint(v))
}

// FromJS turns a JS value into Go by the value rules, those of the wire's
// writer (codec.value), which it is built on: numbers float64, strings,
// booleans, null and undefined nil, arrays []any, typed arrays and
// ArrayBuffers []byte, Dates their ISO text (nil if invalid), Errors {name,
// message}, plain objects and class instances map[string]any (own
// enumerable keys), Maps map[string]any (keys as String(key)), Sets []any,
// Boolean, Number and String objects their primitive, RegExps their text
// ("/a+/g"), ImageData {width, height, colorSpace, data}, other objects
// with a toJSON method (DOMRect, DOMPoint…) what it returns.
//
// FromJS cannot throw, so where the writer throws it gives nil, for that
// value alone: a BigInt, an object Go cannot read faithfully (a Blob, a
// File, an ImageBitmap, a CryptoKey: another kind of object with no own
// enumerable keys), an array longer than MaxItems, an object or Map of more
// keys, the arrays and objects
// past MaxNodes, and a value whose getter or toJSON throws. Nesting past
// MaxDepth and an object met again inside itself (a cycle) become nil, as
// on the wire.
func FromJS(v js.Value) any {
	switch jsType(v) { // no need for the writer
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeNumber:
		return v.Float()
	case js.TypeString:
		return v.String()
	case js.TypeObject:
	default:
		return nil
	}
	fromMu.Lock()
	defer fromMu.Unlock()
	var n int
	if JSCall(func() { n = codecFromJS.Invoke(v).Int() }) != nil {
		return nil // a Proxy whose traps throw, say
	}
	if n < 0 {
		n = -1 - n
		fromBuf = codecFrom.Get("buf")
	}
	fromBytes = sized(fromBytes, cap(fromBytes), n)
	b := fromBytes
	js.CopyBytesToGo(b, fromBuf)
	refs := false
	out, _, err := Decode(b, func(i int) any {
		refs = true
		return bytesFromJS(codecFrom.Get("refs").Index(i))
	})
	if refs {
		codecFrom.Get("refs").Set("length", 0) // hold on to nothing
	}
	if err != nil {
		return nil // not reached: the writer wrote it
	}
	return out
}

// jsType is v.Type(), but TypeUndefined for a BigInt, for which
// syscall/js panics ("bad type flag").
func jsType(v js.Value) (t js.Type) {
	defer func() {
		if recover() != nil {
			t = js.TypeUndefined
		}
	}()
	return v.Type()
}

var (
	// fromMu lets one FromJS at a time use codec.from: a goroutine can
	// switch between the JS call that writes and the copy that reads.
	fromMu      sync.Mutex
	codecFromJS = Codec.Get("fromJS")
	codecFrom   = Codec.Get("from")
	fromBuf     = codecFrom.Get("buf")
	fromBytes   []byte
)

func bytesFromJS(u8 js.Value) []byte {
	n := u8.Length()
	if n >= BigCopy {
		metrics.Read(heapStats)
		if CollectBeforeCopy(n, heapStats[0].Value.Uint64()) {
			// Since the collection after the last post, the heap has
			// taken in what is allocated, garbage included: much of it,
			// and the bytes freed then may be in use again.
			fresh := bigCopy.collected && heapStats[1].Value.Uint64() < bigCopy.heapAfter+uint64(n)/2
			if !fresh {
				runtime.GC()
			}
			bigCopy.collected, bigCopy.due = false, true
		}
	}
	b := bytesToFill(n)
	js.CopyBytesToGo(b, u8)
	return b
}

// bigCopy times the collections CollectBeforeCopy asks for. The bytes a
// large copy fills become garbage once their task is done, and the next
// large copy should land where they were, memory already written to. A
// collection right before that copy is on the way of the message that
// brought it; one right after this thread posts a message goes on while
// the other thread works (a worker's answer, a page's next task), and
// frees the same bytes. So a large copy makes one due (due), the first
// post after it runs it (CollectAfterPost), and the next large copy then
// skips its own (collected), unless the heap has grown by half the copy
// since (heapAfter). A thread that copies in without posting in between
// collects before each copy, as before. Like the wire's buffers, it serves
// one JS call at a time.
var bigCopy struct {
	due, collected bool
	heapAfter      uint64 // the heap's objects after that collection, in bytes
}

// CollectAfterPost runs the collection a large copy into Go made due, if
// any; call it once a message has been posted. Measured under
// wasmbrowsertest, a 64 MiB []byte round trip with a JS worker took
// 17.3-18.6 ms so, against 19.5-20.6 collecting before each copy (four
// runs each, alternating).
func CollectAfterPost() {
	if heldJSDue() {
		bigCopy.due = true
	}
	if !bigCopy.due {
		return
	}
	bigCopy.due = false
	runtime.GC()
	metrics.Read(heapStats)
	bigCopy.collected, bigCopy.heapAfter = true, heapStats[1].Value.Uint64()
}

// heldJS holds the JS values Go gave a handler as they came (HandleJS's
// params) until the next post, and counts their bytes since the last
// collection. Go's js.Value lets go of its JS value only when a collection
// finalizes it: a handler that reads its params where they are and
// allocates little in Go would hold every task's (a 4 MiB buffer each)
// until its heap grew enough for a collection, hundreds of tasks later.
// They are measured after the next post, so that a buffer the handler
// moved back (worker.Transfer) counts as the nothing it is by then.
var heldJS struct {
	sync.Mutex
	pending, spare []js.Value
	bytes          int
}

// HeldPerCollection is how many bytes of held JS values make a collection
// due.
const HeldPerCollection = 64 << 20

// NoteHeld notes v, a JS value given to Go code as it came, which may hold
// large buffers in JS for as long as Go has not collected it.
func NoteHeld(v js.Value) {
	heldJS.Lock()
	heldJS.pending = append(heldJS.pending, v)
	heldJS.Unlock()
}

// HeldNow counts the bytes v holds (a value Go received from JS as it was:
// what a Promise resolved to) at once, and collects when those since the
// last collection reach HeldPerCollection: for a handler that reads a
// large input a chunk at a time, posting nothing until it ends.
func HeldNow(v js.Value) {
	if n := heldSize.Invoke(v).Int(); n > 0 && addHeld(n) {
		runtime.GC()
	}
}

// addHeld counts n more bytes held, and says whether those since the last
// collection reach HeldPerCollection, which starts the count again.
func addHeld(n int) bool {
	heldJS.Lock()
	defer heldJS.Unlock()
	heldJS.bytes += n
	if heldJS.bytes < HeldPerCollection {
		return false
	}
	heldJS.bytes = 0
	return true
}

// heldJSDue measures the values noted since the last post, and says
// whether those since the last collection hold HeldPerCollection bytes.
func heldJSDue() bool {
	heldJS.Lock()
	list := heldJS.pending
	if len(list) == 0 {
		heldJS.Unlock()
		return false
	}
	heldJS.pending, heldJS.spare = heldJS.spare, nil
	heldJS.Unlock()
	n := 0
	for i, v := range list {
		n += heldSize.Invoke(v).Int()
		list[i] = js.Value{}
	}
	heldJS.Lock()
	heldJS.spare = list[:0]
	heldJS.Unlock()
	return addHeld(n)
}

// heldSize is the bytes of the buffers v holds: v's own if it is one (or a
// view of one), else those of its first 64 keys or items, one level deep.
var heldSize = js.Global().Get("Function").New("v", `
const size = (x) => {
  if (x instanceof ArrayBuffer) return x.byteLength;
  if (ArrayBuffer.isView(x)) return x.buffer.byteLength;
  return 0;
};
try {
  if (v === null || typeof v !== 'object') return 0;
  const own = size(v);
  if (own || ArrayBuffer.isView(v)) return own;
  let n = 0, i = 0;
  for (const k in v) {
    if (++i > 64) break;
    n += size(v[k]);
  }
  return n;
} catch (_) {
  return 0; // a getter that throws: not counted
}`)

// heapStats reads the bytes a collection scans (heap objects with
// pointers, stacks and globals), and the heap's objects, live or garbage.
var heapStats = []metrics.Sample{{Name: "/gc/scan/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}

// JSCall runs f and turns a thrown JS exception into a Go error, so no
// panic from JS escapes the boundary.
func JSCall(f func()) (err error) {
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
