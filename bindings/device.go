package bindings

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	_ "github.com/ollama/ollama/ml/backend" // registers the ggml backend

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
)

// tempDirError words a failure to create the scratch folder: the engine
// needs a small model file to enumerate devices, and it goes to $TMPDIR.
func tempDirError(err error) error {
	dir := os.TempDir()
	st, serr := os.Stat(dir)
	why := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		why = pe.Err.Error()
	}
	switch {
	case serr != nil:
		why = "does not exist"
	case !st.IsDir():
		why = "is not a folder"
	}
	return badinput.Errorf("temporary folder %s (TMPDIR=%q) %s; multisc writes a small scratch file there: set TMPDIR to a writable folder", dir, os.Getenv("TMPDIR"), why)
}

// Device is a parsed --device value.
type Device struct {
	Kind  string // "auto", "cpu" or "cuda"
	Index int    // for cuda
}

func (d Device) String() string {
	if d.Kind == "cuda" {
		return fmt.Sprintf("cuda:%d", d.Index)
	}
	return d.Kind
}

// ParseDevice reads auto, cpu or cuda:N.
func ParseDevice(s string) (Device, error) {
	switch {
	case s == "" || s == "auto":
		return Device{Kind: "auto"}, nil
	case s == "cpu":
		return Device{Kind: "cpu"}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "cuda:"))
		if err == nil && n >= 0 {
			return Device{Kind: "cuda", Index: n}, nil
		}
	case s == "cuda":
		return Device{Kind: "cuda"}, nil
	}
	return Device{}, badinput.Errorf("--device %q: want auto, cpu or cuda:N", s)
}

// DeviceInfo describes one compute device ggml found.
type DeviceInfo struct {
	Name        string `json:"name"`        // "CPU", "cuda:0", ...
	Description string `json:"description"` // model name from the driver
	Library     string `json:"library"`     // "CPU", "CUDA"
	Threads     int    `json:"threads,omitempty"`
	TotalMemory uint64 `json:"total_memory,omitempty"`
	FreeMemory  uint64 `json:"free_memory,omitempty"`
	Compute     string `json:"compute,omitempty"` // CUDA compute capability
	// CPUBackend, for the CPU: the kernels in use (baseline or which
	// variant library) and their SIMD features.
	CPUBackend *CPUBackend `json:"cpu_backend,omitempty"`

	id ml.DeviceID
}

// Devices lists the CPU and every GPU ggml can use, GPUs in ggml's order.
// threads is the CPU thread count in use (0 = one per logical CPU).
func Devices(threads int) ([]DeviceInfo, error) {
	devs, err := enumerate()
	if err != nil {
		return nil, err
	}
	out := append([]DeviceInfo(nil), devs...)
	out[0].Threads = Threads(threads)
	return out, nil
}

// enumerate asks ggml for its devices once per process, through a dry-run
// backend (only a backend opened without memory lists idle GPUs).
//
// A dry-run scheduler marks the CPU buffer type no_alloc for everyone
// (ggml-backend.cpp, ggml_backend_sched_new_ext), so every buffer allocated
// afterwards, by any backend, would be a dummy without data (seen as a crash
// in ggml_backend_tensor_set). Opening one allocating scheduler right after
// clears the flag again.
var enumerate = sync.OnceValues(func() ([]DeviceInfo, error) {
	b, closeDry, err := scratchBackend(false, nil, 0)
	if err != nil {
		return nil, err
	}
	defer func() {
		closeDry()
		if _, closeReal, err := scratchBackend(true, nil, 0); err == nil {
			closeReal()
		}
	}()
	cpu := b.BackendMemory().CPU
	cb := cpuBackend()
	out := []DeviceInfo{{Name: "CPU", Description: cpuModel(cpu.Name), Library: "CPU", CPUBackend: &cb}}
	cudaIndex := 0
	for _, d := range b.BackendDevices() {
		info := DeviceInfo{Description: d.Description, Library: d.Library, TotalMemory: d.TotalMemory, FreeMemory: d.FreeMemory, id: d.DeviceID}
		if d.ComputeMajor >= 0 {
			info.Compute = fmt.Sprintf("%d.%d", d.ComputeMajor, d.ComputeMinor)
		}
		if strings.EqualFold(d.Library, "CUDA") {
			info.Name = fmt.Sprintf("cuda:%d", cudaIndex)
			cudaIndex++
		} else {
			info.Name = d.Name
		}
		out = append(out, info)
	}
	return out, nil
})

// resolve picks the GPU for a device request: nil for the CPU.
func resolve(dev Device, threads int) (*DeviceInfo, error) {
	if dev.Kind == "cpu" {
		return nil, nil
	}
	all, err := Devices(threads)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range all {
		names = append(names, all[i].Name)
		if dev.Kind == "auto" && strings.HasPrefix(all[i].Name, "cuda:") {
			return &all[i], nil
		}
		if dev.Kind == "cuda" && all[i].Name == dev.String() {
			return &all[i], nil
		}
	}
	if dev.Kind == "auto" {
		return nil, nil
	}
	return nil, badinput.Errorf("--device %s: no such device (found: %s; GPU backends load from %s)",
		dev, strings.Join(names, ", "), LibDir())
}

// gpuLayers assigns layers 0..blocks (the last is ollama's output slot) to
// the GPU, so every weight tensor lands there.
func gpuLayers(gpu *DeviceInfo, blocks int) ml.GPULayersList {
	if gpu == nil {
		return nil
	}
	layers := make([]int, blocks+1)
	for i := range layers {
		layers[i] = i
	}
	return ml.GPULayersList{{DeviceID: gpu.id, Layers: layers}}
}

// Threads is the CPU thread count the engine uses for a --threads value:
// n when positive, else one per logical CPU. (ggml itself would take 0 as
// its default of 4, oversubscribing small machines, where its spinning
// thread barriers then slow every op.)
func Threads(n int) int {
	if n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// scratchBackend opens a one-tensor model so that the engine can enumerate
// devices or compute free-standing graphs (op tests and benchmarks).
func scratchBackend(alloc bool, gpu *DeviceInfo, threads int) (ml.Backend, func(), error) {
	dir, err := os.MkdirTemp("", "multisc-scratch")
	if err != nil {
		return nil, nil, tempDirError(err)
	}
	untrack := atomicfile.Track(dir)
	defer untrack()
	path := filepath.Join(dir, "scratch.gguf")
	kv := fsggml.KV{"general.architecture": "scratch"}
	err = WriteFile(path, kv, []*fsggml.Tensor{NewTensor("scratch.0.weight", []uint64{32}, make([]float32, 32), fsggml.TensorTypeF32)})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	b, err := newBackend(path, ml.BackendParams{AllocMemory: alloc, NumThreads: Threads(threads), GPULayers: gpuLayers(gpu, 1)})
	os.RemoveAll(dir) // weights were never loaded from it; the handle is done
	if err != nil {
		return nil, nil, err
	}
	return b, b.Close, nil
}

// newBackend calls ml.NewBackend, turning its out-of-memory panic into an
// error.
func newBackend(path string, params ml.BackendParams) (b ml.Backend, err error) {
	loadBackends()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: cannot allocate the model's weights: %v", path, p)
		}
	}()
	b, err = ml.NewBackend(path, params)
	if err == nil && params.AllocMemory { // a dry run never computes
		attachThreadpool(b, params.NumThreads)
	}
	return b, err
}

// Scratch is a compute backend with no model, for composing and running
// free-standing graphs (op tests, benchmarks). Close frees it.
type Scratch struct {
	ml.Backend
	close func()
}

// NewScratch opens a scratch backend on a device ("cpu", "auto", "cuda:N").
func NewScratch(device string, threads int) (*Scratch, error) {
	dev, err := ParseDevice(device)
	if err != nil {
		return nil, err
	}
	gpu, err := resolve(dev, threads)
	if err != nil {
		return nil, err
	}
	b, cleanup, err := scratchBackend(true, gpu, threads)
	if err != nil {
		return nil, err
	}
	return &Scratch{Backend: b, close: cleanup}, nil
}

// Close frees the backend.
func (s *Scratch) Close() { s.close() }

// cpuModel is the processor's model name where the OS says it (Linux),
// else ggml's device name.
func cpuModel(fallback string) string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return fallback
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return fallback
}
