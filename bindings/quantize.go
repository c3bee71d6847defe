package bindings

import (
	"fmt"
	"io"
	"os"
	"sort"
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
	t, _ := StorageRule(name, shape, want)
	return t
}

// Reasons StorageRule gives for a tensor not stored as the requested type.
const (
	ReasonKeepF32 = "biases, norms, 1-D and small (< 1024 elements) tensors stay f32"
	ReasonConv    = "convolution kernels go no lower than f16"
	ReasonRowsQ8  = "rows that do not divide into the type's blocks fall back to q8_0"
	ReasonRowsF16 = "rows that do not divide into 32-element blocks fall back to f16"
)

// StorageRule is StorageType with the reason ("" when the tensor is stored
// as want).
func StorageRule(name string, shape []uint64, want fsggml.TensorType) (fsggml.TensorType, string) {
	switch {
	case want == fsggml.TensorTypeF32:
		return fsggml.TensorTypeF32, ""
	case keepF32(name, shape):
		return fsggml.TensorTypeF32, ReasonKeepF32
	case !want.IsQuantized():
		return fsggml.TensorTypeF16, ""
	case len(shape) == 4:
		return fsggml.TensorTypeF16, ReasonConv
	case shape[0]%want.BlockSize() == 0:
		return want, ""
	case shape[0]%fsggml.TensorTypeQ8_0.BlockSize() == 0:
		return fsggml.TensorTypeQ8_0, ReasonRowsQ8
	default:
		return fsggml.TensorTypeF16, ReasonRowsF16
	}
}

// TypeReport says how the tensors of one file were stored for a requested
// type: how many went to each type, and why those not stored as the
// requested type were not.
type TypeReport struct {
	Want    fsggml.TensorType
	Total   int
	ByType  map[fsggml.TensorType]int
	Reasons map[string]int // reason → tensors
}

// PlanTypes applies StorageRule to every tensor.
func PlanTypes(tensors []*fsggml.Tensor, want fsggml.TensorType) TypeReport {
	r := TypeReport{Want: want, ByType: map[fsggml.TensorType]int{}, Reasons: map[string]int{}}
	for _, t := range tensors {
		to, why := StorageRule(t.Name, t.Shape, want)
		r.Total++
		r.ByType[to]++
		if why != "" {
			r.Reasons[why]++
		}
	}
	return r
}

// Changed reports whether any tensor is stored as the requested type.
func (r TypeReport) Changed() bool { return r.ByType[r.Want] > 0 }

// String is one line: "12 tensors: 3 q4_k, 5 f16, 4 f32; not q4_k: 5
// convolution kernels go no lower than f16, 4 biases, ...".
func (r TypeReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d tensors:", r.Total)
	types := make([]fsggml.TensorType, 0, len(r.ByType))
	for t := range r.ByType {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if (types[i] == r.Want) != (types[j] == r.Want) {
			return types[i] == r.Want
		}
		return types[i].String() < types[j].String()
	})
	for i, t := range types {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %d %s", sep, r.ByType[t], typeName(t))
	}
	if len(r.Reasons) > 0 {
		reasons := make([]string, 0, len(r.Reasons))
		for why := range r.Reasons {
			reasons = append(reasons, why)
		}
		sort.Strings(reasons)
		fmt.Fprintf(&b, "; not %s:", typeName(r.Want))
		for i, why := range reasons {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %d (%s)", sep, r.Reasons[why], why)
		}
	}
	return b.String()
}

// Unchanged is the bad-input error for a request whose type no tensor can
// take (what names the file or model).
func (r TypeReport) Unchanged(what string) error {
	return badinput.Errorf("--type %s: no tensor of %s can be stored as %s (%s); nothing written", typeName(r.Want), what, typeName(r.Want), r)
}

// typeName is a type's name as --type spells it (q4_k, f16).
func typeName(t fsggml.TensorType) string { return strings.ToLower(t.String()) }

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
// StorageType) and writes out atomically, returning what went to which
// type. When no tensor can be stored as want (a convolution-only model
// asked for q4_k), it writes nothing and returns TypeReport.Unchanged.
// progress, if not nil, gets the number of tensors done after each one.
func QuantizeFile(in, out string, want fsggml.TensorType, progress func(done, total int)) (TypeReport, error) {
	meta, err := Validate(in, "")
	if err != nil {
		return TypeReport{}, err
	}
	items := meta.Tensors().Items()
	report := PlanTypes(items, want)
	if !report.Changed() {
		return report, report.Unchanged(in)
	}
	f, err := os.Open(in)
	if err != nil {
		return report, badinput.Errorf("%s: %v", in, err)
	}
	defer f.Close()

	kv := fsggml.KV{}
	for k, v := range meta.KV() {
		kv[k] = v
	}
	kv["general.file_type"] = fileTypeOf(want)
	base := int64(meta.Tensors().Offset)
	var tensors []*fsggml.Tensor
	for i, t := range items {
		raw := make([]byte, t.Size())
		if _, err := f.ReadAt(raw, base+int64(t.Offset)); err != nil {
			return report, badinput.Errorf("%s: reading tensor %s: %v", in, t.Name, err)
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
	return report, WriteFile(out, kv, tensors)
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
