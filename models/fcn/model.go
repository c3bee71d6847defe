// Package fcn ports torchvision's fcn_resnet50 (torchvision 0.14
// models/segmentation/fcn.py): a ResNet-50 backbone whose last two stages
// replace their stride by dilation 2 and 4 (output stride 8, models/resnet),
// FCNHead (3×3 conv 2048→512 without bias, BN, ReLU, Dropout(0.1) = identity
// at inference, 1×1 conv → classes) and bilinear upsampling of the logits
// to the output size with align_corners=False (ggml's bilinear Interpolate;
// TestBilinearMatchesTorch checks it against F.interpolate). VOC's 21
// classes (VOCClasses). The aux head (aux_classifier.*) is accepted in
// checkpoints and dropped.
//
// State-dict key -> GGUF name -> Go field:
//
//	backbone.<resnet key> (+ its BN)           -> backbone.<resnet GGUF name> -> Model.Backbone (see models/resnet)
//	classifier.0.weight + classifier.1.* (BN)  -> classifier.0.{weight,bias}   -> Model.Head.Conv
//	classifier.4.{weight,bias}                 -> classifier.4.{weight,bias}   -> Model.Head.Out
//	aux_classifier.*                           -> dropped
//
// Metadata: fcn.blocks, fcn.width, fcn.replace_stride_with_dilation (as
// models/resnet; [0 1 1] for fcn_resnet50), fcn.num_classes (21),
// fcn.head_channels (512 = backbone channels / 4), fcn.resize (520: the
// shorter side the image is resized to, torchvision's SemanticSegmentation
// preset; 0 = run at the image's own size).
//
// Preprocessing (Segment): RGB in [0, 1], ImageNet mean/std
// (resnet.Normalize); the image is resized in the graph (bilinear,
// align_corners=False, no antialiasing — torchvision's PIL resize
// antialiases when shrinking) so its shorter side is Options.Resize
// (default fcn.resize); the logits are upsampled bilinearly straight to the
// original image size and the mask is their per-pixel argmax.
package fcn

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
	"github.com/multisc/multisc/models/resnet"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "fcn"

// VOCClasses are the 21 Pascal VOC classes of fcn_resnet50's weights, in
// label order (0 = background).
var VOCClasses = []string{
	"__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
	"car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
	"person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
}

// DefaultResize is torchvision's SemanticSegmentation resize_size for the
// fcn_resnet50 weights.
const DefaultResize = 520

// Conv is a conv with an optional folded-BN bias: weight [KW, KH, IC, OC].
type Conv struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Head is torchvision's FCNHead.
type Head struct {
	Conv *Conv `gguf:"0"`
	Out  *Conv `gguf:"4"`
}

// Forward maps backbone features [W, H, C, N] to logits [W, H, classes, N].
func (h *Head) Forward(ctx ml.Context, x ml.Tensor) ml.Tensor {
	x = bindings.Conv2D(ctx, x, h.Conv.Weight, h.Conv.Bias, 1, 1, 1).RELU(ctx)
	return bindings.Conv2D(ctx, x, h.Out.Weight, h.Out.Bias, 1, 0, 1)
}

// ForwardCF is Forward on channel-first features [C, W, H, N], returning
// channel-first logits [classes, W, H, N].
func (h *Head) ForwardCF(ctx ml.Context, x ml.Tensor) ml.Tensor {
	x = bindings.Conv2DCF(ctx, x, h.Conv.Weight, h.Conv.Bias, 1, 1, 1).RELU(ctx)
	return bindings.Conv2DCF(ctx, x, h.Out.Weight, h.Out.Bias, 1, 0, 1)
}

// Model is fcn_resnet50 without the aux head.
type Model struct {
	model.Base
	Backbone *resnet.Backbone `gguf:"backbone"`
	Head     *Head            `gguf:"classifier"`

	Classes []string // label names (metadata fcn.labels, else VOC's when 21 classes)
	Resize  int      // shorter side for Segment; 0 = native size
}

// New builds the model struct from GGUF metadata; ollama's model.New then
// fills the tensor fields.
func New(c fs.Config) (model.Model, error) {
	kv, ok := c.(fsggml.KV)
	if !ok {
		return nil, errors.New("fcn: metadata is not GGUF key-values")
	}
	cfg, err := resnet.ReadConfig(kv)
	if err != nil {
		return nil, err
	}
	m := &Model{Backbone: resnet.NewBackbone(cfg), Resize: int(kv.Uint("resize"))}
	m.Classes = kv.Strings("labels")
	if len(m.Classes) != cfg.Classes {
		m.Classes = nil
		if cfg.Classes == len(VOCClasses) {
			m.Classes = VOCClasses
		}
	}
	if m.Classes == nil {
		for i := range cfg.Classes {
			m.Classes = append(m.Classes, fmt.Sprintf("class%d", i))
		}
	}
	return m, nil
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "torchvision fcn_resnet50 semantic segmentation (VOC, 21 classes)",
		Tensors: Tensors,
		Config:  SizeConfig,
		Convert: Convert,
		Inputs:  "torchvision fcn_resnet50 .pth or .safetensors (fcn_resnet50_coco-1167a1af.pth)",
	})
}

// Shape is an FCN's configuration.
type Shape struct {
	resnet.Config     // Classes = segmentation classes
	HeadChannels  int // FCNHead's inner channels
	Resize        int // fcn.resize
	Labels        []string
}

// FullShape is fcn_resnet50 with VOC's classes.
var FullShape = Shape{
	Config:       resnet.Config{Blocks: [4]int{3, 4, 6, 3}, Width: 64, Dilate: [3]bool{false, true, true}, Classes: 21},
	HeadChannels: 512, Resize: DefaultResize, Labels: VOCClasses,
}

// TinyShape is the reduced model of tests and demos.
var TinyShape = Shape{
	Config:       resnet.Config{Blocks: [4]int{1, 1, 1, 1}, Width: 4, Dilate: [3]bool{false, true, true}, Classes: 21},
	HeadChannels: 32, Resize: 0, Labels: VOCClasses,
}

// ShapeKV is the metadata of a shape (without the architecture prefix).
func ShapeKV(s Shape) fsggml.KV {
	kv := resnet.ConfigKV(s.Config)
	kv["head_channels"] = uint32(s.HeadChannels)
	kv["resize"] = uint32(s.Resize)
	if len(s.Labels) == s.Classes {
		kv["labels"] = s.Labels
	}
	return kv
}

// SizeConfig is the metadata of a tiny or full-size model.
func SizeConfig(size string) (fsggml.KV, error) {
	switch size {
	case "full":
		return ShapeKV(FullShape), nil
	case "tiny":
		return ShapeKV(TinyShape), nil
	}
	return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
}

// Tensors lists the backbone's and the head's tensors.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	c, err := resnet.ReadConfig(kv)
	if err != nil {
		return nil, err
	}
	hc := uint64(kv.Uint("head_channels"))
	if hc == 0 || c.Classes == 0 {
		return nil, fmt.Errorf("metadata fcn.head_channels and fcn.num_classes must be positive")
	}
	specs := resnet.BackboneTensors(c, "backbone.")
	in, nc := uint64(c.OutChannels()), uint64(c.Classes)
	return append(specs,
		bindings.TensorSpec{Name: "classifier.0.weight", Shape: []uint64{3, 3, in, hc}, Init: bindings.InitWeight},
		bindings.TensorSpec{Name: "classifier.0.bias", Shape: []uint64{hc}, Init: bindings.InitBias},
		bindings.TensorSpec{Name: "classifier.4.weight", Shape: []uint64{1, 1, hc, nc}, Init: bindings.InitWeight},
		bindings.TensorSpec{Name: "classifier.4.bias", Shape: []uint64{nc}, Init: bindings.InitBias},
	), nil
}

// Logits runs the network on x [W, H, 3, N] (normalized) and returns the
// class logits upsampled bilinearly to [outW, outH, classes, N].
func (m *Model) Logits(ctx ml.Context, x ml.Tensor, outW, outH int) ml.Tensor {
	var y ml.Tensor
	if resnet.ChannelFirst {
		y = bindings.FromChannelFirst(ctx, m.Head.ForwardCF(ctx, m.Backbone.ForwardCF(ctx, x)))
	} else {
		y = m.Head.Forward(ctx, m.Backbone.Forward(ctx, x))
	}
	return y.Interpolate(ctx, [4]int{outW, outH, y.Dim(2), y.Dim(3)}, ml.SamplingModeBilinear)
}

// Forward satisfies ollama's model.Model: batch.Inputs is the normalized
// image tensor [W, H, 3, N]; the result is the logits at the input size.
func (m *Model) Forward(ctx ml.Context, batch input.Batch) (ml.Tensor, error) {
	x := batch.Inputs
	if x == nil || x.Dim(2) != 3 {
		return nil, errors.New("fcn: want an image tensor [W, H, 3, N]")
	}
	return m.Logits(ctx, x, x.Dim(0), x.Dim(1)), nil
}

// ResizedSize is the size the network sees for an image of w×h when its
// shorter side is resized to short (0: unchanged), rounding the longer side
// as torchvision's resize does (int truncation of long·short/shortSide).
func ResizedSize(w, h, short int) (int, int) {
	if short <= 0 || w <= 0 || h <= 0 {
		return w, h
	}
	if w <= h {
		return short, int(float64(h) * float64(short) / float64(w))
	}
	return int(float64(w) * float64(short) / float64(h)), short
}

// Mask is a segmentation result: one class index per pixel, row-major.
type Mask struct {
	W, H    int
	Classes []string // label names by index
	Label   []uint8  // W·H class indices
}

// At is the class index at (x, y).
func (m *Mask) At(x, y int) int { return int(m.Label[y*m.W+x]) }

// Segment runs the model on one image: resize so the shorter side is
// resize (0 uses the model's fcn.resize, < 0 keeps the native size),
// normalize, logits upsampled to the image size, argmax per pixel.
func (m *Model) Segment(img image.Image, resize int) (*Mask, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("image is %dx%d", w, h)
	}
	if len(m.Classes) > 256 {
		return nil, fmt.Errorf("%d classes do not fit a byte mask", len(m.Classes))
	}
	switch {
	case resize == 0:
		resize = m.Resize
	case resize < 0:
		resize = 0
	}
	rw, rh := ResizedSize(w, h, resize)
	in := resnet.Normalize(img)
	vals, shapes, err := bindings.Compute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in, w, h, 3, 1)
		if rw != w || rh != h {
			x = x.Interpolate(ctx, [4]int{rw, rh, 3, 1}, ml.SamplingModeBilinear)
		}
		return []ml.Tensor{m.Logits(ctx, x, w, h)}
	})
	if err != nil {
		return nil, err
	}
	nc := shapes[0][2]
	return &Mask{W: w, H: h, Classes: m.Classes, Label: Argmax(vals[0], w*h, nc)}, nil
}

// Argmax picks, for each of n pixels of planar logits [n per class ×
// classes], the class with the largest logit (the first on ties, as
// torch.argmax).
func Argmax(logits []float32, n, classes int) []uint8 {
	out := make([]uint8, n)
	for i := range n {
		best, bi := logits[i], 0
		for c := 1; c < classes; c++ {
			if v := logits[c*n+i]; v > best {
				best, bi = v, c
			}
		}
		out[i] = uint8(bi)
	}
	return out
}
