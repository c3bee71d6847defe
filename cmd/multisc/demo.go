package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/imageio"
	"github.com/multisc/multisc/pipeline/models"
)

// demoPNG is the bundled picture (256×256, drawn by a program for this
// project: a house, a tree and the sun; no third-party image).
//
//go:embed assets/demo.png
var demoPNG []byte

// The demo's sweep: the paper's proposal against the text-only baseline, at
// a bad and a good SNR, on AWGN.
var (
	demoMethods = []string{pipeline.MethodFusion, pipeline.MethodVLMCSC}
	demoSNRs    = []float64{0, 10}
)

const (
	demoChannel = "awgn"
	demoSeed    = 1
	demoImageID = "demo"
)

// demoModelsDir is the tiny synthetic set in the user's cache folder; its
// name carries what made it, so a change of manifest version or seed makes
// a new one instead of reusing a stale one.
func demoModelsDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("demo: no user cache folder (%v): give --models DIR", err)
	}
	return filepath.Join(c, "multisc", fmt.Sprintf("demo-tiny-v%d-seed%d", models.ManifestVersion, demoSeed)), nil
}

// ensureDemoModels reuses the tiny set when it checks, else writes it into
// a fresh folder beside it and renames it into place, so an interrupted
// build never leaves a half-written set under the final name.
func ensureDemoModels(env *Env, dir string) error {
	if _, err := models.Check(dir, models.CheckOptions{}); err == nil {
		fmt.Fprintf(env.Stderr, "multisc: demo: reusing the tiny model set in %s\n", dir)
		return nil
	}
	fmt.Fprintf(env.Stderr, "multisc: demo: writing a tiny model set (random weights) to %s\n", dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return outputError("the user cache folder", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return outputError("the user cache folder", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := models.SynthSet(tmp, "tiny", demoSeed, "f32"); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return outputError("the user cache folder", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return outputError("the user cache folder", err)
	}
	return nil
}

func init() {
	var modelsDir, out, imgPath, size string
	var steps int
	var asJSON bool
	register(&command{
		Name:  "demo",
		Short: "the system end to end on one image: two methods, two SNRs, metrics and timings",
		Usage: "[--models DIR] [--out DIR] [--image IMG] [--json]",
		Long: `Runs the Multi-SC system on one picture, for two methods (multisc-fusion,
the paper's proposal, and vlm-csc, one caption and text-only generation) at
two SNRs (0 and 10 dB, AWGN), prints the metrics and per-stage timings and
writes every output (reconstructions, slice, blocks, captions, records) to
--out.

With no --models it builds, once, a complete set of tiny models with random
weights in the user cache folder and runs on it in seconds (64x64, 4 steps,
captions of at most 16 tokens, greedy correction): tiny random
models draw noise and write nonsense captions; the demo then shows the
machinery (every stage, the channel, the metrics), not the paper's quality.
For real models: 'multisc models pull --out DIR' (the public checkpoints,
listed by 'multisc models pull --catalogue' and in the README), then
'multisc demo --models DIR' (512x512, 20 steps: minutes on a CPU).

The bundled picture is used unless --image is given. Seeds are those of
'multisc run --seed 1' on an image named demo, so each row can be rerun
alone.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&modelsDir, "models", "", "models folder (default: a tiny synthetic set in the user cache folder)")
			fs.StringVar(&out, "out", "multisc-demo", "output folder (made if missing)")
			fs.StringVar(&imgPath, "image", "", "an image instead of the bundled picture")
			fs.StringVar(&size, "size", "", "generation size WIDTHxHEIGHT (default 64x64 on the tiny set, 512x512 on --models)")
			fs.IntVar(&steps, "steps", 0, "sampler steps (default 4 on the tiny set, 20 on --models)")
			fs.BoolVar(&asJSON, "json", false, "print the records as a JSON array")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("demo takes no arguments, got %q (see multisc demo --help)", args[0])
			}
			tiny := modelsDir == ""
			o := pipeline.DefaultSystemOptions()
			if size == "" {
				size = "512x512"
				if tiny {
					size = "64x64"
				}
			}
			w, h, err := parseSize(size)
			if err != nil {
				return err
			}
			o.Width, o.Height = w, h
			switch {
			case steps < 0:
				return badInput("--steps %d: want 1 or more", steps)
			case steps > 0:
				o.Steps = steps
			case tiny:
				o.Steps = 4
			}
			if tiny {
				// Random captions and corrections are noise at any length:
				// short ones and greedy correction keep the demo quick.
				o.CaptionMaxTokens, o.Beams = 16, 1
			}
			img, err := demoImage(imgPath)
			if err != nil {
				return err
			}
			if tiny {
				if modelsDir, err = demoModelsDir(); err != nil {
					return err
				}
				if err := ensureDemoModels(env, modelsDir); err != nil {
					return err
				}
			}
			o.Model = bindings.Options{Device: env.Device, Threads: env.Threads}
			o.Methods = demoMethods
			o.Progress = func(msg string) { fmt.Fprintf(env.Stderr, "multisc: %s\n", msg) }
			if err := o.Check(); err != nil {
				return err
			}
			s, err := pipeline.OpenSystem(modelsDir, o)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := prepareOutDir(out); err != nil {
				return err
			}
			if hint := cpuHint(env); hint != "" {
				fmt.Fprintf(env.Stderr, "multisc: note: %s\n", hint)
			}
			if err := imageio.SavePNG(filepath.Join(out, "input.png"), img); err != nil {
				return outputError("--out", err)
			}
			sf := systemFlags{out: out, seed: demoSeed, channel: demoChannel, o: o}
			var recs []pipeline.Record
			for _, m := range demoMethods {
				// The transmitter runs once per method; both SNRs reuse it.
				sf.method = m
				tx, err := transmitOne(s, &sf, "demo.png", demoImageID, img)
				if err != nil {
					return err
				}
				for i, snr := range demoSNRs {
					sf.snr = snr
					rec, err := receiveOne(s, &sf, tx, fmt.Sprintf("%s_%s_%gdB", demoImageID, m, snr))
					if err != nil {
						return err
					}
					rec.Reused = i > 0
					recs = append(recs, rec)
				}
			}
			if err := writeJSON(filepath.Join(out, "records.json"), recs); err != nil {
				return outputError("--out", err)
			}
			if asJSON {
				return env.printJSON(recs)
			}
			printDemoTable(env, recs)
			fmt.Fprintf(env.Stdout, "\noutputs in %s (input.png, NAME_recon.png, NAME_slice.png, NAME_blocks.png, NAME_captions.txt, NAME.json, records.json)\n", out)
			if tiny {
				fmt.Fprintf(env.Stdout, `
These models are tiny and have random weights (%s): the reconstructions
are noise and the captions nonsense. The numbers show the machinery, not
the paper's quality. Real models: multisc models pull --out DIR (sources:
multisc models pull --catalogue), then multisc demo --models DIR.
`, modelsDir)
			}
			return nil
		},
	})
}

func demoImage(path string) (image.Image, error) {
	if path == "" {
		return imageio.Decode("the bundled demo picture", bytes.NewReader(demoPNG), imageio.DefaultMaxPixels)
	}
	imgs, err := loadVisionImages([]string{path})
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// cpuHint is the CPU backend's advice when its kernels are slower than the
// CPU allows (a plain go build).
func cpuHint(env *Env) string {
	devs, err := bindings.Devices(env.Threads)
	if err != nil {
		return ""
	}
	for _, d := range devs {
		if d.CPUBackend != nil {
			return d.CPUBackend.SlowHint()
		}
	}
	return ""
}

func printDemoTable(env *Env, recs []pipeline.Record) {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tchannel\tSNR dB\tblocks\tbits\tcosine\tLPIPS\tPSNR\tSSIM\tBLEU rx\tBLEU corr\tseconds")
	for _, r := range recs {
		m := r.Metrics
		fmt.Fprintf(tw, "%s\t%s\t%g\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", r.Method, r.Channel, r.SNR, r.Blocks,
			r.BitsText+r.BitsSlice, f(m.Cosine), f(m.LPIPS), f(m.PSNR), f(m.SSIM), f(m.BLEUReceived), f(m.BLEUCorrected), r.Seconds["total"])
	}
	tw.Flush()
	if len(recs) > 0 {
		fmt.Fprintf(env.Stdout, "cosine similarity over %s embeddings; stages (seconds, first row): %s\n", recs[0].Metrics.Embedder, stageLine(recs[0].Seconds))
	}
}

// stageLine lists the stages in pipeline order.
func stageLine(sec map[string]float64) string {
	var parts []string
	for _, k := range []string{"segment", "detect", "split", "caption", "link", "correct", "encode_image", "generate", "metrics", "total"} {
		if v, ok := sec[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, v))
		}
	}
	return strings.Join(parts, ", ")
}
