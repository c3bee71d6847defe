package bindings

import (
	"slices"
	"testing"

	"github.com/ollama/ollama/ml"
)

// TestThreadpoolAttached: every backend we open has the persistent CPU pool
// (this pins the engine's Backend.schedBackends field, which the bridge
// reads), graphs give the same bytes through it as with ggml's per-graph
// threads (a pool only changes which OS threads run ggml's fixed partition
// of each op), and closing a model leaves the shared pool usable.
func TestThreadpoolAttached(t *testing.T) {
	build := func(ctx ml.Context) []ml.Tensor {
		a := make([]float32, 96*64)
		b := make([]float32, 96*33)
		for i := range a {
			a[i] = float32(i%97)/97 - 0.5
		}
		for i := range b {
			b[i] = float32(i%89)/89 - 0.5
		}
		x := ctx.Input().FromFloats(a, 96, 64)
		y := ctx.Input().FromFloats(b, 96, 33)
		return []ml.Tensor{x.Mulmat(ctx, y).Softmax(ctx)}
	}
	s, err := NewScratch("cpu", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool := poolOf(s.Backend)
	if pool.tp == nil || pool.n < 2 {
		t.Fatalf("scratch backend has no 2-thread pool (%+v): has the engine's Backend.schedBackends field changed?", pool)
	}
	pooled, _ := MustCompute(s.Backend, build)

	// Another backend opened and closed meanwhile (it shares the engine's
	// CPU backend, hence the pool).
	other, err := NewScratch("cpu", 1)
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	again, _ := MustCompute(s.Backend, build)

	setThreadpool(s.Backend, nil) // ggml's per-graph threads
	plain, _ := MustCompute(s.Backend, build)
	setThreadpool(s.Backend, pool.tp)
	if !slices.Equal(pooled[0], plain[0]) || !slices.Equal(again[0], plain[0]) {
		t.Error("results with the pool differ from ggml's per-graph threads")
	}
}
