package worker

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeAs[T any](t *testing.T, src any) (T, error) {
	t.Helper()
	var v T
	err := decode(src, reflect.ValueOf(&v).Elem(), "params")
	return v, err
}

type inner struct {
	Depth int `json:"depth"`
}

type Embedded struct {
	Shared string `json:"shared"`
}

type allKinds struct {
	Embedded
	Name    string            `json:"name"`
	Count   uint8             `json:"count"`
	Ratio   float32           `json:"ratio"`
	On      bool              `json:"on"`
	Data    []byte            `json:"data"`
	Fixed   [2]int            `json:"fixed"`
	Tags    map[string]int    `json:"tags"`
	ByID    map[int]string    `json:"byId"`
	Inner   *inner            `json:"inner"`
	Any     any               `json:"any"`
	When    time.Time         `json:"when"`
	Skipped string            `json:"-"`
	Nested  []map[string]bool `json:"nested"`
}

func TestDecodeFillsAStructByJSONTags(t *testing.T) {
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := decodeAs[allKinds](t, map[string]any{
		"shared": "s", "name": "n", "count": 255.0, "ratio": 0.5, "on": true,
		"data": []byte{1, 2, 3}, "fixed": []any{1.0, 2.0}, "tags": map[string]any{"a": 1.0},
		"byId": map[string]any{"7": "seven"}, "inner": map[string]any{"depth": 3.0},
		"any": []any{"x", 1.0}, "when": when.Format(time.RFC3339Nano), "Skipped": "no",
		"nested": []any{map[string]any{"k": true}}, "unknown": "ignored",
	})
	require.NoError(t, err)
	assert.Equal(t, allKinds{
		Embedded: Embedded{Shared: "s"}, Name: "n", Count: 255, Ratio: 0.5, On: true,
		Data: []byte{1, 2, 3}, Fixed: [2]int{1, 2}, Tags: map[string]int{"a": 1},
		ByID: map[int]string{7: "seven"}, Inner: &inner{Depth: 3}, Any: []any{"x", 1.0},
		When: when, Nested: []map[string]bool{{"k": true}},
	}, got)
}

func TestDecodeMatchesFieldNamesWithoutRegardToCase(t *testing.T) {
	got, err := decodeAs[struct{ A, B float64 }](t, map[string]any{"a": 1.0, "B": 2.0})
	require.NoError(t, err)
	assert.Equal(t, 1.0, got.A)
	assert.Equal(t, 2.0, got.B)
}

func TestDecodeLeavesZeroValuesForNullAndMissingKeys(t *testing.T) {
	got, err := decodeAs[struct {
		A int
		B *inner
	}](t, map[string]any{"A": nil})
	require.NoError(t, err)
	assert.Zero(t, got.A)
	assert.Nil(t, got.B)
}

func TestDecodeTakesBytesFromATypedArrayAnArrayOfNumbersOrBase64(t *testing.T) {
	b, err := decodeAs[[]byte](t, []byte{9, 8})
	require.NoError(t, err)
	assert.Equal(t, []byte{9, 8}, b)
	b, err = decodeAs[[]byte](t, []any{1.0, 255.0})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 255}, b)
	_, err = decodeAs[[]byte](t, []any{256.0})
	require.EqualError(t, err, "params[0] is 256, which does not fit uint8")
	var want []byte
	require.NoError(t, json.Unmarshal([]byte(`"AQL/"`), &want))
	b, err = decodeAs[[]byte](t, "AQL/")
	require.NoError(t, err)
	assert.Equal(t, want, b, "base64 text, as encoding/json reads it")
	_, err = decodeAs[[]byte](t, "not base64!")
	require.EqualError(t, err, "params is a string that is not base64 (illegal base64 data at input byte 3), want bytes for []uint8: send a Uint8Array")
}

type namedByte uint8

func TestDecodeTakesBytesIntoSlicesAndArraysOfANamedByteType(t *testing.T) {
	s, err := decodeAs[[]namedByte](t, []byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, []namedByte{1, 2}, s)
	a, err := decodeAs[[2]namedByte](t, []byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, [2]namedByte{1, 2}, a)
}

// textKey reads itself from text: the key's length, whatever it says.
type textKey int

func (k *textKey) UnmarshalText(b []byte) error { *k = textKey(len(b)); return nil }

func TestDecodeReadsMapKeysAsEncodingJSONDoes(t *testing.T) {
	cases := map[string]struct {
		json string
		into func() any
	}{
		"a key type with UnmarshalText": {`{"10.0.0.1": 1}`, func() any { return new(map[netip.Addr]int) }},
		"UnmarshalText before the kind": {`{"12": 1, "abc": 2}`, func() any { return new(map[textKey]int) }},
		"uintptr keys":                  {`{"10": 1}`, func() any { return new(map[uintptr]int) }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var tree any
			require.NoError(t, json.Unmarshal([]byte(c.json), &tree))
			want := c.into()
			require.NoError(t, json.Unmarshal([]byte(c.json), want))
			got := c.into()
			require.NoError(t, decode(tree, reflect.ValueOf(got).Elem(), "params"))
			assert.Equal(t, want, got)
		})
	}
	_, err := decodeAs[map[netip.Addr]int](t, map[string]any{"x": 1.0})
	require.EqualError(t, err, `params has the key "x", which is no netip.Addr: ParseAddr("x"): unable to parse IP`)
}

func TestDecodeGivesATypeThatReadsItselfFromTextOnlyAString(t *testing.T) {
	type P struct{ IP netip.Addr }
	for src, want := range map[string]string{
		`{"IP": {}}`:   "params.IP is an object, want a string for netip.Addr (it reads itself from text)",
		`{"IP": 5}`:    "params.IP is a number (5), want a string for netip.Addr (it reads itself from text)",
		`{"IP": true}`: "params.IP is a boolean (true), want a string for netip.Addr (it reads itself from text)",
	} {
		var tree any
		require.NoError(t, json.Unmarshal([]byte(src), &tree))
		require.Error(t, json.Unmarshal([]byte(src), new(P)), "encoding/json refuses %s too", src)
		_, err := decodeAs[P](t, tree)
		require.EqualError(t, err, want, src)
	}
	got, err := decodeAs[P](t, map[string]any{"IP": nil})
	require.NoError(t, err, "null leaves it as it is, as encoding/json does")
	assert.Equal(t, P{}, got)
}

// hexKey is bytes that read themselves from hex text.
type hexKey [4]byte

func (k *hexKey) UnmarshalText(b []byte) error { _, err := hex.Decode(k[:], b); return err }

func TestDecodeGivesBytesThatReadThemselvesFromTextTextOrBytes(t *testing.T) {
	for _, src := range []any{"10.0.0.1", []byte{10, 0, 0, 1}} {
		got, err := decodeAs[struct{ IP net.IP }](t, map[string]any{"IP": src})
		require.NoError(t, err, "%T", src)
		assert.Equal(t, "10.0.0.1", got.IP.String(), "%T", src)
	}
	for _, src := range []any{"01020304", []byte{1, 2, 3, 4}, []any{1.0, 2.0, 3.0, 4.0}} {
		got, err := decodeAs[hexKey](t, src)
		require.NoError(t, err, "%T", src)
		assert.Equal(t, hexKey{1, 2, 3, 4}, got, "%T", src)
	}
	_, err := decodeAs[hexKey](t, map[string]any{})
	require.EqualError(t, err, "params is an object, want a Uint8Array or an array of bytes for worker.hexKey")
}

func TestDecodeErrorsCutALongStringOnAWholeCharacter(t *testing.T) {
	_, err := decodeAs[float64](t, strings.Repeat("a", 39)+"éé")
	require.EqualError(t, err, `params is a string ("`+strings.Repeat("a", 39)+`…"), want a number for float64`)
}

func TestDecodeRejectsNumbersThatDoNotFitIntegers(t *testing.T) {
	_, err := decodeAs[int](t, 2.5)
	require.EqualError(t, err, "params is 2.5, which does not fit int")
	_, err = decodeAs[int8](t, 300.0)
	require.EqualError(t, err, "params is 300, which does not fit int8")
	_, err = decodeAs[uint](t, -1.0)
	require.EqualError(t, err, "params is -1, which does not fit uint")
}

func TestDecodeRejectsNumbersTooLargeForAFloat32(t *testing.T) {
	_, err := decodeAs[struct{ F float32 }](t, map[string]any{"F": 1e300})
	require.EqualError(t, err, "params.F is 1e+300, which does not fit float32")
	f, err := decodeAs[float32](t, math.Inf(-1))
	require.NoError(t, err)
	assert.True(t, math.IsInf(float64(f), -1), "JS's Infinity is a float32's too")
	f, err = decodeAs[float32](t, 0.1)
	require.NoError(t, err)
	assert.Equal(t, float32(0.1), f, "rounded to the nearest float32, as encoding/json does")
}

func TestDecodeErrorsSayWhereAndWhatWasExpected(t *testing.T) {
	cases := map[string]struct {
		src  any
		into func(src any) error
		want string
	}{
		"string for number": {map[string]any{"a": "x"}, func(s any) error { _, err := decodeAs[struct{ A float64 }](t, s); return err },
			`params.a is a string ("x"), want a number for float64`}, // the key as the host sent it
		"object for array": {map[string]any{"list": map[string]any{}}, func(s any) error {
			_, err := decodeAs[struct {
				List []string `json:"list"`
			}](t, s)
			return err
		}, "params.list is an object, want an array for []string"},
		"number for object": {1.0, func(s any) error { _, err := decodeAs[inner](t, s); return err },
			"params is a number (1), want an object for worker.inner"},
		"array length": {[]any{1.0}, func(s any) error { _, err := decodeAs[[2]int](t, s); return err },
			"params has 1 elements, want 2 for [2]int"},
		"bool for json.Number": {map[string]any{"n": true}, func(s any) error {
			_, err := decodeAs[struct {
				N json.Number `json:"n"`
			}](t, s)
			return err
		}, "params.n is a boolean (true), want a number (or a string holding one) for json.Number"},
		"text for json.Number": {map[string]any{"n": "12x"}, func(s any) error {
			_, err := decodeAs[struct {
				N json.Number `json:"n"`
			}](t, s)
			return err
		}, `params.n is a string ("12x"), which is not a number for json.Number`},
		"number for a ,string json.Number": {map[string]any{"q": 5.0}, func(s any) error {
			_, err := decodeAs[struct {
				Q json.Number `json:"q,string"`
			}](t, s)
			return err
		}, "params.q is a number (5), want a string holding a number for json.Number (its json tag says ,string)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			require.EqualError(t, c.into(c.src), c.want)
		})
	}
}

// BenchmarkDecodeArray decodes 10,000 numbers and 1,000 small objects into
// typed slices: the cost of a typed handler's params, per call.
func BenchmarkDecodeArray(b *testing.B) {
	nums, objs := make([]any, 10000), make([]any, 1000)
	for i := range nums {
		nums[i] = float64(i)
	}
	for i := range objs {
		objs[i] = map[string]any{"depth": float64(i)}
	}
	src := map[string]any{"nums": nums, "objs": objs}
	var dst struct {
		Nums []float64 `json:"nums"`
		Objs []inner   `json:"objs"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := decode(src, reflect.ValueOf(&dst).Elem(), "params"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAFloat32SentByGoDecodesUnchangedIntoAFloat32(t *testing.T) {
	// It crosses as encoding/json writes it (7.038531e-26), whose float64
	// lies exactly halfway between two float32s: float32() of it would
	// round to the even one, not the one sent.
	type P struct {
		F float32   `json:"f"`
		S []float32 `json:"s"`
	}
	for _, f := range []float32{math.Float32frombits(0x15ae43fd), 0.1, -3.4e38, 1.5, math.SmallestNonzeroFloat32} {
		tree, err := values.Normalize(P{F: f, S: []float32{f}}, "params")
		require.NoError(t, err)
		tree, _, err = values.Decode(values.Encode(nil, tree, nil), nil) // as it crosses
		require.NoError(t, err)
		var got P
		require.NoError(t, decode(tree, reflect.ValueOf(&got).Elem(), "params"))
		assert.Equal(t, math.Float32bits(f), math.Float32bits(got.F), "%v", f)
		assert.Equal(t, math.Float32bits(f), math.Float32bits(got.S[0]), "%v", f)
	}
	var got P
	require.NoError(t, decode(map[string]any{"f": 0.1}, reflect.ValueOf(&got).Elem(), "params"))
	assert.Equal(t, float32(0.1), got.F, "a number from JS rounds as float32() does")
}

// optional tells a null from a missing key, as PATCH-style APIs do.
type optional struct {
	Set, Null bool
	V         int
}

func (o *optional) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// cents is a number that reads itself from JSON.
type cents int

func (c *cents) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = -1
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*c = cents(f * 100)
	return err
}

func TestDecodeHandsNullToATypeThatReadsItselfFromJSONAsEncodingJSONDoes(t *testing.T) {
	type P struct {
		A optional            `json:"a"`
		B optional            `json:"b"`
		C *optional           `json:"c"`
		M map[string]optional `json:"m"`
		L []optional          `json:"l"`
		Q cents               `json:"q,string"`
	}
	src := `{"a": null, "c": null, "m": {"x": null, "y": 2}, "l": [null, 3], "q": null}`
	var want P
	require.NoError(t, json.Unmarshal([]byte(src), &want))
	assert.Equal(t, optional{Set: true, Null: true}, want.A, "encoding/json hands the null to UnmarshalJSON")
	var tree any
	require.NoError(t, json.Unmarshal([]byte(src), &tree))
	var got P
	require.NoError(t, decode(tree, reflect.ValueOf(&got).Elem(), "params"))
	assert.Equal(t, want, got)

	var top, topWant optional
	require.NoError(t, json.Unmarshal([]byte("null"), &topWant))
	require.NoError(t, decode(nil, reflect.ValueOf(&top).Elem(), "params"))
	assert.Equal(t, topWant, top)
}

func TestBytesIntoASliceOfNumbersSayWhatATypedArrayBecomesAndWhatToDo(t *testing.T) {
	// A Float64Array (an Int32Array...) crosses as its bytes, by the value
	// rules: a typed handler that wants []float64 of it should be told so,
	// not only that bytes are no array.
	_, err := decodeAs[struct {
		Data []float64 `json:"data"`
	}](t, map[string]any{"data": make([]byte, 16)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "params.data is bytes (16), want an array for []float64")
	assert.Contains(t, err.Error(), "a typed array other than a Uint8Array crosses as its bytes")
	assert.Contains(t, err.Error(), "Array.from")
	_, err = decodeAs[[2]int32](t, make([]byte, 8))
	require.ErrorContains(t, err, "a typed array other than a Uint8Array crosses as its bytes")
}

func TestANumberSentAsAStringForANumberFieldSaysToTagItString(t *testing.T) {
	// An integer beyond 2^53 can only come as a string (a BigInt cannot
	// be read: "convert it with Number() or String() first"); the README
	// has such numbers cross with a json:",string" tag. A field without
	// the tag should say so.
	_, err := decodeAs[struct {
		ID int64 `json:"id"`
	}](t, map[string]any{"id": "9007199254740993"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `params.id is a string ("9007199254740993"), want a number for int64`)
	assert.Contains(t, err.Error(), `json:",string"`)
	_, err = decodeAs[struct{ N float64 }](t, map[string]any{"n": "abc"})
	require.EqualError(t, err, `params.n is a string ("abc"), want a number for float64`, "no hint for text that is no number")
}

// A json.RawMessage field (or any type that reads itself from JSON) is
// handed the text encoding/json would hand it: "<b>" as it is, not
// "\u003cb\u003e".
func TestDecodeHandsARawMessageItsTextAsEncodingJSONWould(t *testing.T) {
	text := `{"raw":["<b>","a&b"]}`
	var src any
	require.NoError(t, json.Unmarshal([]byte(text), &src))
	type P struct {
		Raw json.RawMessage `json:"raw"`
	}
	var want, got P
	require.NoError(t, json.Unmarshal([]byte(text), &want))
	require.NoError(t, decode(src, reflect.ValueOf(&got).Elem(), "params"))
	require.Equal(t, string(want.Raw), string(got.Raw))
}
