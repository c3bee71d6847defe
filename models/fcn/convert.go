package fcn

import (
	"fmt"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/models/resnet"
)

// Convert reads torchvision's fcn_resnet50 state dict: backbone.* (a ResNet
// body, dilated [False, True, True]), classifier.{0,1,4} (FCNHead, its BN
// folded into classifier.0) and aux_classifier.* (dropped). Any other key
// means the file is not an FCN checkpoint; the first one is named. It is
// ConvertStream with every tensor read at once.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	return bindings.StreamConvertFunc(ConvertStream).Materialize(inputs)
}

// ConvertStream is Convert with each tensor read when the GGUF writer
// reaches it (see resnet's convert_stream.go): converting reads the
// checkpoint's index up front, then one conv and its BN statistics per
// output tensor.
func ConvertStream(inputs []string) (fsggml.KV, map[string]bindings.TensorSource, func() error, error) {
	if len(inputs) != 1 {
		return nil, nil, nil, fmt.Errorf("fcn takes one checkpoint file, got %d", len(inputs))
	}
	sd, read, release, err := resnet.OpenLazy(inputs[0])
	if err != nil {
		return nil, nil, nil, err
	}
	kv, sources, err := convert(sd, read)
	if err != nil {
		release()
		return nil, nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	return kv, sources, release, nil
}

func convert(sd checkpoint.StateDict, read resnet.Reader) (fsggml.KV, map[string]bindings.TensorSource, error) {
	c, sources, err := resnet.ConvertBackboneStream(sd, read, "backbone.", "backbone.", FullShape.Dilate)
	if err != nil {
		return nil, nil, err
	}
	w0, ok := sd["classifier.0.weight"]
	if !ok || len(w0.Shape) != 4 {
		return nil, nil, fmt.Errorf("tensor classifier.0.weight is missing or not 4-D")
	}
	hc := w0.Shape[0]
	w4, ok := sd["classifier.4.weight"]
	if !ok || len(w4.Shape) != 4 {
		return nil, nil, fmt.Errorf("tensor classifier.4.weight is missing or not 4-D")
	}
	c.Classes = w4.Shape[0]
	if _, err := sd.Take("classifier.0.weight", hc, c.OutChannels(), 3, 3); err != nil {
		return nil, nil, err
	}
	var st [4]*checkpoint.Tensor
	var keys [4]string
	for i, n := range []string{"running_mean", "running_var", "weight", "bias"} {
		keys[i] = "classifier.1." + n
		if st[i], err = sd.Take(keys[i], hc); err != nil {
			return nil, nil, err
		}
	}
	delete(sd, "classifier.1.num_batches_tracked")
	// Both halves of the folded head conv come from one fold; the bias
	// needs only the statistics (FoldBatchNorm of no weight), so its source
	// does not read the weight.
	head := func(half int) ([]float32, error) {
		var w []float32
		var err error
		if half == 0 {
			if w, err = read("classifier.0.weight", w0); err != nil {
				return nil, err
			}
		}
		var s [4][]float32
		for i := range st {
			if s[i], err = read(keys[i], st[i]); err != nil {
				return nil, err
			}
		}
		wf, bf := bindings.FoldBatchNorm(w, nil, hc, s[0], s[1], s[2], s[3], resnet.BNEps)
		return [2][]float32{wf, bf}[half], nil
	}
	sources["classifier.0.weight"] = bindings.TensorSource{Elements: uint64(w0.Numel()), Read: func() ([]float32, error) { return head(0) }}
	sources["classifier.0.bias"] = bindings.TensorSource{Elements: uint64(hc), Read: func() ([]float32, error) { return head(1) }}
	if _, err := sd.Take("classifier.4.weight", c.Classes, hc, 1, 1); err != nil {
		return nil, nil, err
	}
	b4, err := sd.Take("classifier.4.bias", c.Classes)
	if err != nil {
		return nil, nil, err
	}
	sources["classifier.4.weight"] = resnet.Source(read, "classifier.4.weight", w4)
	sources["classifier.4.bias"] = resnet.Source(read, "classifier.4.bias", b4)
	if rest := sd.Rest("aux_classifier."); len(rest) > 0 {
		return nil, nil, fmt.Errorf("not a torchvision fcn_resnet checkpoint: unexpected key %s (and %d more)", rest[0], len(rest)-1)
	}
	s := Shape{Config: c, HeadChannels: hc, Resize: DefaultResize}
	if c.Classes == len(VOCClasses) {
		s.Labels = VOCClasses
	}
	return ShapeKV(s), sources, nil
}

func init() {
	bindings.RegisterStreamConverter(Arch, ConvertStream)
}
