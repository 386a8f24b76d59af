// Package values holds the rules by which values cross between Go and JS,
// shared by the main-thread manager (package atmo) and Go workers (package
// worker): Normalize checks and converts Go values into the tree that
// crosses; ToJS and FromJS (js/wasm only) cross it. Numbers become float64,
// structs follow their json tags as encoding/json would, []byte stays bytes
// (a Uint8Array in JS).
package values

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxDepth bounds how deeply a value may nest; it also stops cycles.
const MaxDepth = 64

// MaxItems bounds the length of an array read from JS: a sparse array with a
// huge length (new Array(2**32 - 1)) clones cheaply but would take forever
// to walk.
const MaxItems = 1 << 24

// isOpaque reports values that cross to JS as they are (js.Value in js/wasm
// builds).
var isOpaque = func(any) bool { return false }

// isMoving reports opaque values that move JS buffers to their receiver
// (Moved in js/wasm builds).
var isMoving = func(any) bool { return false }

// Moves reports whether v, params as prepared to send (a normalized tree,
// or Preencoded's), moves JS buffers to its receiver: an atmo.Transfer, or
// a Held with a transfer list. Once sent, those buffers are gone from the
// sender, so v cannot be sent a second time.
func Moves(v any) bool {
	if e, ok := v.(Encoded); ok {
		for _, r := range e.refs {
			if moves(r) {
				return true
			}
		}
		return false
	}
	return moves(v)
}

func moves(v any) bool {
	if h, ok := v.(Held); ok {
		return h.List >= 0
	}
	return isMoving(v)
}

// Normalize turns a value into the tree that crosses to JS: nil,
// bool, float64, string, []byte, []float64, []any and map[string]any (plus
// opaque JS values), by package atmo's rules: numbers become float64,
// structs follow their json tags as encoding/json would, []byte stays
// bytes, and a slice or array of plain numbers becomes a []float64 (a JS
// array of numbers on the other side), with no value boxed per element. A
// value JS cannot hold (a func, a channel, a cycle) is an error naming
// where it sits.
func Normalize(v any, path string) (any, error) {
	n, err := normalizeAt(v, 0)
	if err != nil {
		return nil, At(err, path)
	}
	return n, nil
}

// An error found inside a value being walked (normalized here, decoded by
// a Go worker) says where the value sits: "params.items[3] is ...". The
// place is put together only as the error unwinds: FailHere makes the
// error where the walk stopped, each level on the way out adds its step
// with Inside, and At spells it from the root's name. So walking builds no
// path strings when nothing is wrong.
type pathError struct {
	steps []string // ".key" or "[i]", innermost first
	rest  string   // the message after the path
}

func (e *pathError) Error() string { return e.text("") }

func (e *pathError) text(root string) string {
	var b strings.Builder
	b.WriteString(root)
	for i := len(e.steps) - 1; i >= 0; i-- {
		b.WriteString(e.steps[i])
	}
	b.WriteString(e.rest)
	return b.String()
}

// FailHere is an error about the value the walk is at; format says what
// follows its place (" is a chan int, ...").
func FailHere(format string, args ...any) error {
	return &pathError{rest: fmt.Sprintf(format, args...)}
}

// Inside adds one step (".key" or "[i]") to the place of an error from
// FailHere.
func Inside(err error, step string) error {
	pe := err.(*pathError)
	pe.steps = append(pe.steps, step)
	return pe
}

// At is err with its full place, from the root's name.
func At(err error, root string) error {
	if pe, ok := err.(*pathError); ok {
		return errors.New(pe.text(root))
	}
	return err
}

func normalizeAt(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, FailHere(" nests deeper than %d levels (a cycle?)", MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string, bool, float64, []byte:
		return x, nil
	case int:
		return float64(x), nil
	case []float64:
		if x == nil {
			return nil, nil
		}
		return slices.Clone(x), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalizeAt(e, depth+1)
			if err != nil {
				return nil, Inside(err, "."+k)
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeAt(e, depth+1)
			if err != nil {
				return nil, Inside(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = n
		}
		return out, nil
	}
	if _, held := v.(Held); held || isOpaque(v) {
		return v, nil
	}
	if m, ok := v.(json.Marshaler); ok {
		b, err := m.MarshalJSON()
		if err != nil {
			return nil, FailHere(": %v", err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, FailHere(": MarshalJSON gave invalid JSON: %v", err)
		}
		return out, nil
	}
	if m, ok := v.(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err != nil {
			return nil, FailHere(": %v", err)
		}
		return string(b), nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalizeAt(rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		if plainNumber(rv.Type().Elem()) {
			return numbers(rv), nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalizeAt(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, Inside(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k, err := mapKey(iter.Key())
			if err != nil {
				return nil, err
			}
			n, err := normalizeAt(iter.Value().Interface(), depth+1)
			if err != nil {
				return nil, Inside(err, "."+k)
			}
			out[k] = n
		}
		return out, nil
	case reflect.Struct:
		out := map[string]any{}
		for _, f := range Fields(rv.Type()) {
			fv, ok := FieldByIndex(rv, f.Index)
			if !ok || (f.OmitEmpty && isEmptyValue(fv)) {
				continue
			}
			n, err := normalizeAt(fv.Interface(), depth+1)
			if err != nil {
				return nil, Inside(err, "."+f.Name)
			}
			out[f.Name] = n
		}
		return out, nil
	}
	return nil, FailHere(" is a %s, which cannot cross to JS (send data: numbers, strings, bools, maps, slices, structs, []byte)", rv.Type())
}

// plainNumber says whether values of t are numbers with no marshaling
// method of their own: a slice of them becomes []float64 in one go.
func plainNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return !t.Implements(jsonMarshaler) && !t.Implements(textMarshaler)
	}
	return false
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// numbers reads a slice or array of plain numbers as float64s.
func numbers(rv reflect.Value) []float64 {
	out := make([]float64, rv.Len())
	switch rv.Type().Elem().Kind() {
	case reflect.Float32, reflect.Float64:
		for i := range out {
			out[i] = rv.Index(i).Float()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		for i := range out {
			out[i] = float64(rv.Index(i).Int())
		}
	default:
		for i := range out {
			out[i] = float64(rv.Index(i).Uint())
		}
	}
	return out
}

func mapKey(k reflect.Value) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", FailHere(" has %s keys; use string or integer keys", k.Type())
}

// Field is one struct field as encoding/json sees it.
type Field struct {
	Name      string
	Index     []int
	OmitEmpty bool
}

// Fields lists t's fields by encoding/json's rules: exported fields, the
// json tag's name, "-" and omitempty, and the fields of embedded structs
// (an outer field wins over an embedded one of the same name).
// They are worked out once per type: decoding an array of structs asked for
// them per element, and working them out was a third of its time. The
// slice is shared; do not change it.
func Fields(t reflect.Type) []Field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]Field)
	}
	f, _ := fieldCache.LoadOrStore(t, fields(t))
	return f.([]Field)
}

// fieldCache holds Fields' answers by type.
var fieldCache sync.Map

func fields(t reflect.Type) []Field {
	var out []Field
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		var embedded []reflect.StructField
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					embedded = append(embedded, f)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, Field{Name: name, Index: append(append([]int(nil), index...), i), OmitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
		}
		if depth < MaxDepth {
			for _, f := range embedded {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft, append(append([]int(nil), index...), f.Index[0]), depth+1)
			}
		}
	}
	walk(t, nil, 0)
	return out
}

// FieldByIndex is reflect's FieldByIndex that reports a nil embedded pointer
// instead of panicking.
func FieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmptyValue is encoding/json's omitempty rule: empty slices and maps are
// omitted too, not only nil ones.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}

// BigCopy is the size from which copying a JS byte array into Go may first
// collect garbage (see CollectBeforeCopy).
const BigCopy = 4 << 20

// CollectBeforeCopy says whether to run the garbage collector before
// copying n bytes from JS into a new []byte, given the bytes a collection
// has to scan (heap objects that hold pointers, stacks and globals; bytes
// hold none). Go frees a task's bytes only at a collection, and until one
// comes every large copy grows the heap into fresh memory, whose first
// touch faults page by page. On this project's VM a 64 MiB []byte round
// trip with a Go worker took 453 ms so, and 31 ms when each copy of 4 MiB
// or more first collected. Collecting costs in proportion to what it
// scans, faulting in proportion to n, so it collects only when n is at
// least half the scannable bytes. Measured against the live heap instead,
// a page that holds the bytes it sends beside the answer coming back
// (128 MiB live, almost none of it scanned) never collected, and its
// copies went round four 64 MiB regions, each fresh the first time: ~200
// ms a copy for its first three round trips. A thread that posts a
// message between two large copies collects after posting instead, off
// the message's way (see CollectAfterPost).
func CollectBeforeCopy(n int, scan uint64) bool {
	return n >= BigCopy && uint64(n) >= scan/2
}
