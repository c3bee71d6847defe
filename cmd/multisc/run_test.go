package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/models/ipadapter"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/dataset"
	"github.com/multisc/multisc/pipeline/eval"
	"github.com/multisc/multisc/pipeline/imageio"
	"github.com/multisc/multisc/pipeline/models"
)

// systemSet writes a tiny synthetic models folder with every role into
// dir/models.
func systemSet(t *testing.T, dir string) string {
	t.Helper()
	set := filepath.Join(dir, "models")
	if _, stderr, code := runCLI(t, "models", "synth", "--size", "tiny", "--out", set); code != 0 {
		t.Fatalf("models synth: %s", stderr)
	}
	m, err := models.ReadManifest(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range models.Roles {
		if _, ok := m.Roles[r]; !ok {
			t.Fatalf("models synth --size tiny wrote no %s", r)
		}
	}
	return set
}

// systemImage writes a 64×48 test picture.
func systemImage(t *testing.T, path string) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			c := color.NRGBA{uint8(4 * x), uint8(5 * y), 90, 255}
			if (x-40)*(x-40)+(y-20)*(y-20) < 120 {
				c = color.NRGBA{220, 30, 40, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	if err := imageio.SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSystemVerbs: run works for every method and writes its outputs;
// transmit → receive equals run (same reconstruction bytes, same captions);
// the same seed gives the same bytes; bad input is one line, exit 2, and
// nothing written.
func TestSystemVerbs(t *testing.T) {
	dir := t.TempDir()
	set := systemSet(t, dir)
	pic := filepath.Join(dir, "pic.png")
	systemImage(t, pic)
	common := []string{"--models", set, "--device", "cpu", "--threads", "1", "--seed", "9"}
	txFlags := []string{"--caption-tokens", "6", "--blocks", "3", "--min-size", "8"}
	rxFlags := []string{"--steps", "2", "--size", "32x32", "--beams", "1"}
	tiny := func(verb string, extra ...string) []string {
		args := append([]string{verb}, common...)
		if verb != "receive" {
			args = append(args, txFlags...)
		}
		if verb != "transmit" {
			args = append(args, rxFlags...)
		}
		return append(args, extra...)
	}

	t.Run("run every method", func(t *testing.T) {
		for _, m := range pipeline.Methods {
			out := filepath.Join(dir, "run-"+m)
			stdout, stderr, code := runCLI(t, tiny("run", pic, "--method", m, "--out", out, "--channel", "rayleigh", "--snr", "3", "--json")...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", m, code, stderr)
			}
			var recs []pipeline.Record
			if err := json.Unmarshal([]byte(stdout), &recs); err != nil || len(recs) != 1 {
				t.Fatalf("%s: --json: %v %q", m, err, stdout)
			}
			r := recs[0]
			if r.Method != m || r.ImageID != "pic" || r.Channel != "rayleigh" || r.SNR != 3 ||
				r.Seed != pipeline.RowSeed(9, pipeline.Key{ImageID: "pic", Method: m, Channel: "rayleigh", SNR: 3}) {
				t.Fatalf("%s: record %+v", m, r)
			}
			var file pipeline.Record
			if err := json.Unmarshal(readFile(t, filepath.Join(out, "pic.json")), &file); err != nil || file.Seed != r.Seed {
				t.Fatalf("%s: pic.json: %v", m, err)
			}
			for _, f := range []string{"pic_recon.png", "pic_blocks.png", "pic_captions.txt"} {
				readFile(t, filepath.Join(out, f))
			}
			_, err := os.Stat(filepath.Join(out, "pic_slice.png"))
			if (err == nil) != r.SliceSent {
				t.Errorf("%s: slice sent %v, pic_slice.png: %v", m, r.SliceSent, err)
			}
			if !strings.Contains(stderr, "multisc: loading generator") {
				t.Errorf("%s: no progress lines: %q", m, stderr)
			}
		}
	})

	t.Run("transmit then receive equals run", func(t *testing.T) {
		for _, m := range []string{pipeline.MethodFusion, pipeline.MethodRandom, pipeline.MethodVLMCSC} {
			txDir, rxDir := filepath.Join(dir, "tx-"+m), filepath.Join(dir, "rx-"+m)
			if _, stderr, code := runCLI(t, tiny("transmit", pic, "--method", m, "--out", txDir)...); code != 0 {
				t.Fatalf("transmit: %s", stderr)
			}
			var tr transmitReport
			if err := json.Unmarshal(readFile(t, filepath.Join(txDir, "pic.transmit.json")), &tr); err != nil {
				t.Fatal(err)
			}
			if len(tr.Blocks) != len(tr.Captions) || len(tr.Blocks) == 0 || tr.Blocks[0][2] <= tr.Blocks[0][0] {
				t.Fatalf("transmit report blocks %v captions %d", tr.Blocks, len(tr.Captions))
			}
			payload := filepath.Join(txDir, "pic.payload")
			if fi, err := os.Stat(payload); err != nil || 8*fi.Size() != tr.Bits || tr.Bits != tr.BitsText+tr.BitsSlice+tr.BitsHead {
				t.Fatalf("payload %v, report bits %d = %d + %d + %d", err, tr.Bits, tr.BitsText, tr.BitsSlice, tr.BitsHead)
			}
			if _, stderr, code := runCLI(t, tiny("receive", payload, "--out", rxDir, "--channel", "rayleigh", "--snr", "3")...); code != 0 {
				t.Fatalf("receive: %s", stderr)
			}
			var rr receiveReport
			if err := json.Unmarshal(readFile(t, filepath.Join(rxDir, "pic.receive.json")), &rr); err != nil {
				t.Fatal(err)
			}
			var run pipeline.Record
			json.Unmarshal(readFile(t, filepath.Join(dir, "run-"+m, "pic.json")), &run)
			if !bytes.Equal(readFile(t, filepath.Join(rxDir, "pic.png")), readFile(t, filepath.Join(dir, "run-"+m, "pic_recon.png"))) {
				t.Errorf("%s: receive's reconstruction differs from run's", m)
			}
			if !slices.Equal(rr.Captions, run.Captions) || rr.Seed != run.Seed || rr.SliceSent != run.SliceSent || tr.BitsText != run.BitsText || tr.BitsSlice != run.BitsSlice {
				t.Errorf("%s: receive %+v\nrun %+v", m, rr, run)
			}
		}
	})

	t.Run("digital slice: transmit then receive equals run", func(t *testing.T) {
		m := pipeline.MethodSingleText
		runDir, txDir, rxDir := filepath.Join(dir, "dig-run"), filepath.Join(dir, "dig-tx"), filepath.Join(dir, "dig-rx")
		link := []string{"--channel", "awgn", "--snr", "12", "--slice-code", "ldpc-648-1/2", "--text-code", "ldpc-648-1/2"}
		stdout, stderr, code := runCLI(t, append(tiny("run", pic, "--method", m, "--out", runDir, "--slice", "digital", "--json"), link...)...)
		if code != 0 {
			t.Fatal(stderr)
		}
		var recs []pipeline.Record
		json.Unmarshal([]byte(stdout), &recs)
		if len(recs) != 1 || !recs[0].SliceSent || recs[0].SliceLost {
			t.Fatalf("digital slice at 12 dB: %+v", recs)
		}
		if recs[0].Captions[0].Received != recs[0].Captions[0].Sent {
			t.Errorf("LDPC-coded caption at 12 dB arrived changed: %q", recs[0].Captions[0].Received)
		}
		if _, stderr, code := runCLI(t, tiny("transmit", pic, "--method", m, "--out", txDir, "--slice", "digital")...); code != 0 {
			t.Fatal(stderr)
		}
		var tr transmitReport
		json.Unmarshal(readFile(t, filepath.Join(txDir, "pic.transmit.json")), &tr)
		if tr.SliceMode != "digital (JPEG)" || tr.BitsSlice != recs[0].BitsSlice {
			t.Fatalf("transmit report %+v", tr)
		}
		if _, stderr, code := runCLI(t, append(tiny("receive", filepath.Join(txDir, "pic.payload"), "--out", rxDir), link...)...); code != 0 {
			t.Fatal(stderr)
		}
		if !bytes.Equal(readFile(t, filepath.Join(rxDir, "pic.png")), readFile(t, filepath.Join(runDir, "pic_recon.png"))) {
			t.Error("digital: receive's reconstruction differs from run's")
		}
	})

	t.Run("same seed same bytes", func(t *testing.T) {
		a, b, c := filepath.Join(dir, "seed-a"), filepath.Join(dir, "seed-b"), filepath.Join(dir, "seed-c")
		for _, o := range []struct {
			dir, seed string
		}{{a, "9"}, {b, "9"}, {c, "10"}} {
			if _, stderr, code := runCLI(t, append(tiny("run", pic, "--method", "multisc-random", "--out", o.dir), "--seed", o.seed)...); code != 0 {
				t.Fatal(stderr)
			}
		}
		ra, rb, rc := readFile(t, filepath.Join(a, "pic_recon.png")), readFile(t, filepath.Join(b, "pic_recon.png")), readFile(t, filepath.Join(c, "pic_recon.png"))
		if !bytes.Equal(ra, rb) || !bytes.Equal(readFile(t, filepath.Join(a, "pic_captions.txt")), readFile(t, filepath.Join(b, "pic_captions.txt"))) {
			t.Fatal("same seed, different outputs")
		}
		if bytes.Equal(ra, rc) {
			t.Fatal("another seed, same reconstruction")
		}
	})

	t.Run("eval runner", func(t *testing.T) {
		// what 'multisc eval' gets: the image by path; the record equals
		// run's row for the same seeds (tiny settings as above).
		s, err := openSystem(&Env{Device: "cpu", Threads: 1, Stderr: io.Discard}, set, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var _ io.Closer = s
		s.Opts.Steps, s.Opts.Width, s.Opts.Height, s.Opts.Beams = 2, 32, 32, 1
		s.Opts.CaptionMaxTokens, s.Opts.RandomBlocks, s.Opts.MinBlock = 6, 3, 8
		m := pipeline.MethodRandom
		tx, err := s.Transmit(pipeline.TransmitRequest{ImageID: "pic", Path: pic, Method: m, Seed: pipeline.TransmitSeed(9, "", "pic", m)})
		if err != nil {
			t.Fatal(err)
		}
		key := pipeline.Key{ImageID: "pic", Method: m, Channel: "awgn", SNR: 5}
		rec, err := s.Row(tx, key.Channel, key.SNR, pipeline.RowSeed(9, key))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "eval-run")
		stdout, stderr, code := runCLI(t, tiny("run", pic, "--method", m, "--out", out, "--json")...)
		if code != 0 {
			t.Fatal(stderr)
		}
		var recs []pipeline.Record
		json.Unmarshal([]byte(stdout), &recs)
		if len(recs) != 1 || !slices.Equal(recs[0].Captions, rec.Captions) || *recs[0].Metrics.PSNR != *rec.Metrics.PSNR || recs[0].Seed != rec.Seed {
			t.Fatalf("eval row %+v\nrun %+v", rec, recs)
		}
		_, err = s.Transmit(pipeline.TransmitRequest{ImageID: "x", Path: filepath.Join(dir, "missing.png"), Method: m})
		if err == nil || !strings.Contains(err.Error(), "missing.png") {
			t.Fatalf("missing image: %v", err)
		}
	})

	t.Run("eval sweep on the system", func(t *testing.T) {
		// the wiring 'multisc eval' uses
		r, c, err := openEvalRunner(&Env{Device: "cpu", Threads: 1, Stderr: io.Discard}, set, pipeline.DefaultSystemOptions())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if _, ok := r.(*pipeline.System); !ok {
			t.Fatalf("eval runner is a %T", r)
		}
		// a sweep of one image, two methods, two SNRs on tiny settings:
		// transmit once per method, every row equals 'run' for its key
		root := filepath.Join(dir, "ds")
		os.MkdirAll(root, 0o755)
		os.WriteFile(filepath.Join(root, "pic.png"), readFile(t, pic), 0o644)
		ds, err := dataset.Open("folder", root, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		methods := []string{pipeline.MethodRandom, pipeline.MethodVLMCSC}
		sw, err := eval.New(ds, eval.Params{Methods: methods, Channels: []string{"awgn"}, SNRs: []float64{0, 5}, Seed: 9}, eval.Shard{K: 1, N: 1}, filepath.Join(dir, "sweep"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := openSystem(&Env{Device: "cpu", Threads: 1, Stderr: io.Discard}, set, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Opts.Steps, s.Opts.Width, s.Opts.Height, s.Opts.Beams = 2, 32, 32, 1
		s.Opts.CaptionMaxTokens, s.Opts.RandomBlocks, s.Opts.MinBlock = 6, 3, 8
		if _, err := sw.Run(context.Background(), s, nil); err != nil {
			t.Fatal(err)
		}
		var rows []pipeline.Record
		for _, line := range strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, "sweep", "rows.jsonl")))), "\n") {
			var r pipeline.Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		if len(rows) != 4 {
			t.Fatalf("%d rows, want 4", len(rows))
		}
		for _, r := range rows {
			if r.Error != "" {
				t.Fatalf("row error: %s", r.Error)
			}
			out := filepath.Join(dir, fmt.Sprintf("sweep-run-%s-%g", r.Method, r.SNR))
			stdout, stderr, code := runCLI(t, tiny("run", filepath.Join(root, "pic.png"), "--dataset", "folder", "--method", r.Method, "--snr", fmt.Sprint(r.SNR), "--out", out, "--json")...)
			if code != 0 {
				t.Fatal(stderr)
			}
			var recs []pipeline.Record
			json.Unmarshal([]byte(stdout), &recs)
			if len(recs) != 1 || recs[0].Seed != r.Seed || recs[0].Dataset != "folder" || !slices.Equal(recs[0].Captions, r.Captions) || *recs[0].Metrics.SSIM != *r.Metrics.SSIM {
				t.Errorf("sweep row %s %g dB differs from run:\nrow %+v\nrun %+v", r.Method, r.SNR, r, recs)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		copySet := func(name string) string {
			d := filepath.Join(dir, name)
			os.MkdirAll(d, 0o755)
			ents, _ := os.ReadDir(set)
			for _, e := range ents {
				os.WriteFile(filepath.Join(d, e.Name()), readFile(t, filepath.Join(set, e.Name())), 0o644)
			}
			return d
		}
		noEnc := copySet("set-no-encoder")
		m, _ := models.ReadManifest(noEnc)
		delete(m.Roles, models.ImageEncoder)
		models.WriteManifest(noEnc, m)
		// an IP-Adapter whose image embedding input (16) is not the image
		// encoder's projection (24)
		wide := copySet("set-wide")
		writeWideAdapter(t, filepath.Join(wide, "ip-adapter.gguf"))

		payload := filepath.Join(dir, "tx-"+pipeline.MethodFusion, "pic.payload")
		good := readFile(t, payload)
		cut := filepath.Join(dir, "cut.payload")
		os.WriteFile(cut, good[:len(good)/2], 0o644)
		v2 := filepath.Join(dir, "v2.payload")
		other := bytes.Clone(good)
		binary.BigEndian.PutUint16(other[4:], 2)
		os.WriteFile(v2, other, 0o644)
		aFile := filepath.Join(dir, "a-file")
		os.WriteFile(aFile, nil, 0o644)

		out := filepath.Join(dir, "bad-out")
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{tiny("run", pic, "--out", out, "--models", noEnc), []string{"image-encoder", "multisc models pull image-encoder"}},
			{tiny("run", pic, "--out", out, "--models", wide), []string{"widths do not match", "ip-adapter.gguf", "role ip-adapter"}},
			{tiny("receive", cut, "--out", out), []string{cut, "truncated"}},
			{tiny("receive", v2, "--out", out), []string{v2, "version 2"}},
			{tiny("run", pic, "--out", aFile), []string{"--out", aFile, "not a folder"}},
			{tiny("run", pic, "--out", filepath.Join(aFile, "sub")), []string{"--out", aFile}},
			{tiny("run", pic, "--out", out, "--snr", "loud"), []string{"--snr", "loud"}},
			{tiny("run", pic, "--out", out, "--snr", "1e9"), []string{"--snr", "±200"}},
			{tiny("run", pic, "--out", out, "--method", "telepathy"), []string{"--method", "telepathy"}},
			{tiny("transmit", pic, "--out", out, "--method", "telepathy"), []string{"--method", "telepathy"}},
			{tiny("run", pic, "--out", out, "--channel", "fog"), []string{"--channel", "fog"}},
			{tiny("run", pic, "--out", out, "--slice", "smoke"), []string{"--slice", "smoke"}},
			{tiny("run", pic, "--out", out, "--size", "30x30"), []string{"--size"}},
			{tiny("run", filepath.Join(dir, "missing.png"), "--out", out), []string{"missing.png"}},
			{tiny("run", pic, "--out", out, "--models", filepath.Join(dir, "nomodels")), []string{"nomodels"}},
			{[]string{"run", pic, "--out", out}, []string{"--models DIR is required"}},
		} {
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.want...)
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%v created %s", tc.args, out)
			}
		}
	})
}

// writeWideAdapter writes a tiny IP-Adapter whose image embedding input is
// 16 wide (the tiny image encoder's is 24).
func writeWideAdapter(t *testing.T, path string) {
	t.Helper()
	o := ipadapter.TinyOptions()
	o.ImageDim = 16
	if err := ipadapter.WriteSynth(path, o, 1, fsggml.TensorTypeF32); err != nil {
		t.Fatal(err)
	}
}
