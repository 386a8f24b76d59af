//go:build js && wasm

package jsapi

import (
	"context"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/hooks"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// heldNow is how many values JS holds for Go.
func heldNow() int {
	h := values.Codec.Get("held")
	return h.Get("values").Length() - h.Get("free").Length()
}

// A manager that holds its raw answers in JS (the JS API's) holds them for
// its subscribers' events only while every subscriber reads them from the
// wire: a Go subscriber gets each answer as a js.Value, as RawResult says,
// and no slot is left behind.
func TestAGoSubscriberToAManagerHoldingItsAnswersGetsJSValues(t *testing.T) {
	url := jstest.HelperWorker(t, `atmoWorker({ echo: (p) => p });`)
	for _, batch := range []bool{false, true} {
		tm := atmo.NewTaskManager()
		hooks.HoldRawResults(tm)
		wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: url})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, wm.Ready(ctx))
		before := heldNow()

		var mu sync.Mutex
		var seen []any
		see := func(m atmo.Message) {
			if m.Kind == atmo.KindWorkerResponse {
				mu.Lock()
				seen = append(seen, m.Content)
				mu.Unlock()
			}
		}
		var stop func()
		if batch {
			stop = tm.SubscribeBatch(func(ms []atmo.Message) {
				for _, m := range ms {
					see(m)
				}
			})
		} else {
			stop = tm.Subscribe(see)
		}
		results := make(chan any, 1)
		_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"a": 1.0}, RawResult: true,
			OnSuccess: func(r atmo.Response) { results <- r.Content }})
		require.NoError(t, err)
		result := <-results
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 }, 5*time.Second, time.Millisecond)
		stop()

		for _, c := range []any{result, seen[0]} {
			v, ok := c.(js.Value)
			if assert.True(t, ok, "batch %v: a js.Value, not %T", batch, c) {
				assert.Equal(t, 1, v.Get("a").Int())
			}
		}
		assert.Equal(t, before, heldNow(), "batch %v: nothing held", batch)
		require.NoError(t, tm.Close())
		cancel()
	}
}

// A manager that copies its answers in JS (the JS API's, hooks.CopyResults)
// gives a task without RawResult the copy by the value rules, and a
// subscriber the answer as it came, held or, for a Go subscriber, as
// js.Values; an answer the value rules cannot read fails its task, counted
// as failed, and nothing is left held.
func TestAManagerCopyingItsAnswersInJSFailsTheTasksWhoseAnswerCannotBeRead(t *testing.T) {
	url := jstest.HelperWorker(t, `atmoWorker({ when: () => new Date(0), big: () => 10n });`)
	tm := atmo.NewTaskManager()
	hooks.HoldRawResults(tm)
	hooks.CopyResults(tm)
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"when", "big"}, Script: url})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wm.Ready(ctx))
	before := heldNow()

	var mu sync.Mutex
	var seen []atmo.Message
	stop := tm.Subscribe(func(m atmo.Message) {
		if m.Kind == atmo.KindWorkerResponse {
			mu.Lock()
			seen = append(seen, m)
			mu.Unlock()
		}
	})
	results := make(chan atmo.Response, 2)
	for _, name := range []string{"when", "big"} {
		_, err = tm.AddTask(atmo.TaskParams{Name: name,
			OnSuccess: func(r atmo.Response) { results <- r }, OnError: func(r atmo.Response) { results <- r }})
		require.NoError(t, err)
		r := <-results
		if name == "when" {
			require.NoError(t, r.Err)
			v, ok := r.Content.(js.Value)
			if assert.True(t, ok, "a js.Value, not %T", r.Content) {
				assert.Equal(t, "1970-01-01T00:00:00.000Z", v.String(), "the copy, by the value rules")
			}
		} else {
			require.Error(t, r.Err)
			assert.Contains(t, r.Err.Error(), "the worker's answer cannot be read: a BigInt (10n)")
		}
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 }, 5*time.Second, time.Millisecond)
	stop()
	v, ok := seen[0].Content.(js.Value)
	if assert.True(t, ok, "a js.Value, not %T", seen[0].Content) {
		assert.True(t, v.InstanceOf(js.Global().Get("Date")), "the subscriber's answer is as it came")
	}
	assert.Contains(t, seen[1].Error, "cannot be read")
	s := tm.Stats()
	assert.Equal(t, 1, s.Done)
	assert.Equal(t, 1, s.Failed)
	assert.Equal(t, before, heldNow(), "nothing held")
	require.NoError(t, tm.Close())
}
