//go:build js && wasm

package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// sha256Stream hashes params.data as it came, a Blob or File (which Go
// cannot read as a value) or a typed array or ArrayBuffer, reading it into
// Go a chunk at a time: the worker never holds a copy of the whole input.
// A page can hand it a File from an <input type="file"> as it is. It
// reports its progress, the share hashed, every 16 MiB.
//
//	tm.Do(ctx, "sha256Stream", map[string]any{"data": file}) // a js.Value
func init() {
	worker.HandleJS("sha256Stream", func(ctx context.Context, p js.Value) (any, error) {
		if p.Type() != js.TypeObject {
			return nil, errors.New("params must be {data: Blob | File | Uint8Array | ArrayBuffer}")
		}
		data := p.Get("data")
		h := sha256.New()
		buf := make([]byte, chunk)
		var err error
		switch {
		case data.InstanceOf(js.Global().Get("Blob")):
			err = hashBlob(ctx, h, buf, data)
		case data.InstanceOf(js.Global().Get("ArrayBuffer")) || js.Global().Get("ArrayBuffer").Call("isView", data).Bool():
			err = hashBytes(ctx, h, buf, bytesOf(data))
		default:
			return nil, fmt.Errorf("params.data is %s; give a Blob, a File, a typed array or an ArrayBuffer", data.Type())
		}
		if err != nil {
			return nil, err
		}
		return h.Sum(nil), nil
	})
}

// chunk is how much of the input is in Go at a time.
const chunk = 1 << 20

// report sends the share of n hashed at off every 16 chunks.
func report(ctx context.Context, off, n int) {
	if off > 0 && off%(16*chunk) == 0 {
		_ = worker.Progress(ctx, float64(off)/float64(n))
	}
}

var uint8Array = js.Global().Get("Uint8Array")

// bytesOf is a Uint8Array over the bytes of a typed array or ArrayBuffer.
func bytesOf(v js.Value) js.Value {
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		return uint8Array.New(v)
	}
	return uint8Array.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
}

// hashBytes writes u8 to h a chunk at a time. Between chunks it yields:
// copying and hashing never wait, so without it the host's cancel would
// not get in before the end (and the worker would be terminated after
// the cancel grace instead).
func hashBytes(ctx context.Context, h io.Writer, buf []byte, u8 js.Value) error {
	n := u8.Get("byteLength").Int()
	for off := 0; off < n; off += len(buf) {
		if off > 0 {
			if err := worker.Yield(ctx); err != nil {
				return err
			}
		}
		report(ctx, off, n)
		k := js.CopyBytesToGo(buf, u8.Call("subarray", off, min(off+len(buf), n)))
		h.Write(buf[:k])
	}
	return nil
}

// hashBlob writes a Blob to h a chunk at a time, reading each with
// blob.slice(...).arrayBuffer(), a Promise this goroutine waits for.
func hashBlob(ctx context.Context, h io.Writer, buf []byte, blob js.Value) error {
	n := blob.Get("size").Int()
	for off := 0; off < n; off += len(buf) {
		if err := ctx.Err(); err != nil {
			return err
		}
		report(ctx, off, n)
		ab, err := worker.Await(ctx, blob.Call("slice", off, min(off+len(buf), n)).Call("arrayBuffer"))
		if err != nil {
			return fmt.Errorf("reading the Blob at %d: %w", off, err)
		}
		k := js.CopyBytesToGo(buf, uint8Array.New(ab))
		h.Write(buf[:k])
	}
	return nil
}
