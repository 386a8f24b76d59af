package worker

import (
	"bytes"
	"encoding"
	"encoding/base64"
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
// (matched exactly, then without regard to case; a field tagged ,string
// from a string holding its JSON), unknown keys ignored, null
// leaving the zero value. Numbers must fit integer types exactly, and an
// array fill a Go array exactly (encoding/json would drop extra elements
// and leave missing ones zero: a length that differs fails instead). []byte
// accepts a typed array, an array of numbers 0-255, or base64 text. A type with
// UnmarshalJSON or UnmarshalText (time.Time, ...) decodes itself.
//
// root names src in errors ("params"), which say where the value sits
// ("params.items[3].name").
func decode(src any, dst reflect.Value, root string) error {
	return values.At(decodeIn(src, dst, true), root) // dst is what a pointer points to (HandleTyped's &p)
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

// opaqueType says whether t is a JS value's type (js.Value, js.Func in
// js/wasm builds), which decode cannot fill.
var opaqueType = func(reflect.Type) bool { return false }

// selfDecoders holds selfDecoding's answers by type.
var selfDecoders sync.Map

func decodeAt(src any, dst reflect.Value) error { return decodeIn(src, dst, false) }

// decodeIn is decodeAt for dst reached through a pointer (viaPointer) or
// not. As encoding/json does, it calls a pointer's UnmarshalJSON or
// UnmarshalText on a value of a named type, or on one a pointer points to,
// but not on a field, element or map value of an unnamed type (struct{
// time.Time; N int }), whose method is only promoted from a field: such a
// struct is read by its fields.
func decodeIn(src any, dst reflect.Value, viaPointer bool) error {
	selfOK := viaPointer || dst.Type().Name() != ""
	if src == nil {
		// As encoding/json: null leaves a value as it is, but a value that
		// reads itself from JSON is handed the null (by convention a no-op;
		// an optional type notes that its key was there).
		if dst.Kind() != reflect.Pointer && dst.CanSet() && selfOK && selfDecoding(dst.Type()) == jsonSelf {
			if err := dst.Addr().Interface().(json.Unmarshaler).UnmarshalJSON([]byte("null")); err != nil {
				return values.FailHere(": %v", err)
			}
		}
		return nil
	}
	if opaqueType(dst.Type()) {
		// A JS value has nothing to fill from params read into Go: it
		// would be left undefined without a word.
		return values.FailHere(": a %s cannot be decoded from params; take them as they came with worker.HandleJS", dst.Type())
	}
	// (A value that cannot be set, an unexported embedded struct named by
	// its json tag, has no methods to call: its fields are set one by one.)
	if dst.Kind() != reflect.Pointer && dst.CanSet() && selfOK {
		self := selfDecoding(dst.Type())
		if self == jsonSelf {
			b, err := marshalParams(src)
			if err != nil {
				return values.FailHere(": %v", err)
			}
			if err := dst.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
				return values.FailHere(": %v", err)
			}
			return nil
		}
		if self == textSelf {
			// As encoding/json: a type that reads itself from text takes a
			// string (null, above, leaves it as it is), and no other JS
			// value; but a byte slice or array of such a type (net.IP) takes
			// bytes as any other does (a Uint8Array, numbers), below.
			s, ok := src.(string)
			if ok {
				if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
					return values.FailHere(": %v", err)
				}
				return nil
			}
			if !byteList(dst.Type()) {
				return values.FailHere(" is %s, want a string for %s (it reads itself from text)", describe(src), dst.Type())
			}
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
			if !dst.CanSet() {
				return values.FailHere(" is an unexported embedded pointer, which cannot be set")
			}
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return decodeIn(src, dst.Elem(), true)
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return mismatch(src, dst)
		}
		dst.SetBool(b)
		return nil
	case reflect.String:
		if dst.Type() == values.JSONNumber {
			return decodeNumber(src, dst)
		}
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
		if dst.OverflowFloat(f) {
			return values.FailHere(" is %v, which does not fit %s", f, dst.Type())
		}
		if dst.Kind() == reflect.Float32 {
			dst.SetFloat(float64(values.Float32(f))) // a float32 the host sent comes back as it was
			return nil
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
		if dst.Type().Elem().Kind() == reflect.Uint8 {
			switch x := src.(type) {
			case []byte:
				dst.SetBytes(x) // a named byte type's slice too
				return nil
			case string: // base64, as encoding/json reads bytes from text
				b, err := base64.StdEncoding.DecodeString(x)
				if err != nil {
					return values.FailHere(" is a string that is not base64 (%v), want bytes for %s: send a Uint8Array", err, dst.Type())
				}
				dst.SetBytes(b)
				return nil
			}
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
			if dst.CanAddr() {
				copy(dst.Bytes(), a) // a named byte type's array too
				return nil
			}
			for i, b := range a {
				dst.Index(i).SetUint(uint64(b))
			}
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
		textKeys := reflect.PointerTo(kt).Implements(textUnmarshaler)
		for k, e := range m {
			kv := reflect.New(kt).Elem()
			if err := decodeKey(k, kv, textKeys); err != nil {
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
		fs := values.Fields(dst.Type())
		for i := range fs {
			f := &fs[i]
			key := f.Name // as the host sent it, for an error to name
			e, ok := m[f.Name]
			if !ok {
				// As encoding/json: a key that is no field's name fills the
				// first field it matches case-insensitively, and only that
				// one; of several such keys, one is picked the same way
				// every time.
				best := ""
				for k, v := range m {
					if strings.EqualFold(k, f.Name) && !isFieldName(fs, k) && !foldsEarlier(fs[:i], k) && (!ok || k < best) {
						best, e, ok = k, v, true
					}
				}
				if ok {
					key = best
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
			decode := decodeAt
			if f.Quoted {
				decode = decodeQuoted
			}
			if err := decode(e, fv); err != nil {
				return values.Inside(err, "."+key)
			}
		}
		return nil
	}
	return values.FailHere(": params cannot be decoded into a %s", dst.Type())
}

// foldsEarlier says whether k matches one of fs, the fields before the one
// being filled, case-insensitively: that field is the first k matches, and
// the only one it fills.
func foldsEarlier(fs []values.Field, k string) bool {
	for i := range fs {
		if strings.EqualFold(fs[i].Name, k) {
			return true
		}
	}
	return false
}

// isFieldName says whether k is the name of one of fs.
func isFieldName(fs []values.Field, k string) bool {
	for i := range fs {
		if fs[i].Name == k {
			return true
		}
	}
	return false
}

// decodeQuoted stores src into dst, a field tagged ,string, as
// encoding/json would: src is a string holding the JSON of a bool, a
// number or a string ("true", "2", "\"text\""), or null, which leaves
// a number as it is and a pointer nil (and is handed to a type that reads
// itself from JSON).
func decodeQuoted(src any, dst reflect.Value) error {
	if src == nil {
		return decodeAt(nil, dst) // as null without ,string
	}
	s, ok := src.(string)
	if !ok {
		return values.FailHere(" is %s, want a string holding %s for %s (its json tag says ,string)", describe(src), quotedWant(dst.Type()), dst.Type())
	}
	if dst.Kind() == reflect.Pointer {
		if s == "null" {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		dst = dst.Elem()
	}
	if selfDecoding(dst.Type()) != notSelf {
		if err := json.Unmarshal([]byte(s), dst.Addr().Interface()); err != nil {
			return values.FailHere(": %v", err)
		}
		return nil
	}
	if s == "null" {
		return nil
	}
	bad := func() error {
		return values.FailHere(" is %s, which does not hold %s for %s (its json tag says ,string)", describe(src), quotedWant(dst.Type()), dst.Type())
	}
	if dst.Type() == values.JSONNumber { // its text, once it reads as a JSON number
		if !values.ValidNumber(s) {
			return bad()
		}
		dst.SetString(s)
		return nil
	}
	switch dst.Kind() {
	case reflect.Bool:
		if s != "true" && s != "false" {
			return bad()
		}
		dst.SetBool(s == "true")
		return nil
	case reflect.String:
		var v string
		if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' || json.Unmarshal([]byte(s), &v) != nil {
			return bad()
		}
		dst.SetString(v)
		return nil
	}
	// A number: encoding/json wants it to start as a JSON number does.
	if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return bad()
	}

	switch dst.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || dst.OverflowInt(n) {
			return bad()
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || dst.OverflowUint(n) {
			return bad()
		}
		dst.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, dst.Type().Bits())
		if err != nil || dst.OverflowFloat(n) {
			return bad()
		}
		dst.SetFloat(n)
	default:
		return bad()
	}
	return nil
}

// quotedWant says what a ,string field of type t wants its string to hold.
func quotedWant(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == values.JSONNumber {
		return "a number"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a JSON string"
	}
	return "a number"
}

func decodeKey(k string, dst reflect.Value, text bool) error {
	// As encoding/json: a key type that reads itself from text (text) does
	// so, whatever its kind.
	if text {
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(k)); err != nil {
			return values.FailHere(" has the key %q, which is no %s: %v", k, dst.Type(), err)
		}
		return nil
	}
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
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(k, 10, dst.Type().Bits())
		if err != nil {
			return values.FailHere(" has the key %q, want an unsigned integer for %s", k, dst.Type())
		}
		dst.SetUint(n)
		return nil
	}
	return values.FailHere(": a map with %s keys cannot be decoded from a JS object; use string or integer keys, or a key type with UnmarshalText", dst.Type())
}

// byteList says whether t is a slice or array of bytes (of a named byte
// type too).
func byteList(t reflect.Type) bool {
	return (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Uint8
}

// mismatch says what src is and what dst wanted, and what to do where
// the cause is a common one.
func mismatch(src any, dst reflect.Value) error {
	wanted, hint := want(dst.Type()), ""
	s, isText := src.(string)
	switch _, isBytes := src.([]byte); {
	case isBytes && (dst.Kind() == reflect.Slice || dst.Kind() == reflect.Array):
		// A Float64Array, say, for a []float64: typed arrays cross as bytes.
		hint = " (a typed array other than a Uint8Array crosses as its bytes: take a []byte and read them with encoding/binary, or send a plain array, Array.from(a))"
	case isText && wanted == "a number" && values.ValidNumber(s):
		// An integer beyond 2^53 can only come as a string.
		hint = " (for a number sent as a string, such as an integer beyond 2^53, tag the field json:\",string\")"
	}
	return values.FailHere(" is %s, want %s for %s%s", describe(src), wanted, dst.Type(), hint)
}

// describe says what src, a value from JS, is: `a string ("2")`.
func describe(src any) string {
	var got string
	switch x := src.(type) {
	case bool:
		got = fmt.Sprintf("a boolean (%v)", x)
	case float64:
		got = fmt.Sprintf("a number (%v)", x)
	case string:
		got = fmt.Sprintf("a string (%q)", values.Clip(x))
	case []byte:
		got = fmt.Sprintf("bytes (%d)", len(x))
	case []any:
		got = fmt.Sprintf("an array (%d elements)", len(x))
	case map[string]any:
		got = "an object"
	default:
		got = fmt.Sprintf("a %T", src)
	}
	return got
}

func want(t reflect.Type) string {
	if t == values.JSONNumber {
		return "a number (or a string holding one)"
	}
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

// marshalParams writes src, params read from JS, as the JSON text a type
// that reads itself from JSON is handed: as the host would have written it,
// so without encoding/json's HTML escapes (a json.RawMessage keeps "<b>",
// not "\u003cb\u003e").
func marshalParams(src any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(src); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeNumber fills a json.Number as encoding/json does: from a number,
// its JSON text (a json.Number crosses to JS as a number); from a string
// that holds a JSON number, that string.
func decodeNumber(src any, dst reflect.Value) error {
	switch x := src.(type) {
	case float64:
		b, err := json.Marshal(x)
		if err != nil {
			return values.FailHere(" is %v, which JSON cannot write as a number", x)
		}
		dst.SetString(string(b))
		return nil
	case string:
		if !values.ValidNumber(x) {
			return values.FailHere(" is %s, which is not a number for json.Number", describe(src))
		}
		dst.SetString(x)
		return nil
	}
	return mismatch(src, dst)
}
