package atmo

import (
	"fmt"
	"strconv"
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
	in.taskID = idText(m["taskId"])
	in.workerID = idText(m["workerId"])
	if in.kind == KindWorkerResponse && in.taskID == "" {
		return inbound{}, fmt.Errorf("atmo: a worker-response needs a taskId")
	}
	return in, nil
}

func idText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
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
