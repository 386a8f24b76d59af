package worker

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/require"
)

// Types whose fields encoding/json picks by its rules for embedded
// structs, tags and options; atmo's value rules say structs cross as
// encoding/json would have them, so TestStructsFollowEncodingJSON holds
// atmo's encoding and decoding of each to encoding/json's own.
type (
	jrX    struct{ X int }
	JrX    struct{ X int }
	jrX2   struct{ X int }
	jrXTag struct {
		X int `json:"X"`
	}
	JrXTag struct {
		X int `json:"X"`
	}
	JrXTag2 struct {
		X int `json:"X"`
	}
	jrDeep   struct{ jrX }
	jrZ      struct{ Z int }
	jrTwiceA struct{ jrZ }
	jrTwiceB struct{ jrZ }
	jrLoop   struct {
		*jrLoop
		X int
	}
	JrNum     int
	jrNum     int
	jrHidden  struct{ V, W int }
	jrValZero struct{ N int }
	jrPtrZero struct{ N int }
	jrMarshal int
	jrPtrJSON struct{ N int }
	jrPtrText struct{ S string }
)

// jrPtrJSON and jrPtrText marshal themselves through a pointer only:
// encoding/json calls them where it can take the value's address.
func (m *jrPtrJSON) MarshalJSON() ([]byte, error) {
	return []byte(`{"N":` + strconv.Itoa(10*m.N) + `}`), nil
}
func (m *jrPtrText) MarshalText() ([]byte, error) { return []byte("text:" + m.S), nil }

// IsZero says a jrValZero is zero when N is 1, so that omitzero is seen
// to ask it rather than reflect.
func (z jrValZero) IsZero() bool  { return z.N == 1 }
func (z *jrPtrZero) IsZero() bool { return z.N == 1 }

func (m jrMarshal) MarshalJSON() ([]byte, error) { return []byte(`{"m":1}`), nil }

type jrZeroer interface{ IsZero() bool }

func TestStructsFollowEncodingJSON(t *testing.T) {
	seven := 7
	cases := map[string]any{
		"the shallower of two names wins": struct {
			jrDeep
			jrX2
		}{jrDeep{jrX{1}}, jrX2{2}},
		"two at one depth cancel out": struct {
			jrX
			jrX2
			Y int
		}{jrX{1}, jrX2{2}, 3},
		"a json.Number with ,string is its text": struct {
			N json.Number `json:"n,string"`
			M json.Number `json:"m,string"`
		}{"12", "-3.5e2"},
		"of two at one depth the tagged one wins": struct {
			jrX
			jrXTag
		}{jrX{1}, jrXTag{2}},
		"two tagged at one depth cancel out": twoTagged(),
		"a tag takes a name from an untagged field beside it": struct {
			A int `json:"B"`
			B int
		}{1, 2},
		"a struct embedded twice at one level cancels its names": struct {
			jrTwiceA
			jrTwiceB
			Y int
		}{jrTwiceA{jrZ{1}}, jrTwiceB{jrZ{2}}, 3},
		"a nil embedded pointer": struct {
			*jrX
			Y int
		}{nil, 1},
		"an embedded pointer": struct {
			*JrX
			Y int
		}{&JrX{4}, 1},
		"an embedded pointer to an unexported struct": struct {
			*jrX
			Y int
		}{&jrX{4}, 1},
		"a struct embedding itself": jrLoop{&jrLoop{X: 2}, 1},
		"embedded non-structs": struct {
			JrNum
			jrNum
			Y int
		}{1, 2, 3},
		"a tagged embedded struct is a field": struct {
			jrX `json:"x"`
			Y   int
		}{jrX{1}, 2},
		"a tagged unexported embedded struct is written": struct {
			jrHidden `json:"h"`
			Y        int
		}{jrHidden{1, 2}, 3},
		"an invalid tag name leaves the Go name": struct {
			A int `json:"a\"b"`
			B int `json:"b-c,omitempty"`
			C int `json:"#c$"`
		}{1, 2, 3},
		"string": struct {
			I    int       `json:",string"`
			U    uint8     `json:"u,string"`
			F    float64   `json:",string"`
			Big  float64   `json:",string"`
			Tiny float32   `json:",string"`
			B    bool      `json:",string"`
			S    string    `json:",string"`
			P    *int      `json:",string"`
			NilP *int      `json:",string"`
			Sl   []int     `json:",string"`
			E    int       `json:",omitempty,string"`
			Tm   time.Time `json:",string"`
			Num  JrNum     `json:",string"`
			Any  any       `json:",string"`
			PS   *string   `json:",string"`
			Str  jrHidden  `json:",string"`
			PP   **int     `json:",string"`
		}{I: -2, U: 200, F: 1.5, Big: 1e21, Tiny: 1e-7, B: true, S: `a<b"c`, P: &seven, Sl: []int{1},
			Tm: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Num: 9, Any: 1, PS: new(string)},
		"string on a type that marshals itself": struct {
			M  jrMarshal  `json:",string"`
			MS *jrMarshal `json:",string"`
		}{3, new(jrMarshal)},
		"a pointer's MarshalJSON and MarshalText, where the value can be addressed": &struct {
			A  jrPtrJSON
			B  []jrPtrJSON
			C  map[string]jrPtrJSON
			D  [1]jrPtrJSON
			T  jrPtrText
			Q  jrPtrJSON `json:",string"`
			P  *jrPtrJSON
			In any
		}{A: jrPtrJSON{1}, B: []jrPtrJSON{{2}}, C: map[string]jrPtrJSON{"c": {3}}, D: [1]jrPtrJSON{{4}}, T: jrPtrText{"t"},
			Q: jrPtrJSON{5}, P: &jrPtrJSON{6}, In: jrPtrJSON{7}},
		"a pointer's MarshalJSON, not where the value cannot be addressed": struct {
			A jrPtrJSON
			D [1]jrPtrJSON
		}{jrPtrJSON{1}, [1]jrPtrJSON{{4}}},
		"json.Number crosses as a number and comes back as its text": struct {
			N json.Number
			L []json.Number
			P *json.Number
		}{N: "12.5", L: []json.Number{"7", "-3"}, P: new(json.Number)},
		"omitzero, all zero": jrOmit{},
		"omitzero, none zero": jrOmit{A: 1, B: []int{}, C: time.Now().UTC(), D: jrValZero{2}, E: jrPtrZero{2},
			F: &jrValZero{2}, H: 1, I: struct{ X int }{1}, J: "", K: &jrPtrZero{2}},
		"omitzero by IsZero": jrOmit{D: jrValZero{1}, E: jrPtrZero{1}, F: &jrValZero{1}, K: &jrPtrZero{1}},
		"omitzero on an interface": struct {
			A jrZeroer `json:",omitzero"`
			B jrZeroer `json:",omitzero"`
			C jrZeroer `json:",omitzero"`
			D any      `json:",omitzero"`
		}{A: jrValZero{1}, B: (*jrPtrZero)(nil), C: jrValZero{2}},
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(v)
			require.NoError(t, err)
			var wantTree any
			require.NoError(t, json.Unmarshal(want, &wantTree))

			n, err := values.Normalize(v, "params")
			require.NoError(t, err)
			got, err := json.Marshal(n)
			require.NoError(t, err)
			var gotTree any
			require.NoError(t, json.Unmarshal(got, &gotTree))
			require.Equal(t, wantTree, gotTree, "encoded as json.Marshal does")

			typ := reflect.TypeOf(v)
			wantV := reflect.New(typ)
			_ = json.Unmarshal(want, wantV.Interface())
			gotV := reflect.New(typ)
			err = decode(wantTree, gotV.Elem(), "params")
			if jsonErr := json.Unmarshal(want, reflect.New(typ).Interface()); jsonErr != nil {
				require.Error(t, err, "json.Unmarshal refuses it: %v", jsonErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, wantV.Elem().Interface(), gotV.Elem().Interface(), "decoded as json.Unmarshal does")
		})
	}
}

// twoTagged is struct{ JrXTag; JrXTag2; Y int }, made at run time:
// go vet rightly objects to the two json tags "X" in its source.
func twoTagged() any {
	v := reflect.New(reflect.StructOf([]reflect.StructField{
		{Name: "JrXTag", Type: reflect.TypeFor[JrXTag](), Anonymous: true},
		{Name: "JrXTag2", Type: reflect.TypeFor[JrXTag2](), Anonymous: true},
		{Name: "Y", Type: reflect.TypeFor[int]()},
	})).Elem()
	v.Field(0).Set(reflect.ValueOf(JrXTag{1}))
	v.Field(1).Set(reflect.ValueOf(JrXTag2{2}))
	v.Field(2).SetInt(3)
	return v.Interface()
}

type jrOmit struct {
	A int             `json:",omitzero"`
	B []int           `json:",omitzero"`
	C time.Time       `json:",omitzero"`
	D jrValZero       `json:",omitzero"`
	E jrPtrZero       `json:",omitzero"`
	F *jrValZero      `json:",omitzero"`
	H int             `json:",omitempty,omitzero"`
	I struct{ X int } `json:",omitzero"`
	J string          `json:",omitzero,omitempty"`
	K *jrPtrZero      `json:",omitzero"`
}

func TestStringTagIsReadFromAString(t *testing.T) {
	type params struct {
		X int     `json:"x"`
		Y int     `json:"y,string"`
		F float32 `json:"f,string"`
		B bool    `json:"b,string"`
		S string  `json:"s,string"`
		P *uint   `json:"p,string"`
	}
	got, err := decodeAs[params](t, map[string]any{"x": 1.0, "y": "2", "f": "-0.5", "b": "true", "s": `"q"`, "p": "3"})
	require.NoError(t, err)
	three := uint(3)
	require.Equal(t, params{X: 1, Y: 2, F: -0.5, B: true, S: "q", P: &three}, got)

	for src, msg := range map[string]string{
		`{"y": 2}`:      `params.y is a number (2), want a string holding a number for int (its json tag says ,string)`,
		`{"y": "2.5"}`:  `params.y is a string ("2.5"), which does not hold a number for int (its json tag says ,string)`,
		`{"y": " 2"}`:   `params.y is a string (" 2"), which does not hold a number for int (its json tag says ,string)`,
		`{"b": "yes"}`:  `params.b is a string ("yes"), which does not hold true or false for bool (its json tag says ,string)`,
		`{"s": "q"}`:    `params.s is a string ("q"), which does not hold a JSON string for string (its json tag says ,string)`,
		`{"p": "-1"}`:   `params.p is a string ("-1"), which does not hold a number for uint (its json tag says ,string)`,
		`{"f": "1e40"}`: `params.f is a string ("1e40"), which does not hold a number for float32 (its json tag says ,string)`,
	} {
		var tree any
		require.NoError(t, json.Unmarshal([]byte(src), &tree))
		_, err := decodeAs[params](t, tree)
		require.EqualError(t, err, msg, src)
		var p params
		require.Error(t, json.Unmarshal([]byte(src), &p), "encoding/json refuses %s too", src)
	}
}

func TestAKeyThatMatchesFieldsOnlyByCaseFillsOneAsEncodingJSONDoes(t *testing.T) {
	type params struct {
		Name  int
		NAME  int `json:"NAME"`
		Other int
	}
	for _, src := range []string{`{"name": 1}`, `{"NAME": 2, "name": 1}`, `{"other": 3, "Name": 5}`} {
		var tree any
		require.NoError(t, json.Unmarshal([]byte(src), &tree))
		got, err := decodeAs[params](t, tree)
		require.NoError(t, err, src)
		var want params
		require.NoError(t, json.Unmarshal([]byte(src), &want))
		require.Equal(t, want, got, src)
	}
	// Two keys for one field: encoding/json takes the last in the text;
	// atmo's keys come without an order, and it picks one the same way
	// every time.
	first, err := decodeAs[params](t, map[string]any{"other": 3.0, "OTHER": 4.0})
	require.NoError(t, err)
	for range 20 {
		again, err := decodeAs[params](t, map[string]any{"other": 3.0, "OTHER": 4.0})
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestAKeyThatMatchesTwoFieldsOnlyByCaseNeverFillsTheSecond(t *testing.T) {
	// encoding/json: a key that is no field's name fills the first field it
	// matches case-insensitively, and only that one. Of two such keys, the
	// second went to the second field, which encoding/json leaves alone.
	type params struct {
		Name int
		NAME int `json:"NAME"`
	}
	src := `{"nAme": 1, "naMe": 2}`
	var want params
	require.NoError(t, json.Unmarshal([]byte(src), &want))
	require.Zero(t, want.NAME, "encoding/json fills Name only")
	var tree any
	require.NoError(t, json.Unmarshal([]byte(src), &tree))
	got, err := decodeAs[params](t, tree)
	require.NoError(t, err)
	require.Zero(t, got.NAME, "neither key is NAME's: both match Name first")
	require.NotZero(t, got.Name)
}

// jrOptions reads itself from JSON through its pointer, filling defaults.
type jrOptions struct {
	Size int `json:"size"`
}

func (o *jrOptions) UnmarshalJSON(b []byte) error {
	type plain jrOptions
	p := plain{Size: 10}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*o = jrOptions(p)
	return nil
}

func TestAFieldOfAnUnnamedStructTypeIsReadByItsFieldsAsEncodingJSONReadsIt(t *testing.T) {
	// encoding/json calls a pointer's UnmarshalJSON on what it decodes
	// into (HandleTyped's &p), and below it only on a value of a named
	// type: a field of an unnamed struct type that embeds a type with one
	// is read field by field, the embedded type's fields promoted. atmo
	// handed the field's whole object to the embedded type's method, and
	// the field's own fields were left zero without a word.
	type params struct {
		Job struct {
			jrOptions
			Label string `json:"label"`
		} `json:"job"`
		When struct {
			time.Time
			N int
		} `json:"when"`
	}
	src := `{"job": {"size": 3, "label": "x"}, "when": {"N": 1}}`
	var want params
	require.NoError(t, json.Unmarshal([]byte(src), &want))
	require.Equal(t, "x", want.Job.Label)
	var tree any
	require.NoError(t, json.Unmarshal([]byte(src), &tree))
	got, err := decodeAs[params](t, tree)
	require.NoError(t, err, "encoding/json reads them field by field")
	require.Equal(t, want, got)
}
