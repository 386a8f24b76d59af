package worker

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode stores src, a tree of params as they came from JS (nil, bool,
// float64, string, []byte, []any, map[string]any), into dst, as
// encoding/json would decode the same value: struct fields by their json tags
// (matched exactly, then without regard to case), unknown keys ignored, null
// leaving the zero value. Numbers must fit integer types exactly. []byte
// accepts a typed array, or an array of numbers 0-255. A type with
// UnmarshalJSON or UnmarshalText (time.Time, ...) decodes itself.
//
// root names src in errors ("params"), which say where the value sits
// ("params.items[3].name").
func decode(src any, dst reflect.Value, root string) error {
	return values.At(decodeAt(src, dst), root)
}

// How a type's values decode themselves, if they do: through a pointer's
// UnmarshalJSON, or its UnmarshalText (from a string).
const (
	notSelf = iota
	jsonSelf
	textSelf
)

// selfDecoding says how values of type t decode themselves, worked out once
// per type: asking reflect for each element took a third of the time of
// decoding an array.
func selfDecoding(t reflect.Type) int {
	if k, ok := selfDecoders.Load(t); ok {
		return k.(int)
	}
	k := notSelf
	switch pt := reflect.PointerTo(t); {
	case pt.Implements(jsonUnmarshaler):
		k = jsonSelf
	case pt.Implements(textUnmarshaler):
		k = textSelf
	}
	selfDecoders.Store(t, k)
	return k
}

// selfDecoders holds selfDecoding's answers by type.
var selfDecoders sync.Map

func decodeAt(src any, dst reflect.Value) error {
	if src == nil {
		return nil
	}
	if dst.Kind() != reflect.Pointer && dst.CanAddr() {
		self := selfDecoding(dst.Type())
		if self == jsonSelf {
			b, err := json.Marshal(src)
			if err != nil {
				return values.FailHere(": %v", err)
			}
			if err := dst.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
				return values.FailHere(": %v", err)
			}
			return nil
		}
		if s, ok := src.(string); ok && self == textSelf {
			if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return values.FailHere(": %v", err)
			}
			return nil
		}
	}
	switch dst.Kind() {
	case reflect.Interface:
		v := reflect.ValueOf(src)
		if !v.Type().AssignableTo(dst.Type()) {
			return mismatch(src, dst)
		}
		dst.Set(v)
		return nil
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return decodeAt(src, dst.Elem())
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return mismatch(src, dst)
		}
		dst.SetBool(b)
		return nil
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			return mismatch(src, dst)
		}
		dst.SetString(s)
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := src.(float64)
		if !ok {
			return mismatch(src, dst)
		}
		dst.SetFloat(f)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := src.(float64)
		if !ok {
			return mismatch(src, dst)
		}
		if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 || dst.OverflowInt(int64(f)) {
			return values.FailHere(" is %v, which does not fit %s", f, dst.Type())
		}
		dst.SetInt(int64(f))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f, ok := src.(float64)
		if !ok {
			return mismatch(src, dst)
		}
		if f != math.Trunc(f) || f < 0 || f >= 1<<64 || dst.OverflowUint(uint64(f)) {
			return values.FailHere(" is %v, which does not fit %s", f, dst.Type())
		}
		dst.SetUint(uint64(f))
		return nil
	case reflect.Slice:
		if b, ok := src.([]byte); ok && dst.Type().Elem().Kind() == reflect.Uint8 {
			dst.Set(reflect.ValueOf(b).Convert(dst.Type()))
			return nil
		}
		a, ok := src.([]any)
		if !ok {
			return mismatch(src, dst)
		}
		s := reflect.MakeSlice(dst.Type(), len(a), len(a))
		for i, e := range a {
			if err := decodeAt(e, s.Index(i)); err != nil {
				return values.Inside(err, "["+strconv.Itoa(i)+"]")
			}
		}
		dst.Set(s)
		return nil
	case reflect.Array:
		n := dst.Len()
		switch a := src.(type) {
		case []byte:
			if dst.Type().Elem().Kind() != reflect.Uint8 {
				return mismatch(src, dst)
			}
			if len(a) != n {
				return values.FailHere(" has %d bytes, want %d for %s", len(a), n, dst.Type())
			}
			reflect.Copy(dst, reflect.ValueOf(a))
			return nil
		case []any:
			if len(a) != n {
				return values.FailHere(" has %d elements, want %d for %s", len(a), n, dst.Type())
			}
			for i, e := range a {
				if err := decodeAt(e, dst.Index(i)); err != nil {
					return values.Inside(err, "["+strconv.Itoa(i)+"]")
				}
			}
			return nil
		}
		return mismatch(src, dst)
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok {
			return mismatch(src, dst)
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(dst.Type(), len(m)))
		}
		kt, et := dst.Type().Key(), dst.Type().Elem()
		for k, e := range m {
			kv := reflect.New(kt).Elem()
			if err := decodeKey(k, kv); err != nil {
				return err
			}
			ev := reflect.New(et).Elem()
			if err := decodeAt(e, ev); err != nil {
				return values.Inside(err, "."+k)
			}
			dst.SetMapIndex(kv, ev)
		}
		return nil
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return mismatch(src, dst)
		}
		for _, f := range values.Fields(dst.Type()) {
			e, ok := m[f.Name]
			if !ok {
				for k, v := range m {
					if strings.EqualFold(k, f.Name) {
						e, ok = v, true
						break
					}
				}
			}
			if !ok {
				continue
			}
			fv := dst
			for i, x := range f.Index {
				if i > 0 && fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						if !fv.CanSet() {
							return values.FailHere(".%s sits in an unexported embedded pointer and cannot be set", f.Name)
						}
						fv.Set(reflect.New(fv.Type().Elem()))
					}
					fv = fv.Elem()
				}
				fv = fv.Field(x)
			}
			if err := decodeAt(e, fv); err != nil {
				return values.Inside(err, "."+f.Name)
			}
		}
		return nil
	}
	return values.FailHere(": params cannot be decoded into a %s", dst.Type())
}

func decodeKey(k string, dst reflect.Value) error {
	switch dst.Kind() {
	case reflect.String:
		dst.SetString(k)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(k, 10, dst.Type().Bits())
		if err != nil {
			return values.FailHere(" has the key %q, want an integer for %s", k, dst.Type())
		}
		dst.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(k, 10, dst.Type().Bits())
		if err != nil {
			return values.FailHere(" has the key %q, want an unsigned integer for %s", k, dst.Type())
		}
		dst.SetUint(n)
		return nil
	}
	return values.FailHere(": a map with %s keys cannot be decoded from a JS object; use string or integer keys", dst.Type())
}

// mismatch says what src is and what dst wanted.
func mismatch(src any, dst reflect.Value) error {
	var got string
	switch x := src.(type) {
	case bool:
		got = fmt.Sprintf("a boolean (%v)", x)
	case float64:
		got = fmt.Sprintf("a number (%v)", x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		got = fmt.Sprintf("a string (%q)", x)
	case []byte:
		got = fmt.Sprintf("bytes (%d)", len(x))
	case []any:
		got = fmt.Sprintf("an array (%d elements)", len(x))
	case map[string]any:
		got = "an object"
	default:
		got = fmt.Sprintf("a %T", src)
	}
	return values.FailHere(" is %s, want %s for %s", got, want(dst.Type()), dst.Type())
}

func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a Uint8Array or an array of bytes"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}
