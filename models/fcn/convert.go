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
// means the file is not an FCN checkpoint; the first one is named.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) != 1 {
		return nil, nil, fmt.Errorf("fcn takes one checkpoint file, got %d", len(inputs))
	}
	sd, err := checkpoint.Load(inputs[0])
	if err != nil {
		return nil, nil, err
	}
	kv, values, err := convert(sd)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", inputs[0], err)
	}
	return kv, values, nil
}

func convert(sd checkpoint.StateDict) (fsggml.KV, map[string][]float32, error) {
	c, values, err := resnet.ConvertBackbone(sd, "backbone.", "backbone.", FullShape.Dilate)
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
	var st [4][]float32
	for i, n := range []string{"running_mean", "running_var", "weight", "bias"} {
		t, err := sd.Take("classifier.1."+n, hc)
		if err != nil {
			return nil, nil, err
		}
		st[i] = t.Data
	}
	delete(sd, "classifier.1.num_batches_tracked")
	values["classifier.0.weight"], values["classifier.0.bias"] =
		bindings.FoldBatchNorm(w0.Data, nil, hc, st[0], st[1], st[2], st[3], resnet.BNEps)
	if _, err := sd.Take("classifier.4.weight", c.Classes, hc, 1, 1); err != nil {
		return nil, nil, err
	}
	b4, err := sd.Take("classifier.4.bias", c.Classes)
	if err != nil {
		return nil, nil, err
	}
	values["classifier.4.weight"], values["classifier.4.bias"] = w4.Data, b4.Data
	if rest := sd.Rest("aux_classifier."); len(rest) > 0 {
		return nil, nil, fmt.Errorf("not a torchvision fcn_resnet checkpoint: unexpected key %s (and %d more)", rest[0], len(rest)-1)
	}
	s := Shape{Config: c, HeadChannels: hc, Resize: DefaultResize}
	if c.Classes == len(VOCClasses) {
		s.Labels = VOCClasses
	}
	return ShapeKV(s), values, nil
}
