package bindings

import (
	"path/filepath"
	"runtime"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
)

// TestAdviseHugePages: a backend whose weights span whole 2 MiB pages gets
// them advised (this pins the engine's Backend.weightBuffers field, which
// the bridge reads); the weights still load and read back exactly.
func TestAdviseHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("madvise(MADV_HUGEPAGE) is Linux only")
	}
	path := filepath.Join(t.TempDir(), "big.gguf")
	w := make([]float32, 3<<20) // 12 MiB: at least four whole huge pages
	for i := range w {
		w[i] = float32(i%1000) / 7
	}
	if err := WriteFile(path, fsggml.KV{"general.architecture": "scratch"},
		[]*fsggml.Tensor{NewTensor("scratch.0.weight", []uint64{uint64(len(w))}, w, fsggml.TensorTypeF32)}); err != nil {
		t.Fatal(err)
	}
	b, err := newBackend(path, ml.BackendParams{AllocMemory: true, NumThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := adviseHugePages(b); n < 8<<20 {
		t.Fatalf("advised %d bytes of a 12 MiB weight buffer, want ≥ 8 MiB (engine's Backend.weightBuffers changed?)", n)
	}
	if err := b.Load(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	got := b.Get("scratch.0.weight")
	if got == nil {
		t.Fatal("weight not found after load")
	}
	vals, _ := MustCompute(b, func(ctx ml.Context) []ml.Tensor { return []ml.Tensor{got.Scale(ctx, 1)} })
	for i, v := range vals[0] {
		if v != w[i] {
			t.Fatalf("weight[%d] = %v after load, want %v", i, v, w[i])
		}
	}
}
