package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/models/sd"
	"github.com/multisc/multisc/pipeline"
	"github.com/multisc/multisc/pipeline/channel"
	"github.com/multisc/multisc/pipeline/imageio"
)

// systemFlags are the flags of transmit, receive and run: the models
// folder, the output folder, the seed and every pipeline.SystemOptions
// setting the verb uses.
type systemFlags struct {
	models, out, method, channel, size string
	dataset                            string // the seeds' dataset name (run --dataset)
	seed                               uint64
	snr                                float64
	o                                  pipeline.SystemOptions
}

// Which flag groups a verb takes.
const (
	flagsTransmit = 1 << iota // method, split, caption, slice mode
	flagsReceive              // channel, SNR, link, correction, generation
)

func (sf *systemFlags) add(fs *pflag.FlagSet, which int) {
	fs.StringVar(&sf.models, "models", "", "models folder with models.json (from 'multisc models pull' or 'models synth')")
	fs.StringVar(&sf.out, "out", "", "output folder (made if missing)")
	fs.Uint64Var(&sf.seed, "seed", 0, "base seed (per-image and per-row seeds derive from it as in 'multisc eval')")
	if which&flagsTransmit != 0 {
		fs.StringVar(&sf.method, "method", pipeline.MethodFusion, "method: "+strings.Join(pipeline.Methods, ", "))
		fs.StringVar(&sf.dataset, "dataset", "", "dataset name in the seeds and record (\"\" for loose images; 'multisc eval' rows use the dataset kind, e.g. folder or kodak)")
	}
	if which&flagsReceive != 0 {
		fs.StringVar(&sf.channel, "channel", "awgn", "channel: awgn or rayleigh")
		fs.Float64Var(&sf.snr, "snr", 5, "SNR: Es/N0 in dB")
	}
	sf.addSettings(fs, which)
}

// addSettings registers the pipeline.SystemOptions flags of the groups in
// which (and --size); 'multisc eval' takes them too. It returns their names.
func (sf *systemFlags) addSettings(fs *pflag.FlagSet, which int) []string {
	sf.o = pipeline.DefaultSystemOptions()
	o := &sf.o
	before := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { before[f.Name] = true })
	if which&flagsTransmit != 0 {
		fs.Float64Var(&o.FusionEps, "eps", o.FusionEps, "fusion distance, a fraction of the image diagonal")
		fs.Float64Var(&o.DetectThreshold, "threshold", o.DetectThreshold, "DETR score threshold")
		fs.IntVar(&o.MinBlock, "min-size", o.MinBlock, "minimum block side in pixels")
		fs.IntVar(&o.RandomBlocks, "blocks", o.RandomBlocks, "block count of multisc-random")
		fs.StringVar(&o.CaptionPrompt, "caption-prompt", o.CaptionPrompt, "captioner query (contains <image> once)")
		fs.IntVar(&o.CaptionMaxTokens, "caption-tokens", o.CaptionMaxTokens, "caption length at most, in tokens")
		fs.StringVar(&o.SliceMode, "slice", o.SliceMode, "slice transmission: analog (noisy pixels) or digital (JPEG over LDPC with CRC)")
		fs.IntVar(&o.JPEGQuality, "jpeg-quality", o.JPEGQuality, "digital slice's JPEG quality 1..100")
	}
	if which&flagsReceive != 0 {
		fs.StringVar(&o.Modulation, "modulation", o.Modulation, "modulation: "+strings.Join(channel.ModulationNames(), ", "))
		fs.StringVar(&o.TextCode, "text-code", o.TextCode, "caption code: none (the paper) or ldpc-N-R")
		fs.StringVar(&o.SliceCode, "slice-code", o.SliceCode, "digital slice's LDPC code")
		fs.IntVar(&o.Coherence, "coherence", o.Coherence, "Rayleigh coherence length in symbols (1 = fast fading)")
		fs.IntVar(&o.Beams, "beams", o.Beams, "BART beams (0 = the model's num_beams)")
		fs.IntVar(&o.Steps, "steps", o.Steps, "sampler steps")
		fs.Float64Var(&o.CFG, "cfg", o.CFG, "classifier-free guidance scale")
		fs.StringVar(&o.Sampler, "sampler", o.Sampler, "sampler: "+strings.Join(sd.Samplers, ", "))
		fs.StringVar(&sf.size, "size", "512x512", "generation size WIDTHxHEIGHT, multiples of 8")
		fs.Float64Var(&o.IPScale, "ip-scale", o.IPScale, "IP-Adapter weight λ ≥ 0")
		fs.StringVar(&o.TextMode, "text-mode", o.TextMode, "several captions: chunks (77 tokens each) or join")
		fs.StringVar(&o.Negative, "negative", o.Negative, "negative prompt")
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !before[f.Name] {
			names = append(names, f.Name)
		}
	})
	return names
}

// options checks the settings flags and returns the system's options for
// the methods given, on the global flags' device and threads.
func (sf *systemFlags) options(env *Env, which int, methods []string, metrics bool) (pipeline.SystemOptions, error) {
	o := sf.o
	if which&flagsReceive != 0 {
		w, h, err := parseSize(sf.size)
		if err != nil {
			return o, err
		}
		o.Width, o.Height = w, h
	}
	o.Model = bindings.Options{Device: env.Device, Threads: env.Threads}
	o.Methods = methods
	o.NoMetrics = !metrics
	o.Progress = func(msg string) { fmt.Fprintf(env.Stderr, "multisc: %s\n", msg) }
	return o, o.Check()
}

// open checks the flags and opens the models folder for the methods given.
func (sf *systemFlags) open(env *Env, which int, methods []string, metrics bool) (*pipeline.System, error) {
	if sf.models == "" {
		return nil, badInput("--models DIR is required")
	}
	if sf.out == "" {
		return nil, badInput("--out DIR is required")
	}
	if which&flagsReceive != 0 {
		if _, err := channel.ParseChannel(sf.channel, 1, "zf"); err != nil {
			return nil, err
		}
		if !(sf.snr >= -200 && sf.snr <= 200) {
			return nil, badInput("--snr %v: want a finite Es/N0 in dB within ±200", sf.snr)
		}
	}
	o, err := sf.options(env, which, methods, metrics)
	if err != nil {
		return nil, err
	}
	sf.o.Width, sf.o.Height = o.Width, o.Height
	s, err := pipeline.OpenSystem(sf.models, o)
	if err != nil {
		return nil, err
	}
	if err := prepareOutDir(sf.out); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openSystem opens a models folder as a pipeline.System with the paper's
// default settings (pipeline.DefaultSystemOptions) on the global flags'
// device and threads, for every method: what 'multisc eval' runs rows on
// (*pipeline.System has Transmit and Row, and is an io.Closer). progress,
// when true, prints each stage on stderr.
func openSystem(env *Env, modelsDir string, progress bool) (*pipeline.System, error) {
	o := pipeline.DefaultSystemOptions()
	o.Model = bindings.Options{Device: env.Device, Threads: env.Threads}
	if progress {
		o.Progress = func(msg string) { fmt.Fprintf(env.Stderr, "multisc: %s\n", msg) }
	}
	return pipeline.OpenSystem(modelsDir, o)
}

// prepareOutDir makes the output folder and checks that files can be
// written in it.
func prepareOutDir(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return badInput("--out %s is a file, not a folder", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput("--out %s: %v", dir, err)
	}
	return checkOutput("--out", filepath.Join(dir, ".multisc-probe"))
}

// stems names each input's outputs by its file name without extension;
// two inputs with the same stem would overwrite each other.
func stems(args []string) ([]string, error) {
	seen := map[string]string{}
	var out []string
	for _, a := range args {
		s := strings.TrimSuffix(filepath.Base(a), filepath.Ext(a))
		if prev, ok := seen[s]; ok {
			return nil, badInput("%s and %s would write the same files in --out (same name %q)", prev, a, s)
		}
		seen[s] = a
		out = append(out, s)
	}
	return out, nil
}

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := f.Write(append(b, '\n'))
		return err
	})
}

// writeCaptionsFile writes the captions at each end of the link, one block per
// paragraph.
func writeCaptionsFile(path string, cs []pipeline.CaptionRecord) error {
	var b strings.Builder
	for i, c := range cs {
		fmt.Fprintf(&b, "block %d (%d bit errors)\nsent:      %s\nreceived:  %s\ncorrected: %s\n\n", i, c.BitErrors,
			oneLine(c.Sent), oneLine(c.Received), oneLine(c.Corrected))
	}
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := f.WriteString(b.String())
		return err
	})
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func init() {
	var sf systemFlags
	var asJSON bool
	register(&command{
		Name:  "run",
		Short: "transmit, channel and receive images in one process; write the reconstruction and its record",
		Usage: "IMG... --models DIR --out DIR [--method M] [--channel awgn|rayleigh] [--snr DB] [--seed S] [--json]",
		Long: `Both ends of the Multi-SC system in one process (models load once), per image:
the transmitter (object slice i_m by the FCN; blocks by DETR + fusion split,
or a seeded random split; one caption per block from the captioner, all
blocks in one batch), the link (each caption as UTF-8 bits on its own
channel, uncoded QPSK by default; the slice as noisy analog pixels, or
--slice digital: JPEG + CRC over --slice-code, lost = no slice), the
receiver (BART corrects every caption; SD 1.5 + IP-Adapter draw the
reconstruction from the corrected captions and the received slice) and the
metrics against the image (cosine similarity of embeddings — the embedder
role, else raw pixels; LPIPS; PSNR; SSIM; BLEU of captions).

Methods: multisc-fusion (the paper's proposal), multisc-random (random
split into --blocks blocks), single-text (one caption of the whole image +
slice + IP-Adapter), vlm-csc (one caption, text-only generation, no slice;
the original VLM-CSC used BLIP, ours uses the same captioner as the other
methods).

Seeds follow 'multisc eval': the transmitter's seed is
TransmitSeed(--seed, --dataset, NAME, method), the row's RowSeed(--seed, key),
NAME the image's file name without extension (a dataset's image id), so run
with the sweep's --seed and --dataset (its kind: folder, kodak, voc, coco)
equals the sweep's row.
For each image DIR gets NAME_recon.png (the reconstruction), NAME_slice.png
(the slice sent) and NAME_slice_rx.png (received), NAME_blocks.png (the
blocks over the image), NAME_captions.txt and NAME.json (the record).
Progress lines go to stderr.`,
		Flags: func(fs *pflag.FlagSet) {
			sf.add(fs, flagsTransmit|flagsReceive)
			fs.BoolVar(&asJSON, "json", false, "print the records as a JSON array")
		},
		Run: func(env *Env, args []string) error {
			names, imgs, err := sf.images("run", args)
			if err != nil {
				return err
			}
			s, err := sf.open(env, flagsTransmit|flagsReceive, []string{sf.method}, true)
			if err != nil {
				return err
			}
			defer s.Close()
			var recs []pipeline.Record
			for i, img := range imgs {
				rec, err := runOne(s, &sf, args[i], names[i], img)
				if err != nil {
					return err
				}
				recs = append(recs, rec)
				if !asJSON {
					printRecord(env, rec, filepath.Join(sf.out, names[i]+"_recon.png"))
				}
			}
			if asJSON {
				return env.printJSON(recs)
			}
			return nil
		},
	})
}

// images checks the method and loads the verb's images, with their names
// (file stems).
func (sf *systemFlags) images(verb string, args []string) ([]string, []image.Image, error) {
	if len(args) == 0 {
		return nil, nil, badInput("%s: give at least one image", verb)
	}
	if err := pipeline.CheckMethod(sf.method); err != nil {
		return nil, nil, err
	}
	names, err := stems(args)
	if err != nil {
		return nil, nil, err
	}
	imgs, err := loadVisionImages(args)
	return names, imgs, err
}

func runOne(s *pipeline.System, sf *systemFlags, path, name string, img image.Image) (pipeline.Record, error) {
	tx, err := transmitOne(s, sf, path, name, img)
	if err != nil {
		return pipeline.Record{}, err
	}
	return receiveOne(s, sf, tx, name)
}

// transmitOne runs the transmitter on one image; name is its id (the seeds
// derive from it).
func transmitOne(s *pipeline.System, sf *systemFlags, path, name string, img image.Image) (*pipeline.Transmission, error) {
	req := pipeline.TransmitRequest{Dataset: sf.dataset, ImageID: name, Path: path, Image: img, Method: sf.method,
		Seed: pipeline.TransmitSeed(sf.seed, sf.dataset, name, sf.method)}
	return s.Transmit(req)
}

// receiveOne sends a transmission over sf's channel at sf's SNR, receives
// and scores it, and writes the outputs as DIR/OUTNAME_*.
func receiveOne(s *pipeline.System, sf *systemFlags, tx *pipeline.Transmission, outName string) (pipeline.Record, error) {
	req := tx.Request
	seed := pipeline.RowSeed(sf.seed, pipeline.Key{Dataset: req.Dataset, ImageID: req.ImageID, Method: req.Method, Channel: sf.channel, SNR: sf.snr})
	rec, rx, err := s.RowReception(tx, sf.channel, sf.snr, seed)
	if err != nil {
		return pipeline.Record{}, err
	}
	name := outName
	base := filepath.Join(sf.out, name)
	var rects []image.Rectangle
	for _, b := range tx.Blocks {
		rects = append(rects, b.Rect)
	}
	if err := imageio.SavePNG(base+"_recon.png", rx.Image); err != nil {
		return rec, outputError("--out", err)
	}
	if tx.Slice != nil {
		if err := imageio.SavePNG(base+"_slice.png", tx.Slice); err != nil {
			return rec, outputError("--out", err)
		}
	}
	if rx.Link.Slice != nil {
		if err := imageio.SavePNG(base+"_slice_rx.png", rx.Link.Slice); err != nil {
			return rec, outputError("--out", err)
		}
	}
	if err := imageio.SavePNG(base+"_blocks.png", pipeline.DrawBoxes(tx.Request.Image, rects)); err != nil {
		return rec, outputError("--out", err)
	}
	if err := writeCaptionsFile(base+"_captions.txt", rec.Captions); err != nil {
		return rec, outputError("--out", err)
	}
	if err := writeJSON(base+".json", rec); err != nil {
		return rec, outputError("--out", err)
	}
	return rec, nil
}

func printRecord(env *Env, r pipeline.Record, recon string) {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *p)
	}
	m := r.Metrics
	fmt.Fprintf(env.Stdout, "%s: %s, %s %g dB: %d block(s), %d text + %d slice bits -> %s\n", r.Image, r.Method, r.Channel, r.SNR,
		r.Blocks, r.BitsText, r.BitsSlice, recon)
	fmt.Fprintf(env.Stdout, "  cosine %s (%s)  lpips %s  psnr %s  ssim %s  bleu received %s corrected %s  total %.2f s\n",
		f(m.Cosine), m.Embedder, f(m.LPIPS), f(m.PSNR), f(m.SSIM), f(m.BLEUReceived), f(m.BLEUCorrected), r.Seconds["total"])
}
