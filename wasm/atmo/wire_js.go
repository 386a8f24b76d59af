//go:build js && wasm

package atmo

import (
	"encoding/binary"
	"math"
	"strconv"
	"syscall/js"
)

// The hot path of the wire, shared by every transport. Each call from Go to
// JS costs a crossing, and each JS object or string brought into Go costs
// more (a finalizer, a copy), so the common messages are packed and
// unpacked by small JS functions in one crossing each, and only the task's
// content is converted with fromJS.

// wireJS holds the JS side of the wire, created once.
var wireJS = js.Global().Get("Function").New(`
const taskId = (seq) => 'task-' + seq;
// sendOne posts one worker-work message.
const sendOne = (port, seq, wid, name, params, transfer) =>
  port.postMessage({ message: 'worker-work', taskId: taskId(seq), workerId: wid, content: { name, params } }, transfer || []);
// queueWork adds a task to a batch posted at the end of the current turn,
// as worker-work-batch (to workers that said they take batches).
const queueWork = (port, q, seq, wid, name, params, transfer) => {
  q.items.push({ taskId: taskId(seq), name, params });
  if (transfer) for (const b of transfer) q.transfer.push(b);
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
// unpack reads worker-response and worker-response-batch messages whose
// task ids are ours ("task-N"): [codes, values], codes a Float64Array (as
// bytes) of N, or -N for an error, values the contents or the errors. Any
// other message gives null and takes the general path.
const unpack = (d) => {
  if (d === null || typeof d !== 'object') return null;
  let items;
  if (d.message === 'worker-response') items = [d];
  else if (d.message === 'worker-response-batch' && Array.isArray(d.content)) items = d.content;
  else return null;
  const n = items.length, codes = new Float64Array(n), values = new Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i], t = it && it.taskId;
    if (typeof t !== 'string' || !t.startsWith('task-')) return null;
    const seq = Number(t.slice(5));
    if (!Number.isSafeInteger(seq) || seq <= 0) return null;
    const e = it.error;
    const failed = !(e === undefined || e === null || e === '' || e === false);
    codes[i] = failed ? -seq : seq;
    values[i] = failed ? e : it.content;
  }
  return [new Uint8Array(codes.buffer), values];
};
const newQueue = () => ({ items: [], transfer: [] });
return { sendOne, queueWork, flush, unpack, newQueue };
`).Invoke()

var (
	wireSendOne   = wireJS.Get("sendOne")
	wireQueueWork = wireJS.Get("queueWork")
	wireFlush     = wireJS.Get("flush")
	wireUnpack    = wireJS.Get("unpack")
	wireNewQueue  = wireJS.Get("newQueue")
)

// taskSeq is the number in a task id made by the TaskManager ("task-N").
func taskSeq(id string) float64 {
	n, _ := strconv.ParseFloat(id[len("task-"):], 64)
	return n
}

// unpackResponses reads the responses in data by the fast path; ok is false
// for any other message, which then takes decodeInbounds.
func unpackResponses(data js.Value) (out []inbound, ok bool) {
	r := wireUnpack.Invoke(data)
	if r.IsNull() {
		return nil, false
	}
	codesJS, values := r.Index(0), r.Index(1)
	buf := make([]byte, codesJS.Length())
	js.CopyBytesToGo(buf, codesJS)
	out = make([]inbound, len(buf)/8)
	for i := range out {
		code := math.Float64frombits(binary.LittleEndian.Uint64(buf[i*8:]))
		in := inbound{kind: KindWorkerResponse}
		v := values.Index(i)
		if code < 0 {
			code = -code
			in.err = errorText(fromJS(v))
		} else {
			in.content = jsContent{v}
		}
		in.taskID = "task-" + strconv.FormatInt(int64(code), 10)
		out[i] = in
	}
	return out, true
}

// jsContent is a task's content still in JS: the core converts it when the
// task settles (not at all for a late answer), or hands it over as it is to
// a task that asked for TaskParams.RawResult.
type jsContent struct{ v js.Value }

func (c jsContent) decode() any { return fromJS(c.v) }
func (c jsContent) raw() any    { return c.v }

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
