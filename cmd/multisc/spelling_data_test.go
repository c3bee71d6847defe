package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCaptions(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "captions.txt")
	text := "a red car parked on the street\na man riding a wave on top of a surfboard\n" +
		"two dogs playing in the grass\na woman holding an umbrella in the rain\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSpellingData: the verb writes train/valid JSONL with the documented
// fields and a summary; the same seed gives the same bytes.
func TestSpellingData(t *testing.T) {
	caps := writeCaptions(t)
	run := func(out string) {
		_, stderr, code := runCLI(t, "spelling-data", "--captions", caps, "--out", out, "--snr", "2:4:10",
			"--channel", "awgn,rayleigh", "--mod", "qpsk,16qam", "--seed", "3", "--valid", "0.3")
		if code != 0 {
			t.Fatal(stderr)
		}
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	run(a)
	run(b)
	for _, name := range []string{"train.jsonl", "valid.jsonl", "summary.json"} {
		x, err1 := os.ReadFile(filepath.Join(a, name))
		y, err2 := os.ReadFile(filepath.Join(b, name))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between runs with the same seed (%v, %v)", name, err1, err2)
		}
	}
	data, _ := os.ReadFile(filepath.Join(a, "train.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var p struct {
		Input, Target, Channel, Modulation, Code *string
		SNR                                      *float64 `json:"snr_db"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil || p.Input == nil || p.Target == nil ||
		p.SNR == nil || p.Channel == nil || p.Modulation == nil || p.Code == nil {
		t.Fatalf("first pair %s lacks fields (%v)", lines[0], err)
	}
	var sum struct {
		Train, Valid int
		Rows         []struct{ Pairs, Written int }
	}
	raw, _ := os.ReadFile(filepath.Join(a, "summary.json"))
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Rows) != 3*2*2 || sum.Train != len(lines) {
		t.Errorf("summary %d rows (want 12), train %d (file has %d)", len(sum.Rows), sum.Train, len(lines))
	}
}

func TestSpellingDataBadInput(t *testing.T) {
	caps := writeCaptions(t)
	out := filepath.Join(t.TempDir(), "o")
	for _, tc := range []struct {
		args  []string
		frags []string
	}{
		{[]string{"--out", out}, []string{"--captions"}},
		{[]string{"--captions", "/nonexistent/c.txt", "--out", out}, []string{"/nonexistent/c.txt"}},
		{[]string{"--captions", caps, "--out", "/nonexistent/dir/o"}, []string{"--out"}},
		{[]string{"--captions", caps, "--out", out, "--mod", "8psk"}, []string{"8psk"}},
		{[]string{"--captions", caps, "--out", out, "--snr", "x"}, []string{"--snr"}},
		{[]string{"--captions", caps, "--out", out, "--valid", "2"}, []string{"--valid"}},
	} {
		_, stderr, code := runCLI(t, append([]string{"spelling-data"}, tc.args...)...)
		wantBadInput(t, stderr, code, tc.frags...)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: left %s behind", tc.args, out)
		}
	}
}
