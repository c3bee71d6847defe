package pipeline

import (
	"fmt"
	"image"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/bart"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/detr"
	"github.com/multisc/multisc/models/fcn"
	"github.com/multisc/multisc/models/ipadapter"
	"github.com/multisc/multisc/models/llava"
	"github.com/multisc/multisc/models/lpips"
	"github.com/multisc/multisc/models/sd"
	"github.com/multisc/multisc/pipeline/channel"
	"github.com/multisc/multisc/pipeline/metrics"
	"github.com/multisc/multisc/pipeline/models"
)

// The system's model roles, each behind a small interface so that a method
// is a composition of roles and tests can substitute fakes (set the
// System's field before first use).

// Segmenter labels every pixel (row-major class indices, 0 = background).
type Segmenter interface {
	SegmentLabels(img image.Image) (labels []uint8, classes []string, err error)
}

// Detector finds object boxes in image coordinates.
type Detector interface {
	DetectBoxes(img image.Image) ([]image.Rectangle, error)
}

// Captioner describes images, all of them in one call (one batch).
type Captioner interface {
	CaptionImages(imgs []image.Image) ([]string, error)
}

// Corrector repairs noisy captions, all of them in one call.
type Corrector interface {
	CorrectTexts(texts []string) ([]string, error)
}

// ImageEncoder is the IP-Adapter's image encoder: an image's embedding.
type ImageEncoder interface {
	EncodeImage(img image.Image) ([]float32, error)
}

// GenerateRequest is one reconstruction: the receiver's captions (one or
// more: several use the multi-text conditioning), the image prompt's
// embedding (nil: text-only generation) and the latent noise seed.
type GenerateRequest struct {
	Captions       []string
	ImageEmbedding []float32
	Seed           uint64
}

// Generator draws the reconstruction (SD 1.5, with the IP-Adapter when an
// image embedding is given).
type Generator interface {
	GenerateImage(r GenerateRequest) (image.Image, error)
}

// Perceptual is the LPIPS distance.
type Perceptual interface {
	Distance(a, b image.Image) (float64, error)
}

// Slice modes of SystemOptions.SliceMode.
const (
	SliceAnalog  = "analog"  // the slice's 8-bit RGB samples sent as analog symbols (noisy pixels)
	SliceDigital = "digital" // the slice as JPEG bytes over an LDPC code with a CRC; lost = no slice
)

// SystemOptions are every setting of the transmitter, link and receiver.
// DefaultSystemOptions gives the paper's defaults.
type SystemOptions struct {
	Model bindings.Options // device and threads for every model (Arch is ignored)

	// Generation (receiver).
	Steps         int
	CFG           float64
	Sampler       string
	Width, Height int // generation size in pixels (multiples of 8)
	IPScale       float64
	TextMode      string // sd.TextChunks (default) or sd.TextJoin for several captions
	Negative      string

	// Captioning (transmitter).
	CaptionPrompt    string // must hold llava.ImageMarker once
	CaptionMaxTokens int

	// Correction: BART beams (0 = the model's num_beams).
	Beams int

	// Link.
	Modulation  string // bpsk, qpsk, 16qam, 64qam
	TextCode    string // "none" (the paper: uncoded) or an LDPC name (channel.CodeNames)
	SliceMode   string // SliceAnalog or SliceDigital
	SliceCode   string // digital slice's LDPC code
	JPEGQuality int    // digital slice's JPEG quality, 1..100
	Coherence   int    // Rayleigh coherence length in symbols

	// Split.
	FusionEps       float64 // fusion distance, a fraction of the image diagonal
	DetectThreshold float64 // DETR score threshold
	MinBlock        int     // minimum block side in pixels
	RandomBlocks    int     // block count of multisc-random

	// Methods the system must be able to run; OpenSystem checks their
	// roles (nil: every method).
	Methods []string
	// NoMetrics: the system will not score reconstructions (no lpips role
	// needed).
	NoMetrics bool

	// Progress, when set, gets one line per stage of long work.
	Progress func(msg string)
}

// DefaultSystemOptions are the paper's settings: 20 euler_a steps at 512²,
// CFG 7.5, IP-Adapter scale 0.6, each caption its own 77-token chunk, the
// paper's caption query, QPSK uncoded text, analog slice.
func DefaultSystemOptions() SystemOptions {
	return SystemOptions{
		Model: bindings.Options{Device: "auto"},
		Steps: 20, CFG: 7.5, Sampler: "euler_a", Width: 512, Height: 512, IPScale: 0.6, TextMode: sd.TextChunks,
		CaptionPrompt: llava.PaperQuery, CaptionMaxTokens: 64,
		Modulation: "qpsk", TextCode: "none", SliceMode: SliceAnalog, SliceCode: "ldpc-1944-1/2", JPEGQuality: 75, Coherence: 1,
		FusionEps: 0.1, DetectThreshold: 0.7, MinBlock: 32, RandomBlocks: 4,
	}
}

// Check validates the options; errors are bad input naming the setting.
func (o *SystemOptions) Check() error {
	switch {
	case o.Steps < 1:
		return badinput.Errorf("--steps %d: want at least 1", o.Steps)
	case !(o.CFG >= 0) || math.IsInf(o.CFG, 0):
		return badinput.Errorf("--cfg %v: want a finite value ≥ 0", o.CFG)
	case !slices.Contains(sd.Samplers, o.Sampler):
		return badinput.Errorf("--sampler %q: unknown (known: %s)", o.Sampler, strings.Join(sd.Samplers, ", "))
	case o.Width <= 0 || o.Height <= 0 || o.Width%8 != 0 || o.Height%8 != 0:
		return badinput.Errorf("--size %dx%d: width and height must be positive multiples of 8", o.Width, o.Height)
	case !(o.IPScale >= 0) || math.IsInf(o.IPScale, 0):
		return badinput.Errorf("--ip-scale %v: want a finite value ≥ 0", o.IPScale)
	case o.TextMode != sd.TextJoin && o.TextMode != sd.TextChunks:
		return badinput.Errorf("--text-mode %q: want %s or %s", o.TextMode, sd.TextJoin, sd.TextChunks)
	case strings.Count(o.CaptionPrompt, llava.ImageMarker) != 1:
		return badinput.Errorf("--caption-prompt %q: must contain %s exactly once", o.CaptionPrompt, llava.ImageMarker)
	case o.CaptionMaxTokens < 1:
		return badinput.Errorf("--caption-tokens %d: want at least 1", o.CaptionMaxTokens)
	case o.Beams < 0:
		return badinput.Errorf("--beams %d: want ≥ 0", o.Beams)
	case o.SliceMode != SliceAnalog && o.SliceMode != SliceDigital:
		return badinput.Errorf("--slice %q: want %s or %s", o.SliceMode, SliceAnalog, SliceDigital)
	case o.JPEGQuality < 1 || o.JPEGQuality > 100:
		return badinput.Errorf("--jpeg-quality %d: want 1..100", o.JPEGQuality)
	case o.Coherence < 1 || o.Coherence > 1<<24:
		return badinput.Errorf("--coherence %d: want 1..%d symbols", o.Coherence, 1<<24)
	case !(o.FusionEps > 0) || math.IsInf(o.FusionEps, 0):
		return badinput.Errorf("--eps %v: want a positive fraction of the image diagonal", o.FusionEps)
	case !(o.DetectThreshold >= 0 && o.DetectThreshold < 1):
		return badinput.Errorf("--threshold %v: want a score in [0, 1)", o.DetectThreshold)
	case o.MinBlock < 0:
		return badinput.Errorf("--min-size %d: want ≥ 0", o.MinBlock)
	case o.RandomBlocks < 1:
		return badinput.Errorf("--blocks %d: want at least 1", o.RandomBlocks)
	}
	if _, err := sd.NewPlan(o.Sampler, o.Steps); err != nil {
		return badinput.Errorf("--steps: %v", err)
	}
	if _, err := channel.ParseModulation(o.Modulation); err != nil {
		return err
	}
	if _, err := channel.ParseCode(o.TextCode); err != nil {
		return badinput.Errorf("text code: %v", err)
	}
	if c, err := channel.ParseCode(o.SliceCode); err != nil {
		return badinput.Errorf("slice code: %v", err)
	} else if c == nil && o.SliceMode == SliceDigital {
		return badinput.Errorf("--slice-code none: the digital slice needs an LDPC code (%s)", strings.Join(channel.CodeNames()[1:], ", "))
	}
	for _, m := range o.Methods {
		if err := CheckMethod(m); err != nil {
			return err
		}
	}
	return nil
}

// CheckMethod says whether m is a method name.
func CheckMethod(m string) error {
	if !slices.Contains(Methods, m) {
		return badinput.Errorf("--method %q: unknown (want one of %s)", m, strings.Join(Methods, ", "))
	}
	return nil
}

// MethodRoles lists the roles a method needs (metrics aside).
func MethodRoles(method string) []models.Role {
	switch method {
	case MethodFusion:
		return []models.Role{models.Segmenter, models.Detector, models.Captioner, models.Corrector, models.Generator, models.IPAdapter, models.ImageEncoder}
	case MethodRandom, MethodSingleText:
		return []models.Role{models.Segmenter, models.Captioner, models.Corrector, models.Generator, models.IPAdapter, models.ImageEncoder}
	case MethodVLMCSC:
		return []models.Role{models.Captioner, models.Corrector, models.Generator}
	}
	return nil
}

// usesSlice reports whether a method sends the object slice (and conditions
// the generation on it through the IP-Adapter).
func usesSlice(method string) bool { return method != MethodVLMCSC }

// System is an opened models folder: the transmitter and receiver of every
// method. Each model loads on first use and stays resident until Close;
// a System is not safe for concurrent use.
type System struct {
	Set  *models.Set
	Opts SystemOptions

	// The roles; nil until first use, when they are opened from Set. Tests
	// may set fakes before first use.
	Segmenter    Segmenter
	Detector     Detector
	Captioner    Captioner
	Corrector    Corrector
	Generator    Generator
	ImageEncoder ImageEncoder
	Embedder     metrics.Embedder // nil: the embedder role, else metrics.PixelEmbedder
	LPIPS        Perceptual

	closers []func()
	gen     *sdGenerator // the opened generator, so the IP-Adapter can join it
}

// OpenSystem opens a models folder for the methods of o (all when
// o.Methods is nil): the manifest is read, every file's header validated
// and the cross-role widths checked (models.Check); a role a method needs
// that the folder lacks is a bad-input error naming the role and the pull
// command. No model is loaded yet.
func OpenSystem(dir string, o SystemOptions) (*System, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	set, err := models.Open(dir)
	if err != nil {
		return nil, err
	}
	methods := o.Methods
	if methods == nil {
		methods = Methods
	}
	var need []models.Role
	for _, m := range methods {
		for _, r := range MethodRoles(m) {
			if !slices.Contains(need, r) {
				need = append(need, r)
			}
		}
	}
	if !o.NoMetrics {
		need = append(need, models.LPIPS)
	}
	for _, r := range models.Roles {
		if !slices.Contains(need, r) {
			continue
		}
		if _, err := set.Paths(r); err != nil {
			return nil, err
		}
	}
	if _, err := models.Check(dir, models.CheckOptions{}); err != nil {
		return nil, err
	}
	return &System{Set: set, Opts: o}, nil
}

// Close frees every opened model (the error is always nil; it makes a
// System an io.Closer).
func (s *System) Close() error {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
	return nil
}

func (s *System) progress(format string, a ...any) {
	if s.Opts.Progress != nil {
		s.Opts.Progress(fmt.Sprintf(format, a...))
	}
}

// roleErr prefixes an open error with the role and file.
func roleErr(r models.Role, path string, err error) error {
	if badinput.Is(err) {
		return badinput.Errorf("role %s (%s): %v", r, path, err)
	}
	return fmt.Errorf("role %s (%s): %w", r, path, err)
}

func (s *System) path(r models.Role) (string, error) {
	if s.Set == nil {
		return "", badinput.Errorf("role %s: no models folder", r)
	}
	return s.Set.Path(r)
}

// openRole opens role r's file with open (a progress line; errors name the
// role and file) and keeps its Close for System.Close. It returns the model
// and the file's path.
func openRole[M interface{ Close() }](s *System, r models.Role, open func(path string, o bindings.Options) (M, error)) (M, string, error) {
	var zero M
	p, err := s.path(r)
	if err != nil {
		return zero, "", err
	}
	s.progress("loading %s %s", r, p)
	m, err := open(p, s.modelOptions())
	if err != nil {
		return zero, p, roleErr(r, p, err)
	}
	s.closers = append(s.closers, m.Close)
	return m, p, nil
}

// openArch is bindings.Open for one architecture (openRole's open).
func openArch(arch string) func(string, bindings.Options) (*bindings.Loaded, error) {
	return func(p string, o bindings.Options) (*bindings.Loaded, error) {
		o.Arch = arch
		return bindings.Open(p, o)
	}
}

func (s *System) modelOptions() bindings.Options {
	o := s.Opts.Model
	o.Arch = ""
	return o
}

func (s *System) segmenter() (Segmenter, error) {
	if s.Segmenter != nil {
		return s.Segmenter, nil
	}
	l, _, err := openRole(s, models.Segmenter, openArch(fcn.Arch))
	if err != nil {
		return nil, err
	}
	s.Segmenter = fcnSegmenter{l.Model.(*fcn.Model)}
	return s.Segmenter, nil
}

func (s *System) detector() (Detector, error) {
	if s.Detector != nil {
		return s.Detector, nil
	}
	l, _, err := openRole(s, models.Detector, openArch(detr.Arch))
	if err != nil {
		return nil, err
	}
	s.Detector = detrDetector{l.Model.(*detr.Model), float32(s.Opts.DetectThreshold)}
	return s.Detector, nil
}

func (s *System) captioner() (Captioner, error) {
	if s.Captioner != nil {
		return s.Captioner, nil
	}
	ps, err := s.Set.Paths(models.Captioner)
	if err != nil {
		return nil, err
	}
	if len(ps) != 2 {
		return nil, badinput.Errorf("role %s: %d files, want the LM and its mmproj", models.Captioner, len(ps))
	}
	s.progress("loading captioner %s + %s", ps[0], ps[1])
	c, err := llava.Open(ps[0], ps[1], s.modelOptions())
	if err != nil {
		return nil, roleErr(models.Captioner, strings.Join(ps, ", "), err)
	}
	s.closers = append(s.closers, c.Close)
	s.Captioner = &llavaCaptioner{c, llava.Options{Query: s.Opts.CaptionPrompt, MaxTokens: s.Opts.CaptionMaxTokens}}
	return s.Captioner, nil
}

func (s *System) corrector() (Corrector, error) {
	if s.Corrector != nil {
		return s.Corrector, nil
	}
	c, _, err := openRole(s, models.Corrector, bart.Open)
	if err != nil {
		return nil, err
	}
	g := c.Defaults()
	if s.Opts.Beams > 0 {
		g.NumBeams = s.Opts.Beams
	}
	s.Corrector = bartCorrector{c, g}
	return s.Corrector, nil
}

func (s *System) generator() (Generator, error) {
	if s.Generator != nil {
		return s.Generator, nil
	}
	if _, err := s.openGenerator(); err != nil {
		return nil, err
	}
	s.Generator = s.gen
	return s.Generator, nil
}

func (s *System) openGenerator() (*sdGenerator, error) {
	if s.gen != nil {
		return s.gen, nil
	}
	g, p, err := openRole(s, models.Generator, sd.OpenGenerator)
	if err != nil {
		return nil, err
	}
	s.gen = &sdGenerator{g: g, o: &s.Opts, path: p}
	return s.gen, nil
}

// imageEncoder opens the image-encoder role and, with it, the IP-Adapter
// into the generator (they are checked against each other and the UNet).
func (s *System) imageEncoder() (ImageEncoder, error) {
	if s.ImageEncoder != nil {
		return s.ImageEncoder, nil
	}
	if _, err := s.path(models.IPAdapter); err != nil { // both files before loading either
		return nil, err
	}
	e, encPath, err := openRole(s, models.ImageEncoder, clip.OpenVision)
	if err != nil {
		return nil, err
	}
	if err := checkImageEncoder(e); err != nil {
		return nil, roleErr(models.ImageEncoder, encPath, err)
	}
	if s.Generator == nil || s.Generator == Generator(s.gen) {
		g, err := s.openGenerator()
		if err != nil {
			return nil, err
		}
		a, ipPath, err := openRole(s, models.IPAdapter, ipadapter.Open)
		if err != nil {
			return nil, err
		}
		if err := a.CheckUNet(g.g.UNet.UNetOptions); err != nil {
			return nil, badinput.Errorf("roles %s (%s) and %s (%s): %v", models.IPAdapter, ipPath, models.Generator, g.path, err)
		}
		if err := a.CheckEncoder(e); err != nil {
			return nil, badinput.Errorf("roles %s (%s) and %s (%s): %v", models.ImageEncoder, encPath, models.IPAdapter, ipPath, err)
		}
		g.ip = a
	}
	s.ImageEncoder = clipEncoder{e}
	return s.ImageEncoder, nil
}

func (s *System) lpips() (Perceptual, error) {
	if s.LPIPS != nil {
		return s.LPIPS, nil
	}
	m, _, err := openRole(s, models.LPIPS, lpips.Open)
	if err != nil {
		return nil, err
	}
	s.LPIPS = m
	return s.LPIPS, nil
}

// embedder is the cosine-similarity embedding: the embedder role's CLIP
// image embedding when the set has it, else metrics.PixelEmbedder.
func (s *System) embedder() (metrics.Embedder, error) {
	if s.Embedder != nil {
		return s.Embedder, nil
	}
	if s.Set == nil || !s.Set.Has(models.Embedder) {
		s.Embedder = metrics.PixelEmbedder{}
		return s.Embedder, nil
	}
	e, p, err := openRole(s, models.Embedder, clip.OpenVision)
	if err != nil {
		return nil, err
	}
	if err := checkImageEncoder(e); err != nil {
		return nil, roleErr(models.Embedder, p, err)
	}
	name := "clip-image-embeds:" + filepath.Base(p)
	if fs := s.Set.Files(models.Embedder); len(fs) > 0 && len(fs[0].SHA256) >= 12 {
		name += "@" + fs[0].SHA256[:12]
	}
	s.Embedder = clipEmbedder{clipEncoder{e}, name}
	return s.Embedder, nil
}

// modelHashes maps each role to its (first) file's sha256 from the
// manifest (the captioner's two files joined with "+").
func (s *System) modelHashes(roles []models.Role) map[string]string {
	if s.Set == nil {
		return nil
	}
	out := map[string]string{}
	for _, r := range roles {
		var sums []string
		for _, f := range s.Set.Files(r) {
			sums = append(sums, f.SHA256)
		}
		if len(sums) > 0 {
			out[string(r)] = strings.Join(sums, "+")
		}
	}
	return out
}

// checkImageEncoder: the file is a bare CLIP image encoder (projector
// "none") with the post-layernorm and visual projection that image
// embeddings need.
func checkImageEncoder(e *clip.VisionLoaded) error {
	m := e.Model
	if m.ProjectorType != clip.VisionProjectorNone || m.Tower.Proj == nil || m.Tower.PostLN == nil {
		return badinput.Errorf("not a CLIP image encoder with a visual projection (projector type %q)", m.ProjectorType)
	}
	return nil
}

// Preload opens every model a method needs (and, unless NoMetrics, the
// metrics' models), so that loading is not counted in the first image's
// stage seconds.
func (s *System) Preload(method string) error {
	if err := CheckMethod(method); err != nil {
		return err
	}
	var err error
	step := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	if usesSlice(method) {
		step(func() error { _, e := s.segmenter(); return e })
		step(func() error { _, e := s.imageEncoder(); return e })
	}
	if method == MethodFusion {
		step(func() error { _, e := s.detector(); return e })
	}
	step(func() error { _, e := s.captioner(); return e })
	step(func() error { _, e := s.corrector(); return e })
	step(func() error { _, e := s.generator(); return e })
	if !s.Opts.NoMetrics {
		step(func() error { _, e := s.lpips(); return e })
		step(func() error { _, e := s.embedder(); return e })
	}
	return err
}

// --- adapters from the model packages to the role interfaces ---

type fcnSegmenter struct{ m *fcn.Model }

func (f fcnSegmenter) SegmentLabels(img image.Image) ([]uint8, []string, error) {
	mask, err := f.m.Segment(img, 0)
	if err != nil {
		return nil, nil, err
	}
	return mask.Label, mask.Classes, nil
}

type detrDetector struct {
	m         *detr.Model
	threshold float32
}

func (d detrDetector) DetectBoxes(img image.Image) ([]image.Rectangle, error) {
	dets, err := d.m.Detect([]image.Image{img}, d.threshold, true)
	if err != nil {
		return nil, err
	}
	var out []image.Rectangle
	for _, x := range dets[0] {
		out = append(out, x.Rect())
	}
	return out, nil
}

type llavaCaptioner struct {
	c *llava.Captioner
	o llava.Options
}

func (l *llavaCaptioner) CaptionImages(imgs []image.Image) ([]string, error) {
	res, err := l.c.Caption(imgs, l.o)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = strings.TrimSpace(r.Text)
	}
	return out, nil
}

type bartCorrector struct {
	c *bart.Corrector
	g bart.GenerationConfig
}

func (b bartCorrector) CorrectTexts(texts []string) ([]string, error) { return b.c.Correct(texts, b.g) }

type clipEncoder struct{ e *clip.VisionLoaded }

func (c clipEncoder) EncodeImage(img image.Image) (v []float32, err error) {
	defer bindings.RecoverCompute(&err)
	return ipadapter.EncodeImage(c.e, img), nil
}

type clipEmbedder struct {
	clipEncoder
	name string
}

func (c clipEmbedder) Name() string                             { return c.name }
func (c clipEmbedder) Embed(img image.Image) ([]float32, error) { return c.EncodeImage(img) }

type sdGenerator struct {
	g    *sd.Generator
	ip   *ipadapter.Adapter
	o    *SystemOptions
	path string
}

func (g *sdGenerator) GenerateImage(r GenerateRequest) (image.Image, error) {
	o := g.o
	req := sd.Request{Negative: o.Negative, Steps: o.Steps, CFG: o.CFG, Sampler: o.Sampler, Seed: r.Seed,
		Width: o.Width, Height: o.Height, ClipSkip: 1}
	switch len(r.Captions) {
	case 0:
	case 1:
		req.Prompt = r.Captions[0]
	default:
		req.Prompt, req.Prompts, req.TextMode = strings.Join(r.Captions, ", "), r.Captions, o.TextMode
	}
	if r.ImageEmbedding != nil {
		if g.ip == nil {
			return nil, fmt.Errorf("generator: an image prompt without the ip-adapter role opened")
		}
		ip, err := g.ip.Prompt(r.ImageEmbedding, o.IPScale)
		if err != nil {
			return nil, err
		}
		req.IP = ip
	}
	if o.Progress != nil {
		req.Progress = func(p sd.Progress) {
			if p.Stage == "unet" {
				o.Progress(fmt.Sprintf("generate: step %d/%d (%.1f s)", p.Step, p.Steps, p.Elapsed.Seconds()))
			}
		}
	}
	res, err := g.g.Generate(req)
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}
