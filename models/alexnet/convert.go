package alexnet

import (
	"fmt"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/checkpoint"
)

// Convert reads torchvision's AlexNet state dict (the `alexnet-owt-*.pth`
// download, or a safetensors export of it). features.* keys keep their
// names; classifier.* keys are dropped (the head is not ported); any other
// key means the file is not an AlexNet checkpoint.
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	if len(inputs) != 1 {
		return nil, nil, fmt.Errorf("alexnet takes one checkpoint file, got %d", len(inputs))
	}
	sd, err := checkpoint.Load(inputs[0])
	if err != nil {
		return nil, nil, err
	}
	kv, values, err := ConvertTrunk(sd, "features", "features")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", inputs[0], err)
	}
	if extra := sd.Rest("classifier."); len(extra) > 0 {
		return nil, nil, fmt.Errorf("%s: not a torchvision AlexNet checkpoint: unexpected keys %v", inputs[0], extra)
	}
	return kv, values, nil
}

// ConvertTrunk takes the trunk's tensors under prefix out of a state dict
// (removing them) and returns them under the GGUF prefix to, with the
// channels metadata read off the weights.
func ConvertTrunk(sd checkpoint.StateDict, prefix, to string) (fsggml.KV, map[string][]float32, error) {
	values := map[string][]float32{}
	var channels []uint32
	in := 3
	for _, c := range convs {
		key := fmt.Sprintf("%s.%d.", prefix, c.index)
		w, ok := sd[key+"weight"]
		if !ok || len(w.Shape) != 4 {
			return nil, nil, fmt.Errorf("tensor %sweight is missing or not 4-D", key)
		}
		oc := w.Shape[0]
		if _, err := sd.Take(key+"weight", oc, in, c.kernel, c.kernel); err != nil {
			return nil, nil, err
		}
		b, err := sd.Take(key+"bias", oc)
		if err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("%s.%d.", to, c.index)
		// PyTorch [OC, IC, KH, KW] row-major is ggml [KW, KH, IC, OC]: same bytes.
		values[name+"weight"] = w.Data
		values[name+"bias"] = b.Data
		channels = append(channels, uint32(oc))
		in = oc
	}
	return fsggml.KV{"channels": channels}, values, nil
}
