//go:build js && wasm

package atmotest

// The rules the two random-operation tests check alike: the browser's
// (wasm/atmo/invariants_test.go, Web Workers) and Node.js's
// (wasm/atmo/nodetest/invariants_test.go, worker_threads). Each test drives
// its own manager with its own operations and tasks; the rules a
// TaskManager keeps whatever the transport are written here once.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
)

// Fail records a broken invariant, as testing.T's Errorf would.
type Fail func(format string, a ...any)

// Goroutines lists the goroutines with a frame in package atmo and none in
// the test package testPkg (such as "atmo_test." or "nodetest.").
func Goroutines(testPkg string) []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "wasm/atmo.") && !strings.Contains(g, testPkg) && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return out
}

// Eventually polls done every 20 ms for up to d, and says whether it came
// true: what Close lets go (goroutines, threads, timers) may take a moment.
func Eventually(d time.Duration, done func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if done() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
	}
}

// RandContext gives, one time in three, a context and a function that
// arms its cancel: after up to 200 ms, or half the time up to 3 ms, so that
// some land before the task is sent and some while it runs. Otherwise nil
// and nil.
func RandContext(rng *rand.Rand) (context.Context, func()) {
	if rng.IntN(3) != 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := time.Duration(rng.IntN(200)) * time.Millisecond
	if rng.IntN(2) == 0 {
		d = time.Duration(rng.IntN(3000)) * time.Microsecond
	}
	return ctx, func() { time.AfterFunc(d, cancel) }
}

// CheckStats checks a snapshot taken at any moment: every task added is
// done, failed, queued or running; no worker holds more than its capacity,
// nor a closed one any; and the workers hold every running task.
func CheckStats(s atmo.Stats, fail Fail) {
	if s.Submitted != s.Done+s.Failed+s.Queued+s.Running {
		fail("Stats: Submitted %d != Done %d + Failed %d + Queued %d + Running %d", s.Submitted, s.Done, s.Failed, s.Queued, s.Running)
	}
	inflight := 0
	for _, w := range s.Workers {
		inflight += w.InFlight
		if w.InFlight > w.Capacity || (w.Status == atmo.WorkerClosed && w.InFlight > 0) {
			fail("Stats: worker %s %s holds %d of %d", w.ID, w.Status, w.InFlight, w.Capacity)
		}
	}
	if inflight < s.Running {
		fail("Stats: Running %d, but workers hold %d", s.Running, inflight)
	}
}

// Tally counts the outcomes a test saw in its callbacks and Do calls.
type Tally struct{ Done, Failed, Canceled int }

// Add counts one outcome.
func (t *Tally) Add(err error) {
	switch {
	case err == nil:
		t.Done++
	case errors.Is(err, atmo.ErrCanceled):
		t.Failed++
		t.Canceled++
	default:
		t.Failed++
	}
}

// A Worker is a BrowserTaskWorker or a ServerTaskWorker.
type Worker interface {
	ID() string
	Status() atmo.WorkerStatus
}

// CheckClosed checks a TaskManager after its Close returned, with s its
// Stats then, seen what the test counted, and workers every worker its
// managers list: every task added ended, as many as the test saw; every
// worker is closed and holds nothing; nothing more is taken.
func CheckClosed[W Worker](tm *atmo.TaskManager, s atmo.Stats, seen Tally, workers []W, fail Fail) {
	if s.Submitted != s.Done+s.Failed || s.Queued != 0 || s.Running != 0 {
		fail("final Stats: Submitted %d, Done %d, Failed %d, Queued %d, Running %d", s.Submitted, s.Done, s.Failed, s.Queued, s.Running)
	}
	if s.Done != seen.Done || s.Failed != seen.Failed || s.Canceled != seen.Canceled {
		fail("final Stats: Done %d Failed %d Canceled %d; seen %d, %d, %d", s.Done, s.Failed, s.Canceled, seen.Done, seen.Failed, seen.Canceled)
	}
	for _, w := range workers {
		if w.Status() != atmo.WorkerClosed {
			fail("worker %s is %s after Close", w.ID(), w.Status())
		}
	}
	for _, w := range s.Workers {
		if w.InFlight != 0 {
			fail("worker %s holds %d tasks after Close", w.ID, w.InFlight)
		}
	}
	if _, err := tm.AddTask(atmo.TaskParams{Name: "echo"}); !errors.Is(err, atmo.ErrClosed) {
		fail("AddTask after Close: %v", err)
	}
	if st := tm.Status(); len(st.Pending) > 0 || len(st.Working) > 0 || st.Done != s.Done || st.Failed != s.Failed {
		fail("Status after Close: %+v", st)
	}
}

// Result is what the tasks both tests' workers have ("echo", "sleep",
// "busy", "progress") answer to a task with the id i and these params, as
// it reads in Go; false for any other name.
func Result(name string, i int, params map[string]any) (any, bool) {
	id := float64(i)
	switch name {
	case "echo":
		return map[string]any{"id": id}, true
	case "sleep":
		return map[string]any{"id": id, "slept": true}, true
	case "busy":
		return map[string]any{"id": id, "busy": true}, true
	case "progress":
		return map[string]any{"id": id, "steps": float64(params["steps"].(int))}, true
	}
	return nil, false
}

// ProgressRuns reads a task's progress reports, 1..n and again from 1 on
// each re-run, and says how many runs they show, or what breaks the order.
func ProgressRuns(progs []any) (runs int, err error) {
	next := 1.0
	for _, p := range progs {
		if p == 1.0 {
			next = 1
			runs++
		}
		if p != next {
			return runs, fmt.Errorf("progress %v, want 1..n in order", progs)
		}
		next++
	}
	return runs, nil
}

// Recorder subscribes for a whole run and keeps what the checks after it
// need: Seq goes up by one, and every task has one new-task, one final
// task-updated, then one task-deleted, and nothing after it.
type Recorder struct {
	// Over, when it says true, makes any message an error: the
	// TaskManager's Close has returned.
	Over func() bool
	// KeepAll keeps every message, for Around.
	KeepAll bool

	mu       sync.Mutex
	lastSeq  uint64
	errs     []string
	tasks    map[string]*taskEvents
	flow     []atmo.Message // task-available, task-claim and task-deleted
	all      []atmo.Message
	priority map[string]int
	name     map[string]string
}

type taskEvents struct {
	news, deleted, final int
	status               atmo.TaskStatus
	after                []string
}

// Record is the subscriber: pass it to TaskManager.Subscribe.
func (r *Recorder) Record(m atmo.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Over != nil && r.Over() {
		r.errf("subscriber called after Close returned: %+v", m)
	}
	if r.lastSeq != 0 && m.Seq != r.lastSeq+1 {
		r.errf("Seq %d after %d (%s)", m.Seq, r.lastSeq, m.Kind)
	}
	r.lastSeq = m.Seq
	if r.KeepAll {
		r.all = append(r.all, m)
	}
	if m.TaskID == "" {
		return
	}
	switch m.Kind {
	case atmo.KindTaskAvailable, atmo.KindTaskClaim, atmo.KindTaskDeleted:
		r.flow = append(r.flow, m)
	}
	if r.tasks == nil {
		r.tasks, r.name = map[string]*taskEvents{}, map[string]string{}
	}
	e := r.tasks[m.TaskID]
	if e == nil {
		e = &taskEvents{}
		r.tasks[m.TaskID] = e
	}
	if e.deleted > 0 {
		e.after = append(e.after, string(m.Kind))
	}
	switch m.Kind {
	case atmo.KindNewTask:
		e.news++
		r.name[m.TaskID], _ = m.Content.(string)
	case atmo.KindTaskDeleted:
		e.deleted++
	case atmo.KindTaskUpdated:
		if st, _ := m.Content.(atmo.TaskStatus); st == atmo.TaskDone || st == atmo.TaskFailed {
			e.final++
			e.status = st
		}
	}
}

// errf keeps the first three errors: one broken rule tends to break it
// for every message after.
func (r *Recorder) errf(format string, a ...any) {
	if len(r.errs) < 3 {
		r.errs = append(r.errs, fmt.Sprintf(format, a...))
	}
}

// SetPriority notes a task's priority, for Violations.
func (r *Recorder) SetPriority(id string, p int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.priority == nil {
		r.priority = map[string]int{}
	}
	r.priority[id] = p
}

// Check reports what Record found, then checks every task's events
// against the final Stats s. A Close from a callback (callbackClosed)
// drops what a subscriber has not had yet, so then only Seq is checked.
func (r *Recorder) Check(s atmo.Stats, callbackClosed bool, fail Fail) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.errs {
		fail("%s", e)
	}
	if callbackClosed {
		return
	}
	var done, failed int
	for id, e := range r.tasks {
		if e.news != 1 || e.deleted != 1 || e.final != 1 || len(e.after) > 0 {
			fail("events of %s: %d new-task, %d task-deleted, %d final task-updated, after deleted: %v", id, e.news, e.deleted, e.final, e.after)
		}
		if e.status == atmo.TaskDone {
			done++
		} else {
			failed++
		}
	}
	if len(r.tasks) != s.Submitted || done != s.Done || failed != s.Failed {
		fail("events: %d tasks, %d done, %d failed; Stats: %d, %d, %d", len(r.tasks), done, failed, s.Submitted, s.Done, s.Failed)
	}
}

// A Violation is a claim of a task while another waited that came first.
type Violation struct {
	Claim                atmo.Message
	Waiting              string
	Priority, WaitingFor int // the claimed task's priority, the waiting one's
}

func (v Violation) String() string {
	return fmt.Sprintf("claim of %s (priority %d) while %s (priority %d) waited", v.Claim.TaskID, v.Priority, v.Waiting, v.WaitingFor)
}

// Violations checks strict priorities (for a TaskManager whose aging is
// off): a task that a worker claims has no queued task of a higher
// priority, or of the same added before it, among those both claimable by
// the same workers (alike says which, by task name; nil for all). It gives
// the first three it finds.
func (r *Recorder) Violations(alike func(claimed, waiting string) bool) []Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	seqOf := func(id string) (n int) { fmt.Sscanf(id, "task-%d", &n); return n }
	queued := map[string]bool{}
	var out []Violation
	for _, m := range r.flow {
		id := m.TaskID
		switch m.Kind {
		case atmo.KindTaskAvailable:
			queued[id] = true
		case atmo.KindTaskDeleted:
			delete(queued, id)
		case atmo.KindTaskClaim:
			delete(queued, id)
			for y := range queued {
				if alike != nil && !alike(r.name[id], r.name[y]) {
					continue
				}
				p, py := r.priority[id], r.priority[y]
				if (py > p || py == p && seqOf(y) < seqOf(id)) && len(out) < 3 {
					out = append(out, Violation{Claim: m, Waiting: y, Priority: p, WaitingFor: py})
				}
			}
		}
	}
	return out
}

// Around gives the messages kept (KeepAll) from before messages ahead of
// seq to after messages past it.
func (r *Recorder) Around(seq uint64, before, after int) []atmo.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []atmo.Message
	for _, m := range r.all {
		if m.Seq+uint64(before) >= seq && m.Seq <= seq+uint64(after) {
			out = append(out, m)
		}
	}
	return out
}
