package atmo

import "time"

// clock is where the core gets time and timers, so that native tests can
// drive timeouts, restarts and the elastic pool on a fake clock.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

// clockBase is when the program started, by both clocks.
var clockBase = time.Now()

// Now reads only the monotonic clock: time.Now on js/wasm also reads the
// wall clock, a second call into JS, and the core takes the time three
// times per task, only ever to measure durations. (The wall time it gives
// is the start's plus the time since.)
func (realClock) Now() time.Time { return clockBase.Add(time.Since(clockBase)) }

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// stop stops a timer that may be nil.
func stop(s stopper) {
	if s != nil {
		s.Stop()
	}
}
