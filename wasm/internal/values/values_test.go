package values

import (
	"encoding/json"
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
