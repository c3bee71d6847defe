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

// TestParity converts the PyTorch fixture (testdata/make_fixture.py,
// torchvision 0.14.1 AlexNet with narrowed convs) with the real converter,
// runs the port on CPU and compares every ReLU tap and the trunk output
// within parity.Tol·max|ref|.
func TestParity(t *testing.T) {
	gguf := filepath.Join(t.TempDir(), "alexnet.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/alexnet_tiny.pth"}, fsggml.TensorTypeF32, gguf); err != nil {
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
	names := []string{"relu1", "relu2", "relu3", "relu4", "relu5", "out"}
	got, shapes := bindings.Compute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		taps := m.Taps(ctx, x)
		return append(taps, m.Run(ctx, x))
	})
	for i, name := range names {
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

// TestQuantizedStillClose: an f16 file of the same weights stays within f16
// precision of the reference (conv kernels go no lower than f16).
func TestQuantizedStillClose(t *testing.T) {
	dir := t.TempDir()
	gguf := filepath.Join(dir, "alexnet-q8.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/alexnet_tiny.pth"}, fsggml.TensorTypeQ8_0, gguf); err != nil {
		t.Fatal(err)
	}
	want, _ := checkpoint.Load("testdata/alexnet_tiny_expect.safetensors")
	l, err := bindings.Open(gguf, bindings.Options{Arch: Arch, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	in := want["input"]
	got, _ := bindings.Compute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		return []ml.Tensor{m.Run(ctx, ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0]))}
	})
	// f16 weights (and ggml's f16 im2col of the activations) keep about 3
	// decimal digits through five layers.
	if err := parity.Compare(got[0], want["out"].Data, 1e-2); err != nil {
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
