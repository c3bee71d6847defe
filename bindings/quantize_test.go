package bindings

import (
	"math"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

func TestStorageType(t *testing.T) {
	q4k := fsggml.TensorTypeQ4_K
	for _, tc := range []struct {
		name  string
		shape []uint64
		want  fsggml.TensorType
		got   fsggml.TensorType
	}{
		{"features.0.bias", []uint64{64}, q4k, fsggml.TensorTypeF32},               // 1-D
		{"encoder.layer_norm.weight", []uint64{768, 2}, q4k, fsggml.TensorTypeF32}, // norm by name
		{"tiny.weight", []uint64{16, 16}, q4k, fsggml.TensorTypeF32},               // < 1024 elements
		{"features.3.weight", []uint64{5, 5, 64, 192}, q4k, fsggml.TensorTypeF16},  // conv kernel
		{"features.3.weight", []uint64{5, 5, 64, 192}, fsggml.TensorTypeF32, fsggml.TensorTypeF32},
		{"fc.weight", []uint64{512, 256}, q4k, q4k},                                    // rows split into 256-blocks
		{"fc.weight", []uint64{320, 256}, q4k, fsggml.TensorTypeQ8_0},                  // 320 % 256 != 0, % 32 == 0
		{"fc.weight", []uint64{100, 256}, fsggml.TensorTypeQ8_0, fsggml.TensorTypeF16}, // 100 % 32 != 0
		{"fc.weight", []uint64{512, 256}, fsggml.TensorTypeF16, fsggml.TensorTypeF16},
	} {
		if got := StorageType(tc.name, tc.shape, tc.want); got != tc.got {
			t.Errorf("StorageType(%s %v, %s) = %s, want %s", tc.name, tc.shape, tc.want, got, tc.got)
		}
		if !Allowed(tc.name, tc.shape, tc.got) {
			t.Errorf("Allowed(%s %v, %s) = false for a type StorageType produces", tc.name, tc.shape, tc.got)
		}
	}
	if Allowed("features.3.weight", []uint64{5, 5, 64, 192}, fsggml.TensorTypeQ8_0) {
		t.Error("a quantized conv kernel must not be allowed")
	}
	if Allowed("features.0.bias", []uint64{64}, fsggml.TensorTypeF16) {
		t.Error("a bias must stay f32")
	}
}

// TestEncodeRoundTrip: every type decodes back to the input within the error
// its bit width implies, as relative RMS error on Gaussian data.
func TestEncodeRoundTrip(t *testing.T) {
	shape := []uint64{512, 8}
	v := randn(31, 512*8, 1)
	for _, tc := range []struct {
		typ    string
		maxRel float64
	}{
		{"f32", 0}, {"f16", 1e-3}, {"q8_0", 0.01}, {"q6_k", 0.02}, {"q5_0", 0.05}, {"q5_1", 0.05},
		{"q5_k", 0.05}, {"q4_0", 0.1}, {"q4_1", 0.1}, {"q4_k", 0.1}, {"q3_k", 0.2}, {"q2_k", 0.4},
	} {
		typ, err := ParseType(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		data := Encode(v, shape, typ)
		if want := Elements(shape) * typ.TypeSize() / typ.BlockSize(); uint64(len(data)) != want {
			t.Fatalf("%s: %d bytes, want %d", tc.typ, len(data), want)
		}
		back := Decode(data, typ, Elements(shape))
		var num, den float64
		for i := range v {
			d := float64(back[i] - v[i])
			num += d * d
			den += float64(v[i]) * float64(v[i])
		}
		if rel := math.Sqrt(num / den); rel > tc.maxRel {
			t.Errorf("%s: relative RMS error %.4f > %.4f", tc.typ, rel, tc.maxRel)
		} else {
			t.Logf("%s: relative RMS error %.4f", tc.typ, rel)
		}
	}
	if _, err := ParseType("q9_9"); err == nil {
		t.Error("ParseType accepted q9_9")
	}
}

// TestPlanTypes: the report counts tensors per stored type and gives the
// reason for every tensor not stored as the requested type.
func TestPlanTypes(t *testing.T) {
	ts := []*fsggml.Tensor{
		{Name: "fc.weight", Shape: []uint64{512, 256}},
		{Name: "fc2.weight", Shape: []uint64{320, 256}},
		{Name: "fc3.weight", Shape: []uint64{100, 256}},
		{Name: "conv.weight", Shape: []uint64{3, 3, 64, 64}},
		{Name: "fc.bias", Shape: []uint64{256}},
	}
	r := PlanTypes(ts, fsggml.TensorTypeQ4_K)
	want := "5 tensors: 1 q4_k, 2 f16, 1 f32, 1 q8_0; not q4_k: 1 (biases, norms, 1-D and small (< 1024 elements) tensors stay f32), " +
		"1 (convolution kernels go no lower than f16), 1 (rows that do not divide into 32-element blocks fall back to f16), " +
		"1 (rows that do not divide into the type's blocks fall back to q8_0)"
	if !r.Changed() || r.String() != want {
		t.Fatalf("report %q (changed %v), want %q", r, r.Changed(), want)
	}
	if r := PlanTypes(ts[3:], fsggml.TensorTypeQ8_0); r.Changed() || !strings.Contains(r.Unchanged("m.gguf").Error(), "no tensor of m.gguf can be stored as q8_0") {
		t.Fatalf("conv and bias only: changed %v, %v", r.Changed(), r.Unchanged("m.gguf"))
	}
}
