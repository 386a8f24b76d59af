// Command testworker is a Go worker for the browser tests: one task per
// behaviour the tests check, including the ways a Go worker can die.
package main

import (
	"context"
	"errors"
	"log"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/worker"
)

func main() {
	// echo answers its params unchanged.
	worker.Handle("echo", func(_ context.Context, params any) (any, error) { return params, nil })
	// readFile answers the text of the file at params (under Node.js).
	worker.HandleTyped("readFile", func(_ context.Context, path string) (string, error) {
		b, err := os.ReadFile(path)
		return string(b), err
	})
	// writeSyncPart writes "cd" of "abcdef" to the file at params, and a
	// line of text to stderr, through the JS global fs's writeSync (under
	// Node.js): what Go's own writes do not reach, JS code in the thread may.
	worker.HandleTyped("writeSyncPart", func(_ context.Context, path string) (string, error) {
		fs := js.Global().Get("fs")
		fd := fs.Call("openSync", path, "w")
		buf := js.Global().Get("Uint8Array").New(6)
		js.CopyBytesToJS(buf, []byte("abcdef"))
		fs.Call("writeSync", fd, buf, 2, 2)
		fs.Call("writeSync", 2, "writeSyncPart: a line of text on stderr\n")
		fs.Call("closeSync", fd)
		return "written", nil
	})
	// getenv answers the environment variable params.
	worker.HandleTyped("getenv", func(_ context.Context, name string) (string, error) { return os.Getenv(name), nil })
	// reverse answers its bytes reversed.
	worker.HandleTyped("reverse", func(_ context.Context, b []byte) ([]byte, error) {
		slices.Reverse(b)
		return b, nil
	})
	// fail answers with the error in params.message.
	worker.HandleTyped("fail", func(_ context.Context, p struct{ Message string }) (any, error) {
		return nil, errors.New(p.Message)
	})
	// panic panics in the handler: recovered, the worker lives on.
	worker.Handle("panic", func(context.Context, any) (any, error) { panic("handler blew up") })
	// exit ends the Go runtime with os.Exit(3) mid-task.
	worker.Handle("exit", func(context.Context, any) (any, error) {
		os.Exit(3)
		return nil, nil
	})
	// exit0 ends the Go runtime with os.Exit(0) mid-task.
	worker.Handle("exit0", func(context.Context, any) (any, error) {
		os.Exit(0)
		return nil, nil
	})
	// fatal ends the Go runtime with log.Fatal mid-task: its message on
	// stderr, then os.Exit(1).
	worker.Handle("fatal", func(context.Context, any) (any, error) {
		log.Fatal("cannot open the database: connection refused")
		return nil, nil
	})
	// gopanic panics in a goroutine of its own: that ends the Go runtime.
	worker.Handle("gopanic", func(ctx context.Context, _ any) (any, error) {
		go func() { panic("boom in a goroutine") }()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// deepPanic panics in a goroutine of its own, 300 calls deep: its
	// stack trace is long.
	worker.Handle("deepPanic", func(ctx context.Context, _ any) (any, error) {
		go deep(300)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// sleep waits params.ms milliseconds, or until the host cancels it.
	worker.HandleTyped("sleep", func(ctx context.Context, p struct{ Ms int }) (string, error) {
		select {
		case <-time.After(time.Duration(p.Ms) * time.Millisecond):
			return "slept", nil
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
	})
	// progress reports params.steps progress values, then answers "done".
	worker.HandleTyped("progress", func(ctx context.Context, p struct{ Steps int }) (string, error) {
		for i := 1; i <= p.Steps; i++ {
			if err := worker.Progress(ctx, i); err != nil {
				return "", err
			}
		}
		return "done", nil
	})
	// spin computes without waiting, yielding at checkpoints, until the host
	// cancels it; it answers how many checkpoints it passed.
	worker.Handle("spin", func(ctx context.Context, _ any) (any, error) {
		x := 1.0
		for n := 0; ; n++ {
			for i := 0; i < 100_000; i++ {
				x = x*1.0000001 + 1e-9
			}
			if err := worker.Yield(ctx); err != nil {
				return nil, err
			}
		}
	})
	// progressSpin computes without waiting and reports progress after
	// every step, checking its ctx; it never calls Yield. It answers with
	// its ctx's error once it sees it end, or, after 20 s, says it never did.
	worker.Handle("progressSpin", func(ctx context.Context, _ any) (any, error) {
		x := 1.0
		start := time.Now()
		for n := 0; ; n++ {
			for i := 0; i < 10_000; i++ {
				x = x*1.0000001 + 1e-9
			}
			_ = worker.Progress(ctx, n)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if time.Since(start) > 20*time.Second {
				return "never saw its ctx end", nil
			}
		}
	})
	// progressInCallback reports progress from a js.FuncOf callback, 30 ms
	// after the event loop last ran Go code: once called back at once by
	// JS it called, once from a setTimeout. It answers both reports' errors.
	worker.Handle("progressInCallback", func(ctx context.Context, _ any) (any, error) {
		report := js.FuncOf(func(js.Value, []js.Value) any {
			for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
			}
			if err := worker.Progress(ctx, 1); err != nil {
				return err.Error()
			}
			return "ok"
		})
		defer report.Release()
		inCall := report.Invoke().String()
		later := make(chan string, 1)
		timeout := js.FuncOf(func(js.Value, []js.Value) any { later <- report.Invoke().String(); return nil })
		defer timeout.Release()
		js.Global().Call("setTimeout", timeout, 0)
		return []string{inCall, <-later}, nil
	})
	// stubborn waits for a release task, ignoring its ctx; it answers
	// whether its ctx had ended by then.
	worker.Handle("stubborn", func(ctx context.Context, _ any) (any, error) {
		<-released
		return ctx.Err() != nil, nil
	})
	// release lets every stubborn task go.
	worker.Handle("release", func(context.Context, any) (any, error) {
		releaseOnce.Do(func() { close(released) })
		return true, nil
	})
	// moveBytes answers a 1 MiB Uint8Array made in JS, moved to the host;
	// keptLength answers how many bytes this worker still holds of it.
	worker.Handle("moveBytes", func(context.Context, any) (any, error) {
		kept = js.Global().Get("Uint8Array").New(1 << 20)
		kept.SetIndex(0, 7)
		return worker.Transfer(kept), nil
	})
	// moveViews answers two views of one 8-byte buffer made in JS, each
	// given to Transfer: its head and its tail.
	worker.Handle("moveViews", func(context.Context, any) (any, error) {
		buf := js.Global().Get("Uint8Array").New(8)
		for i := range 8 {
			buf.SetIndex(i, i)
		}
		return map[string]any{"head": worker.Transfer(buf.Call("subarray", 0, 4)), "tail": worker.Transfer(buf.Call("subarray", 4))}, nil
	})
	worker.Handle("keptLength", func(context.Context, any) (any, error) { return kept.Get("byteLength").Int(), nil })
	// canvas answers an OffscreenCanvas, which can only be moved.
	worker.Handle("canvas", func(context.Context, any) (any, error) {
		c := js.Global().Get("OffscreenCanvas").New(3, 2)
		return worker.TransferWith(c, c), nil
	})
	// passOn answers params.data as it came, moved back without being read
	// into Go, and the name of params.extra's constructor.
	worker.HandleJS("passOn", func(_ context.Context, p js.Value) (any, error) {
		return map[string]any{"data": worker.Transfer(p.Get("data")), "extra": js.Global().Get("Object").Invoke(p.Get("extra")).Get("constructor").Get("name").String()}, nil
	})
	// namedBytes answers how many bytes params.data holds, read as a slice
	// of a named byte type.
	worker.HandleTyped("namedBytes", func(_ context.Context, p struct {
		Data []namedByte `json:"data"`
	}) (int, error) {
		return len(p.Data), nil
	})
	// ipKeys answers its params' keys, read as IP addresses (a key type
	// that reads itself from text), in order.
	worker.HandleTyped("ipKeys", func(_ context.Context, p map[netip.Addr]int) ([]string, error) {
		keys := []string{}
		for k := range p {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		return keys, nil
	})
	// ipField answers params.ip, a netip.Addr, as text.
	worker.HandleTyped("ipField", func(_ context.Context, p struct {
		IP netip.Addr `json:"ip"`
	}) (string, error) {
		return p.IP.String(), nil
	})
	// int64 answers its params, read as an int64.
	worker.HandleTyped("int64", func(_ context.Context, n int64) (int64, error) { return n, nil })
	// inexact answers 2^53+1, which no JS number holds.
	worker.Handle("inexact", func(context.Context, any) (any, error) { return int64(1<<53 + 1), nil })
	// nilSlices answers a struct of nil slices and maps.
	worker.Handle("nilSlices", func(context.Context, any) (any, error) {
		return struct {
			B []byte         `json:"b"`
			N []int          `json:"n"`
			A []any          `json:"a"`
			O map[string]any `json:"o"`
			E []any          `json:"e"`
		}{E: []any{}}, nil
	})
	// peek answers the first byte of params.data, a typed array read where
	// it is, in JS: the params stay in JS, and are not moved back.
	worker.HandleJS("peek", func(_ context.Context, p js.Value) (any, error) {
		return p.Get("data").Index(0).Int(), nil
	})
	// readBlob reads params.data, a Blob, a MiB at a time with
	// worker.Await, and answers its last byte.
	worker.HandleJS("readBlob", func(ctx context.Context, p js.Value) (any, error) {
		blob := p.Get("data")
		n, last := blob.Get("size").Int(), 0
		for off := 0; off < n; off += 1 << 20 {
			ab, err := worker.Await(ctx, blob.Call("slice", off, min(off+1<<20, n)).Call("arrayBuffer"))
			if err != nil {
				return nil, err
			}
			u8 := js.Global().Get("Uint8Array").New(ab)
			last = u8.Index(u8.Length() - 1).Int()
		}
		return last, nil
	})
	// external answers the bytes this thread holds outside V8's heap, where
	// ArrayBuffers live (Node.js's process.memoryUsage().external), once V8
	// has collected what nothing holds: so it counts what is still held,
	// not garbage a busy machine has not collected yet.
	worker.Handle("external", func(context.Context, any) (any, error) {
		process := js.Global().Get("process")
		if process.Get("getBuiltinModule").Type() == js.TypeFunction { // Node.js 20.16+
			process.Call("getBuiltinModule", "v8").Call("setFlagsFromString", "--expose-gc")
			process.Call("getBuiltinModule", "vm").Call("runInNewContext", "gc").Invoke()
		}
		return process.Call("memoryUsage").Get("external").Float(), nil
	})
	// frame renders params (a number) into a buffer the worker keeps, and
	// answers that buffer: each answer holds the bytes of its own task.
	worker.HandleTyped("frame", func(_ context.Context, n int) ([]byte, error) {
		frameMu.Lock()
		defer frameMu.Unlock()
		for i := range frameBuf {
			frameBuf[i] = byte(n)
		}
		return frameBuf, nil
	})
	// nilPanic panics with nil.
	worker.Handle("nilPanic", func(context.Context, any) (any, error) { panic(nil) })
	worker.Run()
}

var (
	frameMu  sync.Mutex
	frameBuf = make([]byte, 8)
)

type namedByte uint8

var (
	released    = make(chan struct{})
	releaseOnce sync.Once
	kept        js.Value
)

// deep recurses n calls deep, then panics.
func deep(n int) int {
	if n == 0 {
		panic("boom at the bottom of a deep recursion")
	}
	return deep(n-1) + 1
}
