package ipadapter

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
	"github.com/multisc/multisc/models/sd"
)

// Benchmarks on full-size weights (seeded random) on the CPU: the SD 1.5
// model is $MULTISC_SD_MODEL when set (e.g. `multisc synth --arch sd15
// --size full --type f16`), else one synthesized into a temporary folder
// (about 2 GB); the adapter is $MULTISC_IP_MODEL when set (e.g. `multisc
// convert --arch ipadapter ip-adapter_sd15.safetensors`), else synthesized
// full size in f16. Threads: $MULTISC_THREADS or all cores.
//
//	flock /tmp/bench.lock go test -run '^$' -bench UNetStepIP -benchtime 1x -count 3 ./models/ipadapter/
//
// benchSDModel is the SD 1.5 file of the benchmarks ($MULTISC_SD_MODEL or
// a synthesized full-size f16 one) and the CPU options ($MULTISC_THREADS).
func benchSDModel(b *testing.B) (string, bindings.Options) {
	b.Helper()
	threads, _ := strconv.Atoi(os.Getenv("MULTISC_THREADS"))
	o := bindings.Options{Device: "cpu", Threads: threads}
	path := os.Getenv("MULTISC_SD_MODEL")
	if path == "" {
		path = filepath.Join(b.TempDir(), "sd15-full-f16.gguf")
		if err := bindings.Synth(sd.Arch, "full", 1, fsggml.TensorTypeF16, path); err != nil {
			b.Fatal(err)
		}
	}
	return path, o
}

// BenchmarkUNetStepIP/none and /ip are one UNet evaluation at 64×64
// latents (512×512 pixels; $MULTISC_IP_LATENT=32 for 256×256, a multiple of
// 8) with classifier-free guidance (batch of 2)
// without and with the adapter (λ = 0.6); their ratio is the adapter's
// overhead. BenchmarkPrompt is the once-per-image part (projection and the
// 16 layers' keys and values, cond and uncond).
func benchSetup(b *testing.B) (*sd.Model, *Adapter) {
	b.Helper()
	path, o := benchSDModel(b)
	so := o
	so.Arch = sd.Arch
	l, err := bindings.Open(path, so)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	a, err := Open(benchAdapterPath(b), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	m := l.Model.(*sd.Model)
	if err := a.CheckUNet(m.UNet.UNetOptions); err != nil {
		b.Fatal(err)
	}
	return m, a
}

// benchAdapterPath is $MULTISC_IP_MODEL, else a full-size f16 adapter
// synthesized (seed 1) into a temporary folder.
func benchAdapterPath(b *testing.B) string {
	if p := os.Getenv("MULTISC_IP_MODEL"); p != "" {
		return p
	}
	ip := filepath.Join(b.TempDir(), "ip-full-f16.gguf")
	if err := bindings.Synth(Arch, "full", 1, fsggml.TensorTypeF16, ip); err != nil {
		b.Fatal(err)
	}
	return ip
}

func benchEmbed(n int) []float32 {
	e := make([]float32, n)
	for i, v := range (sd.Noise{Seed: 4}).Stream(0, n) {
		e[i] = float32(v)
	}
	return e
}

func BenchmarkUNetStepIP(b *testing.B) {
	m, a := benchSetup(b)
	lat := 64 // latent side: 64 = 512×512 pixels; $MULTISC_IP_LATENT overrides
	if v, err := strconv.Atoi(os.Getenv("MULTISC_IP_LATENT")); err == nil && v > 0 && v%8 == 0 {
		lat = v
	}
	x := sd.Noise{Seed: 1}.Stream(0, lat*lat*4)
	ctxs := make([]float32, m.Options.Text.Width*77*2)
	for i, v := range (sd.Noise{Seed: 2}).Stream(0, len(ctxs)) {
		ctxs[i] = float32(v)
	}
	ip, err := a.Prompt(benchEmbed(a.Model.ImageDim), 0.6)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ip   *sd.IPInput
	}{{"none", nil}, {"ip", ip}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				m.UNetEpsIP(x, lat, lat, 501, 1.0, ctxs, 2, 7.5, c.ip)
			}
			b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
		})
	}
}

func BenchmarkPrompt(b *testing.B) {
	_, a := benchSetup(b)
	e := benchEmbed(a.Model.ImageDim)
	for b.Loop() {
		if _, err := a.Prompt(e, 0.6); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}
