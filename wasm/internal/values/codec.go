package values

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// The wire codec: a value tree (see Normalize) as bytes, so that it crosses
// the syscall/js boundary in one copy instead of one call per object, key
// and string. Each JS object or string brought into Go costs a reference
// with a finalizer, and each Go value sent to JS costs a call; a small JS
// function on the other side reads or writes the same bytes (see js.go).
//
// A value is a tag byte and its payload, little-endian:
//
//	tagNull, tagFalse, tagTrue       nothing
//	tagNumber                        float64
//	tagString                        uint32 length, UTF-8
//	tagBytes                         uint32 length, the bytes (a Uint8Array in JS)
//	tagArray                         uint32 count, the items
//	tagObject                        uint32 count, then each key (uint32 length, UTF-8) and value
//	tagRef                           uint32 index into a list of values kept aside
//	tagHeld                          uint32 slot of a value JS holds, int32 slot of its transfer list or -1 (see Held)
//	tagTake                          as tagHeld, for a value read once: JS lets go of its slot as it reads it
//
// A ref stands for what does not travel as bytes: a JS value (js.Value,
// Moved) or a large []byte, which crosses as a typed array of its own.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagNumber
	tagString
	tagBytes
	tagArray
	tagObject
	tagRef
	tagHeld
	tagTake
)

// Held is a value that JS keeps in the codec's table (codec.hold) and Go
// knows only by its slot, with the slot of its transfer list, or -1: the
// JS API's params, which Go passes on to a worker without holding them
// (a JS value in Go is a reference with a finalizer, ~4-5 µs a task
// between making it and finalizing it). JS releases the slots, or, for a
// Held that Take marks (the JS API's results, see ReceivedHeld), lets go
// of the slot as it reads it the last of the times it was held for.
type Held struct {
	Value, List int32
	Take        bool
}

// InlineBytes is the largest []byte the codec copies into its bytes; a
// larger one is set aside as a ref and crosses as a typed array of its own,
// which the receiver can take by transfer.
const InlineBytes = 4 << 10

// Encode appends v, a normalized tree, to buf. Values that do not travel as
// bytes (opaque JS values, []byte longer than InlineBytes) are appended to
// refs and written as their index. An Appender writes itself.
func Encode(buf []byte, v any, refs *[]any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, tagNull)
	case bool:
		return AppendBool(buf, x)
	case float64:
		return AppendNumber(buf, x)
	case string:
		return AppendString(buf, x)
	case []byte:
		if len(x) > InlineBytes {
			return appendRef(buf, x, refs)
		}
		buf = append(buf, tagBytes)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(x)))
		return append(buf, x...)
	case []any:
		buf = AppendArray(buf, len(x))
		for _, e := range x {
			buf = Encode(buf, e, refs)
		}
		return buf
	case []float64:
		buf = AppendArray(buf, len(x))
		buf = slices.Grow(buf, 9*len(x))
		for _, f := range x {
			buf = AppendNumber(buf, f)
		}
		return buf
	case map[string]any:
		buf = AppendObject(buf, len(x))
		var small [8]string
		for _, k := range SortedKeys(x, small[:0]) {
			buf = AppendKey(buf, k)
			buf = Encode(buf, x[k], refs)
		}
		return buf
	case Appender:
		return x.AppendWire(buf, refs)
	case Held:
		if x.Take {
			buf = append(buf, tagTake)
		} else {
			buf = append(buf, tagHeld)
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(x.Value))
		return binary.LittleEndian.AppendUint32(buf, uint32(x.List))
	}
	return appendRef(buf, v, refs) // opaque: a JS value
}

// SortedKeys appends m's keys to keys, sorted: an object reaches JS with
// its keys in one order whatever Go's map iteration did (as encoding/json
// writes a map), so that JSON.stringify of the same value gives the same
// text, as a cache key or a signature needs.
func SortedKeys(m map[string]any, keys []string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		slices.Sort(keys)
	}
	return keys
}

// An Appender writes itself to the wire, with the Append functions and
// Encode, as the tree it stands for. Values sent in bulk (the JS API's
// answers and events) do so to skip being built as a []any first: boxing
// each string field into an interface allocated, eight times per event.
type Appender interface {
	AppendWire(buf []byte, refs *[]any) []byte
}

// AppendArray starts an array of n values; the caller appends them next.
func AppendArray(buf []byte, n int) []byte {
	buf = append(buf, tagArray)
	return binary.LittleEndian.AppendUint32(buf, uint32(n))
}

// AppendObject starts an object of n keys; the caller appends each key
// (AppendKey) and its value next.
func AppendObject(buf []byte, n int) []byte {
	buf = append(buf, tagObject)
	return binary.LittleEndian.AppendUint32(buf, uint32(n))
}

// AppendString appends the string s.
func AppendString(buf []byte, s string) []byte {
	return appendLenString(append(buf, tagString), s)
}

// AppendNumber appends the number f.
func AppendNumber(buf []byte, f float64) []byte {
	buf = append(buf, tagNumber)
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
}

// AppendBool appends true or false.
func AppendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, tagTrue)
	}
	return append(buf, tagFalse)
}

// AppendKey appends an object's key k; its value comes next.
func AppendKey(buf []byte, k string) []byte { return appendLenString(buf, k) }

func appendLenString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func appendRef(buf []byte, v any, refs *[]any) []byte {
	buf = append(buf, tagRef)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(*refs)))
	*refs = append(*refs, v)
	return buf
}

// Encoded is a tree written to the wire's bytes ahead of time, with the
// values it set aside. A queued task keeps its params so: a map took ~260
// bytes of pointers for the collector to scan, its bytes take tens with
// none, and sending them is a copy. Make one with Preencoded.
type Encoded struct {
	bytes []byte
	refs  []any
}

// scratch is where Preencoded and EncodePlain write before copying out
// exactly what they wrote.
type scratch struct {
	buf  []byte
	refs []any
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// Preencoded returns v, a normalized tree, ready to send: a map or a slice
// as an Encoded (a []byte too, whose bytes are copied up to InlineBytes, as
// in a map), anything else (a scalar, a JS value) as it is. Decoded gives
// the tree back.
func Preencoded(v any) any {
	switch x := v.(type) {
	case []byte:
		if x == nil {
			return v
		}
	case map[string]any, []any, []float64:
	default:
		return v
	}
	sc := scratches.Get().(*scratch)
	sc.buf = Encode(sc.buf[:0], v, &sc.refs)
	e := sc.out()
	scratches.Put(sc)
	return e
}

// EncodePlain writes v as Preencoded would write Normalize's tree of it,
// when v is a map[string]any or []any of plain values only (nil, bool,
// float64, int, string, []byte, []float64 and such maps and slices, nested
// at most MaxDepth deep): the common params, written in one walk without
// the copy Normalize makes. Anything else, ok false: normalize it first.
func EncodePlain(v any) (e Encoded, ok bool) {
	switch v.(type) {
	case map[string]any, []any:
	default:
		return Encoded{}, false
	}
	sc := scratches.Get().(*scratch)
	var w walk
	sc.buf, ok = appendPlain(sc.buf[:0], v, &sc.refs, 0, &w)
	if ok {
		e = sc.out()
	} else {
		clear(sc.refs)
		sc.refs = sc.refs[:0]
	}
	scratches.Put(sc)
	return e, ok
}

func appendPlain(buf []byte, v any, refs *[]any, depth int, w *walk) ([]byte, bool) {
	switch x := v.(type) {
	case nil, bool, float64, string:
		return Encode(buf, x, refs), true
	case []byte:
		if x == nil {
			return append(buf, tagNull), true // as Normalize has it
		}
		return Encode(buf, x, refs), true
	case []float64:
		if x == nil {
			return append(buf, tagNull), true
		}
		if len(x) > maxItems {
			return buf, false // Normalize says why
		}
		return Encode(buf, x, refs), true
	case int:
		if !exactInt(int64(x)) {
			return buf, false // Normalize says why
		}
		return AppendNumber(buf, float64(x)), true
	case []any:
		if x == nil {
			return append(buf, tagNull), true
		}
		if depth >= MaxDepth || len(x) > maxItems || w.node() != nil {
			return buf, false // Normalize says where
		}
		buf = AppendArray(buf, len(x))
		for _, e := range x {
			var ok bool
			if buf, ok = appendPlain(buf, e, refs, depth+1, w); !ok {
				return buf, false
			}
		}
		return buf, true
	case map[string]any:
		if x == nil {
			return append(buf, tagNull), true
		}
		if depth >= MaxDepth || len(x) > maxItems || w.node() != nil {
			return buf, false // Normalize says where
		}
		buf = AppendObject(buf, len(x))
		var small [8]string
		for _, k := range SortedKeys(x, small[:0]) {
			buf = AppendKey(buf, k)
			var ok bool
			if buf, ok = appendPlain(buf, x[k], refs, depth+1, w); !ok {
				return buf, false
			}
		}
		return buf, true
	}
	return buf, false
}

// out copies what sc holds into an Encoded of its own and empties sc.
func (sc *scratch) out() Encoded {
	e := Encoded{bytes: slices.Clone(sc.buf)}
	if len(sc.refs) > 0 {
		e.refs = slices.Clone(sc.refs)
		clear(sc.refs)
		sc.refs = sc.refs[:0]
	}
	return e
}

// AppendWire appends e (see Appender). Its refs are numbered from 0, as
// at the root of what is sent, where they go as they are; anywhere else e
// is decoded and written again.
func (e Encoded) AppendWire(buf []byte, refs *[]any) []byte {
	if len(*refs) == 0 {
		*refs = append(*refs, e.refs...)
		return append(buf, e.bytes...)
	}
	return Encode(buf, Decoded(e), refs)
}

// Decoded is v as a tree: an Encoded decoded, anything else as it is.
func Decoded(v any) any {
	e, ok := v.(Encoded)
	if !ok {
		return v
	}
	tree, _, err := Decode(e.bytes, func(i int) any { return e.refs[i] })
	if err != nil {
		panic("values: an Encoded does not decode: " + err.Error()) // written by Encode: cannot happen
	}
	return tree
}

// errShort is a value cut off before its end.
var errShort = errors.New("values: encoded value ends early")

// Decode reads one value from buf and returns it with what follows it. ref
// gives the value set aside under an index (nil when there are none).
// Bytes decode to a fresh []byte; nothing returned aliases buf.
func Decode(buf []byte, ref func(i int) any) (any, []byte, error) {
	return decodeAt(buf, ref, 0)
}

func decodeAt(buf []byte, ref func(int) any, depth int) (any, []byte, error) {
	if len(buf) == 0 {
		return nil, nil, errShort
	}
	if depth > MaxDepth+1 {
		return nil, nil, fmt.Errorf("values: encoded value nests deeper than %d levels", MaxDepth)
	}
	tag, buf := buf[0], buf[1:]
	switch tag {
	case tagNull:
		return nil, buf, nil
	case tagFalse:
		return false, buf, nil
	case tagTrue:
		return true, buf, nil
	case tagNumber:
		if len(buf) < 8 {
			return nil, nil, errShort
		}
		return numberAt(buf), buf[8:], nil
	case tagString:
		s, rest, err := decodeString(buf)
		return s, rest, err
	case tagBytes:
		n, buf, err := decodeLen(buf, 1)
		if err != nil {
			return nil, nil, err
		}
		return append([]byte{}, buf[:n]...), buf[n:], nil
	case tagArray:
		n, buf, err := decodeLen(buf, 1)
		if err != nil {
			return nil, nil, err
		}
		out := make([]any, n)
		for i := range out {
			// Numbers, the commonest items of long arrays, are read here
			// rather than through a call each.
			if len(buf) >= 9 && buf[0] == tagNumber {
				out[i], buf = numberAt(buf[1:]), buf[9:]
				continue
			}
			if out[i], buf, err = decodeAt(buf, ref, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return out, buf, nil
	case tagObject:
		n, buf, err := decodeLen(buf, 5)
		if err != nil {
			return nil, nil, err
		}
		out := make(map[string]any, n)
		for range n {
			var k string
			if k, buf, err = decodeKey(buf); err != nil {
				return nil, nil, err
			}
			if out[k], buf, err = decodeAt(buf, ref, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return out, buf, nil
	case tagRef:
		if len(buf) < 4 {
			return nil, nil, errShort
		}
		i := int(binary.LittleEndian.Uint32(buf))
		if ref == nil {
			return nil, nil, fmt.Errorf("values: encoded value refers to value %d set aside, and there are none", i)
		}
		return ref(i), buf[4:], nil
	case tagHeld, tagTake:
		if len(buf) < 8 {
			return nil, nil, errShort
		}
		h := Held{Value: int32(binary.LittleEndian.Uint32(buf)), List: int32(binary.LittleEndian.Uint32(buf[4:])), Take: tag == tagTake}
		return h, buf[8:], nil
	}
	return nil, nil, fmt.Errorf("values: unknown tag %d in an encoded value", tag)
}

// number is f as an interface value. Each float64 put in an interface is
// an allocation of its own, except for the small integers (counts,
// indices, bytes: the commonest numbers), which share boxes made once:
// decoding 100,000 of them allocated 99,902 boxes.
func number(f float64) any {
	if f >= 0 && f < float64(len(smallInts)) {
		if i := int(f); float64(i) == f && (i != 0 || !math.Signbit(f)) {
			return smallInts[i]
		}
	}
	return f
}

// numberAt is the number encoded at the start of b (8 bytes at least).
func numberAt(b []byte) any { return number(math.Float64frombits(binary.LittleEndian.Uint64(b))) }

// smallInts holds the boxes of the numbers 0 to 1023.
var smallInts = func() (b [1024]any) {
	for i := range b {
		b[i] = float64(i)
	}
	return b
}()

// decodeLen reads a uint32 count of items at least min bytes each, checked
// against what is left so that a corrupt count cannot allocate much.
func decodeLen(buf []byte, min int) (int, []byte, error) {
	if len(buf) < 4 {
		return 0, nil, errShort
	}
	u := binary.LittleEndian.Uint32(buf)
	buf = buf[4:]
	// Compared before it becomes an int: on a 32-bit platform a corrupt
	// length of 2³¹ or more would turn negative and pass.
	if uint64(u) > uint64(len(buf)/min) {
		return 0, nil, errShort
	}
	return int(u), buf, nil
}

func decodeString(buf []byte) (string, []byte, error) {
	n, buf, err := decodeLen(buf, 1)
	if err != nil {
		return "", nil, err
	}
	return string(buf[:n]), buf[n:], nil
}

// decodeKey reads an object's key. Keys repeat from message to message
// (message, taskId, content, params, and a task's own field names), so
// short ones come from keyCache instead of a new string each time: a
// worker-work message decoded with 21 allocations, 7 of them its keys.
func decodeKey(buf []byte) (string, []byte, error) {
	n, buf, err := decodeLen(buf, 1)
	if err != nil {
		return "", nil, err
	}
	return keyString(buf[:n]), buf[n:], nil
}

// keyCache holds the last key seen in each of its slots, chosen by a hash
// of the key's bytes.
var keyCache [256]atomic.Pointer[string]

func keyString(b []byte) string {
	if len(b) > 32 {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &keyCache[h%uint32(len(keyCache))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
