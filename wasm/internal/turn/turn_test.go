package turn

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recorder keeps a copy of each flush's items (the Batcher reuses the list)
// and signals every flush.
type recorder struct {
	mu      sync.Mutex
	flushes [][]int
	flushed chan struct{}
}

func newRecorder() *recorder { return &recorder{flushed: make(chan struct{}, 100)} }

func (r *recorder) flush(items []int) {
	r.mu.Lock()
	r.flushes = append(r.flushes, append([]int(nil), items...))
	r.mu.Unlock()
	r.flushed <- struct{}{}
}

func (r *recorder) got() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]int(nil), r.flushes...)
}

// oneThread runs the test on one P, as js/wasm's scheduler does.
func oneThread(t *testing.T) {
	t.Cleanup(func() { runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) })
}

func TestOneFlusherServesEveryTurn(t *testing.T) {
	oneThread(t)
	r := newRecorder()
	b := New(r.flush)
	before := runtime.NumGoroutine()
	for i := range 50 {
		b.Add(i)
		<-r.flushed
	}
	assert.Len(t, r.got(), 50)
	assert.Equal(t, before+1, runtime.NumGoroutine(), "one flusher, made on the first Add and kept")
	b.Stop()
}

func TestASteadyStreamOfTurnsAllocatesNoLists(t *testing.T) {
	oneThread(t)
	flushed := make(chan int, 1)
	b := New(func(items []int) { flushed <- len(items) })
	defer b.Stop()
	turn := func() {
		for i := range 100 {
			b.Add(i)
		}
		<-flushed
	}
	turn() // the first two turns grow the two lists
	turn()
	assert.Zero(t, testing.AllocsPerRun(50, turn), "the lists of two turns take turns")
}

func TestStopFlushesWhatIsQueuedAndLaterItemsGoAtOnce(t *testing.T) {
	oneThread(t)
	r := newRecorder()
	b := New(r.flush)
	b.Add(1)
	b.Add(2)
	b.Stop()
	flushed := 0
	for _, f := range r.got() {
		flushed += len(f)
	}
	assert.Equal(t, 2, flushed, "Stop returns once what was queued is flushed: the flusher calls flush no more")
	b.Add(3) // after Stop: flushed in the caller, before Add returns
	got := r.got()
	assert.Equal(t, []int{3}, got[len(got)-1])
	var all []int
	for _, f := range got {
		all = append(all, f...)
	}
	assert.Equal(t, []int{1, 2, 3}, all, "nothing lost, in order")
	b.Stop() // twice is fine

	never := New(r.flush)
	never.Stop() // never started: no flusher to end
}
