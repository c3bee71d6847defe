package sd

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
)

// Benchmarks on full-size SD 1.5 weights (seeded random, `synth --size
// full`) on the CPU. The model is $MULTISC_SD_MODEL when set (e.g. a file
// from `multisc synth --arch sd15 --size full --type f16`, or a converted
// checkpoint), else a full f16 model synthesized into a temporary folder
// (about 2 GB, a minute). Threads: $MULTISC_THREADS or all cores.
//
//	flock /tmp/bench.lock go test -run '^$' -bench 'UNetStep|VAEDecode|TextEncode' -benchtime 3x -count 3 ./models/sd/
//
// Each reports peak resident memory (VmHWM) of the process as peak-MiB.
func benchModel(b *testing.B) *Model {
	b.Helper()
	path := os.Getenv("MULTISC_SD_MODEL")
	if path == "" {
		path = filepath.Join(b.TempDir(), "sd15-full-f16.gguf")
		if err := bindings.Synth(Arch, "full", 1, fsggml.TensorTypeF16, path); err != nil {
			b.Fatal(err)
		}
	}
	threads, _ := strconv.Atoi(os.Getenv("MULTISC_THREADS"))
	l, err := bindings.Open(path, bindings.Options{Arch: Arch, Device: "cpu", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	return l.Model.(*Model)
}

// BenchmarkUNetStep: one UNet evaluation at 64×64 latents (512×512 pixels)
// with classifier-free guidance (batch of 2, 77-token contexts).
func BenchmarkUNetStep(b *testing.B) {
	m := benchModel(b)
	x := Noise{Seed: 1}.Stream(0, 64*64*4)
	ctxs := make([]float32, m.Options.Text.Width*77*2)
	for i, v := range (Noise{Seed: 2}).Stream(0, len(ctxs)) {
		ctxs[i] = float32(v)
	}
	b.ResetTimer()
	for b.Loop() {
		m.UNetEps(x, 64, 64, 501, 1.0, ctxs, 2, 7.5)
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

// BenchmarkVAEDecode512: decoding 64×64 latents to a 512×512 image.
func BenchmarkVAEDecode512(b *testing.B) {
	m := benchModel(b)
	lat := toF32(Noise{Seed: 3}.Stream(0, 64*64*4))
	b.ResetTimer()
	for b.Loop() {
		m.decodeRaw(lat, 64, 64)
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

// BenchmarkTextEncode: the prompt and the negative prompt (batch of 2).
func BenchmarkTextEncode(b *testing.B) {
	m := benchModel(b)
	b.ResetTimer()
	for b.Loop() {
		m.EncodeText([]string{"blurry, low quality", "a photograph of an astronaut riding a horse"}, 1)
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}
