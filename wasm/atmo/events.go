package atmo

import (
	"fmt"
	"runtime"
	"sync"
)

// Subscribe calls fn with every message of the claim flow, in order and with
// increasing Seq: the seed's events$. fn runs on a goroutine of its own
// subscription, never inside a JS callback; a slow fn delays only itself.
// Call the returned func to stop; it is safe to call more than once.
func (tm *TaskManager) Subscribe(fn func(Message)) (unsubscribe func()) {
	return tm.subscribe(&subscriber{fn: fn})
}

// SubscribeBatch is Subscribe for a consumer that takes messages in bulk,
// such as one that sends them on to JS or over a network: fn gets, in
// order, the messages of a turn of the scheduler at once, and is called
// once per batch where Subscribe calls once per message. The slice is
// reused after fn returns: copy what you keep. A panic in fn is reported
// as one callback-panic for its batch.
func (tm *TaskManager) SubscribeBatch(fn func([]Message)) (unsubscribe func()) {
	return tm.subscribe(&subscriber{batchFn: fn})
}

func (tm *TaskManager) subscribe(s *subscriber) (unsubscribe func()) {
	s.tm, s.wake, s.quit, s.exited = tm, make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		close(s.exited)
		return func() {}
	}
	tm.subs = append(tm.subs, s)
	tm.mu.Unlock()
	go s.run()
	return func() {
		tm.mu.Lock()
		for i, x := range tm.subs {
			if x == s {
				tm.subs = append(tm.subs[:i:i], tm.subs[i+1:]...)
				break
			}
		}
		tm.mu.Unlock()
		s.stop(false)
	}
}

// watched says whether anyone subscribed. Call sites on a task's path check
// it before building a Message, whose Content would otherwise be allocated
// for nobody: six of a task's seventeen allocations, in a memory profile.
func (tm *TaskManager) watched() bool { return len(tm.subs) > 0 }

// emit stamps m and queues it for every subscriber. Called with mu held.
func (tm *TaskManager) emit(m Message) {
	if !tm.watched() {
		return
	}
	tm.seq++
	m.Seq = tm.seq
	m.ManagerID = tm.id
	for _, s := range tm.subs {
		s.push(m)
	}
}

type subscriber struct {
	tm      *TaskManager
	fn      func(Message)   // Subscribe's
	batchFn func([]Message) // or SubscribeBatch's
	mu      sync.Mutex
	queue   []Message
	spare   []Message // the batch last delivered, emptied: see flush
	wake    chan struct{}
	quit    chan struct{}
	exited  chan struct{}
	once    sync.Once
	drain   bool // on quit, deliver what is queued first
}

func (s *subscriber) push(m Message) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	defer close(s.exited)
	for {
		select {
		case <-s.wake:
			if s.batchFn != nil {
				// Let the goroutines already runnable (the other
				// tasks of a worker's message) add theirs first.
				runtime.Gosched()
			}
			s.flush()
		case <-s.quit:
			s.mu.Lock()
			drain := s.drain
			s.mu.Unlock()
			if drain {
				s.flush()
			}
			return
		}
	}
}

// maxSpare is the largest batch kept for reuse: one flood's messages should
// not pin their memory for the subscription's life.
const maxSpare = 4096

// flush delivers what is queued. The queue and the batch being delivered
// take turns, so a steady stream of messages allocates no lists.
func (s *subscriber) flush() {
	s.mu.Lock()
	batch := s.queue
	s.queue, s.spare = s.spare, nil
	s.mu.Unlock()
	if s.batchFn != nil {
		if len(batch) > 0 {
			s.callBatch(batch)
		}
	} else {
		for _, m := range batch {
			s.call(m)
		}
	}
	if cap(batch) > maxSpare {
		return
	}
	clear(batch)
	s.mu.Lock()
	if s.spare == nil {
		s.spare = batch[:0]
	}
	s.mu.Unlock()
}

func (s *subscriber) call(m Message) {
	defer func() {
		if p := recover(); p != nil && m.Kind != KindCallbackPanic {
			// Reported to every subscriber; a subscriber that panics on
			// this report too is not told again, so this cannot loop.
			s.tm.mu.Lock()
			s.tm.emit(Message{Kind: KindCallbackPanic, TaskID: m.TaskID, Error: fmt.Sprintf("atmo: subscriber panicked on %s: %v", m.Kind, p)})
			s.tm.mu.Unlock()
		}
	}()
	s.fn(m)
}

func (s *subscriber) callBatch(ms []Message) {
	defer func() {
		// As in call: a batch of nothing but such reports is not
		// reported again, so a subscriber that always panics cannot loop.
		if p := recover(); p != nil && !onlyPanics(ms) {
			s.tm.mu.Lock()
			s.tm.emit(Message{Kind: KindCallbackPanic, Error: fmt.Sprintf("atmo: subscriber panicked on a batch of %d messages, from %s (seq %d): %v", len(ms), ms[0].Kind, ms[0].Seq, p)})
			s.tm.mu.Unlock()
		}
	}()
	s.batchFn(ms)
}

func onlyPanics(ms []Message) bool {
	for _, m := range ms {
		if m.Kind != KindCallbackPanic {
			return false
		}
	}
	return true
}

// stop ends the subscription. With wait, queued messages are delivered and
// stop returns once the subscriber's goroutine has finished.
func (s *subscriber) stop(wait bool) {
	s.once.Do(func() {
		s.mu.Lock()
		s.drain = wait
		s.mu.Unlock()
		close(s.quit)
	})
	if wait {
		<-s.exited
	}
}
