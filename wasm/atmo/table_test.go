package atmo

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheTaskTableFindsEveryTaskInItWhateverOrderTasksLeaveIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 40 {
		var tt taskTable
		want := map[uint64]*TaskRequest{}
		var inOrder []uint64 // want's seqs, ascending
		var seq uint64
		// Some rounds keep a few tasks for a long time (no timeout, a low
		// priority) while thousands come and go after them.
		stay := []int{0, 1, 20}[round%3]
		for range 20_000 {
			switch op := rng.IntN(100); {
			case op < 45 || len(want) == 0:
				seq++
				task := &TaskRequest{seq: seq}
				tt.add(task)
				want[seq] = task
				inOrder = append(inOrder, seq)
			default:
				// Mostly the oldest leaves, as tasks run in order;
				// now and then one from anywhere, or none of the stayers.
				var out uint64
				if rng.IntN(4) == 0 {
					out = seq - uint64(rng.IntN(int(min(seq, 200))))
				} else {
					for _, s := range inOrder { // the oldest that does not stay
						if s%1000 >= uint64(stay) {
							out = s
							break
						}
					}
				}
				if out%1000 < uint64(stay) {
					continue
				}
				tt.remove(out)
				if _, ok := want[out]; ok {
					delete(want, out)
					i, _ := slices.BinarySearch(inOrder, out)
					inOrder = slices.Delete(inOrder, i, i+1)
				}
			}
			require.Equal(t, len(want), tt.len(), "round %d", round)
			if window := len(tt.slots) - tt.head; window > minWindow {
				require.LessOrEqual(t, window, 4*tt.live+1, "round %d: the window follows the tasks in it", round)
			}
		}
		for s := uint64(0); s <= seq+1; s++ {
			require.Equal(t, want[s], tt.get(s), "round %d, seq %d", round, s)
		}
		got := tt.sorted()
		require.Len(t, got, len(want))
		assert.True(t, slices.IsSortedFunc(got, func(a, b *TaskRequest) int { return int(a.seq) - int(b.seq) }), "round %d: sorted lists them in adding order", round)
		for _, task := range got {
			tt.remove(task.seq)
		}
		assert.Equal(t, 0, tt.len())
		assert.Nil(t, tt.get(seq))
	}
}

func TestTheTaskTableSkipsSeqsHandedOutToNoTask(t *testing.T) {
	var tt taskTable
	one, five := &TaskRequest{seq: 1}, &TaskRequest{seq: 5}
	tt.add(one)
	tt.add(five)
	assert.Equal(t, 2, tt.len())
	assert.Nil(t, tt.get(3))
	assert.Same(t, five, tt.get(5))
	tt.remove(1)
	assert.Equal(t, []*TaskRequest{five}, tt.sorted())
}

func TestABurstsMemoryGoesBackOnceItIsOver(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	fakePool(t, tm, echo, cfg("silent", "job")) // never ready: every task waits
	var tasks []*TaskRequest
	for i := 0; i < 50_000; i++ {
		p := 0
		if i%2 == 1 {
			p = 1 // half of them run before the line: the heap
		}
		task, err := tm.AddTask(TaskParams{Name: "job", Priority: p})
		require.NoError(t, err)
		tasks = append(tasks, task)
	}
	tm.mu.Lock()
	q := tm.queues["job"]
	require.Greater(t, cap(q.items), keepCap)
	require.Greater(t, cap(q.fifo.places), keepCap)
	require.Greater(t, cap(tm.tasks.slots), keepCap)
	tm.mu.Unlock()
	for _, task := range tasks {
		task.Cancel()
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.LessOrEqual(t, cap(q.items), keepCap, "the heap")
	assert.LessOrEqual(t, cap(q.fifo.places), keepCap, "the line")
	assert.LessOrEqual(t, cap(tm.tasks.slots), keepCap, "the task table")
}

// The tasks that waited while thousands of later ones came and went (a low
// priority, a long task without a timeout) move to the table's overflow
// map; once they have left, the map goes too: Go never shrinks a map, and
// its buckets stayed for the TaskManager's life (276 KB after 12,500).
func TestTasksThatWaitedWhileThousandsRanLeaveNothingInTheTable(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{MaxQueue: -1})
	defer tm.Close()
	fakePool(t, tm, echo, cfg("a", "job"), cfg("silent", "wait"))
	var waiting []*TaskRequest
	for range 5000 {
		w, err := tm.AddTask(TaskParams{Name: "wait"})
		require.NoError(t, err)
		waiting = append(waiting, w)
		for range 7 {
			_, err := tm.Do(context.Background(), "job", nil)
			require.NoError(t, err)
		}
	}
	tm.mu.Lock()
	moved := len(tm.tasks.old)
	tm.mu.Unlock()
	require.Greater(t, moved, 1000, "the waiting tasks moved out of the window")
	for _, w := range waiting {
		w.Cancel()
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.Equal(t, 0, tm.tasks.len())
	assert.Nil(t, tm.tasks.old, "the map that held %d of them is let go", moved)
}
