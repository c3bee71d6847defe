package clip

import (
	"fmt"
	"slices"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

// VisionMMWidthKey is this project's metadata key (without the "clip."
// prefix) for the projector's output width, the language model's hidden
// size. llama.cpp does not need it (it reads the width from mm.2.bias);
// files without it are validated without the mm.* shapes, which the loader
// then checks (see OpenVision).
const VisionMMWidthKey = "vision.mm_embedding_length"

// VisionActKey is this project's metadata key (without "clip.") naming the
// encoder activation when it is the exact (erf) GELU, "gelu": llama.cpp's
// clip.use_gelu means the tanh approximation, which such files also set as
// the closest llama.cpp can run.
const VisionActKey = "vision.hidden_act"

// visionSigLIP says whether a file has SigLIP's layout (patch bias, no
// class token, no pre-LN): clip.use_gelu without the erf GELU.
func visionSigLIP(kv fsggml.KV) bool {
	return kv.Bool("use_gelu") && kv.String(VisionActKey) != "gelu"
}

// OpenAI CLIP's and SigLIP's image normalization.
var (
	VisionCLIPMean   = []float32{0.48145466, 0.4578275, 0.40821073}
	VisionCLIPStd    = []float32{0.26862954, 0.26130258, 0.27577711}
	VisionSigLIPMean = []float32{0.5, 0.5, 0.5}
	VisionSigLIPStd  = []float32{0.5, 0.5, 0.5}
)

// VisionConfig is the metadata (keys without "clip.") of a tiny mmproj or a
// full-size LLaVA-1.5 one (CLIP ViT-L/14-336, mlp2x_gelu projector into a
// 1024-wide language model, Qwen1.5-0.5B's), or of a bare image encoder
// for the sizes vit-h, vit-l, tiny-encoder and tiny-embedder (see
// VisionSizes and vision_encoder.go).
func VisionConfig(size string) (fsggml.KV, error) {
	if kv, ok := visionEncoderConfig(size); ok {
		return kv, nil
	}
	switch size {
	case "tiny":
		return VisionConfigFor(32, 4, 3, 64, 56, 7, 64, false), nil // 64 patches: a position table big enough to be stored quantized
	case "full":
		return VisionConfigFor(1024, 16, 24, 4096, 336, 14, 1024, false), nil
	}
	return nil, visionSizeError(size)
}

// VisionConfigFor is the metadata of a tower of the given shape with an mlp
// projector to lmHidden; siglip selects SigLIP's layout and activation.
func VisionConfigFor(hidden, heads, layers, ff, image, patch, lmHidden int, siglip bool) fsggml.KV {
	kv := fsggml.KV{
		"projector_type":                      "mlp",
		"has_vision_encoder":                  true,
		"has_text_encoder":                    false,
		"has_llava_projector":                 true,
		"use_gelu":                            siglip,
		"vision.embedding_length":             uint32(hidden),
		"vision.feed_forward_length":          uint32(ff),
		"vision.block_count":                  uint32(layers),
		"vision.attention.head_count":         uint32(heads),
		"vision.attention.layer_norm_epsilon": float32(1e-5),
		"vision.image_size":                   uint32(image),
		"vision.patch_size":                   uint32(patch),
		"vision.projection_dim":               uint32(lmHidden),
		VisionMMWidthKey:                      uint32(lmHidden),
		"vision.image_mean":                   VisionCLIPMean,
		"vision.image_std":                    VisionCLIPStd,
	}
	if siglip {
		kv["vision.attention.layer_norm_epsilon"] = float32(1e-6)
		kv["vision.image_mean"], kv["vision.image_std"] = VisionSigLIPMean, VisionSigLIPStd
	}
	return kv
}

// VisionTensors lists the tensors an mmproj must hold, from its metadata.
// CLIP towers (clip.use_gelu false) have a class token and pre-LN; SigLIP
// towers (true) have a patch bias. A post-LN is optional (applied when
// present, as llama.cpp does; LLaVA conversions leave it out).
func VisionTensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	pt := kv.String("projector_type", "mlp")
	if !slices.Contains(VisionProjectorTypes, pt) {
		return nil, fmt.Errorf("clip.projector_type %q is not supported (supported: %v)", pt, VisionProjectorTypes)
	}
	d := uint64(kv.Uint("vision.embedding_length"))
	layers := uint64(kv.Uint("vision.block_count"))
	ff := uint64(kv.Uint("vision.feed_forward_length"))
	image, patch := uint64(kv.Uint("vision.image_size")), uint64(kv.Uint("vision.patch_size"))
	heads := uint64(kv.Uint("vision.attention.head_count"))
	if d == 0 || layers == 0 || patch == 0 || image%patch != 0 || heads == 0 || d%heads != 0 {
		return nil, fmt.Errorf("clip.vision metadata is missing or inconsistent (embedding_length %d, block_count %d, head_count %d, image_size %d, patch_size %d)",
			d, layers, heads, image, patch)
	}
	siglip := visionSigLIP(kv)
	np := (image / patch) * (image / patch)
	var s []bindings.TensorSpec
	add := func(name string, init bindings.Init, shape ...uint64) {
		s = append(s, bindings.TensorSpec{Name: name, Shape: shape, Init: init})
	}
	lin := func(name string, in, out uint64) {
		add(name+".weight", bindings.InitWeight, in, out)
		add(name+".bias", bindings.InitBias, out)
	}
	norm := func(name string) {
		add(name+".weight", bindings.InitOnes, d)
		add(name+".bias", bindings.InitBias, d)
	}
	add("v.patch_embd.weight", bindings.InitWeight, patch, patch, 3, d)
	if siglip {
		add("v.patch_embd.bias", bindings.InitBias, d)
		add("v.position_embd.weight", bindings.InitBias, d, np)
	} else {
		add("v.class_embd", bindings.InitBias, d)
		add("v.position_embd.weight", bindings.InitBias, d, np+1)
		norm("v.pre_ln")
	}
	for i := range layers {
		p := fmt.Sprintf("v.blk.%d.", i)
		norm(p + "ln1")
		for _, n := range []string{"attn_q", "attn_k", "attn_v", "attn_out"} {
			lin(p+n, d, d)
		}
		norm(p + "ln2")
		if ff > 0 {
			// llama.cpp's old surgery files have feed_forward_length 0 and
			// may have ffn_up/ffn_down swapped: their shapes are then left
			// to the model (VisionMLP swaps them back).
			lin(p+"ffn_up", d, ff)
			lin(p+"ffn_down", ff, d)
		}
	}
	if pt == VisionProjectorNone {
		p := uint64(kv.Uint("vision.projection_dim"))
		if p == 0 {
			return nil, fmt.Errorf("clip.vision.projection_dim is missing (an encoder without projector needs its visual projection)")
		}
		norm("v.post_ln")
		add("v.proj.weight", bindings.InitWeight, d, p)
	} else if e := uint64(kv.Uint(VisionMMWidthKey)); e > 0 {
		lin("mm.0", d, e)
		lin("mm.2", e, e)
	}
	return s, nil
}
