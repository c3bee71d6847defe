package bindings

import (
	"fmt"
	"io"
	"os"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"
	ggmlbackend "github.com/ollama/ollama/ml/backend/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// QuantTypes are the storage types `multisc quantize` and `convert --type`
// accept, by their lower-case names.
var QuantTypes = map[string]fsggml.TensorType{
	"f32":  fsggml.TensorTypeF32,
	"f16":  fsggml.TensorTypeF16,
	"q8_0": fsggml.TensorTypeQ8_0,
	"q5_0": fsggml.TensorTypeQ5_0,
	"q5_1": fsggml.TensorTypeQ5_1,
	"q4_0": fsggml.TensorTypeQ4_0,
	"q4_1": fsggml.TensorTypeQ4_1,
	"q2_k": fsggml.TensorTypeQ2_K,
	"q3_k": fsggml.TensorTypeQ3_K,
	"q4_k": fsggml.TensorTypeQ4_K,
	"q5_k": fsggml.TensorTypeQ5_K,
	"q6_k": fsggml.TensorTypeQ6_K,
}

// ParseType maps a type name (any case) to a tensor type.
func ParseType(name string) (fsggml.TensorType, error) {
	t, ok := QuantTypes[strings.ToLower(name)]
	if !ok {
		return 0, fmt.Errorf("unknown type %q (one of f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1, q2_k, q3_k, q4_k, q5_k, q6_k)", name)
	}
	return t, nil
}

// smallTensor is the element count under which quantizing saves nothing
// worth the error it adds.
const smallTensor = 1024

// keepF32 is the one rule for tensors that stay f32 whatever the target:
// 1-D tensors (biases, norm scales and shifts, BN statistics), tensors whose
// name says norm or bias, and small tensors.
func keepF32(name string, shape []uint64) bool {
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	return len(shape) <= 1 || n < smallTensor ||
		strings.Contains(name, "norm") || strings.HasSuffix(name, ".bias")
}

// StorageType is how a tensor is stored when a file is quantized to want:
//   - keepF32 tensors stay f32;
//   - convolution kernels (4-D) go no lower than f16, because ggml's im2col
//     path computes with the kernel's type and has no quantized variant;
//   - matrices whose rows do not divide into want's blocks fall back to q8_0
//     (32-element blocks) and then to f16.
func StorageType(name string, shape []uint64, want fsggml.TensorType) fsggml.TensorType {
	switch {
	case want == fsggml.TensorTypeF32 || keepF32(name, shape):
		return fsggml.TensorTypeF32
	case len(shape) == 4 || !want.IsQuantized():
		return fsggml.TensorTypeF16
	case shape[0]%want.BlockSize() == 0:
		return want
	case shape[0]%fsggml.TensorTypeQ8_0.BlockSize() == 0:
		return fsggml.TensorTypeQ8_0
	default:
		return fsggml.TensorTypeF16
	}
}

// Allowed reports whether a layer can compute with a tensor stored as t:
// exactly the types StorageType can produce for it, plus f32 and bf16/f16.
func Allowed(name string, shape []uint64, t fsggml.TensorType) bool {
	if t == fsggml.TensorTypeF32 {
		return true
	}
	if keepF32(name, shape) {
		return false
	}
	switch {
	case t == fsggml.TensorTypeF16:
		return true
	case t == fsggml.TensorTypeBF16:
		return len(shape) != 4
	case len(shape) == 4:
		return false
	default:
		return knownType(t) && t.IsQuantized() && shape[0]%t.BlockSize() == 0
	}
}

// Encode stores f32 values as type t (the values are in ggml order, shape
// likewise).
func Encode(values []float32, shape []uint64, t fsggml.TensorType) []byte {
	if t == fsggml.TensorTypeF32 {
		return f32Bytes(values)
	}
	// ggml quantizes rows of shape[0]; Quantize reads at most three
	// dimensions, so present the tensor as rows × columns.
	return ggmlbackend.Quantize(t, values, []uint64{shape[0], Elements(shape) / shape[0]})
}

// Decode returns the f32 values of raw tensor data of type t.
func Decode(data []byte, t fsggml.TensorType, elements uint64) []float32 {
	if t == fsggml.TensorTypeF32 {
		return bytesF32(data)
	}
	if elements == 0 {
		return nil
	}
	return ggmlbackend.ConvertToF32(data, uint32(t), elements)
}

// QuantizeFile re-encodes every tensor of in to want (following
// StorageType) and writes out atomically. progress, if not nil, gets the
// number of tensors done after each one.
func QuantizeFile(in, out string, want fsggml.TensorType, progress func(done, total int)) error {
	meta, err := Validate(in, "")
	if err != nil {
		return err
	}
	f, err := os.Open(in)
	if err != nil {
		return badinput.Errorf("%s: %v", in, err)
	}
	defer f.Close()

	kv := fsggml.KV{}
	for k, v := range meta.KV() {
		kv[k] = v
	}
	kv["general.file_type"] = fileTypeOf(want)
	items := meta.Tensors().Items()
	base := int64(meta.Tensors().Offset)
	var tensors []*fsggml.Tensor
	for i, t := range items {
		raw := make([]byte, t.Size())
		if _, err := f.ReadAt(raw, base+int64(t.Offset)); err != nil {
			return badinput.Errorf("%s: reading tensor %s: %v", in, t.Name, err)
		}
		to := StorageType(t.Name, t.Shape, want)
		data := raw
		if fsggml.TensorType(t.Kind) != to {
			data = Encode(Decode(raw, fsggml.TensorType(t.Kind), t.Elements()), t.Shape, to)
		}
		tensors = append(tensors, &fsggml.Tensor{Name: t.Name, Kind: uint32(to), Shape: t.Shape, WriterTo: bytesWriter(data)})
		if progress != nil {
			progress(i+1, len(items))
		}
	}
	return WriteFile(out, kv, tensors)
}

// fileTypes maps a whole-file target type to llama.cpp's llama_ftype value
// recorded in general.file_type (k-quants record their "_M" mix).
var fileTypes = map[fsggml.TensorType]uint32{
	fsggml.TensorTypeF32: 0, fsggml.TensorTypeF16: 1, fsggml.TensorTypeQ4_0: 2,
	fsggml.TensorTypeQ4_1: 3, fsggml.TensorTypeQ8_0: 7, fsggml.TensorTypeQ5_0: 8,
	fsggml.TensorTypeQ5_1: 9, fsggml.TensorTypeQ2_K: 10, fsggml.TensorTypeQ3_K: 12,
	fsggml.TensorTypeQ4_K: 15, fsggml.TensorTypeQ5_K: 17, fsggml.TensorTypeQ6_K: 18,
}

func fileTypeOf(t fsggml.TensorType) fsggml.FileType { return fsggml.FileType(fileTypes[t]) }

type bytesWriter []byte

func (b bytesWriter) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}
