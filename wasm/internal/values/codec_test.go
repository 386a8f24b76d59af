package values

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodecRoundTripsEveryKindOfValue(t *testing.T) {
	big := bytes.Repeat([]byte{7}, InlineBytes+1)
	tree := map[string]any{
		"null": nil, "yes": true, "no": false,
		"num": 1.5, "neg": -0.25, "inf": math.Inf(1), "max": math.MaxFloat64,
		"text": "héllo, 世界", "empty": "",
		"bytes": []byte{1, 2, 3}, "noBytes": []byte{},
		"list":   []any{1.0, "two", []any{nil, false}, map[string]any{}},
		"nested": map[string]any{"deeper": map[string]any{"x": 1.0}},
		"big":    big,
	}
	var refs []any
	buf := Encode(nil, tree, &refs)
	require.Len(t, refs, 1, "only the []byte over InlineBytes is set aside")
	got, rest, err := Decode(buf, func(i int) any { return refs[i] })
	require.NoError(t, err)
	require.Empty(t, rest)
	require.Equal(t, tree, got)
}

func TestCodecWritesNumbersAsAnArrayOfNumbers(t *testing.T) {
	buf := Encode(nil, map[string]any{"xs": []float64{1, -0.5, math.Inf(-1)}, "none": []float64{}}, nil)
	got, _, err := Decode(buf, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"xs": []any{1.0, -0.5, math.Inf(-1)}, "none": []any{}}, got,
		"JS gets a plain array, as from []any")
}

// pair is an Appender: [name, n, on, extra], written field by field.
type pair struct {
	name  string
	n     float64
	on    bool
	extra any
}

func (p pair) AppendWire(buf []byte, refs *[]any) []byte {
	buf = AppendArray(buf, 4)
	buf = AppendString(buf, p.name)
	buf = AppendNumber(buf, p.n)
	buf = AppendBool(buf, p.on)
	return Encode(buf, p.extra, refs)
}

func TestAnAppenderWritesTheSameBytesAsTheTreeItStandsFor(t *testing.T) {
	big := bytes.Repeat([]byte{7}, InlineBytes+1)
	var refs, treeRefs []any
	got := Encode(nil, []any{pair{"é", 2, true, nil}, pair{"", -1, false, big}}, &refs)
	want := Encode(nil, []any{[]any{"é", 2.0, true, nil}, []any{"", -1.0, false, big}}, &treeRefs)
	require.Equal(t, want, got)
	require.Equal(t, treeRefs, refs, "what an Appender encodes is set aside as in a tree")
}

func TestAPreencodedTreeSendsAndDecodesAsTheTreeItself(t *testing.T) {
	big := bytes.Repeat([]byte{7}, InlineBytes+1)
	tree := map[string]any{"n": 1.5, "list": []any{"a", nil, true}, "big": big}
	e := Preencoded(tree)
	require.IsType(t, Encoded{}, e, "a map is kept as bytes")
	require.Equal(t, tree, Decoded(e))

	decode := func(buf []byte, refs []any) any {
		v, rest, err := Decode(buf, func(i int) any { return refs[i] })
		require.NoError(t, err)
		require.Empty(t, rest)
		return v
	}
	var refs []any
	buf := Encode(nil, e, &refs)
	require.Equal(t, e.(Encoded).bytes, buf, "sent at the root: the bytes as they are")
	require.Equal(t, tree, decode(buf, refs))
	refs = nil
	buf = Encode(nil, []any{big, e}, &refs)
	require.Equal(t, []any{big, tree}, decode(buf, refs), "sent inside another value, after a ref of its own: written again")

	for _, v := range []any{nil, "s", 2.0, true, []byte(nil)} {
		require.Equal(t, v, Preencoded(v), "%T stays as it is", v)
	}
	small := []byte{1}
	e = Preencoded(small)
	small[0] = 2
	require.Equal(t, []byte{1}, Decoded(e), "a small []byte is copied, as inside a map")
	require.Equal(t, big, Decoded(Preencoded(big)), "a large one is a ref, as inside a map")
	require.Equal(t, []any{1.0, 2.0}, Decoded(Preencoded([]float64{1, 2})), "numbers come back as JS sends them")
}

func TestPlainParamsAreWrittenInOneWalkAsNormalizingThemFirstWould(t *testing.T) {
	big := bytes.Repeat([]byte{7}, InlineBytes+1)
	deep := []any{}
	for range MaxDepth + 1 {
		deep = []any{deep}
	}
	for name, v := range map[string]any{
		"a map":          map[string]any{"i": 3, "f": 1.5, "s": "é", "ok": true, "none": nil},
		"nested":         []any{map[string]any{"xs": []float64{1, 2}, "nil xs": []float64(nil)}, []any{}, map[string]any(nil)},
		"bytes":          map[string]any{"small": []byte{1, 2}, "big": big, "none": []byte(nil)},
		"an empty slice": []any(nil),
	} {
		e, ok := EncodePlain(v)
		require.True(t, ok, name)
		n, err := Normalize(v, "params")
		require.NoError(t, err, name)
		require.Equal(t, Decoded(Preencoded(n)), Decoded(e), name)
	}
	type point struct{ X int }
	for name, v := range map[string]any{
		"a struct inside":   map[string]any{"p": point{1}},
		"another map type":  map[string]int{"a": 1},
		"an int64":          []any{int64(1)},
		"a func":            []any{func() {}},
		"too deep":          deep,
		"a scalar":          2.0,
		"a typed slice":     []string{"a"},
		"a []float64 alone": []float64{1},
	} {
		_, ok := EncodePlain(v)
		require.False(t, ok, "%s: left to Normalize", name)
	}
}

func TestCodecKeepsEveryNumberExactly(t *testing.T) {
	// Small integers share boxes; every other number, -0 and NaN included,
	// decodes as itself.
	in := []float64{0, 1, 1023, 1024, -1, 3.5, 1e300, math.Inf(1), math.Copysign(0, -1), math.NaN()}
	got, _, err := Decode(Encode(nil, in, nil), nil)
	require.NoError(t, err)
	for i, v := range got.([]any) {
		f := v.(float64)
		require.Equal(t, math.Float64bits(in[i]), math.Float64bits(f), "number %d: %v", i, in[i])
	}
}

func TestCodecReadsValuesOneAfterAnother(t *testing.T) {
	buf := Encode(nil, "a", nil)
	buf = Encode(buf, 2.0, nil)
	a, rest, err := Decode(buf, nil)
	require.NoError(t, err)
	b, rest, err := Decode(rest, nil)
	require.NoError(t, err)
	require.Equal(t, []any{"a", 2.0}, []any{a, b})
	require.Empty(t, rest)
}

func TestCodecDecodedBytesDoNotAliasTheBuffer(t *testing.T) {
	buf := Encode(nil, []byte{1, 2}, nil)
	v, _, err := Decode(buf, nil)
	require.NoError(t, err)
	buf[len(buf)-1] = 9
	require.Equal(t, []byte{1, 2}, v)
}

func TestCodecRejectsCorruptInput(t *testing.T) {
	whole := Encode(nil, map[string]any{"k": []any{"v", 1.0}}, nil)
	for i := 0; i < len(whole); i++ {
		_, _, err := Decode(whole[:i], nil)
		require.Error(t, err, "cut after %d bytes", i)
	}
	_, _, err := Decode([]byte{99}, nil)
	require.ErrorContains(t, err, "unknown tag")
	_, _, err = Decode([]byte{tagRef, 0, 0, 0, 0}, nil)
	require.ErrorContains(t, err, "set aside")
	_, _, err = Decode([]byte{tagArray, 0xff, 0xff, 0xff, 0xff}, nil)
	require.Error(t, err, "a huge count is not allocated")
}

func FuzzCodecDecode(f *testing.F) {
	f.Add(Encode(nil, map[string]any{"a": []any{1.0, "x", []byte{1}, nil, true}}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := Decode(b, func(int) any { return nil })
		if err != nil {
			return
		}
		// What decodes encodes back to a value that decodes the same.
		again, _, err := Decode(Encode(nil, v, new([]any)), func(int) any { return nil })
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(v), fmt.Sprint(again)) // Sprint: NaN is not equal to itself

	})
}

func TestCopiesIntoGoCollectFirstOnlyWhenLargeAgainstWhatACollectionScans(t *testing.T) {
	require.False(t, CollectBeforeCopy(BigCopy-1, 0), "small copies never collect")
	require.True(t, CollectBeforeCopy(64<<20, 2<<20), "a worker's few pointers: collect, and reuse the last task's bytes")
	require.True(t, CollectBeforeCopy(64<<20, 128<<20), "half the scanned bytes or more")
	require.False(t, CollectBeforeCopy(64<<20, 1<<30), "a heap full of pointers costs more to collect than fresh memory")
}

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON today") }

func TestNormalizeNamesWhereAValueThatCannotCrossSits(t *testing.T) {
	type inner struct {
		Ch chan int `json:"ch,omitempty"`
	}
	deep := map[string]any{}
	for m, i := deep, 0; i <= MaxDepth; i++ {
		next := map[string]any{}
		m["d"] = next
		m = next
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"a": []any{1.0, func() {}}}, "params.a[1] is a func(), which cannot cross to JS"},
		{[]inner{{}, {Ch: make(chan int)}}, "params[1].ch is a chan int, which cannot cross to JS"},
		{map[string]any{"m": map[bool]int{true: 1}}, "params.m has bool keys; use string or integer keys"},
		{map[string]any{"j": badJSON{}}, "params.j: no JSON today"},
		{deep, "params" + strings.Repeat(".d", MaxDepth+1) + " nests deeper than 64 levels (a cycle?)"},
	} {
		_, err := Normalize(c.v, "params")
		require.Error(t, err)
		require.Contains(t, err.Error(), c.want)
	}
}

func TestDecodedKeysAreRightWhateverTheKeyCacheHolds(t *testing.T) {
	// Keys come from a small cache of the last key seen per slot: many
	// distinct keys (so slots collide and are replaced), repeated keys, and
	// keys too long for the cache must all decode as they were written.
	obj := map[string]any{}
	for i := range 2000 {
		obj[fmt.Sprintf("k%d", i)] = float64(i)
	}
	obj[strings.Repeat("long", 20)] = "long"
	obj[""] = "empty"
	buf := Encode(nil, obj, nil)
	for range 3 {
		got, rest, err := Decode(buf, nil)
		require.NoError(t, err)
		require.Empty(t, rest)
		require.Equal(t, obj, got)
	}
}

// BenchmarkDecodeNumbers decodes an array of 100,000 numbers: small
// integers (counts, indices, bytes) and fractions.
func BenchmarkDecodeNumbers(b *testing.B) {
	for _, kind := range []struct {
		name string
		of   func(i int) float64
	}{{"small-integers", func(i int) float64 { return float64(i % 1000) }}, {"fractions", func(i int) float64 { return float64(i) / 3 }}} {
		b.Run(kind.name, func(b *testing.B) {
			nums := make([]float64, 100000)
			for i := range nums {
				nums[i] = kind.of(i)
			}
			buf := Encode(nil, nums, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(buf, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAHeldValueCrossesAsItsSlotsAndNormalizesAsItself(t *testing.T) {
	tree := map[string]any{"params": Held{Value: 3, List: -1}, "more": []any{Held{Value: 0, List: 7}}, "result": Held{Value: 5, List: -1, Take: true}}
	n, err := Normalize(tree, "params")
	require.NoError(t, err)
	require.Equal(t, tree, n, "a held value is passed on as it is")
	var refs []any
	buf := Encode(nil, n, &refs)
	require.Empty(t, refs, "nothing is set aside: JS has the value")
	got, rest, err := Decode(buf, nil)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.Equal(t, tree, got)
}
