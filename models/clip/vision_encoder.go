package clip

import (
	"fmt"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// Sizes of the clip architecture for `multisc synth --arch clip --size S`
// and `multisc models synth`. "tiny" and "full" are LLaVA mmproj files (a
// tower with its mlp projector); the others are bare image encoders
// (clip.projector_type "none": Hugging Face CLIPVisionModelWithProjection,
// pooled image_embeds through the visual projection).
const (
	// VisionSizeViTH is the IP-Adapter SD 1.5 image encoder (h94/IP-Adapter
	// models/image_encoder, OpenCLIP ViT-H/14 laion2b): 1280 wide, 32
	// layers, 16 heads, ff 5120, 224², patch 14, exact GELU, projection
	// 1024.
	VisionSizeViTH = "vit-h"
	// VisionSizeViTL is the embedder (openai/clip-vit-large-patch14): 1024
	// wide, 24 layers, 16 heads, ff 4096, 224², patch 14, QuickGELU,
	// projection 768.
	VisionSizeViTL = "vit-l"
	// VisionSizeTinyEncoder is a tiny ViT-H-style encoder (exact GELU)
	// whose projection width, VisionTinyEncoderDim, is the tiny
	// IP-Adapter's image_dim (ipadapter.TinyOptions).
	VisionSizeTinyEncoder = "tiny-encoder"
	// VisionSizeTinyEmbedder is a tiny ViT-L-style encoder (QuickGELU).
	VisionSizeTinyEmbedder = "tiny-embedder"
)

// VisionTinyEncoderDim is the projection width of the tiny image encoder:
// the tiny IP-Adapter's image_dim and testdata/cliph_tower's projection_dim.
const VisionTinyEncoderDim = 24

// VisionSizes lists every size VisionConfig takes, for help texts.
var VisionSizes = []string{"tiny", "full", VisionSizeViTH, VisionSizeViTL, VisionSizeTinyEncoder, VisionSizeTinyEmbedder}

// visionEncoderSizes are the image-encoder sizes: tower shape and
// projection width.
var visionEncoderSizes = map[string]struct {
	hidden, heads, layers, ff, image, patch, proj int
	gelu                                          bool
}{
	VisionSizeViTH:         {1280, 16, 32, 5120, 224, 14, 1024, true},
	VisionSizeViTL:         {1024, 16, 24, 4096, 224, 14, 768, false},
	VisionSizeTinyEncoder:  {32, 4, 3, 64, 56, 7, VisionTinyEncoderDim, true},
	VisionSizeTinyEmbedder: {32, 4, 2, 64, 56, 7, 16, false},
}

// visionEncoderConfig is VisionConfig for the image-encoder sizes.
func visionEncoderConfig(size string) (fsggml.KV, bool) {
	s, ok := visionEncoderSizes[size]
	if !ok {
		return nil, false
	}
	return VisionEncoderConfigFor(s.hidden, s.heads, s.layers, s.ff, s.image, s.patch, s.proj, s.gelu), true
}

// VisionEncoderConfigFor is the metadata (keys without "clip.") of a bare
// image encoder (CLIPVisionModelWithProjection) of the given shape: a CLIP
// tower (class token, pre-LN, post-LN) with a visual projection to proj
// and no LLaVA projector; gelu selects the exact (erf) GELU of OpenCLIP's
// ViT-H (hidden_act "gelu"), otherwise OpenAI CLIP's QuickGELU.
func VisionEncoderConfigFor(hidden, heads, layers, ff, image, patch, proj int, gelu bool) fsggml.KV {
	kv := VisionConfigFor(hidden, heads, layers, ff, image, patch, proj, false)
	delete(kv, VisionMMWidthKey)
	kv["projector_type"] = VisionProjectorNone
	kv["has_llava_projector"] = false
	if gelu {
		kv["use_gelu"] = true // llama.cpp's nearest (tanh); this port reads VisionActKey
		kv[VisionActKey] = "gelu"
	}
	return kv
}

func visionSizeError(size string) error {
	return fmt.Errorf("size %q: want one of %s (tiny, full: LLaVA mmproj; vit-h: the IP-Adapter's ViT-H/14 image encoder; vit-l: the ViT-L/14 embedder; tiny-encoder, tiny-embedder: their tiny forms)",
		size, strings.Join(VisionSizes, ", "))
}
