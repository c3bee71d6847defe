package ipadapter

import (
	"fmt"
	"strconv"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Convert reads ip-adapter_sd15.safetensors or .bin and returns the
// metadata and tensors (ggml order) of the GGUF file. The configuration
// comes from the shapes: tokens = proj rows / norm width, image_dim = proj
// columns, widths = the to_k_ip rows of ip_adapter.1, 3, 5, … in order.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) != 1 {
		return nil, nil, badinput.Errorf("ipadapter: want one checkpoint file (ip-adapter_sd15.safetensors or .bin), got %d inputs", len(inputs))
	}
	path := inputs[0]
	sdict, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, err
	}
	bad := func(format string, a ...any) error {
		return badinput.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
	for _, k := range []string{"image_proj.latents", "image_proj.proj_in.weight"} {
		if _, ok := sdict[k]; ok {
			return nil, nil, bad("this is ip-adapter-plus (Resampler image projection, key %s), which is not supported; use ip-adapter_sd15", k)
		}
	}
	for _, k := range []string{"image_proj.proj.0.weight"} {
		if _, ok := sdict[k]; ok {
			return nil, nil, bad("this is ip-adapter-full-face (MLP image projection, key %s), which is not supported; use ip-adapter_sd15", k)
		}
	}
	norm, ok := sdict["image_proj.norm.weight"]
	if !ok || len(norm.Shape) != 1 {
		return nil, nil, bad("tensor image_proj.norm.weight is missing or not 1-D: not an ip-adapter_sd15 checkpoint")
	}
	proj, ok := sdict["image_proj.proj.weight"]
	if !ok || len(proj.Shape) != 2 {
		return nil, nil, bad("tensor image_proj.proj.weight is missing or not 2-D: not an ip-adapter_sd15 checkpoint")
	}
	var o Options
	o.CrossDim = norm.Shape[0]
	if proj.Shape[0]%o.CrossDim != 0 {
		return nil, nil, bad("image_proj.proj.weight has %d rows, not a multiple of the norm width %d", proj.Shape[0], o.CrossDim)
	}
	o.Tokens, o.ImageDim = proj.Shape[0]/o.CrossDim, proj.Shape[1]
	// IP layers: odd indices 1, 3, … without gaps.
	maxN := -1
	for k := range sdict {
		if rest, ok := strings.CutPrefix(k, "ip_adapter."); ok {
			n, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '.'))])
			if err != nil || n%2 != 1 {
				return nil, nil, bad("unexpected key %s (IP layers have odd indices)", k)
			}
			maxN = max(maxN, n)
		}
	}
	if maxN < 1 {
		return nil, nil, bad("no ip_adapter.N.to_k_ip weights: not an ip-adapter_sd15 checkpoint")
	}
	for n := 1; n <= maxN; n += 2 {
		k, ok := sdict[fmt.Sprintf("ip_adapter.%d.to_k_ip.weight", n)]
		if !ok || len(k.Shape) != 2 {
			return nil, nil, bad("tensor ip_adapter.%d.to_k_ip.weight is missing or not 2-D", n)
		}
		o.Widths = append(o.Widths, k.Shape[0])
	}
	out := map[string][]float32{}
	take := func(key string, shape ...int) error {
		t, err := sdict.Take(key, shape...)
		if err != nil {
			return bad("%v", err)
		}
		out[key] = t.Data // PyTorch row-major [out, in] is ggml [in, out]
		return nil
	}
	if err := take("image_proj.proj.weight", o.Tokens*o.CrossDim, o.ImageDim); err != nil {
		return nil, nil, err
	}
	for _, k := range []string{"image_proj.proj.bias", "image_proj.norm.weight", "image_proj.norm.bias"} {
		n := o.CrossDim
		if k == "image_proj.proj.bias" {
			n *= o.Tokens
		}
		if err := take(k, n); err != nil {
			return nil, nil, err
		}
	}
	for i, w := range o.Widths {
		for _, p := range []string{"to_k_ip", "to_v_ip"} {
			if err := take(fmt.Sprintf("ip_adapter.%d.%s.weight", 2*i+1, p), w, o.CrossDim); err != nil {
				return nil, nil, err
			}
		}
	}
	if rest := sdict.Rest(); len(rest) > 0 {
		return nil, nil, bad("unexpected tensors %v", rest)
	}
	return o.KV(), out, nil
}
