//go:build js && wasm

package values

import (
	"fmt"
	"math"
	"strings"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wire must read every value exactly as the general path (FromJS and
// ToJS) does. These tests compare the two on random values, seeded, so
// that a failure can be replayed.

// randomJS makes n random JS values: every kind FromJS has a rule for,
// nested, with strings that are ASCII, non-ASCII, long and broken (lone
// surrogates), and byte arrays above and below InlineBytes.
var randomJS = js.Global().Get("Function").New("seed", "n", "INLINE", `
let s = seed >>> 0;
const rnd = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const str = () => pick(['', 'a', 'task-1', 'héllo', '世界', '😀', '\ud800', 'x'.repeat(100), 'é'.repeat(40), 'ab€'.repeat(3000), '__proto__', 'constructor']);
// Keys have no lone surrogate: FromJS looks a key up again by its UTF-8
// text, in which a lone surrogate became U+FFFD, so it loses such a key's
// value (the wire keeps it).
const key = () => pick(['', 'a', 'task-1', 'héllo', '世界', '😀', 'x'.repeat(100), '__proto__', 'constructor']);
const num = () => pick([0, -0, 1, -1.5, 2 ** 53, 1e-300, NaN, Infinity, -Infinity, rnd()]);
const bytes = () => {
  const n = pick([0, 3, INLINE, INLINE + 1, 100000]);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 97) b[i] = i & 255;
  return pick([b, b.buffer, new Int16Array(b.buffer, 0, n >> 1), new DataView(b.buffer), b.subarray(1)]);
};
const value = (depth) => {
  const leaf = depth > 4 || rnd() < 0.4;
  switch (Math.floor(rnd() * (leaf ? 7 : 9))) {
    case 0: return null;
    case 1: return undefined;
    case 2: return rnd() < 0.5;
    case 3: return num();
    case 4: return str();
    case 5: return pick([new Date(0), new Date(NaN), new Date(Date.UTC(2026, 10, 25, 12))]);
    case 6: return rnd() < 0.5 ? bytes() : new RangeError(str());
    case 7: { const a = []; const n = Math.floor(rnd() * 5); for (let i = 0; i < n; i++) a.push(value(depth + 1)); if (rnd() < 0.2) a.length += 2; return a; }
    default: { const o = {}; const n = Math.floor(rnd() * 5); for (let i = 0; i < n; i++) { const k = key(); if (k === '__proto__') Object.defineProperty(o, k, { value: value(depth + 1), enumerable: true, configurable: true, writable: true }); else o[k] = value(depth + 1); } return o; }
  }
};
return Array.from({ length: n }, () => value(0));
`)

// same fails at the first place where got differs from want, naming it.
func same(t *testing.T, want, got any, where string) {
	t.Helper()
	if d := differ(want, got, "value"); d != "" {
		t.Fatalf("%s: %s", where, d)
	}
}

func differ(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want a map of %d keys, got %T %s", path, len(w), got, short(got))
		}
		for k, v := range w {
			if d := differ(v, g[k], path+"."+short(k)); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %d items, got %T %s", path, len(w), got, short(got))
		}
		for i := range w {
			if d := differ(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if w, ok := want.(float64); ok {
		if g, ok := got.(float64); ok && (w == g || w != w && g != g) {
			return "" // FromJS reads -0 as 0: syscall/js stores every zero as one value
		}
	}
	if a, b := fmt.Sprintf("%#v", want), fmt.Sprintf("%#v", got); a != b { // %#v: types show
		return fmt.Sprintf("%s: want %s, got %s", path, short(a), short(b))
	}
	return ""
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		s = fmt.Sprintf("%s… (%d bytes)", s[:80], len(s))
	}
	return s
}

func TestTheWireReadsJSValuesAsFromJSDoes(t *testing.T) {
	for _, fast := range []bool{true, false} {
		on := SetHop(fast)
		t.Logf("through the wasm export: %v", on)
		for seed := 1; seed <= 20; seed++ {
			vs := randomJS.Invoke(seed, 50, InlineBytes)
			for i := 0; i < vs.Length(); i++ {
				v := vs.Index(i)
				// As the listeners do: deliver writes v and hands Go the bytes.
				var got any
				var err error
				var written bool
				r := NewReceiver(func(b []byte) {
					written = true
					got, err = DecodeReceived(b)
				}, func(js.Value) {})
				Codec.Call("deliver", r.JS, Codec.Get("encode"), v)
				r.Release()
				require.True(t, written, "seed %d, value %d: written to the wire", seed, i)
				require.NoError(t, err)
				same(t, FromJS(v), got, fmt.Sprintf("seed %d, value %d", seed, i))
			}
		}
	}
	SetHop(true)
}

func TestTheWireWritesGoValuesAsToJSDoes(t *testing.T) {
	for seed := 1; seed <= 20; seed++ {
		vs := randomJS.Invoke(seed, 50, InlineBytes)
		for i := 0; i < vs.Length(); i++ {
			tree := FromJS(vs.Index(i)) // a normalized Go tree of every shape
			refs, transfer := Send(tree)
			list := js.Global().Get("Array").New()
			back := Codec.Call("read", js.ValueOf(refs), list)
			same(t, FromJS(ToJS(tree, nil)), FromJS(back), fmt.Sprintf("seed %d, value %d", seed, i))
			var want []any
			ToJS(tree, &want)
			require.Equal(t, len(want), list.Length()+lenOf(transfer), "seed %d, value %d: every fresh buffer is listed for transfer", seed, i)
		}
	}
}

func TestAnObjectReachesJSWithItsKeysSortedWhateverGosMapOrder(t *testing.T) {
	// As encoding/json writes a map: JSON.stringify of the same value gives
	// the same text every time (a cache key, a signature).
	m := map[string]any{}
	var want []string
	for i := range 40 {
		k := fmt.Sprintf("k%02d", i)
		m[k] = float64(i)
		want = append(want, k)
	}
	m["__proto__"] = "a key"
	want = append([]string{"__proto__"}, want...)
	keys := js.Global().Get("Object").Get("keys")
	read := func(v js.Value) []string {
		var out []string
		ks := keys.Invoke(v)
		for i := 0; i < ks.Length(); i++ {
			out = append(out, ks.Index(i).String())
		}
		return out
	}
	for range 5 {
		refs, _ := Send(map[string]any{"nested": m})
		back := Codec.Call("read", js.ValueOf(refs), js.Global().Get("Array").New())
		require.Equal(t, want, read(back.Get("nested")), "by the wire")
		require.Equal(t, want, read(ToJS(m, nil)), "by ToJS")
	}
}

func TestSendingAValueThatSetsNothingAsideAllocatesNothing(t *testing.T) {
	v := map[string]any{"i": 1.0, "name": "echo", "list": []any{true, "x"}}
	Send(v) // the wire grows once
	require.Zero(t, testing.AllocsPerRun(100, func() { Send(v) }), "a task's params and a turn's answers cross on every task")
	refs, _ := Send(map[string]any{"b": make([]byte, InlineBytes+1)})
	require.NotNil(t, refs, "large bytes are set aside")
	require.Zero(t, testing.AllocsPerRun(100, func() { Send(v) }), "and the slice that held them is reused, not kept growing")
}

func TestAHeldValueMarkedTakeIsLetGoAsItIsRead(t *testing.T) {
	v := js.Global().Get("Object").New()
	slot := Codec.Call("hold", v).Int()
	refs, _ := Send([]any{Held{Value: int32(slot), List: -1, Take: true}})
	got := Codec.Call("read", js.ValueOf(refs), js.Global().Get("Array").New()).Index(0)
	require.True(t, got.Equal(v), "the very object JS held")
	require.True(t, Codec.Get("held").Get("values").Index(slot).IsUndefined(), "and its slot is free once read")
	again := Codec.Call("hold", js.ValueOf("next")).Int()
	require.Equal(t, slot, again, "for the next value to hold")
	Codec.Call("release", again)
}

func TestAHeldValueIsReadBackAsItselfUntilReleased(t *testing.T) {
	v := js.Global().Get("Object").New()
	buf := js.Global().Get("ArrayBuffer").New(8)
	list := js.Global().Get("Array").New(buf)
	slot, listSlot := Codec.Call("hold", v).Int(), Codec.Call("hold", list).Int()
	read := func(h Held) (js.Value, js.Value) {
		refs, _ := Send(map[string]any{"params": h})
		transfer := js.Global().Get("Array").New()
		return Codec.Call("read", js.ValueOf(refs), transfer).Get("params"), transfer
	}
	for range 2 { // a task sent again (a retry) reads the same value
		got, transfer := read(Held{Value: int32(slot), List: int32(listSlot)})
		require.True(t, got.Equal(v), "the very object JS holds, not a copy")
		require.Equal(t, 1, transfer.Length())
		require.True(t, transfer.Index(0).Equal(buf), "its transfer list is added to the message's")
	}
	got, transfer := read(Held{Value: int32(slot), List: -1})
	require.True(t, got.Equal(v))
	require.Zero(t, transfer.Length(), "no list, nothing moved")

	Codec.Call("release", slot)
	Codec.Call("release", slot) // twice is harmless
	Codec.Call("release", listSlot)
	require.True(t, Codec.Get("held").Get("values").Index(slot).IsUndefined(), "a released value is let go")
	again := Codec.Call("hold", js.ValueOf("next")).Int()
	require.Contains(t, []int{slot, listSlot}, again, "a released slot is reused")
	Codec.Call("release", again)
}

func lenOf(transfer any) int {
	l, _ := transfer.([]any)
	return len(l)
}

// recycledMessage makes {data: Uint8Array(n)} filled with 7, or a view of
// part of a larger buffer with part, and returns it with its buffer.
var recycledMessage = js.Global().Get("Function").New("n", "part", `
const b = new Uint8Array(part ? n + 8 : n).fill(7);
const data = part ? b.subarray(8) : b;
return { msg: { data }, buffer: b.buffer };`)

// takeRaw writes a message as codec.encode does, and also keeps it as it
// came, as atmo's answers listener does for RawResult.
var takeRaw = js.Global().Get("Function").New("codec", `
return (d) => { codec.begin(); codec.value(d, 0); codec.wire.items.push(d); return codec.end(); };`).Invoke(Codec)

// receiveLarge delivers a message with n large bytes and checks that Go got
// them; raw also takes the message as it came.
func receiveLarge(t *testing.T, n int, part, raw bool) js.Value {
	t.Helper()
	m := recycledMessage.Invoke(n, part)
	var got any
	var err error
	r := NewReceiver(func(b []byte) {
		if raw {
			ReceivedItem(0)
		}
		got, err = DecodeReceived(b)
	}, func(js.Value) {})
	defer r.Release()
	write := Codec.Get("encode")
	if raw {
		write = takeRaw
	}
	Codec.Call("deliver", r.JS, write, m.Get("msg"))
	require.NoError(t, err)
	data, _ := got.(map[string]any)["data"].([]byte)
	require.Len(t, data, n)
	require.Equal(t, byte(7), data[n-1])
	return m.Get("buffer")
}

func TestLargeBytesGoCopiedFromAMessageLendTheirBufferToTheNextOfTheirSize(t *testing.T) {
	const n = 4 * InlineBytes
	out := make([]byte, BigCopy)
	for i := range out {
		out[i] = 9
	}
	// BigCopy bytes also collect garbage first (CollectBeforeCopy), in the
	// listener: on the export's path and inside a js.Func.
	for _, size := range []int{n, BigCopy} {
		for _, fast := range []bool{true, false} {
			SetHop(fast)
			used := receiveLarge(t, size, false, false)
			a := ToJS(out[:size], nil)
			require.True(t, a.Get("buffer").Equal(used), "%d bytes, hop %v: the buffer Go copied from is reused", size, fast)
			require.Equal(t, 9, a.Index(size-1).Int(), "and holds the bytes sent")
			require.False(t, ToJS(out[:size], nil).Get("buffer").Equal(used), "a spare serves once")

			receiveLarge(t, size, false, false)
			require.Equal(t, size-1, ToJS(out[:size-1], nil).Length(), "a spare only serves its own size")
		}
	}
	SetHop(true)

	t.Run("never a buffer Go took as it came, or part of a larger one", func(t *testing.T) {
		raw := receiveLarge(t, n, false, true)
		require.False(t, ToJS(out[:n], nil).Get("buffer").Equal(raw))
		part := receiveLarge(t, n, true, false)
		require.False(t, ToJS(out[:n], nil).Get("buffer").Equal(part))
	})
}

func TestCopyGivesBackWhatGoWouldWithoutGo(t *testing.T) {
	for seed := 1; seed <= 20; seed++ {
		vs := randomJS.Invoke(seed, 50, InlineBytes)
		for i := 0; i < vs.Length(); i++ {
			v := vs.Index(i)
			got := Codec.Call("copy", v)
			same(t, FromJS(ToJS(FromJS(v), nil)), FromJS(got), fmt.Sprintf("seed %d, value %d", seed, i))
		}
	}
	big := js.Global().Get("Uint8Array").New(InlineBytes + 1)
	got := Codec.Call("copy", map[string]any{"b": big})
	require.False(t, got.Get("b").Get("buffer").Equal(big.Get("buffer")), "large bytes come back as a copy, as from Go")
	keys := js.Global().Get("Object").Call("keys", Codec.Call("copy", js.Global().Get("JSON").Call("parse", `{"z":1,"a":2,"m":3}`)))
	require.Equal(t, "z,a,m", keys.Call("join").String(), "keys keep their order")
}

func TestCopyDuringADeliveryLeavesTheMessageWhole(t *testing.T) {
	// copy may run while Go reads a message (atmo.js settling the answers of
	// the last turn): the message's bytes and set-aside arrays stay put.
	msg := js.Global().Get("Object").New()
	msg.Set("big", js.Global().Get("Uint8Array").New(InlineBytes+1).Call("fill", 7))
	msg.Set("text", "héllo")
	var got any
	r := NewReceiver(func(b []byte) {
		Codec.Call("copy", []any{"x", js.Global().Get("Uint8Array").New(InlineBytes + 5)})
		var err error
		got, err = DecodeReceived(b)
		require.NoError(t, err)
	}, func(js.Value) {})
	defer r.Release()
	Codec.Call("deliver", r.JS, Codec.Get("encode"), msg)
	m := got.(map[string]any)
	require.Equal(t, "héllo", m["text"])
	require.Len(t, m["big"], InlineBytes+1)
	require.Equal(t, byte(7), m["big"].([]byte)[0])
}

func TestParamsMoveBuffersOnlyWithATransfer(t *testing.T) {
	buf := js.Global().Get("ArrayBuffer").New(8)
	list := js.Global().Get("Array").New(buf)
	for _, c := range []struct {
		v     any
		moves bool
	}{
		{Moved{Value: buf}, true},
		{Preencoded(map[string]any{"a": 1.0, "data": Moved{Value: buf}}), true},
		{Preencoded([]any{"x", Carrying{Value: buf, List: list}}), true},
		{Carrying{Value: buf, List: js.Global().Get("Array").New()}, false},
		{Held{Value: 1, List: 2}, true},
		{Held{Value: 1, List: -1}, false},
		{buf, false},
		{Preencoded(map[string]any{"data": buf, "bytes": make([]byte, 2*InlineBytes)}), false},
		{nil, false},
	} {
		require.Equal(t, c.moves, Moves(c.v), "%#v", c.v)
	}
}

// graphs are JS values that structured clone keeps as graphs: cycles, and
// shared references that, read as a tree, make more arrays and objects than
// the wire takes.
var graphs = js.Global().Get("Function").New(`
const root = { name: 'root', kids: [] };
root.self = root;
for (const name of ['a', 'b']) root.kids.push({ name, parent: root, siblings: root.kids });
let shared = { leaf: true };
for (let i = 0; i < 30; i++) shared = { l: shared, r: shared }; // 2^31 nodes as a tree
const twice = { x: 1 };
return { cyclic: root, exploding: shared, sharedOnce: { a: twice, b: [twice, twice] } };
`)

func TestCyclesAndSharedReferencesFromJSAreReadAsATreeWithoutBlowingUp(t *testing.T) {
	g := graphs.Invoke()
	wantCyclic := map[string]any{"name": "root", "self": nil, "kids": []any{
		map[string]any{"name": "a", "parent": nil, "siblings": nil},
		map[string]any{"name": "b", "parent": nil, "siblings": nil},
	}}
	wantShared := map[string]any{"a": map[string]any{"x": 1.0}, "b": []any{map[string]any{"x": 1.0}, map[string]any{"x": 1.0}}}
	for name, want := range map[string]any{"cyclic": wantCyclic, "sharedOnce": wantShared} {
		v := g.Get(name)
		same(t, want, FromJS(v), name+", FromJS")
		n := Codec.Call("encode", v).Int()
		got, _, err := Decode(ReceivedNow(n), func(int) any { return nil })
		require.NoError(t, err, name)
		same(t, want, got, name+", the wire")
	}

	require.ErrorContains(t, throws(func() { Codec.Call("encode", g.Get("exploding")) }),
		"it makes more than 4194304 arrays and objects written out as a tree: shared references?")
	require.ErrorContains(t, throws(func() { Codec.Call("copy", g.Get("exploding")) }), "shared references?", "as atmo.js reads a result")
}

// throws runs f, a call into JS, and returns what JS threw.
func throws(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(js.Error)
			if !ok {
				panic(p)
			}
			err = e
		}
	}()
	f()
	return nil
}

// postedAsASenderDoes reads what Go wrote and posts it as a sender does (codec.post),
// answering "ok" or what postMessage threw.
var postedAsASenderDoes = js.Global().Get("Function").New("codec", `
const ch = new MessageChannel();
return (refs, transfer) => {
  const list = transfer || [];
  const v = codec.read(refs, list);
  try { codec.post(ch.port1, v, list); return 'ok'; } catch (e) { return 'threw: ' + e.name + ': ' + e.message; }
};`).Invoke(Codec)

// Two views of one buffer, each moved with atmo.Transfer (the planes of a
// frame), or one typed array met twice: the buffer moves once.
func TestOneBufferMovedThroughTwoViewsIsPostedOnce(t *testing.T) {
	u8 := js.Global().Get("Uint8Array").New(16)
	fresh := js.Global().Get("Uint8Array").New(16)
	for name, v := range map[string]any{
		"two views": map[string]any{"y": Moved{Value: u8.Call("subarray", 0, 8)}, "uv": Moved{Value: u8.Call("subarray", 8, 16)}},
		"one twice": []any{Moved{Value: fresh}, Moved{Value: fresh}},
	} {
		var got string
		Post(v, func(refs, transfer any) { got = postedAsASenderDoes.Invoke(refs, transfer).String() })
		if got != "ok" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

// An array or Set past MaxItems, from JS (a JS worker's answer, the JS
// API's params), is refused as Go reads it, saying what to send instead,
// as Normalize says it of a Go array.
func TestAnArrayFromJSOfMoreThanMaxItemsIsRefusedSayingWhatToDo(t *testing.T) {
	sparse := js.Global().Get("Array").New(MaxItems + 1) // holds nothing: cheap
	for _, f := range []func(){
		func() { Codec.Call("encode", sparse) },
		func() { Codec.Call("copy", sparse) },
	} {
		err := throws(f)
		require.Error(t, err)
		require.Contains(t, err.Error(), "it holds an array of 16777217 items, more than the 16777216 atmo reads: send bulk data as a typed array or an ArrayBuffer (Go reads its bytes as a []byte), or split it into several tasks")
	}
}

// An object or a Map of more keys than MaxItems, from JS, was read whole:
// a JS worker's answer of MaxItems+1 keys held the page's Go thread for a
// minute (10 s writing, 50 s decoding, measured) and took 2.6 GB of its
// 4 GB, where an array of as many items is refused at once. It is
// refused as the array is, saying what to do; FromJS reads it as nil.
// The bound is lowered for the test in a codec of its own: an object of
// 16M keys takes seconds to make.
func TestAnObjectOrMapFromJSOfMoreKeysThanMaxItemsIsRefusedSayingWhatToDo(t *testing.T) {
	low := newCodec(4)
	vs := js.Global().Get("Function").New(`return {
  object: { a: 1, b: 2, c: 3, d: 4, e: 5 },
  instance: new (class { constructor() { Object.assign(this, { a: 1, b: 2, c: 3, d: 4, e: 5 }); } })(),
  map: new Map([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]),
  nested: { list: [{ a: 1, b: 2, c: 3, d: 4, e: 5 }] },
  four: { a: 1, b: 2, c: 3, d: 4 },
  fourMap: new Map([[1, 1], [2, 2], [3, 3], [4, 4]]),
};`).Invoke()
	says := map[string]string{
		"object":   "it holds an object of 5 keys, more than the 4 atmo reads: send bulk data as a typed array or an ArrayBuffer (Go reads its bytes as a []byte), or split it into several tasks",
		"instance": "it holds an object of 5 keys, more than the 4 atmo reads",
		"map":      "it holds a Map of 5 keys, more than the 4 atmo reads: send bulk data as a typed array or an ArrayBuffer (Go reads its bytes as a []byte), or split it into several tasks",
		"nested":   "it holds an object of 5 keys, more than the 4 atmo reads",
	}
	for name, want := range says {
		require.ErrorContains(t, throws(func() { low.Call("encode", vs.Get(name)) }), want, name+", the wire")
		require.ErrorContains(t, throws(func() { low.Call("copy", vs.Get(name)) }), want, name+", copy")
		if name != "nested" {
			n := low.Call("fromJS", vs.Get(name)).Int()
			require.Equal(t, 1, n, name+", FromJS's writer: null, for that value alone")
		}
	}
	for _, name := range []string{"four", "fourMap"} {
		require.NoError(t, throws(func() { low.Call("encode", vs.Get(name)) }), name+": up to the bound")
	}
}

// The wire's buffers grew to the largest message and stayed so for the
// life of the program, and the writer keeps room for 3 bytes per UTF-16
// unit: one JS worker's answer of a 300M-character string left the page
// holding a 900 MB wire.in (measured), and Go a copy buffer of its size,
// grown twofold by the next. A buffer grown past WireKeep now serves
// while large messages come and is let go at the first smaller one.
func TestALargeMessageFromJSLeavesTheWiresBuffersSmall(t *testing.T) {
	big := js.Global().Get("Function").New(`return 'x'.repeat(40 << 20);`).Invoke()
	read := func(v js.Value) any {
		var got any
		r := NewReceiver(func(b []byte) {
			var err error
			got, err = DecodeReceived(b)
			require.NoError(t, err)
		}, func(js.Value) { t.Fatal("written to the wire") })
		defer r.Release()
		Codec.Call("deliver", r.JS, Codec.Get("encode"), v)
		return got
	}
	for _, fast := range []bool{true, false} {
		SetHop(fast)
		require.Len(t, read(big), 40<<20)
		require.Equal(t, "small", read(js.ValueOf("small")))
		assert.LessOrEqual(t, wire.Get("in").Length(), WireKeep, "JS's buffer for messages to Go")
		assert.LessOrEqual(t, cap(received), WireKeep, "Go's copy of them")
	}
	SetHop(true)

	require.Len(t, FromJS(js.Global().Get("Array").Call("of", big)).([]any)[0], 40<<20) // in an array: a string alone is read without the writer
	require.Equal(t, "small", FromJS(js.ValueOf([]any{"small"})).([]any)[0])
	assert.LessOrEqual(t, codecFrom.Get("buf").Length(), WireKeep, "FromJS's buffer in JS")
	assert.LessOrEqual(t, cap(fromBytes), WireKeep, "FromJS's in Go")

	require.Len(t, Codec.Call("copy", big).String(), 40<<20)
	require.Equal(t, "small", Codec.Call("copy", "small").String())
	assert.LessOrEqual(t, Codec.Get("own").Get("buf").Length(), WireKeep, "copy's buffer")
}

// The same, from Go to JS: Go's buffer for values it sends and JS's
// wire.out kept the size of the largest.
func TestALargeValueSentToJSLeavesTheWiresBuffersSmall(t *testing.T) {
	big := strings.Repeat("x", 40<<20)
	for _, v := range []string{big, "small"} {
		var got js.Value
		Post(v, func(refs, transfer any) { got = Codec.Call("read", js.ValueOf(refs), js.Global().Get("Array").New()) })
		require.Len(t, got.String(), len(v))
	}
	assert.LessOrEqual(t, wire.Get("out").Length(), WireKeep, "JS's buffer for values from Go")
	assert.LessOrEqual(t, cap(wireBuf), WireKeep, "Go's")
}

// What the README says of strings and numbers (not a defect: pinned).
// Text crosses as UTF-8, as js.ValueOf and js.Value.String() have it: a
// lone surrogate becomes U+FFFD, and keys that differ only there become
// one. -0, NaN and ±Infinity cross both ways; js.ValueOf(-0.0) gives 0.
func TestLoneSurrogatesBecomeU_FFFDAndMinusZeroCrossesBothWays(t *testing.T) {
	v := js.Global().Get("Function").New(`return ['a\ud800b', { ['k\ud800']: 1, ['k\udc00']: 2 }, -0, NaN, Infinity];`).Invoke()
	n := Codec.Call("encode", v).Int()
	got, err := DecodeReceived(ReceivedNow(n))
	require.NoError(t, err)
	list := got.([]any)
	require.Equal(t, "a\uFFFDb", list[0])
	require.Equal(t, v.Index(0).String(), list[0], "as syscall/js has it")
	require.Equal(t, map[string]any{"k\uFFFD": 2.0}, list[1], "the last wins")
	require.True(t, math.Signbit(list[2].(float64)), "-0")
	require.True(t, math.IsNaN(list[3].(float64)))
	require.True(t, math.IsInf(list[4].(float64), 1))
	var back js.Value
	Post(got, func(refs, transfer any) { back = Codec.Call("read", js.ValueOf(refs), js.Global().Get("Array").New()) })
	require.Equal(t, "a\uFFFDb", back.Index(0).String(), "not the lone surrogate it was")
	require.True(t, js.Global().Get("Object").Call("is", back.Index(2), js.Global().Get("Function").New("return -0").Invoke()).Bool(), "-0 back")
}

// A steady stream of messages of one size reuses the wire's buffer: the
// writer kept room for 3 bytes per UTF-16 unit, so a string of 6M ASCII
// characters (a 6 MB message, under WireKeep) grew wire.in past WireKeep
// as it was written; that buffer must not be let go, and a fresh one
// grown, for every such message (fresh memory costs page faults: 240-300
// ms per 64 MiB on this VM, see recycle).
func TestASteadyStreamOfMidSizeStringsReusesTheWiresBuffer(t *testing.T) {
	s := js.Global().Get("Function").New(`return 'x'.repeat(6 << 20);`).Invoke()
	r := NewReceiver(func(b []byte) {
		_, err := DecodeReceived(b)
		require.NoError(t, err)
	}, func(js.Value) { t.Fatal("written to the wire") })
	defer r.Release()
	same := js.Global().Get("Function").New("a", "b", "return a === b")
	var prev js.Value
	fresh := 0
	for i := 0; i < 5; i++ {
		Codec.Call("deliver", r.JS, Codec.Get("encode"), s)
		in := wire.Get("in")
		if i > 0 && !same.Invoke(prev, in).Bool() {
			fresh++
		}
		prev = in
	}
	assert.Equal(t, 0, fresh, "messages of one size after the first wrote into a new buffer")
}

// The writer kept room for 3 bytes per UTF-16 unit of every string before
// encoding it: a 64 MiB ASCII string, a 64 MiB message, grew wire.in to
// 192 MiB (and a string of 2^29 characters asked for 1.6 GB, which may
// fail where the string itself fits). A long string's room is now
// proportionate to what it encodes to, whatever it holds.
func TestALongStringGrowsTheWiresBufferInProportionToItsBytes(t *testing.T) {
	const n = 64 << 20
	r := NewReceiver(func(b []byte) {
		require.Len(t, b, 1+4+n, "tag, length, the string's bytes")
	}, func(js.Value) { t.Fatal("written to the wire") })
	defer r.Release()
	ascii := js.Global().Get("Function").New(`return 'x'.repeat(64 << 20);`).Invoke()
	Codec.Call("deliver", r.JS, Codec.Get("encode"), ascii)
	assert.LessOrEqual(t, wire.Get("in").Length(), n+n/4, "JS's buffer for a 64 MiB ASCII string")
	Codec.Call("encode", "small")
	require.Equal(t, 1<<16, wire.Get("in").Length(), "let go at a small message")

	// Multi-byte text, and a surrogate pair at every place a chunk may end.
	for _, src := range []string{
		`return 'é'.repeat(3 << 20) + 'x';`,
		`return 'x'.repeat(100003) + '€'.repeat(1 << 20) + '\ud83d\ude00'.repeat(1 << 19) + 'end';`,
		`return '\ud83d\ude00'.repeat(3 << 20);`,
		`return 'a\ud800b'.repeat(1 << 18);`, // lone surrogates: U+FFFD, 3 bytes each
	} {
		s := js.Global().Get("Function").New(src).Invoke()
		before := wire.Get("in").Length()
		n := Codec.Call("encode", js.Global().Get("Array").Call("of", "pre", s, "post")).Int()
		got, err := DecodeReceived(ReceivedNow(n))
		require.NoError(t, err)
		list := got.([]any)
		require.Equal(t, "pre", list[0])
		require.Equal(t, s.String(), list[1], src)
		require.Equal(t, "post", list[2])
		assert.LessOrEqual(t, wire.Get("in").Length(), max(before, 2*n+(1<<16)), "%s: the buffer, against the message's %d bytes", src, n)
	}
}

// A burst of held values (a flood of the JS API's run() calls: each task's
// params stay in JS until it settles) leaves nothing behind once every one
// is released: the table's arrays go back, as Go's queues' do after a
// burst, instead of keeping a slot for each value the burst ever held.
func TestTheHeldTableLetsGoOfABurstOnceAllIsReleased(t *testing.T) {
	held := Codec.Get("held")
	live := func() int { return held.Get("values").Length() - held.Get("free").Length() }
	require.Equal(t, 0, live(), "nothing held before")
	hold, release := Codec.Get("hold"), Codec.Get("release")
	const n = 50_000
	slots := make([]int, n)
	for i := range slots {
		slots[i] = hold.Invoke(map[string]any{"i": i}).Int()
	}
	require.Equal(t, n, live())
	for _, k := range slots {
		release.Invoke(k)
	}
	assert.Equal(t, 0, live())
	for _, a := range []string{"values", "free", "takes", "live"} {
		assert.LessOrEqual(t, held.Get(a).Length(), 4096, "held.%s keeps an entry for every value of the burst", a)
	}
	// The table still works.
	k := hold.Invoke("again").Int()
	assert.Equal(t, "again", held.Get("values").Index(k).String())
	assert.Equal(t, 1, live())
	release.Invoke(k)
	assert.Equal(t, 0, live())
}
