package alexnet

import (
	"fmt"
	"path/filepath"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

// runFixture converts the PyTorch fixture (testdata/make_fixture.py,
// torchvision 0.14.1 AlexNet with narrowed convs) with the real converter to
// type typ, runs the port on the CPU and returns the five ReLU taps and the
// trunk output with their ggml shapes, and the fixture's tensors.
func runFixture(t *testing.T, typ fsggml.TensorType) ([][]float32, [][]int, checkpoint.StateDict) {
	t.Helper()
	gguf := filepath.Join(t.TempDir(), "alexnet.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/alexnet_tiny.pth"}, typ, gguf); err != nil {
		t.Fatal(err)
	}
	want, err := checkpoint.Load("testdata/alexnet_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(gguf, bindings.Options{Arch: Arch, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	in := want["input"]
	got, shapes, err := bindings.Compute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		return append(m.Taps(ctx, x), m.Run(ctx, x))
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, shapes, want
}

var outputs = []string{"relu1", "relu2", "relu3", "relu4", "relu5", "out"}

// TestParity: every ReLU tap and the trunk output of the f32 file match
// the fixture within parity.Tol·max|ref|.
func TestParity(t *testing.T) {
	got, shapes, want := runFixture(t, fsggml.TensorTypeF32)
	for i, name := range outputs {
		ref := want[name]
		t.Run(name, func(t *testing.T) {
			if fmt.Sprint(pad4(shapes[i])) != fmt.Sprint(pad4(reverse(ref.Shape))) {
				t.Fatalf("shape %v, want %v (ggml order)", shapes[i], reverse(ref.Shape))
			}
			if err := parity.Compare(got[i], ref.Data, parity.Tol); err != nil {
				t.Fatal(err)
			}
			t.Logf("max rel err %.2e", parity.MaxRelErr(got[i], ref.Data))
		})
	}
}

// TestQuantizedStillClose: a q8_0 conversion (conv kernels stop at f16)
// stays within f16 precision of the reference output: f16 weights and
// ggml's f16 im2col of the activations keep about 3 decimal digits through
// five layers.
func TestQuantizedStillClose(t *testing.T) {
	got, _, want := runFixture(t, fsggml.TensorTypeQ8_0)
	if err := parity.Compare(got[len(outputs)-1], want["out"].Data, 1e-2); err != nil {
		t.Fatal(err)
	}
}

func reverse(s []int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[len(s)-1-i] = d
	}
	return out
}

func pad4(s []int) []int {
	for len(s) < 4 {
		s = append(s, 1)
	}
	return s
}
