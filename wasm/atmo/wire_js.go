//go:build js && wasm

package atmo

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The hot path of the wire, shared by every transport. A task's params
// cross syscall/js as bytes (values.Send) that a small JS function turns
// into the seed's worker-work message, and the answers of one message from
// a worker cross back as bytes the message listener wrote, in one copy each
// way (see wasm/internal/values/wire_js.go for why). The messages between
// threads are still the seed's.

// wireJS holds the JS side of the wire, created once.
var wireJS = js.Global().Get("Function").New("codec", `
const taskId = (seq) => 'task-' + seq;
const post = codec.post;
// A transferable moved already (a MessagePort the browser calls
// "neutered", an OffscreenCanvas or an ImageBitmap it calls "detached"):
// its own words, and that it cannot move twice.
const movedBefore = /\b(neutered|detached)\b/i;
// failLater fails the tasks whose params could not be posted (structured
// clone refused one of their values): after this call, an error answer for
// each reaches the worker's own message listeners, as the worker's answers
// do, so that the task fails instead of waiting for an answer that will
// not come.
const failLater = (port, ids, err) => {
  // A buffer moved already (codec.post says so) needs no hint about
  // what structured clone accepts: its message says what to do; nor does
  // another transferable moved already, which is told so.
  const text = String((err && err.message) || err);
  const hint = err && err.movedAlready ? ''
    : movedBefore.test(text) ? ' (it was moved already, or closed: each transferable can be transferred once; send a fresh one)'
    : ' (pass values that structured clone accepts: no functions, symbols or DOM nodes)';
  const error = 'atmo: the task\'s params could not be posted to the worker: ' + text + hint;
  const data = { message: 'worker-response-batch', content: ids.map((taskId) => ({ taskId, error })) };
  queueMicrotask(() => (typeof port.dispatchEvent === 'function' ? port.dispatchEvent(new MessageEvent('message', { data })) : port.emit('message', data)));
};
// pageAwake keeps the page's thread awake after it posts a task, for as
// long as Go says (the worker's KeepAwake, or LoneTaskAwake for a task the
// TaskManager holds alone: TaskWorker.awake), until a worker's next
// message comes: a sleeping thread's wake-up is the dearest part of a
// round trip on a virtual machine, and here the answer finds the page
// awake. As in jsworker/atmo-worker.js, the time passes as a chain of
// background tasks (scheduler.postTask), each a ~5 µs spin, so that the
// page takes any other task between two; a spin is a count of clock
// readings, calibrated at the first start, as performance.now() is
// coarsened to 100 µs outside cross-origin isolation.
// Where scheduler.postTask is missing (Node.js) it does nothing.
const pageAwake = (() => {
  const post = typeof scheduler === 'object' && scheduler && typeof scheduler.postTask === 'function'
    ? (fn) => scheduler.postTask(fn, { priority: 'background' })
    : null;
  const linkUs = 5;
  let slice = 0; // clock readings in a link
  let left = 0; // links still to run
  let queued = false; // one link at most is waiting to run
  const link = () => {
    queued = false;
    if (left <= 0) return;
    left--;
    for (let i = 0; i < slice; i++) performance.now();
    queued = true;
    post(link);
  };
  return {
    start(us) {
      if (!post || !(us > 0)) return;
      if (!slice) {
        let reads = 0;
        const end = performance.now() + 2;
        while (performance.now() < end) reads++;
        slice = Math.max(1, Math.ceil((reads / 2000) * linkUs));
      }
      left = Math.max(left, Math.ceil(us / linkUs));
      if (!queued) {
        queued = true;
        post(link);
      }
    },
    stop() {
      left = 0;
    },
  };
})();
const work = (wid, taskId, name, params) => ({ message: 'worker-work', taskId, workerId: wid, content: { name, params } });
// sendOne posts one worker-work message with the params Go wrote. With
// keep (Go's keepMode: RAW or COPY), the task's answer stays in JS (see
// answers). The page then stays awake for up to awake µs (see pageAwake);
// lone, when above 0, asks the worker in the message's awake field to stay
// awake that many µs once it has answered (atmo's workers read it; seed
// scripts ignore it).
const sendOne = (port, q, seq, wid, name, r, t, keep, awake, lone) => {
  if (keep) q.keep.set(seq, keep);
  const list = t || [];
  const m = work(wid, taskId(seq), name, codec.read(r, list));
  if (lone) m.awake = lone;
  try {
    post(port, m, list);
    pageAwake.start(awake);
  } catch (err) {
    failLater(port, [m.taskId], err);
  }
};
// queueWork adds a task to a batch posted at the end of the current turn,
// as worker-work-batch (to workers that said they take batches). Each
// task's buffers follow one another in q.transfer, from q.starts[i].
//
// A buffer that another task of the batch moves already is not posted
// twice in one message, which would hand both tasks the one buffer (the
// second finding it empty once the first moved it back): the task fails,
// as it would posted alone after the other (codec.post).
const queueWork = (port, q, seq, wid, name, r, t, keep) => {
  const start = q.transfer.length;
  const params = codec.read(r, q.transfer); // read in any case: it empties the wire's set-aside values
  if (t) for (const b of t) q.transfer.push(b);
  if (start > 0 && movesAgain(q.transfer, start)) {
    q.transfer.length = start;
    failLater(port, [taskId(seq)], movedByAnother());
    return;
  }
  if (keep) q.keep.set(seq, keep);
  q.seqs.push(seq);
  q.starts.push(start);
  q.items.push({ taskId: taskId(seq), name, params });
  if (q.items.length === 1) queueMicrotask(() => flush(port, q, wid));
};
// movesAgain says whether a buffer of list from start on is one before it.
const movesAgain = (list, start) => {
  for (let i = start; i < list.length; i++) if (list.indexOf(list[i]) < start) return true;
  return false;
};
const movedByAnother = () => Object.assign(new Error('an ArrayBuffer in the transfer list is moved by another task sent with it: each buffer can be transferred once'), { movedAlready: true });
// flush posts the batch now; any other message to the worker (a cancel)
// flushes first, so that the worker sees everything in order.
const flush = (port, q, wid) => {
  const items = q.items, list = q.transfer, starts = q.starts;
  if (items.length === 0) return;
  q.items = []; q.transfer = []; q.starts = []; q.seqs = [];
  const one = (i, l) => post(port, work(wid, items[i].taskId, items[i].name, items[i].params), l);
  try {
    if (items.length === 1) one(0, list);
    else post(port, { message: 'worker-work-batch', workerId: wid, content: items }, list);
  } catch (err) {
    // One task's params spoil the batch: post each task alone, with its
    // own buffers, so that the others still go and only that one fails.
    if (items.length === 1) {
      failLater(port, [items[0].taskId], err);
      return;
    }
    for (let i = 0; i < items.length; i++) {
      try {
        one(i, list.slice(starts[i], starts[i + 1]));
      } catch (e) {
        failLater(port, [items[i].taskId], e);
      }
    }
  }
};

// RAW and COPY are Go's keepRaw and keepCopy: a task's keep mode, in its
// queue's keep. copies are the copies answers made of the answers of the
// message being read, by their place in it, which Go takes (copied, or
// holdCopied) while it reads the message; then listen lets them go.
const RAW = 1, COPY = 2;
const copies = [];
const copied = (i) => copies[i];
const holdCopied = (i) => codec.hold(copies[i], 1);
// answers writes worker-response and worker-response-batch messages to the
// wire: a count, then for each answer N (or -N for an error, or 0 for an id
// that is not one the TaskManager made) as a float64, the byte length of
// what follows, and the content or the error; each also stays as it came,
// in wire.items. The content of a task kept RAW (one that takes its result
// as the worker sent it) is not written: its length is 0, which no written
// value has; nor is that of an answer with an id not ours, which Go
// ignores. Nor is that of a task kept COPY, whose content is copied by the
// value rules (codec.copy) into copies[i] for Go to take: one that cannot
// be read is written as its failure, as the content of a task not kept is.
// A worker-progress message is written as one answer, after -1 where the
// count goes (see progress). It returns the length, or -1 for any other
// message, which takes the general path.
const answers = (d, q) => {
  const keep = q.keep;
  if (d === null || typeof d !== 'object') return -1;
  if (d.message === 'worker-progress') return progress(d);
  let items;
  if (d.message === 'worker-response') items = [d];
  else if (d.message === 'worker-response-batch' && Array.isArray(d.content)) items = d.content;
  else return -1;
  if (items.length > q.most) {
    // More answers than the worker can have tasks: a sparse array from a
    // bad worker, which structured clone carries cheaply and which would
    // take seconds to walk. It is written as one answer that is not ours:
    // ignored, and counted once.
    codec.begin();
    codec.num(1);
    codec.wire.items.push(undefined);
    codec.num(0);
    codec.fill(codec.slot());
    return codec.end();
  }
  const n = items.length;
  codec.begin();
  codec.num(n);
  for (let i = 0; i < n; i++) {
    const it = items[i], seq = seqOf(it);
    if (seq === 0) {
      codec.wire.items.push(undefined);
      codec.num(0);
      codec.fill(codec.slot());
      continue;
    }
    const e = it.error;
    const failed = !!e; // as the seed read it: if (e.error)
    const v = failed ? e : it.content;
    codec.wire.items.push(v);
    const start = codec.mark();
    codec.num(failed ? -seq : seq);
    let at = codec.slot();
    const kept = keep.get(seq);
    if (kept !== undefined) keep.delete(seq);
    if (kept === RAW && !failed) {
      codec.fill(at); // kept in JS: Go takes wire.items[i]
      continue;
    }
    try {
      if (kept === COPY && !failed) copies[i] = codec.copy(v); // kept in JS, copied: Go takes copies[i] (nothing written)
      else codec.value(v, 0);
    } catch (err) {
      // An answer Go cannot read fails its task, saying why.
      codec.rewind(start);
      codec.num(-seq);
      at = codec.slot();
      codec.value('atmo: the worker\'s answer cannot be read: ' + ((err && err.message) || err), 0);
    }
    codec.fill(at);
  }
  return codec.end();
};
// progress writes a progress report as answers write an answer, its N
// after -1; a report with an id not ours takes the general path, to be
// ignored there, and one whose content cannot be read (a graph of shared
// objects too large as a tree, a getter that throws) is written with 0 for
// N, which Go ignores too, so that the page never reads it object by
// object.
const progress = (d) => {
  const seq = seqOf(d);
  if (seq === 0) return -1;
  codec.begin();
  codec.num(-1);
  codec.wire.items.push(d.content);
  const start = codec.mark();
  codec.num(seq);
  let at = codec.slot();
  try {
    codec.value(d.content, 0);
  } catch (err) {
    codec.rewind(start);
    codec.num(0);
    at = codec.slot();
  }
  codec.fill(at);
  return codec.end();
};
// seqOf is N for an answer to "task-N", the id as the TaskManager wrote
// it, else 0: "task-07" or "task-7.0" read as 7 too, but are other ids.
const seqOf = (it) => {
  const t = it && it.taskId;
  if (typeof t !== 'string' || !t.startsWith('task-')) return 0;
  const digits = t.slice(5), seq = Number(digits);
  return Number.isSafeInteger(seq) && seq > 0 && String(seq) === digits ? seq : 0;
};
// listen makes the message listener for a worker whose queue is q: answers
// reach Go as bytes, anything else as it came (see codec.deliver). Node's
// worker_threads pass the data itself, the Web's an event.
const listen = (r, node, q) => {
  const write = (d) => answers(d, q);
  return (m) => {
    pageAwake.stop(); // the worker answered (or said something)
    try {
      return codec.deliver(r, write, node ? m : m.data);
    } finally {
      copies.length = 0;
    }
  };
};
// newQueue makes a worker's batch of this turn, and the keep modes of its
// tasks whose answers stay in JS. most is the most answers a batch from it may
// hold: one per task it may have in flight (its Concurrency), with room for
// a few it should not have sent (see answers).
const newQueue = (concurrency) => ({ items: [], transfer: [], starts: [], seqs: [], keep: new Map(), most: concurrency + 1024 });
// drop empties the batch of this turn without posting it (its worker goes
// down) and returns the seqs of its tasks, whose buffers stay where they are.
const drop = (q) => {
  const seqs = q.seqs;
  for (const s of seqs) q.keep.delete(s);
  q.items = []; q.transfer = []; q.starts = []; q.seqs = [];
  return seqs;
};
// unqueue takes task seq out of the batch of this turn, not posted yet,
// and says whether it was there: a task cancelled in the turn it joined
// the batch never reaches its worker, and its buffers stay where they are.
const unqueue = (q, seq) => {
  const i = q.seqs.indexOf(seq);
  if (i < 0) return false;
  const from = q.starts[i], n = (i + 1 < q.starts.length ? q.starts[i + 1] : q.transfer.length) - from;
  q.transfer.splice(from, n);
  for (let j = i + 1; j < q.starts.length; j++) q.starts[j] -= n;
  q.starts.splice(i, 1); q.seqs.splice(i, 1); q.items.splice(i, 1);
  q.keep.delete(seq);
  return true;
};
return { sendOne, queueWork, flush, drop, unqueue, listen, newQueue, copied, holdCopied };
`).Invoke(values.Codec)

var (
	wireSendOne   = wireJS.Get("sendOne")
	wireQueueWork = wireJS.Get("queueWork")
	wireFlush     = wireJS.Get("flush")
	wireDrop      = wireJS.Get("drop")
	wireUnqueue   = wireJS.Get("unqueue")
	wireListen    = wireJS.Get("listen")
	wireNewQueue  = wireJS.Get("newQueue")
	wireCopied    = wireJS.Get("copied")
	wireHoldCopy  = wireJS.Get("holdCopied")
)

// receiveWire reads the answers the listener wrote to the wire. What it
// returns is valid during the call that delivered them, like the bytes:
// the slices are reused for the next message.
func receiveWire(buf []byte) []inbound {
	count := int(math.Float64frombits(binary.LittleEndian.Uint64(buf)))
	buf = buf[8:]
	kind := KindWorkerResponse
	if count < 0 { // a progress report (see progress)
		count, kind = 1, KindWorkerProgress
	}
	ins, contents := slices.Grow(wireIns[:0], count), slices.Grow(wireContents[:0], count) // &contents[i] stays put
	for i := range count {
		code := math.Float64frombits(binary.LittleEndian.Uint64(buf))
		size := int(binary.LittleEndian.Uint32(buf[8:]))
		var b []byte
		if size > 0 { // else kept in JS (see answers)
			b = buf[12 : 12+size]
		}
		buf = buf[12+size:]
		in := inbound{kind: kind}
		if code == 0 { // an id the TaskManager did not make: ignored
			ins = append(ins, in)
			continue
		}
		contents = append(contents, wireContent{b: b, i: i})
		c := &contents[len(contents)-1]
		if code < 0 {
			code = -code
			in.err = failedText(c.decode())
		} else {
			in.content = c
		}
		in.task = uint64(code)
		ins = append(ins, in)
	}
	wireIns, wireContents = ins, contents
	return ins
}

// The answers of the message being read, kept from one message to the next
// so that reading them allocates only their task ids.
var (
	wireIns      []inbound
	wireContents []wireContent
)

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
	if c.b == nil { // kept in JS (see answers): not reached, as a kept answer is a RawResult's or a copied one, which take raw, held or copied
		return values.FromJS(values.ReceivedItem(c.i))
	}
	v, err := values.DecodeReceived(c.b)
	if err != nil {
		return fmt.Sprintf("atmo: %v", err) // not reached: JS wrote it
	}
	return v
}

// raw is the answer as it came, for a RawResult task. Go lets go of it only
// when a collection finalizes it: its buffers count towards one (see
// values.HeldNow), or a program that reads large raw results and drops
// them would hold them all until its Go heap called for a collection.
func (c wireContent) raw() any {
	v := values.ReceivedItem(c.i)
	values.HeldNow(v)
	return v
}

func (c wireContent) held(reads int) any { return values.ReceivedHeld(c.i, reads) }

// copied is the copy JS made of a keepCopy task's answer (see answers): as
// held, the slot JS holds it in, read once; else the JS value, which counts
// towards a collection as raw's does. The copy is the task's own: it
// shares no buffer with the message.
func (c wireContent) copied(hold bool) any {
	if hold {
		return values.Held{Value: int32(wireHoldCopy.Invoke(c.i).Int()), List: -1, Take: true}
	}
	v := wireCopied.Invoke(c.i)
	values.HeldNow(v)
	return v
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
