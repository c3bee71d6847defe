package bindings

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/atomicfile"
)

// WriteFile writes a GGUF model atomically: into a temporary file beside
// path, renamed over path only when complete, so a failed or interrupted
// write leaves nothing behind. kv keys without a "general." or "<arch>."
// prefix get the architecture prefix; <arch>.block_count is raised to cover
// every tensor's layer index (ollama's loader needs it, see blockIndex).
func WriteFile(path string, kv fsggml.KV, tensors []*fsggml.Tensor) error {
	arch := kv.String("general.architecture")
	if arch == "" {
		return fmt.Errorf("writing %s: general.architecture is not set", path)
	}
	var names []string
	for _, t := range tensors {
		names = append(names, t.Name)
	}
	key := arch + ".block_count"
	if need := BlockCount(names); uint64(need) > kv.BlockCount() {
		kv[key] = need
	} else if _, ok := kv[key]; !ok {
		kv[key] = uint32(0)
	}

	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		return fsggml.WriteGGUF(f, kv, tensors)
	})
}

// NewTensor makes a GGUF tensor from f32 values in ggml order, stored as t.
func NewTensor(name string, shape []uint64, values []float32, t fsggml.TensorType) *fsggml.Tensor {
	return &fsggml.Tensor{Name: name, Kind: uint32(t), Shape: shape, WriterTo: bytesWriter(Encode(values, shape, t))}
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesF32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// Elements is the number of elements of a shape.
func Elements(shape []uint64) uint64 {
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
