package sd

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"time"

	"github.com/ollama/ollama/ml"
	"golang.org/x/image/draw"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// Request is one generation.
type Request struct {
	Prompt   string
	Negative string      // the unconditional prompt of classifier-free guidance ("" = empty prompt)
	Init     image.Image // img2img: the start image (resized to Width×Height), or nil
	Strength float64     // img2img: 0 keeps the init image, 1 ignores it
	Steps    int
	CFG      float64 // guidance scale; ≤ 1 runs the conditional branch alone
	Sampler  string  // one of Samplers
	Seed     uint64
	Width    int // pixels, multiples of the VAE factor (8 for SD 1.5)
	Height   int
	ClipSkip int // 1 (default, last layer) or 2 (penultimate)

	// Prompts, when set, are several captions (the receiver's block
	// captions t_1..t_n, eq. 7, in the caller's block order) used instead
	// of Prompt, combined as TextMode says: "join" (default) encodes them
	// as one prompt joined with ", " (77 tokens in all; a cut is reported
	// in Result.Truncated), "chunks" encodes each caption as its own
	// 77-token sequence and concatenates the encodings along the sequence
	// axis (77·n context tokens; the negative prompt's encoding is repeated
	// n times so that both guidance branches have the same length).
	Prompts  []string
	TextMode string

	// IP, when set, is an image prompt (models/ipadapter): IP-Adapter's
	// decoupled cross-attention in every attn2 of the UNet.
	IP *IPInput

	// Progress, when set, is called after each stage and UNet step.
	Progress func(Progress)
}

// Progress reports where a generation is.
type Progress struct {
	Stage   string // "text", "vae_encode", "unet", "vae_decode"
	Step    int    // UNet steps done (stage "unet")
	Steps   int    // UNet steps in all
	Elapsed time.Duration
}

// Timing is the per-stage wall time of one generation.
type Timing struct {
	TextEncode time.Duration   `json:"text_encode_ns"`
	VAEEncode  time.Duration   `json:"vae_encode_ns,omitempty"`
	UNetSteps  []time.Duration `json:"unet_steps_ns"`
	VAEDecode  time.Duration   `json:"vae_decode_ns"`
	Total      time.Duration   `json:"total_ns"`
}

// Result is a generated image with its timing.
type Result struct {
	Image     *image.NRGBA
	Latents   []float32 // final latents [W/8, H/8, 4] (scaled, before decoding)
	Timing    Timing
	Truncated []string // "prompt" / "negative" when cut to 77 tokens
}

// IPInput is an image prompt's keys and values for every cross-attention
// (see IPCond), computed once per image: Cond from the image embedding,
// Uncond from a zero embedding (the unconditional branch of guidance).
// Each entry is one layer's [W, N] keys and values, host order.
type IPInput struct {
	Scale        float64
	Tokens       int
	Cond, Uncond []IPHostKV
}

// IPHostKV is one layer's image keys and values, [W, N] each.
type IPHostKV struct {
	Key, Value []float32
}

// Text modes of Request.TextMode.
const (
	TextJoin   = "join"
	TextChunks = "chunks"
)

// Generator runs SD 1.5 requests on a loaded model; the weights stay loaded
// across calls. It is not safe for concurrent use.
type Generator struct {
	*Model
	loaded *bindings.Loaded
}

// OpenGenerator loads an sd15 GGUF file.
func OpenGenerator(path string, o bindings.Options) (*Generator, error) {
	o.Arch = Arch
	l, err := bindings.Open(path, o)
	if err != nil {
		return nil, err
	}
	return &Generator{Model: l.Model.(*Model), loaded: l}, nil
}

// Loaded is the opened file (device, memory report).
func (g *Generator) Loaded() *bindings.Loaded { return g.loaded }

// Close frees the model.
func (g *Generator) Close() { g.loaded.Close() }

// Check validates a request against the model; errors are bad input.
func (m *Model) Check(r *Request) error {
	f := m.VAE.Factor()
	switch {
	case r.Width <= 0 || r.Height <= 0 || r.Width%f != 0 || r.Height%f != 0:
		return badinput.Errorf("size %dx%d: width and height must be positive multiples of %d", r.Width, r.Height, f)
	case r.Steps <= 0:
		return badinput.Errorf("steps %d: want at least 1", r.Steps)
	case r.Steps > TrainSteps:
		return badinput.Errorf("steps %d: want at most %d", r.Steps, TrainSteps)
	case r.CFG < 0 || math.IsNaN(r.CFG) || math.IsInf(r.CFG, 0):
		return badinput.Errorf("cfg %v: want a finite value ≥ 0", r.CFG)
	case r.Init != nil && (r.Strength < 0 || r.Strength > 1 || math.IsNaN(r.Strength)):
		return badinput.Errorf("strength %v: want a value in [0, 1]", r.Strength)
	case r.ClipSkip < 0 || r.ClipSkip > len(m.Text.Encoder.Layers):
		return badinput.Errorf("clip skip %d: want 1..%d", r.ClipSkip, len(m.Text.Encoder.Layers))
	case r.TextMode != "" && r.TextMode != TextJoin && r.TextMode != TextChunks:
		return badinput.Errorf("text mode %q: want %s or %s", r.TextMode, TextJoin, TextChunks)
	}
	if err := m.checkIP(r.IP); err != nil {
		return err
	}
	if _, err := NewPlan(r.Sampler, r.Steps); err != nil {
		return badinput.Errorf("sampler %q: unknown (known: %s)", r.Sampler, strings.Join(Samplers, ", "))
	}
	return nil
}

// EncodeText returns the hidden states [D, 77, len(prompts)] of prompts
// (host order) and which were truncated to fit 77 tokens (SD 1.5 truncates;
// it does not chunk).
func (m *Model) EncodeText(prompts []string, skip int) ([]float32, []bool) {
	n := m.Options.Text.Positions
	var ids []int32
	var trunc []bool
	for _, p := range prompts {
		t, tr := m.Tokenizer.EncodePadded(p, n)
		ids = append(ids, t...)
		trunc = append(trunc, tr)
	}
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{m.Text.Forward(ctx, ctx.Input().FromInts(ids, n, len(prompts)), max(skip, 1))}
	})
	return out[0], trunc
}

// UNetEps runs the UNet on σ-space latents x (w×h×4, host order) at step
// (t, σ) with contexts [D, 77, B] (B = 1: cond; B = 2: uncond, cond) and
// returns the guided ε prediction.
func (m *Model) UNetEps(x []float64, w, h int, t, sigma float64, contexts []float32, batch int, cfg float64) []float64 {
	return m.UNetEpsIP(x, w, h, t, sigma, contexts, batch, cfg, nil)
}

// UNetEpsIP is UNetEps with an image prompt (nil: none).
func (m *Model) UNetEpsIP(x []float64, w, h int, t, sigma float64, contexts []float32, batch int, cfg float64, ip *IPInput) []float64 {
	in := make([]float32, len(x)*batch)
	scale := 1 / math.Sqrt(sigma*sigma+1)
	for b := range batch {
		for i, v := range x {
			in[b*len(x)+i] = float32(v * scale)
		}
	}
	d := m.Options.Text.Width
	n := len(contexts) / (d * batch)
	ts := make([]float64, batch)
	for i := range ts {
		ts[i] = t
	}
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		xT := ctx.Input().FromFloats(in, w, h, m.UNet.InChannels, batch)
		cT := ctx.Input().FromFloats(contexts, d, n, batch)
		return []ml.Tensor{m.UNet.ForwardIP(ctx, xT, ts, cT, ipCond(ctx, ip, batch))}
	})
	eps := make([]float64, len(x))
	if batch == 1 {
		for i := range eps {
			eps[i] = float64(out[0][i])
		}
		return eps
	}
	u, c := out[0][:len(x)], out[0][len(x):]
	for i := range eps {
		eps[i] = float64(u[i]) + cfg*(float64(c[i])-float64(u[i]))
	}
	return eps
}

// Sample runs a plan from the σ-space state x (modified in place) and
// returns the latents (x·FinalScale). step, when set, is called after each
// UNet step with its index and duration.
func (m *Model) Sample(p Plan, x []float64, w, h int, contexts []float32, batch int, cfg float64, noise Noise, step func(int, time.Duration)) []float64 {
	return m.SampleIP(p, x, w, h, contexts, batch, cfg, nil, noise, step)
}

// SampleIP is Sample with an image prompt (nil: none).
func (m *Model) SampleIP(p Plan, x []float64, w, h int, contexts []float32, batch int, cfg float64, ip *IPInput, noise Noise, step func(int, time.Duration)) []float64 {
	s := &Stepper{Plan: p}
	for i, t := range p.Timesteps {
		start := time.Now()
		eps := m.UNetEpsIP(x, w, h, t, p.Sigmas[i], contexts, batch, cfg, ip)
		s.Step(i, x, eps, func() []float64 { return noise.Stream(StreamAncestral+uint64(i), len(x)) })
		if step != nil {
			step(i, time.Since(start))
		}
	}
	if len(p.Timesteps) > 0 {
		for i := range x {
			x[i] *= p.FinalScale
		}
	}
	return x
}

// Generate runs one request: text encoding (negative and prompt in one
// batch), optional VAE encoding of the init image, the sampler's UNet steps
// with classifier-free guidance as a batch of 2, VAE decoding.
func (g *Generator) Generate(r Request) (_ *Result, err error) {
	defer bindings.RecoverCompute(&err)
	m := g.Model
	if r.Sampler == "" {
		r.Sampler = "euler_a"
	}
	if r.ClipSkip == 0 {
		r.ClipSkip = 1
	}
	if err := m.Check(&r); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res := &Result{}
	report := func(stage string, step, steps int) {
		if r.Progress != nil {
			r.Progress(Progress{Stage: stage, Step: step, Steps: steps, Elapsed: time.Since(t0)})
		}
	}
	batch := 1
	if r.CFG > 1 {
		batch = 2
	}
	contexts, truncated := m.encodeRequest(&r, batch)
	res.Truncated = truncated
	res.Timing.TextEncode = time.Since(t0)
	report("text", 0, r.Steps)

	f := m.VAE.Factor()
	w, h := r.Width/f, r.Height/f
	n := w * h * m.VAE.ZChannels
	noise := Noise{Seed: r.Seed}
	plan, _ := NewPlan(r.Sampler, r.Steps)
	x := noise.Stream(StreamLatents, n)
	if r.Init != nil {
		t := time.Now()
		init := m.EncodeImage(r.Init, r.Width, r.Height, noise)
		res.Timing.VAEEncode = time.Since(t)
		report("vae_encode", 0, r.Steps)
		plan = plan.Img2Img(r.Strength)
		sig := 0.0
		if len(plan.Sigmas) > 0 {
			sig = plan.Sigmas[0]
		}
		// x_σ = x₀ + σ·noise: diffusers' add_noise in σ space (for DDIM,
		// √ᾱ·x₀ + √(1−ᾱ)·noise divided by √ᾱ).
		for i := range x {
			x[i] = init[i] + sig*x[i]
		}
	} else {
		for i := range x {
			x[i] *= plan.InitScale
		}
	}
	steps := len(plan.Timesteps)
	lat := m.SampleIP(plan, x, w, h, contexts, batch, r.CFG, r.IP, noise, func(i int, d time.Duration) {
		res.Timing.UNetSteps = append(res.Timing.UNetSteps, d)
		report("unet", i+1, steps)
	})
	res.Latents = make([]float32, len(lat))
	for i, v := range lat {
		res.Latents[i] = float32(v)
	}
	t := time.Now()
	res.Image = m.DecodeLatents(res.Latents, w, h)
	res.Timing.VAEDecode = time.Since(t)
	report("vae_decode", steps, steps)
	res.Timing.Total = time.Since(t0)
	return res, nil
}

// EncodeImage resizes img to w×h (Catmull-Rom), maps it to [−1, 1] and
// returns the scaled posterior sample (mean + e^{logvar/2}·noise)·scale.
func (m *Model) EncodeImage(img image.Image, w, h int, noise Noise) []float64 {
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		img = dst
	}
	px := bindings.PlanarRGB(img)
	for i := range px {
		px[i] = 2*px[i] - 1
	}
	out, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		mean, logvar := m.VAE.Encode(ctx, ctx.Input().FromFloats(px, w, h, 3, 1))
		return []ml.Tensor{mean, logvar}
	})
	mean, logvar := out[0], out[1]
	eps := noise.Stream(StreamPosterior, len(mean))
	z := make([]float64, len(mean))
	for i := range z {
		lv := math.Max(-30, math.Min(20, float64(logvar[i]))) // DiagonalGaussianDistribution's clamp
		z[i] = (float64(mean[i]) + math.Exp(lv/2)*eps[i]) * float64(m.VAE.Scale)
	}
	return z
}

// ToImage maps planar RGB [W, H, 3] in [−1, 1] to 8-bit pixels:
// round(clamp((v+1)/2, 0, 1)·255), as diffusers' postprocessing.
func ToImage(px []float32, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	q := func(v float32) uint8 {
		f := math.Max(0, math.Min(1, (float64(v)+1)/2))
		return uint8(math.Round(f * 255))
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			img.SetNRGBA(x, y, color.NRGBA{q(px[i]), q(px[w*h+i]), q(px[2*w*h+i]), 255})
		}
	}
	return img
}

// String names a request in logs.
func (r Request) String() string {
	return fmt.Sprintf("%dx%d %s×%d cfg %.2g seed %d", r.Width, r.Height, r.Sampler, r.Steps, r.CFG, r.Seed)
}
