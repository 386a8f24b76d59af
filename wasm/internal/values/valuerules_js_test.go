//go:build js && wasm

package values

import (
	"fmt"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/require"
)

// The value rules for objects that structured clone keeps as they are,
// which are not plain: the wire's writer (codec.value), FromJS, and copy
// (atmo.js's reading of a result) must read each the same, faithfully, or
// refuse it saying what to do: never a silent {} or nil.

// ruleCases are such values, by name.
var ruleCases = js.Global().Get("Function").New(`
class Point { constructor() { this.x = 1; this.y = 2; } get sum() { return 3; } }
class Money { constructor() { this.cents = 150; } toJSON() { return { amount: '1.50' }; } }
const loop = new Map([['name', 'loop']]);
loop.set('self', loop);
const bare = Object.create(null);
bare.k = 'v';
return {
  map: new Map([['a', 1], [2, new Set(['x', 'x', 3])], [{}, true]]),
  set: new Set([1, 'b', null, [true]]),
  loop,
  falseObject: new Boolean(false),
  numberObject: new Number(2.5),
  stringObject: new String('hé'),
  regexp: /a+/g,
  image: new ImageData(new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]), 2, 1),
  point: new DOMPoint(1, 2),
  rect: new DOMRect(1, 2, 3, 4),
  classInstance: new Point(),
  withToJSON: new Money(),
  bare,
  error: new RangeError('too far'),
  nested: { list: [new Map([['k', /b/]]), new Number(7)] },
};`)

var ruleWants = map[string]any{
	"map":          map[string]any{"a": 1.0, "2": []any{"x", 3.0}, "[object Object]": true},
	"set":          []any{1.0, "b", nil, []any{true}},
	"loop":         map[string]any{"name": "loop", "self": nil},
	"falseObject":  false,
	"numberObject": 2.5,
	"stringObject": "hé",
	"regexp":       "/a+/g",
	"image": map[string]any{"width": 2.0, "height": 1.0, "colorSpace": "srgb",
		"data": []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	"point":         map[string]any{"x": 1.0, "y": 2.0, "z": 0.0, "w": 1.0},
	"rect":          map[string]any{"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0, "top": 2.0, "right": 4.0, "bottom": 6.0, "left": 1.0},
	"classInstance": map[string]any{"x": 1.0, "y": 2.0},
	"withToJSON":    map[string]any{"amount": "1.50"},
	"bare":          map[string]any{"k": "v"},
	"error":         map[string]any{"name": "RangeError", "message": "too far"},
	"nested":        map[string]any{"list": []any{map[string]any{"k": "/b/"}, 7.0}},
}

// written(n) is a writer for deliver that leaves the n bytes written.
var written = js.Global().Get("Function").New("n", "return () => n")

// readAllWays reads v by the wire (as a listener does), by FromJS, and by
// copy: what Go reads and what atmo.js hands the page.
func readAllWays(t *testing.T, v js.Value) (wire, fromJS, copied any, wireErr, copyErr error) {
	t.Helper()
	r := NewReceiver(func(b []byte) {
		var err error
		wire, err = DecodeReceived(b)
		require.NoError(t, err)
	}, func(js.Value) {})
	defer r.Release()
	wireErr = throws(func() {
		n := Codec.Call("encode", v).Int()
		Codec.Call("deliver", r.JS, written.Invoke(n), js.Null()) // the bytes encode wrote
	})
	fromJS = FromJS(v)
	copyErr = throws(func() { copied = FromJS(Codec.Call("copy", v)) })
	return
}

func TestObjectsThatAreNotPlainAreReadFaithfullyTheSameEveryWay(t *testing.T) {
	cases := ruleCases.Invoke()
	require.Len(t, ruleWants, js.Global().Get("Object").Call("keys", cases).Length(), "a want for each case")
	for name, want := range ruleWants {
		wire, fromJS, copied, wireErr, copyErr := readAllWays(t, cases.Get(name))
		require.NoError(t, wireErr, name)
		require.NoError(t, copyErr, name)
		same(t, want, wire, name+", the wire")
		same(t, want, fromJS, name+", FromJS")
		same(t, want, copied, name+", copy")
	}
	whole := FromJS(cases).(map[string]any)
	for name, want := range ruleWants {
		same(t, want, whole[name], name+", inside an object")
	}
}

// unreadable are values Go cannot read faithfully, with what the writer
// says of each.
var unreadable = js.Global().Get("Function").New(`return {
  bigint: 10n,
  blob: new Blob(['x']),
  file: new File(['x'], 'f.txt'),
  weakMap: new WeakMap(),
  deepBigint: { a: [1, 2n ** 200n] },
  deepBlob: { a: [1, { b: new Blob([]) }] },
};`)

var unreadableSays = map[string]string{
	"bigint":     "a BigInt (10n) cannot be read as a Go value: convert it with Number() or String() first",
	"blob":       "a Blob cannot be read as a Go value: send its bytes (await blob.arrayBuffer()), or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS",
	"file":       "a File cannot be read as a Go value: send its bytes (await blob.arrayBuffer()), or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS",
	"weakMap":    "a WeakMap cannot be read as a Go value: send what Go needs of it as plain data, or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS",
	"deepBigint": "a BigInt (16069380442589902755…2835301376n) cannot be read as a Go value",
	"deepBlob":   "a Blob cannot be read as a Go value",
}

func TestWhatGoCannotReadThrowsSayingWhatToDoAndFromJSReadsAsNil(t *testing.T) {
	vs := unreadable.Invoke()
	wantFromJS := map[string]any{
		"bigint": nil, "blob": nil, "file": nil, "weakMap": nil,
		"deepBigint": map[string]any{"a": []any{1.0, nil}},
		"deepBlob":   map[string]any{"a": []any{1.0, map[string]any{"b": nil}}},
	}
	for name, says := range unreadableSays {
		_, fromJS, _, wireErr, copyErr := readAllWays(t, vs.Get(name))
		require.ErrorContains(t, wireErr, says, name+", the wire")
		require.ErrorContains(t, copyErr, says, name+", copy")
		same(t, wantFromJS[name], fromJS, fmt.Sprintf("%s, FromJS (nil for that value alone)", name))
	}
}

func TestFromJSReadsAGetterThatThrowsAsNilAndTheWriterThrows(t *testing.T) {
	v := js.Global().Get("Function").New(`return { ok: 1, get bad() { throw new Error('no'); } };`).Invoke()
	same(t, map[string]any{"ok": 1.0, "bad": nil}, FromJS(v), "FromJS")
	require.ErrorContains(t, throws(func() { Codec.Call("encode", v) }), "no")
}

func TestAToJSONThatReturnsASharedObjectIsReadWhole(t *testing.T) {
	v := js.Global().Get("Function").New(`
class A { toJSON() { return shared; } }
const shared = { a: 1 };
return [shared, new A()];`).Invoke()
	want := []any{map[string]any{"a": 1.0}, map[string]any{"a": 1.0}}
	require.Equal(t, want, FromJS(v), "a shared object met again is no cycle")
	require.Equal(t, want, FromJS(Codec.Call("copy", v)))
}
