//go:build !race

package turn

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The race detector perturbs the scheduler, so whether items share a turn
// is only checked without it.

func TestItemsAddedInOneTurnAreFlushedTogether(t *testing.T) {
	oneThread(t)
	r := newRecorder()
	b := New(r.flush)
	for i := range 5 {
		b.Add(i)
	}
	assert.False(t, b.Empty(), "nothing is flushed before the adding goroutine yields")
	<-r.flushed
	assert.Equal(t, [][]int{{0, 1, 2, 3, 4}}, r.got())
	assert.True(t, b.Empty())
}
