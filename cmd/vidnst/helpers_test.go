package main

import (
	"testing"

	"github.com/vidnst/vidnst/stylize"
)

func newSession(t *testing.T, model string, w, h int) *stylize.Session {
	t.Helper()
	if err := stylize.Init(""); err != nil {
		t.Fatal(err)
	}
	s, err := stylize.New(model, stylize.Options{Width: w, Height: h, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
