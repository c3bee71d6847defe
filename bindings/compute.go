package bindings

import "github.com/ollama/ollama/ml"

// Compute builds one graph on a backend, runs it and returns the values and
// ggml shape of each output. The context is freed before returning.
func Compute(b ml.Backend, build func(ctx ml.Context) []ml.Tensor) ([][]float32, [][]int) {
	ctx := b.NewContext()
	defer ctx.Close()
	outs := build(ctx)
	if len(outs) > 1 {
		// ggml's allocator reuses the memory of any node whose consumers have
		// run, so an output that feeds later nodes (a feature tap) would be
		// overwritten. A copy that nothing consumes is never freed.
		for i, t := range outs {
			outs[i] = t.Duplicate(ctx)
		}
	}
	ctx.Forward(outs...).Compute(outs...)
	vals := make([][]float32, len(outs))
	shapes := make([][]int, len(outs))
	for i, t := range outs {
		vals[i] = t.Floats()
		shapes[i] = t.Shape()
	}
	return vals, shapes
}
