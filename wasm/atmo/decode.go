package atmo

import (
	"fmt"
	"strconv"

	"github.com/atmoworkers/atmo/wasm/internal/protocol"
)

// maxErrorLen bounds a worker's error text; longer ones are cut.
const maxErrorLen = 4096

// decodeInbound reads a message from a worker, already converted from JS
// (see fromJS): {message, taskId, workerId, content, error}. Anything else
// is an error, and the message is ignored and counted, never a panic.
func decodeInbound(v any) (inbound, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return inbound{}, fmt.Errorf("atmo: a worker message must be an object, got %T", v)
	}
	kind, ok := m["message"].(string)
	if !ok || kind == "" {
		return inbound{}, fmt.Errorf("atmo: a worker message needs a string `message` field")
	}
	in := inbound{kind: MessageKind(kind), content: m["content"], err: errorText(m["error"])}
	taskID := protocol.IDText(m["taskId"])
	in.task = seqOf(taskID)
	in.workerID = protocol.IDText(m["workerId"])
	if in.kind == KindWorkerResponse && taskID == "" {
		return inbound{}, fmt.Errorf("atmo: a worker-response needs a taskId")
	}
	return in, nil
}

// decodeInbounds reads a message that may be a batch: worker-response-batch
// carries {taskId, content, error} items, each read as a worker-response.
func decodeInbounds(v any) ([]inbound, error) {
	m, _ := v.(map[string]any)
	if m == nil || m["message"] != string(KindWorkerResponseBatch) {
		in, err := decodeInbound(v)
		if err != nil {
			return nil, err
		}
		return []inbound{in}, nil
	}
	items, ok := m["content"].([]any)
	if !ok {
		return nil, fmt.Errorf("atmo: a worker-response-batch needs an array as content")
	}
	out := make([]inbound, 0, len(items))
	for _, it := range items {
		item, _ := it.(map[string]any)
		if item == nil {
			item = map[string]any{}
		}
		// Items without a taskId decode with none; the pool ignores and counts them.
		out = append(out, inbound{kind: KindWorkerResponse, task: seqOf(protocol.IDText(item["taskId"])), content: item["content"], err: errorText(item["error"])})
	}
	return out, nil
}

// errorText turns the seed's `error` field into text: a string, an Error's
// message, or anything else printed. A falsy value means no error.
func errorText(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if !x {
			return ""
		}
		s = "true"
	case string:
		s = x
	case map[string]any:
		if msg, ok := x["message"].(string); ok && msg != "" {
			s = msg
		} else {
			s = fmt.Sprint(x)
		}
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "… (" + strconv.Itoa(len(s)) + " bytes, cut)"
	}
	return s
}
