package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeFollowsTheCoreValueRules(t *testing.T) {
	type point struct {
		X     int    `json:"x"`
		Y     int    `json:"y,omitempty"`
		Note  string `json:"-"`
		Label string
	}
	when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := normalize(map[string]any{
		"int": 3, "uint8": uint8(4), "float32": float32(0.5), "bytes": []byte{1},
		"array": [2]byte{5, 6}, "struct": point{X: 1, Label: "p"}, "ptr": &point{X: 2},
		"nilptr": (*point)(nil), "ints": []int{1, 2}, "map": map[int]string{1: "one"},
		"time": when,
	}, "result")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"int": 3.0, "uint8": 4.0, "float32": 0.5, "bytes": []byte{1}, "array": []byte{5, 6},
		"struct": map[string]any{"x": 1.0, "Label": "p"}, "ptr": map[string]any{"x": 2.0, "Label": ""},
		"nilptr": nil, "ints": []float64{1, 2}, "map": map[string]any{"1": "one"},
		"time": when.Format(time.RFC3339),
	}, got)
}

func TestNormalizeNamesWhereAnUnsendableValueSits(t *testing.T) {
	_, err := normalize(map[string]any{"list": []any{1, make(chan int)}}, "result")
	require.EqualError(t, err, "result.list[1] is a chan int, which cannot cross to JS (send data: numbers, strings, bools, maps, slices, structs, []byte)")
}

func TestNormalizeStopsCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	_, err := normalize(m, "result")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deeper than")
}
