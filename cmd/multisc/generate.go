package main

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/ipadapter"
	"github.com/multisc/multisc/models/sd"
	"github.com/multisc/multisc/pipeline/imageio"
)

// generateReport is `generate --json`: what was made, by what, and how long
// each stage took (seconds).
type generateReport struct {
	Out       string    `json:"out"`
	Model     string    `json:"model"`
	Device    string    `json:"device"`
	Prompt    string    `json:"prompt"`
	Prompts   []string  `json:"prompts,omitempty"`
	TextMode  string    `json:"text_mode,omitempty"`
	IPAdapter string    `json:"ip_adapter,omitempty"`
	IPImage   string    `json:"ip_image,omitempty"`
	IPScale   float64   `json:"ip_scale,omitempty"`
	IPEncode  float64   `json:"ip_encode_s,omitempty"`
	Negative  string    `json:"negative"`
	Init      string    `json:"init,omitempty"`
	Strength  float64   `json:"strength,omitempty"`
	Sampler   string    `json:"sampler"`
	Steps     int       `json:"steps"`
	CFG       float64   `json:"cfg"`
	Seed      uint64    `json:"seed"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Truncated []string  `json:"truncated,omitempty"`
	Load      float64   `json:"load_s"`
	Text      float64   `json:"text_encode_s"`
	VAEEncode float64   `json:"vae_encode_s,omitempty"`
	UNetSteps []float64 `json:"unet_steps_s"`
	VAEDecode float64   `json:"vae_decode_s"`
	Total     float64   `json:"total_s"`
}

// parseSize reads WxH.
func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil {
		return 0, 0, badInput("--size %q: want WIDTHxHEIGHT, e.g. 512x512", s)
	}
	if w <= 0 || h <= 0 || w%8 != 0 || h%8 != 0 {
		return 0, 0, badInput("--size %q: width and height must be positive multiples of 8", s)
	}
	return w, h, nil
}

func init() {
	var req sd.Request
	var modelPath, initPath, size, out string
	var prompts []string
	var ipPath, encPath, ipImage string
	var ipScale float64
	var asJSON bool
	var flags *pflag.FlagSet
	register(&command{
		Name:  "generate",
		Short: "Stable Diffusion 1.5 text-to-image and image-to-image",
		Usage: "--model sd15.gguf --prompt TEXT --out OUT.png [flags]",
		Long: `Runs SD 1.5 (an sd15 GGUF: convert a checkpoint or synth one): the CLIP text
encoder on the prompt and the negative prompt (cond and uncond in one batch of
2 for classifier-free guidance), the sampler's UNet steps, the VAE decoder.
With --init the image is VAE-encoded, noised to the strength's starting step,
and denoised from there. Prompts longer than 77 tokens are truncated (a note
says so). Noise comes from Go's PCG generator seeded by --seed: the same seed
gives the same PNG bytes on the CPU. Samplers: ` + strings.Join(sd.Samplers, ", ") + `.

Several --prompt flags are the block captions t_1..t_n (in the order given):
--text-mode join encodes them as one prompt joined with ", " (77 tokens in
all), --text-mode chunks encodes each as its own 77-token sequence and
concatenates the encodings along the sequence axis.

Image prompt (IP-Adapter, ip-adapter_sd15): --ip-adapter (an ipadapter GGUF),
--image-encoder (its CLIP ViT-H/14 image encoder: a clip GGUF converted from
the release's models/image_encoder folder) and --ip-image (the image) add
IP-Adapter's decoupled cross-attention to every UNet cross-attention, weighted
by --ip-scale (0 gives exactly the image without the adapter).`,
		Flags: func(fs *pflag.FlagSet) {
			flags = fs
			fs.StringVar(&modelPath, "model", "", "SD 1.5 model (GGUF, architecture sd15)")
			fs.StringArrayVar(&prompts, "prompt", nil, "what to draw; repeat for several captions (see --text-mode)")
			fs.StringVar(&req.TextMode, "text-mode", sd.TextJoin, "several prompts: join (one 77-token prompt) or chunks (77 tokens each, concatenated)")
			fs.StringVar(&ipPath, "ip-adapter", "", "IP-Adapter model (GGUF, architecture ipadapter)")
			fs.StringVar(&encPath, "image-encoder", "", "the IP-Adapter's CLIP image encoder (GGUF, architecture clip, no projector)")
			fs.StringVar(&ipImage, "ip-image", "", "image prompt for the IP-Adapter (PNG, JPEG, ...)")
			fs.Float64Var(&ipScale, "ip-scale", 0.6, "IP-Adapter weight λ ≥ 0 (0: no effect)")
			fs.StringVar(&req.Negative, "negative", "", "negative prompt (the unconditional branch of guidance)")
			fs.StringVar(&initPath, "init", "", "img2img: start image (PNG, JPEG, ...), resized to --size")
			fs.Float64Var(&req.Strength, "strength", 0.75, "img2img: how far to move from --init, 0..1")
			fs.IntVar(&req.Steps, "steps", 20, "sampler steps")
			fs.Float64Var(&req.CFG, "cfg", 7.5, "classifier-free guidance scale (≤ 1: no guidance)")
			fs.StringVar(&req.Sampler, "sampler", "euler_a", "sampler: "+strings.Join(sd.Samplers, ", "))
			fs.Uint64Var(&req.Seed, "seed", 42, "noise seed")
			fs.StringVar(&size, "size", "512x512", "image size WIDTHxHEIGHT, multiples of 8")
			fs.IntVar(&req.ClipSkip, "clip-skip", 1, "text encoder layer: 1 the last, 2 the penultimate")
			fs.StringVar(&out, "out", "", "output PNG")
			fs.BoolVar(&asJSON, "json", false, "print a JSON report with per-stage timing")
		},
		Run: func(env *Env, args []string) error {
			// fields no flag sets: reset, as the command may run more than once per process (tests)
			req.Init, req.IP, req.Prompt, req.Prompts = nil, nil, "", nil
			if len(args) != 0 {
				return badInput("generate takes no positional arguments (got %q)", args[0])
			}
			switch {
			case modelPath == "":
				return badInput("--model is required")
			case out == "":
				return badInput("--out is required")
			case req.Steps <= 0:
				return badInput("--steps %d: want at least 1", req.Steps)
			case req.CFG < 0 || math.IsNaN(req.CFG) || math.IsInf(req.CFG, 0):
				return badInput("--cfg %v: want a finite value ≥ 0", req.CFG)
			case req.Strength < 0 || req.Strength > 1 || math.IsNaN(req.Strength):
				return badInput("--strength %v: want a value in [0, 1]", req.Strength)
			case flags.Changed("strength") && initPath == "":
				return badInput("--strength needs --init")
			case !slices.Contains(sd.Samplers, req.Sampler):
				return badInput("--sampler %q: unknown (known: %s)", req.Sampler, strings.Join(sd.Samplers, ", "))
			case req.ClipSkip < 1:
				return badInput("--clip-skip %d: want 1 or more", req.ClipSkip)
			case req.TextMode != sd.TextJoin && req.TextMode != sd.TextChunks:
				return badInput("--text-mode %q: want %s or %s", req.TextMode, sd.TextJoin, sd.TextChunks)
			case ipScale < 0 || math.IsNaN(ipScale) || math.IsInf(ipScale, 0):
				return badInput("--ip-scale %v: want a finite value ≥ 0", ipScale)
			case (ipPath != "" || encPath != "" || ipImage != "") && (ipPath == "" || encPath == "" || ipImage == ""):
				return badInput("--ip-adapter, --image-encoder and --ip-image go together (all three or none)")
			case flags.Changed("ip-scale") && ipPath == "":
				return badInput("--ip-scale needs --ip-adapter")
			}
			switch len(prompts) {
			case 0:
			case 1:
				req.Prompt = prompts[0]
			default:
				req.Prompt, req.Prompts = strings.Join(prompts, ", "), prompts
			}
			if _, err := sd.NewPlan(req.Sampler, req.Steps); err != nil {
				return badInput("--steps: %v", err)
			}
			var err error
			if req.Width, req.Height, err = parseSize(size); err != nil {
				return err
			}
			if err := checkOutput("--out", out); err != nil {
				return err
			}
			if initPath != "" {
				if req.Init, err = imageio.Load(initPath); err != nil {
					return err
				}
			}
			var slice image.Image
			if ipImage != "" {
				if slice, err = imageio.Load(ipImage); err != nil {
					return err
				}
			}
			t0 := time.Now()
			g, err := sd.OpenGenerator(modelPath, bindings.Options{Device: env.Device, Threads: env.Threads})
			if err != nil {
				return err
			}
			defer g.Close()
			var ipEncode time.Duration
			if ipPath != "" {
				ip, close, d, err := imagePrompt(env, g, ipPath, encPath, slice, ipScale)
				if err != nil {
					return err
				}
				defer close()
				req.IP, ipEncode = ip, d
			}
			load := time.Since(t0) - ipEncode
			bar := env.progress(int64(req.Steps), "generate")
			last := time.Now()
			req.Progress = func(p sd.Progress) {
				if p.Stage != "unet" {
					return
				}
				bar.ChangeMax(p.Steps)
				bar.Describe(fmt.Sprintf("step %d/%d, %.2f s/it", p.Step, p.Steps, time.Since(last).Seconds()))
				last = time.Now()
				bar.Add(1)
			}
			res, err := g.Generate(req)
			bar.Finish()
			if err != nil {
				return err
			}
			if err := imageio.SavePNG(out, res.Image); err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			for _, what := range res.Truncated {
				fmt.Fprintf(env.Stderr, "multisc: note: the %s was truncated to 77 tokens (SD 1.5's limit; --text-mode chunks gives each caption 77)\n", what)
			}
			if !asJSON {
				fmt.Fprintf(env.Stdout, "wrote %s (%dx%d, %s×%d, cfg %g, seed %d) in %.2f s\n",
					out, req.Width, req.Height, req.Sampler, req.Steps, req.CFG, req.Seed, res.Timing.Total.Seconds())
				return nil
			}
			r := generateReport{Out: out, Model: modelPath, Device: g.Loaded().Device, Prompt: req.Prompt, Negative: req.Negative,
				Sampler: req.Sampler, Steps: req.Steps, CFG: req.CFG, Seed: req.Seed, Width: req.Width, Height: req.Height,
				Truncated: res.Truncated, Load: load.Seconds(), Text: res.Timing.TextEncode.Seconds(),
				VAEEncode: res.Timing.VAEEncode.Seconds(), VAEDecode: res.Timing.VAEDecode.Seconds(), Total: res.Timing.Total.Seconds(),
				UNetSteps: []float64{}}
			if initPath != "" {
				r.Init, r.Strength = initPath, req.Strength
			}
			if len(req.Prompts) > 0 {
				r.Prompts, r.TextMode = req.Prompts, req.TextMode
			}
			if ipPath != "" {
				r.IPAdapter, r.IPImage, r.IPScale, r.IPEncode = ipPath, ipImage, ipScale, ipEncode.Seconds()
			}
			for _, d := range res.Timing.UNetSteps {
				r.UNetSteps = append(r.UNetSteps, d.Seconds())
			}
			return env.printJSON(r)
		},
	})
}

// imagePrompt opens the IP-Adapter and its image encoder, checks them
// against the UNet and each other, and encodes the image prompt. close
// frees both files; d is the time the encoding took.
func imagePrompt(env *Env, g *sd.Generator, ipPath, encPath string, img image.Image, scale float64) (*sd.IPInput, func(), time.Duration, error) {
	o := bindings.Options{Device: env.Device, Threads: env.Threads}
	a, err := ipadapter.Open(ipPath, o)
	if err != nil {
		return nil, nil, 0, err
	}
	e, err := clip.OpenVision(encPath, o)
	if err != nil {
		a.Close()
		return nil, nil, 0, err
	}
	closeAll := func() { e.Close(); a.Close() }
	if err := a.CheckUNet(g.UNet.UNetOptions); err != nil {
		closeAll()
		return nil, nil, 0, err
	}
	if err := a.CheckEncoder(e); err != nil {
		closeAll()
		return nil, nil, 0, badInput("--image-encoder %s: %v", encPath, err)
	}
	t := time.Now()
	ip, err := a.Prompt(ipadapter.EncodeImage(e, img), scale)
	if err != nil {
		closeAll()
		return nil, nil, 0, err
	}
	return ip, closeAll, time.Since(t), nil
}
