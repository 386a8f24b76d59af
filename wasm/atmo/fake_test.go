package atmo

import (
	"sync"
	"testing"
)

// fakeTransport stands in for a real worker in native tests of the pure core.
// It answers asynchronously, as a real worker does, by calling the pool from
// a goroutine. Real workers are tested in the browser tests.
type fakeTransport struct {
	pool    *workerPool
	w       *TaskWorker
	run     func(w *TaskWorker, name string, params any) (content any, errText string)
	silent  bool // never answers init-worker
	mu      sync.Mutex
	cancels []string
	ended   bool
}

func (f *fakeTransport) init(string, []string, int) {
	if !f.silent {
		go f.pool.receive(f.w, inbound{kind: KindWorkerReady})
	}
}

func (f *fakeTransport) work(taskID, workerID, name string, params any) {
	go func() {
		content, errText := f.run(f.w, name, params)
		f.pool.receive(f.w, inbound{kind: KindWorkerResponse, taskID: taskID, workerID: workerID, content: content, err: errText})
	}()
}

func (f *fakeTransport) cancel(taskID, _ string) {
	f.mu.Lock()
	f.cancels = append(f.cancels, taskID)
	f.mu.Unlock()
}

func (f *fakeTransport) terminate() {
	f.mu.Lock()
	f.ended = true
	f.mu.Unlock()
}

// fakePool starts a pool of fake workers running run; the returned slice
// gets each worker's transport.
func fakePool(t *testing.T, tm *TaskManager, run func(w *TaskWorker, name string, params any) (any, string), configs ...WorkerConfig) (*workerPool, *[]*fakeTransport) {
	t.Helper()
	var mu sync.Mutex
	var fakes []*fakeTransport
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		f := &fakeTransport{pool: w.pool, w: w, run: run, silent: w.config.Script == "silent"}
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		return f, nil
	}, configs)
	if err != nil {
		t.Fatal(err)
	}
	return p, &fakes
}

// echo answers with the worker's id and the params.
func echo(w *TaskWorker, name string, params any) (any, string) {
	return map[string]any{"worker": w.id, "name": name, "params": params}, ""
}
