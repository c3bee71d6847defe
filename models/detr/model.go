// Package detr ports DETR with a ResNet-50 backbone (facebookresearch/detr
// models/{detr,transformer,position_encoding,backbone}.py;
// facebook/detr-resnet-50 on the Hugging Face hub): the ResNet body with
// frozen batch norm (folded at conversion, models/resnet), a 1×1 input
// projection to d_model (256), the normalized sine position embedding
// (scale 2π, temperature 10000, eps 1e-6, [y | x] channels, sin/cos
// interleaved), 6 post-norm encoder layers (position added to queries and
// keys), 6 post-norm decoder layers (object queries added to the queries and
// keys of self-attention and to the queries of cross-attention, position
// to its keys), the final decoder layer norm, the class head (classes + 1
// no-object) and the 3-layer box MLP (ReLU, ReLU, sigmoid: cx, cy, w, h
// relative to each image).
//
// A batch of differently sized images is padded at the bottom/right with
// zeros (after normalization) to the largest height and width; the padding
// mask (True on padding) is resized to the feature map with nearest
// interpolation as the original does, sets the position embedding's
// cumulative sums, and is applied to the keys of every encoder
// self-attention and decoder cross-attention (−∞ before the softmax).
//
// GGUF names are the Hugging Face hub names without the leading "model."
// (the original checkpoint is renamed by the same rules the hub's converter
// applies); the backbone is renamed to "backbone." and its BN folded:
//
//	original .pth (under "model")          HF hub                                      GGUF / Go field
//	backbone.0.body.<resnet>               model.backbone.conv_encoder.model.<resnet>  backbone.<resnet GGUF>  Model.Backbone
//	input_proj.*                           model.input_projection.*                    input_projection.*      Model.InputProj
//	query_embed.weight                     model.query_position_embeddings.weight      query_position_embeddings.weight Model.Queries
//	transformer.encoder.layers.i.self_attn.in_proj_{weight,bias} (q|k|v rows)
//	                                       model.encoder.layers.i.self_attn.{q,k,v}_proj.*   encoder.layers.i.self_attn.{q,k,v}_proj.*  Encoder[i].SelfAttn.{Q,K,V}
//	  ….self_attn.out_proj.*               ….self_attn.out_proj.*                      ….self_attn.out_proj.*  .Out
//	  ….linear1/linear2                    ….fc1/fc2                                   ….fc1/fc2               .FC1/.FC2
//	  ….norm1/norm2                        ….self_attn_layer_norm/final_layer_norm     (same as HF)            .SelfAttnNorm/.FinalNorm
//	transformer.decoder.layers.i.self_attn / multihead_attn (in_proj split as above)
//	                                       model.decoder.layers.i.self_attn / encoder_attn   decoder.layers.i.…  Decoder[i].SelfAttn/.CrossAttn
//	  ….norm1/norm2/norm3                  ….self_attn_layer_norm/encoder_attn_layer_norm/final_layer_norm  .SelfAttnNorm/.CrossAttnNorm/.FinalNorm
//	transformer.decoder.norm.*             model.decoder.layernorm.*                   decoder.layernorm.*     Model.DecoderNorm
//	class_embed.*                          class_labels_classifier.*                   class_labels_classifier.* Model.Class
//	bbox_embed.layers.j.*                  bbox_predictor.layers.j.*                   bbox_predictor.layers.j.* Model.BBox[j]
//
// Metadata: detr.{blocks,width,replace_stride_with_dilation} (the backbone,
// models/resnet), detr.num_classes (91: COCO ids 0…90, "N/A" gaps),
// detr.d_model, detr.heads, detr.encoder_layers, detr.decoder_layers,
// detr.ffn_dim, detr.num_queries, detr.labels (class names),
// detr.resize ([800 1333]: shorter side, longer-side cap, as the original
// evaluation transform and the hub's DetrImageProcessor).
//
// Conversion streams (ConvertStream): the checkpoint's index is checked,
// then each GGUF tensor reads only what it needs when the writer reaches
// it. Full-size DETR-R50 with random weights (the bench_reference.py model),
// `/usr/bin/time -v multisc convert --arch detr --out d.gguf detr-full.pth`,
// single runs on a shared 2-core machine: 167 MB .pth to a 166 MB f32 GGUF
// at peak RSS 80–112 MB (0.5–0.7× the output; 302–330 MB, 2.0×, when the
// converter loaded the whole checkpoint), the hub's safetensors layout
// 90 MB (341 MB before), f16 output (83 MB) 105 MB (264 MB before); same
// bytes as before (TestConvertGolden holds the tiny fixture's hashes).
package detr

import (
	"errors"
	"fmt"
	"math"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/resnet"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "detr"

const (
	lnEps   = 1e-5 // nn.LayerNorm default
	posEps  = 1e-6 // PositionEmbeddingSine's normalization eps
	posTemp = 10000
	maskNeg = -1e30 // added to masked attention logits (exp underflows to 0 as with −∞)
)

// COCOLabels are DETR's 91 COCO category names by class id ("N/A" for the
// ids COCO leaves unused); id 91 is the no-object class.
var COCOLabels = []string{
	"N/A", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
	"traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat",
	"dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack",
	"umbrella", "N/A", "N/A", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
	"sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
	"tennis racket", "bottle", "N/A", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
	"banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
	"cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A",
	"toilet", "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
	"oven", "toaster", "sink", "refrigerator", "N/A", "book", "clock", "vase", "scissors",
	"teddy bear", "hair drier", "toothbrush",
}

// Shape is a DETR configuration.
type Shape struct {
	resnet.Config        // backbone; Classes = object classes (without no-object)
	DModel        int    // transformer width
	Heads         int    // attention heads
	Encoder       int    // encoder layers
	Decoder       int    // decoder layers
	FFN           int    // feed-forward width
	Queries       int    // object queries
	Resize        [2]int // shorter side, longer-side cap (0 = native size)
	Labels        []string
}

// FullShape is DETR-ResNet-50 (facebook/detr-resnet-50).
var FullShape = Shape{
	Config: resnet.Config{Blocks: [4]int{3, 4, 6, 3}, Width: 64, Classes: 91},
	DModel: 256, Heads: 8, Encoder: 6, Decoder: 6, FFN: 2048, Queries: 100,
	Resize: [2]int{800, 1333}, Labels: COCOLabels,
}

// TinyShape is the reduced model of tests and demos.
var TinyShape = Shape{
	Config: resnet.Config{Blocks: [4]int{1, 1, 1, 1}, Width: 4, Classes: 91},
	DModel: 32, Heads: 4, Encoder: 2, Decoder: 2, FFN: 64, Queries: 32, // 32×32 queries: quantized in f16 files, as at full size
	Labels: COCOLabels,
}

// ShapeKV is the metadata of a shape (without the architecture prefix).
func ShapeKV(s Shape) fsggml.KV {
	kv := resnet.ConfigKV(s.Config)
	kv["d_model"] = uint32(s.DModel)
	kv["heads"] = uint32(s.Heads)
	kv["encoder_layers"] = uint32(s.Encoder)
	kv["decoder_layers"] = uint32(s.Decoder)
	kv["ffn_dim"] = uint32(s.FFN)
	kv["num_queries"] = uint32(s.Queries)
	kv["resize"] = []uint32{uint32(s.Resize[0]), uint32(s.Resize[1])}
	if len(s.Labels) == s.Classes {
		kv["labels"] = s.Labels
	}
	return kv
}

// ReadShape reads a shape from metadata.
func ReadShape(kv fsggml.KV) (Shape, error) {
	var s Shape
	var err error
	if s.Config, err = resnet.ReadConfig(kv); err != nil {
		return s, err
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"d_model", &s.DModel}, {"heads", &s.Heads}, {"encoder_layers", &s.Encoder},
		{"decoder_layers", &s.Decoder}, {"ffn_dim", &s.FFN}, {"num_queries", &s.Queries}} {
		v := kv.Uint(f.key)
		if v == 0 || v > 1<<16 {
			return s, fmt.Errorf("metadata detr.%s = %d, want 1…65536", f.key, v)
		}
		*f.dst = int(v)
	}
	if s.Classes < 1 {
		return s, errors.New("metadata detr.num_classes must be positive")
	}
	if s.DModel%s.Heads != 0 || (s.DModel/2)%2 != 0 {
		return s, fmt.Errorf("metadata detr.d_model %d must be a multiple of detr.heads %d and of 4", s.DModel, s.Heads)
	}
	if r, err := bindings.ConfigUints(kv, "resize"); err == nil && len(r) == 2 {
		s.Resize = [2]int{int(r[0]), int(r[1])}
	}
	return s, nil
}

// Linear is a torch.nn.Linear: weight [in, out], bias [out].
type Linear struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Forward maps x [in, L, N] to [out, L, N].
func (l *Linear) Forward(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return l.Weight.Mulmat(ctx, x).Add(ctx, l.Bias)
}

// LayerNorm is a torch.nn.LayerNorm over dim 0.
type LayerNorm struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Forward normalizes x [C, L, N] over C.
func (n *LayerNorm) Forward(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return x.LayerNorm(ctx, n.Weight, n.Bias, lnEps)
}

// Attention is torch.nn.MultiheadAttention with its in-projection split
// into q/k/v (the hub's DetrAttention).
type Attention struct {
	Q   *Linear `gguf:"q_proj"`
	K   *Linear `gguf:"k_proj"`
	V   *Linear `gguf:"v_proj"`
	Out *Linear `gguf:"out_proj"`
}

// Forward attends queries q [C, L, N] to keys k and values v [C, S, N]
// with heads heads; mask, when not nil, is the additive key mask
// [S, 1, 1, N] (0 or maskNeg).
func (a *Attention) Forward(ctx ml.Context, q, k, v, mask ml.Tensor, heads int) ml.Tensor {
	c, l, n := q.Dim(0), q.Dim(1), q.Dim(2)
	s := k.Dim(1)
	hd := c / heads
	qh := a.Q.Forward(ctx, q).Reshape(ctx, hd, heads, l, n).Permute(ctx, 0, 2, 1, 3)                 // [hd, L, H, N]
	kh := a.K.Forward(ctx, k).Reshape(ctx, hd, heads, s, n).Permute(ctx, 0, 2, 1, 3)                 // [hd, S, H, N]
	vh := a.V.Forward(ctx, v).Reshape(ctx, hd, heads, s, n).Permute(ctx, 1, 2, 0, 3).Contiguous(ctx) // [S, hd, H, N]
	kq := kh.MulmatFullPrec(ctx, qh).Scale(ctx, 1/math.Sqrt(float64(hd)))                            // [S, L, H, N]
	if mask != nil {
		kq = kq.Add(ctx, mask)
	}
	kq = kq.Softmax(ctx)
	out := vh.Mulmat(ctx, kq)                                   // [hd, L, H, N]
	out = out.Permute(ctx, 0, 2, 1, 3).Contiguous(ctx, c, l, n) // [C, L, N]
	return a.Out.Forward(ctx, out)
}

// EncoderLayer is a post-norm TransformerEncoderLayer.
type EncoderLayer struct {
	SelfAttn     *Attention `gguf:"self_attn"`
	SelfAttnNorm *LayerNorm `gguf:"self_attn_layer_norm"`
	FC1          *Linear    `gguf:"fc1"`
	FC2          *Linear    `gguf:"fc2"`
	FinalNorm    *LayerNorm `gguf:"final_layer_norm"`
}

// Forward: x = norm1(x + attn(x+pos, x+pos, x)); x = norm2(x + ffn(x)).
func (e *EncoderLayer) Forward(ctx ml.Context, x, pos, mask ml.Tensor, heads int) ml.Tensor {
	qk := x.Add(ctx, pos)
	x = e.SelfAttnNorm.Forward(ctx, x.Add(ctx, e.SelfAttn.Forward(ctx, qk, qk, x, mask, heads)))
	return e.FinalNorm.Forward(ctx, x.Add(ctx, ffn(ctx, e.FC1, e.FC2, x)))
}

// ffn is linear2(relu(linear1(x))) (dropout is identity at inference).
func ffn(ctx ml.Context, fc1, fc2 *Linear, x ml.Tensor) ml.Tensor {
	return fc2.Forward(ctx, fc1.Forward(ctx, x).RELU(ctx))
}

// DecoderLayer is a post-norm TransformerDecoderLayer.
type DecoderLayer struct {
	SelfAttn      *Attention `gguf:"self_attn"`
	SelfAttnNorm  *LayerNorm `gguf:"self_attn_layer_norm"`
	CrossAttn     *Attention `gguf:"encoder_attn"`
	CrossAttnNorm *LayerNorm `gguf:"encoder_attn_layer_norm"`
	FC1           *Linear    `gguf:"fc1"`
	FC2           *Linear    `gguf:"fc2"`
	FinalNorm     *LayerNorm `gguf:"final_layer_norm"`
}

// Forward runs one decoder layer on the queries' state t [C, Q, N] with
// object queries qpos [C, Q], memory [C, S, N] with position pos and key
// mask.
func (d *DecoderLayer) Forward(ctx ml.Context, t, qpos, memory, pos, mask ml.Tensor, heads int) ml.Tensor {
	qk := t.Add(ctx, qpos)
	t = d.SelfAttnNorm.Forward(ctx, t.Add(ctx, d.SelfAttn.Forward(ctx, qk, qk, t, nil, heads)))
	cross := d.CrossAttn.Forward(ctx, t.Add(ctx, qpos), memory.Add(ctx, pos), memory, mask, heads)
	t = d.CrossAttnNorm.Forward(ctx, t.Add(ctx, cross))
	return d.FinalNorm.Forward(ctx, t.Add(ctx, ffn(ctx, d.FC1, d.FC2, t)))
}

// Conv is the 1×1 input projection: weight [1, 1, IC, OC], bias [OC].
type Conv struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Embedding holds the object queries: weight [C, Q].
type Embedding struct {
	Weight ml.Tensor `gguf:"weight"`
}

// Model is DetrForObjectDetection.
type Model struct {
	model.Base
	Backbone    *resnet.Backbone `gguf:"backbone"`
	InputProj   *Conv            `gguf:"input_projection"`
	Queries     *Embedding       `gguf:"query_position_embeddings"`
	Encoder     []*EncoderLayer  `gguf:"encoder.layers"`
	Decoder     []*DecoderLayer  `gguf:"decoder.layers"`
	DecoderNorm *LayerNorm       `gguf:"decoder.layernorm"`
	Class       *Linear          `gguf:"class_labels_classifier"`
	BBox        []*Linear        `gguf:"bbox_predictor.layers"`

	Shape Shape
}

// New builds the model struct from GGUF metadata; ollama's model.New then
// fills the tensor fields.
func New(c fs.Config) (model.Model, error) {
	kv, ok := c.(fsggml.KV)
	if !ok {
		return nil, errors.New("detr: metadata is not GGUF key-values")
	}
	s, err := ReadShape(kv)
	if err != nil {
		return nil, err
	}
	s.Labels = kv.Strings("labels")
	if len(s.Labels) != s.Classes {
		s.Labels = make([]string, s.Classes)
		for i := range s.Labels {
			s.Labels[i] = fmt.Sprintf("class%d", i)
		}
	}
	return &Model{
		Backbone: resnet.NewBackbone(s.Config),
		Encoder:  make([]*EncoderLayer, s.Encoder),
		Decoder:  make([]*DecoderLayer, s.Decoder),
		BBox:     make([]*Linear, 3),
		Shape:    s,
	}, nil
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "DETR-ResNet-50 object detector (COCO, 91 classes + no-object)",
		Tensors: Tensors,
		Config:  SizeConfig,
		Convert: Convert,
		Inputs:  "facebookresearch detr-r50 .pth, or the hub's model.safetensors / pytorch_model.bin with config.json",
	})
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

// Tensors lists every tensor of a DETR with the metadata's shape.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	s, err := ReadShape(kv)
	if err != nil {
		return nil, err
	}
	specs := resnet.BackboneTensors(s.Config, "backbone.")
	d, f := uint64(s.DModel), uint64(s.FFN)
	lin := func(name string, in, out uint64) {
		specs = append(specs,
			bindings.TensorSpec{Name: name + ".weight", Shape: []uint64{in, out}, Init: bindings.InitWeight},
			bindings.TensorSpec{Name: name + ".bias", Shape: []uint64{out}, Init: bindings.InitBias})
	}
	norm := func(name string) {
		specs = append(specs,
			bindings.TensorSpec{Name: name + ".weight", Shape: []uint64{d}, Init: bindings.InitOnes},
			bindings.TensorSpec{Name: name + ".bias", Shape: []uint64{d}, Init: bindings.InitBias})
	}
	attn := func(name string) {
		for _, p := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			lin(name+"."+p, d, d)
		}
	}
	specs = append(specs,
		bindings.TensorSpec{Name: "input_projection.weight", Shape: []uint64{1, 1, uint64(s.OutChannels()), d}, Init: bindings.InitWeight},
		bindings.TensorSpec{Name: "input_projection.bias", Shape: []uint64{d}, Init: bindings.InitBias},
		bindings.TensorSpec{Name: "query_position_embeddings.weight", Shape: []uint64{d, uint64(s.Queries)}, Init: bindings.InitOnes})
	for i := range s.Encoder {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		attn(p + "self_attn")
		norm(p + "self_attn_layer_norm")
		lin(p+"fc1", d, f)
		lin(p+"fc2", f, d)
		norm(p + "final_layer_norm")
	}
	for i := range s.Decoder {
		p := fmt.Sprintf("decoder.layers.%d.", i)
		attn(p + "self_attn")
		norm(p + "self_attn_layer_norm")
		attn(p + "encoder_attn")
		norm(p + "encoder_attn_layer_norm")
		lin(p+"fc1", d, f)
		lin(p+"fc2", f, d)
		norm(p + "final_layer_norm")
	}
	norm("decoder.layernorm")
	lin("class_labels_classifier", d, uint64(s.Classes+1))
	lin("bbox_predictor.layers.0", d, d)
	lin("bbox_predictor.layers.1", d, d)
	lin("bbox_predictor.layers.2", d, 4)
	return specs, nil
}

// Heads runs the network on a padded batch x [W, H, 3, N] (normalized,
// zero padding at the right/bottom) whose image i covers sizes[i] = (h, w)
// pixels from the top-left corner. It returns the class logits
// [classes+1, Q, N] and the boxes [4, Q, N] (cx, cy, w, h relative to each
// image's own size).
func (m *Model) Heads(ctx ml.Context, x ml.Tensor, sizes [][2]int) (ml.Tensor, ml.Tensor) {
	s := m.Shape
	n := x.Dim(3)
	f := m.Backbone.ForwardCF(ctx, x)                                            // [C, Wf, Hf, N]
	f = bindings.Conv2DCF(ctx, f, m.InputProj.Weight, m.InputProj.Bias, 1, 0, 1) // [D, Wf, Hf, N]
	d, wf, hf := f.Dim(0), f.Dim(1), f.Dim(2)
	src := f.Reshape(ctx, d, wf*hf, n) // [D, Hf·Wf, N], token h·Wf + w

	fmask := FeatureMask(sizes, x.Dim(1), x.Dim(0), hf, wf)
	pos := ctx.Input().FromFloats(PositionEmbedding(fmask, n, hf, wf, d), d, hf*wf, n)
	var mask ml.Tensor
	if anyPadding(fmask) {
		add := make([]float32, len(fmask))
		for i, pad := range fmask {
			if pad {
				add[i] = maskNeg
			}
		}
		mask = ctx.Input().FromFloats(add, hf*wf, 1, 1, n)
	}
	memory := src
	for _, l := range m.Encoder {
		memory = l.Forward(ctx, memory, pos, mask, s.Heads)
	}
	qpos := m.Queries.Weight // [D, Q]
	if qpos.DType() != ml.DTypeF32 {
		// Stored f16 or quantized (it is a 2-D table above the f32-only
		// size): ggml adds only f32 to f32.
		qpos = qpos.Cast(ctx, ml.DTypeF32)
	}
	t := ctx.Input().FromFloats(make([]float32, d*s.Queries*n), d, s.Queries, n)
	for _, l := range m.Decoder {
		t = l.Forward(ctx, t, qpos, memory, pos, mask, s.Heads)
	}
	t = m.DecoderNorm.Forward(ctx, t)
	logits := m.Class.Forward(ctx, t)
	b := m.BBox[0].Forward(ctx, t).RELU(ctx)
	b = m.BBox[1].Forward(ctx, b).RELU(ctx)
	return logits, m.BBox[2].Forward(ctx, b).Sigmoid(ctx)
}

func anyPadding(m []bool) bool {
	for _, p := range m {
		if p {
			return true
		}
	}
	return false
}

// FeatureMask resizes the pixel padding mask of a batch padded to ph×pw
// (image i valid on its top-left sizes[i] = (h, w)) to the hf×wf feature map
// with nearest interpolation as F.interpolate(mode="nearest") computes it
// (source index floor(dst·in/out) in float32). True = padding; layout
// [N][hf][wf].
func FeatureMask(sizes [][2]int, ph, pw, hf, wf int) []bool {
	out := make([]bool, len(sizes)*hf*wf)
	near := func(dst, in, outN int) int {
		if in == outN {
			return dst
		}
		scale := float32(in) / float32(outN)
		return min(int(float32(math.Floor(float64(float32(dst)*scale)))), in-1)
	}
	for i, sz := range sizes {
		for y := range hf {
			sy := near(y, ph, hf)
			for x := range wf {
				sx := near(x, pw, wf)
				out[(i*hf+y)*wf+x] = sy >= sz[0] || sx >= sz[1]
			}
		}
	}
	return out
}

// PositionEmbedding is PositionEmbeddingSine(d/2, normalize=True) of a
// feature mask [N][hf][wf]: channels [y | x], each d/2 wide with sin on even
// and cos on odd channels of pos/10000^(2⌊k/2⌋/(d/2)), pos the cumulative
// count of unpadded cells along the column (y) or row (x), normalized by
// its last value (+1e-6) times 2π. Returns [d, hf·wf, N] in ggml order.
func PositionEmbedding(mask []bool, n, hf, wf, d int) []float32 {
	half := d / 2
	dimT := make([]float32, half)
	for k := range dimT {
		e := float32(2*(k/2)) / float32(half)
		dimT[k] = float32(math.Pow(posTemp, float64(e)))
	}
	out := make([]float32, d*hf*wf*n)
	ye := make([]float32, hf*wf)
	xe := make([]float32, hf*wf)
	for i := range n {
		m := mask[i*hf*wf : (i+1)*hf*wf]
		for x := range wf {
			var c float32
			for y := range hf {
				if !m[y*wf+x] {
					c++
				}
				ye[y*wf+x] = c
			}
		}
		for y := range hf {
			var c float32
			for x := range wf {
				if !m[y*wf+x] {
					c++
				}
				xe[y*wf+x] = c
			}
		}
		for y := range hf {
			for x := range wf {
				t := y*wf + x
				yv := ye[t] / (ye[(hf-1)*wf+x] + posEps) * (2 * math.Pi)
				xv := xe[t] / (xe[y*wf+wf-1] + posEps) * (2 * math.Pi)
				base := (i*hf*wf + t) * d
				for k := range half {
					a, b := float64(yv/dimT[k]), float64(xv/dimT[k])
					if k%2 == 0 {
						out[base+k], out[base+half+k] = float32(math.Sin(a)), float32(math.Sin(b))
					} else {
						out[base+k], out[base+half+k] = float32(math.Cos(a)), float32(math.Cos(b))
					}
				}
			}
		}
	}
	return out
}

// Forward satisfies ollama's model.Model: batch.Inputs is one normalized
// image [W, H, 3, N] without padding; the result is the class logits.
func (m *Model) Forward(ctx ml.Context, batch input.Batch) (ml.Tensor, error) {
	x := batch.Inputs
	if x == nil || x.Dim(2) != 3 {
		return nil, errors.New("detr: want an image tensor [W, H, 3, N]")
	}
	sizes := make([][2]int, x.Dim(3))
	for i := range sizes {
		sizes[i] = [2]int{x.Dim(1), x.Dim(0)}
	}
	logits, _ := m.Heads(ctx, x, sizes)
	return logits, nil
}
