package bindings

import (
	"errors"
	"testing"

	"github.com/ollama/ollama/ml"
)

// TestComputeFailures: graphs ggml cannot allocate or build come back as
// errors wrapping ErrCompute, not as crashes, and the backend still
// computes afterwards.
func TestComputeFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(ctx ml.Context) []ml.Tensor
	}{
		// An input of 2^42 f32 (16 TiB): its buffer cannot be allocated.
		{"input buffer", func(ctx ml.Context) []ml.Tensor {
			return []ml.Tensor{ctx.Input().Empty(ml.DTypeF32, 1<<21, 1<<21)}
		}},
		// A 16 TiB intermediate: the scheduler's graph allocation fails.
		{"graph buffer", func(ctx ml.Context) []ml.Tensor {
			x := ctx.Input().FromFloats([]float32{1, 2}, 2)
			big := x.Repeat(ctx, 0, 1<<41)
			return []ml.Tensor{big.SumRows(ctx)}
		}},
		{"invalid shape", func(ctx ml.Context) []ml.Tensor {
			return []ml.Tensor{ctx.Input().FromFloats([]float32{1, 2, 3}, 2)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, _, err := Compute(scratch.Backend, tc.build)
			if !errors.Is(err, ErrCompute) || vals != nil {
				t.Fatalf("got %v, %d values; want an ErrCompute", err, len(vals))
			}
			t.Log(err)
		})
	}
	got, _, err := Compute(scratch.Backend, func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{ctx.Input().FromFloats([]float32{1, 2, 3}, 3).SumRows(ctx)}
	})
	if err != nil || len(got) != 1 || got[0][0] != 6 {
		t.Fatalf("after failures: %v, %v", got, err)
	}
}
