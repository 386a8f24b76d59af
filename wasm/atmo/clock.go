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

func (realClock) Now() time.Time                              { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// stop stops a timer that may be nil.
func stop(s stopper) {
	if s != nil {
		s.Stop()
	}
}
