package main

import (
	"errors"
	"io"
)

func generateCmd(args []string, stdout, stderr io.Writer) error {
	return errors.New("generate-worker is not written yet")
}
