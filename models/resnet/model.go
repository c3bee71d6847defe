// Package resnet ports torchvision's ResNet with Bottleneck blocks
// (torchvision 0.14 models/resnet.py: ResNet v1.5, the stride on the 3×3
// conv), with the classifier head, so a plain torchvision resnet50
// checkpoint is a model file of its own. Its Backbone is shared by the FCN
// (models/fcn, dilated) and DETR (models/detr) ports.
//
// Batch norm is folded into the conv before it at conversion
// (bindings.FoldBatchNorm, eps 1e-5), so every conv has a bias in the file.
//
// State-dict key -> GGUF name -> Go field (torchvision names; "layerS" is
// stage S = 1…4, B its block):
//
//	conv1.weight + bn1.*                    -> conv1.{weight,bias}               -> Backbone.Conv1
//	layerS.B.convK.weight + layerS.B.bnK.*  -> layerS.B.convK.{weight,bias}      -> Backbone.LayerS[B].ConvK (K = 1, 2, 3)
//	layerS.B.downsample.0.weight + .1.*     -> layerS.B.downsample.0.{weight,bias} -> Backbone.LayerS[B].Downsample
//	fc.{weight,bias}                        -> fc.{weight,bias}                  -> Model.FC
//
// bn*.num_batches_tracked is dropped. Metadata: resnet.blocks (blocks per
// stage, resnet50: [3 4 6 3]), resnet.width (stem channels and planes of
// stage 1, 64), resnet.replace_stride_with_dilation ([0 0 0]: flags for
// stages 2–4, as torchvision's argument), resnet.num_classes (1000; 0 = no
// head). Images are [W, H, 3, N] normalized with ImageNet's mean and std
// (Normalize).
//
// Layout: the stem (7×7 conv, max pool) runs on [W, H, C, N]; the four
// stages run channel-first [C, W, H, N] through bindings.Conv2DCF when
// ChannelFirst is set (the default), where a 1×1 conv is one matrix
// product; Stages and Forward convert their results back to [W, H, C, N],
// ForwardCF hands them on channel-first (the FCN head and DETR's input
// projection consume that directly).
package resnet

import (
	"errors"
	"fmt"
	"image"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "resnet"

// Expansion is the Bottleneck's output channels per plane.
const Expansion = 4

// BNEps is torch.nn.BatchNorm2d's default epsilon, used when folding.
const BNEps = 1e-5

// ImageNet normalization (torchvision's transforms for every classification
// and segmentation weight set).
var (
	Mean = [3]float32{0.485, 0.456, 0.406}
	Std  = [3]float32{0.229, 0.224, 0.225}
)

// Config is a ResNet's shape.
type Config struct {
	Blocks  [4]int  // blocks per stage
	Width   int     // stem channels = planes of stage 1
	Dilate  [3]bool // replace_stride_with_dilation for stages 2, 3, 4
	Classes int     // fc outputs; 0 = no head
}

// Resnet50 is torchvision's resnet50.
var Resnet50 = Config{Blocks: [4]int{3, 4, 6, 3}, Width: 64, Classes: 1000}

// Planes is the bottleneck width of stage s (0-based).
func (c Config) Planes(s int) int { return c.Width << s }

// OutChannels is the channels of the backbone's output (layer4).
func (c Config) OutChannels() int { return c.Planes(3) * Expansion }

// block is one Bottleneck's geometry: the stride of its 3×3 conv (and of
// the downsample), the 3×3 conv's dilation (= its padding), and whether it
// has a downsample.
type block struct {
	stride, dilation int
	downsample       bool
}

// plan follows ResNet._make_layer: a stage whose stride is replaced by
// dilation multiplies the running dilation by 2, but its first block still
// uses the previous dilation; the first block of every stage has a
// downsample (Bottleneck's input never equals planes·4 there).
func (c Config) plan() [4][]block {
	var p [4][]block
	dilation := 1
	for s := range 4 {
		stride := 1
		if s > 0 {
			stride = 2
		}
		prev := dilation
		if s > 0 && c.Dilate[s-1] {
			dilation *= stride
			stride = 1
		}
		p[s] = append(p[s], block{stride: stride, dilation: prev, downsample: true})
		for range c.Blocks[s] - 1 {
			p[s] = append(p[s], block{stride: 1, dilation: dilation})
		}
	}
	return p
}

// Conv is a Conv2d with its batch norm folded in: weight [KW, KH, IC, OC],
// bias [OC].
type Conv struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Forward applies the conv with square stride, padding and dilation to x
// [W, H, C, N].
func (c *Conv) Forward(ctx ml.Context, x ml.Tensor, stride, padding, dilation int) ml.Tensor {
	return bindings.Conv2D(ctx, x, c.Weight, c.Bias, stride, padding, dilation)
}

// forward applies the conv in the backbone's layout: channel-first
// [C, W, H, N] (bindings.Conv2DCF) when cf, else [W, H, C, N].
func (c *Conv) forward(ctx ml.Context, x ml.Tensor, stride, padding, dilation int, cf bool) ml.Tensor {
	if cf {
		return bindings.Conv2DCF(ctx, x, c.Weight, c.Bias, stride, padding, dilation)
	}
	return c.Forward(ctx, x, stride, padding, dilation)
}

// ChannelFirst selects the stages' activation layout: true runs the four
// stages channel-first (bindings.Conv2DCF: 1×1 convs are one matrix product,
// no im2col), false the [W, H, C, N] im2col path of bindings.Conv2D. Both
// compute the same function (TestLayoutsAgree); the benchmarks compare them.
var ChannelFirst = true

// Bottleneck is torchvision's Bottleneck: 1×1 → 3×3 (stride, dilation) →
// 1×1 ×4, plus the identity or a strided 1×1 downsample, then ReLU.
type Bottleneck struct {
	Conv1      *Conv `gguf:"conv1"`
	Conv2      *Conv `gguf:"conv2"`
	Conv3      *Conv `gguf:"conv3"`
	Downsample *Conv `gguf:"downsample.0"`
}

// Forward runs the block on x, channel-first [C, W, H, N] when cf, else
// [W, H, C, N].
func (b *Bottleneck) Forward(ctx ml.Context, x ml.Tensor, g block, cf bool) ml.Tensor {
	y := b.Conv1.forward(ctx, x, 1, 0, 1, cf).RELU(ctx)
	y = b.Conv2.forward(ctx, y, g.stride, g.dilation, g.dilation, cf).RELU(ctx)
	y = b.Conv3.forward(ctx, y, 1, 0, 1, cf)
	identity := x
	if b.Downsample != nil {
		identity = b.Downsample.forward(ctx, x, g.stride, 0, 1, cf)
	}
	return y.Add(ctx, identity).RELU(ctx)
}

// Backbone is the ResNet body: stem, max pool, four stages. Models that
// embed it hold a *Backbone (ollama's loader descends into pointers).
type Backbone struct {
	Conv1  *Conv         `gguf:"conv1"`
	Layer1 []*Bottleneck `gguf:"layer1"`
	Layer2 []*Bottleneck `gguf:"layer2"`
	Layer3 []*Bottleneck `gguf:"layer3"`
	Layer4 []*Bottleneck `gguf:"layer4"`

	cfg Config
}

// NewBackbone returns a backbone with its block slots made, for model.New
// to fill.
func NewBackbone(c Config) *Backbone {
	return &Backbone{
		Layer1: make([]*Bottleneck, c.Blocks[0]),
		Layer2: make([]*Bottleneck, c.Blocks[1]),
		Layer3: make([]*Bottleneck, c.Blocks[2]),
		Layer4: make([]*Bottleneck, c.Blocks[3]),
		cfg:    c,
	}
}

func (b *Backbone) layers() [4][]*Bottleneck {
	return [4][]*Bottleneck{b.Layer1, b.Layer2, b.Layer3, b.Layer4}
}

// Stages runs the backbone on x [W, H, 3, N] (normalized) and returns the
// outputs of layer1…layer4 as [W, H, C, N].
func (b *Backbone) Stages(ctx ml.Context, x ml.Tensor) [4]ml.Tensor {
	out := b.stages(ctx, x)
	if ChannelFirst {
		for i := range out {
			out[i] = bindings.FromChannelFirst(ctx, out[i])
		}
	}
	return out
}

// stages runs the stem ([W, H, C, N]: the 7×7 conv and max pool) and the
// four stages in the ChannelFirst layout, returning the stage outputs in it.
func (b *Backbone) stages(ctx ml.Context, x ml.Tensor) [4]ml.Tensor {
	cf := ChannelFirst
	// The stem ([W, H, C, N], 7×7 stride 2 on 3 channels) goes through
	// Conv2DGEMM: with bindings' own GEMM (gemm.c) its product is 78
	// against Conv2D's 118 CPU-ms at 520×520, 2 threads, -march=x86-64-v4
	// (BenchmarkResNetStem_520x520x3). (With tinyBLAS, k = 147 grown to
	// 8×8×3, it was no faster in the whole model.) An f16 stem stays on
	// Conv2D inside Conv2DGEMM.
	x = bindings.Conv2DGEMM(ctx, x, b.Conv1.Weight, b.Conv1.Bias, 2, 3, 1).RELU(ctx)
	x = bindings.MaxPool2D(ctx, x, 3, 2, 1)
	if cf {
		x = bindings.ToChannelFirst(ctx, x)
	}
	var out [4]ml.Tensor
	plan := b.cfg.plan()
	for s, layer := range b.layers() {
		for i, blk := range layer {
			x = blk.Forward(ctx, x, plan[s][i], cf)
		}
		out[s] = x
	}
	return out
}

// ForwardCF returns the layer4 feature map channel-first [C, W, H, N]
// (a transpose when ChannelFirst is off).
func (b *Backbone) ForwardCF(ctx ml.Context, x ml.Tensor) ml.Tensor {
	y := b.stages(ctx, x)[3]
	if !ChannelFirst {
		y = bindings.ToChannelFirst(ctx, y)
	}
	return y
}

// Forward returns the layer4 feature map [W/32, H/32, 4·8·width, N]
// (stride 8 or 16 where stages are dilated).
func (b *Backbone) Forward(ctx ml.Context, x ml.Tensor) ml.Tensor {
	y := b.stages(ctx, x)[3]
	if ChannelFirst {
		y = bindings.FromChannelFirst(ctx, y)
	}
	return y
}

// Linear is a torch.nn.Linear: weight [in, out], bias [out].
type Linear struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Model is torchvision's ResNet with its classifier.
type Model struct {
	model.Base
	*Backbone
	FC *Linear `gguf:"fc"`
}

// ReadConfig reads a ResNet shape from the architecture's own metadata keys
// ("resnet.blocks" here, "fcn.blocks" in the FCN, ...).
func ReadConfig(kv fsggml.KV) (Config, error) {
	var c Config
	blocks, err := bindings.ConfigUints(kv, "blocks")
	if err != nil {
		return c, err
	}
	if len(blocks) != 4 {
		return c, fmt.Errorf("metadata %s.blocks has %d entries, want 4", kv.Architecture(), len(blocks))
	}
	for i, n := range blocks {
		if n < 1 || n > 64 {
			return c, fmt.Errorf("metadata %s.blocks[%d] = %d, want 1…64", kv.Architecture(), i, n)
		}
		c.Blocks[i] = int(n)
	}
	dil, err := bindings.ConfigUints(kv, "replace_stride_with_dilation")
	if err != nil {
		return c, err
	}
	if len(dil) != 3 {
		return c, fmt.Errorf("metadata %s.replace_stride_with_dilation has %d entries, want 3", kv.Architecture(), len(dil))
	}
	for i, d := range dil {
		c.Dilate[i] = d != 0
	}
	c.Width = int(kv.Uint("width"))
	if c.Width < 1 || c.Width > 4096 {
		return c, fmt.Errorf("metadata %s.width = %d, want 1…4096", kv.Architecture(), c.Width)
	}
	c.Classes = int(kv.Uint("num_classes"))
	return c, nil
}

// ConfigKV is the metadata of a shape (without the architecture prefix).
func ConfigKV(c Config) fsggml.KV {
	dil := make([]uint32, 3)
	for i, d := range c.Dilate {
		if d {
			dil[i] = 1
		}
	}
	blocks := make([]uint32, 4)
	for i, n := range c.Blocks {
		blocks[i] = uint32(n)
	}
	return fsggml.KV{
		"blocks":                       blocks,
		"width":                        uint32(c.Width),
		"replace_stride_with_dilation": dil,
		"num_classes":                  uint32(c.Classes),
	}
}

// New builds the model struct from GGUF metadata; ollama's model.New then
// fills the tensor fields.
func New(c fs.Config) (model.Model, error) {
	kv, ok := c.(fsggml.KV)
	if !ok {
		return nil, errors.New("resnet: metadata is not GGUF key-values")
	}
	cfg, err := ReadConfig(kv)
	if err != nil {
		return nil, err
	}
	return &Model{Backbone: NewBackbone(cfg)}, nil
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "torchvision ResNet (Bottleneck) classifier, e.g. resnet50",
		Tensors: Tensors,
		Config:  SizeConfig,
		Convert: Convert,
		Inputs:  "torchvision resnet .pth or .safetensors (e.g. resnet50-0676ba61.pth)",
	})
}

// TinyConfig is the reduced shape of tests and demos.
var TinyConfig = Config{Blocks: [4]int{1, 1, 1, 1}, Width: 8, Classes: 10}

// SizeConfig is the metadata of a tiny or full-size (resnet50) model.
func SizeConfig(size string) (fsggml.KV, error) {
	switch size {
	case "full":
		return ConfigKV(Resnet50), nil
	case "tiny":
		return ConfigKV(TinyConfig), nil
	}
	return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
}

// Tensors lists the backbone's and the head's tensors.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	c, err := ReadConfig(kv)
	if err != nil {
		return nil, err
	}
	specs := BackboneTensors(c, "")
	if c.Classes > 0 {
		specs = append(specs,
			bindings.TensorSpec{Name: "fc.weight", Shape: []uint64{uint64(c.OutChannels()), uint64(c.Classes)}, Init: bindings.InitWeight},
			bindings.TensorSpec{Name: "fc.bias", Shape: []uint64{uint64(c.Classes)}, Init: bindings.InitBias})
	}
	return specs, nil
}

// BackboneTensors lists a backbone's tensors, names under prefix ("" or
// e.g. "backbone.").
func BackboneTensors(c Config, prefix string) []bindings.TensorSpec {
	var specs []bindings.TensorSpec
	conv := func(name string, k, in, out int) {
		specs = append(specs,
			bindings.TensorSpec{Name: prefix + name + ".weight", Shape: []uint64{uint64(k), uint64(k), uint64(in), uint64(out)}, Init: bindings.InitWeight},
			bindings.TensorSpec{Name: prefix + name + ".bias", Shape: []uint64{uint64(out)}, Init: bindings.InitBias})
	}
	conv("conv1", 7, 3, c.Width)
	in := c.Width
	for s, blocks := range c.plan() {
		p := c.Planes(s)
		for i, b := range blocks {
			name := fmt.Sprintf("layer%d.%d.", s+1, i)
			conv(name+"conv1", 1, in, p)
			conv(name+"conv2", 3, p, p)
			conv(name+"conv3", 1, p, p*Expansion)
			if b.downsample {
				conv(name+"downsample.0", 1, in, p*Expansion)
			}
			in = p * Expansion
		}
	}
	return specs
}

// Logits runs the classifier on x [W, H, 3, N] (normalized): global average
// pool, fc. Returns [classes, N].
func (m *Model) Logits(ctx ml.Context, x ml.Tensor) ml.Tensor {
	f := m.Backbone.Forward(ctx, x)
	w, h, c, n := f.Dim(0), f.Dim(1), f.Dim(2), f.Dim(3)
	pooled := f.Reshape(ctx, w*h, c*n).Mean(ctx).Reshape(ctx, c, n) // [C, N]
	return m.FC.Weight.Mulmat(ctx, pooled).Add(ctx, m.FC.Bias)
}

// Forward satisfies ollama's model.Model: batch.Inputs is the normalized
// image tensor [W, H, 3, N]; the result is the logits [classes, N].
func (m *Model) Forward(ctx ml.Context, batch input.Batch) (ml.Tensor, error) {
	if batch.Inputs == nil || batch.Inputs.Dim(2) != 3 {
		return nil, errors.New("resnet: want an image tensor [W, H, 3, N]")
	}
	if m.FC == nil {
		return nil, errors.New("resnet: the model has no classifier head (num_classes 0)")
	}
	return m.Logits(ctx, batch.Inputs), nil
}

// Normalize converts an image to the network's input [W, H, 3, 1] in ggml
// order: RGB in [0, 1], minus ImageNet's mean, over its std (torchvision's
// ToTensor + Normalize). Alpha is ignored.
func Normalize(img image.Image) []float32 {
	v := bindings.PlanarRGB(img)
	plane := len(v) / 3
	for c := range 3 {
		for i := c * plane; i < (c+1)*plane; i++ {
			v[i] = (v[i] - Mean[c]) / Std[c]
		}
	}
	return v
}
