package generate

import "strings"

// goHandlers are the Go worker's handlers and helpers, per template.
var goHandlers = map[string]string{
	Math: `	worker.Handle("add", binary(func(a, b float64) (float64, error) { return a + b, nil }))
	worker.Handle("subtract", binary(func(a, b float64) (float64, error) { return a - b, nil }))
	worker.Handle("multiply", binary(func(a, b float64) (float64, error) { return a * b, nil }))
	worker.Handle("divide", binary(func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errors.New("Division by zero is not allowed")
		}
		return a / b, nil
	}))
	// The JS engine's own Math.pow, so that power answers to the last bit
	// as the JS worker does: Go's math.Pow differs in the last place for
	// many inputs (1.0411 ** -22), and is 1, not NaN, for 1 ** Infinity.
	worker.Handle("power", binary(func(a, b float64) (float64, error) { return jsPow.Invoke(a, b).Float(), nil }))
	worker.Handle("sqrt", func(_ context.Context, params any) (any, error) {
		a, err := number(params, "a")
		if err != nil {
			return nil, err
		}
		if a < 0 {
			return nil, errors.New("Square root of a negative number is not real")
		}
		return math.Sqrt(a), nil
	})
`,
	Data: `	worker.Handle("transform", func(_ context.Context, params any) (any, error) {
		rows, p, err := records(params)
		if err != nil {
			return nil, err
		}
		if key, ok := p["sortBy"].(string); ok {
			// Sort first, so a record can be sorted by a field it does not keep.
			sort.SliceStable(rows, func(i, j int) bool { return less(rows[i][key], rows[j][key]) })
		}
		sel, _ := p["select"].([]any)
		out := make([]any, len(rows))
		for i, r := range rows {
			o := map[string]any{}
			for k, v := range r {
				if sel == nil || contains(sel, k) {
					o[k] = v
				}
			}
			out[i] = o
		}
		return out, nil
	})
	worker.Handle("validate", func(_ context.Context, params any) (any, error) {
		p, _ := params.(map[string]any)
		schema, ok := p["schema"].(map[string]any)
		if !ok {
			return nil, errors.New("validate needs params.schema, e.g. {email: \"email\"}")
		}
		for field, t := range schema { // checked first, records or none, as the JS worker does
			if s, _ := t.(string); !contains(validTypes, s) {
				return nil, fmt.Errorf("params.schema.%s must be one of number, string, boolean, email", field)
			}
		}
		rows, _, err := records(params)
		if err != nil {
			return nil, err
		}
		errs := []any{} // [] when all are valid, as the JS worker has it (a nil slice would be null)
		for i, r := range rows {
			for field, t := range schema {
				if !valid(r[field], fmt.Sprint(t)) {
					errs = append(errs, map[string]any{"index": i, "field": field, "message": "is not a valid " + fmt.Sprint(t)})
				}
			}
		}
		return map[string]any{"valid": len(errs) == 0, "errors": errs}, nil
	})
	worker.Handle("filter", func(_ context.Context, params any) (any, error) {
		p, _ := params.(map[string]any)
		where, ok := p["where"].([]any)
		if !ok && p["where"] != nil {
			return nil, errors.New("params.where must be an array of {field, op, value}")
		}
		for _, c := range where { // checked first, records or none, as the JS worker does
			cm, _ := c.(map[string]any)
			switch op := cm["op"]; op {
			case "=", "!=", "<", "<=", ">", ">=", "contains":
			case nil:
				return nil, errors.New("unknown op null")
			default:
				return nil, fmt.Errorf("unknown op %v", op)
			}
		}
		rows, _, err := records(params)
		if err != nil {
			return nil, err
		}
		out := []any{} // [] when none match, as the JS worker has it
		for _, r := range rows {
			ok := true
			for _, c := range where {
				cm, _ := c.(map[string]any)
				v, present := r[fmt.Sprint(cm["field"])]
				match, err := compare(v, present, fmt.Sprint(cm["op"]), cm["value"])
				if err != nil {
					return nil, err
				}
				ok = ok && match
			}
			if ok {
				out = append(out, r)
			}
		}
		return out, nil
	})
	// fetch {url, as: 'json' | 'text'}: url is absolute (https:, http:, data:),
	// since a Go worker runs from a Blob URL, which cannot resolve a relative
	// one. It is JS's own fetch, which browsers and Node.js both have (Go's
	// net/http does not use it under Node.js), aborted when ctx ends.
	worker.Handle("fetch", func(ctx context.Context, params any) (any, error) {
		p, _ := params.(map[string]any)
		addr, _ := p["url"].(string)
		if addr == "" {
			return nil, errors.New("fetch needs params.url")
		}
		if u, err := url.Parse(addr); err == nil && !u.IsAbs() { // what Go cannot parse, fetch judges
			return nil, fmt.Errorf("fetch needs params.url to be absolute (https://…, http://… or data:…), not %q", addr)
		}
		abort := js.Global().Get("AbortController").New()
		defer context.AfterFunc(ctx, func() { abort.Call("abort") })()
		res, err := worker.Await(ctx, js.Global().Call("fetch", addr, map[string]any{"signal": abort.Get("signal")}))
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", addr, err)
		}
		if !res.Get("ok").Bool() {
			return nil, fmt.Errorf("fetch %s: HTTP %d", addr, res.Get("status").Int())
		}
		read := "json"
		if p["as"] == "text" {
			read = "text"
		}
		body, err := worker.Await(ctx, res.Call(read))
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", addr, err)
		}
		return body, nil // a js.Value crosses to the caller as it is
	})
`,
	Image: `	worker.Handle("resize", func(_ context.Context, params any) (any, error) {
		img, p, err := image(params)
		if err != nil {
			return nil, err
		}
		w, _ := p["width"].(float64)
		h, _ := p["height"].(float64)
		if w < 1 || h < 1 || w != math.Trunc(w) || h != math.Trunc(h) || w*h > 1<<24 {
			return nil, errors.New("resize needs params.width and params.height: whole numbers of pixels, at most 16,777,216 in all")
		}
		out := make([]byte, int(w)*int(h)*4)
		for y := 0; y < int(h); y++ {
			for x := 0; x < int(w); x++ {
				sx, sy := x*img.w/int(w), y*img.h/int(h)
				copy(out[(y*int(w)+x)*4:][:4], img.data[(sy*img.w+sx)*4:][:4])
			}
		}
		return map[string]any{"width": w, "height": h, "data": out}, nil
	})
	worker.Handle("compress", func(_ context.Context, params any) (any, error) {
		img, _, err := image(params)
		if err != nil {
			return nil, err
		}
		// Run-length encoding of equal pixels: [count, r, g, b, a]...
		var out []byte
		for i := 0; i < len(img.data); {
			n := 1
			for n < 255 && i+n*4 < len(img.data) && string(img.data[i:i+4]) == string(img.data[i+n*4:i+n*4+4]) {
				n++
			}
			out = append(append(out, byte(n)), img.data[i:i+4]...)
			i += n * 4
		}
		return map[string]any{"type": "application/x-rle-rgba", "size": len(out), "originalSize": len(img.data), "bytes": out}, nil
	})
	worker.Handle("filter", func(_ context.Context, params any) (any, error) {
		img, p, err := image(params)
		if err != nil {
			return nil, err
		}
		name, isText := p["filter"].(string)
		if p["filter"] == nil {
			name, isText = "grayscale", true // undefined: the default (JSON has no undefined)
		}
		if !isText || (name != "grayscale" && name != "invert") {
			return nil, fmt.Errorf("unknown filter %v (known: grayscale, invert)", p["filter"])
		}
		out := make([]byte, len(img.data))
		for i := 0; i < len(img.data); i += 4 {
			r, g, b := float64(img.data[i]), float64(img.data[i+1]), float64(img.data[i+2])
			switch name {
			case "invert":
				out[i], out[i+1], out[i+2] = byte(255-r), byte(255-g), byte(255-b)
			case "grayscale":
				l := byte(math.Round(0.2126*r + 0.7152*g + 0.0722*b))
				out[i], out[i+1], out[i+2] = l, l, l
			default:
				return nil, fmt.Errorf("unknown filter %s (known: grayscale, invert)", name)
			}
			out[i+3] = img.data[i+3]
		}
		return map[string]any{"width": img.w, "height": img.h, "data": out}, nil
	})
	worker.Handle("analyze", func(_ context.Context, params any) (any, error) {
		img, _, err := image(params)
		if err != nil {
			return nil, err
		}
		var sum [4]float64
		for i, v := range img.data {
			sum[i%4] += float64(v)
		}
		n := float64(img.w * img.h)
		return map[string]any{"width": img.w, "height": img.h, "pixels": n,
			"mean": map[string]any{"r": sum[0] / n, "g": sum[1] / n, "b": sum[2] / n, "a": sum[3] / n}}, nil
	})
`,
}

// goHelpers are the helpers each template's handlers use.
var goHelpers = map[string]string{
	Math: `
// jsPow is the JS engine's Math.pow.
var jsPow = js.Global().Get("Math").Get("pow")

// number reads params[key] as a number.
func number(params any, key string) (float64, error) {
	p, _ := params.(map[string]any)
	v, ok := p[key].(float64)
	if !ok || math.IsNaN(v) {
		return 0, fmt.Errorf("params.%s must be a number", key)
	}
	return v, nil
}

// binary adapts f to a handler of {a, b}.
func binary(f func(a, b float64) (float64, error)) func(context.Context, any) (any, error) {
	return func(_ context.Context, params any) (any, error) {
		a, err := number(params, "a")
		if err != nil {
			return nil, err
		}
		b, err := number(params, "b")
		if err != nil {
			return nil, err
		}
		return f(a, b)
	}
}
`,
	Data: `
// records reads params.records: an array of objects.
func records(params any) ([]map[string]any, map[string]any, error) {
	p, _ := params.(map[string]any)
	list, ok := p["records"].([]any)
	if !ok {
		return nil, nil, errors.New("params.records must be an array of objects")
	}
	rows := make([]map[string]any, len(list))
	for i, r := range list {
		if rows[i], ok = r.(map[string]any); !ok {
			return nil, nil, fmt.Errorf("params.records[%d] is not an object", i)
		}
	}
	return rows, p, nil
}

// rank is where a value sorts: numbers, then strings, then booleans, then
// anything else (null, missing, objects), as the JS worker has it.
func rank(v any) int {
	switch v.(type) {
	case float64:
		return 0
	case string:
		return 1
	case bool:
		return 2
	}
	return 3
}

// less orders numbers by value, strings by text, false before true, and
// keeps the rest as they came (a stable sort).
func less(a, b any) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	switch x := a.(type) {
	case float64:
		return x < b.(float64)
	case string:
		return x < b.(string)
	case bool:
		return !x && b.(bool)
	}
	return false
}

// validTypes are the types a schema may name.
var validTypes = []any{"number", "string", "boolean", "email"}

// email is the JS worker's test of an address.
var email = regexp.MustCompile(` + "`" + `^[^@\s]+@[^@\s]+\.[^@\s]+$` + "`" + `)

// text is a value as JS's String() writes it, for contains.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e21 {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func contains(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func valid(v any, t string) bool {
	switch t {
	case "number":
		_, ok := v.(float64)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "email":
		s, ok := v.(string)
		return ok && email.MatchString(s)
	}
	return false
}

// same is JS's ===: values Go cannot compare (arrays, objects) are never
// equal, as two JS objects are not.
func same(a, b any) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// compare is the JS worker's ops on a record's field a (present says
// whether the record has it: a missing field is JS's undefined, which
// equals nothing) and a value b: numbers and texts order among their own.
func compare(a any, present bool, op string, b any) (bool, error) {
	switch op {
	case "=":
		return present && same(a, b), nil
	case "!=":
		return !(present && same(a, b)), nil
	case "contains": // a missing or null field contains nothing
		return a != nil && strings.Contains(text(a), text(b)), nil
	case "<", "<=", ">", ">=":
		var c int
		af, aNum := a.(float64)
		bf, bNum := b.(float64)
		as, aText := a.(string)
		bs, bText := b.(string)
		switch {
		case aNum && bNum:
			c = cmp.Compare(af, bf)
		case aText && bText:
			c = strings.Compare(as, bs)
		default:
			return false, nil
		}
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown op %s", op)
}
`,
	Image: `
type rgba struct {
	w, h int
	data []byte
}

// image reads params.image: {width, height, data} with RGBA bytes.
func image(params any) (rgba, map[string]any, error) {
	p, _ := params.(map[string]any)
	m, _ := p["image"].(map[string]any)
	w, _ := m["width"].(float64)
	h, _ := m["height"].(float64)
	var data []byte
	switch d := m["data"].(type) {
	case []byte: // a typed array
		data = d
	case []any: // a plain array of numbers
		for _, v := range d {
			f, _ := v.(float64) // as Uint8ClampedArray.from has it: clamped, rounded half to even, NaN 0
			data = append(data, byte(math.RoundToEven(max(0, min(255, f)))))
		}
	}
	if w < 1 || h < 1 || w != math.Trunc(w) || h != math.Trunc(h) || w*h*4 != float64(len(data)) {
		return rgba{}, nil, errors.New("params.image must be {width, height, data} with width*height*4 RGBA bytes")
	}
	return rgba{int(w), int(h), data}, p, nil
}
`,
}

var goImports = map[string]string{
	Math:  `"context"` + "\n\t" + `"errors"` + "\n\t" + `"fmt"` + "\n\t" + `"math"` + "\n\t" + `"syscall/js"`,
	Data:  `"cmp"` + "\n\t" + `"context"` + "\n\t" + `"errors"` + "\n\t" + `"fmt"` + "\n\t" + `"math"` + "\n\t" + `"net/url"` + "\n\t" + `"regexp"` + "\n\t" + `"sort"` + "\n\t" + `"strconv"` + "\n\t" + `"strings"` + "\n\t" + `"syscall/js"`,
	Image: `"context"` + "\n\t" + `"errors"` + "\n\t" + `"fmt"` + "\n\t" + `"math"`,
}

const goWorkerSrc = `{{CONSTRAINT}}// Command {{NAME}} is {{A_TEMPLATE}} worker for atmo, written in Go and run in
// a Web Worker or a Node.js worker thread. Generated by: go run ./host generate-worker {{NAME}} <dir> go
//
// Tasks: {{TASKS}}. Build it from this folder into the one above it,
//
//	GOOS=js GOARCH=wasm go build -o ../{{NAME}}.wasm .
//
// serve that folder (at /my/, as README.md does), and start it with
// WorkerConfig{Tasks: ..., Module: "/my/{{NAME}}.wasm"}, the URL it is served at.
package main

import (
	{{IMPORTS}}

	"github.com/atmoworkers/atmo/wasm/worker"
)

func main() {
{{HANDLERS}}	worker.Run() // serves tasks for the life of the Web Worker
}
{{HELPERS}}`

const goReadme = "# {{NAME}}\n\n" +
	"{{CAP_A_TEMPLATE}} worker for atmo, in Go. Tasks: {{TASKS}}.\n\n" +
	"Generated by `go run ./host generate-worker {{NAME}} <dir> go`.\n\n" +
	"## Build\n\n" +
	"From a module that requires `github.com/atmoworkers/atmo`, in this folder's parent:\n\n" +
	"```sh\nGOOS=js GOARCH=wasm go build -o {{NAME}}.wasm ./{{NAME}}\n```\n\n" +
	"Serve the `.wasm` with the `wasm_exec.js` of the same Go. The host server does,\n" +
	"with the folder that holds it; for atmo.js (below) it also serves atmo.wasm, the\n" +
	"page's module, which you build once into the folder it serves it from:\n\n" +
	"```sh\ngo get -tool github.com/atmoworkers/atmo/host   # once: the server, as your module's tool\n" +
	"GOOS=js GOARCH=wasm go build -o bin/wasm/atmo.wasm github.com/atmoworkers/atmo/wasm/cmd/atmo\n" +
	"go tool host -mount /my/=<dir>\n```\n\n" +
	"(`make build` and `go run ./host ...` inside the atmo repository).\n\n" +
	"## Use it\n\n" +
	"From Go (the page's own WASM program):\n\n" +
	"```go\ntm := atmo.NewTaskManager()\n" +
	"wm, err := atmo.NewBrowserWorkerManager(tm,\n" +
	"\tatmo.WorkerConfig{Tasks: []string{{GO_TASKS}}, Module: \"/my/{{NAME}}.wasm\"})\n" +
	"```\n\n" +
	"Under Node.js, a Go program started by Go's `go_js_wasm_exec` runs it on `worker_threads`:\n\n" +
	"```go\nwm, err := atmo.NewServerWorkerManager(tm,\n" +
	"\tatmo.WorkerConfig{Tasks: []string{{GO_TASKS}}, Module: \"/path/to/{{NAME}}.wasm\"})\n" +
	"```\n\n" +
	"From JavaScript, with atmo.js:\n\n" +
	"```js\nimport { loadAtmo } from '/atmo.js';\n" +
	"const atmo = await loadAtmo();\n" +
	"const tm = atmo.createTaskManager();\n" +
	"atmo.createBrowserWorkerManager(tm, [{ tasks: {{TASK_LIST}}, module: '/my/{{NAME}}.wasm' }]);\n" +
	"console.log(await tm.run('{{FIRST}}', {{FIRST_PARAMS}}));\n```\n"

var firstParams = map[string]string{
	Math:  "{ a: 2, b: 3 }",
	Data:  "{ records: [{ name: 'Ada', age: 36 }], select: ['name'] }",
	Image: "{ image: { width: 1, height: 1, data: new Uint8ClampedArray([255, 0, 0, 255]) }, width: 2, height: 2 }",
}

func goFill(s, name, tmpl string) string {
	tasks := Tasks(tmpl)
	goTasks := make([]string, len(tasks))
	for i, t := range tasks {
		goTasks[i] = `"` + t + `"`
	}
	// A worker that calls syscall/js builds for js/wasm only: the
	// constraint keeps its module's native go build/vet/test ./... clean.
	constraint := ""
	if strings.Contains(goImports[tmpl], `"syscall/js"`) {
		constraint = "//go:build js && wasm\n\n"
	}
	first := tasks[0]
	if tmpl == Data {
		first = "transform"
	}
	return fill(s,
		"{{CONSTRAINT}}", constraint,
		"{{NAME}}", name,
		"{{A_TEMPLATE}}", article(tmpl),
		"{{CAP_A_TEMPLATE}}", strings.ToUpper(article(tmpl)[:1])+article(tmpl)[1:],
		"{{TEMPLATE}}", tmpl,
		"{{TASKS}}", strings.Join(tasks, ", "),
		"{{TASK_LIST}}", quoteList(tasks),
		"{{GO_TASKS}}", "{"+strings.Join(goTasks, ", ")+"}",
		"{{IMPORTS}}", goImports[tmpl],
		"{{HANDLERS}}", goHandlers[tmpl],
		"{{HELPERS}}", goHelpers[tmpl],
		"{{FIRST}}", first,
		"{{FIRST_PARAMS}}", firstParams[tmpl],
	)
}

func goWorker(name, tmpl string) string  { return goFill(goWorkerSrc, name, tmpl) }
func goExample(name, tmpl string) string { return goFill(goReadme, name, tmpl) }
