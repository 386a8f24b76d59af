// Package protocol is the seed's wire protocol between a host and its
// workers, as both ends of this module speak it: the main-thread API
// (wasm/atmo, which names these kinds publicly as atmo.MessageKind) and the
// Go worker runtime (wasm/worker), which must agree on every name and which
// cannot import atmo without carrying it into every worker module.
package protocol

import "strconv"

// The `message` field of what travels over postMessage.
const (
	InitWorker     = "init-worker"     // host → worker: your id and task names
	WorkerReady    = "worker-ready"    // worker → host: ready for work
	WorkerWork     = "worker-work"     // host → worker: {name, params} to run
	WorkerResponse = "worker-response" // worker → host: content, or error

	// Extensions of the seed's protocol. Workers that do not know them ignore them.
	WorkerCancel   = "worker-cancel"   // host → worker: stop the task taskId
	WorkerProgress = "worker-progress" // worker → host: a progress report for taskId
	WorkerExit     = "worker-exit"     // worker → host: the worker is about to die; error says why

	// Batches, used only when both sides list FeatureBatch: many tasks or
	// answers in one postMessage.
	WorkerWorkBatch     = "worker-work-batch"     // host → worker: content is [{taskId, name, params}]
	WorkerResponseBatch = "worker-response-batch" // worker → host: content is [{taskId, content | error}]
)

// FeatureBatch is the feature, listed by the host in init-worker and by the
// worker in worker-ready, that allows the batch messages.
const FeatureBatch = "batch"

// FeatureStop is the feature, listed by a worker in worker-ready, that
// says it stops a task's handler on worker-cancel and answers only once the
// handler has ended: the host then asks it to stop a task past its timeout,
// rather than terminating it at once. ("cancel", which workers listed
// before, answered worker-cancel at once, with the handler still running.)
const FeatureStop = "stop"

// FeatureCatch is the feature, listed by a worker in worker-ready, that
// says it answers a handler's throw itself, as that task's error: an
// uncaught error from it (an error event) has escaped its handlers (a
// timer's, a listener's), is no task's outcome, and the host handles it as
// a crash. Of a worker that does not list it, an uncaught error while one
// task runs is that task's, as the seed's workers throw from onmessage.
const FeatureCatch = "catch"

// IDText reads an id off the wire: a string, or a number, which a
// hand-written peer may send. Anything else reads as no id.
func IDText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
