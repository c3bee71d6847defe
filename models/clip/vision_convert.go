package clip

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// VisionFolder is one checkpoint folder: its config.json (and
// preprocessor_config.json when present) and the merged state dict of its
// weight files (*.safetensors, *.bin, *.pth, *.pt).
type VisionFolder struct {
	Dir          string
	Config       map[string]any
	Preprocessor map[string]any
	Weights      checkpoint.StateDict
}

// VisionReadFolder reads a checkpoint folder. A weight file is loaded only
// when keep(name) is true (nil keeps all).
func VisionReadFolder(dir string, keep func(file string) bool) (*VisionFolder, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", dir, err)
	}
	if !st.IsDir() {
		return nil, badinput.Errorf("%s: not a folder (want a checkpoint folder with config.json)", dir)
	}
	f := &VisionFolder{Dir: dir, Weights: checkpoint.StateDict{}}
	if f.Config, err = checkpoint.ReadConfig(filepath.Join(dir, "config.json")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		if f.Preprocessor, err = checkpoint.ReadConfig(filepath.Join(dir, "preprocessor_config.json")); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", dir, err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".safetensors", ".bin", ".pth", ".pt":
			if !e.IsDir() && (keep == nil || keep(e.Name())) {
				files = append(files, e.Name())
			}
		}
	}
	sort.Strings(files)
	for _, name := range files {
		sd, err := checkpoint.Load(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		for k, v := range sd {
			f.Weights[k] = v
		}
	}
	return f, nil
}

// VisionNum reads a numeric config value (JSON numbers are float64).
func VisionNum(cfg map[string]any, key string, def float64) float64 {
	if v, ok := cfg[key].(float64); ok {
		return v
	}
	return def
}

// VisionStr reads a string config value.
func VisionStr(cfg map[string]any, key, def string) string {
	if v, ok := cfg[key].(string); ok {
		return v
	}
	return def
}

// IsLLaVAConfig says whether a config.json is a LLaVA model's (it names
// the projector or the vision tower).
func IsLLaVAConfig(cfg map[string]any) bool {
	_, a := cfg["mm_projector_type"]
	_, b := cfg["mm_vision_tower"]
	_, c := cfg["mm_hidden_size"]
	return a || b || c
}

// visionPrefixes are where LLaVA checkpoints keep the tower's keys, mapped
// to Hugging Face CLIPVisionModel's "vision_model.".
var visionPrefixes = []string{"model.vision_tower.vision_tower.vision_model.", "vision_tower.vision_tower.vision_model.",
	"model.vision_tower.vision_model.", "vision_tower.vision_model."}

// VisionConvert turns a LLaVA checkpoint folder and its vision tower's
// folder (Hugging Face CLIPVisionModel/CLIPModel or SiglipVisionModel: its
// config.json, optional preprocessor_config.json, weights), in either
// order, into llama.cpp's mmproj tensors. The tower's weights may also sit
// inside the LLaVA checkpoint (model.vision_tower.vision_tower.*); then the
// tower folder only needs its config.json.
func VisionConvert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) == 1 {
		f, err := VisionReadFolder(inputs[0], nil)
		if err != nil {
			return nil, nil, err
		}
		if IsLLaVAConfig(f.Config) {
			return nil, nil, badinput.Errorf("%s: a LLaVA checkpoint also needs its vision tower's folder (clip takes two folders)", inputs[0])
		}
		return VisionConvertFolders(nil, f)
	}
	if len(inputs) != 2 {
		return nil, nil, badinput.Errorf("%v: clip (mmproj) takes two folders: the LLaVA checkpoint and its vision tower (or one: an image encoder with projection), got %d", inputs, len(inputs))
	}
	var llava, tower *VisionFolder
	for _, in := range inputs {
		f, err := VisionReadFolder(in, nil)
		if err != nil {
			return nil, nil, err
		}
		if IsLLaVAConfig(f.Config) {
			llava = f
		} else {
			tower = f
		}
	}
	if llava == nil || tower == nil {
		return nil, nil, badinput.Errorf("%v: want one LLaVA folder (config.json with mm_projector_type) and one vision tower folder", inputs)
	}
	return VisionConvertFolders(llava, tower)
}

// VisionConvertFolders is VisionConvert on folders already read. llava nil
// converts a bare image encoder (Hugging Face CLIPVisionModelWithProjection:
// post_layernorm and visual_projection kept, clip.projector_type "none").
func VisionConvertFolders(llava, tower *VisionFolder) (fsggml.KV, map[string][]float32, error) {
	encoder := llava == nil
	if encoder {
		llava = &VisionFolder{Dir: tower.Dir, Config: map[string]any{}, Weights: checkpoint.StateDict{}}
	}
	vc := tower.Config
	if sub, ok := vc["vision_config"].(map[string]any); ok {
		vc = sub
	}
	mt := VisionStr(vc, "model_type", VisionStr(tower.Config, "model_type", ""))
	siglip := strings.Contains(mt, "siglip")
	if !siglip && !strings.Contains(mt, "clip") {
		return nil, nil, badinput.Errorf("%s/config.json: model_type %q is not a CLIP or SigLIP vision tower", tower.Dir, mt)
	}
	d := int(VisionNum(vc, "hidden_size", 0))
	heads := int(VisionNum(vc, "num_attention_heads", 0))
	layers := int(VisionNum(vc, "num_hidden_layers", 0))
	ff := int(VisionNum(vc, "intermediate_size", 0))
	image := int(VisionNum(vc, "image_size", 0))
	patch := int(VisionNum(vc, "patch_size", 0))
	if d <= 0 || heads <= 0 || layers <= 0 || ff <= 0 || image <= 0 || patch <= 0 || image%patch != 0 || d%heads != 0 {
		return nil, nil, badinput.Errorf("%s/config.json: hidden_size, num_attention_heads, num_hidden_layers, intermediate_size, image_size, patch_size are missing or inconsistent", tower.Dir)
	}
	act := VisionStr(vc, "hidden_act", map[bool]string{false: "quick_gelu", true: "gelu_pytorch_tanh"}[siglip])
	if (siglip && act != "gelu_pytorch_tanh") || (!siglip && act != "quick_gelu" && act != "gelu") {
		return nil, nil, badinput.Errorf("%s/config.json: hidden_act %q is not supported for %s (want %s)", tower.Dir, act, mt,
			map[bool]string{false: "quick_gelu", true: "gelu_pytorch_tanh"}[siglip])
	}
	pt := VisionStr(llava.Config, "mm_projector_type", "linear")
	if !encoder && pt != "mlp2x_gelu" {
		return nil, nil, badinput.Errorf("%s/config.json: mm_projector_type %q is not supported (supported: [mlp2x_gelu])", llava.Dir, pt)
	}
	sel := int(VisionNum(llava.Config, "mm_vision_select_layer", -2))
	fl := sel
	if sel < 0 {
		fl = layers + sel + 1 // hidden_states[sel]: the output of the first fl blocks
	}
	if fl < 0 || fl > layers {
		return nil, nil, badinput.Errorf("%s/config.json: mm_vision_select_layer %d is outside the tower's %d layers", llava.Dir, sel, layers)
	}

	sd := checkpoint.StateDict{}
	for k, v := range tower.Weights {
		sd[k] = v
	}
	for k, v := range llava.Weights {
		for _, p := range visionPrefixes {
			if strings.HasPrefix(k, p) {
				sd["vision_model."+strings.TrimPrefix(k, p)] = v
				break
			}
		}
		// bindings/checkpoint strips a "model." prefix shared by every key
		// of a PyTorch file, so a stand-alone mm_projector.bin comes
		// without it.
		for _, p := range []string{"model.mm_projector.", "mm_projector."} {
			if strings.HasPrefix(k, p) {
				sd["mm."+strings.TrimPrefix(k, p)] = v
			}
		}
	}
	values := map[string][]float32{}
	var errs []string
	take := func(key, name string, shape ...int) {
		t, err := sd.Take(key, shape...)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		values[name] = t.Data
	}
	np := (image / patch) * (image / patch)
	e, proj := 0, 0
	if encoder {
		t, ok := sd["visual_projection.weight"]
		if !ok || len(t.Shape) != 2 {
			return nil, nil, badinput.Errorf("%s: no visual_projection.weight (an image encoder alone must be a CLIPVisionModelWithProjection)", tower.Dir)
		}
		proj = t.Shape[0]
		take("visual_projection.weight", "v.proj.weight", proj, d)
		take("vision_model.post_layernorm.weight", "v.post_ln.weight", d)
		take("vision_model.post_layernorm.bias", "v.post_ln.bias", d)
	} else {
		if t, ok := sd["mm.0.weight"]; ok && len(t.Shape) == 2 {
			e = t.Shape[0]
		}
		if e == 0 {
			return nil, nil, badinput.Errorf("%s: no projector weights (model.mm_projector.0.weight)", llava.Dir)
		}
		take("mm.0.weight", "mm.0.weight", e, d)
		take("mm.0.bias", "mm.0.bias", e)
		take("mm.2.weight", "mm.2.weight", e, e)
		take("mm.2.bias", "mm.2.bias", e)
	}

	vm := "vision_model."
	take(vm+"embeddings.patch_embedding.weight", "v.patch_embd.weight", d, 3, patch, patch)
	if siglip {
		take(vm+"embeddings.patch_embedding.bias", "v.patch_embd.bias", d)
		take(vm+"embeddings.position_embedding.weight", "v.position_embd.weight", np, d)
	} else {
		take(vm+"embeddings.class_embedding", "v.class_embd", d)
		take(vm+"embeddings.position_embedding.weight", "v.position_embd.weight", np+1, d)
		take(vm+"pre_layrnorm.weight", "v.pre_ln.weight", d)
		take(vm+"pre_layrnorm.bias", "v.pre_ln.bias", d)
	}
	for i := range layers {
		p := fmt.Sprintf("%sencoder.layers.%d.", vm, i)
		g := fmt.Sprintf("v.blk.%d.", i)
		for _, n := range [][2]string{{"layer_norm1", "ln1"}, {"layer_norm2", "ln2"}} {
			take(p+n[0]+".weight", g+n[1]+".weight", d)
			take(p+n[0]+".bias", g+n[1]+".bias", d)
		}
		for _, n := range [][2]string{{"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"}, {"self_attn.v_proj", "attn_v"}, {"self_attn.out_proj", "attn_out"}} {
			take(p+n[0]+".weight", g+n[1]+".weight", d, d)
			take(p+n[0]+".bias", g+n[1]+".bias", d)
		}
		take(p+"mlp.fc1.weight", g+"ffn_up.weight", ff, d)
		take(p+"mlp.fc1.bias", g+"ffn_up.bias", ff)
		take(p+"mlp.fc2.weight", g+"ffn_down.weight", d, ff)
		take(p+"mlp.fc2.bias", g+"ffn_down.bias", d)
	}
	if len(errs) > 0 {
		return nil, nil, badinput.Errorf("%s, %s: %s", llava.Dir, tower.Dir, strings.Join(errs, "; "))
	}
	// Dropped on purpose: the text tower and heads of a full CLIPModel /
	// SiglipModel, the post_layernorm (LLaVA takes hidden_states[select_layer],
	// which never pass it; llama.cpp would apply it if present), SigLIP's attention-pool head, position_ids.
	if rest := sd.Rest("text_model.", "logit_scale", "logit_bias", "visual_projection.", "text_projection.",
		vm+"post_layernorm.", vm+"head.", vm+"embeddings.position_ids"); len(rest) > 0 {
		if len(rest) > 8 {
			rest = append(rest[:8], "...")
		}
		return nil, nil, badinput.Errorf("%s: unexpected tower keys %v", tower.Dir, rest)
	}

	kv := VisionConfigFor(d, heads, layers, ff, image, patch, e, siglip)
	if encoder {
		kv = VisionEncoderConfigFor(d, heads, layers, ff, image, patch, proj, act == "gelu")
	}
	if act == "gelu" {
		kv["use_gelu"] = true // llama.cpp's nearest (tanh); this port reads VisionActKey
		kv[VisionActKey] = "gelu"
	}
	kv["vision.attention.layer_norm_epsilon"] = float32(VisionNum(vc, "layer_norm_eps", map[bool]float64{false: 1e-5, true: 1e-6}[siglip]))
	kv["vision.projection_dim"] = uint32(VisionNum(vc, "projection_dim", float64(e)))
	if encoder {
		kv["vision.projection_dim"] = uint32(proj)
	}
	if fl != layers-1 && !encoder {
		kv["vision.feature_layer"] = []int32{int32(fl)}
	}
	if pp := tower.Preprocessor; pp != nil {
		mean, std := floats(pp["image_mean"]), floats(pp["image_std"])
		if len(mean) == 3 && len(std) == 3 {
			kv["vision.image_mean"], kv["vision.image_std"] = mean, std
		}
	}
	kv["general.name"] = filepath.Base(llava.Dir) + " mmproj"
	if encoder {
		kv["general.name"] = filepath.Base(tower.Dir) + " image encoder"
	}
	return kv, values, nil
}

func floats(v any) []float32 {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []float32
	for _, e := range a {
		f, ok := e.(float64)
		if !ok {
			return nil
		}
		out = append(out, float32(f))
	}
	return out
}
