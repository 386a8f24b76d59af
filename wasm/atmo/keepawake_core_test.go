package atmo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asked is what the tasks posted so far through f asked to keep awake.
func asked(f *fakeTransport) []awakeAsked {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]awakeAsked(nil), f.awakes...)
}

// heldUntil answers each task at once with its worker's id, but a task
// named held only once release is closed.
func heldUntil(held string, release <-chan struct{}) func(w *TaskWorker, name string, params any) (any, string) {
	return func(w *TaskWorker, name string, params any) (any, string) {
		if name == held {
			<-release
		}
		return w.id, ""
	}
}

func TestATaskTheManagerHoldsAloneKeepsThePageAndItsWorkerAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	_, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"echo"}, Script: "a"})
	for range 3 { // a loop of Do: each task is alone when it is posted
		_, err := tm.Do(ctx(t), "echo", nil)
		require.NoError(t, err)
	}
	first := awakeAsked{"echo", DefaultLoneTaskAwake, 0} // the worker answered nothing before
	then := awakeAsked{"echo", DefaultLoneTaskAwake, DefaultLoneTaskAwake}
	assert.Equal(t, []awakeAsked{first, then, then}, asked((*fakes)[0]))
}

func TestLoneTasksTakingTurnsBetweenWorkersKeepOnlyThePageAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	_, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"a"}, Script: "a"}, WorkerConfig{Tasks: []string{"b"}, Script: "b"})
	for range 3 { // each worker's next task comes only after the other's
		for _, name := range []string{"a", "b"} {
			_, err := tm.Do(ctx(t), name, nil)
			require.NoError(t, err)
		}
	}
	// A worker kept awake would only take a core from the one at work.
	for i, name := range []string{"a", "b"} {
		page := awakeAsked{name, DefaultLoneTaskAwake, 0}
		assert.Equal(t, []awakeAsked{page, page, page}, asked((*fakes)[i]), name)
	}
}

func TestATaskAmongOthersKeepsNothingAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, fakes := fakePool(t, tm, heldUntil("slow", release), WorkerConfig{Tasks: []string{"slow", "echo"}, Script: "a", Count: 2})
	require.NoError(t, p.ready(ctx(t)))
	done := make(chan struct{})
	_, err := tm.AddTask(TaskParams{Name: "slow", OnSuccess: func(Response) { close(done) }})
	require.NoError(t, err)
	_, err = tm.Do(ctx(t), "echo", nil) // while slow is out: not alone
	require.NoError(t, err)
	close(release)
	<-done
	var got []awakeAsked
	for _, f := range *fakes {
		got = append(got, asked(f)...)
	}
	assert.ElementsMatch(t, []awakeAsked{
		{"slow", DefaultLoneTaskAwake, 0},
		{"echo", 0, 0},
	}, got)
}

func TestAWorkersOwnKeepAwakeTakesThePlaceOfLoneTaskAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	_, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"echo"}, Script: "a", KeepAwake: 50 * time.Microsecond})
	_, err := tm.Do(ctx(t), "echo", nil)
	require.NoError(t, err)
	// The page stays awake as the worker's setting says; the worker knows
	// it from init-worker, and stays awake after every task anyway.
	assert.Equal(t, []awakeAsked{{"echo", 50 * time.Microsecond, 0}}, asked((*fakes)[0]))
}

func TestLoneTaskAwakeCanBeTurnedOffAndIsBounded(t *testing.T) {
	for name, c := range map[string]struct {
		set, want time.Duration
	}{
		"default":          {0, DefaultLoneTaskAwake},
		"negative: never":  {-1, 0},
		"shorter":          {20 * time.Microsecond, 20 * time.Microsecond},
		"past the maximum": {time.Second, MaxKeepAwake},
	} {
		t.Run(name, func(t *testing.T) {
			tm := NewTaskManagerWithOptions(Options{LoneTaskAwake: c.set})
			defer tm.Close()
			_, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"echo"}, Script: "a"})
			for range 2 {
				_, err := tm.Do(ctx(t), "echo", nil)
				require.NoError(t, err)
			}
			assert.Equal(t, []awakeAsked{{"echo", c.want, 0}, {"echo", c.want, c.want}}, asked((*fakes)[0]))
		})
	}
}

func TestTasksOneAtATimeStayOnTheWorkerThatAnsweredLast(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, _ := fakePool(t, tm, heldUntil("hold", release), WorkerConfig{Tasks: []string{"echo", "hold"}, Script: "a", Count: 3})
	require.NoError(t, p.ready(ctx(t)))
	first, err := tm.Do(ctx(t), "echo", nil)
	require.NoError(t, err)
	for range 10 { // its thread is the one kept awake
		got, err := tm.Do(ctx(t), "echo", nil)
		require.NoError(t, err)
		require.Equal(t, first, got)
	}
	// Tasks at once still spread, fewest in flight first.
	seen := make(chan any, 3)
	for range 3 {
		_, err := tm.AddTask(TaskParams{Name: "hold", OnSuccess: func(r Response) { seen <- r.Content }})
		require.NoError(t, err)
	}
	close(release)
	workers := map[any]bool{}
	for range 3 {
		workers[<-seen] = true
	}
	assert.Len(t, workers, 3, "each worker took one")
}

// answering answers each task at once, its round trip taking d by clk.
func answering(clk *fakeClock, d *time.Duration) func(w *TaskWorker, name string, params any) (any, string) {
	return func(w *TaskWorker, name string, params any) (any, string) {
		clk.Advance(*d)
		return nil, ""
	}
}

func TestLoneTasksWhoseAnswersComeAfterTheWindowRestTheirSpinForASecond(t *testing.T) {
	// The page spun for nothing, and took a core from the work: on a busy
	// machine, round trips with the spin took 2-4 ms, against 0.1-0.6
	// without.
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	late := DefaultLoneTaskAwake + time.Microsecond
	_, fakes := fakePool(t, tm, answering(clk, &late), cfg("a", "echo"))
	do := func(n int) {
		for range n {
			_, err := tm.Do(ctx(t), "echo", nil)
			require.NoError(t, err)
		}
	}
	kept := func() (n int) {
		for _, a := range asked((*fakes)[0]) {
			if a.page > 0 {
				n++
			}
		}
		return n
	}
	do(10)
	assert.Equal(t, loneLate, kept(), "awake for the first %d, then resting", loneLate)
	clk.Advance(loneRest)
	do(1)
	assert.Equal(t, loneLate+1, kept(), "a second later it tries again")

	late = DefaultLoneTaskAwake // an answer within the window breaks the run
	do(1)
	late = DefaultLoneTaskAwake + time.Microsecond
	do(loneLate - 1)
	assert.Equal(t, loneLate+1+loneLate, kept(), "not %d late in a row yet", loneLate)
	do(2)
	assert.Equal(t, loneLate+2+loneLate, kept(), "now %d: resting", loneLate)
}

func TestLoneTasksAnsweredWithinTheWindowStayAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	fast := DefaultLoneTaskAwake / 3
	_, fakes := fakePool(t, tm, answering(clk, &fast), cfg("a", "echo"))
	for range 20 {
		_, err := tm.Do(ctx(t), "echo", nil)
		require.NoError(t, err)
	}
	for _, a := range asked((*fakes)[0]) {
		assert.Equal(t, DefaultLoneTaskAwake, a.page)
	}
}
