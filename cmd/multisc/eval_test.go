package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/eval"
)

// evalFake is a deterministic runner: rows follow from the seeds.
type evalFake struct {
	mu                sync.Mutex
	last              pipeline.TransmitRequest
	transmits, rows   int
	opened, closed    int
	modelsDir, device string
}

func (f *evalFake) Transmit(req pipeline.TransmitRequest) (*pipeline.Transmission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transmits++
	f.last = req
	return &pipeline.Transmission{}, nil
}

func (f *evalFake) Row(tx *pipeline.Transmission, ch string, snr float64, seed uint64) (pipeline.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows++
	cos := float64(seed%1000)/2000 + 0.02*snr
	lp := 0.8 - float64(seed%997)/2000 - 0.02*snr
	return pipeline.Record{Version: pipeline.RecordVersion, Dataset: f.last.Dataset, ImageID: f.last.ImageID,
		Method: f.last.Method, Channel: ch, SNR: snr, Seed: seed,
		Captions: []pipeline.CaptionRecord{{Sent: "a cat", Received: "a cbt", Corrected: "a cat"}},
		Metrics:  pipeline.Metrics{Cosine: &cos, LPIPS: &lp},
		Seconds:  map[string]float64{"caption": 1, "generate": 2, "total": 3}}, nil
}

func (f *evalFake) Close() error { f.closed++; return nil }

// withFakeRunner installs a fake as openEvalRunner for one test.
func withFakeRunner(t *testing.T) *evalFake {
	t.Helper()
	f := &evalFake{}
	old := openEvalRunner
	openEvalRunner = func(env *Env, dir string) (eval.Runner, io.Closer, error) {
		f.opened++
		f.modelsDir, f.device = dir, env.Device
		return f, f, nil
	}
	t.Cleanup(func() { openEvalRunner = old })
	return f
}

func evalImages(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 6, 4+i))
		var b bytes.Buffer
		png.Encode(&b, img)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d.png", i)), b.Bytes(), 0o644)
	}
	return dir
}

func sweepArgs(root, out string, extra ...string) []string {
	return append([]string{"eval", "--dataset", "folder", "--root", root, "--methods", "multisc-fusion,vlm-csc",
		"--channels", "awgn,rayleigh", "--snr", "0,10", "--models", "M", "--out", out, "--seed", "3"}, extra...)
}

func TestEvalSweepMergeReport(t *testing.T) {
	f := withFakeRunner(t)
	root := evalImages(t, 3)
	whole := filepath.Join(t.TempDir(), "whole")
	stdout, stderr, code := runCLI(t, sweepArgs(root, whole, "--device", "cpu")...)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, stderr)
	}
	if f.opened != 1 || f.closed != 1 || f.modelsDir != "M" || f.device != "cpu" || f.transmits != 6 || f.rows != 24 {
		t.Errorf("runner: %+v", f)
	}
	if !strings.Contains(stdout, "24 rows (24 written now, 0 with errors") || !strings.Contains(stdout, "next: multisc eval report") {
		t.Errorf("stdout: %s", stdout)
	}
	// stderr is not a terminal here: plain progress lines with the ETA.
	if !strings.Contains(stderr, "eval folder: 24 rows") || !strings.Contains(stderr, "100% 24/24") || strings.Contains(stderr, "\r") {
		t.Errorf("progress on stderr:\n%s", stderr)
	}
	// Resume of a finished sweep computes nothing.
	if _, stderr, code := runCLI(t, sweepArgs(root, whole)...); code != 0 || f.rows != 24 || !strings.Contains(stderr, "24 already done") {
		t.Fatalf("resume: exit %d, runner rows %d\n%s", code, f.rows, stderr)
	}

	sh := filepath.Join(t.TempDir(), "sh")
	for _, s := range []string{"2/2", "1/2"} {
		if _, stderr, code := runCLI(t, sweepArgs(root, sh, "--shard", s)...); code != 0 {
			t.Fatalf("shard %s: exit %d\n%s", s, code, stderr)
		}
	}
	stdout, stderr, code = runCLI(t, "eval", "merge", sh)
	if code != 0 || !strings.Contains(stdout, "24 rows from 2 files") {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "rows.jsonl"))
	b, _ := os.ReadFile(filepath.Join(sh, "rows.jsonl"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("merged shards differ from the unsharded sweep")
	}

	stdout, stderr, code = runCLI(t, "eval", "report", whole)
	if code != 0 || !strings.Contains(stdout, "24 rows, 0 with errors") {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, name := range append(eval.ReportFiles, "cosine_folder_awgn.png", "lpips_folder_rayleigh.svg") {
		if _, err := os.Stat(filepath.Join(whole, "report", name)); err != nil {
			t.Errorf("report: %v", err)
		}
	}
	ro := filepath.Join(t.TempDir(), "r")
	if _, stderr, code := runCLI(t, "eval", "report", sh, "--out", ro); code != 0 {
		t.Fatalf("report --out: %s", stderr)
	}
	p1, _ := os.ReadFile(filepath.Join(whole, "report", "points.csv"))
	p2, _ := os.ReadFile(filepath.Join(ro, "points.csv"))
	if !bytes.Equal(p1, p2) || bytes.Count(p1, []byte("\n")) != 1+2*2*2*2 {
		t.Errorf("points.csv of the sharded sweep differs, or has the wrong count:\n%s", p1)
	}
}

func TestEvalBadInput(t *testing.T) {
	f := withFakeRunner(t)
	root := evalImages(t, 2)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	done := filepath.Join(tmp, "done")
	if _, stderr, code := runCLI(t, sweepArgs(root, done)...); code != 0 {
		t.Fatal(stderr)
	}
	nosweep := filepath.Join(tmp, "nosweep")
	os.Mkdir(nosweep, 0o755)
	fresh := filepath.Join(tmp, "fresh") // must never be created
	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"empty snr", sweepArgs(root, fresh, "--snr", ""), []string{"--snr", "empty"}},
		{"zero step", sweepArgs(root, fresh, "--snr", "0:0:18"), []string{"--snr", "step"}},
		{"negative step", sweepArgs(root, fresh, "--snr", "18:-3:0"), []string{"--snr", "step"}},
		{"nan", sweepArgs(root, fresh, "--snr", "0,nan"), []string{"--snr", "not a number"}},
		{"words", sweepArgs(root, fresh, "--snr", "low"), []string{"--snr", "not a number"}},
		{"two colons only", sweepArgs(root, fresh, "--snr", "0:18"), []string{"--snr"}},
		{"empty item", sweepArgs(root, fresh, "--snr", "0,,5"), []string{"--snr", "empty item"}},
		{"repeated snr", sweepArgs(root, fresh, "--snr", "0,5,0"), []string{"--snr", "twice"}},
		{"shard 3/2", sweepArgs(root, fresh, "--shard", "3/2"), []string{"--shard", "3/2"}},
		{"shard 0/2", sweepArgs(root, fresh, "--shard", "0/2"), []string{"--shard"}},
		{"shard words", sweepArgs(root, fresh, "--shard", "a/b"), []string{"--shard"}},
		{"unknown method", sweepArgs(root, fresh, "--methods", "multisc-fusion,bpg"), []string{"--methods", "bpg"}},
		{"unknown channel", sweepArgs(root, fresh, "--channels", "awgn,rician"), []string{"--channels", "rician"}},
		{"unknown dataset", []string{"eval", "--dataset", "imagenet", "--root", root, "--models", "M", "--out", fresh}, []string{"imagenet"}},
		{"missing root", []string{"eval", "--dataset", "folder", "--root", filepath.Join(tmp, "nope"), "--models", "M", "--out", fresh}, []string{"nope"}},
		{"no models", []string{"eval", "--dataset", "folder", "--root", root, "--out", fresh}, []string{"--models"}},
		{"no out", []string{"eval", "--dataset", "folder", "--root", root, "--models", "M"}, []string{"--out"}},
		{"negative limit", sweepArgs(root, fresh, "--limit", "-1"), []string{"--limit"}},
		{"positional", sweepArgs(root, fresh, "extra"), []string{"extra"}},
		{"out is a file", sweepArgs(root, file), []string{"--out", "file"}},
		{"out under a file", sweepArgs(root, filepath.Join(file, "sub")), []string{"--out", "not a folder"}},
		{"out parent missing", sweepArgs(root, filepath.Join(tmp, "a", "b")), []string{"--out", "does not exist"}},
		{"resume other snr", sweepArgs(root, done, "--snr", "0,5"), []string{"--snr", "differs"}},
		{"resume other seed", sweepArgs(root, done, "--seed", "4"), []string{"--seed", "differs"}},
		{"resume other limit", sweepArgs(root, done, "--limit", "1"), []string{"--limit", "differs"}},
		{"report missing", []string{"eval", "report", filepath.Join(tmp, "nope")}, []string{"nope"}},
		{"report no rows", []string{"eval", "report", nosweep}, []string{"no rows"}},
		{"report out under a file", []string{"eval", "report", done, "--out", filepath.Join(file, "r")}, []string{"--out"}},
		{"merge no sweep", []string{"eval", "merge", nosweep}, []string{"sweep.json"}},
		{"merge nothing", []string{"eval", "merge"}, []string{"one or more"}},
		{"merge out under a file", []string{"eval", "merge", done, "--out", filepath.Join(file, "m")}, []string{"--out"}},
	}
	before := snapshotTree(t, tmp)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := f.rows
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if f.rows != rows {
				t.Error("the runner ran")
			}
			if after := snapshotTree(t, tmp); after != before {
				t.Errorf("refused command changed %s:\n%s\nwas\n%s", tmp, after, before)
			}
		})
	}
}

// snapshotTree lists every file under dir with its content.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v\n", p, d.IsDir())
		if !d.IsDir() {
			c, _ := os.ReadFile(p)
			b.Write(c)
		}
		return nil
	})
	return b.String()
}

func TestEvalWithoutSystem(t *testing.T) {
	old := openEvalRunner
	openEvalRunner = nil
	defer func() { openEvalRunner = old }()
	out := filepath.Join(t.TempDir(), "o")
	_, stderr, code := runCLI(t, sweepArgs(evalImages(t, 1), out)...)
	if code != 1 || !strings.Contains(stderr, "openEvalRunner") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Error("the sweep folder was created without a runner")
	}
}

func TestEvalHelp(t *testing.T) {
	stdout, _, code := runCLI(t, "eval", "--help")
	if code != 0 || !strings.Contains(stdout, "eval report DIR") || !strings.Contains(stdout, "--shard") {
		t.Errorf("eval --help: exit %d\n%s", code, stdout)
	}
	stdout, _, code = runCLI(t, "eval", "report", "--help")
	if code != 0 || !strings.Contains(stdout, "Usage: multisc eval report") {
		t.Errorf("eval report --help: exit %d\n%s", code, stdout)
	}
}

// TestEvalInterruptChild is the child of TestEvalCtrlC: a sweep with a slow
// fake runner and the CLI's signal handling. It does nothing in a normal run.
func TestEvalInterruptChild(t *testing.T) {
	spec := os.Getenv("MULTISC_EVAL_INTERRUPT_CHILD")
	if spec == "" {
		t.Skip("child of TestEvalCtrlC")
	}
	root, out, _ := strings.Cut(spec, "|")
	cleanupOnSignal(os.Stderr)
	f := &evalFake{}
	delay := 30 * time.Millisecond
	if os.Getenv("MULTISC_EVAL_SLOW") != "" {
		delay = time.Minute
	}
	openEvalRunner = func(env *Env, dir string) (eval.Runner, io.Closer, error) {
		return slowRunner{f, delay}, f, nil
	}
	os.Exit(run(sweepArgs(root, out), os.Stdout, os.Stderr))
}

type slowRunner struct {
	*evalFake
	delay time.Duration
}

func (s slowRunner) Row(tx *pipeline.Transmission, ch string, snr float64, seed uint64) (pipeline.Record, error) {
	if s.delay >= time.Minute {
		fmt.Fprintln(os.Stderr, "fake row started")
	}
	time.Sleep(s.delay)
	return s.evalFake.Row(tx, ch, snr, seed)
}

// TestEvalCtrlC: SIGINT stops a sweep after the row in progress (exit 1,
// every row written whole); the same command resumes it to the rows of an
// uninterrupted run.
func TestEvalCtrlC(t *testing.T) {
	withFakeRunner(t)
	root := evalImages(t, 3)
	whole := filepath.Join(t.TempDir(), "whole")
	if _, stderr, code := runCLI(t, sweepArgs(root, whole)...); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(t.TempDir(), "int")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEvalInterruptChild$")
	cmd.Env = append(os.Environ(), "MULTISC_EVAL_INTERRUPT_CHILD="+root+"|"+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rowsPath := filepath.Join(out, "rows.jsonl")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(rowsPath); bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1\n%s", err, stderr.String())
	}
	if s := stderr.String(); !strings.Contains(s, "finishing the row in progress") || !strings.Contains(s, "interrupted after") || !strings.Contains(s, "run the same command to resume") {
		t.Errorf("child stderr:\n%s", s)
	}
	b, _ := os.ReadFile(rowsPath)
	n := bytes.Count(b, []byte("\n"))
	if n < 3 || n >= 24 || !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("after Ctrl-C: %d rows, ends in newline %v", n, bytes.HasSuffix(b, []byte("\n")))
	}
	if _, stderr, code := runCLI(t, sweepArgs(root, out)...); code != 0 || !strings.Contains(stderr, fmt.Sprintf("%d already done", n)) {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "rows.jsonl"))
	c, _ := os.ReadFile(rowsPath)
	var ca, cc strings.Builder
	for _, pair := range []struct {
		in  []byte
		out *strings.Builder
	}{{a, &ca}, {c, &cc}} {
		for _, line := range bytes.Split(bytes.TrimSpace(pair.in), []byte("\n")) {
			var r pipeline.Record
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			pair.out.Write(eval.CanonicalJSON(r))
			pair.out.WriteByte('\n')
		}
	}
	if ca.String() != cc.String() {
		t.Errorf("interrupted and resumed sweep differs from the uninterrupted one")
	}
}

// TestEvalCtrlCTwice: a second SIGINT while a (minute-long) row runs exits
// at once with 130, keeping the rows written (none here).
func TestEvalCtrlCTwice(t *testing.T) {
	root := evalImages(t, 1)
	out := filepath.Join(t.TempDir(), "int")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEvalInterruptChild$")
	cmd.Env = append(os.Environ(), "MULTISC_EVAL_INTERRUPT_CHILD="+root+"|"+out, "MULTISC_EVAL_SLOW=1")
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	wait := func(frag string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("child ended before saying %q", frag)
				}
				if strings.Contains(l, frag) {
					return
				}
			case <-timeout:
				cmd.Process.Kill()
				t.Fatalf("child did not say %q", frag)
			}
		}
	}
	wait("fake row started")
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	wait("finishing the row in progress")
	cmd.Process.Signal(syscall.SIGINT)
	wait("interrupted again")
	for range lines {
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || time.Since(start) > 20*time.Second {
		t.Fatalf("child: %v after %v, want exit status 130 at once", err, time.Since(start))
	}
	if b, err := os.ReadFile(filepath.Join(out, "rows.jsonl")); err != nil || len(b) != 0 {
		t.Errorf("rows file: %q, %v; want empty", b, err)
	}
}
