package atmo

import (
	"math"
	"slices"
	"time"
)

// Stats is a snapshot of a TaskManager: totals since it was created, the
// queue now, every worker, and latency percentiles over recent tasks.
type Stats struct {
	Submitted      int // tasks added
	Done           int // finished with a result
	Failed         int // finished with an error (any cause)
	Retried        int // re-runs after a crash, a timeout, or the close of the worker that ran it (TaskWorker.Close, its worker manager's Close)
	Canceled       int // cancelled (Cancel, a context, DeleteTask)
	TimedOut       int // runs past their timeout: a task retried after one counts once for each
	Rejected       int // refused with ErrQueueFull
	Crashed        int // worker crashes
	Restarted      int // worker restarts (after a crash, timeout, cancel grace or failed start), counted as the fresh thread starts
	Grown          int // workers started because tasks queued up (one whose start failed at once too)
	Released       int // workers closed after IdleTimeout
	Ignored        int // messages from workers that were ignored: malformed, unknown or late (for a task the worker had answered); what a stopped task (cancelled, timed out) or a terminated thread still sends is dropped, uncounted, unless it cannot be read at all (then which task it was for is not known either)
	CallbackPanics int // user callbacks and subscribers that panicked
	Queued         int // waiting for a worker now
	Running        int // running on a worker now

	Workers []WorkerStats

	// QueueWait is how long tasks waited for a worker; RunTime how long
	// they ran, of the runs their workers answered or threw from (a run
	// that timed out, was cancelled or crashed gives no length: see
	// TimedOut, Canceled, Crashed). Both over the last StatsWindow tasks.
	QueueWait, RunTime Percentiles
}

// WorkerStats describes one worker in Stats.
type WorkerStats struct {
	ID        string
	Kind      string // "js" or "go"
	Source    string // the script or module URL
	Tasks     []string
	Status    WorkerStatus
	Done      int // tasks answered
	Failed    int // of which with an error
	InFlight  int
	Capacity  int           // Concurrency
	Restarts  int           // times it was restarted (a restart its Close came before is none)
	Uptime    time.Duration // since its current thread became ready; 0 when not running
	LastError string
}

// Percentiles summarize durations.
type Percentiles struct {
	Count              int // samples in the window
	P50, P95, P99, Max time.Duration
}

// StatsWindow is how many recent tasks the percentiles cover.
const StatsWindow = 1024

type counters struct {
	submitted, done, failed, retried, canceled, timedOut, rejected int
	crashed, restarted, grown, released, ignored, callbackPanics   int
	queueWait, runTime                                             window
}

func (c *counters) init() {
	c.queueWait.samples = make([]time.Duration, 0, StatsWindow)
	c.runTime.samples = make([]time.Duration, 0, StatsWindow)
}

// window keeps the last StatsWindow durations: a fixed-size ring, so adding
// one costs O(1) and no allocation on the hot path.
type window struct {
	samples []time.Duration
	next    int
}

func (w *window) add(d time.Duration) {
	if len(w.samples) < cap(w.samples) {
		w.samples = append(w.samples, d)
		return
	}
	w.samples[w.next] = d
	w.next = (w.next + 1) % len(w.samples)
}

func (w *window) percentiles() Percentiles {
	n := len(w.samples)
	if n == 0 {
		return Percentiles{}
	}
	s := slices.Clone(w.samples)
	slices.Sort(s)
	// The nearest rank: the smallest sample that a share q of them are at
	// or below.
	at := func(q float64) time.Duration { return s[max(0, int(math.Ceil(q*float64(n)))-1)] }
	return Percentiles{Count: n, P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: s[n-1]}
}

// Stats returns a snapshot. It is cheap: counters kept as tasks go, plus a
// sort of the two windows.
func (tm *TaskManager) Stats() Stats {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	c := &tm.stats
	s := Stats{
		Submitted: c.submitted, Done: c.done, Failed: c.failed, Retried: c.retried, Canceled: c.canceled,
		TimedOut: c.timedOut, Rejected: c.rejected, Crashed: c.crashed, Restarted: c.restarted,
		Grown: c.grown, Released: c.released, Ignored: c.ignored, CallbackPanics: c.callbackPanics,
		Queued:    tm.queued,
		Running:   tm.tasks.len() - tm.queued,
		QueueWait: c.queueWait.percentiles(),
		RunTime:   c.runTime.percentiles(),
	}
	now := tm.clock.Now()
	for _, p := range tm.pools {
		for _, w := range p.workers {
			ws := WorkerStats{
				ID: w.id, Kind: w.Kind(), Source: w.source(), Tasks: w.Tasks(), Status: w.status,
				Done: w.done, Failed: w.failed, InFlight: len(w.inflight), Capacity: w.config.Concurrency,
				Restarts: w.restarts, LastError: w.lastErr,
			}
			if w.status == WorkerAvailable || w.status == WorkerWorking {
				ws.Uptime = now.Sub(w.since)
			}
			s.Workers = append(s.Workers, ws)
		}
	}
	return s
}
