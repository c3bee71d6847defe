package bindings

import (
	"context"
	"fmt"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
)

// Options say how to open a model.
type Options struct {
	Arch     string        // required general.architecture ("" accepts any registered one)
	Device   string        // auto, cpu or cuda:N
	Threads  int           // CPU threads (0 = all cores)
	Progress func(float32) // weight loading progress, 0..1 (optional)
}

// Loaded is a model opened on a device. Close frees everything.
type Loaded struct {
	model.Model
	Path   string
	Arch   string
	Device string // where the weights live: "cpu" or "cuda:N"
	Meta   *fsggml.GGML
}

// MemoryReport is the weight memory per device, in bytes.
type MemoryReport map[string]uint64

// Open validates a GGUF file (see Validate), builds the architecture's model
// struct through ollama's registry (filling its gguf-tagged tensor fields)
// and loads the weights onto the chosen device.
func Open(path string, o Options) (*Loaded, error) {
	return OpenTuned(path, o, nil)
}

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
	adviseHugePages(m.Backend())
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

func newModel(path string, params ml.BackendParams) (m model.Model, err error) {
	loadBackends()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: cannot allocate the model's weights: %v", path, p)
		}
	}()
	m, err = model.New(path, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	attachThreadpool(m.Backend(), params.NumThreads)
	return m, nil
}

// Memory reports the weight bytes held on each device.
func (l *Loaded) Memory() MemoryReport {
	bm := l.Backend().BackendMemory()
	r := MemoryReport{}
	add := func(name string, ws []uint64) {
		for _, w := range ws {
			r[name] += w
		}
	}
	r["CPU"] = bm.InputWeights
	add("CPU", bm.CPU.Weights)
	for _, g := range bm.GPUs {
		add(g.Name, g.Weights)
	}
	for k, v := range r {
		if v == 0 && k != "CPU" {
			delete(r, k)
		}
	}
	return r
}

// Close frees the weights and the compute scheduler.
func (l *Loaded) Close() {
	if l != nil && l.Model != nil {
		l.Backend().Close()
	}
}
