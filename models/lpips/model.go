// Package lpips ports LPIPS v0.1 with the AlexNet backbone (the lpips
// package's default, richzhang/PerceptualSimilarity lpips/lpips.py and
// pretrained_networks.py): scaling layer, the five ReLU taps of AlexNet's
// trunk, channel-wise unit normalization, squared difference, the learned
// 1×1 `lin` layers, spatial average, sum over layers.
//
// State-dict key -> field:
//
//	torchvision alexnet   features.{0,3,6,8,10}.{weight,bias} -> Model.Trunk.Features[i]
//	LPIPS alex.pth        lin{k}.model.1.weight [1, C_k, 1, 1] -> Model.Lin{k}.Weight
//
// GGUF names are those keys unchanged. The scaling layer's constants are
// metadata (lpips.shift, lpips.scale).
package lpips

import (
	"errors"
	"fmt"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/alexnet"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "lpips"

// Shift and Scale are LPIPS v0.1's ScalingLayer constants (per RGB channel):
// the network sees (x − shift)/scale for x in [−1, 1].
var (
	Shift = []float32{-0.030, -0.088, -0.188}
	Scale = []float32{0.458, 0.448, 0.450}
)

// normEps is normalize_tensor's epsilon: x / (‖x‖₂ over channels + eps).
const normEps = 1e-10

// NetLin is LPIPS's NetLinLayer: Sequential(Dropout, Conv2d(C, 1, 1,
// bias=False)); the conv is model.1. Weight [1, 1, C, 1].
type NetLin struct {
	Weight ml.Tensor `gguf:"model.1.weight"`
}

// Model is LPIPS(net="alex", version="0.1").
type Model struct {
	model.Base
	*alexnet.Trunk

	Lin0 *NetLin `gguf:"lin0"`
	Lin1 *NetLin `gguf:"lin1"`
	Lin2 *NetLin `gguf:"lin2"`
	Lin3 *NetLin `gguf:"lin3"`
	Lin4 *NetLin `gguf:"lin4"`

	shift, scale []float32
}

// New reads the scaling constants from metadata.
func New(c fs.Config) (model.Model, error) {
	shift, scale := c.Floats("shift"), c.Floats("scale")
	if len(shift) != 3 || len(scale) != 3 {
		return nil, errors.New("lpips: metadata lpips.shift and lpips.scale need 3 values each")
	}
	return &Model{Trunk: alexnet.NewTrunk(), shift: shift, scale: scale}, nil
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "LPIPS v0.1 perceptual distance with the AlexNet backbone",
		Tensors: Tensors,
		Config:  Config,
		Convert: Convert,
		Inputs:  "torchvision alexnet .pth, then LPIPS v0.1 alex.pth (lin layers)",
	})
}

// Config is the metadata of a tiny or full-size LPIPS model.
func Config(size string) (fsggml.KV, error) {
	kv, err := alexnet.Config(size)
	if err != nil {
		return nil, err
	}
	kv["shift"], kv["scale"] = Shift, Scale
	return kv, nil
}

// Tensors lists the trunk and the five lin layers.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	ch, err := bindings.ConfigUints(kv, "channels")
	if err != nil {
		return nil, err
	}
	specs, err := alexnet.TensorsFor(ch, "features")
	if err != nil {
		return nil, err
	}
	for k, c := range ch {
		specs = append(specs, bindings.TensorSpec{
			Name: fmt.Sprintf("lin%d.model.1.weight", k), Shape: []uint64{1, 1, c, 1}, Init: bindings.InitPositive})
	}
	return specs, nil
}

func (m *Model) lins() []*NetLin { return []*NetLin{m.Lin0, m.Lin1, m.Lin2, m.Lin3, m.Lin4} }

// Distance computes LPIPS between x0 and x1 [W, H, 3, N] (values in
// [−1, 1]) and returns [1, N]: one distance per image pair. layers, when not
// nil, receives each layer's contribution [1, N].
func (m *Model) Distance(ctx ml.Context, x0, x1 ml.Tensor, layers *[]ml.Tensor) ml.Tensor {
	shift := ctx.Input().FromFloats(m.shift, 1, 1, 3)
	scale := ctx.Input().FromFloats(m.scale, 1, 1, 3)
	scaled := func(x ml.Tensor) ml.Tensor { return x.Sub(ctx, shift).Div(ctx, scale) }
	t0, t1 := m.Taps(ctx, scaled(x0)), m.Taps(ctx, scaled(x1))
	var sum ml.Tensor
	for k, lin := range m.lins() {
		w, h, c, n := t0[k].Dim(0), t0[k].Dim(1), t0[k].Dim(2), t0[k].Dim(3)
		d := unitNormalize(ctx, t0[k]).Sub(ctx, unitNormalize(ctx, t1[k])).Sqr(ctx) // [C, W, H, N]
		// The 1×1 conv to one channel is a dot product over C at every pixel.
		v := lin.Weight.Reshape(ctx, c, 1).Mulmat(ctx, d.Reshape(ctx, c, w*h*n)) // [1, W·H·N]
		v = v.Reshape(ctx, w*h, n).Mean(ctx)                                     // spatial average: [1, N]
		if layers != nil {
			*layers = append(*layers, v)
		}
		if sum == nil {
			sum = v
		} else {
			sum = sum.Add(ctx, v)
		}
	}
	return sum
}

// unitNormalize divides x [W, H, C, N] by its L2 norm over channels
// (plus normEps), returning it channels-first: [C, W, H, N].
func unitNormalize(ctx ml.Context, x ml.Tensor) ml.Tensor {
	xc := x.Permute(ctx, 1, 2, 0, 3).Contiguous(ctx) // [C, W, H, N]
	norm := xc.Sqr(ctx).SumRows(ctx).Sqrt(ctx)       // [1, W, H, N]
	norm = norm.Add(ctx, ctx.Input().FromFloats([]float32{normEps}, 1))
	return xc.Div(ctx, norm)
}

// Forward satisfies ollama's model.Model; LPIPS takes two images, so use
// Distance.
func (m *Model) Forward(ml.Context, input.Batch) (ml.Tensor, error) {
	return nil, errors.New("lpips: use Distance(ctx, x0, x1)")
}
