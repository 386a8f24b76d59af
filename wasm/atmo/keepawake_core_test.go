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

func TestATaskTheManagerHoldsAloneKeepsThePageAndItsWorkerAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	_, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"echo"}, Script: "a"})
	for range 3 { // a loop of Do: each task is alone when it is posted
		_, err := tm.Do(ctx(t), "echo", nil)
		require.NoError(t, err)
	}
	want := awakeAsked{"echo", DefaultLoneTaskAwake, DefaultLoneTaskAwake}
	assert.Equal(t, []awakeAsked{want, want, want}, asked((*fakes)[0]))
}

func TestATaskAmongOthersKeepsNothingAwake(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "slow" {
			<-release
		}
		return nil, ""
	}, WorkerConfig{Tasks: []string{"slow", "echo"}, Script: "a", Count: 2})
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
		{"slow", DefaultLoneTaskAwake, DefaultLoneTaskAwake},
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
			_, err := tm.Do(ctx(t), "echo", nil)
			require.NoError(t, err)
			assert.Equal(t, []awakeAsked{{"echo", c.want, c.want}}, asked((*fakes)[0]))
		})
	}
}
