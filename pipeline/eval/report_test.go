package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func TestReport(t *testing.T) {
	root := writeImages(t, 4)
	os.WriteFile(filepath.Join(root, "img00x.png"), []byte("broken"), 0o644) // 5th image: error rows
	dir := filepath.Join(t.TempDir(), "sweep")
	mustSweep(t, root, dir, testParams, Shard{}, &fakeRunner{})
	out := filepath.Join(t.TempDir(), "report")
	rep, written, err := WriteReport(out, dir)
	if err != nil {
		t.Fatal(err)
	}
	per := len(testParams.Methods) * len(testParams.Channels) * len(testParams.SNRs)
	if rep.Rows != 5*per || rep.ErrorRows != per {
		t.Errorf("report counts %d rows, %d errors; want %d, %d", rep.Rows, rep.ErrorRows, 5*per, per)
	}

	// The means, computed here straight from the JSONL.
	type gk struct {
		ch, m, metric string
		snr           float64
	}
	vals := map[gk][]float64{}
	gen := map[string][]float64{}
	for _, r := range readJSONL(t, filepath.Join(dir, "rows.jsonl")) {
		if r.Error != "" {
			continue
		}
		vals[gk{r.Channel, r.Method, "cosine", r.SNR}] = append(vals[gk{r.Channel, r.Method, "cosine", r.SNR}], *r.Metrics.Cosine)
		vals[gk{r.Channel, r.Method, "lpips", r.SNR}] = append(vals[gk{r.Channel, r.Method, "lpips", r.SNR}], *r.Metrics.LPIPS)
		gen[r.Method] = append(gen[r.Method], r.Seconds["generate"])
	}
	const t3 = 3.182446305 // t(0.975, 3): four images per point
	points := readCSV(t, filepath.Join(out, "points.csv"))
	if strings.Join(points[0], ",") != "figure,dataset,channel,metric,method,snr_db,n,mean,ci95" {
		t.Fatalf("points.csv header %v", points[0])
	}
	if len(points)-1 != len(vals) {
		t.Errorf("points.csv has %d points, want %d", len(points)-1, len(vals))
	}
	for _, p := range points[1:] {
		snr, _ := strconv.ParseFloat(p[5], 64)
		xs := vals[gk{p[2], p[4], p[3], snr}]
		if len(xs) != 4 {
			t.Fatalf("point %v: %d values from the JSONL", p, len(xs))
		}
		mean, ss := 0.0, 0.0
		for _, x := range xs {
			mean += x / 4
		}
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		ci := t3 * math.Sqrt(ss/3) / 2
		gotMean, _ := strconv.ParseFloat(p[7], 64)
		gotCI, _ := strconv.ParseFloat(p[8], 64)
		if p[6] != "4" || math.Abs(gotMean-mean) > 1e-12 || math.Abs(gotCI-ci) > 1e-8*ci {
			t.Errorf("point %v: want n 4, mean %v, ci95 %v", p, mean, ci)
		}
		if want := FigureName(p[3], "folder", p[2]); p[0] != want || p[1] != "folder" {
			t.Errorf("point %v: figure %s", p, want)
		}
	}

	// Figures: one per plotted metric × channel, PNG and SVG.
	for _, m := range PlottedMetrics {
		for _, ch := range testParams.Channels {
			base := filepath.Join(out, FigureName(m, "folder", ch))
			f, err := os.Open(base + ".png")
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(f)
			f.Close()
			if err != nil || img.Bounds().Dx() < 100 {
				t.Errorf("%s.png: %v", base, err)
			}
			svg, err := os.ReadFile(base + ".svg")
			if err != nil || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte(pipeline.MethodVLMCSC)) {
				t.Errorf("%s.svg: %v (no <svg> or no legend)", base, err)
			}
		}
	}
	if len(written) != len(ReportFiles)+2*len(PlottedMetrics)*len(testParams.Channels) {
		t.Errorf("wrote %d files: %v", len(written), written)
	}

	// means.csv: every metric present, error rows counted.
	means := readCSV(t, filepath.Join(out, "means.csv"))
	metrics := map[string]int{}
	for _, r := range means[1:] {
		metrics[r[4]]++
		if r[9] != "5" || r[10] != "1" || r[5] != "4" {
			t.Errorf("means.csv row %v: want rows 5, error_rows 1, n 4", r)
		}
	}
	for _, m := range []string{"cosine", "lpips", "psnr", "bleu_received"} {
		if metrics[m] != 12 {
			t.Errorf("means.csv has %d %s rows, want 12", metrics[m], m)
		}
	}
	if metrics["ssim"] != 0 {
		t.Error("means.csv has ssim, which no row has")
	}
	if md, _ := os.ReadFile(filepath.Join(out, "means.md")); !bytes.Contains(md, []byte("## folder, rayleigh")) || !bytes.Contains(md, []byte(" ± ")) ||
		!bytes.Contains(md, []byte("| method | SNR (dB) | n | errors | cosine similarity | LPIPS | PSNR (dB) | BLEU received |\n")) {
		t.Errorf("means.md:\n%s", md)
	}

	// Table II: mean seconds per stage, total last.
	t2 := readCSV(t, filepath.Join(out, "table2.csv"))
	if strings.Join(t2[0], ",") != "dataset,method,rows,caption,generate,total" || len(t2) != 3 {
		t.Fatalf("table2.csv:\n%v", t2)
	}
	for _, r := range t2[1:] {
		xs := gen[r[1]]
		want := 0.0
		for _, x := range xs {
			want += x / float64(len(xs))
		}
		got, _ := strconv.ParseFloat(r[4], 64)
		if r[2] != strconv.Itoa(len(xs)) || math.Abs(got-want) > 1e-12 || r[5] != "3" {
			t.Errorf("table2 row %v: want rows %d, generate %v, total 3", r, len(xs), want)
		}
	}
	if md, _ := os.ReadFile(filepath.Join(out, "table2.md")); !bytes.Contains(md, []byte("| folder | multisc-fusion | 24 |")) {
		t.Errorf("table2.md:\n%s", md)
	}
	if errs := readCSV(t, filepath.Join(out, "errors.csv")); len(errs) != per+1 || errs[1][1] != "img00x" {
		t.Errorf("errors.csv: %v", errs)
	}

	// A sharded sweep's folder gives the same report without a merge.
	shDir := filepath.Join(t.TempDir(), "sh")
	mustSweep(t, root, shDir, testParams, Shard{2, 2}, &fakeRunner{})
	mustSweep(t, root, shDir, testParams, Shard{1, 2}, &fakeRunner{})
	shOut := t.TempDir()
	if _, _, err := WriteReport(shOut, shDir); err != nil {
		t.Fatal(err)
	}
	for _, name := range ReportFiles {
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, _ := os.ReadFile(filepath.Join(shOut, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s of the sharded sweep differs from the unsharded one", name)
		}
	}
}

func TestReportRefusals(t *testing.T) {
	empty := t.TempDir()
	if _, _, err := WriteReport(t.TempDir(), empty); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("empty folder: %v", err)
	}
	if _, _, err := WriteReport(t.TempDir(), filepath.Join(empty, "nope")); err == nil || !strings.Contains(err.Error(), "no such sweep folder") {
		t.Errorf("missing folder: %v", err)
	}
}

func TestReportTwoDatasets(t *testing.T) {
	folder := writeImages(t, 2)
	kodak := t.TempDir()
	src := writeImages(t, 1)
	b, _ := os.ReadFile(filepath.Join(src, "img00.png"))
	for i := 1; i <= dataset.KodakCount; i++ {
		os.WriteFile(filepath.Join(kodak, fmt.Sprintf("kodim%02d.png", i)), b, 0o644)
	}
	d1, d2 := filepath.Join(t.TempDir(), "f"), filepath.Join(t.TempDir(), "k")
	mustSweep(t, folder, d1, testParams, Shard{}, &fakeRunner{})
	ds, err := dataset.OpenKodak(kodak, dataset.Options{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := testParams
	p.Limit = 3
	s, err := New(ds, p, Shard{}, d2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background(), &fakeRunner{}, nil); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rep, _, err := WriteReport(out, d1, d2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 5*12 || len(rep.Timings) != 4 {
		t.Errorf("%d rows, %d Table II rows; want 60 and 4 (2 datasets × 2 methods)", rep.Rows, len(rep.Timings))
	}
	for _, name := range []string{"cosine_folder_awgn.png", "cosine_kodak_rayleigh.svg", "lpips_kodak_awgn.png"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	t2 := readCSV(t, filepath.Join(out, "table2.csv"))
	if t2[1][0] != "folder" || t2[3][0] != "kodak" || t2[3][2] != "18" {
		t.Errorf("table2.csv: %v", t2)
	}
}

func TestMergeOutputFolder(t *testing.T) {
	root := writeImages(t, 2)
	sh := filepath.Join(t.TempDir(), "sh")
	mustSweep(t, root, sh, testParams, Shard{1, 2}, &fakeRunner{})
	// --out already holds shard 2 of the same sweep: its rows join the union.
	out := filepath.Join(t.TempDir(), "out")
	mustSweep(t, root, out, testParams, Shard{2, 2}, &fakeRunner{})
	ms, err := Merge(out, sh)
	if err != nil || ms.Rows != 24 || ms.Files != 2 {
		t.Fatalf("merge into a folder with the other shard: %+v, %v", ms, err)
	}
	// --out holding another sweep is refused and left alone.
	other := filepath.Join(t.TempDir(), "other")
	p := testParams
	p.SNRs = []float64{1}
	mustSweep(t, root, other, p, Shard{}, &fakeRunner{})
	before := snapshot(t, other)
	if _, err := Merge(other, sh); !badinput.Is(err) || !strings.Contains(err.Error(), "--snr") {
		t.Fatalf("merge into another sweep's folder: %v", err)
	}
	if snapshot(t, other) != before {
		t.Error("refused merge changed the folder")
	}
}
