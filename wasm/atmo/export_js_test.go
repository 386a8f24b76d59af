package atmo

import "time"

// What the browser tests (package atmo_test) may reach inside.

// SetModuleLinger sets how long an unused compiled module stays cached and
// returns a function that restores it.
func SetModuleLinger(d time.Duration) (restore func()) {
	old := moduleLinger
	moduleLinger = d
	return func() { moduleLinger = old }
}

// GoModuleCached says whether the compiled module of url is cached.
func GoModuleCached(url string) bool {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	return goModules.cache[url] != nil
}
