//go:build js && wasm

package worker

import (
	"context"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsHost is a host port in JS, as go-worker.js provides one: it records
// what the worker posts and keeps the worker's listener.
func jsHost() js.Value {
	return js.Global().Get("Function").New(`
const host = { posted: [] };
host.post = (msg, transfer) => host.posted.push({ msg, transfer });
host.listen = (fn) => { host.fn = fn; };
return host;`).Invoke()
}

func waitPosted(t *testing.T, host js.Value, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for host.Get("posted").Length() < n {
		require.True(t, time.Now().Before(deadline), "the worker posted %d messages, want %d", host.Get("posted").Length(), n)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeOverAJSPortDecodesBytesAndTransfersResultBytes(t *testing.T) {
	s := newServer()
	s.handle("double", typed("double", func(_ context.Context, b []byte) ([]byte, error) {
		out := make([]byte, len(b))
		for i, x := range b {
			out[i] = 2 * x
		}
		return out, nil
	}))
	host := jsHost()
	serve(s, host)
	init := js.Global().Get("Object").New()
	init.Set("message", "init-worker")
	init.Set("id", "worker-1")
	host.Get("fn").Invoke(init)
	waitPosted(t, host, 1)
	ready := host.Get("posted").Index(0).Get("msg")
	assert.Equal(t, "worker-ready", ready.Get("message").String())
	assert.Equal(t, "worker-1", ready.Get("workerId").String())

	params := js.Global().Get("Uint8Array").New(3)
	js.CopyBytesToJS(params, []byte{1, 2, 3})
	work := js.Global().Get("Function").New("p", `return { message: 'worker-work', taskId: 'task-1', workerId: 'worker-1', content: { name: 'double', params: p } };`).Invoke(params)
	host.Get("fn").Invoke(work)
	waitPosted(t, host, 2)
	posted := host.Get("posted").Index(1)
	msg := posted.Get("msg")
	assert.Equal(t, "worker-response", msg.Get("message").String())
	assert.Equal(t, "task-1", msg.Get("taskId").String())
	content := msg.Get("content")
	require.True(t, content.InstanceOf(js.Global().Get("Uint8Array")), "[]byte arrives as a Uint8Array")
	got := make([]byte, content.Length())
	js.CopyBytesToGo(got, content)
	assert.Equal(t, []byte{2, 4, 6}, got)
	transfer := posted.Get("transfer")
	require.Equal(t, 1, transfer.Length())
	assert.True(t, transfer.Index(0).Equal(content.Get("buffer")), "its buffer is in the transfer list")
}

func TestFromJSFollowsTheCoreRules(t *testing.T) {
	v := js.Global().Get("Function").New(`return {
  n: 1.5, s: 'x', b: true, nil: null, undef: undefined,
  list: [1, 'two'], bytes: new Uint8Array([7, 8]), buf: new Uint16Array([1]).buffer,
  when: new Date(Date.UTC(2025, 0, 2)), err: new TypeError('bad'),
};`).Invoke()
	assert.Equal(t, map[string]any{
		"n": 1.5, "s": "x", "b": true, "nil": nil, "undef": nil,
		"list": []any{1.0, "two"}, "bytes": []byte{7, 8}, "buf": []byte{1, 0},
		"when": "2025-01-02T00:00:00.000Z", "err": map[string]any{"name": "TypeError", "message": "bad"},
	}, fromJS(v))
}
