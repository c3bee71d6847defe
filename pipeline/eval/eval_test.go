package eval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
)

// fakeRunner gives deterministic rows from the seeds and counts its calls.
// Transmission is an empty placeholder, so the fake remembers the last
// request: the sweep calls Row only on the transmission it just made.
type fakeRunner struct {
	mu        sync.Mutex
	last      pipeline.TransmitRequest
	transmits int
	rows      int
	sleep     time.Duration
	// captionOnce gives the "caption" seconds only in the first row after
	// a Transmit (a runner that leaves reused rows' transmitter stages out).
	captionOnce bool
	sinceTx     int
	// failTransmit returns an error for an image id (nil: none).
	failTransmit func(id string) error
	failRow      func(ch string, snr float64) error
}

func (f *fakeRunner) Transmit(req pipeline.TransmitRequest) (*pipeline.Transmission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transmits++
	if f.failTransmit != nil {
		if err := f.failTransmit(req.ImageID); err != nil {
			return nil, err
		}
	}
	if req.Image == nil {
		return nil, errors.New("no image")
	}
	f.last = req
	f.sinceTx = 0
	return &pipeline.Transmission{}, nil
}

func unit(seed uint64, shift uint) float64 { return float64((seed>>shift)&0xffff) / 65536 }

func (f *fakeRunner) Row(tx *pipeline.Transmission, ch string, snr float64, seed uint64) (pipeline.Record, error) {
	time.Sleep(f.sleep)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows++
	if f.failRow != nil {
		if err := f.failRow(ch, snr); err != nil {
			return pipeline.Record{}, err
		}
	}
	req := f.last
	cos := 0.5 + 0.4*unit(seed, 0) + 0.005*snr
	lp := 0.6 - 0.3*unit(seed, 16) - 0.005*snr
	ps := 10 + 10*unit(seed, 32)
	bl := unit(seed, 48)
	b := req.Image.Bounds()
	f.sinceTx++
	secs := map[string]float64{"caption": 0.5 + unit(req.Seed, 0), "generate": 2 + unit(seed, 8), "total": 3}
	if f.captionOnce && f.sinceTx > 1 {
		delete(secs, "caption")
	}
	return pipeline.Record{
		Version: pipeline.RecordVersion, Dataset: req.Dataset, ImageID: req.ImageID, Image: req.Path,
		Width: b.Dx(), Height: b.Dy(), Method: req.Method, Channel: ch, SNR: snr, Seed: seed, Blocks: 1,
		Captions: []pipeline.CaptionRecord{{Sent: fmt.Sprintf("tx seed %d", req.Seed), Received: "r", Corrected: "c"}},
		Metrics:  pipeline.Metrics{Cosine: &cos, LPIPS: &lp, PSNR: &ps, BLEUReceived: &bl, Embedder: "fake"},
		Seconds:  secs,
		PeakRSS:  1 << 20,
	}, nil
}

// writeImages makes a folder of n small PNG images img00.png … and returns it.
func writeImages(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 8+i, 8))
		for j := range img.Pix {
			img.Pix[j] = uint8(j*7 + i)
		}
		img.Set(0, 0, color.RGBA{255, 0, 0, 255})
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("img%02d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

var testParams = Params{
	Methods:  []string{pipeline.MethodFusion, pipeline.MethodVLMCSC},
	Channels: []string{"awgn", "rayleigh"},
	SNRs:     []float64{0, 6, 12},
	Seed:     7,
}

// sweep plans and runs a sweep of the folder root into out.
func sweep(t testing.TB, root, out string, p Params, shard Shard, r Runner) (Summary, error) {
	t.Helper()
	ds, err := dataset.OpenFolder(root, dataset.Options{Limit: p.Limit})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ds, p, shard, out)
	if err != nil {
		return Summary{}, err
	}
	return s.Run(context.Background(), r, nil)
}

func mustSweep(t testing.TB, root, out string, p Params, shard Shard, r Runner) Summary {
	t.Helper()
	sum, err := sweep(t, root, out, p, shard, r)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// readJSONL reads a rows file strictly (every line must parse).
func readJSONL(t testing.TB, path string) []pipeline.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []pipeline.Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r pipeline.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// canonical is the rows file's content with timing fields zeroed.
func canonical(t testing.TB, path string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range readJSONL(t, path) {
		b.Write(CanonicalJSON(r))
		b.WriteByte('\n')
	}
	return b.String()
}

func noDuplicates(t testing.TB, rows []pipeline.Record) {
	t.Helper()
	seen := map[pipeline.Key]bool{}
	for _, r := range rows {
		if seen[r.Key()] {
			t.Fatalf("row %v twice", r.Key())
		}
		seen[r.Key()] = true
	}
}

func TestSweepOrderSeedsAndReuse(t *testing.T) {
	root := writeImages(t, 3)
	out := filepath.Join(t.TempDir(), "sweep")
	f := &fakeRunner{}
	sum := mustSweep(t, root, out, testParams, Shard{}, f)
	nImg, nM, nC, nS := 3, len(testParams.Methods), len(testParams.Channels), len(testParams.SNRs)
	if f.transmits != nImg*nM || sum.Transmits != nImg*nM {
		t.Errorf("%d transmits (summary %d), want one per image × method = %d", f.transmits, sum.Transmits, nImg*nM)
	}
	if f.rows != nImg*nM*nC*nS || sum.Computed != f.rows || sum.Rows != f.rows || sum.Skipped != 0 {
		t.Errorf("rows: runner %d, summary %+v; want %d", f.rows, sum, nImg*nM*nC*nS)
	}
	rows := readJSONL(t, filepath.Join(out, "rows.jsonl"))
	i := 0
	for im := range nImg {
		id := fmt.Sprintf("img%02d", im)
		for _, m := range testParams.Methods {
			for ci, ch := range testParams.Channels {
				for si, snr := range testParams.SNRs {
					r := rows[i]
					i++
					k := pipeline.Key{Dataset: "folder", ImageID: id, Method: m, Channel: ch, SNR: snr}
					if r.Key() != k {
						t.Fatalf("row %d is %v, want %v (plan order image → method → channel → SNR)", i-1, r.Key(), k)
					}
					if want := pipeline.RowSeed(7, k); r.Seed != want {
						t.Errorf("row %v seed %d, want RowSeed %d", k, r.Seed, want)
					}
					if want := fmt.Sprintf("tx seed %d", pipeline.TransmitSeed(7, "folder", id, m)); r.Captions[0].Sent != want {
						t.Errorf("row %v: transmit request had %q, want %q", k, r.Captions[0].Sent, want)
					}
					if wantReused := ci+si > 0; r.Reused != wantReused {
						t.Errorf("row %v: Reused %v, want %v", k, r.Reused, wantReused)
					}
					if r.Width != 8+im || r.Error != "" {
						t.Errorf("row %v: width %d error %q", k, r.Width, r.Error)
					}
				}
			}
		}
	}
	if i != len(rows) {
		t.Errorf("%d rows in the file, want %d", len(rows), i)
	}
	// Running again computes nothing.
	f2 := &fakeRunner{}
	sum2 := mustSweep(t, root, out, testParams, Shard{}, f2)
	if f2.transmits != 0 || f2.rows != 0 || sum2.Skipped != len(rows) || sum2.Computed != 0 {
		t.Errorf("second run of a finished sweep: %d transmits, %d rows, summary %+v", f2.transmits, f2.rows, sum2)
	}
	if got := readJSONL(t, filepath.Join(out, "rows.jsonl")); len(got) != len(rows) {
		t.Errorf("finished sweep grew from %d to %d rows", len(rows), len(got))
	}
}

func TestTransmitSecondsCopied(t *testing.T) {
	root := writeImages(t, 2)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustSweep(t, root, a, testParams, Shard{}, &fakeRunner{})
	mustSweep(t, root, b, testParams, Shard{}, &fakeRunner{captionOnce: true})
	ra, rb := readJSONL(t, filepath.Join(a, "rows.jsonl")), readJSONL(t, filepath.Join(b, "rows.jsonl"))
	for i := range ra {
		if ra[i].Seconds["caption"] != rb[i].Seconds["caption"] || ra[i].Seconds["caption"] == 0 {
			t.Fatalf("row %v: caption seconds %v, want %v copied from the transmission's first row", rb[i].Key(), rb[i].Seconds, ra[i].Seconds["caption"])
		}
	}
}

// nanRunner gives a row with an infinite PSNR and a NaN SSIM.
type nanRunner struct{ fakeRunner }

func (n *nanRunner) Row(tx *pipeline.Transmission, ch string, snr float64, seed uint64) (pipeline.Record, error) {
	r, err := n.fakeRunner.Row(tx, ch, snr, seed)
	inf, nan := math.Inf(1), math.NaN()
	r.Metrics.PSNR, r.Metrics.SSIM = &inf, &nan
	r.Seconds["link"] = nan
	return r, err
}

func TestNonFiniteMetrics(t *testing.T) {
	root := writeImages(t, 1)
	out := filepath.Join(t.TempDir(), "s")
	sum := mustSweep(t, root, out, testParams, Shard{}, &nanRunner{})
	if sum.Computed != 12 {
		t.Fatalf("summary %+v", sum)
	}
	for _, r := range readJSONL(t, filepath.Join(out, "rows.jsonl")) {
		if r.Metrics.PSNR != nil || r.Metrics.SSIM != nil || r.Metrics.Cosine == nil {
			t.Fatalf("row %v: non-finite metrics kept or finite ones dropped: %+v", r.Key(), r.Metrics)
		}
		if _, ok := r.Seconds["link"]; ok || r.Seconds["total"] != 3 {
			t.Fatalf("row %v: seconds %v", r.Key(), r.Seconds)
		}
	}
}

func TestNoReuseSameRows(t *testing.T) {
	root := writeImages(t, 2)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustSweep(t, root, a, testParams, Shard{}, &fakeRunner{})
	ds, _ := dataset.OpenFolder(root, dataset.Options{})
	s, err := New(ds, testParams, Shard{}, b)
	if err != nil {
		t.Fatal(err)
	}
	s.NoReuse = true
	f := &fakeRunner{}
	sum, err := s.Run(context.Background(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.transmits != f.rows || sum.Transmits != 24 {
		t.Errorf("NoReuse: %d transmits for %d rows", f.transmits, f.rows)
	}
	for _, r := range readJSONL(t, filepath.Join(b, "rows.jsonl")) {
		if r.Reused {
			t.Fatalf("NoReuse row %v marked Reused", r.Key())
		}
	}
	if canonical(t, filepath.Join(a, "rows.jsonl")) != canonical(t, filepath.Join(b, "rows.jsonl")) {
		t.Error("NoReuse changed the rows")
	}
}

func TestForeignRowsRefused(t *testing.T) {
	root := writeImages(t, 2)
	out := filepath.Join(t.TempDir(), "s")
	mustSweep(t, root, out, testParams, Shard{1, 2}, &fakeRunner{})
	path := filepath.Join(out, "rows-1-of-2.jsonl")
	good, _ := os.ReadFile(path)
	first := good[:bytes.IndexByte(good, '\n')+1]
	var other pipeline.Record
	json.Unmarshal(first, &other)
	other.ImageID = "img01" // shard 2's image
	ob, _ := json.Marshal(other)
	tests := []struct {
		name, content, frag string
	}{
		{"duplicate", string(good) + string(first), "twice"},
		{"other shard's image", string(good) + string(ob) + "\n", "not part of this sweep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(path, []byte(tc.content), 0o644)
			f := &fakeRunner{}
			_, err := sweep(t, root, out, testParams, Shard{1, 2}, f)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.frag) || f.rows > 0 {
				t.Fatalf("%v; want a bad-input error with %q and no rows computed", err, tc.frag)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Error("the rows file was changed")
			}
		})
	}
}

func TestSameShardTwiceAtOnce(t *testing.T) {
	root := writeImages(t, 1)
	out := filepath.Join(t.TempDir(), "s")
	ds, _ := dataset.OpenFolder(root, dataset.Options{})
	s1, err := New(ds, testParams, Shard{}, out)
	if err != nil {
		t.Fatal(err)
	}
	// The second run starts while the first is in its first row.
	var second error
	f := &fakeRunner{failRow: func(string, float64) error {
		if second == nil {
			_, second = sweep(t, root, out, testParams, Shard{}, &fakeRunner{})
			if second == nil {
				second = errors.New("no error")
			}
		}
		return nil
	}}
	if _, err := s1.Run(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	if !badinput.Is(second) || !strings.Contains(second.Error(), "another process") {
		t.Fatalf("a second run on the same rows file: %v", second)
	}
	rows := readJSONL(t, filepath.Join(out, "rows.jsonl"))
	noDuplicates(t, rows)
	if len(rows) != 12 {
		t.Errorf("%d rows, want 12", len(rows))
	}
}

func TestDeterminism(t *testing.T) {
	root := writeImages(t, 2)
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "c")}
	mustSweep(t, root, dirs[0], testParams, Shard{}, &fakeRunner{})
	mustSweep(t, root, dirs[1], testParams, Shard{}, &fakeRunner{})
	p := testParams
	p.Seed = 8
	mustSweep(t, root, dirs[2], p, Shard{}, &fakeRunner{})
	a, b, c := canonical(t, filepath.Join(dirs[0], "rows.jsonl")), canonical(t, filepath.Join(dirs[1], "rows.jsonl")), canonical(t, filepath.Join(dirs[2], "rows.jsonl"))
	if a != b {
		t.Error("same seed, different rows")
	}
	if a == c {
		t.Error("seeds 7 and 8 gave the same rows")
	}
	// Canonical zeroes exactly the timing fields.
	r := readJSONL(t, filepath.Join(dirs[0], "rows.jsonl"))[1]
	cr := Canonical(r)
	if cr.Seconds != nil || cr.PeakRSS != 0 || cr.Reused || cr.Seed != r.Seed || *cr.Metrics.Cosine != *r.Metrics.Cosine {
		t.Errorf("Canonical(%+v) = %+v", r, cr)
	}
}

// The resume test runs a sweep in a child process (this test binary again)
// that the parent kills with SIGKILL mid-way.
const childEnv = "MULTISC_EVAL_SWEEP_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		root, out, _ := strings.Cut(spec, "|")
		ds, err := dataset.OpenFolder(root, dataset.Options{})
		if err == nil {
			var s *Sweep
			if s, err = New(ds, testParams, Shard{}, out); err == nil {
				_, err = s.Run(context.Background(), &fakeRunner{sleep: 40 * time.Millisecond}, nil)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func TestResumeAfterKill(t *testing.T) {
	root := writeImages(t, 4)
	want := filepath.Join(t.TempDir(), "whole")
	mustSweep(t, root, want, testParams, Shard{}, &fakeRunner{})
	total := countLines(filepath.Join(want, "rows.jsonl"))

	out := filepath.Join(t.TempDir(), "killed")
	rowsPath := filepath.Join(out, "rows.jsonl")
	// Kill at two points: early, and after more rows than one image × method.
	for _, killAt := range []int{3, 17} {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+root+"|"+out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for countLines(rowsPath) < killAt && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		_ = cmd.Process.Kill() // SIGKILL: no cleanup runs
		_ = cmd.Wait()
		n := countLines(rowsPath)
		if n < killAt || n >= total {
			t.Fatalf("child wrote %d rows before the kill (want %d to %d); stderr: %s", n, killAt, total-1, stderr.String())
		}
		t.Logf("killed the child after %d of %d rows", n, total)
	}
	f := &fakeRunner{}
	sum := mustSweep(t, root, out, testParams, Shard{}, f)
	if sum.Skipped == 0 || sum.Skipped+sum.Computed != total || f.rows != sum.Computed {
		t.Errorf("resume: summary %+v, runner rows %d; want skipped+computed = %d", sum, f.rows, total)
	}
	if f.transmits >= 4*len(testParams.Methods) {
		t.Errorf("resume transmitted %d times: finished image × method pairs were redone", f.transmits)
	}
	rows := readJSONL(t, rowsPath)
	noDuplicates(t, rows)
	if got, w := canonical(t, rowsPath), canonical(t, filepath.Join(want, "rows.jsonl")); got != w {
		t.Errorf("killed and resumed sweep differs from an uninterrupted one:\n%s\nwant\n%s", got, w)
	}
}

func TestTornLastLine(t *testing.T) {
	root := writeImages(t, 2)
	want := filepath.Join(t.TempDir(), "whole")
	mustSweep(t, root, want, testParams, Shard{}, &fakeRunner{})
	full, err := os.ReadFile(filepath.Join(want, "rows.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(full, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty piece after the last newline
	keep := len(lines) - 3
	prefix := bytes.Join(lines[:keep], nil)
	tests := []struct {
		name string
		tail []byte
	}{
		{"half a row", lines[keep][:len(lines[keep])/2]},
		{"a row without its newline", bytes.TrimSuffix(lines[keep], []byte("\n"))},
		{"one byte", []byte("{")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "torn")
			mustSweep(t, root, out, testParams, Shard{}, &fakeRunner{}) // makes sweep.json
			path := filepath.Join(out, "rows.jsonl")
			if err := os.WriteFile(path, append(append([]byte{}, prefix...), tc.tail...), 0o644); err != nil {
				t.Fatal(err)
			}
			f := &fakeRunner{}
			sum := mustSweep(t, root, out, testParams, Shard{}, f)
			if !sum.Torn || sum.Computed != 3 || sum.Skipped != keep || f.rows != 3 {
				t.Errorf("summary %+v, runner rows %d; want torn, 3 computed, %d skipped", sum, f.rows, keep)
			}
			if got, w := canonical(t, path), canonical(t, filepath.Join(want, "rows.jsonl")); got != w {
				t.Errorf("resumed after a torn line:\n%s\nwant\n%s", got, w)
			}
		})
	}
	t.Run("bad middle line", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "bad")
		mustSweep(t, root, out, testParams, Shard{}, &fakeRunner{})
		path := filepath.Join(out, "rows.jsonl")
		bad := append(append(append([]byte{}, lines[0]...), "not json\n"...), bytes.Join(lines[1:keep], nil)...)
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sweep(t, root, out, testParams, Shard{}, &fakeRunner{})
		if !badinput.Is(err) || !strings.Contains(err.Error(), "rows.jsonl line 2") {
			t.Fatalf("corrupt middle line: %v, want a bad-input error naming rows.jsonl line 2", err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, bad) {
			t.Error("the corrupt rows file was changed")
		}
	})
}

func TestShardsMergeToUnsharded(t *testing.T) {
	root := writeImages(t, 5)
	whole := filepath.Join(t.TempDir(), "whole")
	mustSweep(t, root, whole, testParams, Shard{}, &fakeRunner{})
	wantRaw, _ := os.ReadFile(filepath.Join(whole, "rows.jsonl"))
	want := canonical(t, filepath.Join(whole, "rows.jsonl"))

	t.Run("2 shards, one folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "sh")
		// Shard 2 first: merge must restore plan order regardless.
		s2 := mustSweep(t, root, dir, testParams, Shard{2, 2}, &fakeRunner{})
		s1 := mustSweep(t, root, dir, testParams, Shard{1, 2}, &fakeRunner{})
		if s1.Rows != 3*12 || s2.Rows != 2*12 {
			t.Errorf("shard rows %d and %d, want 36 and 24 (images 0,2,4 and 1,3)", s1.Rows, s2.Rows)
		}
		for i, r := range readJSONL(t, filepath.Join(dir, "rows-2-of-2.jsonl")) {
			if r.ImageID != "img01" && r.ImageID != "img03" {
				t.Fatalf("shard 2/2 row %d has image %s", i, r.ImageID)
			}
		}
		out := t.TempDir()
		ms, err := Merge(out, dir)
		if err != nil {
			t.Fatal(err)
		}
		if ms.Rows != 60 || ms.Planned != 60 || ms.Files != 2 {
			t.Errorf("merge summary %+v", ms)
		}
		if got := canonical(t, ms.File); got != want {
			t.Errorf("merged shards differ from the unsharded sweep:\n%s\nwant\n%s", got, want)
		}
		// With this deterministic fake even the timing fields agree.
		if got, _ := os.ReadFile(ms.File); !bytes.Equal(got, wantRaw) {
			t.Error("merged bytes differ from the unsharded rows.jsonl")
		}
		// Merging into the folder itself, twice, changes nothing.
		for range 2 {
			if _, err := Merge(dir, dir); err != nil {
				t.Fatal(err)
			}
			if got := canonical(t, filepath.Join(dir, "rows.jsonl")); got != want {
				t.Error("merge into the shard folder differs")
			}
		}
	})
	t.Run("3 shards, three folders, one unfinished", func(t *testing.T) {
		var dirs []string
		for k := 1; k <= 3; k++ {
			d := filepath.Join(t.TempDir(), "s")
			mustSweep(t, root, d, testParams, Shard{k, 3}, &fakeRunner{})
			dirs = append(dirs, d)
		}
		out := t.TempDir()
		if _, err := Merge(out, dirs...); err != nil {
			t.Fatal(err)
		}
		if got := canonical(t, filepath.Join(out, "rows.jsonl")); got != want {
			t.Error("merged three shards differ from the unsharded sweep")
		}
		// Drop shard 3's last row: the merge is partial and says so.
		p3 := filepath.Join(dirs[2], "rows-3-of-3.jsonl")
		b, _ := os.ReadFile(p3)
		b = b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1]
		os.WriteFile(p3, b, 0o644)
		ms, err := Merge(t.TempDir(), dirs...)
		if err != nil || ms.Rows != 59 || ms.Planned != 60 {
			t.Errorf("partial merge: %+v, %v; want 59 of 60 rows", ms, err)
		}
	})
	t.Run("conflicting duplicate", func(t *testing.T) {
		d1, d2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		mustSweep(t, root, d1, testParams, Shard{1, 2}, &fakeRunner{})
		mustSweep(t, root, d2, testParams, Shard{2, 2}, &fakeRunner{})
		// d2 also holds a shard-1 row, with another cosine.
		rows := readJSONL(t, filepath.Join(d1, "rows-1-of-2.jsonl"))
		r := rows[4]
		c := *r.Metrics.Cosine + 0.25
		r.Metrics.Cosine = &c
		b, _ := json.Marshal(r)
		os.WriteFile(filepath.Join(d2, "rows-1-of-2.jsonl"), append(b, '\n'), 0o644)
		out := t.TempDir()
		_, err := Merge(out, d1, d2)
		if !badinput.Is(err) || !strings.Contains(err.Error(), "different rows") {
			t.Fatalf("conflicting duplicate merged: %v", err)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("refused merge wrote %d files", len(ents))
		}
		// An identical duplicate (timings aside) is fine.
		r = rows[4]
		r.Seconds = map[string]float64{"total": 99}
		b, _ = json.Marshal(r)
		os.WriteFile(filepath.Join(d2, "rows-1-of-2.jsonl"), append(b, '\n'), 0o644)
		if ms, err := Merge(out, d1, d2); err != nil || ms.Rows != 60 {
			t.Errorf("identical duplicate: %+v, %v", ms, err)
		}
	})
	t.Run("other sweep", func(t *testing.T) {
		d1, d2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		mustSweep(t, root, d1, testParams, Shard{1, 2}, &fakeRunner{})
		p := testParams
		p.Seed = 99
		mustSweep(t, root, d2, p, Shard{2, 2}, &fakeRunner{})
		_, err := Merge(t.TempDir(), d1, d2)
		if !badinput.Is(err) || !strings.Contains(err.Error(), "--seed") {
			t.Fatalf("merging two sweeps: %v, want a bad-input error naming --seed", err)
		}
		_, err = Merge(t.TempDir(), t.TempDir())
		if !badinput.Is(err) || !strings.Contains(err.Error(), "sweep.json") {
			t.Fatalf("merging a folder without sweep.json: %v", err)
		}
	})
}

func TestResumeWithOtherParams(t *testing.T) {
	root := writeImages(t, 2)
	out := filepath.Join(t.TempDir(), "s")
	mustSweep(t, root, out, testParams, Shard{}, &fakeRunner{})
	before := snapshot(t, out)
	other := func(edit func(p *Params)) Params {
		p := testParams
		p.Methods = slices.Clone(p.Methods)
		p.SNRs = slices.Clone(p.SNRs)
		edit(&p)
		return p
	}
	tests := []struct {
		flag string
		p    Params
		root string
	}{
		{"--snr", other(func(p *Params) { p.SNRs = []float64{0, 6} }), root},
		{"--snr", other(func(p *Params) { p.SNRs = []float64{0, 6, 13} }), root},
		{"--seed", other(func(p *Params) { p.Seed = 8 }), root},
		{"--methods", other(func(p *Params) { p.Methods = []string{pipeline.MethodFusion} }), root},
		{"--channels", other(func(p *Params) { p.Channels = []string{"awgn"} }), root},
		{"--limit", other(func(p *Params) { p.Limit = 1 }), root},
		{"--root", testParams, writeImages(t, 2)},
		{"--root", testParams, writeImages(t, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			f := &fakeRunner{}
			_, err := sweep(t, tc.root, out, tc.p, Shard{}, f)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.flag) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("resume with other %s: %v; want one bad-input line naming it", tc.flag, err)
			}
			if f.transmits+f.rows > 0 {
				t.Error("the runner was called")
			}
			if after := snapshot(t, out); after != before {
				t.Errorf("refused resume changed the folder:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// snapshot is a folder's files' names and contents.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		c, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "== %s\n%s\n", e.Name(), c)
	}
	return b.String()
}

func TestErrorRows(t *testing.T) {
	root := writeImages(t, 3)
	if err := os.WriteFile(filepath.Join(root, "img01b.png"), []byte("not a png at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "s")
	f := &fakeRunner{failTransmit: func(id string) error {
		if id == "img02" {
			return badinput.Errorf("img02: image too small for the segmenter")
		}
		return nil
	}}
	sum := mustSweep(t, root, out, testParams, Shard{}, f)
	per := len(testParams.Methods) * len(testParams.Channels) * len(testParams.SNRs)
	if sum.Errors != 2*per || sum.Computed != 4*per {
		t.Errorf("summary %+v; want %d rows, %d with errors", sum, 4*per, 2*per)
	}
	rows := readJSONL(t, filepath.Join(out, "rows.jsonl"))
	for _, r := range rows {
		isErr := r.ImageID == "img01b" || r.ImageID == "img02"
		if (r.Error != "") != isErr {
			t.Errorf("row %v: error %q", r.Key(), r.Error)
		}
		if isErr && (r.Metrics.Cosine != nil || r.Seed != pipeline.RowSeed(7, r.Key())) {
			t.Errorf("error row %v has metrics or a wrong seed", r.Key())
		}
	}
	if f.transmits != 3*len(testParams.Methods) {
		t.Errorf("%d transmits; the image that fails to load must not reach the runner", f.transmits)
	}
	// Error rows are done: resuming does not retry them.
	f2 := &fakeRunner{}
	if s := mustSweep(t, root, out, testParams, Shard{}, f2); s.Computed != 0 || f2.transmits != 0 {
		t.Errorf("resume retried error rows: %+v", s)
	}

	// A runner failure that is not bad input stops the sweep, keeping the rows.
	out2 := filepath.Join(t.TempDir(), "s2")
	calls := 0
	f3 := &fakeRunner{failRow: func(string, float64) error {
		calls++
		if calls == 5 {
			return errors.New("device lost")
		}
		return nil
	}}
	_, err := sweep(t, root, out2, testParams, Shard{}, f3)
	if err == nil || badinput.Is(err) || !strings.Contains(err.Error(), "device lost") {
		t.Fatalf("runner failure: %v", err)
	}
	if n := countLines(filepath.Join(out2, "rows.jsonl")); n != 4 {
		t.Errorf("%d rows kept after the failure, want 4", n)
	}
}

func TestInterrupt(t *testing.T) {
	root := writeImages(t, 2)
	out := filepath.Join(t.TempDir(), "s")
	ds, _ := dataset.OpenFolder(root, dataset.Options{})
	s, err := New(ds, testParams, Shard{}, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRunner{failRow: func(string, float64) error {
		cancel() // Ctrl-C during the first row: that row is still written
		return nil
	}}
	sum, err := s.Run(ctx, f, nil)
	if !errors.Is(err, ErrInterrupted) || sum.Computed != 1 || countLines(filepath.Join(out, "rows.jsonl")) != 1 {
		t.Fatalf("interrupted run: %+v, %v", sum, err)
	}
}

func TestOutputFolderChecks(t *testing.T) {
	root := writeImages(t, 1)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	stray := filepath.Join(tmp, "stray")
	os.Mkdir(stray, 0o755)
	os.WriteFile(filepath.Join(stray, "rows.jsonl"), []byte("{}\n"), 0o644)
	badJSON := filepath.Join(tmp, "badjson")
	os.Mkdir(badJSON, 0o755)
	os.WriteFile(filepath.Join(badJSON, "sweep.json"), []byte("{"), 0o644)
	tests := []struct{ out, frag string }{
		{file, "is a file"},
		{filepath.Join(tmp, "missing", "out"), "does not exist"},
		{filepath.Join(file, "out"), "is a file, not a folder"},
		{stray, "no sweep.json"},
		{badJSON, "not a sweep file"},
	}
	for _, tc := range tests {
		t.Run(tc.frag, func(t *testing.T) {
			before := snapshot(t, tmp)
			_, err := sweep(t, root, tc.out, testParams, Shard{}, &fakeRunner{})
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.frag) || !strings.Contains(err.Error(), "--out") {
				t.Fatalf("--out %s: %v; want a bad-input error with --out and %q", tc.out, err, tc.frag)
			}
			if snapshot(t, tmp) != before {
				t.Error("a refused sweep wrote something")
			}
		})
	}
}

func TestStudentT(t *testing.T) {
	// Two-sided 95% critical values, t(0.975, ν) (standard tables, 9 digits).
	tests := []struct{ nu, want float64 }{
		{1, 12.706204736}, {2, 4.302652730}, {3, 3.182446305}, {4, 2.776445105},
		{5, 2.570581836}, {10, 2.228138852}, {23, 2.068657610}, {30, 2.042272456},
		{100, 1.983971519},
	}
	for _, tc := range tests {
		if got := StudentTQuantile(0.975, tc.nu); math.Abs(got-tc.want) > 2e-9*tc.want {
			t.Errorf("t(0.975, %g) = %.10f, want %.9f", tc.nu, got, tc.want)
		}
	}
	if got := StudentTQuantile(0.975, 1000); math.Abs(got-1.962339) > 1e-6 {
		t.Errorf("t(0.975, 1000) = %v, want 1.962339", got)
	}
	// The CDF against Simpson's rule on the density, for several ν.
	for _, nu := range []float64{1.5, 4, 17, 250} {
		lg1, _ := math.Lgamma((nu + 1) / 2)
		lg2, _ := math.Lgamma(nu / 2)
		pdf := func(x float64) float64 {
			return math.Exp(lg1-lg2-0.5*math.Log(nu*math.Pi)) * math.Pow(1+x*x/nu, -(nu+1)/2)
		}
		for _, x := range []float64{0.3, 1, 2.5} {
			const n = 2000
			h := x / n
			sum := pdf(0) + pdf(x)
			for i := 1; i < n; i++ {
				sum += float64(2+2*(i%2)) * pdf(float64(i)*h)
			}
			want := 0.5 + sum*h/3
			if got := StudentTCDF(x, nu); math.Abs(got-want) > 1e-10 {
				t.Errorf("CDF(%g, %g) = %.12f, Simpson %.12f", x, nu, got, want)
			}
		}
	}
	if got := StudentTQuantile(0.025, 4); math.Abs(got+2.776445105) > 1e-8 {
		t.Errorf("t(0.025, 4) = %v", got)
	}
	// ν = 1 is Cauchy: the CDF is 1/2 + atan(t)/π.
	for _, x := range []float64{-3, -0.5, 0, 0.7, 5} {
		if got, want := StudentTCDF(x, 1), 0.5+math.Atan(x)/math.Pi; math.Abs(got-want) > 1e-13 {
			t.Errorf("CDF(%g, 1) = %v, want %v", x, got, want)
		}
	}
	st := SummarizeValues([]float64{1, 2, 3, 4})
	if st.N != 4 || st.Mean != 2.5 || math.Abs(st.SD-math.Sqrt(5.0/3)) > 1e-15 ||
		math.Abs(st.CI95-3.182446305*math.Sqrt(5.0/3)/2) > 1e-8 {
		t.Errorf("SummarizeValues(1..4) = %+v", st)
	}
	if st := SummarizeValues([]float64{3}); st.Mean != 3 || !math.IsNaN(st.CI95) {
		t.Errorf("one value: %+v", st)
	}
}

func TestProgress(t *testing.T) {
	now := time.Unix(0, 0)
	var buf bytes.Buffer
	p := &Progress{W: &buf, Now: func() time.Time { return now }}
	p.begin("eval kodak", 20, 10)
	for range 10 {
		now = now.Add(2 * time.Second)
		p.row()
	}
	p.end()
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "20 rows, 10 already done") {
		t.Errorf("first line %q", lines[0])
	}
	// 2 s per row; at 14/20 (4 computed) the ETA is 6 rows × 2 s.
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, "14/20") && strings.Contains(l, "2s/row") && strings.Contains(l, "ETA 12s")
	}) {
		t.Errorf("no line with 14/20, 2s/row, ETA 12s:\n%s", out)
	}
	if !strings.Contains(lines[len(lines)-1], "100% 20/20") || strings.Contains(out, "\r") {
		t.Errorf("plain output must end at 100%% without carriage returns:\n%q", out)
	}
	if len(lines) > 8 {
		t.Errorf("%d lines for 10 rows; plain output is one line per 10%%", len(lines))
	}
	buf.Reset()
	p = &Progress{W: &buf, Terminal: true, Now: func() time.Time { return now }}
	p.begin("x", 2, 0)
	p.row()
	p.row()
	p.end()
	if !strings.Contains(buf.String(), "\r\033[K  rows [####################] 100% 2/2") {
		t.Errorf("terminal bar: %q", buf.String())
	}
}
