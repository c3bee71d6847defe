// Package alexnet ports the convolutional trunk of torchvision's AlexNet
// (models/alexnet.py, `features`): the LPIPS backbone.
//
// State-dict key -> field: features.{0,3,6,8,10}.{weight,bias} ->
// Model.Features[i].{Weight,Bias}. GGUF tensor names are the state-dict
// keys unchanged. The classifier head is not ported (LPIPS and Multi-SC only
// use the trunk); the converter drops classifier.* keys.
package alexnet

import (
	"errors"
	"fmt"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "alexnet"

// convs are the positions of the Conv2d layers in torchvision's
// features Sequential, with their kernel, stride and padding; a ReLU follows
// each, and MaxPool2d(3, 2) sits at positions 2, 5 and 12.
var convs = []struct{ index, kernel, stride, padding int }{
	{0, 11, 4, 2}, {3, 5, 1, 2}, {6, 3, 1, 1}, {8, 3, 1, 1}, {10, 3, 1, 1},
}

// poolAfter marks the convs whose ReLU a MaxPool2d(3, 2) follows inside the
// trunk (positions 2 and 5); the pool at position 12 ends the trunk (Trunk).
var poolAfter = map[int]bool{0: true, 3: true}

// FullChannels are the output channels of torchvision's AlexNet convs.
var FullChannels = []uint32{64, 192, 384, 256, 256}

// Conv2D is one torch.nn.Conv2d: weight [KW, KH, IC, OC], bias [OC].
type Conv2D struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Trunk is AlexNet's `features` Sequential. Features has one slot per
// position; only the conv positions hold tensors. Other models (LPIPS)
// embed it.
type Trunk struct {
	Features []*Conv2D `gguf:"features"`
}

// NewTrunk returns a trunk with its slots made, for model.New to fill.
// (ollama's loader descends into pointer fields, not struct values, so
// models hold it as *Trunk.)
func NewTrunk() *Trunk { return &Trunk{Features: make([]*Conv2D, 13)} }

// Model is the trunk as a model file of its own.
type Model struct {
	model.Base
	*Trunk
}

// New builds the model struct from GGUF metadata; ollama's model.New then
// fills the tensor fields.
func New(c fs.Config) (model.Model, error) {
	return &Model{Trunk: NewTrunk()}, nil
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "torchvision AlexNet convolutional trunk (features), the LPIPS backbone",
		Tensors: Tensors,
		Config:  Config,
		Convert: Convert,
		Inputs:  "torchvision alexnet .pth or .safetensors",
	})
}

// Config is the metadata of a tiny or full-size trunk.
func Config(size string) (fsggml.KV, error) {
	switch size {
	case "full":
		return fsggml.KV{"channels": FullChannels}, nil
	case "tiny":
		return fsggml.KV{"channels": []uint32{8, 12, 16, 12, 12}}, nil
	}
	return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
}

// Tensors lists the trunk's tensors for the channels in the metadata.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	ch, err := bindings.ConfigUints(kv, "channels")
	if err != nil {
		return nil, err
	}
	return TensorsFor(ch, "features")
}

// TensorsFor lists the trunk's tensors under a name prefix, for models that
// embed the trunk (LPIPS).
func TensorsFor(ch []uint64, prefix string) ([]bindings.TensorSpec, error) {
	if len(ch) != len(convs) {
		return nil, fmt.Errorf("channels has %d entries, want %d", len(ch), len(convs))
	}
	var specs []bindings.TensorSpec
	in := uint64(3)
	for i, c := range convs {
		k := uint64(c.kernel)
		name := fmt.Sprintf("%s.%d.", prefix, c.index)
		specs = append(specs,
			bindings.TensorSpec{Name: name + "weight", Shape: []uint64{k, k, in, ch[i]}, Init: bindings.InitWeight},
			bindings.TensorSpec{Name: name + "bias", Shape: []uint64{ch[i]}, Init: bindings.InitBias})
		in = ch[i]
	}
	return specs, nil
}

// Taps runs the trunk on x [W, H, 3, N] and returns the five ReLU outputs
// (relu1..relu5, after features.1, 4, 7, 9, 11), the LPIPS feature taps.
// The convs go through bindings.Conv2DGEMM: first for its product
// orientation, which tinyBLAS takes on AlexNet's odd maps (LPIPS on a
// 512×512 pair: 0.365 → 0.252 s), now for bindings' own GEMM (0.247 →
// 0.185 s, -march=x86-64-v4, 2 threads; PyTorch: 0.075–0.084 s).
func (m *Trunk) Taps(ctx ml.Context, x ml.Tensor) []ml.Tensor {
	var taps []ml.Tensor
	for _, c := range convs {
		conv := m.Features[c.index]
		x = bindings.Conv2DGEMM(ctx, x, conv.Weight, conv.Bias, c.stride, c.padding, 1).RELU(ctx)
		taps = append(taps, x)
		if poolAfter[c.index] {
			x = bindings.MaxPool2D(ctx, x, 3, 2, 0)
		}
	}
	return taps
}

// Run runs the whole trunk (through features.12, the last max pool).
func (m *Trunk) Run(ctx ml.Context, x ml.Tensor) ml.Tensor {
	taps := m.Taps(ctx, x)
	return bindings.MaxPool2D(ctx, taps[len(taps)-1], 3, 2, 0)
}

// Forward satisfies ollama's model.Model: batch.Inputs is the image
// tensor [W, H, 3, N], already normalized.
func (m *Model) Forward(ctx ml.Context, batch input.Batch) (ml.Tensor, error) {
	if batch.Inputs == nil || batch.Inputs.Dim(2) != 3 {
		return nil, errors.New("alexnet: want an image tensor [W, H, 3, N]")
	}
	return m.Run(ctx, batch.Inputs), nil
}
