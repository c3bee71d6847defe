package clip

import (
	"fmt"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

// TestVisionEncoderSizes: every size VisionConfig takes yields a tensor
// list; the encoder sizes have no LLaVA projector and a visual projection
// of their projection width; an unknown size names them all.
func TestVisionEncoderSizes(t *testing.T) {
	for _, size := range VisionSizes {
		t.Run(size, func(t *testing.T) {
			kv, err := VisionConfig(size)
			if err != nil {
				t.Fatal(err)
			}
			full := fsggml.KV{"general.architecture": VisionArch}
			for k, v := range kv {
				full[VisionArch+"."+k] = v
			}
			specs, err := VisionTensors(full)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string][]uint64{}
			for _, s := range specs {
				names[s.Name] = s.Shape
			}
			_, enc := visionEncoderSizes[size]
			proj, hasProj := names["v.proj.weight"]
			_, hasMM := names["mm.0.weight"]
			if hasProj != enc || hasMM == enc {
				t.Errorf("v.proj.weight %v, mm.0.weight %v; want an encoder: %v", hasProj, hasMM, enc)
			}
			if enc && (proj[1] != uint64(kv["vision.projection_dim"].(uint32)) || proj[0] != uint64(kv["vision.embedding_length"].(uint32))) {
				t.Errorf("v.proj.weight %v, want [embedding_length, projection_dim]", proj)
			}
		})
	}
	_, err := VisionConfig("vit-g")
	if err == nil || !strings.Contains(err.Error(), "vit-h") || !strings.Contains(err.Error(), "tiny-embedder") {
		t.Errorf("unknown size: %v", err)
	}
}

// TestVisionEncoderConfigMatchesConverter: a synthesized encoder carries
// the same metadata as one converted from a CLIPVisionModelWithProjection
// folder of that shape (testdata/cliph_tower: 32 wide, 4 heads, 3 layers,
// ff 64, 28², patch 7, projection 24, hidden_act gelu), so that synthetic
// sets stand in for pulled ones.
func TestVisionEncoderConfigMatchesConverter(t *testing.T) {
	meta, err := bindings.Header(convertVision(t, "cliph.gguf", fsggml.TensorTypeF32, "testdata/cliph_tower"))
	if err != nil {
		t.Fatal(err)
	}
	got := meta.KV()
	want := VisionEncoderConfigFor(32, 4, 3, 64, 28, 7, VisionTinyEncoderDim, true)
	for k, v := range want {
		g, ok := got[VisionArch+"."+k]
		if !ok {
			t.Errorf("converted file lacks clip.%s", k)
			continue
		}
		if _, isArr := v.([]float32); isArr {
			g = got.Floats(k) // arrays decode as fsggml's array type
		}
		if fmt.Sprint(g) != fmt.Sprint(v) {
			t.Errorf("clip.%s = %v converted, %v synthesized", k, g, v)
		}
	}
	for k := range got {
		if s, ok := strings.CutPrefix(k, VisionArch+"."); ok {
			if _, ok := want[s]; !ok && s != "block_count" {
				t.Errorf("converted file has clip.%s, a synthesized one does not", s)
			}
		}
	}
}

// TestVisionEmbedderParity: the embedder role's layout, a whole CLIPModel
// (testdata/make_embedder_fixture.py: text tower, both projections,
// logit_scale and int64 position_ids in one checkpoint, nested config),
// converted alone: the text side is dropped and the image features
// (QuickGELU tower, pooled class token, post-LN, visual projection) match
// CLIPModel.get_image_features within parity.Tol·max|ref|.
func TestVisionEmbedderParity(t *testing.T) {
	v := openConvertedVision(t, "testdata/clipl_model")
	if v.Model.Act != VisionQuickGELU || v.Model.ProjectorType != VisionProjectorNone || v.Model.Tower.Proj.Dim(1) != 16 {
		t.Fatalf("act %q, projector %q, projection %d", v.Model.Act, v.Model.ProjectorType, v.Model.Tower.Proj.Dim(1))
	}
	want, err := checkpoint.Load("testdata/clipl_expect.pt")
	if err != nil {
		t.Fatal(err)
	}
	px := want["pixels"]
	s := px.Shape[3]
	got, shapes := bindings.MustCompute(v.Model.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{v.Model.Pooled(ctx, ctx.Input().FromFloats(px.Data, s, s, 3, px.Shape[0]))}
	})
	if err := parity.Compare(got[0], want["image_embeds"].Data, parity.Tol); err != nil {
		t.Errorf("image_embeds %v: %v", shapes[0], err)
	}
	t.Logf("image_embeds %v: max|Δ|/max|ref| = %.2e", shapes[0], parity.MaxRelErr(got[0], want["image_embeds"].Data))
}
