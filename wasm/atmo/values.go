package atmo

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply params may nest. It also stops cyclic maps and
// slices, which would otherwise recurse forever.
const maxDepth = 64

// isOpaque reports values that cross to JS as they are (js.Value in js/wasm
// builds: an ImageData, an OffscreenCanvas, an existing typed array).
var isOpaque = func(any) bool { return false }

// normalize turns params into the tree that crosses to a worker: nil, bool,
// float64, string, []byte, []any and map[string]any (plus opaque JS values).
// Numbers become float64, as they do in JS; structs follow their json tags as
// encoding/json would; []byte stays bytes (a Uint8Array on the other side).
// A value JS cannot hold (a func, a channel, a complex number, a cycle) is an
// error that names where it sits, never a panic.
func normalize(v any) (any, error) {
	return normalizeAt(v, "params", 0)
}

func normalizeAt(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: %s nests deeper than %d levels (a cyclic map or slice?)", ErrBadParams, path, maxDepth)
	}
	// Fast paths for what callers pass most.
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string, bool, float64, []byte:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalizeAt(e, path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalizeAt(e, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	if isOpaque(v) {
		return v, nil
	}
	if m, ok := v.(json.Marshaler); ok {
		return normalizeJSON(m, path, depth)
	}
	if m, ok := v.(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadParams, path, err)
		}
		return string(b), nil
	}
	return normalizeReflect(reflect.ValueOf(v), path, depth)
}

func normalizeJSON(m json.Marshaler, path string, depth int) (any, error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadParams, path, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: %s: MarshalJSON gave invalid JSON: %v", ErrBadParams, path, err)
	}
	return out, nil
}

func normalizeReflect(rv reflect.Value, path string, depth int) (any, error) {
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
		return normalizeAt(rv.Elem().Interface(), path, depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalizeAt(rv.Index(i).Interface(), path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
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
			k, err := mapKey(iter.Key(), path)
			if err != nil {
				return nil, err
			}
			n, err := normalizeAt(iter.Value().Interface(), path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case reflect.Struct:
		out := make(map[string]any)
		if err := normalizeStruct(rv, out, path, depth); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s is a %s, which cannot be sent to a worker (send data: numbers, strings, bools, maps, slices, structs, []byte)",
		ErrBadParams, path, rv.Type())
}

func mapKey(k reflect.Value, path string) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("%w: %s has %s keys; use string or integer keys", ErrBadParams, path, k.Type())
}

// normalizeStruct follows encoding/json: exported fields, the `json` tag's
// name, "-" and omitempty, and the fields of embedded structs.
func normalizeStruct(rv reflect.Value, out map[string]any, path string, depth int) error {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := rv.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := normalizeStruct(fv, out, path, depth); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(","+opts+",", ",omitempty,") && isEmptyValue(fv) {
			continue
		}
		n, err := normalizeAt(fv.Interface(), path+"."+name, depth+1)
		if err != nil {
			return err
		}
		out[name] = n
	}
	return nil
}

// isEmptyValue is encoding/json's omitempty rule.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
