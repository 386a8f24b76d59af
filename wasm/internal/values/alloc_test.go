package values

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBytesToFillAreTheCallersAloneAndSurviveCollections(t *testing.T) {
	require.Empty(t, bytesToFill(0))
	for _, n := range []int{1, 100, 40 << 10, BigCopy} {
		a := bytesToFill(n)
		require.Len(t, a, n)
		require.Equal(t, n, cap(a), "no bytes past the length, which would hold the heap's old contents")
		for i := range a {
			a[i] = byte(i)
		}
		runtime.GC()
		b := bytesToFill(n)
		for i := range b {
			b[i] = 0xff
		}
		for i := range a {
			if a[i] != byte(i) {
				t.Fatalf("%d bytes: byte %d changed after a collection and a second slice", n, i)
			}
		}
		runtime.KeepAlive(b)
	}
}
