//go:build js && wasm

package values

import (
	"fmt"
	"sync"
	"syscall/js"
)

// The wire: value trees crossing syscall/js as bytes (Encode's format), in
// one copy each way, instead of one call per object, key and string. Each JS
// object or string brought into Go is a reference with a finalizer (~3 µs
// each, measured), which made the conversion the dearest part of a task.
//
// Go writes with Send and JS reads with codec.read; JS writes with
// codec.begin, codec.value (and the raw writers) and codec.end, and Go reads
// with Received and DecodeReceived, during the call that delivered the bytes.

// Codec is the JS side of the wire, for the JS glue of packages atmo and
// worker: {wire, read(refs, transfer), begin(), value(v, depth), num(x),
// mark(), rewind(at), slot(), fill(at), end(), encode(v), copy(v),
// deliver(r, write, d), post(target, m, list), item(i), recycle(), bytes(n),
// hold(v), release(slot), keep(v), unkeep(kept), take(slot), held, hop, whileAlive(fn),
// fromJS(v), from, own (copy's buffer)}. keep(v) given to write (encode, encodeList) writes v's
// slot instead of v, for Go to take as it came.
// value writes by the value rules (see FromJS), and throws, saying what to
// do, for what Go cannot read faithfully (a BigInt, a Blob, an array longer
// than MaxItems, an object or Map of more keys, a getter that throws).
var Codec = newCodec(MaxItems)

// WireKeep is the most bytes a buffer of the wire keeps for good: one
// grown past it for a larger message serves while such messages come, and
// is let go at the first smaller one, rather than held for the life of the
// program.
const WireKeep = 16 << 20

// newCodec makes a codec that holds arrays, Sets, objects and Maps from JS
// to maxItems items or keys (MaxItems; tests lower it).
func newCodec(maxItems int) js.Value {
	return js.Global().Get("Function").New("MAX_DEPTH", "INLINE", "MAX_ITEMS", "MAX_NODES", "WIRE_KEEP", codecJS).Invoke(MaxDepth, InlineBytes, maxItems, MaxNodes, WireKeep)
}

const codecJS = `
const utf8in = new TextEncoder(), utf8out = new TextDecoder();
// out carries values from Go to JS, in from JS to Go; refs holds what the
// message being written set aside (large byte arrays), items what its
// writer kept as it came.
const wire = { out: new Uint8Array(1 << 16), in: new Uint8Array(1 << 16), refs: [], items: [], aside: [] };
let outView = new DataView(wire.out.buffer), inView = new DataView(wire.in.buffer);
wire.sizeOut = (n) => {
  wire.out = new Uint8Array(n);
  outView = new DataView(wire.out.buffer);
  return wire.out;
};
// A buffer grown past WIRE_KEEP is kept while messages that need it come
// (warm memory, see recycle), not for good: keepAfter is the buffer to keep
// after a message of n bytes was written in b, b itself unless it is past
// WIRE_KEEP and more than twice what such a message may need (the writer
// keeps room for 3 bytes per UTF-16 unit of a string up to LONG_STR units,
// so a message of n bytes may have needed 3n: a buffer grown while writing
// it is never more than twice that); then a small one, with the message
// copied in, which end hands Go as wire.in, as it hands a grown one (see
// deliver).
const keepAfter = (b, n) => {
  if (b.length <= WIRE_KEEP || b.length <= 6 * n) return b;
  const small = new Uint8Array(Math.max(n, 1 << 16));
  small.set(b.subarray(0, n));
  return small;
};
// shrink replaces w8 with keepAfter's buffer for what was written in it.
const shrink = () => {
  const b = keepAfter(w8, wpos);
  if (b !== w8) { w8 = b; wv = new DataView(b.buffer); }
};

// Reading (Go to JS).
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
// held keeps values for Go by slot (Go's Held): hold returns a value's
// slot, release frees it for reuse. Go writes the slot, read gives back
// the value, as many times as Go sends it, until it is released; or, for
// a Held that Take marks, until it has been read n times (hold's n,
// default 1).
const held = { values: [], free: [], takes: [], live: [] };
const HELD_KEEP = 4096; // slots kept once all are free (see release)
const hold = (v, n) => {
  const k = held.free.length > 0 ? held.free.pop() : held.values.length;
  held.values[k] = v;
  held.live[k] = true;
  held.takes[k] = n > 0 ? n : 1;
  return k;
};
const release = (k) => {
  if (k >= 0 && held.live[k] === true) {
    held.live[k] = false;
    held.values[k] = undefined;
    held.free.push(k);
    // All free again after a burst (a flood of run()s): the arrays go
    // back, as Go's queues' do past keepCap, rather than keep a slot for
    // every value the burst held.
    if (held.free.length === held.values.length && held.values.length > HELD_KEEP) {
      held.values.length = held.free.length = held.takes.length = held.live.length = 0;
    }
  }
};
const readValue = () => {
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
    case 6: { const n = readLen(), a = []; for (let i = 0; i < n; i++) a.push(readValue()); return a; } // packed: structured clone copies a holey array element by element
    case 7: {
      const n = readLen(), o = {};
      for (let i = 0; i < n; i++) {
        const k = readStr(), v = readValue();
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        else o[k] = v;
      }
      return o;
    }
    case 8: return refs[readLen()];
    case 9: case 10: {
      const k = dv.getUint32(pos, true), v = held.values[k], l = dv.getInt32(pos + 4, true);
      if (u8[pos - 1] === 10 && --held.takes[k] <= 0) release(k); // read its n times (Go's Held.Take)
      pos += 8;
      if (l >= 0) for (const b of held.values[l]) transfer.push(b);
      return v;
    }
  }
  throw new Error('atmo: corrupt value on the wire');
};
// read returns the value Go wrote to wire.out; r are the values it set
// aside, and the fresh buffers of its bytes are added to t. Go's Send
// hands them over in wire.aside, which read empties, so that it holds
// nothing once the call that posts them is over.
const read = (r, t) => {
  u8 = wire.out; dv = outView; pos = 0; refs = r; transfer = t;
  try {
    return readValue();
  } finally {
    if (r === wire.aside) r.length = 0;
  }
};

// Writing (JS to Go), by FromJS's rules: what Go would read from the value.
let w8, wv, wpos, wrefs; // wrefs: where large byte arrays are set aside
const room = (k) => {
  if (wpos + k <= w8.length) return;
  const b = new Uint8Array(Math.max(2 * w8.length, wpos + k));
  b.set(w8.subarray(0, wpos));
  w8 = b; wv = new DataView(b.buffer);
};
const writeLen = (n) => { wv.setUint32(wpos, n, true); wpos += 4; };
// A string of up to LONG_STR UTF-16 units gets room for its longest UTF-8
// (3 bytes a unit) and is encoded at once; a longer one gets room for one
// byte a unit, and more as encodeInto runs out of it (read < length), so
// that a 64M-character ASCII string grows the buffer to 64 MB, not 192 MB
// (a string of 2^29 characters asked for 1.6 GB, and failed where the
// string itself fit). encodeInto never splits a surrogate pair: read ends
// between code points.
const LONG_STR = 1 << 16;
const writeStr = (s) => {
  if (s.length > LONG_STR) return writeLongStr(s);
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
const writeLongStr = (s) => {
  room(4 + s.length);
  const at = wpos;
  wpos += 4;
  for (;;) {
    const { read, written } = utf8in.encodeInto(s, w8.subarray(wpos));
    wpos += written;
    if (read === s.length) break;
    s = s.slice(read); // a slice of a flat string: no copy
    room(s.length + 3); // grows twofold at least: a few rounds for any text
  }
  wv.setUint32(at, wpos - at - 4, true);
};
const writeBytes = (b) => {
  if (b.length > INLINE) { room(5); w8[wpos++] = 8; writeLen(wrefs.length); wrefs.push(b); return; }
  room(5 + b.length); w8[wpos++] = 5; writeLen(b.length); w8.set(b, wpos); wpos += b.length;
};
// Structured clone keeps cycles and shared references, which a tree has
// not: an array or object met again on its own path (a back-pointer) is
// written as null; a value that nests past MAX_DEPTH throws, as Go's own
// values do (normalizeAt), and so does one that makes more than MAX_NODES
// arrays and objects (a shared one is written each time it is met: a
// graph of a few dozen can make billions).
//
// Plain objects and arrays go first; only other objects are looked at by
// their tag (see other). What Go cannot read faithfully (a BigInt, a Blob)
// throws, saying what to do instead: never a silent null or {}. In lenient
// mode (FromJS, which cannot throw), everything that would throw is written
// as null instead, itself alone.
const path = []; // path[d]: the array or object being written at depth d
let nodes = 0, lenient = false, base = 0; // base: the depth the value being written starts at
const ARRAY = 0, KEYS = 1, MAP = 2, SET = 3;
const value = (v, depth) => {
  if (depth - base > MAX_DEPTH) return cannot('it nests deeper than ' + MAX_DEPTH + ' levels');
  switch (typeof v) {
    case 'boolean': room(1); w8[wpos++] = v ? 2 : 1; return;
    case 'number': room(9); w8[wpos++] = 3; wv.setFloat64(wpos, v, true); wpos += 8; return;
    case 'string': room(1); w8[wpos++] = 4; writeStr(v); return;
    case 'bigint': {
      const t = String(v);
      return cannot('a BigInt (' + (t.length > 40 ? t.slice(0, 20) + '…' + t.slice(-10) : t) + 'n) cannot be read as a Go value: convert it with Number() or String() first');
    }
    case 'object': {
      if (v === null) break;
      const p = Object.getPrototypeOf(v);
      if (p === Object.prototype || p === null) return enter(v, depth, KEYS);
      if (Array.isArray(v)) return enter(v, depth, ARRAY);
      if (!lenient) return other(v, depth);
      const at = wpos;
      try {
        return other(v, depth);
      } catch (e) {
        wpos = at; // a getter, a toJSON that threw: null, as FromJS has it
        break;
      }
    }
  }
  room(1); w8[wpos++] = 0; // undefined, null, functions, symbols
};
// cannot throws msg, or in lenient mode writes null.
const cannot = (msg) => {
  if (!lenient) throw new TypeError(msg);
  room(1); w8[wpos++] = 0;
};
const toTag = Object.prototype.toString;
// other writes an object that is neither plain nor an array.
const other = (v, depth) => {
  if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)) return writeBytes(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return writeBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (v instanceof Date) {
    if (isNaN(v.getTime())) { room(1); w8[wpos++] = 0; return; } // an invalid Date has no ISO text
    room(1); w8[wpos++] = 4; writeStr(v.toISOString());
    return;
  }
  if (v instanceof Error) return value({ name: String(v.name), message: String(v.message) }, depth);
  const tag = toTag.call(v);
  switch (tag) {
    case '[object Map]': return enter(v, depth, MAP);
    case '[object Set]': return enter(v, depth, SET);
    case '[object Boolean]': return value(Boolean.prototype.valueOf.call(v), depth);
    case '[object Number]': return value(Number.prototype.valueOf.call(v), depth);
    case '[object String]': return value(String.prototype.valueOf.call(v), depth);
    case '[object RegExp]': return value(String(v), depth);
    case '[object ImageData]': return value({ width: v.width, height: v.height, colorSpace: v.colorSpace, data: v.data }, depth);
  }
  if (typeof v.toJSON === 'function') { // DOMRect, DOMPoint, DOMMatrix, a class's own
    const j = v.toJSON();
    path[depth] = v; // what value(j) checks for cycles at this depth: v, not a sibling met before
    if (j !== v) return value(j, depth + 1); // + 1: a toJSON that returns another such object ends at MAX_DEPTH, as its own nesting
  }
  if (tag === '[object Object]' || Object.keys(v).length > 0) return enter(v, depth, KEYS); // a class instance
  const name = tag.slice(8, -1), a = /^[AEIOU]/.test(name) ? 'an ' : 'a ';
  return cannot(a + name + ' cannot be read as a Go value: ' +
    (name === 'Blob' || name === 'File' ? 'send its bytes (await blob.arrayBuffer())' : 'send what Go needs of it as plain data') +
    ', or take it as it came: a task\'s result with RawResult (raw: true in the JS API), a Go worker\'s params with HandleJS');
};
// enter writes v, an array, object, Map or Set (kind), unless it is met
// again on its own path.
const enter = (v, depth, kind) => {
  if (depth > 0 && path.lastIndexOf(v, depth - 1) >= 0) { room(1); w8[wpos++] = 0; return; }
  return container(v, depth, kind);
};
// Kept is a value to hand to Go as it came (see keep): write holds it
// and writes its slot (k), as a Held that Go takes (codec.take) once.
// unkeep lets go of the slot of one that was written but will not reach
// Go (the message could not be written whole).
class Kept { constructor(v) { this.v = v; this.k = -1; } }
const keep = (v) => new Kept(v);
const unkeep = (x) => {
  if (x instanceof Kept && x.k >= 0) { release(x.k); x.k = -1; }
};
// write writes one value, which makes its own count of nodes and nests
// MAX_DEPTH levels below depth at most.
const write = (v, depth = 0) => {
  base = depth;
  if (typeof v !== 'object' || v === null) return value(v, depth);
  if (v instanceof Kept) {
    wire.rawTaken = true; // the message's buffers may be the handler's now: none become spares
    room(9);
    v.k = hold(v.v);
    w8[wpos++] = 10; wv.setUint32(wpos, v.k, true); wv.setInt32(wpos + 4, -1, true); wpos += 8;
    return;
  }
  nodes = 0;
  try {
    return value(v, depth);
  } finally {
    path.length = 0; // hold on to nothing
  }
};
// get reads v[k]; in lenient mode a getter that throws gives undefined.
const get = (v, k) => {
  if (!lenient) return v[k];
  try { return v[k]; } catch (e) { return undefined; }
};
// TOO_MANY says what to do with an array or Set of more than MAX_ITEMS
// items, or an object or Map of more keys (as many keys make a map in Go
// that took a minute and 2.6 GB to read).
const TOO_MANY = ': send bulk data as a typed array or an ArrayBuffer (Go reads its bytes as a []byte), or split it into several tasks';
const container = (v, depth, kind) => {
  if (++nodes > MAX_NODES) return cannot('it makes more than ' + MAX_NODES + ' arrays and objects written out as a tree: shared references?');
  path[depth] = v;
  switch (kind) {
    case ARRAY: {
      if (v.length > MAX_ITEMS) return cannot('it holds an array of ' + v.length + ' items, more than the ' + MAX_ITEMS + ' atmo reads' + TOO_MANY);
      room(5); w8[wpos++] = 6; writeLen(v.length);
      for (let i = 0; i < v.length; i++) value(get(v, i), depth + 1);
      return;
    }
    case KEYS: {
      const keys = Object.keys(v);
      if (keys.length > MAX_ITEMS) return cannot('it holds an object of ' + keys.length + ' keys, more than the ' + MAX_ITEMS + ' atmo reads' + TOO_MANY);
      room(5); w8[wpos++] = 7; writeLen(keys.length);
      for (const k of keys) { writeStr(k); value(get(v, k), depth + 1); }
      return;
    }
    case MAP: {
      // Keys as String(key): two keys with the same text, the last wins,
      // as in Go's map, but both are written.
      if (v.size > MAX_ITEMS) return cannot('it holds a Map of ' + v.size + ' keys, more than the ' + MAX_ITEMS + ' atmo reads' + TOO_MANY);
      room(5); w8[wpos++] = 7; writeLen(v.size);
      for (const [k, x] of v) { writeStr(String(k)); value(x, depth + 1); }
      return;
    }
    case SET: {
      if (v.size > MAX_ITEMS) return cannot('it holds a Set of ' + v.size + ' items, more than the ' + MAX_ITEMS + ' atmo reads' + TOO_MANY);
      room(5); w8[wpos++] = 6; writeLen(v.size);
      for (const x of v) value(x, depth + 1);
      return;
    }
  }
};
// begin starts a message in wire.in; end finishes it and returns its
// length. Between them: value, num (a raw float64), and slot and fill for a
// length written once what follows it is.
const begin = () => { base = 0; w8 = wire.in; wv = inView; wpos = 0; wrefs = wire.refs; wire.refs.length = 0; wire.items.length = 0; wire.rawTaken = false; };
const num = (x) => { room(8); wv.setFloat64(wpos, x, true); wpos += 8; };
// mark and rewind take back what was written since mark, after a throw.
const mark = () => wpos;
const rewind = (at) => { wpos = at; };
const slot = () => { room(4); const at = wpos; wpos += 4; return at; };
const fill = (at) => wv.setUint32(at, wpos - at - 4, true);
const end = () => { shrink(); wire.in = w8; inView = wv; return wpos; };
const encode = (v) => { begin(); write(v); return end(); };
// encodeList writes the array list as encode would, but each of its items
// as a value of its own: each has its own MAX_NODES (the tasks of a batch,
// say, whose params are the user's). If bad is given, an item that throws
// is written as bad(i, error) instead (bad may throw too).
const encodeList = (list, bad) => {
  begin();
  room(5); w8[wpos++] = 6; writeLen(list.length);
  for (let i = 0; i < list.length; i++) {
    if (bad === undefined) { write(list[i], 1); continue; }
    const at = wpos;
    try {
      write(list[i], 1); // the list is a level: its items' depth counts from 1, as Go reads them
    } catch (e) {
      wpos = at;
      write(bad(i, e), 1);
    }
  }
  return end();
};
// deliver writes d with write (which returns the length, or -1 for what it
// does not take) and hands the bytes to r, a Receiver's JS side {fn, id}:
// through the wasm export when the page's Go instance is known (hop, see
// receiver_js.go), else as r.fn(length, the buffer if writing grew it). What
// write did not take or threw on (a getter that throws) goes to r.fn(-1, d):
// the general path then says what is wrong. Once Go has read the message,
// its set-aside values are let go, and the buffers of the byte arrays Go
// copied become spares (see recycle): d is a message that came from
// another thread, which nothing else holds. After the Go program has
// exited, d is dropped: nobody is left to read it, and a call into Go
// would only throw. hop.alive says whether the program is still running
// (true where its instance is unknown); whileAlive(fn) is fn for a timer, a
// promise or an event to call later, doing nothing once the program has
// exited (see WhileAlive).
const hop = { go: null, deliver: null, alive: () => hop.go === null || !hop.go.exited };
const whileAlive = (fn) => (...args) => (hop.alive() ? fn(...args) : undefined);
const deliver = (r, write, d) => {
  if (!hop.alive()) return;
  const before = wire.in;
  let n = -1;
  try { n = write(d); } catch (e) { n = -1; }
  if (n < 0) { r.fn(-1, d); return; }
  const grown = wire.in !== before;
  try {
    if (hop.go !== null) {
      hop.deliver(r.id, n, grown ? 1 : 0);
      hop.go._resume();
    } else {
      r.fn(n, grown ? wire.in : undefined);
    }
  } finally {
    wire.refs.length = 0;
    wire.items.length = 0;
  }
};
// copy returns what Go would make of v and hand back to JS, without Go: v
// written by the value rules and read back, large byte arrays copied, as
// FromJS then ToJS would give it. It uses buffers of its own and leaves
// the wire's state as it was, so it may run while Go reads a message.
const own = { buf: new Uint8Array(1 << 12) };
own.view = new DataView(own.buf.buffer);
const copy = (v) => {
  const w = [w8, wv, wpos, wrefs, base], r = [u8, dv, pos, refs, transfer];
  w8 = own.buf; wv = own.view; wpos = 0; wrefs = [];
  try {
    write(v);
    const b = keepAfter(w8, wpos);
    own.buf = b; own.view = b === w8 ? wv : new DataView(b.buffer); // grown, maybe
    u8 = w8; dv = wv; pos = 0; refs = wrefs.map((b) => b.slice()); transfer = [];
    return readValue();
  } finally {
    [w8, wv, wpos, wrefs, base] = w;
    [u8, dv, pos, refs, transfer] = r;
  }
};
// fromJS writes v for Go's FromJS, in lenient mode (what the writer would
// throw on is null), in buffers of its own, leaving the wire's state as it
// was, as copy does. It returns the length, or -1 - the length when the
// buffer grew (Go then reads from.buf again); the large byte arrays set
// aside are in from.refs until the next call.
const from = { buf: new Uint8Array(1 << 12), refs: [] };
from.view = new DataView(from.buf.buffer);
const fromJS = (v) => {
  const w = [w8, wv, wpos, wrefs, lenient, base];
  w8 = from.buf; wv = from.view; wpos = 0; wrefs = from.refs; wrefs.length = 0; lenient = true;
  try {
    write(v);
    shrink();
    const grown = w8 !== from.buf;
    from.buf = w8; from.view = wv;
    return grown ? -1 - wpos : wpos;
  } finally {
    [w8, wv, wpos, wrefs, lenient, base] = w;
  }
};
// item is wire.items[i], which Go takes as it came: the message's buffers
// are then the user's, and recycle leaves them alone.
const item = (i) => { wire.rawTaken = true; return wire.items[i]; };
// holdItem holds wire.items[i] for Go, which gets only its slot, to be
// read n times.
const holdItem = (i, n) => hold(item(i), n);

// Recycling. Writing into fresh memory is slow: the first touch of each
// page faults, and on this project's 2-core VM filling a new 64 MiB
// Uint8Array took 240-300 ms against 4-7 ms for one already written to. So
// once Go has copied the large byte arrays of a message (its set-aside
// refs), their ArrayBuffers, which arrived with the message and which
// nothing else holds, are kept as spares, and bytes(n), which makes the
// typed array of a []byte going out, fills a spare of exactly n bytes
// instead of a new one. A Go worker that answers bytes for bytes, and a
// page that sends the next task with the bytes of the last answer, copy
// into warm memory. Never a buffer Go took as it came (item), a shared or
// resizable one, or part of a larger one. Spares are kept up to
// SPARE_BYTES in all (the newest), and let go after SPARE_MS unused.
const SPARE_BYTES = 256 << 20, SPARE_MS = 2000;
const spares = [];
let spareBytes = 0, spareTimer = null;
const dropSpares = () => { spares.length = 0; spareBytes = 0; spareTimer = null; };
const recycle = () => {
  if (wire.rawTaken) return;
  for (const r of wire.refs) {
    const b = r.buffer;
    if (!(b instanceof ArrayBuffer) || b.resizable || r.byteOffset !== 0 || r.byteLength !== b.byteLength || spares.includes(b)) continue;
    spares.push(b);
    spareBytes += b.byteLength;
    while (spares.length > 1 && spareBytes > SPARE_BYTES) spareBytes -= spares.shift().byteLength;
  }
  if (spares.length === 0) return;
  if (spareTimer !== null) clearTimeout(spareTimer);
  spareTimer = setTimeout(dropSpares, SPARE_MS);
  if (typeof spareTimer === 'object' && spareTimer.unref) spareTimer.unref(); // Node.js: do not keep the process alive
};
const bytes = (n) => {
  for (let i = spares.length - 1; i >= 0; i--) {
    if (spares[i].byteLength === n) {
      spareBytes -= n;
      return new Uint8Array(spares.splice(i, 1)[0]);
    }
  }
  return new Uint8Array(n);
};
// post posts m to target, with a transfer list only when there is
// something to transfer: Chromium takes 20-30 µs longer over
// postMessage(m, []) than over postMessage(m), measured, a quarter of a
// round trip.
//
// A buffer moved already cannot be moved again: Chromium's postMessage
// throws for one, Node.js 20's drops the message without a word (a
// messageerror on the other side), so post throws first, as Chromium does,
// and the task fails saying why rather than waiting for ever.
const movedAlready = (list) => {
  for (const b of list) {
    if (!(b instanceof ArrayBuffer) || b.byteLength !== 0) continue;
    if (b.detached === true) return true;
    try { new Uint8Array(b); } catch (_) { return true; } // Node.js 20 has no detached
  }
  return false;
};
const notMovable = () => Object.assign(new DOMException('an ArrayBuffer in the transfer list was moved already (it is detached): each buffer can be transferred once', 'DataCloneError'), { movedAlready: true });
const post = (target, m, list) => {
  if (!list || !list.length) return target.postMessage(m);
  // One buffer listed twice (two views of it, each atmo.Transfer'd) moves
  // once: postMessage throws on a duplicate.
  if (list.length > 1) list = [...new Set(list)];
  if (movedAlready(list)) throw notMovable();
  target.postMessage(m, list);
};
// readHeld reads the value Go wrote (read) and holds it, for a later call
// to take: Go keeps the wire (Post) only while it is read, not while the
// value is handed on to code that may call back into Go.
const readHeld = (r, t) => hold(read(r, t || []));
const take = (k) => { const v = held.values[k]; release(k); return v; };
return { maxItems: MAX_ITEMS, own, detached: (b) => movedAlready([b]), wire, hop, whileAlive, read, readHeld, take, keep, unkeep, begin, value: write, num, mark, rewind, slot, fill, end, encode, encodeList, copy, fromJS, from, deliver, post, item, holdItem, recycle, bytes, hold, release, held };
`

// WhileAlive returns fn as a JS function that calls it only while the Go
// program runs: for a timer, a promise or an event that may come after the
// program has exited, when a call into it would only throw "Go program has
// already exited".
func WhileAlive(fn js.Func) js.Value { return whileAlive.Invoke(fn) }

var (
	wire          = Codec.Get("wire")
	wireOut       = wire.Get("out") // Go to JS
	wireIn        = wire.Get("in")  // JS to Go
	wireRefs      = wire.Get("refs")
	wireAside     = wire.Get("aside") // Send's set-aside values, one call at a time
	codecItem     = Codec.Get("item")
	codecReadHeld = Codec.Get("readHeld")
	codecHold     = Codec.Get("holdItem")
	codecRecycle  = Codec.Get("recycle")
	codecBytes    = Codec.Get("bytes")
	codecTake     = Codec.Get("take")
	codecRelease  = Codec.Get("release")
	whileAlive    = Codec.Get("whileAlive")
	codecDetached = Codec.Get("detached")
	wireOutCap    = wireOut.Length()
	wireBuf       []byte // the value being sent; the wire serves one call at a time
	wireSetAside  []any  // the values Send sets aside, reused from call to call
)

// wireMu lets one value at a time onto the wire, from Send until the JS
// call that reads it (see Post).
var wireMu sync.Mutex

// Post writes v to the wire (Send) and calls read, which must hand refs and
// transfer at once to the JS call that reads the value. No other Post runs
// meanwhile: goroutines can switch between the two (an allocation's GC
// assist may park one), and another value written then would take this
// one's place on the wire. That JS call must not run code that may call
// back into Go and post (a user's callback): read the value with
// codec.readHeld instead, and hand it on after Post (see PostHeld).
func Post(v any, read func(refs, transfer any)) {
	wireMu.Lock()
	defer wireMu.Unlock()
	refs, transfer := Send(v)
	read(refs, transfer)
}

// PostHeld writes v to the wire and has JS read it and hold it (Post,
// codec.readHeld): it returns the slot, for codec.take.
func PostHeld(v any) (slot int) {
	Post(v, func(refs, transfer any) { slot = codecReadHeld.Invoke(refs, transfer).Int() })
	return slot
}

// Send writes v, a normalized tree, to the wire for codec.read, and returns
// the values it set aside, as a JS array (nil for none), and the buffers to
// transfer with them (nil for none): the fresh typed arrays of large []byte
// and the buffers of Moved values. The array is the wire's own, reused
// from call to call (a new one per call cost a JS object and a finalizer
// in Go): pass it at once to the JS call that reads the value, which
// empties it, and hold the wire meanwhile: call Send through Post.
func Send(v any) (refs, transfer any) {
	aside := &wireSetAside
	*aside = (*aside)[:0]
	wireBuf = Encode(wireBuf[:0], v, aside)
	if n := len(wireBuf); n > wireOutCap || wireOutCap > WireKeep && n <= WireKeep {
		wireOut = wire.Call("sizeOut", bufSize(wireOutCap, len(wireBuf)))
		wireOutCap = wireOut.Length()
	}
	js.CopyBytesToJS(wireOut, wireBuf)
	if cap(wireBuf) > WireKeep && len(wireBuf) <= WireKeep {
		wireBuf = nil // kept while large values are sent, not for good
	}
	if len(*aside) == 0 {
		return nil, nil
	}
	var list []any
	for i, a := range *aside {
		wireAside.SetIndex(i, ToJS(a, &list))
		(*aside)[i] = nil // held by JS now, not by Go
	}
	if len(list) > 0 {
		transfer = list
	}
	return wireAside, transfer
}

// delivered reads the arguments codec.deliver calls a Receiver's fn with:
// the bytes JS wrote, or, when it wrote none (ok false), the value for the
// general path.
func delivered(args []js.Value) (b []byte, general js.Value, ok bool) {
	n := args[0].Int()
	if n < 0 {
		return nil, args[1], false
	}
	return Received(n, args[1]), js.Value{}, true
}

// Received copies the n bytes JS wrote to the wire; grown is the wire's new
// buffer when writing grew it (JS passes it along then), else undefined.
// The bytes are valid until the next call: they are read during the call
// that delivered them (Decode's results do not alias them), so one buffer
// serves every message.
func Received(n int, grown js.Value) []byte {
	if grown.Truthy() {
		wireIn = grown
	}
	received = sized(received, cap(received), n)
	js.CopyBytesToGo(received, wireIn)
	return received
}

// sized returns buf[:n] if buf, of c bytes, holds n bytes, else a new
// buffer of bufSize. A buffer grown past WireKeep serves while messages
// past it come (warm memory), and is let go at the first smaller one, not
// kept for good.
func sized(buf []byte, c, n int) []byte {
	if n <= c && (c <= WireKeep || n > WireKeep) {
		return buf[:n]
	}
	return make([]byte, n, bufSize(c, n))
}

// bufSize is the size of a new buffer for a message of n bytes, where the
// last held c: twice as large as messages grow, up to WireKeep; past it,
// the message's size.
func bufSize(c, n int) int {
	if n > WireKeep {
		return n
	}
	if c > WireKeep {
		c = 0 // a large message's, let go: start small again
	}
	return min(max(n, 2*c), WireKeep)
}

// received holds the bytes of the message being read.
var received []byte

// ReceivedNow copies the n bytes a JS caller of codec.encode (or end) just
// wrote, wherever the wire's buffer now is.
func ReceivedNow(n int) []byte { return Received(n, wire.Get("in")) }

// DecodeReceived decodes a value from bytes JS wrote. The large byte arrays
// the writer set aside are read from the wire, so call it during the call
// that delivered the bytes.
func DecodeReceived(b []byte) (any, error) {
	v, _, err := Decode(b, func(i int) any {
		refsCopied = true
		return bytesFromJS(wireRefs.Index(i))
	})
	if err != nil {
		return nil, fmt.Errorf("values: unreadable value from JS: %w", err)
	}
	return v, nil
}

// ReceivedItem is the i-th value the writer of the message kept as it came
// (wire.items), valid during the call that delivered the message.
func ReceivedItem(i int) js.Value { return codecItem.Invoke(i) }

// ReceivedHeld is ReceivedItem kept in JS's table of held values: Go gets
// only its slot, and no reference with a finalizer (~10% of the page's
// thread in a flood of the JS API's tasks, all in runtime.SetFinalizer).
// The value crosses back to JS reads times (at least once), and the last
// lets go of the slot.
func ReceivedHeld(i, reads int) Held {
	return Held{Value: int32(codecHold.Invoke(i, reads).Int()), List: -1, Take: true}
}

// Take returns the value JS holds for h and lets go of its slot: a value
// that JS kept for Go as it came (codec.keep), read once.
func Take(h Held) js.Value { return codecTake.Invoke(h.Value) }

// Release lets go of the slot of a value JS holds for Go, which Go will not
// take. Call it once: the slot may hold another value after.
func Release(h Held) { codecRelease.Invoke(h.Value) }

// refsCopied says that Go copied large byte arrays out of the message being
// handled, whose buffers receive then offers for reuse.
var refsCopied bool

// receive hands the bytes of a message to r's onWire; then the buffers of
// the byte arrays it copied become spares for the next []byte Go sends of
// the same size (see codec.recycle).
func (r *Receiver) receive(b []byte) {
	refsCopied = false
	r.onWire(b)
	if refsCopied {
		refsCopied = false
		codecRecycle.Invoke()
	}
}
