package atmo

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kindsAndSeqs keeps what a subscriber saw.
type kindsAndSeqs struct {
	mu    sync.Mutex
	seqs  []uint64
	kinds []MessageKind
	calls int
	most  int // the largest call's messages
}

func (k *kindsAndSeqs) add(ms ...Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	k.most = max(k.most, len(ms))
	for _, m := range ms {
		k.seqs = append(k.seqs, m.Seq)
		k.kinds = append(k.kinds, m.Kind)
	}
}

func (k *kindsAndSeqs) seen() (seqs []uint64, kinds []MessageKind, calls int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]uint64(nil), k.seqs...), append([]MessageKind(nil), k.kinds...), k.calls
}

func TestSubscribeBatchSeesWhatSubscribeSeesInOrderInFewerCalls(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"), cfg("b", "job"))
	require.NoError(t, p.ready(ctx(t)))
	one, many := &kindsAndSeqs{}, &kindsAndSeqs{}
	defer tm.Subscribe(func(m Message) { one.add(m) })()
	defer tm.SubscribeBatch(func(ms []Message) { many.add(ms...) })()

	const n = 5000 // a flood: many lists of messages in one turn
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) { wg.Done() }})
		require.NoError(t, err)
	}
	wg.Wait()
	want := 9 * n // the claim flow's nine messages a task
	require.Eventually(t, func() bool {
		a, _, _ := one.seen()
		b, _, _ := many.seen()
		return len(a) >= want && len(b) >= want
	}, 10*time.Second, time.Millisecond)

	// Messages go on after the tasks (workers fall idle), so compare the
	// first want of each.
	seqs, kinds, _ := one.seen()
	bseqs, bkinds, calls := many.seen()
	for i := range want {
		require.Equal(t, seqs[i], bseqs[i], "the same messages, in the same order: message %d", i)
		require.Equal(t, kinds[i], bkinds[i], "message %d", i)
		if i > 0 {
			require.Equal(t, bseqs[i-1]+1, bseqs[i], "none lost, none twice")
		}
	}
	assert.Less(t, calls, len(bseqs)/3, "batches, not a call a message") // (how few depends on the scheduler: -race runs slower)
	many.mu.Lock()
	defer many.mu.Unlock()
	assert.LessOrEqual(t, many.most, chunkSize, "a flood in lists of at most chunkSize")
}

func TestASubscribeBatchThatPanicsIsReportedOnceABatchAndDoesNotLoop(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var mu sync.Mutex
	var reports []Message
	defer tm.Subscribe(func(m Message) {
		if m.Kind == KindCallbackPanic {
			mu.Lock()
			reports = append(reports, m)
			mu.Unlock()
		}
	})()
	defer tm.SubscribeBatch(func([]Message) { panic("oops") })()

	_, err := tm.Do(ctx(t), "job", 1.0)
	require.NoError(t, err, "the manager goes on")
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(reports)
	}
	last := 0
	require.Eventually(t, func() bool {
		n := count()
		stopped := n > 0 && n == last
		last = n
		return stopped
	}, 5*time.Second, 50*time.Millisecond, "reported, then quiet: a batch of nothing but reports is not reported again")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, reports[0].Error, "subscriber panicked on a batch")
	assert.Contains(t, reports[0].Error, "oops")
	assert.Equal(t, len(reports), tm.Stats().CallbackPanics, "each report counted")
}

func TestASteadyStreamOfMessagesAllocatesNoLists(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	delivered := make(chan int, 100)
	defer tm.SubscribeBatch(func(ms []Message) { delivered <- len(ms) })()
	turn := func() {
		tm.mu.Lock()
		for range 100 {
			tm.emit(Message{Kind: KindTaskUpdated, TaskID: "task-1", Content: TaskWorking})
		}
		tm.mu.Unlock()
		for got := 0; got < 100; got += <-delivered {
		}
	}
	turn() // the first turns make the lists
	turn()
	assert.Zero(t, testing.AllocsPerRun(50, turn), "the lists are reused")
}

func TestSubscribeBatchHasWhatWasQueuedBeforeItsUnsubscribeAndNothingAfter(t *testing.T) {
	for _, end := range []string{"unsubscribe", "Close"} {
		t.Run(end, func(t *testing.T) {
			for range 5 { // a subscription's goroutine may find the next batch before the end
				got := queuedThenEnded(t, end == "Close")
				assert.Equal(t, 11, got, "what was queued is delivered, and nothing after")
			}
		})
	}
}

// queuedThenEnded holds a batch subscriber inside its first batch while ten
// more messages queue, ends the subscription (or the manager), emits five
// more, then lets the subscriber go on: it returns how many it got.
func queuedThenEnded(t *testing.T, byClose bool) int {
	tm := NewTaskManager()
	defer tm.Close()
	emit := func(n int) {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		for range n {
			tm.emit(Message{Kind: KindTaskUpdated, TaskID: "task-1"})
		}
	}
	inFirst, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	got, calls := 0, 0
	unsubscribe := tm.SubscribeBatch(func(ms []Message) {
		mu.Lock()
		got += len(ms)
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			close(inFirst)
			<-release
		}
	})
	emit(1)
	<-inFirst // the subscriber is busy with the first message
	emit(10)  // these queue
	if byClose {
		go tm.Close()
		require.Eventually(t, func() bool { tm.mu.Lock(); defer tm.mu.Unlock(); return tm.closed }, 5*time.Second, time.Millisecond)
	} else {
		unsubscribe()
	}
	emit(5) // after the end: not delivered
	close(release)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return got >= 11 }, 5*time.Second, time.Millisecond, "what was queued is delivered")
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	return got
}

// heldSubscriber subscribes to tm with a fn that holds its first call
// until release is closed, and counts the calls that start after stopped
// is called.
type heldSubscriber struct {
	inFirst, release chan struct{}
	mu               sync.Mutex
	calls            int
	isStopped        bool
	after            int
}

func holdSubscriber(tm *TaskManager) (*heldSubscriber, func()) {
	h := &heldSubscriber{inFirst: make(chan struct{}), release: make(chan struct{})}
	unsubscribe := tm.Subscribe(func(Message) {
		h.mu.Lock()
		h.calls++
		if h.isStopped {
			h.after++
		}
		first := h.calls == 1
		h.mu.Unlock()
		if first {
			close(h.inFirst)
			<-h.release
		}
	})
	return h, unsubscribe
}

func (h *heldSubscriber) stopped() {
	h.mu.Lock()
	h.isStopped = true
	h.mu.Unlock()
}

// late releases the first call, lets the subscription run on a while, and
// says whether fn was called after stopped.
func (h *heldSubscriber) late() bool {
	close(h.release)
	time.Sleep(20 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.after > 0
}

// SubscribeBatch: "Unlike Subscribe's, its unsubscribe (and Close) lets fn
// have what was queued before it". So Subscribe's unsubscribe does not.
func TestSubscribesUnsubscribeDropsWhatWasQueued(t *testing.T) {
	late := 0
	for round := 0; round < 20; round++ {
		tm := NewTaskManager()
		emit := func(n int) {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			for range n {
				tm.emit(Message{Kind: KindTaskUpdated, TaskID: "task-1"})
			}
		}
		h, unsubscribe := holdSubscriber(tm)
		emit(1)
		<-h.inFirst
		emit(10)
		unsubscribe()
		h.stopped()
		if h.late() {
			late++
		}
		tm.Close()
	}
	assert.Zero(t, late, "rounds (of 20) in which fn was called after its unsubscribe returned")
}

// Close: "Callbacks already running are waited for (unless Close is called
// from one); none starts after Close returns": a subscriber is a callback
// (KindCallbackPanic's doc). Here Close is called from a task's OnSuccess.
func TestNoSubscriberCallStartsAfterCloseFromATaskCallbackReturns(t *testing.T) {
	late := 0
	for round := 0; round < 20; round++ {
		tm := NewTaskManager()
		p, _ := fakePool(t, tm, echo, cfg("a", "job"))
		require.NoError(t, p.ready(ctx(t)))
		h, _ := holdSubscriber(tm)
		closeReturned := make(chan struct{})
		_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) {
			<-h.inFirst
			require.NoError(t, tm.Close())
			h.stopped()
			close(closeReturned)
		}})
		require.NoError(t, err)
		<-closeReturned
		if h.late() {
			late++
		}
	}
	assert.Zero(t, late, "rounds (of 20) in which a subscriber was called after Close returned")
}

func TestAnUnsubscribeDuringACloseFromElsewhereStillDropsWhatWasQueued(t *testing.T) {
	tm := NewTaskManager()
	h, unsubscribe := holdSubscriber(tm)
	tm.mu.Lock()
	s := tm.subs[0]
	tm.emit(Message{Kind: KindTaskUpdated})
	tm.mu.Unlock()
	<-h.inFirst
	tm.mu.Lock()
	for range 10 {
		tm.emit(Message{Kind: KindTaskUpdated})
	}
	tm.mu.Unlock()
	closed := make(chan struct{})
	go func() { tm.Close(); close(closed) }() // it drains, waiting for the held call
	require.Eventually(t, func() bool {
		select {
		case <-s.quit:
			return true
		default:
			return false
		}
	}, 5*time.Second, time.Millisecond, "Close has stopped the subscription")
	unsubscribe()
	h.stopped()
	assert.False(t, h.late(), "a call of fn started after unsubscribe returned")
	<-closed
}

func TestASubscriberThatEndsItsGoroutineEndsItsSubscription(t *testing.T) {
	// As t.FailNow does in a test (runtime.Goexit): the messages that come
	// after are not queued for ever for a goroutine that is gone.
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	tm.Subscribe(func(Message) { runtime.Goexit() })
	_, err := tm.Do(ctx(t), "job", nil)
	require.NoError(t, err)
	settleSoon(t, func() bool {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return len(tm.subs) == 0
	})
}

func TestSubscribingNilPanicsAtOnceSayingWhatToPass(t *testing.T) {
	// Not a callback-panic for every message, later.
	tm := NewTaskManager()
	defer tm.Close()
	assert.PanicsWithValue(t, "atmo: Subscribe(nil): pass the func to call with each message", func() { tm.Subscribe(nil) })
	assert.PanicsWithValue(t, "atmo: SubscribeBatch(nil): pass the func to call with each batch of messages", func() { tm.SubscribeBatch(nil) })
	assert.Zero(t, tm.Stats().CallbackPanics)
}

// Subscribe: "a slow fn delays only itself", and Close from elsewhere than
// a callback delivers what was queued for fn and waits for it, for either
// kind of subscriber: a blocked fn holds up no task, but holds up Close
// until it has taken its backlog; unsubscribed first, it holds up nothing.
func TestABlockedSubscriberHoldsUpNoTaskButCloseWaitsForItsBacklogUnlessUnsubscribed(t *testing.T) {
	for _, c := range []struct {
		name        string
		unsubscribe bool
		batch       bool
	}{{"Subscribe", false, false}, {"SubscribeBatch", false, true}, {"unsubscribed", true, false}, {"unsubscribed batch", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			tm := NewTaskManager()
			p, _ := fakePool(t, tm, echo, cfg("a", "job"))
			require.NoError(t, p.ready(ctx(t)))
			release := make(chan struct{})
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { close(release) }) })
			var mu sync.Mutex
			got := 0
			take := func(n int) {
				mu.Lock()
				got += n
				mu.Unlock()
				<-release
			}
			var unsubscribe func()
			if c.batch {
				unsubscribe = tm.SubscribeBatch(func(ms []Message) { take(len(ms)) })
			} else {
				unsubscribe = tm.Subscribe(func(Message) { take(1) })
			}
			for i := range 20 {
				_, err := tm.Do(ctx(t), "job", i)
				require.NoError(t, err, "a blocked subscriber holds up no task")
			}
			if c.unsubscribe {
				unsubscribe()
			}
			closed := make(chan struct{})
			go func() { tm.Close(); close(closed) }()
			if c.unsubscribe {
				select {
				case <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("Close waited for a subscriber unsubscribed before it")
				}
				return
			}
			select {
			case <-closed:
				t.Fatal("Close returned before its blocked subscriber took what was queued for it")
			case <-time.After(50 * time.Millisecond):
			}
			once.Do(func() { close(release) })
			<-closed
			tm.mu.Lock()
			emitted := int(tm.seq) // the tasks', and Close's own (its worker closed)
			tm.mu.Unlock()
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, emitted, got, "Close delivered every message queued before it stopped the stream")
		})
	}
}

// batchingFake is a fake worker whose tasks wait in the turn's batch, as a
// browser worker's do until the end of the turn: none is posted yet.
type batchingFake struct {
	fakeTransport
	held []uint64
}

func (b *batchingFake) work(seq uint64, _, _ string, _ any, _ keepMode) {
	b.mu.Lock()
	b.held = append(b.held, seq)
	b.mu.Unlock()
}
func (b *batchingFake) init(string, []string, int, time.Duration) {
	go b.pool.receiveFrom(b, b.w, inbound{kind: KindWorkerReady})
}
func (b *batchingFake) unposted() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.held)
}
func (b *batchingFake) unpost(seq uint64) bool { return false }

// A task whose worker went down before it was posted never ran: the event
// stream must not tell a dashboard it was retried without saying why and
// that it never ran, as Stats.Retried does not count it.
func TestATaskBackInLineBeforeItWasPostedSaysItNeverRanAndIsNoRetry(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{Restart: RestartPolicy{Backoff: time.Hour}})
	defer tm.Close()
	var mu sync.Mutex
	var fakes []*batchingFake
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		f := &batchingFake{fakeTransport: fakeTransport{pool: w.pool, w: w}}
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		return f, nil
	}, []WorkerConfig{{Tasks: []string{"job"}, Script: "a", Count: 2}})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	var events []Message
	unsub := tm.Subscribe(func(m Message) { mu.Lock(); events = append(events, m); mu.Unlock() })
	task, err := tm.AddTask(TaskParams{Name: "job"})
	require.NoError(t, err)
	var w *TaskWorker
	var f *batchingFake
	mu.Lock()
	for _, x := range fakes {
		if len(x.unposted()) > 0 {
			f, w = x, x.w
		}
	}
	mu.Unlock()
	require.NotNil(t, f)
	p.receiveFrom(f, w, inbound{kind: KindWorkerExit, err: "gone"}) // the worker died in the turn it got the task
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) > 0 && task.Status() == TaskWorking }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	unsub()
	mu.Lock()
	defer mu.Unlock()
	var back []Message
	for _, m := range events {
		if m.Kind == KindTaskUpdated && m.Content == TaskNew {
			back = append(back, m)
		}
	}
	require.Len(t, back, 1)
	assert.Equal(t, 0, tm.Stats().Retried, "it never ran")
	assert.Contains(t, back[0].Error, "never", "the back-to-new event says the task never reached its worker: else it reads as a retry that Stats.Retried does not count")
	assert.Equal(t, w.id, back[0].WorkerID, "and which worker it left")
}
