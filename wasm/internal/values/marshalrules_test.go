package values

import (
	"encoding"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Types that marshal themselves, through their value or only through
// their pointer, as keys and as values: TestTypesThatMarshalThemselvesCrossAsEncodingJSONWritesThem
// holds atmo's encoding of each to encoding/json's.
type (
	mrPtrNum   int   // *mrPtrNum has MarshalJSON
	mrPtrByte  uint8 // *mrPtrByte has MarshalText
	mrBoth     int   // mrBoth has MarshalText, *mrBoth MarshalJSON
	mrBothS    struct{ N int }
	mrPtrS     struct{ N int } // *mrPtrS has MarshalJSON
	mrValS     struct{ N int } // mrValS has MarshalJSON
	mrTextKey  struct{ K string }
	mrIntKey   int
	mrNamedB   uint8
	mrQuotedIn struct {
		F float64 `json:",string"`
	}
)

func (p *mrPtrNum) MarshalJSON() ([]byte, error)  { return fmt.Appendf(nil, `"n%d"`, int(*p)), nil }
func (p *mrPtrByte) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "b%d", int(*p)), nil }
func (mrBoth) MarshalText() ([]byte, error)       { return []byte("text"), nil }
func (*mrBoth) MarshalJSON() ([]byte, error)      { return []byte(`"json"`), nil }
func (mrBothS) MarshalText() ([]byte, error)      { return []byte("text"), nil }
func (*mrBothS) MarshalJSON() ([]byte, error)     { return []byte(`"json"`), nil }
func (p *mrPtrS) MarshalJSON() ([]byte, error)    { return fmt.Appendf(nil, `{"n10":%d}`, 10*p.N), nil }
func (mrValS) MarshalJSON() ([]byte, error)       { return []byte(`"val"`), nil }
func (k mrTextKey) MarshalText() ([]byte, error)  { return []byte("key:" + k.K), nil }
func (k mrIntKey) MarshalText() ([]byte, error)   { return fmt.Appendf(nil, "k%d", int(k)), nil }

func TestTypesThatMarshalThemselvesCrossAsEncodingJSONWritesThem(t *testing.T) {
	cases := map[string]any{
		// encoding/json calls a pointer's method where it can address the value.
		"fields of a struct reached through a pointer": &struct {
			A mrPtrS
			T mrPtrByte
			Q mrPtrS `json:",string"`
			P *mrPtrS
			I any
		}{A: mrPtrS{1}, T: 2, Q: mrPtrS{3}, P: &mrPtrS{4}, I: mrPtrS{5}},
		"fields of a struct that is not":         struct{ A mrPtrS }{mrPtrS{1}},
		"elements of a slice":                    []mrPtrS{{1}, {2}},
		"elements of a slice of numbers":         []mrPtrNum{1, 2},
		"elements of a slice of bytes":           []mrPtrByte{1, 2},
		"a slice of a named byte type, as bytes": []mrNamedB{1, 2},
		"an array reached through a pointer":     &[2]mrPtrNum{1, 2},
		"an array that is not":                   [2]mrPtrNum{1, 2},
		"a slice in a field, a map's values":     struct{ S []mrPtrNum }{[]mrPtrNum{3}},
		"map values, which cannot be addressed":  map[string]mrPtrS{"a": {1}},
		"slices in map values":                   map[string][]mrPtrNum{"a": {5}},
		"a pointer inside an interface":          []any{&struct{ A mrPtrNum }{4}},
		"a value MarshalJSON over fields":        &struct{ V mrValS }{mrValS{1}},
		"a pointer's MarshalJSON before a value's MarshalText": &struct {
			B  mrBoth
			S  mrBothS
			Q  mrBoth `json:",string"`
			Sl []mrBoth
		}{B: 1, S: mrBothS{2}, Q: 3, Sl: []mrBoth{4}},
		"unexported embedded, tagged, through a pointer": &struct {
			mrPtrS `json:"h"`
		}{mrPtrS{1}},
		"a ,string promoted from an unexported embedded struct": struct{ mrQuotedIn }{mrQuotedIn{1.5}},
		// Nil pointers to such types are null: their methods are not called.
		"nil pointers": struct {
			T  *time.Time
			P  *mrPtrNum
			V  *mrValS
			Ts []*time.Time
		}{Ts: []*time.Time{nil}},
		"a nil pointer alone": (*mrValS)(nil),
		// Map keys: a string, else a key's MarshalText, else an integer's digits.
		"keys with MarshalText":         map[mrTextKey]int{{"a"}: 1},
		"integer keys with MarshalText": map[mrIntKey]int{3: 1},
		"uintptr keys":                  map[uintptr]int{3: 1},
		// json.Number is a number, as its text says; "" is 0.
		"json.Number": struct {
			N, Z json.Number
			L    []json.Number
		}{N: "-12.5e1", L: []json.Number{"7"}},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(v)
			require.NoError(t, err)
			var wantTree any
			require.NoError(t, json.Unmarshal(want, &wantTree))

			n, err := Normalize(v, "params")
			require.NoError(t, err)
			got, err := json.Marshal(n)
			require.NoError(t, err)
			var gotTree any
			require.NoError(t, json.Unmarshal(got, &gotTree))
			require.Equal(t, wantTree, gotTree)
		})
	}
}

// mrTextKeyP marshals itself through its pointer, and cannot from nil.
type mrTextKeyP struct{ K string }

func (k *mrTextKeyP) MarshalText() ([]byte, error) { return []byte(k.K), nil }

// mrZeroPanics panics in its IsZero when p is nil.
type mrZeroPanics struct{ p *int }

func (z mrZeroPanics) IsZero() bool { return *z.p == 0 }

// mrPanics panics in its MarshalJSON.
type mrPanics struct{}

func (mrPanics) MarshalJSON() ([]byte, error) { panic("not today") }

func TestWhatEncodingJSONRefusesIsAnErrorNeverAPanic(t *testing.T) {
	for name, c := range map[string]struct {
		v    any
		want string
	}{
		"a json.Number that is not a number": {struct{ N json.Number }{"12x"}, `params.N is json.Number "12x", which is not a number`},
		"a MarshalJSON that panics":          {[]any{mrPanics{}}, "params[0]: MarshalJSON panicked: not today"},
		"an embedded nil *time.Time":         {struct{ *time.Time }{}, "MarshalJSON panicked"},
		"an IsZero that panics, under omitzero": {struct {
			A struct{ *time.Time } `json:",omitzero"`
		}{}, "params.A: IsZero panicked"},
		"an IsZero that panics, with no MarshalJSON": {struct {
			A mrZeroPanics `json:"a,omitzero"`
		}{}, "params.a: IsZero panicked"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Normalize(c.v, "params")
			require.ErrorContains(t, err, c.want)
		})
	}
}

// A nil pointer key whose type marshals itself through its pointer is "",
// as for a key of the pointer's own type; encoding/json, given it behind an
// interface, calls its MarshalText and panics.
func TestANilPointerKeyBehindAnInterfaceIsTheEmptyKey(t *testing.T) {
	n, err := Normalize(map[encoding.TextMarshaler]int{(*mrTextKeyP)(nil): 1}, "params")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"": 1.0}, n)
}

// An array of bytes crosses as bytes (a Uint8Array), where encoding/json
// writes an array of numbers: a digest ([32]byte) is bytes to JS.
func TestAnArrayOfBytesCrossesAsBytes(t *testing.T) {
	n, err := Normalize([3]mrNamedB{1, 2, 3}, "params")
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3}, n)
}

type listNode struct {
	V    int       `json:"v"`
	Next *listNode `json:"next,omitempty"`
}

// A pointer is no level of the value that crosses: a linked list of 40
// nodes is 40 objects deep in JS (and in encoding/json's output), well
// within MaxDepth.
func TestAPointerIsNoLevelOfTheValueThatCrosses(t *testing.T) {
	var head *listNode
	for i := range 40 {
		head = &listNode{V: i, Next: head}
	}
	_, err := Normalize(head, "params")
	require.NoError(t, err)

	// What is deeper than MaxDepth objects still fails, and a cycle of
	// pointers still ends.
	for i := range MaxDepth {
		head = &listNode{V: i, Next: head}
	}
	_, err = Normalize(head, "params")
	require.ErrorContains(t, err, "nests deeper than 64 levels")
	var a any
	a = &a
	_, err = Normalize(a, "params")
	require.ErrorContains(t, err, "nests deeper than 64 levels")
}

// float32 crosses as encoding/json writes it: 0.1, not 0.10000000149011612.
func TestAFloat32CrossesAsEncodingJSONWritesIt(t *testing.T) {
	v := struct {
		Ratio float32   `json:"ratio"`
		All   []float32 `json:"all"`
	}{0.1, []float32{0.1, 1.5, 3.4e38}}
	got, err := Normalize(v, "params")
	require.NoError(t, err)
	b, _ := json.Marshal(v)
	var want any
	require.NoError(t, json.Unmarshal(b, &want))
	require.Equal(t, want.(map[string]any)["ratio"], got.(map[string]any)["ratio"])
	require.Equal(t, []float64{0.1, 1.5, 3.4e38}, got.(map[string]any)["all"])
}
