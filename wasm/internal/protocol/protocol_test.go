package protocol

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIDsReadAsTextWhetherSentAsStringsOrNumbers(t *testing.T) {
	assert.Equal(t, "task-7", IDText("task-7"))
	assert.Equal(t, "7", IDText(float64(7)), "a number from a hand-written peer")
	assert.Equal(t, "1.5", IDText(1.5))
	assert.Equal(t, "", IDText(nil), "no id")
	assert.Equal(t, "", IDText(true), "not an id")
}
