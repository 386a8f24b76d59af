package atmo

import (
	"container/heap"
	"time"
)

// taskQueue holds the tasks of one name that wait for a worker. It is a heap:
// adding and removing cost O(log n) however many tasks wait.
//
// Order: a task's rank is its priority, raised by one for every aging
// interval it has waited. Rank is computed from the time the task was queued,
// so it is fixed while the task waits and the heap stays valid:
//
//	rank = priority×aging − queuedAt   (higher runs first; ties in adding order)
//
// With aging 0, priority alone decides, then adding order.
type taskQueue struct {
	items []*TaskRequest
	aging time.Duration
}

func (q *taskQueue) Len() int { return len(q.items) }

func (q *taskQueue) Less(i, j int) bool { return runsBefore(q.items[i], q.items[j], q.aging) }

// runsBefore reports whether a ranks before b (see taskQueue); it also
// compares the heads of different queues.
func runsBefore(a, b *TaskRequest, aging time.Duration) bool {
	if aging > 0 {
		ra := int64(a.priority)*int64(aging) - a.queued.UnixNano()
		rb := int64(b.priority)*int64(aging) - b.queued.UnixNano()
		if ra != rb {
			return ra > rb
		}
	} else if a.priority != b.priority {
		return a.priority > b.priority
	}
	return a.seq < b.seq
}

func (q *taskQueue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.items[i].index = i
	q.items[j].index = j
}

func (q *taskQueue) Push(x any) {
	t := x.(*TaskRequest)
	t.index = len(q.items)
	q.items = append(q.items, t)
}

func (q *taskQueue) Pop() any {
	n := len(q.items) - 1
	t := q.items[n]
	q.items[n] = nil
	q.items = q.items[:n]
	t.index = -1
	return t
}

func (q *taskQueue) push(t *TaskRequest) { heap.Push(q, t) }

func (q *taskQueue) peek() *TaskRequest {
	if len(q.items) == 0 {
		return nil
	}
	return q.items[0]
}

func (q *taskQueue) pop() *TaskRequest { return heap.Pop(q).(*TaskRequest) }

func (q *taskQueue) remove(t *TaskRequest) {
	if t.index >= 0 && t.index < len(q.items) && q.items[t.index] == t {
		heap.Remove(q, t.index)
	}
}
