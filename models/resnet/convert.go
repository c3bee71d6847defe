package resnet

import (
	"fmt"
	"math"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Convert reads a torchvision ResNet state dict (`resnet50-*.pth` or a
// safetensors export): the backbone with its batch norms folded, and the
// fc head. Any key left over means the file is not a torchvision
// Bottleneck ResNet; the first one is named.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) != 1 {
		return nil, nil, fmt.Errorf("resnet takes one checkpoint file, got %d", len(inputs))
	}
	sd, err := checkpoint.Load(inputs[0])
	if err != nil {
		return nil, nil, err
	}
	c, values, err := ConvertBackbone(sd, "", "", [3]bool{})
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	fc, ok := sd["fc.weight"]
	if !ok || len(fc.Shape) != 2 {
		return nil, nil, badinput.Errorf("%s: tensor fc.weight is missing or not 2-D", inputs[0])
	}
	c.Classes = fc.Shape[0]
	w, err := sd.Take("fc.weight", c.Classes, c.OutChannels())
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	b, err := sd.Take("fc.bias", c.Classes)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	values["fc.weight"], values["fc.bias"] = w.Data, b.Data
	if rest := sd.Rest(); len(rest) > 0 {
		return nil, nil, badinput.Errorf("%s: not a torchvision ResNet checkpoint: unexpected key %s (and %d more)", inputs[0], rest[0], len(rest)-1)
	}
	return ConfigKV(c), values, nil
}

// ConvertBackbone takes a Bottleneck ResNet body out of a state dict
// (removing its keys): keys under src in torchvision/timm naming (conv1,
// bn1, layerS.B.{conv,bn}K, layerS.B.downsample.{0,1}), batch norms folded
// into the convs, written under the GGUF prefix dst. Blocks per stage and
// the width are read off the keys; dilate is the caller's (checkpoints do
// not record it). BN's num_batches_tracked keys are dropped; FrozenBatchNorm2d
// (DETR) has none.
func ConvertBackbone(sd checkpoint.StateDict, src, dst string, dilate [3]bool) (Config, map[string][]float32, error) {
	c := Config{Dilate: dilate}
	w, ok := sd[src+"conv1.weight"]
	if !ok || len(w.Shape) != 4 {
		return c, nil, fmt.Errorf("tensor %sconv1.weight is missing or not 4-D (not a ResNet checkpoint)", src)
	}
	c.Width = w.Shape[0]
	for s := range 4 {
		for sd[fmt.Sprintf("%slayer%d.%d.conv1.weight", src, s+1, c.Blocks[s])] != nil {
			c.Blocks[s]++
		}
		if c.Blocks[s] == 0 {
			return c, nil, fmt.Errorf("tensor %slayer%d.0.conv1.weight is missing", src, s+1)
		}
	}
	values := map[string][]float32{}
	fold := func(conv, bn string, k, in, out int) error {
		w, err := sd.Take(src+conv+".weight", out, in, k, k)
		if err != nil {
			return err
		}
		var st [4][]float32
		for i, n := range []string{"running_mean", "running_var", "weight", "bias"} {
			t, err := sd.Take(src+bn+"."+n, out)
			if err != nil {
				return err
			}
			st[i] = t.Data
		}
		delete(sd, src+bn+".num_batches_tracked")
		wf, bf := foldBN(w.Data, out, st[0], st[1], st[2], st[3])
		// PyTorch [OC, IC, KH, KW] row-major is ggml [KW, KH, IC, OC]: same bytes.
		values[dst+conv+".weight"], values[dst+conv+".bias"] = wf, bf
		return nil
	}
	if err := fold("conv1", "bn1", 7, 3, c.Width); err != nil {
		return c, nil, err
	}
	in := c.Width
	for s, blocks := range c.plan() {
		p := c.Planes(s)
		for i, b := range blocks {
			name := fmt.Sprintf("layer%d.%d.", s+1, i)
			for _, step := range []struct {
				conv, bn   string
				k, in, out int
			}{
				{"conv1", "bn1", 1, in, p},
				{"conv2", "bn2", 3, p, p},
				{"conv3", "bn3", 1, p, p * Expansion},
			} {
				if err := fold(name+step.conv, name+step.bn, step.k, step.in, step.out); err != nil {
					return c, nil, err
				}
			}
			if b.downsample {
				if err := fold(name+"downsample.0", name+"downsample.1", 1, in, p*Expansion); err != nil {
					return c, nil, err
				}
			}
			in = p * Expansion
		}
	}
	for k := range sd {
		if strings.HasPrefix(k, src) && strings.HasSuffix(k, "num_batches_tracked") {
			delete(sd, k)
		}
	}
	return c, values, nil
}

// foldBN folds inference batch norm (eps BNEps) into a bias-free conv, in
// place: w is scaled row by row (each output channel's weights are
// contiguous in PyTorch order) and the bias is returned. The arithmetic is
// bindings.FoldBatchNorm's; working in place keeps a full-size conversion
// from holding a second copy of every backbone weight.
func foldBN(w []float32, out int, mean, variance, gamma, beta []float32) ([]float32, []float32) {
	per := len(w) / out
	bias := make([]float32, out)
	for o := range out {
		s := float64(gamma[o]) / math.Sqrt(float64(variance[o])+BNEps)
		row := w[o*per : (o+1)*per]
		for i, v := range row {
			row[i] = float32(float64(v) * s)
		}
		bias[o] = float32(-float64(mean[o])*s + float64(beta[o]))
	}
	return w, bias
}
