package lpips

import (
	"fmt"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/models/alexnet"
)

// Convert reads torchvision's AlexNet state dict and LPIPS v0.1's alex.pth
// (five lin layers), in either order, into one model. Like the lpips
// package it loads the backbone from torchvision and the lin layers from
// its own file; classifier.* keys of the backbone are dropped.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) != 2 {
		return nil, nil, fmt.Errorf("lpips takes two files (torchvision alexnet .pth, LPIPS alex.pth), got %d", len(inputs))
	}
	merged := checkpoint.StateDict{}
	for _, in := range inputs {
		sd, err := checkpoint.Load(in)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range sd {
			merged[k] = v
		}
	}
	kv, values, err := alexnet.ConvertTrunk(merged, "features", "features")
	if err != nil {
		return nil, nil, fmt.Errorf("%v: backbone: %v", inputs, err)
	}
	for k, c := range kv["channels"].([]uint32) {
		key := fmt.Sprintf("lin%d.model.1.weight", k)
		t, err := merged.Take(key, 1, int(c), 1, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("%v: lin layers: %v", inputs, err)
		}
		values[key] = t.Data
	}
	if extra := merged.Rest("classifier."); len(extra) > 0 {
		return nil, nil, fmt.Errorf("%v: unexpected keys %v (want torchvision alexnet + LPIPS v0.1 alex.pth)", inputs, extra)
	}
	kv["shift"], kv["scale"] = Shift, Scale
	return kv, values, nil
}
