package lpips

import (
	"fmt"
	"image"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// Metric is an opened LPIPS model that scores image pairs.
type Metric struct {
	loaded *bindings.Loaded
	model  *Model
}

// Open loads an LPIPS GGUF file (validated as arch "lpips").
func Open(path string, o bindings.Options) (*Metric, error) {
	o.Arch = Arch
	l, err := bindings.Open(path, o)
	if err != nil {
		return nil, err
	}
	return &Metric{loaded: l, model: l.Model.(*Model)}, nil
}

// Close frees the model.
func (mt *Metric) Close() { mt.loaded.Close() }

// Distance is the LPIPS distance between two images of the same size, mapped
// to [−1, 1] as LPIPS expects (2·v/255 − 1).
func (mt *Metric) Distance(a, b image.Image) (float64, error) {
	sa, sb := a.Bounds().Size(), b.Bounds().Size()
	if sa != sb {
		return 0, badinput.Errorf("images differ in size: %dx%d and %dx%d", sa.X, sa.Y, sb.X, sb.Y)
	}
	// AlexNet's trunk needs room for its strided conv and three pools.
	if sa.X < 32 || sa.Y < 32 {
		return 0, badinput.Errorf("images are %dx%d; LPIPS needs at least 32x32", sa.X, sa.Y)
	}
	toInput := func(img image.Image) []float32 {
		v := bindings.PlanarRGB(img)
		for i := range v {
			v[i] = 2*v[i] - 1
		}
		return v
	}
	va, vb := toInput(a), toInput(b)
	out, _, err := bindings.Compute(mt.model.Backend(), func(ctx ml.Context) []ml.Tensor {
		x0 := ctx.Input().FromFloats(va, sa.X, sa.Y, 3, 1)
		x1 := ctx.Input().FromFloats(vb, sa.X, sa.Y, 3, 1)
		return []ml.Tensor{mt.model.Distance(ctx, x0, x1, nil)}
	})
	if err != nil {
		return 0, fmt.Errorf("lpips on %dx%d images: %w", sa.X, sa.Y, err)
	}
	if len(out[0]) != 1 {
		return 0, fmt.Errorf("lpips: got %d values, want 1", len(out[0]))
	}
	return float64(out[0][0]), nil
}
