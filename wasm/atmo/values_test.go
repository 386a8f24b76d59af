package atmo

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Z int `json:"z"`
}

type sample struct {
	inner
	Name    string           `json:"name"`
	Skip    string           `json:"-"`
	Empty   []int            `json:"empty,omitempty"`
	Tags    map[string]uint8 `json:"tags"`
	Blob    []byte           `json:"blob"`
	Ptr     *int             `json:"ptr"`
	When    time.Time        `json:"when"`
	ByInt   map[int]string   `json:"byInt"`
	private int
	Plain   float32
}

func TestParamsFollowJSONTagsAndKeepBytes(t *testing.T) {
	seven := 7
	got, err := normalize(sample{
		inner: inner{Z: 1}, Name: "n", Skip: "x", Tags: map[string]uint8{"a": 2}, Blob: []byte{9},
		Ptr: &seven, When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ByInt: map[int]string{3: "c"}, Plain: 1.5,
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"z": 1.0, "name": "n", "tags": map[string]any{"a": 2.0}, "blob": []byte{9}, "ptr": 7.0,
		"when": "2026-01-02T03:04:05Z", "byInt": map[string]any{"3": "c"}, "Plain": 1.5,
	}, got)
}

func TestUnsendableParamsNameWhereTheyAre(t *testing.T) {
	_, err := normalize(map[string]any{"a": []any{1, map[string]any{"f": func() {}}}})
	require.ErrorIs(t, err, ErrBadParams)
	assert.Contains(t, err.Error(), "params.a[1].f is a func()")
}

func TestDecodeInboundAcceptsTheSeedShapes(t *testing.T) {
	in, err := decodeInbound(map[string]any{"message": "worker-response", "taskId": "task-1", "workerId": "worker-2", "content": 3.0})
	require.NoError(t, err)
	assert.Equal(t, inbound{kind: KindWorkerResponse, task: 1, workerID: "worker-2", content: 3.0}, in)
	in, err = decodeInbound(map[string]any{"message": "worker-response", "taskId": "task-1", "error": map[string]any{"message": "bad"}})
	require.NoError(t, err)
	assert.Equal(t, "bad", in.err)
	for _, bad := range []any{nil, "text", 3.0, []any{}, map[string]any{}, map[string]any{"message": 1.0}, map[string]any{"message": "worker-response"}} {
		_, err := decodeInbound(bad)
		assert.Error(t, err, "%#v", bad)
	}
	long := make([]byte, 10000)
	in, _ = decodeInbound(map[string]any{"message": "worker-response", "taskId": "t", "error": string(long)})
	assert.Less(t, len(in.err), 4200)
}

func TestAWorkersErrorFieldReadsAsTheSeedReadIt(t *testing.T) {
	for v, want := range map[any]string{
		// falsy: no error (if (e.error))
		nil: "", false: "", 0.0: "", "": "",
		// truthy: the text a user can read
		true: "true", 42.0: "42", "bad": "bad",
	} {
		assert.Equal(t, want, errorText(v), "%#v", v)
	}
	assert.Empty(t, errorText(math.NaN()))
	assert.Equal(t, "bad", errorText(map[string]any{"name": "TypeError", "message": "bad"}))
	assert.Equal(t, "Error", errorText(map[string]any{"name": "Error", "message": ""}), "new Error(): its name")
	assert.Equal(t, `{"code":42}`, errorText(map[string]any{"code": 42.0}), "anything else as JSON")
	assert.Equal(t, `["a",1]`, errorText([]any{"a", 1.0}))

	long := strings.Repeat("a", maxErrorLen-1) + "é and more" // é straddles the cut
	cut := errorText(long)
	assert.True(t, utf8.ValidString(cut), "cut on a character's edge, not inside it")
	assert.True(t, strings.HasPrefix(cut, strings.Repeat("a", maxErrorLen-1)+"… ("))
	assert.True(t, strings.HasSuffix(cut, " bytes, cut)"))
}

// FuzzDecodeInbound feeds decodeInbound shapes a hostile worker could send;
// it must never panic. The seed corpus is in testdata/fuzz.
func FuzzDecodeInbound(f *testing.F) {
	f.Add("worker-response", "task-1", "w", "content", "", 1.0, true)
	f.Add("worker-ready", "", "", "", "", 0.0, false)
	f.Add("", "", "", "", "boom", -1.0, true)
	f.Fuzz(func(t *testing.T, kind, taskID, workerID, content, errText string, num float64, useNum bool) {
		m := map[string]any{"message": kind, "taskId": taskID, "workerId": workerID, "content": content}
		if errText != "" {
			m["error"] = errText
		}
		if useNum {
			m["taskId"] = num
			m["error"] = map[string]any{"message": num}
		}
		_, _ = decodeInbound(m)
		_, _ = decodeInbound(content)
		_, _ = decodeInbounds(m)
		_, _ = decodeInbounds(map[string]any{"message": "worker-response-batch", "content": []any{m, content, nil}})
	})
}
