package ipadapter

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
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
	b.ReportMetric(peakMiB(), "peak-MiB")
}
