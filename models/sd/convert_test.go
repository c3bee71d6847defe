package sd

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// writeTensors writes f32 tensors as safetensors.
func writeTensors(t *testing.T, path string, sd checkpoint.StateDict) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, name := range sd.Keys() {
		tn := sd[name]
		header[name] = map[string]any{"dtype": "F32", "shape": tn.Shape, "data_offsets": []int{len(data), len(data) + 4*len(tn.Data)}}
		for _, v := range tn.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(append(buf, h...), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toDiffusers renames a single-file key of the fixture's layout (3 levels,
// 1 res block per level, attention in levels 0 and 1) to its diffusers
// folder and key: the inverse table, written here independently of
// convert_diffusers.go.
func toDiffusers(k string) (dir, key string) {
	const nrb, levels = 1, 3
	sub := func(re, s string) []string { return regexp.MustCompile(re).FindStringSubmatch(s) }
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	res := map[string]string{"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
		"out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}
	resPart := func(rest string) string {
		m := sub(`^(in_layers\.\d|emb_layers\.\d|out_layers\.\d|skip_connection)\.(.*)$`, rest)
		return res[m[1]] + "." + m[2]
	}
	if r, ok := cutPrefix(k, "cond_stage_model.transformer."); ok {
		return "text_encoder", r
	}
	if r, ok := cutPrefix(k, "model.diffusion_model."); ok {
		switch {
		case r == "input_blocks.0.0.weight" || r == "input_blocks.0.0.bias":
			return "unet", "conv_in." + r[len("input_blocks.0.0."):]
		case sub(`^time_embed\.(0|2)\.`, r) != nil:
			m := sub(`^time_embed\.(0|2)\.(.*)$`, r)
			return "unet", fmt.Sprintf("time_embedding.linear_%d.%s", n(m[1])/2+1, m[2])
		case sub(`^out\.0\.`, r) != nil:
			return "unet", "conv_norm_out." + r[len("out.0."):]
		case sub(`^out\.2\.`, r) != nil:
			return "unet", "conv_out." + r[len("out.2."):]
		}
		if m := sub(`^input_blocks\.(\d+)\.0\.op\.(.*)$`, r); m != nil {
			return "unet", fmt.Sprintf("down_blocks.%d.downsamplers.0.conv.%s", n(m[1])/(nrb+1)-1, m[2])
		}
		if m := sub(`^input_blocks\.(\d+)\.(0|1)\.(.*)$`, r); m != nil {
			b := n(m[1]) - 1
			i, j := b/(nrb+1), b%(nrb+1)
			if m[2] == "1" {
				return "unet", fmt.Sprintf("down_blocks.%d.attentions.%d.%s", i, j, m[3])
			}
			return "unet", fmt.Sprintf("down_blocks.%d.resnets.%d.%s", i, j, resPart(m[3]))
		}
		if m := sub(`^middle_block\.(\d)\.(.*)$`, r); m != nil {
			if m[1] == "1" {
				return "unet", "mid_block.attentions.0." + m[2]
			}
			return "unet", fmt.Sprintf("mid_block.resnets.%d.%s", n(m[1])/2, resPart(m[2]))
		}
		if m := sub(`^output_blocks\.(\d+)\.(\d)\.conv\.(.*)$`, r); m != nil {
			return "unet", fmt.Sprintf("up_blocks.%d.upsamplers.0.conv.%s", n(m[1])/(nrb+1), m[3])
		}
		if m := sub(`^output_blocks\.(\d+)\.(0|1)\.(.*)$`, r); m != nil {
			i, j := n(m[1])/(nrb+1), n(m[1])%(nrb+1)
			if m[2] == "1" {
				return "unet", fmt.Sprintf("up_blocks.%d.attentions.%d.%s", i, j, m[3])
			}
			return "unet", fmt.Sprintf("up_blocks.%d.resnets.%d.%s", i, j, resPart(m[3]))
		}
	}
	if r, ok := cutPrefix(k, "first_stage_model."); ok {
		vres := func(s string) string {
			if x, ok := cutPrefix(s, "nin_shortcut."); ok {
				return "conv_shortcut." + x
			}
			return s
		}
		if m := sub(`^encoder\.down\.(\d)\.block\.(\d)\.(.*)$`, r); m != nil {
			return "vae", fmt.Sprintf("encoder.down_blocks.%s.resnets.%s.%s", m[1], m[2], vres(m[3]))
		}
		if m := sub(`^encoder\.down\.(\d)\.downsample\.conv\.(.*)$`, r); m != nil {
			return "vae", fmt.Sprintf("encoder.down_blocks.%s.downsamplers.0.conv.%s", m[1], m[2])
		}
		if m := sub(`^decoder\.up\.(\d)\.block\.(\d)\.(.*)$`, r); m != nil {
			return "vae", fmt.Sprintf("decoder.up_blocks.%d.resnets.%s.%s", 1-n(m[1]), m[2], vres(m[3]))
		}
		if m := sub(`^decoder\.up\.(\d)\.upsample\.conv\.(.*)$`, r); m != nil {
			return "vae", fmt.Sprintf("decoder.up_blocks.%d.upsamplers.0.conv.%s", 1-n(m[1]), m[2])
		}
		if m := sub(`^(encoder|decoder)\.mid\.block_(\d)\.(.*)$`, r); m != nil {
			return "vae", fmt.Sprintf("%s.mid_block.resnets.%d.%s", m[1], n(m[2])-1, vres(m[3]))
		}
		if m := sub(`^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(.*)$`, r); m != nil {
			p := map[string]string{"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}[m[2]]
			return "vae", fmt.Sprintf("%s.mid_block.attentions.0.%s.%s", m[1], p, m[3])
		}
		if m := sub(`^(encoder|decoder)\.norm_out\.(.*)$`, r); m != nil {
			return "vae", m[1] + ".conv_norm_out." + m[2]
		}
		return "vae", r
	}
	return "", ""
}

// TestConvertDiffusersAndGGUF: a diffusers folder and a stable-diffusion.cpp
// style GGUF (single-file names, an architecture key the converter ignores
// (fs/ggml cannot write a GGUF without one), f16) made from the
// fixture convert to exactly the single-file conversion's tensors and
// metadata.
func TestConvertDiffusersAndGGUF(t *testing.T) {
	_, want, err := Convert(fixtureInputs)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := checkpoint.Load(fixtureInputs[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	parts := map[string]checkpoint.StateDict{}
	var ggufTensors []*fsggml.Tensor
	for _, k := range sd.Keys() {
		tn := sd[k]
		ggufTensors = append(ggufTensors, bindings.NewTensor(k, tn.GGMLShape(), tn.Data, fsggml.TensorTypeF16))
		comp, key := toDiffusers(k)
		if comp == "" {
			t.Fatalf("no diffusers name for %s", k)
		}
		if parts[comp] == nil {
			parts[comp] = checkpoint.StateDict{}
		}
		if comp == "vae" && regexp.MustCompile(`attentions\.0\.to_`).MatchString(key) && len(tn.Shape) == 4 {
			tn = &checkpoint.Tensor{Shape: tn.Shape[:2], Data: tn.Data} // diffusers' Linear form
		}
		parts[comp][key] = tn
	}
	writeTensors(t, filepath.Join(dir, "unet", "diffusion_pytorch_model.safetensors"), parts["unet"])
	writeTensors(t, filepath.Join(dir, "vae", "diffusion_pytorch_model.safetensors"), parts["vae"])
	writeTensors(t, filepath.Join(dir, "text_encoder", "model.safetensors"), parts["text_encoder"])
	os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755)
	for _, f := range fixtureInputs[1:] {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, "tokenizer", filepath.Base(f)), b, 0o644)
	}
	ggufPath := filepath.Join(t.TempDir(), "sdcpp.gguf")
	g, err := os.Create(ggufPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsggml.WriteGGUF(g, fsggml.KV{"general.architecture": "unknown-sd", "general.name": "sd.cpp style"}, ggufTensors); err != nil {
		t.Fatal(err)
	}
	g.Close()
	for _, inputs := range [][]string{{dir}, {ggufPath, fixtureInputs[1], fixtureInputs[2]}} {
		_, got, err := Convert(inputs)
		if err != nil {
			t.Fatalf("%v: %v", inputs, err)
		}
		if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
			t.Fatalf("%v: tensors %d, want %d", inputs, len(got), len(want))
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Fatalf("%v: tensor %s differs", inputs, k)
			}
		}
	}
}
