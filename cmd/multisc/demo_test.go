package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/multisc/multisc/pipeline"
)

// TestDemo: the demo builds the tiny set in the user cache folder once,
// writes four records (two methods × two SNRs) and their images, reuses the
// set on a second run and gives the same records (timings aside).
func TestDemo(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	out := filepath.Join(t.TempDir(), "demo")
	stdout, stderr, code := runCLI(t, "demo", "--out", out, "--size", "32x32", "--steps", "2", "--threads", "1")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "writing a tiny model set") {
		t.Errorf("first run did not build the set: %s", stderr)
	}
	for _, want := range []string{"multisc-fusion", "vlm-csc", "random weights", "models pull"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	first := demoRecords(t, out)
	if len(first) != 4 {
		t.Fatalf("%d records, want 4", len(first))
	}
	for i, r := range first {
		if r.Error != "" || r.Metrics.Cosine == nil || r.Metrics.LPIPS == nil {
			t.Errorf("record %d: %+v", i, r)
		}
		if want := i%2 == 1; r.Reused != want {
			t.Errorf("record %d reused %v, want %v (one transmission per method)", i, r.Reused, want)
		}
	}
	for _, f := range []string{"input.png", "demo_multisc-fusion_0dB_recon.png", "demo_multisc-fusion_10dB_slice_rx.png", "demo_vlm-csc_10dB_captions.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	_, stderr, code = runCLI(t, "demo", "--out", out, "--size", "32x32", "--steps", "2", "--threads", "1")
	if code != 0 || !strings.Contains(stderr, "reusing the tiny model set") {
		t.Fatalf("second demo: exit %d: %s", code, stderr)
	}
	second := demoRecords(t, out)
	for i := range first {
		a, b := first[i], second[i]
		a.Seconds, b.Seconds, a.PeakRSS, b.PeakRSS = nil, nil, 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Errorf("record %d differs between runs:\n%+v\n%+v", i, a, b)
		}
	}
}

func demoRecords(t *testing.T, dir string) []pipeline.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "records.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []pipeline.Record
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestDemoBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "extra"}, "demo takes no arguments"},
		{[]string{"demo", "--steps", "-1"}, "--steps"},
		{[]string{"demo", "--size", "30x30"}, "--size"},
		{[]string{"demo", "--image", file}, file},
		{[]string{"demo", "--models", filepath.Join(file, "nope"), "--out", t.TempDir()}, "nope"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		wantBadInput(t, stderr, code, c.want)
	}
}
