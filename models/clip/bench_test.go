package clip

import (
	"image"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
)

// BenchmarkVisionTowerViTH is the anchor-comparable form of the image
// encoder's cost: a ViT-H/14-sized CLIP tower (1280 wide, 32 layers, 16
// heads, ff 5120, 224², patch 14; QuickGELU so that llama.cpp reads the
// same graph) as a LLaVA mmproj with an mlp projector into a 64-wide LM
// (`synth --arch llava --size tiny`'s), f16, seeded. Embed runs
// block_count−1 = 31 blocks and the projector, as llama.cpp's llava graph
// does, so tools/llamacpp's crosscheck times the same work on the same
// file (its encode_s). The file is $MULTISC_VITH_MMPROJ, written there when
// missing (else into a temporary folder). Threads: $MULTISC_THREADS or all.
//
//	MULTISC_VITH_MMPROJ=/tmp/vith-mmproj.gguf flock /tmp/bench.lock \
//	  go test -run '^$' -bench VisionTowerViTH -benchtime 1x -count 3 ./models/clip/
//
// The anchor (tools/llamacpp) is built for x86-64-v3; compare with a test
// binary built the same way (CGO_CFLAGS and CGO_CXXFLAGS "-O3
// -march=x86-64-v3"), or with the CPU variant libraries beside it: the
// baseline CPU backend cgo compiles has no AVX and is about 20× slower.
func BenchmarkVisionTowerViTH(b *testing.B) {
	path := os.Getenv("MULTISC_VITH_MMPROJ")
	if path == "" {
		path = filepath.Join(b.TempDir(), "vith-mmproj.gguf")
	}
	if _, err := os.Stat(path); err != nil {
		kv := fsggml.KV{"general.architecture": VisionArch, "general.name": "vit-h-sized mmproj (benchmark)"}
		for k, v := range VisionConfigFor(1280, 16, 32, 5120, 224, 14, 64, false) {
			kv[VisionArch+"."+k] = v
		}
		specs, err := VisionTensors(kv)
		if err != nil {
			b.Fatal(err)
		}
		if err := bindings.WriteFile(path, kv, bindings.SynthTensors(specs, 1, fsggml.TensorTypeF16)); err != nil {
			b.Fatal(err)
		}
	}
	threads, _ := strconv.Atoi(os.Getenv("MULTISC_THREADS"))
	v, err := OpenVision(path, bindings.Options{Device: "cpu", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 224, 224))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*13 + i/224)
	}
	px := [][]float32{v.Model.Preprocess(img)}
	for b.Loop() {
		if out := v.Embed(px); len(out[0]) != 64*256 {
			b.Fatalf("%d values, want 64×256", len(out[0]))
		}
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}
