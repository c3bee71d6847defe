package sd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// Diffusers folders (StableDiffusionPipeline.save_pretrained): unet/,
// vae/, text_encoder/ weights and tokenizer/vocab.json, merges.txt. Their
// keys are renamed to the single-file checkpoint's by the published
// correspondence (diffusers scripts/convert_diffusers_to_original_stable_diffusion.py
// semantics) and then
// converted like a single-file checkpoint. The layout (res blocks per
// level, levels, attention per level) is read off the keys.

// diffusersFiles finds the weight files of one component folder.
func diffusersFile(dir, component string, names ...string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, component, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s weights (looked for %v)", filepath.Join(dir, component), component, names)
}

var weightNames = []string{"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.bin"}

// readDiffusers indexes a diffusers folder as a single-file state dict
// (values read on demand) and returns its tokenizer files; the opened files'
// Close functions are appended to closers.
func readDiffusers(dir string, closers *[]func() error) (lazyDict, string, string, error) {
	unetPath, err := diffusersFile(dir, "unet", weightNames...)
	if err != nil {
		return nil, "", "", err
	}
	vaePath, err := diffusersFile(dir, "vae", weightNames...)
	if err != nil {
		return nil, "", "", err
	}
	textPath, err := diffusersFile(dir, "text_encoder", "model.safetensors", "model.fp16.safetensors", "pytorch_model.bin")
	if err != nil {
		return nil, "", "", err
	}
	vocab, err := diffusersFile(dir, "tokenizer", "vocab.json")
	if err != nil {
		return nil, "", "", err
	}
	merges, err := diffusersFile(dir, "tokenizer", "merges.txt")
	if err != nil {
		return nil, "", "", err
	}
	out := lazyDict{}
	for _, part := range []struct {
		path, prefix string
		rename       func(diffusersLayout, string) (string, error)
	}{
		{unetPath, "model.diffusion_model.", diffusersUNetKey},
		{vaePath, "first_stage_model.", diffusersVAEKey},
		{textPath, "cond_stage_model.transformer.", func(_ diffusersLayout, k string) (string, error) { return k, nil }},
	} {
		sd, err := readCheckpoint(part.path, closers)
		if err != nil {
			return nil, "", "", err
		}
		lay := layoutOf(sd)
		for k, t := range sd {
			if k == "text_model.embeddings.position_ids" {
				continue
			}
			nk, err := part.rename(lay, k)
			if err != nil {
				return nil, "", "", fmt.Errorf("%s: %v", part.path, err)
			}
			// diffusers' newer VAE attention uses Linear [C, C] where the
			// checkpoint has 1×1 convs [C, C, 1, 1]: same values.
			if len(t.shape) == 2 && part.prefix == "first_stage_model." {
				t.shape = append(t.shape, 1, 1)
			}
			out[part.prefix+nk] = t
		}
	}
	return out, vocab, merges, nil
}

// diffusersLayout is what the key renaming needs to know of a model:
// res blocks per level and number of levels (SD 1.5: 2 and 4), and which up
// blocks have attention (SD 1.5: all but up_blocks.0).
type diffusersLayout struct {
	resBlocks, levels int
	upAttn            map[int]bool
}

var reIndex = regexp.MustCompile(`^(?:encoder\.)?down_blocks\.(\d+)\.resnets\.(\d+)\.`)
var reUpAttn = regexp.MustCompile(`^up_blocks\.(\d+)\.attentions\.`)

// layoutOf reads the layout off a UNet's or VAE encoder's keys.
func layoutOf(sd lazyDict) diffusersLayout {
	l := diffusersLayout{upAttn: map[int]bool{}}
	for k := range sd {
		if m := reIndex.FindStringSubmatch(k); m != nil {
			i, _ := strconv.Atoi(m[1])
			j, _ := strconv.Atoi(m[2])
			l.levels = max(l.levels, i+1)
			if i == 0 {
				l.resBlocks = max(l.resBlocks, j+1)
			}
		}
		if m := reUpAttn.FindStringSubmatch(k); m != nil {
			i, _ := strconv.Atoi(m[1])
			l.upAttn[i] = true
		}
	}
	return l
}

var (
	reDown     = regexp.MustCompile(`^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$`)
	reDownSamp = regexp.MustCompile(`^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$`)
	reUp       = regexp.MustCompile(`^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)$`)
	reUpSamp   = regexp.MustCompile(`^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$`)
	reMid      = regexp.MustCompile(`^mid_block\.(resnets|attentions)\.(\d+)\.(.*)$`)
)

// resnetParts maps diffusers ResnetBlock2D names to openaimodel ResBlock's.
var resnetParts = map[string]string{
	"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
	"norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection",
}

func renameResnet(rest string) (string, error) {
	part, leaf, ok := cutLast(rest)
	if !ok {
		return "", fmt.Errorf("unexpected resnet key %q", rest)
	}
	p, ok := resnetParts[part]
	if !ok {
		return "", fmt.Errorf("unexpected resnet part %q", part)
	}
	return p + "." + leaf, nil
}

// cutLast splits "a.b.weight" into "a.b" and "weight".
func cutLast(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// diffusersUNetKey maps a UNet2DConditionModel key to its openaimodel key.
func diffusersUNetKey(lay diffusersLayout, k string) (string, error) {
	nrb := lay.resBlocks
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	switch {
	case k == "conv_in.weight" || k == "conv_in.bias":
		return "input_blocks.0.0." + k[len("conv_in."):], nil
	case k == "conv_norm_out.weight" || k == "conv_norm_out.bias":
		return "out.0." + k[len("conv_norm_out."):], nil
	case k == "conv_out.weight" || k == "conv_out.bias":
		return "out.2." + k[len("conv_out."):], nil
	}
	if rest, ok := cutPrefix(k, "time_embedding.linear_1."); ok {
		return "time_embed.0." + rest, nil
	}
	if rest, ok := cutPrefix(k, "time_embedding.linear_2."); ok {
		return "time_embed.2." + rest, nil
	}
	if m := reDown.FindStringSubmatch(k); m != nil {
		blk := 1 + atoi(m[1])*(nrb+1) + atoi(m[3])
		if m[2] == "attentions" {
			return fmt.Sprintf("input_blocks.%d.1.%s", blk, m[4]), nil
		}
		r, err := renameResnet(m[4])
		return fmt.Sprintf("input_blocks.%d.0.%s", blk, r), err
	}
	if m := reDownSamp.FindStringSubmatch(k); m != nil {
		return fmt.Sprintf("input_blocks.%d.0.op.%s", (atoi(m[1])+1)*(nrb+1), m[2]), nil
	}
	if m := reMid.FindStringSubmatch(k); m != nil {
		if m[1] == "attentions" {
			return "middle_block.1." + m[3], nil
		}
		r, err := renameResnet(m[3])
		return fmt.Sprintf("middle_block.%d.%s", 2*atoi(m[2]), r), err
	}
	if m := reUp.FindStringSubmatch(k); m != nil {
		blk := atoi(m[1])*(nrb+1) + atoi(m[3])
		if m[2] == "attentions" {
			return fmt.Sprintf("output_blocks.%d.1.%s", blk, m[4]), nil
		}
		r, err := renameResnet(m[4])
		return fmt.Sprintf("output_blocks.%d.0.%s", blk, r), err
	}
	if m := reUpSamp.FindStringSubmatch(k); m != nil {
		i := atoi(m[1])
		pos := 1 // after the res block
		if lay.upAttn[i] {
			pos = 2 // and the attention
		}
		return fmt.Sprintf("output_blocks.%d.%d.conv.%s", i*(nrb+1)+nrb, pos, m[2]), nil
	}
	return "", fmt.Errorf("unexpected UNet key %q", k)
}

var (
	reVAEDown     = regexp.MustCompile(`^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$`)
	reVAEDownSamp = regexp.MustCompile(`^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$`)
	reVAEUp       = regexp.MustCompile(`^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$`)
	reVAEUpSamp   = regexp.MustCompile(`^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$`)
	reVAEMid      = regexp.MustCompile(`^(encoder|decoder)\.mid_block\.(resnets\.(\d+)|attentions\.0)\.(.*)$`)
)

var vaeAttnParts = map[string]string{
	"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out",
	"query": "q", "key": "k", "value": "v", "proj_attn": "proj_out",
}

// diffusersVAEKey maps an AutoencoderKL key to its ldm key; decoder
// up_blocks run in the opposite order of ldm's up list.
func diffusersVAEKey(lay diffusersLayout, k string) (string, error) {
	levels := lay.levels
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	vres := func(rest string) string {
		if r, ok := cutPrefix(rest, "conv_shortcut."); ok {
			return "nin_shortcut." + r
		}
		return rest
	}
	for _, p := range []string{"encoder.", "decoder."} {
		for _, s := range []string{"conv_in.", "conv_out."} {
			if r, ok := cutPrefix(k, p+s); ok {
				return p + s + r, nil
			}
		}
		if r, ok := cutPrefix(k, p+"conv_norm_out."); ok {
			return p + "norm_out." + r, nil
		}
	}
	for _, s := range []string{"quant_conv.", "post_quant_conv."} {
		if _, ok := cutPrefix(k, s); ok {
			return k, nil
		}
	}
	if m := reVAEDown.FindStringSubmatch(k); m != nil {
		return fmt.Sprintf("encoder.down.%s.block.%s.%s", m[1], m[2], vres(m[3])), nil
	}
	if m := reVAEDownSamp.FindStringSubmatch(k); m != nil {
		return fmt.Sprintf("encoder.down.%s.downsample.conv.%s", m[1], m[2]), nil
	}
	if m := reVAEUp.FindStringSubmatch(k); m != nil {
		return fmt.Sprintf("decoder.up.%d.block.%s.%s", levels-1-atoi(m[1]), m[2], vres(m[3])), nil
	}
	if m := reVAEUpSamp.FindStringSubmatch(k); m != nil {
		return fmt.Sprintf("decoder.up.%d.upsample.conv.%s", levels-1-atoi(m[1]), m[2]), nil
	}
	if m := reVAEMid.FindStringSubmatch(k); m != nil {
		if m[3] != "" {
			return fmt.Sprintf("%s.mid.block_%d.%s", m[1], atoi(m[3])+1, vres(m[4])), nil
		}
		part, leaf, ok := cutLast(m[4])
		if p, found := vaeAttnParts[part]; ok && found {
			return fmt.Sprintf("%s.mid.attn_1.%s.%s", m[1], p, leaf), nil
		}
	}
	return "", fmt.Errorf("unexpected VAE key %q", k)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}
