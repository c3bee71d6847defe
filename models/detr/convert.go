package detr

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/models/resnet"
)

// DefaultHeads is DETR's attention head count, used when no config.json
// says otherwise (checkpoints do not record it).
const DefaultHeads = 8

// hubConfig is the part of the hub's config.json the converter reads.
type hubConfig struct {
	DModel   int               `json:"d_model"`
	EncHeads int               `json:"encoder_attention_heads"`
	DecHeads int               `json:"decoder_attention_heads"`
	Dilation bool              `json:"dilation"`
	PreNorm  bool              `json:"pre_norm"`
	ID2Label map[string]string `json:"id2label"`
}

// Convert reads a DETR checkpoint: the original facebookresearch .pth
// ({"model": state dict}, keys backbone.0.body.*, transformer.*, ...) or the
// hub's model.safetensors / pytorch_model.bin (keys model.backbone.
// conv_encoder.model.*, model.encoder.*, ...), optionally followed by the
// hub's config.json (heads, class names; without it: 8 heads, COCO names
// for 91 classes). The first unexpected or missing key is named. It is
// ConvertStream with every tensor read at once.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	return bindings.StreamConvertFunc(ConvertStream).Materialize(inputs)
}

// ConvertStream is Convert with each tensor read when the GGUF writer
// reaches it (bindings.RegisterStreamConverter; see resnet's
// convert_stream.go): the checkpoint's index is checked up front, then
// each output tensor reads only its inputs (a backbone conv and its frozen
// BN statistics; one third of an in_proj; a tensor copied as it is).
// Peak memory on a full-size checkpoint: see the package comment.
func ConvertStream(inputs []string) (fsggml.KV, map[string]bindings.TensorSource, func() error, error) {
	ckpt, cfg, err := readInputs(inputs)
	if err != nil {
		return nil, nil, nil, err
	}
	sd, read, release, err := resnet.OpenLazy(ckpt)
	if err != nil {
		return nil, nil, nil, err
	}
	kv, sources, err := convert(sd, read, cfg)
	if err != nil {
		release()
		return nil, nil, nil, badinput.Errorf("%s: %v", ckpt, err)
	}
	return kv, sources, release, nil
}

// readInputs sorts the inputs into the checkpoint and the optional
// config.json, and reads the latter.
func readInputs(inputs []string) (string, hubConfig, error) {
	var ckpt, cfgPath string
	var cfg hubConfig
	for _, in := range inputs {
		if strings.EqualFold(strings.TrimSpace(extOf(in)), ".json") {
			if cfgPath != "" {
				return "", cfg, fmt.Errorf("detr takes at most one config.json, got %s and %s", cfgPath, in)
			}
			cfgPath = in
		} else {
			if ckpt != "" {
				return "", cfg, fmt.Errorf("detr takes one checkpoint file (plus an optional config.json), got %s and %s", ckpt, in)
			}
			ckpt = in
		}
	}
	if ckpt == "" {
		return "", cfg, fmt.Errorf("detr needs a checkpoint file (.pth, .bin or .safetensors)")
	}
	if cfgPath != "" {
		if err := badinput.CheckFile(cfgPath, "config.json"); err != nil {
			return "", cfg, err
		}
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			return "", cfg, badinput.Errorf("%s: %v", cfgPath, err)
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return "", cfg, badinput.Errorf("%s: not a DETR config.json: %v", cfgPath, err)
		}
		if cfg.PreNorm {
			return "", cfg, badinput.Errorf("%s: pre_norm DETR is not supported (the published models are post-norm)", cfgPath)
		}
	}
	return ckpt, cfg, nil
}

func extOf(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 && !strings.ContainsAny(p[i:], `/\`) {
		return p[i:]
	}
	return ""
}

// origLayer matches the original's transformer layer keys.
var origLayer = regexp.MustCompile(`^transformer\.(encoder|decoder)\.layers\.(\d+)\.(.+)$`)

// canonical renames one non-backbone key to its GGUF name (the hub's name
// without "model."); in_proj tensors come back with the suffix "in_proj"
// for the caller to split. ok is false for keys DETR does not have.
func canonical(key string, hub bool) (string, bool) {
	if hub {
		switch {
		case strings.HasPrefix(key, "model."):
			return strings.TrimPrefix(key, "model."), true
		case strings.HasPrefix(key, "class_labels_classifier."), strings.HasPrefix(key, "bbox_predictor."):
			return key, true
		}
		return "", false
	}
	for _, r := range [][2]string{
		{"input_proj.", "input_projection."},
		{"query_embed.", "query_position_embeddings."},
		{"transformer.decoder.norm.", "decoder.layernorm."},
		{"class_embed.", "class_labels_classifier."},
		{"bbox_embed.", "bbox_predictor."},
	} {
		if strings.HasPrefix(key, r[0]) {
			return r[1] + strings.TrimPrefix(key, r[0]), true
		}
	}
	m := origLayer.FindStringSubmatch(key)
	if m == nil {
		return "", false
	}
	part, rest := m[1], m[3]
	norms := map[string]string{"norm1": "self_attn_layer_norm", "norm2": "final_layer_norm"}
	if part == "decoder" {
		norms = map[string]string{"norm1": "self_attn_layer_norm", "norm2": "encoder_attn_layer_norm", "norm3": "final_layer_norm"}
	}
	mod, leaf, _ := strings.Cut(rest, ".")
	switch {
	case mod == "linear1":
		mod = "fc1"
	case mod == "linear2":
		mod = "fc2"
	case mod == "multihead_attn" && part == "decoder":
		mod = "encoder_attn"
	case norms[mod] != "":
		mod = norms[mod]
	case mod == "self_attn":
	default:
		return "", false
	}
	return fmt.Sprintf("%s.layers.%s.%s.%s", part, m[2], mod, leaf), true
}

// canonT is one non-backbone tensor under its GGUF name: the checkpoint
// key it comes from, its shape, and for a third of an in_proj the part
// (0, 1, 2 for q, k, v; -1 for a tensor taken whole) and the whole tensor.
type canonT struct {
	key   string
	shape []int
	part  int
	whole *checkpoint.Tensor
}

func (c canonT) ggmlShape() []uint64 { return (&checkpoint.Tensor{Shape: c.shape}).GGMLShape() }

// source reads the tensor (or its third of the in_proj) through read.
func (c canonT) source(read resnet.Reader) bindings.TensorSource {
	n := 1
	for _, d := range c.shape {
		n *= d
	}
	return bindings.TensorSource{Elements: uint64(n), Read: func() ([]float32, error) {
		v, err := read(c.key, c.whole)
		if err != nil {
			return nil, err
		}
		if c.part < 0 {
			return v, nil
		}
		if len(v) != 3*n {
			return nil, fmt.Errorf("tensor %s: read %d values, want %d", c.key, len(v), 3*n)
		}
		return v[c.part*n : (c.part+1)*n], nil
	}}
}

func convert(sd checkpoint.StateDict, read resnet.Reader, cfg hubConfig) (fsggml.KV, map[string]bindings.TensorSource, error) {
	var hub bool
	var src string
	switch {
	case sd["model.backbone.conv_encoder.model.conv1.weight"] != nil:
		hub, src = true, "model.backbone.conv_encoder.model."
	case sd["backbone.0.body.conv1.weight"] != nil:
		src = "backbone.0.body."
	default:
		return nil, nil, fmt.Errorf("not a DETR checkpoint: neither backbone.0.body.conv1.weight (original) nor model.backbone.conv_encoder.model.conv1.weight (hub) is present")
	}
	dilate := [3]bool{false, false, cfg.Dilation}
	rc, sources, err := resnet.ConvertBackboneStream(sd, read, src, "backbone.", dilate)
	if err != nil {
		return nil, nil, err
	}
	canon := map[string]canonT{}
	for _, k := range sd.Keys() {
		name, ok := canonical(k, hub)
		if !ok {
			return nil, nil, fmt.Errorf("not a DETR checkpoint: unexpected key %s", k)
		}
		t := sd[k]
		if strings.HasSuffix(name, ".in_proj_weight") || strings.HasSuffix(name, ".in_proj_bias") {
			base, kind, _ := strings.Cut(name, ".in_proj_")
			if t.Shape[0]%3 != 0 {
				return nil, nil, fmt.Errorf("tensor %s has shape %v: rows not a multiple of 3", k, t.Shape)
			}
			rows := t.Shape[0] / 3
			for j, p := range []string{"q_proj", "k_proj", "v_proj"} {
				shape := append([]int{rows}, t.Shape[1:]...)
				canon[base+"."+p+"."+kind] = canonT{key: k, shape: shape, part: j, whole: t}
			}
			continue
		}
		canon[name] = canonT{key: k, shape: t.Shape, part: -1, whole: t}
	}
	s := Shape{Config: rc, Resize: FullShape.Resize}
	dim := func(name string, axis int) (int, error) {
		t, ok := canon[name]
		if !ok || len(t.shape) <= axis {
			return 0, fmt.Errorf("tensor %s is missing", name)
		}
		return t.shape[axis], nil
	}
	if s.DModel, err = dim("input_projection.weight", 0); err != nil {
		return nil, nil, err
	}
	if s.Queries, err = dim("query_position_embeddings.weight", 0); err != nil {
		return nil, nil, err
	}
	if s.FFN, err = dim("encoder.layers.0.fc1.weight", 0); err != nil {
		return nil, nil, err
	}
	nc, err := dim("class_labels_classifier.weight", 0)
	if err != nil {
		return nil, nil, err
	}
	s.Classes = nc - 1
	for hasKey(canon, fmt.Sprintf("encoder.layers.%d.fc1.weight", s.Encoder)) {
		s.Encoder++
	}
	for hasKey(canon, fmt.Sprintf("decoder.layers.%d.fc1.weight", s.Decoder)) {
		s.Decoder++
	}
	s.Heads = DefaultHeads
	if cfg.EncHeads > 0 {
		s.Heads = cfg.EncHeads
		if cfg.DecHeads > 0 && cfg.DecHeads != cfg.EncHeads {
			return nil, nil, fmt.Errorf("encoder (%d) and decoder (%d) head counts differ; not supported", cfg.EncHeads, cfg.DecHeads)
		}
	}
	if cfg.DModel > 0 && cfg.DModel != s.DModel {
		return nil, nil, fmt.Errorf("config d_model %d but input_projection has %d outputs", cfg.DModel, s.DModel)
	}
	if s.DModel%s.Heads != 0 {
		return nil, nil, fmt.Errorf("d_model %d is not a multiple of %d heads", s.DModel, s.Heads)
	}
	s.Labels = labels(cfg.ID2Label, s.Classes)
	kv := ShapeKV(s)
	specs, err := Tensors(withPrefix(kv))
	if err != nil {
		return nil, nil, err
	}
	for _, spec := range specs {
		if strings.HasPrefix(spec.Name, "backbone.") {
			continue
		}
		t, ok := canon[spec.Name]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %s is missing (after renaming to the hub's names)", spec.Name)
		}
		if !sameShape(t.ggmlShape(), spec.Shape) {
			return nil, nil, fmt.Errorf("tensor %s has PyTorch shape %v, want %v", spec.Name, t.shape, reverse(spec.Shape))
		}
		sources[spec.Name] = t.source(read)
		delete(canon, spec.Name)
	}
	if rest := slices.Sorted(maps.Keys(canon)); len(rest) > 0 {
		return nil, nil, fmt.Errorf("not a DETR checkpoint of this shape: unexpected tensor %s (and %d more)", rest[0], len(rest)-1)
	}
	return kv, sources, nil
}

// withPrefix gives kv the "detr." prefix Tensors reads through.
func withPrefix(kv fsggml.KV) fsggml.KV {
	out := fsggml.KV{"general.architecture": Arch}
	for k, v := range kv {
		out[Arch+"."+k] = v
	}
	return out
}

// labels builds the class-name list from the hub's id2label, or COCO's for
// 91 classes, or class<i>.
func labels(id2label map[string]string, n int) []string {
	out := make([]string, n)
	for i := range out {
		switch {
		case id2label != nil:
			if l, ok := id2label[strconv.Itoa(i)]; ok {
				out[i] = l
			} else {
				out[i] = "N/A"
			}
		case n == len(COCOLabels):
			out[i] = COCOLabels[i]
		default:
			out[i] = fmt.Sprintf("class%d", i)
		}
	}
	return out
}

func sameShape(a []uint64, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func reverse(s []uint64) []uint64 {
	out := make([]uint64, len(s))
	for i, d := range s {
		out[len(s)-1-i] = d
	}
	return out
}

func hasKey(m map[string]canonT, k string) bool {
	_, ok := m[k]
	return ok
}

func init() {
	bindings.RegisterStreamConverter(Arch, ConvertStream)
}
