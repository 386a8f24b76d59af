//go:build js && wasm

package atmo

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The hot path of the wire, shared by every transport. Each call from Go to
// JS costs a crossing, and each JS object or string brought into Go costs a
// reference with a finalizer, which is the dearest part of a task on the
// main thread. So a task's params cross as bytes (values.Encode) that a
// small JS function turns into the worker-work message, and the answers of
// one message from a worker cross back as bytes that JS wrote, in one copy
// each way: the messages between threads are still the seed's.

// wireJS holds the JS side of the wire, created once.
var wireJS = js.Global().Get("Function").New("MAX_DEPTH", "INLINE", `
const utf8in = new TextEncoder(), utf8out = new TextDecoder();
// out carries params from Go to JS, in carries answers from JS to Go; refs
// and items hold, for the message being read, what did not travel as bytes
// (large byte arrays) and each answer as it came (for RawResult).
const wire = { out: new Uint8Array(1 << 16), in: new Uint8Array(1 << 16), refs: [], items: [] };
let outView = new DataView(wire.out.buffer), inView = new DataView(wire.in.buffer);
wire.growOut = (n) => {
  wire.out = new Uint8Array(Math.max(n, 2 * wire.out.length));
  outView = new DataView(wire.out.buffer);
  return wire.out;
};

// Reading params (values.Encode's format).
let u8, dv, pos, refs, transfer;
const readLen = () => { const n = dv.getUint32(pos, true); pos += 4; return n; };
const readStr = () => {
  const n = readLen(), end = pos + n;
  if (n <= 32) {
    let s = '', i = pos;
    for (; i < end && u8[i] < 128; i++) s += String.fromCharCode(u8[i]);
    if (i === end) { pos = end; return s; }
  }
  const s = utf8out.decode(u8.subarray(pos, end));
  pos = end;
  return s;
};
const read = () => {
  switch (u8[pos++]) {
    case 0: return null;
    case 1: return false;
    case 2: return true;
    case 3: { const x = dv.getFloat64(pos, true); pos += 8; return x; }
    case 4: return readStr();
    case 5: {
      const n = readLen(), b = u8.slice(pos, pos + n);
      pos += n;
      if (n > 0) transfer.push(b.buffer); // a fresh buffer: move it, do not copy it again
      return b;
    }
    case 6: { const n = readLen(), a = new Array(n); for (let i = 0; i < n; i++) a[i] = read(); return a; }
    case 7: {
      const n = readLen(), o = {};
      for (let i = 0; i < n; i++) {
        const k = readStr(), v = read();
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        else o[k] = v;
      }
      return o;
    }
    case 8: return refs[readLen()];
  }
  throw new Error('atmo: corrupt params on the wire');
};
const params = (r, t) => { u8 = wire.out; dv = outView; pos = 0; refs = r; transfer = t; return read(); };

const taskId = (seq) => 'task-' + seq;
// sendOne posts one worker-work message with the params Go wrote.
const sendOne = (port, seq, wid, name, r, t) => {
  const list = t || [];
  const p = params(r, list);
  port.postMessage({ message: 'worker-work', taskId: taskId(seq), workerId: wid, content: { name, params: p } }, list);
};
// queueWork adds a task to a batch posted at the end of the current turn,
// as worker-work-batch (to workers that said they take batches).
const queueWork = (port, q, seq, wid, name, r, t) => {
  const p = params(r, q.transfer);
  if (t) for (const b of t) q.transfer.push(b);
  q.items.push({ taskId: taskId(seq), name, params: p });
  if (q.items.length === 1) queueMicrotask(() => flush(port, q, wid));
};
// flush posts the batch now; any other message to the worker (a cancel)
// flushes first, so that the worker sees everything in order.
const flush = (port, q, wid) => {
  const items = q.items, list = q.transfer;
  if (items.length === 0) return;
  q.items = []; q.transfer = [];
  if (items.length === 1) {
    const it = items[0];
    port.postMessage({ message: 'worker-work', taskId: it.taskId, workerId: wid, content: { name: it.name, params: it.params } }, list);
  } else {
    port.postMessage({ message: 'worker-work-batch', workerId: wid, content: items }, list);
  }
};

// Writing answers, by FromJS's rules (values/js.go): what Go would read from
// the JS value, as bytes.
let w8, wv, wpos;
const room = (k) => {
  if (wpos + k <= w8.length) return;
  const b = new Uint8Array(Math.max(2 * w8.length, wpos + k));
  b.set(w8.subarray(0, wpos));
  w8 = b; wv = new DataView(b.buffer);
};
const writeLen = (n) => { wv.setUint32(wpos, n, true); wpos += 4; };
const writeStr = (s) => {
  room(4 + 3 * s.length);
  const at = wpos;
  wpos += 4;
  if (s.length <= 64) {
    let i = 0;
    for (; i < s.length; i++) { const c = s.charCodeAt(i); if (c > 127) break; w8[wpos + i] = c; }
    if (i === s.length) { wv.setUint32(at, i, true); wpos += i; return; }
  }
  const { written } = utf8in.encodeInto(s, w8.subarray(wpos));
  wv.setUint32(at, written, true);
  wpos += written;
};
const writeBytes = (b) => {
  if (b.length > INLINE) { room(5); w8[wpos++] = 8; writeLen(wire.refs.length); wire.refs.push(b); return; }
  room(5 + b.length); w8[wpos++] = 5; writeLen(b.length); w8.set(b, wpos); wpos += b.length;
};
const write = (v, depth) => {
  switch (typeof v) {
    case 'boolean': room(1); w8[wpos++] = v ? 2 : 1; return;
    case 'number': room(9); w8[wpos++] = 3; wv.setFloat64(wpos, v, true); wpos += 8; return;
    case 'string': room(1); w8[wpos++] = 4; writeStr(v); return;
    case 'object': {
      if (v === null || depth > MAX_DEPTH) break;
      if (Array.isArray(v)) {
        room(5); w8[wpos++] = 6; writeLen(v.length);
        for (let i = 0; i < v.length; i++) write(v[i], depth + 1);
        return;
      }
      if (v instanceof ArrayBuffer) return writeBytes(new Uint8Array(v));
      if (ArrayBuffer.isView(v)) return writeBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      if (v instanceof Date) { room(1); w8[wpos++] = 4; writeStr(v.toISOString()); return; }
      if (v instanceof Error) return write({ name: String(v.name), message: String(v.message) }, depth);
      const keys = Object.keys(v);
      room(5); w8[wpos++] = 7; writeLen(keys.length);
      for (const k of keys) { writeStr(k); write(v[k], depth + 1); }
      return;
    }
  }
  room(1); w8[wpos++] = 0; // undefined, null, functions, symbols
};

// answers writes the worker-response and worker-response-batch messages
// whose task ids are ours ("task-N") to wire.in: a count, then for each
// answer N (or -N for an error) as a float64, the byte length of what
// follows, and the content or the error. It returns the length, or -1 for
// any other message, which takes the general path.
const answers = (d) => {
  if (d === null || typeof d !== 'object') return -1;
  let items;
  if (d.message === 'worker-response') items = [d];
  else if (d.message === 'worker-response-batch' && Array.isArray(d.content)) items = d.content;
  else return -1;
  const n = items.length;
  for (let i = 0; i < n; i++) {
    const t = items[i] && items[i].taskId;
    if (typeof t !== 'string' || !t.startsWith('task-')) return -1;
    const seq = Number(t.slice(5));
    if (!Number.isSafeInteger(seq) || seq <= 0) return -1;
  }
  w8 = wire.in; wv = inView; wpos = 0;
  wire.refs.length = 0; wire.items.length = 0;
  room(4); writeLen(n);
  for (let i = 0; i < n; i++) {
    const it = items[i], e = it.error;
    const failed = !(e === undefined || e === null || e === '' || e === false);
    const seq = Number(it.taskId.slice(5)), v = failed ? e : it.content;
    room(12); wv.setFloat64(wpos, failed ? -seq : seq, true); wpos += 8;
    const at = wpos;
    wpos += 4;
    write(v, 0);
    wv.setUint32(at, wpos - at - 4, true);
    wire.items.push(v);
  }
  wire.in = w8; inView = wv;
  return wpos;
};
// listen makes the message listener for a worker: answers reach Go as
// (length, the buffer if it grew), anything else as (-1, data). Node's
// worker_threads pass the data itself, the Web's an event.
const listen = (go, node) => (m) => {
  const d = node ? m : m.data;
  const grown = wire.in;
  let n = -1;
  try { n = answers(d); } catch (e) { n = -1; } // a getter that throws: the general path says so
  if (n < 0) go(-1, d);
  else go(n, wire.in === grown ? undefined : wire.in);
};
const newQueue = () => ({ items: [], transfer: [] });
return { wire, sendOne, queueWork, flush, listen, newQueue };
`).Invoke(values.MaxDepth, values.InlineBytes)

var (
	wireSendOne   = wireJS.Get("sendOne")
	wireQueueWork = wireJS.Get("queueWork")
	wireFlush     = wireJS.Get("flush")
	wireListen    = wireJS.Get("listen")
	wireNewQueue  = wireJS.Get("newQueue")

	wireState  = wireJS.Get("wire")
	wireOut    = wireState.Get("out") // params, Go to JS
	wireIn     = wireState.Get("in")  // answers, JS to Go
	wireRefs   = wireState.Get("refs")
	wireItems  = wireState.Get("items")
	wireOutCap = wireOut.Length()
	wireBuf    []byte // params being encoded; the wire is used by one call at a time
)

// encodeParams writes params to the wire for sendOne or queueWork and
// returns the values set aside (nil for none) and the buffers to transfer.
func encodeParams(params any) (refs, transfer any) {
	var aside []any
	wireBuf = values.Encode(wireBuf[:0], params, &aside)
	if len(wireBuf) > wireOutCap {
		wireOut = wireState.Call("growOut", len(wireBuf))
		wireOutCap = wireOut.Length()
	}
	js.CopyBytesToJS(wireOut, wireBuf)
	if len(aside) == 0 {
		return nil, nil
	}
	var list []any
	for i, v := range aside {
		aside[i] = toJS(v, &list) // a large []byte becomes a fresh typed array, moved
	}
	if len(list) > 0 {
		transfer = list
	}
	return aside, transfer
}

// receiveWire reads what the listener made of a message: the answers on
// the wire when args[0] is their length, else the data for the general path.
func receiveWire(args []js.Value) (ins []inbound, data js.Value, ok bool) {
	n := args[0].Int()
	if n < 0 {
		return nil, args[1], false
	}
	if args[1].Truthy() {
		wireIn = args[1] // the listener grew the buffer
	}
	buf := make([]byte, n)
	js.CopyBytesToGo(buf, wireIn)
	count := int(binary.LittleEndian.Uint32(buf))
	buf = buf[4:]
	ins = make([]inbound, count)
	for i := range ins {
		code := math.Float64frombits(binary.LittleEndian.Uint64(buf))
		size := int(binary.LittleEndian.Uint32(buf[8:]))
		c := wireContent{b: buf[12 : 12+size], i: i}
		buf = buf[12+size:]
		in := inbound{kind: KindWorkerResponse}
		if code < 0 {
			code = -code
			in.err = errorText(c.decode())
		} else {
			in.content = c
		}
		in.taskID = "task-" + strconv.FormatInt(int64(code), 10)
		ins[i] = in
	}
	return ins, js.Value{}, true
}

// wireContent is a task's content as the listener wrote it: the core
// decodes it when the task settles (not at all for a late answer), or takes
// the JS value as it came for a task that asked for TaskParams.RawResult.
// Either happens while the message is being handled, which is when the
// values set aside are still on the wire.
type wireContent struct {
	b []byte
	i int // the answer's place in its message
}

func (c wireContent) decode() any {
	v, _, err := values.Decode(c.b, func(i int) any { return fromJS(wireRefs.Index(i)) })
	if err != nil {
		return fmt.Sprintf("atmo: unreadable answer: %v", err) // not reached: JS wrote it
	}
	return v
}

func (c wireContent) raw() any { return wireItems.Index(c.i) }

// taskSeq is the number in a task id made by the TaskManager ("task-N").
func taskSeq(id string) float64 {
	n, _ := strconv.ParseFloat(id[len("task-"):], 64)
	return n
}

// jsStrings caches the JS strings of worker ids and task names, which cross
// with every task.
type jsStrings map[string]js.Value

func (c jsStrings) get(s string) js.Value {
	v, ok := c[s]
	if !ok {
		v = js.ValueOf(s)
		c[s] = v
	}
	return v
}
