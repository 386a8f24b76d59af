//go:build js && wasm

package values

import (
	"runtime/debug"
	"runtime/metrics"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/require"
)

// collections counts the garbage collections so far.
func collections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestALargeCopyIntoGoIsCollectedAfterTheNextPostInsteadOfBeforeTheNextCopy(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // only the collections asked for
	bigCopy.due, bigCopy.collected = false, false
	u8 := js.Global().Get("Uint8Array").New(BigCopy)

	before := collections()
	require.Len(t, FromJS(u8), BigCopy)
	require.Equal(t, before+1, collections(), "a large copy with no post before it collects first")

	CollectAfterPost()
	require.Equal(t, before+2, collections(), "the post after it runs the collection it made due")
	CollectAfterPost()
	require.Equal(t, before+2, collections(), "once")

	require.Len(t, FromJS(u8), BigCopy)
	require.Equal(t, before+2, collections(), "the next large copy lands where the post's collection freed, without one of its own")

	require.Len(t, FromJS(u8), BigCopy)
	require.Equal(t, before+3, collections(), "two large copies with no post between: the second collects first")

	require.Len(t, FromJS(js.Global().Get("Uint8Array").New(BigCopy-1)), BigCopy-1)
	CollectAfterPost()
	require.Equal(t, before+4, collections(), "small copies leave a due collection due")
	CollectAfterPost()
	require.Equal(t, before+4, collections())

	garbage = make([]byte, BigCopy/2)
	garbage = nil
	require.Len(t, FromJS(u8), BigCopy)
	require.Equal(t, before+5, collections(), "the heap grew by half the copy since the post's collection: it collects again")
}

var garbage []byte
