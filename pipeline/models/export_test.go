package models

import (
	"context"
	"testing"
)

// PullAllFromLoopback pulls every role from the loopback hub of the pull
// tests (the publishers' layouts, tiny seeded weights) and returns the
// models folder: for the external test that runs the system on it.
func PullAllFromLoopback(t *testing.T) string {
	t.Helper()
	h, cat := newHub(t)
	o := h.opts(t, cat)
	if _, err := Pull(context.Background(), nil, o); err != nil {
		t.Fatal(err)
	}
	return o.Out
}
