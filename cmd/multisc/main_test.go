package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs one command line in-process and returns stdout, stderr and the
// exit status.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// wantBadInput checks the bad-input contract: exit status 2 and exactly one
// line on stderr containing each of the given fragments.
func wantBadInput(t *testing.T, stderr string, code int, fragments ...string) {
	t.Helper()
	if code != 2 {
		t.Fatalf("exit status %d, want 2; stderr:\n%s", code, stderr)
	}
	if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
		t.Fatalf("stderr has %d lines, want 1:\n%s", n+1, stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(stderr, f) {
			t.Fatalf("stderr %q does not mention %q", stderr, f)
		}
	}
}

func TestDispatchErrors(t *testing.T) {
	tests := []struct {
		args      []string
		fragments []string
	}{
		{[]string{"nosuchverb"}, []string{"unknown command", "nosuchverb"}},
		{[]string{"version", "--nosuchflag"}, []string{"nosuchflag"}},
		{[]string{"version", "--log-level", "loud"}, []string{"--log-level"}},
		{[]string{"version", "--threads", "-1"}, []string{"--threads"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
}
