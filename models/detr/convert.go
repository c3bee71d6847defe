package detr

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

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
// for 91 classes). The first unexpected or missing key is named.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	var ckpt, cfgPath string
	for _, in := range inputs {
		if strings.EqualFold(strings.TrimSpace(extOf(in)), ".json") {
			if cfgPath != "" {
				return nil, nil, fmt.Errorf("detr takes at most one config.json, got %s and %s", cfgPath, in)
			}
			cfgPath = in
		} else {
			if ckpt != "" {
				return nil, nil, fmt.Errorf("detr takes one checkpoint file (plus an optional config.json), got %s and %s", ckpt, in)
			}
			ckpt = in
		}
	}
	if ckpt == "" {
		return nil, nil, fmt.Errorf("detr needs a checkpoint file (.pth, .bin or .safetensors)")
	}
	var cfg hubConfig
	if cfgPath != "" {
		if err := badinput.CheckFile(cfgPath, "config.json"); err != nil {
			return nil, nil, err
		}
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			return nil, nil, badinput.Errorf("%s: %v", cfgPath, err)
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, nil, badinput.Errorf("%s: not a DETR config.json: %v", cfgPath, err)
		}
		if cfg.PreNorm {
			return nil, nil, badinput.Errorf("%s: pre_norm DETR is not supported (the published models are post-norm)", cfgPath)
		}
	}
	sd, err := checkpoint.Load(ckpt)
	if err != nil {
		return nil, nil, err
	}
	kv, values, err := convert(sd, cfg)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", ckpt, err)
	}
	return kv, values, nil
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

func convert(sd checkpoint.StateDict, cfg hubConfig) (fsggml.KV, map[string][]float32, error) {
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
	rc, values, err := resnet.ConvertBackbone(sd, src, "backbone.", dilate)
	if err != nil {
		return nil, nil, err
	}
	canon := map[string]*checkpoint.Tensor{}
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
			per := len(t.Data) / 3
			for j, p := range []string{"q_proj", "k_proj", "v_proj"} {
				shape := append([]int{rows}, t.Shape[1:]...)
				canon[base+"."+p+"."+kind] = &checkpoint.Tensor{Shape: shape, Data: t.Data[j*per : (j+1)*per]}
			}
			continue
		}
		canon[name] = t
	}
	s := Shape{Config: rc, Resize: FullShape.Resize}
	dim := func(name string, axis int) (int, error) {
		t, ok := canon[name]
		if !ok || len(t.Shape) <= axis {
			return 0, fmt.Errorf("tensor %s is missing", name)
		}
		return t.Shape[axis], nil
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
	for canon[fmt.Sprintf("encoder.layers.%d.fc1.weight", s.Encoder)] != nil {
		s.Encoder++
	}
	for canon[fmt.Sprintf("decoder.layers.%d.fc1.weight", s.Decoder)] != nil {
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
		if !sameShape(t.GGMLShape(), spec.Shape) {
			return nil, nil, fmt.Errorf("tensor %s has PyTorch shape %v, want %v", spec.Name, t.Shape, reverse(spec.Shape))
		}
		values[spec.Name] = t.Data
		delete(canon, spec.Name)
	}
	if rest := sortedKeys(canon); len(rest) > 0 {
		return nil, nil, fmt.Errorf("not a DETR checkpoint of this shape: unexpected tensor %s (and %d more)", rest[0], len(rest)-1)
	}
	return kv, values, nil
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

func sortedKeys(m map[string]*checkpoint.Tensor) []string {
	sd := checkpoint.StateDict(m)
	return sd.Keys()
}
