package bindings

import (
	"context"
	"fmt"

	"github.com/ollama/ollama/ml"
)

// OpenTuned is Open with a hook that may adjust the backend parameters
// before the model is built (the LLaVA captioner uses it to turn on flash
// attention, which ggml applies to every attention of a backend).
func OpenTuned(path string, o Options, tune func(*ml.BackendParams)) (*Loaded, error) {
	meta, err := Validate(path, o.Arch)
	if err != nil {
		return nil, err
	}
	dev, err := ParseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	gpu, err := resolve(dev, o.Threads)
	if err != nil {
		return nil, err
	}
	params := ml.BackendParams{
		AllocMemory: true,
		NumThreads:  Threads(o.Threads),
		GPULayers:   gpuLayers(gpu, int(meta.KV().BlockCount())),
	}
	if tune != nil {
		tune(&params)
	}
	m, err := newModel(path, params)
	if err != nil {
		return nil, err
	}
	if err := m.Backend().Load(context.Background(), o.Progress); err != nil {
		m.Backend().Close()
		return nil, fmt.Errorf("%s: loading weights: %w", path, err)
	}
	l := &Loaded{Model: m, Path: path, Arch: meta.KV().Architecture(), Device: "cpu", Meta: meta}
	if gpu != nil {
		l.Device = gpu.Name
	}
	return l, nil
}
