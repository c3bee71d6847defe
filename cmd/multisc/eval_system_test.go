package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/multisc/multisc/pipeline"
)

// TestEvalOnTinySystem runs a real sweep on the tiny synthetic set (two
// images × two methods × AWGN × two SNRs), checks every row, then that
// `multisc run` with the sweep's dataset kind, seed and settings gives one
// of its rows (the same captions and metrics), and that the report's
// points are the rows' means.
func TestEvalOnTinySystem(t *testing.T) {
	dir := t.TempDir()
	set := systemSet(t, dir)
	imgs := filepath.Join(dir, "imgs")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	systemImage(t, filepath.Join(imgs, "a.png"))
	systemImage(t, filepath.Join(imgs, "b.png"))
	settings := []string{"--steps", "2", "--size", "32x32", "--seed", "3", "--caption-tokens", "6", "--beams", "1", "--threads", "1"}
	out := filepath.Join(dir, "sweep")
	args := append([]string{"eval", "--dataset", "folder", "--root", imgs, "--models", set, "--out", out,
		"--methods", "multisc-fusion,vlm-csc", "--channels", "awgn", "--snr", "0,10"}, settings...)
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	rows := readRows(t, filepath.Join(out, "rows.jsonl"))
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	reused := 0
	for _, r := range rows {
		if r.Error != "" {
			t.Fatalf("row %v: %s", r.Key(), r.Error)
		}
		if r.Metrics.Cosine == nil || r.Metrics.LPIPS == nil || r.Metrics.PSNR == nil || r.Metrics.SSIM == nil {
			t.Fatalf("row %v lacks a metric: %+v", r.Key(), r.Metrics)
		}
		if r.Reused {
			reused++
		}
	}
	// Each image × method transmits once: its second SNR reuses it.
	if reused != 4 {
		t.Errorf("%d rows reuse a transmission, want 4", reused)
	}
	// A resume of the finished sweep adds nothing; other settings are refused.
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if n := len(readRows(t, filepath.Join(out, "rows.jsonl"))); n != 8 {
		t.Fatalf("resume left %d rows, want 8", n)
	}
	other := append(append([]string(nil), args...), "--cfg", "3")
	if _, stderr, code := runCLI(t, other...); code != 2 || !strings.Contains(stderr, "--cfg differs") {
		t.Fatalf("resume with another --cfg: exit %d: %s", code, stderr)
	}

	// multisc run reproduces the row of b.png, multisc-fusion, 10 dB.
	var want pipeline.Record
	for _, r := range rows {
		if r.ImageID == "b" && r.Method == pipeline.MethodFusion && r.SNR == 10 {
			want = r
		}
	}
	runOut := filepath.Join(dir, "run")
	stdout, stderr, code := runCLI(t, append([]string{"run", filepath.Join(imgs, "b.png"), "--models", set, "--out", runOut,
		"--dataset", "folder", "--method", pipeline.MethodFusion, "--channel", "awgn", "--snr", "10", "--json"}, settings...)...)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	var got []pipeline.Record
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got) != 1 {
		t.Fatalf("run --json: %v: %s", err, stdout)
	}
	if got[0].Seed != want.Seed || !reflect.DeepEqual(got[0].Captions, want.Captions) || !reflect.DeepEqual(got[0].Metrics, want.Metrics) {
		t.Errorf("run differs from the eval row:\nrun  seed %d %+v %+v\neval seed %d %+v %+v", got[0].Seed, got[0].Captions, got[0].Metrics,
			want.Seed, want.Captions, want.Metrics)
	}

	// The report's points are the rows' means.
	if _, stderr, code := runCLI(t, "eval", "report", out); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	f, err := os.Open(filepath.Join(out, "report", "points.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("points.csv: %v (%d lines)", err, len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	checked := 0
	for _, rec := range recs[1:] {
		if rec[col["metric"]] != "cosine" {
			continue
		}
		snr, _ := strconv.ParseFloat(rec[col["snr_db"]], 64)
		mean, _ := strconv.ParseFloat(rec[col["mean"]], 64)
		sum, n := 0.0, 0
		for _, r := range rows {
			if r.Method == rec[col["method"]] && r.SNR == snr {
				sum += *r.Metrics.Cosine
				n++
			}
		}
		if n != 2 || math.Abs(sum/float64(n)-mean) > 1e-9 {
			t.Errorf("points.csv %v: mean %v, rows give %v over %d", rec, mean, sum/float64(n), n)
		}
		checked++
	}
	if checked != 4 {
		t.Errorf("points.csv has %d cosine points, want 4", checked)
	}
}

func readRows(t *testing.T, path string) []pipeline.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []pipeline.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r pipeline.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, r)
	}
	return rows
}
