package atmo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

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
	in.permanent, _ = m["permanent"].(bool)
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
// message (or its name, for an Error without one), or anything else as
// JSON. A falsy value (false, 0, NaN, "", null) means no error, as the seed
// read it: if (e.error).
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
	case float64:
		if x == 0 || x != x {
			return ""
		}
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		s = x
	case map[string]any:
		if msg, ok := x["message"].(string); ok && msg != "" {
			s = msg
		} else if name, ok := x["name"].(string); ok && name != "" && len(x) == 2 && x["message"] == "" {
			s = name // an Error without a message: new Error()
		} else {
			s = jsonText(x)
		}
	default:
		s = jsonText(x)
	}
	return cutError(s)
}

// cutError cuts an error text over maxErrorLen, on a character's edge,
// saying how long it was: a worker's `error`, and the text of an error it
// did not catch, which comes from the same worker.
func cutError(s string) string {
	if len(s) > maxErrorLen {
		end := maxErrorLen
		for end > 0 && !utf8.RuneStart(s[end]) {
			end-- // on a character's edge: the text stays valid UTF-8
		}
		s = s[:end] + "… (" + strconv.Itoa(len(s)) + " bytes, cut)"
	}
	return s
}

// failedText is the error text of an answer that JS already found failed
// (its error truthy, as the seed read it: if (e.error)): errorText, or, for
// a truthy JS object that reads as a falsy Go value (new Boolean(false), an
// invalid Date, which reads as nil), that value as JSON, never "", which
// would settle the failed task as a success with no content.
func failedText(v any) string {
	if s := errorText(v); s != "" {
		return s
	}
	return "the worker's error, a truthy JS object that reads as " + jsonText(v)
}

// jsonText is v as JSON, or printed where JSON cannot hold it.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
