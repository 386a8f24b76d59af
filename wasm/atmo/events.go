package atmo

import (
	"fmt"
	"runtime"
	"sync"
)

// Subscribe calls fn with every message of the claim flow, in order and with
// increasing Seq: the seed's events$. fn runs on a goroutine of its own
// subscription, never inside a JS callback; a slow fn delays no task and
// no other subscriber, only itself (its messages queue meanwhile) and a
// Close called from elsewhere than a callback, which delivers fn what was
// queued for it and waits for it: one that never returns holds that Close
// up for ever, unless it was unsubscribed first (see Close).
// Call the returned func to stop: messages still queued for fn are dropped,
// and once it has returned no call of fn starts but one already on its way
// (a call under way finishes); it is safe to call more than once. A nil
// fn panics, as http.Handle does a nil handler: every message would. On a
// closed TaskManager, which has no message left to send, fn is never
// called, and the returned func does nothing.
func (tm *TaskManager) Subscribe(fn func(Message)) (unsubscribe func()) {
	if fn == nil {
		panic("atmo: Subscribe(nil): pass the func to call with each message")
	}
	return tm.subscribe(&subscriber{fn: fn})
}

// SubscribeBatch is Subscribe for a consumer that takes messages in bulk,
// such as one that sends them on to JS or over a network: fn gets, in
// order, the messages of a turn of the scheduler at once (a flood's in
// batches of up to 1024), and is called once per batch where Subscribe
// calls once per message. The slice is reused after fn returns: copy what
// you keep. A panic in fn is reported as one callback-panic for its batch.
// Unlike Subscribe's, its unsubscribe lets fn have what was queued before
// it, from the subscription's goroutine, without waiting for fn. Close lets
// fn have it too, and waits for it as it does for Subscribe's, unless
// called from a callback (see Close).
// A nil fn panics, as Subscribe's does.
func (tm *TaskManager) SubscribeBatch(fn func([]Message)) (unsubscribe func()) {
	if fn == nil {
		panic("atmo: SubscribeBatch(nil): pass the func to call with each batch of messages")
	}
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
		tm.leave(s)
		s.stop(false)
	}
}

// leave takes s out of the subscribers: no message is queued for it after.
func (tm *TaskManager) leave(s *subscriber) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for i, x := range tm.subs {
		if x == s {
			tm.subs = append(tm.subs[:i:i], tm.subs[i+1:]...)
			break
		}
	}
}

// wireOnly says whether every subscriber is the JS API's, which reads a
// held answer in its worker-response event (hooks.SubscribeWire). Called
// with mu held.
func (tm *TaskManager) wireOnly() bool {
	for _, s := range tm.subs {
		if !s.wire {
			return false
		}
	}
	return true
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
	wire    bool            // the JS API's: it reads held answers from the wire (see hooks.SubscribeWire)
	mu      sync.Mutex
	queue   [][]Message // the messages to deliver, in lists of at most chunkSize
	spare   []Message   // a list delivered and emptied, for reuse; nil when none
	lists   [][]Message // the queue's own list, emptied, for reuse
	wake    chan struct{}
	quit    chan struct{}
	exited  chan struct{}
	once    sync.Once
	drain   bool // on quit, deliver what is queued first
}

// chunkSize is the most messages one list of a subscriber's queue holds. A
// flood's messages queue in lists of this size, each reused once delivered,
// rather than in one list grown by copying: that growth was 15% of the
// page's profile under a JS subscriber in a flood (nine messages a task).
const chunkSize = 1024

func (s *subscriber) push(m Message) {
	s.mu.Lock()
	n := len(s.queue)
	if n == 0 || len(s.queue[n-1]) == chunkSize {
		// One spare is enough for a steady stream (the list delivered
		// is the next to fill), and an idle subscriber holds one list
		// (~100 KB) after a flood.
		c := s.spare
		s.spare = nil
		if c == nil && n > 0 {
			c = make([]Message, 0, chunkSize) // a flood: the list will fill
		}
		s.queue = append(s.queue, c)
		n++
	}
	s.queue[n-1] = append(s.queue[n-1], m)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	defer close(s.exited)
	defer s.tm.calling(fromSubscriber)()
	returned := false
	defer func() {
		if !returned {
			// fn ended the goroutine (runtime.Goexit, as t.FailNow
			// does in a test): the subscription ends with it, as by
			// its unsubscribe, and what was queued is let go.
			s.tm.leave(s)
			s.stop(false)
			s.mu.Lock()
			s.queue, s.spare, s.lists = nil, nil, nil
			s.mu.Unlock()
		}
	}()
	s.loop()
	returned = true
}

// loop delivers s's messages until s is stopped.
func (s *subscriber) loop() {
	for {
		select {
		case <-s.wake:
			if s.dropping() {
				return
			}
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

// flush delivers what is queued, a list at a time, then keeps the emptied
// lists for the messages to come, so that a steady stream allocates none.
func (s *subscriber) flush() {
	s.mu.Lock()
	lists := s.queue
	s.queue, s.lists = s.lists, nil
	s.mu.Unlock()
	for _, batch := range lists {
		if s.batchFn != nil {
			s.callBatch(batch)
		} else {
			for _, m := range batch {
				if s.dropping() {
					break // unsubscribed, or the manager closed from a callback: the rest is dropped
				}
				s.call(m)
			}
		}
	}
	s.mu.Lock()
	for i, batch := range lists {
		clear(batch) // let go of what the messages point to
		if s.spare == nil {
			s.spare = batch[:0]
		}
		lists[i] = nil
	}
	if s.lists == nil {
		s.lists = lists[:0]
	}
	s.mu.Unlock()
}

func (s *subscriber) call(m Message) {
	defer func() {
		if p := recover(); p != nil && m.Kind != KindCallbackPanic {
			// Reported to every subscriber; a subscriber that panics on
			// this report too is not told again, so this cannot loop.
			s.tm.mu.Lock()
			s.tm.stats.callbackPanics++
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
			s.tm.stats.callbackPanics++
			s.tm.emit(Message{Kind: KindCallbackPanic, Error: fmt.Sprintf("atmo: subscriber panicked on a batch of %d messages, from %s (seq %d): %v", len(ms), ms[0].Kind, ms[0].Seq, p)})
			s.tm.mu.Unlock()
		}
	}()
	s.batchFn(ms)
}

// dropping says whether the subscription has ended without a drain, so
// that what is queued is not delivered (select picks at random between a
// wake and the quit, and a list may hold many messages).
func (s *subscriber) dropping() bool {
	select {
	case <-s.quit:
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.drain
	default:
		return false
	}
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
// stop returns once the subscriber's goroutine has finished. A batch
// subscriber always has what was queued (see SubscribeBatch): its messages
// may hold answers JS keeps until they are read.
func (s *subscriber) stop(wait bool) {
	s.once.Do(func() {
		s.mu.Lock()
		s.drain = wait || s.batchFn != nil
		s.mu.Unlock()
		close(s.quit)
	})
	if !wait && s.batchFn == nil {
		// An unsubscribe while a Close from elsewhere drains: what is
		// still queued is dropped all the same (dropping reads drain).
		s.mu.Lock()
		s.drain = false
		s.mu.Unlock()
	}
	if wait {
		<-s.exited
	}
}
