package bindings

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// Init says how `multisc synth` fills a tensor with seeded random values.
type Init int

const (
	InitWeight   Init = iota // N(0, 1/fan_in): weights of linear and conv layers
	InitBias                 // N(0, 0.02²): biases and shifts
	InitOnes                 // 1 + N(0, 0.02²): norm scales
	InitPositive             // U(0.5, 1.5): variances and other positive statistics
)

// TensorSpec declares one tensor a model file must hold. Shape is in ggml
// order (the reverse of PyTorch's): a conv weight [OC, IC, KH, KW] in PyTorch
// is [KW, KH, IC, OC] here.
type TensorSpec struct {
	Name  string
	Shape []uint64
	Init  Init
}

// Arch describes one registered architecture to the engine layer: how to check
// a file of it and how to synthesize one. The model constructor itself is
// registered with ollama's model.Register under the same name.
type Arch struct {
	Name  string
	Short string // one line for `multisc synth --list`

	// Tensors lists every tensor a file must hold, from its metadata.
	Tensors func(kv fsggml.KV) ([]TensorSpec, error)

	// Config returns the metadata (without the "<arch>." prefix on keys) of a
	// model of the given size: "tiny" for tests and demos, "full" for the
	// published architecture's dimensions.
	Config func(size string) (fsggml.KV, error)

	// Convert reads public checkpoint files (see Inputs) and returns the
	// metadata and every tensor's f32 values in ggml order, keyed by GGUF
	// name; ConvertFiles checks them against Tensors and writes the file.
	Convert func(inputs []string) (fsggml.KV, map[string][]float32, error)
	Inputs  string // what Convert takes, for --help
}

var archs = map[string]Arch{}

// RegisterArch makes an architecture known to Open, Validate and Synth.
func RegisterArch(a Arch) {
	if _, ok := archs[a.Name]; ok {
		panic("bindings: architecture registered twice: " + a.Name)
	}
	archs[a.Name] = a
}

// LookupArch returns the registered architecture of that name.
func LookupArch(name string) (Arch, bool) {
	a, ok := archs[name]
	return a, ok
}

// Archs lists the registered architectures by name.
func Archs() []Arch {
	var out []Arch
	for _, a := range archs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ArchNames lists the registered architecture names, sorted.
func ArchNames() []string {
	var names []string
	for n := range archs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// blockIndex is the layer index ollama's loader derives from a tensor name:
// the first run of digits in it (features.3.weight -> 3), or -1. The loader
// indexes a slice of <arch>.block_count entries with it, so every file we
// write sets block_count above the largest index (see BlockCount).
func blockIndex(name string) int {
	fields := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsNumber(r) })
	if len(fields) == 0 {
		return -1
	}
	i, err := strconv.Atoi(fields[0])
	if err != nil {
		return -1
	}
	return i
}

// BlockCount is the <arch>.block_count a file with these tensor names needs.
func BlockCount(names []string) uint32 {
	n := 0
	for _, name := range names {
		n = max(n, blockIndex(name)+1)
	}
	return uint32(n)
}

// ConfigUints reads a required integer-array metadata value of an
// architecture: a []uint32 as the arch's Config returns it before writing,
// or the array type fsggml decodes from a file.
func ConfigUints(kv fsggml.KV, key string) ([]uint64, error) {
	full := kv.Architecture() + "." + key
	v, ok := kv[full]
	if !ok {
		return nil, fmt.Errorf("metadata %s is missing", full)
	}
	var out []uint64
	if raw, ok := v.([]uint32); ok {
		for _, e := range raw {
			out = append(out, uint64(e))
		}
		return out, nil
	}
	for _, e := range kv.Uints(key) {
		out = append(out, uint64(e))
	}
	for _, e := range kv.Ints(key) {
		if e < 0 {
			return nil, fmt.Errorf("metadata %s has a negative entry", full)
		}
		out = append(out, uint64(e))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("metadata %s = %v is not a non-empty integer array", full, v)
	}
	return out, nil
}
