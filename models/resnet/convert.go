package resnet

import (
	"fmt"
	"math"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Convert reads a torchvision ResNet state dict (`resnet50-*.pth` or a
// safetensors export): the backbone with its batch norms folded, and the
// fc head. Any key left over means the file is not a torchvision
// Bottleneck ResNet; the first one is named. It is ConvertStream with
// every tensor read at once.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	return bindings.StreamConvertFunc(ConvertStream).Materialize(inputs)
}

// ConvertStream is Convert with each tensor read when the GGUF writer
// reaches it (see convert_stream.go).
func ConvertStream(inputs []string) (fsggml.KV, map[string]bindings.TensorSource, func() error, error) {
	if len(inputs) != 1 {
		return nil, nil, nil, fmt.Errorf("resnet takes one checkpoint file, got %d", len(inputs))
	}
	sd, read, release, err := OpenLazy(inputs[0])
	if err != nil {
		return nil, nil, nil, err
	}
	kv, sources, err := convertLazy(sd, read)
	if err != nil {
		release()
		return nil, nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	return kv, sources, release, nil
}

func convertLazy(sd checkpoint.StateDict, read Reader) (fsggml.KV, map[string]bindings.TensorSource, error) {
	c, sources, err := ConvertBackboneStream(sd, read, "", "", [3]bool{})
	if err != nil {
		return nil, nil, err
	}
	fc, ok := sd["fc.weight"]
	if !ok || len(fc.Shape) != 2 {
		return nil, nil, fmt.Errorf("tensor fc.weight is missing or not 2-D")
	}
	c.Classes = fc.Shape[0]
	w, err := sd.Take("fc.weight", c.Classes, c.OutChannels())
	if err != nil {
		return nil, nil, err
	}
	b, err := sd.Take("fc.bias", c.Classes)
	if err != nil {
		return nil, nil, err
	}
	sources["fc.weight"] = Source(read, "fc.weight", w)
	sources["fc.bias"] = Source(read, "fc.bias", b)
	if rest := sd.Rest(); len(rest) > 0 {
		return nil, nil, fmt.Errorf("not a torchvision ResNet checkpoint: unexpected key %s (and %d more)", rest[0], len(rest)-1)
	}
	return ConfigKV(c), sources, nil
}

// ConvertBackbone takes a Bottleneck ResNet body out of a state dict
// (removing its keys): keys under src in torchvision/timm naming (conv1,
// bn1, layerS.B.{conv,bn}K, layerS.B.downsample.{0,1}), batch norms folded
// into the convs, written under the GGUF prefix dst. Blocks per stage and
// the width are read off the keys; dilate is the caller's (checkpoints do
// not record it). BN's num_batches_tracked keys are dropped; FrozenBatchNorm2d
// (DETR) has none. It is ConvertBackboneStream over values already loaded.
func ConvertBackbone(sd checkpoint.StateDict, src, dst string, dilate [3]bool) (Config, map[string][]float32, error) {
	c, sources, err := ConvertBackboneStream(sd, Loaded, src, dst, dilate)
	if err != nil {
		return c, nil, err
	}
	values, err := bindings.MaterializeSources(sources, nil)
	return c, values, err
}

// ConvertBackboneStream is ConvertBackbone checking keys and shapes only
// (sd may hold shapes without values, see OpenLazy): each output tensor's
// source reads, through read, the conv weight and BN statistics it folds
// when it is read.
func ConvertBackboneStream(sd checkpoint.StateDict, read Reader, src, dst string, dilate [3]bool) (Config, map[string]bindings.TensorSource, error) {
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
	sources := map[string]bindings.TensorSource{}
	fold := func(conv, bn string, k, in, out int) error {
		wk := src + conv + ".weight"
		w, err := sd.Take(wk, out, in, k, k)
		if err != nil {
			return err
		}
		var st [4]*checkpoint.Tensor
		keys := [4]string{}
		for i, n := range []string{"running_mean", "running_var", "weight", "bias"} {
			keys[i] = src + bn + "." + n
			if st[i], err = sd.Take(keys[i], out); err != nil {
				return err
			}
		}
		delete(sd, src+bn+".num_batches_tracked")
		stats := func() (s [4][]float32, err error) {
			for i := range st {
				if s[i], err = read(keys[i], st[i]); err != nil {
					return s, err
				}
			}
			return s, nil
		}
		// PyTorch [OC, IC, KH, KW] row-major is ggml [KW, KH, IC, OC]: same
		// bytes. The weight's source reads the weight and the statistics,
		// the bias's only the statistics, so neither holds the other.
		sources[dst+conv+".weight"] = bindings.TensorSource{Elements: uint64(w.Numel()), Read: func() ([]float32, error) {
			s, err := stats()
			if err != nil {
				return nil, err
			}
			v, err := read(wk, w)
			if err != nil {
				return nil, err
			}
			wf, _ := foldBN(v, out, s[0], s[1], s[2], s[3])
			return wf, nil
		}}
		sources[dst+conv+".bias"] = bindings.TensorSource{Elements: uint64(out), Read: func() ([]float32, error) {
			s, err := stats()
			if err != nil {
				return nil, err
			}
			_, bf := foldBN(nil, out, s[0], s[1], s[2], s[3])
			return bf, nil
		}}
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
	return c, sources, nil
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
