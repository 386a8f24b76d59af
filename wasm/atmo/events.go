package atmo

import (
	"fmt"
	"sync"
)

// Subscribe calls fn with every message of the claim flow, in order and with
// increasing Seq: the seed's events$. fn runs on a goroutine of its own
// subscription, never inside a JS callback; a slow fn delays only itself.
// Call the returned func to stop; it is safe to call more than once.
func (tm *TaskManager) Subscribe(fn func(Message)) (unsubscribe func()) {
	s := &subscriber{tm: tm, fn: fn, wake: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{})}
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
	tm     *TaskManager
	fn     func(Message)
	mu     sync.Mutex
	queue  []Message
	wake   chan struct{}
	quit   chan struct{}
	exited chan struct{}
	once   sync.Once
	drain  bool // on quit, deliver what is queued first
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

func (s *subscriber) flush() {
	s.mu.Lock()
	batch := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, m := range batch {
		s.call(m)
	}
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
