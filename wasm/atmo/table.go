package atmo

import (
	"maps"
	"slices"
)

// taskTable holds the tasks not yet settled, by seq. Seqs are handed out
// one after another and most tasks settle about in that order, so the
// table is a window of slots from the oldest task still in it to the
// newest: adding, finding and taking out a task index a slice. In the
// bench's flood (50,000 tasks at once) a map's insert and delete took
// ~5-6% of the page's thread.
//
// A task that stays while thousands after it come and go (one with no
// timeout, or a low priority) would hold the window open behind it: once
// the window is more than four times as long as the tasks in it, its
// oldest tasks move to a map of their own, so that memory follows the
// tasks in the table, not the seqs handed out since the oldest.
type taskTable struct {
	slots []*TaskRequest          // slots[i] has seq base+i; nil once taken out
	head  int                     // slots[:head] are all nil
	base  uint64                  // seq of slots[0]
	live  int                     // tasks in slots
	old   map[uint64]*TaskRequest // tasks moved out of the window: all their seqs are below base+head
}

// minWindow is how long the window may grow, however few tasks are in it,
// before its oldest tasks move out.
const minWindow = 1024

// add puts t in the table; its seq is above any added before.
func (tt *taskTable) add(t *TaskRequest) {
	if tt.live == 0 && tt.head == len(tt.slots) { // empty: start the window at t
		tt.slots, tt.head, tt.base = tt.slots[:0], 0, t.seq
	}
	for tt.base+uint64(len(tt.slots)) < t.seq { // a seq handed out to no task
		tt.slots = append(tt.slots, nil)
	}
	tt.slots = append(tt.slots, t)
	tt.live++
	if n := len(tt.slots) - tt.head; n > minWindow && n > 4*tt.live {
		tt.moveOldest()
	}
}

// moveOldest moves the oldest task in the window to old, and the window's
// start past it.
func (tt *taskTable) moveOldest() {
	if tt.old == nil {
		tt.old = map[uint64]*TaskRequest{}
	}
	t := tt.slots[tt.head]
	tt.old[t.seq] = t
	tt.slots[tt.head] = nil
	tt.live--
	tt.skipEmpty()
}

// get finds a task by seq; 0 finds none.
func (tt *taskTable) get(seq uint64) *TaskRequest {
	if seq >= tt.base+uint64(tt.head) && seq < tt.base+uint64(len(tt.slots)) {
		return tt.slots[seq-tt.base]
	}
	return tt.old[seq] // nil map: nil
}

// remove takes the task with seq out, if it is there.
func (tt *taskTable) remove(seq uint64) {
	if seq < tt.base+uint64(tt.head) || seq >= tt.base+uint64(len(tt.slots)) {
		delete(tt.old, seq)
		if len(tt.old) == 0 {
			tt.old = nil // Go never shrinks a map: its buckets go with it
		}
		return
	}
	i := seq - tt.base
	if tt.slots[i] == nil {
		return
	}
	tt.slots[i] = nil
	tt.live--
	tt.skipEmpty()
}

// skipEmpty moves the window's start past the slots taken out, and the
// slots down once those before the start are as many as those after it,
// so the slice does not grow for ever.
func (tt *taskTable) skipEmpty() {
	for tt.head < len(tt.slots) && tt.slots[tt.head] == nil {
		tt.head++
	}
	if tt.live == 0 && tt.head == len(tt.slots) { // empty: add starts the window afresh
		tt.slots, tt.head = emptied(tt.slots), 0
		return
	}
	if slots, moved := dropFront(tt.slots, tt.head); moved {
		tt.slots, tt.base, tt.head = slots, tt.base+uint64(tt.head), 0
	}
}

// keepCap is the most entries a window or a heap keeps room for once it is
// empty: past it, emptied lets its array go, so that a burst's memory (a
// queue of 200,000: ~7 MB) goes back when the burst is over.
const keepCap = 4096

// emptied is s, all of whose entries were taken out and cleared, empty:
// with its array while that is small.
func emptied[T any](s []T) []T {
	if cap(s) > keepCap {
		return nil
	}
	return s[:0]
}

// dropFront moves s[head:] to the start of s once the entries before head,
// all taken out, are at least 64 and as many as those after it, so that a
// slice used as a window (the task table, a queue's line) does not grow
// for ever; it reports whether it moved them.
func dropFront[T any](s []T, head int) ([]T, bool) {
	if head < 64 || head < len(s)/2 {
		return s, false
	}
	n := copy(s, s[head:])
	clear(s[n:])
	return s[:n], true
}

// len is how many tasks the table holds.
func (tt *taskTable) len() int { return tt.live + len(tt.old) }

// sorted lists the tasks in the order they were added.
func (tt *taskTable) sorted() []*TaskRequest {
	ts := make([]*TaskRequest, 0, tt.len())
	for _, seq := range slices.Sorted(maps.Keys(tt.old)) {
		ts = append(ts, tt.old[seq])
	}
	for _, t := range tt.slots[tt.head:] {
		if t != nil {
			ts = append(ts, t)
		}
	}
	return ts
}
