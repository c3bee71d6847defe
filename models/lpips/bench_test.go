package lpips

import (
	"path/filepath"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/cputime"
)

// BenchmarkDistance512 scores one 512×512 pair per iteration with a
// full-size (torchvision AlexNet widths) seeded f32 model on the CPU:
//
//	go test -run '^$' -bench Distance512 -count 5 ./models/lpips/
func BenchmarkDistance512(b *testing.B) {
	path := filepath.Join(b.TempDir(), "lpips-full.gguf")
	if err := bindings.Synth(Arch, "full", 1, fsggml.TensorTypeF32, path); err != nil {
		b.Fatal(err)
	}
	mt, err := Open(path, bindings.Options{Device: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	defer mt.Close()
	x, y := testImage(512, 512, 0), testImage(512, 512, 50)
	defer cputime.Report(b)()
	for b.Loop() {
		if _, err := mt.Distance(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
