package atmo

import (
	"math"
	"time"
)

// taskQueue holds the tasks of one name that wait for a worker.
//
// Order: a task's rank is its priority, raised by one for every aging
// interval it has waited. Rank is computed from the time the task was queued,
// so it is fixed while the task waits:
//
//	rank = priority×aging − queuedAt   (higher runs first; ties in adding order)
//
// With aging 0, priority alone decides, then adding order. The rank is
// worked out once, when the task is queued, and kept beside the task.
//
// Most tasks are queued in the order they run: equal priorities, added one
// after another, rank lower the later they come. Those go to the back of a
// line (fifo), in O(1); a task that runs before the line's last one (a
// higher priority, or a retry keeping its place) goes to a heap, in
// O(log n), and the queue gives up whichever of the two heads runs first.
// With 50,000 tasks queued (the bench's throughput workload), the heap
// alone took ~4% of the page's thread, most of it moving each head's
// replacement down sixteen levels; with container/heap's interface, ~10%.
type taskQueue struct {
	items []place // the heap
	fifo  line
	aging time.Duration
}

// line is a run of places in the order they run. A place taken out of the
// middle leaves a hole (t nil) that pop skips.
type line struct {
	places []place
	head   int   // places[head] is the first that may be live
	live   int   // places that are not holes
	last   place // the last place added, hole or not: the next must run after it
}

// inLine marks a task's index as a position in the line rather than in the
// heap: a task at places[i] has index inLine+i.
const inLine = math.MaxInt/2 + 1

// place is a task's place in the queue. It holds the task's rank and seq
// beside the task, so that comparing two places reads neither task: with
// tens of thousands queued, each task read is a likely cache miss.
type place struct {
	rank int64
	seq  uint64
	t    *TaskRequest
}

// before reports whether a runs before b; it also compares the heads of
// different queues, whose ranks are on the same scale.
func (a place) before(b place) bool {
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	return a.seq < b.seq
}

func (q *taskQueue) Len() int { return len(q.items) + q.fifo.live }

// push queues t, whose queued time is set.
func (q *taskQueue) push(t *TaskRequest) {
	rank := int64(t.priority)
	if q.aging > 0 {
		rank = rank*int64(q.aging) - t.queued
	}
	e := place{rank: rank, seq: t.seq, t: t}
	if l := &q.fifo; l.live == 0 || l.last.before(e) {
		if l.live == 0 {
			l.places, l.head = l.places[:0], 0
		}
		t.index = inLine + len(l.places)
		l.places = append(l.places, e)
		l.live++
		l.last = place{rank: e.rank, seq: e.seq}
		return
	}
	q.items = append(q.items, e)
	q.up(len(q.items) - 1)
}

// head is the place of the task that runs first, if any.
func (q *taskQueue) head() (place, bool) {
	h, inHeap := place{}, len(q.items) > 0
	if inHeap {
		h = q.items[0]
	}
	if q.fifo.live > 0 {
		if f := q.fifo.places[q.fifo.head]; !inHeap || f.before(h) {
			return f, true
		}
	}
	return h, inHeap
}

func (q *taskQueue) peek() *TaskRequest {
	h, _ := q.head()
	return h.t
}

func (q *taskQueue) pop() *TaskRequest {
	h, ok := q.head()
	if !ok {
		return nil
	}
	q.remove(h.t)
	return h.t
}

func (q *taskQueue) remove(t *TaskRequest) {
	if t.index >= inLine {
		q.fifo.remove(t)
		return
	}
	if t.index >= 0 && t.index < len(q.items) && q.items[t.index].t == t {
		q.removeAt(t.index)
	}
}

// remove takes t out of the line: at the head the line moves up, past any
// holes; elsewhere t leaves a hole.
func (l *line) remove(t *TaskRequest) {
	i := t.index - inLine
	if i < l.head || i >= len(l.places) || l.places[i].t != t {
		return
	}
	l.places[i] = place{}
	t.index = -1
	l.live--
	if l.live == 0 {
		clear(l.places[l.head:])
		l.places, l.head = emptied(l.places), 0
		return
	}
	for l.head < len(l.places) && l.places[l.head].t == nil {
		l.head++
	}
	// Once the places move down (see dropFront), each task learns its new
	// index.
	if places, moved := dropFront(l.places, l.head); moved {
		l.places, l.head = places, 0
		for i, e := range l.places {
			if e.t != nil {
				e.t.index = inLine + i
			}
		}
	}
}

// removeAt takes out the task at i of the heap: the last one takes its
// place and moves up or down to where it belongs.
func (q *taskQueue) removeAt(i int) {
	t, n := q.items[i].t, len(q.items)-1
	if i != n {
		q.set(i, q.items[n])
	}
	q.items[n] = place{}
	q.items = q.items[:n]
	if n == 0 {
		q.items = emptied(q.items)
	}
	t.index = -1
	if i < n && !q.down(i) {
		q.up(i)
	}
}

func (q *taskQueue) set(i int, e place) {
	q.items[i] = e
	e.t.index = i
}

// up moves the task at i towards the root while it runs before its parent.
func (q *taskQueue) up(i int) {
	e := q.items[i]
	for i > 0 {
		p := (i - 1) / 2
		if !e.before(q.items[p]) {
			break
		}
		q.set(i, q.items[p])
		i = p
	}
	q.set(i, e)
}

// down moves the task at i towards the leaves while a child runs before it,
// and reports whether it moved.
func (q *taskQueue) down(i int) bool {
	e, n, start := q.items[i], len(q.items), i
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && q.items[r].before(q.items[c]) {
			c = r
		}
		if !q.items[c].before(e) {
			break
		}
		q.set(i, q.items[c])
		i = c
	}
	q.set(i, e)
	return i > start
}
