package ipadapter

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/sd"
)

// BenchmarkEncodeImage is the image encoder's cost per IP-Adapter image:
// EncodeImage (CLIP preprocessing, then the full ViT-H/14 tower at 224²,
// post-LN and visual projection: 1024 values) of one 512×384 image on the
// CPU. The encoder is $MULTISC_VITH_MODEL when set, else `synth --arch
// clip --size vit-h --type f16` (seed 1, about 1.3 GB) in a temporary
// folder. Threads: $MULTISC_THREADS or all cores.
//
//	flock /tmp/bench.lock go test -run '^$' -bench EncodeImage -benchtime 1x -count 3 ./models/ipadapter/
//
// Build with CGO_CFLAGS and CGO_CXXFLAGS "-O3 -march=x86-64-v3" (or the CPU
// variant libraries beside the binary) for AVX2 kernels: the baseline CPU
// backend cgo compiles has none and is about 20× slower. The llama.cpp
// anchor of the same tower is models/clip's BenchmarkVisionTowerViTH.
func BenchmarkEncodeImage(b *testing.B) {
	threads, _ := strconv.Atoi(os.Getenv("MULTISC_THREADS"))
	path := os.Getenv("MULTISC_VITH_MODEL")
	if path == "" {
		path = filepath.Join(b.TempDir(), "vit-h-f16.gguf")
		if err := bindings.Synth(clip.VisionArch, clip.VisionSizeViTH, 1, fsggml.TensorTypeF16, path); err != nil {
			b.Fatal(err)
		}
	}
	e, err := clip.OpenVision(path, bindings.Options{Device: "cpu", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if e.Model.ImageSize != 224 || e.Model.Tower.Proj == nil || e.Model.Tower.Proj.Dim(1) != 1024 {
		b.Fatalf("%s is not a ViT-H/14 image encoder at 224² with a 1024-wide projection", path)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 512, 384))
	for y := range 384 {
		for x := range 512 {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	for b.Loop() {
		if v := EncodeImage(e, img); len(v) != 1024 {
			b.Fatalf("embedding of %d values", len(v))
		}
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

// BenchmarkGenerate20IP is the end-to-end figure: one 512×512
// generation, 20 Euler-a steps with classifier-free guidance, with the
// adapter (λ = 0.6): image encoding of a 512×384 image by the ViT-H/14
// encoder, the image prompt, text encoding, 20 UNet steps with IP layers,
// VAE decoding. Models as BenchmarkUNetStepIP ($MULTISC_SD_MODEL) and
// BenchmarkEncodeImage ($MULTISC_VITH_MODEL), the adapter $MULTISC_IP_MODEL
// or a synthesized one; the per-stage seconds of the
// last run are reported as metrics.
//
//	flock /tmp/bench.lock go test -run '^$' -bench Generate20IP -benchtime 1x -count 3 -timeout 60m ./models/ipadapter/
func BenchmarkGenerate20IP(b *testing.B) {
	path, o := benchSDModel(b)
	g, err := sd.OpenGenerator(path, o)
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	a, err := Open(benchAdapterPath(b), o)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	if err := a.CheckUNet(g.Model.UNet.UNetOptions); err != nil {
		b.Fatal(err)
	}
	encPath := os.Getenv("MULTISC_VITH_MODEL")
	if encPath == "" {
		encPath = filepath.Join(b.TempDir(), "vit-h-f16.gguf")
		if err := bindings.Synth(clip.VisionArch, clip.VisionSizeViTH, 1, fsggml.TensorTypeF16, encPath); err != nil {
			b.Fatal(err)
		}
	}
	e, err := clip.OpenVision(encPath, o)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := a.CheckEncoder(e); err != nil {
		b.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 512, 384))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*7 + i/2048)
	}
	var res *sd.Result
	var enc time.Duration
	for b.Loop() {
		t0 := time.Now()
		ip, err := a.Prompt(EncodeImage(e, img), 0.6)
		if err != nil {
			b.Fatal(err)
		}
		enc = time.Since(t0)
		res, err = g.Generate(sd.Request{Prompt: "a photograph of a dog on a beach", Steps: 20, CFG: 7.5,
			Sampler: "euler_a", Seed: 1, Width: 512, Height: 512, IP: ip})
		if err != nil {
			b.Fatal(err)
		}
	}
	var unet time.Duration
	for _, s := range res.Timing.UNetSteps {
		unet += s
	}
	b.ReportMetric(enc.Seconds(), "ip-encode-s")
	b.ReportMetric(res.Timing.TextEncode.Seconds(), "text-s")
	b.ReportMetric(unet.Seconds()/float64(len(res.Timing.UNetSteps)), "unet-s/step")
	b.ReportMetric(res.Timing.VAEDecode.Seconds(), "vae-decode-s")
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}
