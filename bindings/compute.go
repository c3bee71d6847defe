package bindings

import (
	"errors"
	"fmt"

	"github.com/ollama/ollama/ml"
)

// ErrCompute marks a graph that could not be allocated or computed (out of
// memory on the device, a ggml status other than success, an invalid shape
// while building). It is an error of the run, not of the user's input.
var ErrCompute = errors.New("compute failed")

// Compute builds one graph on a backend, runs it and returns the values and
// ggml shape of each output. The context is freed before returning.
//
// ollama's ggml backend panics where ggml reports a failure: a graph whose
// buffers cannot be reserved or an input tensor whose buffer cannot be
// allocated (ml.ErrNoMem), a compute status other than success, an invalid
// shape. Compute reserves the graph's buffers before computing, so an
// allocation failure is reported rather than crashing inside ggml, and
// turns each panic into an error wrapping ErrCompute; the backend stays
// usable for smaller graphs.
func Compute(b ml.Backend, build func(ctx ml.Context) []ml.Tensor) (vals [][]float32, shapes [][]int, err error) {
	ctx := b.NewContext()
	defer ctx.Close()
	defer func() {
		if p := recover(); p != nil {
			vals, shapes = nil, nil
			var oom ml.ErrNoMem
			if e, ok := p.(error); ok && errors.As(e, &oom) {
				err = fmt.Errorf("%w: out of memory allocating the graph's tensors", ErrCompute)
				return
			}
			err = fmt.Errorf("%w: %v", ErrCompute, p)
		}
	}()
	outs := build(ctx)
	if len(outs) > 1 {
		// ggml's allocator reuses the memory of any node whose consumers have
		// run, so an output that feeds later nodes (a feature tap) would be
		// overwritten. A copy that nothing consumes is never freed.
		for i, t := range outs {
			outs[i] = t.Duplicate(ctx)
		}
	}
	// Reserve first: a failed graph allocation inside ggml's compute call
	// dereferences NULL (SIGSEGV during cgo execution, seen on this engine
	// version), while ggml_backend_sched_reserve reports it, and ollama's
	// Reserve turns that into an ml.ErrNoMem panic recovered above.
	ctx.Forward(outs...).Reserve()
	ctx.Compute(outs...)
	vals = make([][]float32, len(outs))
	shapes = make([][]int, len(outs))
	for i, t := range outs {
		vals[i] = t.Floats()
		shapes[i] = t.Shape()
	}
	return vals, shapes, nil
}

// MustCompute is Compute for code inside a model's forward helpers that has
// no error path of its own: it panics with the ErrCompute error, and the
// model's public entry point (Generate, Embed, ...) recovers it with
// RecoverCompute.
func MustCompute(b ml.Backend, build func(ctx ml.Context) []ml.Tensor) ([][]float32, [][]int) {
	vals, shapes, err := Compute(b, build)
	if err != nil {
		panic(err)
	}
	return vals, shapes
}

// RecoverCompute turns a MustCompute panic into *err; other panics go on.
// Use as `defer bindings.RecoverCompute(&err)` in a function returning error.
func RecoverCompute(err *error) {
	if p := recover(); p != nil {
		if e, ok := p.(error); ok && errors.Is(e, ErrCompute) {
			*err = e
			return
		}
		panic(p)
	}
}
