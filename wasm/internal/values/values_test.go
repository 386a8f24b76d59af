package values

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkNormalizeStructs normalizes 1,000 structs, as Go params or a Go
// worker's typed result holding a slice of them would be.
func BenchmarkNormalizeStructs(b *testing.B) {
	type point struct {
		X, Y  float64
		Label string `json:"label,omitempty"`
	}
	points := make([]point, 1000)
	for i := range points {
		points[i] = point{X: float64(i), Y: -float64(i), Label: "p"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(points, "params"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeNumbers normalizes a []float64 of 100,000 numbers, as
// numeric params are often sent.
func BenchmarkNormalizeNumbers(b *testing.B) {
	nums := make([]float64, 100000)
	for i := range nums {
		nums[i] = float64(i) / 3
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(nums, "params"); err != nil {
			b.Fatal(err)
		}
	}
}

// celsius marshals itself, so a slice of it is not plain numbers.
type celsius float64

func (c celsius) MarshalJSON() ([]byte, error) {
	return []byte(`{"c":` + strconv.FormatFloat(float64(c), 'f', -1, 64) + `}`), nil
}

func TestSlicesOfPlainNumbersBecomeFloat64sInOneGo(t *testing.T) {
	type id uint16
	mine := []float64{1.5, 2}
	got, err := Normalize(map[string]any{
		"floats": mine, "ints": []int{-1, 2}, "ids": []id{7}, "f32": [2]float32{0.5, 1},
		"nilInts": []int(nil), "nilFloats": []float64(nil),
		"marshalers": []celsius{21.5},
	}, "params")
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"floats": []float64{1.5, 2}, "ints": []float64{-1, 2}, "ids": []float64{7}, "f32": []float64{0.5, 1},
		"nilInts": nil, "nilFloats": nil,
		"marshalers": []any{map[string]any{"c": 21.5}},
	}, got)
	mine[0] = 99
	require.Equal(t, 1.5, got.(map[string]any)["floats"].([]float64)[0], "the params are a copy, as they were when the task was added")
}

func TestNilSlicesAndMapsCrossAsNullAsEncodingJSONWritesThem(t *testing.T) {
	v := struct {
		A []any          `json:"a"`
		M map[string]any `json:"m"`
		S []string       `json:"s"`
		I map[string]int `json:"i"`
		B []byte         `json:"b"`
		E []any          `json:"e"`
	}{E: []any{}}
	want := map[string]any{"a": nil, "m": nil, "s": nil, "i": nil, "b": nil, "e": []any{}}
	j, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":null,"m":null,"s":null,"i":null,"b":null,"e":[]}`, string(j), "encoding/json's own")
	got, err := Normalize(v, "result")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	for _, nilOne := range []any{[]any(nil), map[string]any(nil), []byte(nil)} {
		got, err := Normalize(nilOne, "params")
		require.NoError(t, err)
		assert.Nil(t, got, "%T", nilOne)
	}
	e, ok := EncodePlain(map[string]any{"a": []any(nil), "m": map[string]any(nil), "b": []byte(nil)})
	require.True(t, ok)
	assert.Equal(t, map[string]any{"a": nil, "m": nil, "b": nil}, Decoded(e), "the fast path, as Normalize")
}

func TestIntegersAJSNumberWouldChangeAreRefusedSayingWhatToSend(t *testing.T) {
	// int64, not int: these do not fit a 32-bit int (GOARCH=386).
	for _, ok := range []any{int64(1) << 53, -(int64(1) << 53), int64(1) << 60, uint64(1) << 63, []int64{1 << 53}, map[string]any{"n": int64(1) << 53}} {
		_, err := Normalize(ok, "params")
		require.NoError(t, err, "%v is a float64 exactly", ok)
	}
	cases := map[string]any{
		"params is 9007199254740993, ":     int64(1)<<53 + 1,
		"params is 9223372036854775807, ":  int64(math.MaxInt64),
		"params is 18446744073709551615, ": uint64(math.MaxUint64),
		"params.id is -9007199254740993, ": struct {
			ID int64 `json:"id"`
		}{-(1<<53 + 1)},
		"params[1] is 9007199254740995, ":     []int64{1, 1<<53 + 3},
		"params.n is 9007199254740993, ":      map[string]any{"n": int64(1)<<53 + 1},
		"params.ids[0] is 9007199254740993, ": map[string]any{"ids": []uint64{1<<53 + 1}},
	}
	for prefix, v := range cases {
		_, err := Normalize(v, "params")
		require.Error(t, err, prefix)
		assert.Equal(t, prefix+`which a JS number cannot hold exactly (integers beyond ±2^53 lose digits): send it as a string (a json:",string" field tag, or strconv)`, err.Error())
		if m, ok := v.(map[string]any); ok {
			_, ok := EncodePlain(m)
			assert.False(t, ok, "the fast path leaves it to Normalize, which says why")
		}
	}
	for _, v := range []any{json.Number("9007199254740993"), new(big.Int).SetInt64(1<<53 + 1), json.RawMessage(`{"n": [9007199254740993]}`)} {
		_, err := Normalize(v, "params")
		require.Error(t, err, "%T", v)
		assert.Contains(t, err.Error(), "9007199254740993, which a JS number cannot hold exactly", "%T", v)
	}
	_, err := Normalize(json.Number("1"+strings.Repeat("0", 309)), "params")
	require.EqualError(t, err, "params is 1"+strings.Repeat("0", 39)+"…, which a JS number cannot hold exactly (integers beyond ±2^53 lose digits): send it as a string (a json:\",string\" field tag, or strconv)", "a long one cut")
	_, err = Normalize(json.Number(strings.Repeat("9", 1<<16)+"x"), "params")
	require.EqualError(t, err, `params is json.Number "`+strings.Repeat("9", 40)+`…", which is not a number`, "a long one cut")
	_, err = Normalize(json.RawMessage(`{"n": [9007199254740993]}`), "params")
	assert.ErrorContains(t, err, "params.n[0] is 9007199254740993, ", "says where, inside what MarshalJSON wrote")
	for _, v := range []any{json.Number("18446744073709551616"), json.Number("-0"), json.Number("1e300"), new(big.Int).Lsh(big.NewInt(1), 70), json.RawMessage(`[1, 2.5, 9007199254740992]`)} {
		_, err := Normalize(v, "params")
		require.NoError(t, err, "%v: a float64 holds it exactly, or it is written as a float", v)
	}
	got, err := Normalize(struct {
		ID int64 `json:"id,string"`
	}{1<<53 + 1}, "params")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"id": "9007199254740993"}, got, "the way the error names")
}

type fieldsInner struct {
	A, Z int
}

func TestFieldsComeInIndexOrderAsEncodingJSONWritesThem(t *testing.T) {
	type s struct {
		B int
		fieldsInner
		C int    `json:"a_c,omitzero,string"`
		Z string `json:",omitempty"`
	}
	var names []string
	for _, f := range Fields(reflect.TypeFor[s]()) {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"B", "A", "a_c", "Z"}, names, "the outer Z hides the embedded one; the rest by index sequence")
	f := Fields(reflect.TypeFor[s]())[2]
	require.True(t, f.OmitZero && f.Quoted && !f.OmitEmpty)
	require.Equal(t, &Fields(reflect.TypeFor[s]())[0], &Fields(reflect.TypeFor[s]())[0], "worked out once per type")
}

func TestAJSONNumberTaggedStringIsRefusedWhereEncodingJSONRefusesIt(t *testing.T) {
	for _, n := range []string{"1 ", "1\n", " 1", "-", "01", "+1", "1e", "x"} {
		v := struct {
			N json.Number `json:"n,string"`
		}{json.Number(n)}
		_, jerr := json.Marshal(v)
		require.Error(t, jerr, "%q", n)
		_, err := Normalize(v, "v")
		require.Error(t, err, "%q", n)
	}
	got, err := Normalize(struct {
		N json.Number `json:"n,string"`
	}{"-1.5e3"}, "v")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"n": "-1.5e3"}, got)
}

func TestAValueOfMoreThanMaxNodesWrittenOutIsRefusedSayingWhatToDo(t *testing.T) {
	// Deep enough for nothing, but 2^40 arrays written out as a tree: the
	// bound answers read from JS have. Bulk numbers and bytes are not counted.
	if raceEnabled || runtime.GOARCH == "wasm" {
		t.Skip("millions of allocations take long under the race detector or in WASM; the walk is the same natively")
	}
	var x any = 1.0
	for range 40 {
		x = []any{x, x}
	}
	type pair struct{ L, R any }
	var y any = 1.0
	for range 30 { // two levels each: the pointer, the struct
		y = &pair{y, y}
	}
	for _, v := range []any{x, map[string]any{"tree": x}, y} {
		_, ok := EncodePlain(v)
		assert.False(t, ok, "%T: the fast path leaves it to Normalize", v)
		_, err := Normalize(v, "params")
		require.Error(t, err, "%T", v)
		assert.True(t, strings.HasPrefix(err.Error(), "params"), "it says where: %v", err)
		assert.Contains(t, err.Error(), " makes more than 4194304 arrays, objects and maps written out as a tree (a part met twice counts twice): split it into several tasks, or send bulk numbers as a []float64 and bulk data as a []byte, which are not counted")
	}
	for _, v := range []any{make([]float64, 2*MaxNodes), make([]byte, 2*MaxNodes), [][]float64{make([]float64, MaxNodes), make([]float64, MaxNodes)}} {
		_, err := Normalize(v, "params")
		require.NoError(t, err, "%T", v)
	}
}

// What a MarshalJSON writes is part of the value: it is held to MaxDepth
// and MaxNodes as the rest is, or AddTask takes params that the worker
// then cannot read, and that Decoded (TaskRequest.Params, a batch's
// second task) panics on.
func TestWhatAMarshalJSONWritesIsHeldToTheDepthAndNodeBounds(t *testing.T) {
	deep := json.RawMessage(strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5))
	_, err := Normalize(map[string]any{"raw": deep}, "params")
	require.Error(t, err, "a MarshalJSON's JSON nested deeper than MaxDepth")
	assert.Contains(t, err.Error(), "params.raw[0][0]")
	assert.Contains(t, err.Error(), "nests deeper than 64 levels")

	// Just deep enough is taken, and decodes from its Encoded form.
	ok := json.RawMessage(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))
	n, err := Normalize(map[string]any{"raw": ok}, "params")
	require.NoError(t, err)
	require.NotPanics(t, func() { Decoded(Preencoded(n)) })

	if raceEnabled || runtime.GOARCH == "wasm" {
		return
	}
	wide := json.RawMessage("[" + strings.Repeat("[],", MaxNodes) + "[]]")
	_, err = Normalize(wide, "params")
	require.ErrorContains(t, err, " makes more than 4194304 arrays, objects and maps")
}

// hiddenNode links to the next by an unexported embedded pointer that its
// json tag names: encoding/json writes it as an object, "next".
type hiddenNode struct {
	*hiddenNode `json:"next,omitempty"`
	V           int
}

// bareHidden is hiddenNode with no field but the link.
type bareHidden struct {
	*bareHidden `json:"next,omitempty"`
}

func TestAStructBehindAnUnexportedEmbeddedPointerIsALevelToo(t *testing.T) {
	// Such a struct was walked with no look at its depth: a chain of 100
	// crossed 100 levels deep (which Decoded, the worker's reader and the
	// README refuse), and a cycle recursed until the Go stack overflowed,
	// a fatal error that ends the program, not an error from AddTask.
	var head *bareHidden
	for range 100 {
		head = &bareHidden{bareHidden: head}
	}
	_, err := Normalize(head, "params")
	require.ErrorContains(t, err, "nests deeper than 64 levels")
	assert.True(t, strings.HasPrefix(err.Error(), "params.next.next."), err.Error())

	short := &hiddenNode{hiddenNode: &hiddenNode{V: 2}, V: 1}
	n, err := Normalize(short, "params")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"V": 1.0, "next": map[string]any{"V": 2.0}}, n)

	loop := &hiddenNode{V: 1}
	loop.hiddenNode = loop
	_, err = Normalize(loop, "params")
	require.ErrorContains(t, err, "nests deeper than 64 levels (a cycle?)")
}

// lowerMaxItems makes Normalize hold arrays to n items for the test.
func lowerMaxItems(t *testing.T, n int) {
	old := maxItems
	maxItems = n
	t.Cleanup(func() { maxItems = old })
}

// A Go array of more than MaxItems items crossed Normalize and Encode and
// failed only where Go read it back from JS (the worker's params, the
// answer on the main thread), as "it holds an array of N items, more than
// the 16777216 atmo reads", which says nothing of what to do. It is
// refused where it is sent, saying where it sits and what to send instead,
// as the other bounds are; bytes are not items, and cross at any length.
func TestAnArrayOfMoreThanMaxItemsIsRefusedWhereItIsSentSayingWhatToDo(t *testing.T) {
	lowerMaxItems(t, 4)
	type item struct{ X int }
	type wrap struct {
		Ns []float64 `json:"ns"`
	}
	for _, c := range []struct {
		v     any
		where string
	}{
		{[]float64{1, 2, 3, 4, 5}, "params"},
		{[]any{1.0, 2.0, 3.0, 4.0, 5.0}, "params"},
		{map[string]any{"list": []any{"a", "b", "c", "d", "e"}}, "params.list"},
		{map[string]any{"deep": []any{[]float64{1, 2, 3, 4, 5}}}, "params.deep[0]"},
		{[]int{1, 2, 3, 4, 5}, "params"},
		{[5]float32{}, "params"},
		{[]string{"a", "b", "c", "d", "e"}, "params"},
		{[]item{{1}, {2}, {3}, {4}, {5}}, "params"},
		{wrap{Ns: []float64{1, 2, 3, 4, 5}}, "params.ns"},
		{json.RawMessage(`{"raw":[1,2,3,4,5]}`), "params.raw"},
	} {
		_, ok := EncodePlain(c.v)
		assert.False(t, ok, "%T: the fast path leaves it to Normalize", c.v)
		_, err := Normalize(c.v, "params")
		require.Error(t, err, "%#v", c.v)
		assert.Equal(t, c.where+" is an array of 5 items, more than the 4 atmo reads into Go: send bulk data as a []byte (a Uint8Array in JS; encoding/binary packs numbers into one), or split it into several tasks", err.Error(), "%#v", c.v)
	}
	for _, v := range []any{
		[]float64{1, 2, 3, 4}, []any{1.0, 2.0, 3.0, 4.0}, [4]int{}, map[string]any{"b": make([]byte, 100)}, make([]byte, 100),
	} {
		_, err := Normalize(v, "params")
		assert.NoError(t, err, "%#v", v)
	}
	_, ok := EncodePlain(map[string]any{"ns": []float64{1, 2, 3, 4}})
	assert.True(t, ok, "up to the bound, the fast path writes it")
}

// The bound itself, without lowering it: a slice of MaxItems+1 empty
// structs takes no memory, and is refused before any is walked.
func TestAnArrayOfMaxItemsPlusOneIsRefusedBeforeItIsWalked(t *testing.T) {
	_, err := Normalize(map[string]any{"xs": make([]struct{}, MaxItems+1)}, "params")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "params.xs is an array of 16777217 items, more than the 16777216 atmo reads into Go")
}

// A Go map of more keys than MaxItems crossed to JS, and would be refused
// only as it came back (a worker's answer, the JS reader's bound): it is
// refused where it is sent, saying where it sits, as an array is.
func TestAMapOfMoreKeysThanMaxItemsIsRefusedWhereItIsSentSayingWhatToDo(t *testing.T) {
	lowerMaxItems(t, 4)
	five := map[string]any{"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}
	for _, c := range []struct {
		v     any
		where string
	}{
		{five, "params"},
		{map[string]any{"m": five}, "params.m"},
		{[]any{five}, "params[0]"},
		{map[int]string{1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}, "params"},
		{json.RawMessage(`{"m":{"a":1,"b":2,"c":3,"d":4,"e":5}}`), "params.m"},
	} {
		_, ok := EncodePlain(c.v)
		assert.False(t, ok, "%T: the fast path leaves it to Normalize", c.v)
		_, err := Normalize(c.v, "params")
		require.Error(t, err, "%#v", c.v)
		assert.Equal(t, c.where+" is a map of 5 keys, more than the 4 atmo reads into Go: send bulk data as a []byte (a Uint8Array in JS; encoding/binary packs numbers into one), or split it into several tasks", err.Error(), "%#v", c.v)
	}
	_, err := Normalize(map[string]any{"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, "params")
	assert.NoError(t, err, "up to the bound")
}
