// Package values holds the rules by which values cross between Go and JS,
// shared by the main-thread manager (package atmo) and Go workers (package
// worker): Normalize checks and converts Go values into the tree that
// crosses; ToJS and FromJS (js/wasm only) cross it. Numbers become float64,
// structs follow their json tags as encoding/json would, []byte stays bytes
// (a Uint8Array in JS).
package values

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaxDepth bounds how deeply a value may nest; it also stops cycles.
const MaxDepth = 64

// MaxItems bounds the items of an array or Set, and the keys of an object
// or Map, read from JS: a sparse array with a huge length (new
// Array(2**32 - 1)) clones cheaply but would take forever to walk. Go
// arrays and maps are held to it where they are sent (Normalize), as they
// would be refused when read back.
const MaxItems = 1 << 24

// maxItems is MaxItems, as Normalize holds Go values to it; tests lower it
// rather than make arrays of 16M items.
var maxItems = MaxItems

// tooMany refuses an array of n items, or a map of n keys (what: "an
// array of %d items", "a map of %d keys"), past MaxItems where it is sent:
// the receiver's reader (codec.value, on the worker or the main thread)
// would refuse it as it is read back into Go, after it crossed. []byte is
// no array of items, and crosses at any length.
func tooMany(what string, n int) error {
	if n > maxItems {
		return FailHere(" is "+what+", more than the %d atmo reads into Go: send bulk data as a []byte (a Uint8Array in JS; encoding/binary packs numbers into one), or split it into several tasks", n, maxItems)
	}
	return nil
}

// tooLong is tooMany for an array of n items.
func tooLong(n int) error { return tooMany("an array of %d items", n) }

// tooManyKeys is tooMany for a map of n keys.
func tooManyKeys(n int) error { return tooMany("a map of %d keys", n) }

// isOpaque reports values that cross to JS as they are (js.Value in js/wasm
// builds).
var isOpaque = func(any) bool { return false }

// badOpaque says what is wrong with an opaque value that cannot be sent
// (an atmo.Transfer of null), or "".
var badOpaque = func(any) string { return "" }

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
	var w walk
	n, err := w.normalizeAt(v, 0)
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

// MaxNodes bounds how many arrays, objects and maps a value makes written
// out as a tree, each shared part as often as it is met: one read from JS
// on the wire (codec.value throws past it; structured clone keeps shared
// references), and one Go sends (Normalize; Go values share their parts
// too). A graph of a few dozen parts could make billions: x = []any{x, x}
// forty times over is 41 levels deep and 2^40 arrays written out.
const MaxNodes = 1 << 22

// walk is one Normalize's walk: the arrays, objects and maps it has made
// so far, which MaxNodes bounds.
type walk struct{ nodes int }

// node counts one more array, object or map made.
func (w *walk) node() error {
	if w.nodes++; w.nodes > MaxNodes {
		return FailHere(" makes more than %d arrays, objects and maps written out as a tree (a part met twice counts twice): split it into several tasks, or send bulk numbers as a []float64 and bulk data as a []byte, which are not counted", MaxNodes)
	}
	return nil
}

// tooDeep refuses a value at depth past MaxDepth.
func tooDeep(depth int) error {
	if depth > MaxDepth {
		return FailHere(" nests deeper than %d levels (a cycle?)", MaxDepth)
	}
	return nil
}

func (w *walk) normalizeAt(v any, depth int) (any, error) {
	if err := tooDeep(depth); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string, bool, float64:
		return x, nil
	case []byte:
		if x == nil {
			return nil, nil // null, as encoding/json has a nil slice
		}
		return x, nil
	case int:
		if !exactInt(int64(x)) {
			return nil, inexact(x)
		}
		return float64(x), nil
	case []float64:
		if x == nil {
			return nil, nil
		}
		if err := tooLong(len(x)); err != nil {
			return nil, err
		}
		return slices.Clone(x), nil
	case map[string]any:
		if x == nil {
			return nil, nil
		}
		if err := tooManyKeys(len(x)); err != nil {
			return nil, err
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := w.normalizeAt(e, depth+1)
			if err != nil {
				return nil, Inside(err, "."+k)
			}
			out[k] = n
		}
		return out, nil
	case []any:
		if x == nil {
			return nil, nil
		}
		if err := tooLong(len(x)); err != nil {
			return nil, err
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		out := make([]any, len(x))
		for i, e := range x {
			n, err := w.normalizeAt(e, depth+1)
			if err != nil {
				return nil, Inside(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = n
		}
		return out, nil
	}
	if _, held := v.(Held); held || isOpaque(v) {
		if why := badOpaque(v); why != "" {
			return nil, FailHere("%s", why)
		}
		return v, nil
	}
	if n, ok := v.(json.Number); ok {
		return numberOf(n)
	}
	if m, ok := v.(json.Marshaler); ok {
		if nilPointer(v) {
			return nil, nil
		}
		b, err := marshalJSON(m)
		if err != nil {
			return nil, FailHere(": %v", err)
		}
		return w.fromJSON(b, depth)
	}
	if m, ok := v.(encoding.TextMarshaler); ok {
		if nilPointer(v) {
			return nil, nil
		}
		b, err := marshalText(m)
		if err != nil {
			return nil, FailHere(": %v", err)
		}
		return string(b), nil
	}
	return w.normalizeReflect(reflect.ValueOf(v), depth)
}

// marshalJSON and marshalText call a value's own method, turning a panic
// in it (a nil pointer it was not written for) into an error.
func marshalJSON(m json.Marshaler) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("MarshalJSON panicked: %v", p)
		}
	}()
	return m.MarshalJSON()
}

func marshalText(m encoding.TextMarshaler) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("MarshalText panicked: %v", p)
		}
	}()
	return m.MarshalText()
}

// numberOf is a json.Number as encoding/json writes it, a number (0 for
// ""), read as JS would read it; text that is not a number is refused, as
// encoding/json refuses it, and so is an integer's text (no fraction, no
// exponent) that a JS number would round.
func numberOf(n json.Number) (any, error) {
	t := string(n)
	if t == "" {
		t = "0"
	}
	if !ValidNumber(t) {
		return nil, FailHere(" is json.Number %q, which is not a number", Clip(t))
	}
	f, _ := strconv.ParseFloat(t, 64) // a float's text out of range: ±Inf, as JS reads it
	if !strings.ContainsAny(t, ".eE") && strconv.FormatFloat(f, 'f', 0, 64) != t {
		// An integer's text (as encoding/json reads one into an int) a
		// float64 would change.
		return nil, inexact(Clip(t))
	}
	return f, nil
}

// Clip is s, cut to 40 bytes, on a whole character, for an error.
func Clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// fromJSON reads what a MarshalJSON wrote as encoding/json reads JSON into
// an any, but for its numbers, which are held to numberOf's rule: an
// integer a JS number would round is refused, not rounded. The value sits
// at depth, and its arrays and objects are held to MaxDepth and MaxNodes
// as the rest of the walk's are.
func (w *walk) fromJSON(b []byte, depth int) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	err := d.Decode(&out)
	if err == nil {
		if _, end := d.Token(); end != io.EOF {
			err = errors.New("more after the value")
		}
	}
	if err != nil {
		return nil, FailHere(": MarshalJSON gave invalid JSON: %v", err)
	}
	return w.jsonNumbers(out, depth)
}

// jsonNumbers turns the json.Numbers in v, a tree decoded with UseNumber
// at depth, into float64s, in place, counting its arrays and objects.
func (w *walk) jsonNumbers(v any, depth int) (any, error) {
	if err := tooDeep(depth); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case json.Number:
		return numberOf(x)
	case map[string]any:
		if err := tooManyKeys(len(x)); err != nil {
			return nil, err
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		for k, e := range x {
			n, err := w.jsonNumbers(e, depth+1)
			if err != nil {
				return nil, Inside(err, "."+k)
			}
			x[k] = n
		}
	case []any:
		if err := tooLong(len(x)); err != nil {
			return nil, err
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		for i, e := range x {
			n, err := w.jsonNumbers(e, depth+1)
			if err != nil {
				return nil, Inside(err, "["+strconv.Itoa(i)+"]")
			}
			x[i] = n
		}
	}
	return v, nil
}

// ValidNumber says whether s is a JSON number literal.
func ValidNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && strings.TrimSpace(s) == s && json.Valid([]byte(s))
}

// exactInt says whether n crosses to JS as a number unchanged: every
// integer up to ±2^53 does, and beyond that only those a float64 holds
// exactly (2^60 does, 2^53+1 does not).
func exactInt(n int64) bool {
	if -1<<53 <= n && n <= 1<<53 {
		return true
	}
	f := float64(n)
	return f < 0x1p63 && int64(f) == n
}

// exactUint is exactInt for an unsigned n.
func exactUint(n uint64) bool {
	if n <= 1<<53 {
		return true
	}
	f := float64(n)
	return f < 0x1p64 && uint64(f) == n
}

// inexact is the error for an integer a JS number would change: a JS
// number is a float64, and silently rounding an id or a counter loses it.
func inexact(n any) error {
	return FailHere(" is %v, which a JS number cannot hold exactly (integers beyond ±2^53 lose digits): send it as a string (a json:\",string\" field tag, or strconv)", n)
}

func (w *walk) normalizeReflect(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rv.Int()
		if !exactInt(n) {
			return nil, inexact(n)
		}
		return float64(n), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := rv.Uint()
		if !exactUint(n) {
			return nil, inexact(n)
		}
		return float64(n), nil
	case reflect.Float32:
		return float32Value(rv.Float()), nil
	case reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		// A pointer is no level of what crosses (a linked list of 40
		// nodes is 40 objects deep); a chain of pointers, which may loop
		// (var a any; a = &a), still counts each.
		e, d := rv.Elem(), depth
		if k := e.Kind(); k == reflect.Pointer || k == reflect.Interface {
			d++
		}
		return w.normalizeValue(e, d)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if et := rv.Type().Elem(); et.Kind() == reflect.Uint8 && !marshalsItself(reflect.PointerTo(et)) {
			b := make([]byte, rv.Len())
			switch {
			case rv.Kind() == reflect.Slice || rv.CanAddr():
				copy(b, rv.Bytes()) // a named byte type's too
			case et == reflect.TypeFor[byte]():
				reflect.Copy(reflect.ValueOf(b), rv)
			default:
				for i := range b {
					b[i] = byte(rv.Index(i).Uint())
				}
			}
			return b, nil
		}
		if err := tooLong(rv.Len()); err != nil {
			return nil, err
		}
		if plainNumber(rv.Type().Elem()) {
			return numbers(rv)
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := w.normalizeValue(rv.Index(i), depth+1)
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
		if err := tooManyKeys(rv.Len()); err != nil {
			return nil, err
		}
		if err := w.node(); err != nil {
			return nil, err
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k, err := mapKey(iter.Key())
			if err != nil {
				return nil, err
			}
			n, err := w.normalizeAt(iter.Value().Interface(), depth+1)
			if err != nil {
				return nil, Inside(err, "."+k)
			}
			out[k] = n
		}
		return out, nil
	case reflect.Struct:
		if err := w.node(); err != nil {
			return nil, err
		}
		out := map[string]any{}
		fs := Fields(rv.Type())
		for i := range fs {
			f := &fs[i]
			fv, ok := FieldByIndex(rv, f.Index)
			if !ok {
				continue
			}
			if f.OmitEmpty || f.OmitZero {
				omit, err := f.Omit(fv)
				if err != nil {
					return nil, Inside(err, "."+f.Name)
				}
				if omit {
					continue
				}
			}
			var n any
			var err error
			switch {
			case f.Quoted:
				n, err = w.quote(fv, depth+1)
			case !fv.CanInterface():
				n, err = w.normalizeHidden(fv, depth+1)
			default:
				n, err = w.normalizeValue(fv, depth+1)
			}
			if err != nil {
				return nil, Inside(err, "."+f.Name)
			}
			out[f.Name] = n
		}
		return out, nil
	}
	return nil, FailHere(" is a %s, which cannot cross to JS (send data: numbers, strings, bools, maps, slices, structs, []byte)", rv.Type())
}

// quote is the value of a field tagged ,string as encoding/json writes
// it: a bool or number as a string holding it, a string as a string
// holding its JSON text, nil for a nil pointer. A type that marshals
// itself does so as ever.
// JSONNumber is json.Number's type, which ,string writes as its text.
var JSONNumber = reflect.TypeFor[json.Number]()

func (w *walk) quote(v reflect.Value, depth int) (any, error) {
	if byAddr(v) {
		return w.normalizeAt(v.Addr().Interface(), depth)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		if marshalsItself(v.Type()) {
			return w.normalizeAt(v.Interface(), depth)
		}
		v = v.Elem()
	}
	if marshalsItself(v.Type()) {
		return w.normalizeAt(v.Interface(), depth)
	}
	if v.Type() == JSONNumber { // a number already: its text, as encoding/json writes it
		n := v.String()
		if n == "" {
			return "0", nil
		}
		if !ValidNumber(n) {
			return nil, FailHere(" is json.Number %q, which is not a number", Clip(n))
		}
		return n, nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10), nil
	}
	// Floats and strings as encoding/json spells them (1e+21, HTML
	// characters escaped); it also refuses NaN and infinities.
	var b []byte
	var err error
	if v.Kind() == reflect.String {
		b, err = json.Marshal(v.String())
	} else {
		b, err = json.Marshal(v.Interface())
	}
	if err != nil {
		return nil, FailHere(": %v", err)
	}
	return string(b), nil
}

func marshalsItself(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler)
}

// normalizeValue is normalizeAt for a value reached by reflection, which
// may be addressable: a field of a struct reached through a pointer, an
// element of a slice. encoding/json calls a MarshalJSON or MarshalText
// with a pointer receiver on what it can address, and so does atmo: on v,
// or, for a struct or array, on its fields and elements, which stay
// addressable.
func (w *walk) normalizeValue(v reflect.Value, depth int) (any, error) {
	if v.CanAddr() {
		switch addrUseOf(v.Type()) {
		case addrSelf:
			return w.normalizeAt(v.Addr().Interface(), depth)
		case addrInside:
			if !marshalsItself(v.Type()) && depth <= MaxDepth {
				return w.normalizeReflect(v, depth) // a struct or array holding what marshals itself by its address
			}
		}
	}
	return w.normalizeAt(v.Interface(), depth)
}

// byAddr says whether v marshals itself by its address.
func byAddr(v reflect.Value) bool {
	return v.CanAddr() && addrUseOf(v.Type()) == addrSelf
}

// addrUse is what walking a value of a type by its address changes.
type addrUse uint8

const (
	addrNone   addrUse = iota // nothing: a copy is walked, whose fields box without allocating
	addrSelf                  // *t marshals itself and t does not (by encoding/json's order of methods)
	addrInside                // a struct field or array element of t does, not behind a pointer, slice or map (whose elements are addressable anyway)
)

// addrUseOf is t's addrUse, worked out once per type.
func addrUseOf(t reflect.Type) addrUse {
	if u, ok := addrUses.Load(t); ok {
		return u.(addrUse)
	}
	u := addrNone
	p := reflect.PointerTo(t)
	switch {
	case !t.Implements(jsonMarshaler) && (p.Implements(jsonMarshaler) || !t.Implements(textMarshaler) && p.Implements(textMarshaler)):
		u = addrSelf
	case t.Kind() == reflect.Array:
		if addrUseOf(t.Elem()) != addrNone {
			u = addrInside
		}
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if addrUseOf(t.Field(i).Type) != addrNone {
				u = addrInside
				break
			}
		}
	}
	addrUses.Store(t, u)
	return u
}

var addrUses sync.Map // reflect.Type → addrUse

// normalizeHidden normalizes a struct (or pointer to one) that cannot be
// taken as an interface: an unexported embedded struct that its json tag
// names (struct{ inner `json:"in"` }), which encoding/json writes as an
// object. Its own exported fields can be.
func (w *walk) normalizeHidden(v reflect.Value, depth int) (any, error) {
	if err := tooDeep(depth); err != nil { // an object as any other: a level (a chain of them may loop)
		return nil, err
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	return w.normalizeReflect(v, depth)
}

// plainNumber says whether values of t are numbers with no marshaling
// method of their own: a slice of them becomes []float64 in one go.
func plainNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return !marshalsItself(reflect.PointerTo(t))
	}
	return false
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// numbers reads a slice or array of plain numbers as float64s, refusing
// an integer a float64 would change (see exactInt).
func numbers(rv reflect.Value) ([]float64, error) {
	out := make([]float64, rv.Len())
	switch rv.Type().Elem().Kind() {
	case reflect.Float32:
		for i := range out {
			out[i] = float32Value(rv.Index(i).Float())
		}
	case reflect.Float64:
		for i := range out {
			out[i] = rv.Index(i).Float()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		for i := range out {
			n := rv.Index(i).Int()
			if !exactInt(n) {
				return nil, Inside(inexact(n), "["+strconv.Itoa(i)+"]")
			}
			out[i] = float64(n)
		}
	default:
		for i := range out {
			n := rv.Index(i).Uint()
			if !exactUint(n) {
				return nil, Inside(inexact(n), "["+strconv.Itoa(i)+"]")
			}
			out[i] = float64(n)
		}
	}
	return out, nil
}

// float32Value is f, a float32's value, as encoding/json writes a float32
// and JS reads it: the shortest decimal that reads back as the same
// float32 (0.1, not 0.10000000149011612). Float32 reads it back into that
// float32.
func float32Value(f float64) float64 {
	var b [32]byte
	g, err := strconv.ParseFloat(string(strconv.AppendFloat(b[:0], f, 'g', -1, 32)), 64)
	if err != nil {
		return f // ±Inf, NaN
	}
	return g
}

// Float32 is f read into a float32 as float32(f) does, except that a
// float32 that crossed as float32Value gives comes back unchanged:
// float32(f) alone rounds twice (the decimal to a float64, then
// that to a float32), which matters only where the float64 lies exactly
// halfway between two float32s: there the one whose value f is wins, not
// the even one.
func Float32(f float64) float32 {
	x := float32(f)
	if float64(x) == f || f != f || math.IsInf(float64(x), 0) {
		return x
	}
	y := math.Nextafter32(x, float32(math.Inf(1)))
	if float64(x) > f {
		y = math.Nextafter32(x, float32(math.Inf(-1)))
	}
	if math.Abs(f-float64(x)) == math.Abs(float64(y)-f) && float32Value(float64(y)) == f {
		return y
	}
	return x
}

// mapKey is a map key as encoding/json writes it: a string as it is, then
// a key that marshals itself as its text, then an integer's digits.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.CanInterface() {
		if m, ok := k.Interface().(encoding.TextMarshaler); ok {
			if nilPointer(m) {
				return "", nil
			}
			b, err := marshalText(m)
			if err != nil {
				return "", FailHere(" has a key whose MarshalText failed: %v", err)
			}
			return string(b), nil
		}
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", FailHere(" has %s keys; use string or integer keys, or a key type with MarshalText", k.Type())
}

// Field is one struct field as encoding/json sees it.
type Field struct {
	Name      string
	Index     []int
	OmitEmpty bool // omitempty: false, 0, nil, and empty strings, slices and maps are left out
	OmitZero  bool // omitzero: the zero value is left out (by the type's IsZero method if it has one)
	Quoted    bool // ,string on a bool, number or string: it crosses as a string holding its JSON

	tagged bool                     // the name is the json tag's
	isZero func(reflect.Value) bool // the type's IsZero, for omitzero
}

// Omit reports whether the field, holding v, is left out of an object; an
// error if the type's IsZero panics (a nil pointer it was not written for),
// where encoding/json panics too.
func (f *Field) Omit(v reflect.Value) (bool, error) {
	if f.OmitEmpty && isEmptyValue(v) {
		return true, nil
	}
	if !f.OmitZero {
		return false, nil
	}
	if f.isZero != nil && v.CanInterface() {
		return callIsZero(f.isZero, v)
	}
	return v.IsZero(), nil
}

func callIsZero(isZero func(reflect.Value) bool, v reflect.Value) (zero bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = FailHere(": IsZero panicked: %v", p)
		}
	}()
	return isZero(v), nil
}

// Fields lists t's fields by encoding/json's rules: exported fields, the
// json tag's name and its "-", omitempty, omitzero and string options,
// and the fields of embedded structs. Of several fields with one name the
// shallowest wins, and of those at one depth the one named by its tag;
// when that leaves a tie, none of them is listed. They come in the order
// of their index sequences, as encoding/json writes them.
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

// fields walks t's embedded structs breadth first, a level of depth at a
// time, so that a name found at one depth can be weighed against the
// same name found at another.
func fields(t reflect.Type) []Field {
	type embedded struct {
		t     reflect.Type
		index []int
	}
	var all []Field
	next := []embedded{{t: t}}
	seen := map[reflect.Type]bool{} // struct types walked at a shallower depth
	var times map[reflect.Type]int  // how often each struct type of this level is embedded in the level above
	for len(next) > 0 {
		level := next
		next = nil
		nextTimes := map[reflect.Type]int{}
		for _, e := range level {
			if seen[e.t] {
				continue
			}
			seen[e.t] = true
			for i := range e.t.NumField() {
				sf := e.t.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue // an unexported embedded non-struct has nothing to show
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validName(name) {
					name = ""
				}
				index := append(slices.Clip(e.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
					// Its fields are looked at one level down; a struct
					// embedded twice at one level has each of its names
					// twice there, so they cancel out.
					nextTimes[ft]++
					if nextTimes[ft] == 1 {
						next = append(next, embedded{ft, index})
					}
					continue
				}
				f := Field{
					Name:      name,
					Index:     index,
					OmitEmpty: hasOption(opts, "omitempty"),
					OmitZero:  hasOption(opts, "omitzero"),
					Quoted:    hasOption(opts, "string") && quotable(ft.Kind()),
					tagged:    name != "",
				}
				if f.Name == "" {
					f.Name = sf.Name
				}
				if f.OmitZero {
					f.isZero = zeroMethod(sf.Type)
				}
				all = append(all, f)
				if times[e.t] > 1 {
					all = append(all, f)
				}
			}
		}
		times = nextTimes
	}

	// Keep, of each name, the shallowest field, or of those at that depth
	// the one its tag names; if two are as good, drop the name.
	slices.SortFunc(all, func(a, b Field) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := len(a.Index) - len(b.Index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Index, b.Index)
	})
	out := all[:0]
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Name == all[i].Name {
			j++
		}
		if j-i == 1 || len(all[i].Index) != len(all[i+1].Index) || all[i].tagged != all[i+1].tagged {
			out = append(out, all[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b Field) int { return slices.Compare(a.Index, b.Index) })
	return slices.Clip(out)
}

// hasOption reports whether a json tag's options (after its name) include
// opt.
func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// validName reports whether encoding/json takes a tag's name as the
// field's: letters, digits and punctuation other than quotes and
// backslashes. Otherwise the field keeps its Go name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", r) {
			return false
		}
	}
	return true
}

// quotable says whether ,string applies to a field of kind k.
func quotable(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// zeroMethod is omitzero's test through t's IsZero method, or nil if t
// has none (reflect's IsZero then decides). A nil pointer or interface is
// zero without asking.
func zeroMethod(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
				return true
			}
			return v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
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

// nilPointer says whether v is a nil pointer, which encoding/json writes as
// null without calling its MarshalJSON or MarshalText.
func nilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
