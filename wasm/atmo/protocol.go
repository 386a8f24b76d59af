package atmo

import "github.com/atmoworkers/atmo/wasm/internal/protocol"

// MessageKind is the seed's `message` field: what a message is about.
type MessageKind string

// Task-side kinds: the claim flow inside the main thread, seen through Subscribe.
const (
	KindNewTask          MessageKind = "new-task"           // a task was added
	KindTaskAvailable    MessageKind = "task-available"     // a task is waiting for a capable worker
	KindTaskClaim        MessageKind = "task-claim"         // a worker asks for a task
	KindTaskClaimGranted MessageKind = "task-claim-granted" // the manager gives the task to that worker
	KindTaskUpdated      MessageKind = "task-updated"       // a task changed status
	KindTaskDeleted      MessageKind = "task-deleted"       // a task left the table
)

// Worker-side kinds: these also travel over postMessage to and from workers.
// The Go worker runtime reads the same names (wasm/internal/protocol).
const (
	KindInitWorker     MessageKind = protocol.InitWorker     // host → worker: your id and task names
	KindWorkerReady    MessageKind = protocol.WorkerReady    // worker → host: ready for work
	KindWorkerUpdated  MessageKind = "worker-updated"        // a worker changed status (Error says why when it closed)
	KindWorkerWork     MessageKind = protocol.WorkerWork     // host → worker: {name, params} to run
	KindWorkerResponse MessageKind = protocol.WorkerResponse // worker → host: content, or error

	// Extensions of the seed's protocol. Workers that do not know them ignore them.
	KindWorkerCancel   MessageKind = protocol.WorkerCancel   // host → worker: stop the task taskId
	KindWorkerProgress MessageKind = protocol.WorkerProgress // worker → host: a progress report for taskId
	KindWorkerExit     MessageKind = protocol.WorkerExit     // worker → host: the worker is about to die (go-worker.js sends it when the Go runtime exits; a hand-written worker may, before self.close()); error says why, and permanent: true, before worker-ready, that starting it again would fail the same way (it is then not restarted)

	// Batches, used only with workers whose worker-ready lists the "batch"
	// feature (the host lists it in init-worker): many tasks or answers in
	// one postMessage.
	KindWorkerWorkBatch     MessageKind = protocol.WorkerWorkBatch     // host → worker: content is [{taskId, name, params}]
	KindWorkerResponseBatch MessageKind = protocol.WorkerResponseBatch // worker → host: content is [{taskId, content | error}]
)

// Manager-only kinds, seen on the event stream.
const (
	// KindCallbackPanic reports that a user callback (OnSuccess, OnError,
	// OnProgress or a subscriber) panicked; Error holds the panic text.
	KindCallbackPanic MessageKind = "callback-panic"
)

// Message is one event of the claim flow, as Subscribe sees it: the seed's
// events$ stream. Seq increases by one per message of a TaskManager.
// A worker-response's or worker-progress's Content is the value the task's
// caller gets too (Do's result, OnSuccess's and OnProgress's Content), not
// a copy, which a large answer would make dear: read it, and copy what you
// keep, as a change the caller makes later shows in it.
type Message struct {
	Kind      MessageKind
	TaskID    string
	WorkerID  string
	ManagerID string
	Content   any
	Error     string
	Seq       uint64
}

// TaskStatus is where a task is in its life: new → working → done or failed.
type TaskStatus string

// Task statuses.
const (
	TaskNew     TaskStatus = "new"
	TaskWorking TaskStatus = "working"
	TaskDone    TaskStatus = "done"
	TaskFailed  TaskStatus = "failed"
)

// WorkerStatus is the state of one worker.
type WorkerStatus string

// Worker statuses.
const (
	WorkerOffline   WorkerStatus = "offline"   // starting, not ready yet
	WorkerAvailable WorkerStatus = "available" // ready for a task
	WorkerWorking   WorkerStatus = "working"   // running at least one task
	WorkerClosed    WorkerStatus = "closed"    // gone for good: closed, or failed to start
)
