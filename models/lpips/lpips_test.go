package lpips

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

var fixtureInputs = []string{"testdata/alexnet_tiny.pth", "testdata/alex_tiny.pth"}

func convertFixture(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "lpips.gguf")
	if err := bindings.ConvertFiles(Arch, fixtureInputs, fsggml.TensorTypeF32, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestParity: the converted fixture (testdata/make_fixture.py, an LPIPS v0.1
// reference rebuilt on torchvision 0.14.1's AlexNet) gives each layer's term
// and the distance of both image pairs within parity.Tol·max|ref|.
func TestParity(t *testing.T) {
	mt, err := Open(convertFixture(t), bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	want, err := checkpoint.Load("testdata/lpips_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	in0, in1 := want["in0"], want["in1"]
	w, h := in0.Shape[3], in0.Shape[2]
	got, _, err := bindings.Compute(mt.model.Backend(), func(ctx ml.Context) []ml.Tensor {
		x0 := ctx.Input().FromFloats(in0.Data, w, h, 3, 2)
		x1 := ctx.Input().FromFloats(in1.Data, w, h, 3, 2)
		var layers []ml.Tensor
		d := mt.model.Distance(ctx, x0, x1, &layers)
		return append(layers, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"layer0", "layer1", "layer2", "layer3", "layer4", "dist"} {
		if err := parity.Compare(got[i], want[name].Data, parity.Tol); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	t.Logf("dist %v, want %v", got[5], want["dist"].Data)
}

func testImage(w, h int, seed uint8) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*7) + seed, uint8(y*5) ^ seed, uint8(x*y) + 3*seed, 255})
		}
	}
	return img
}

func TestMetricImages(t *testing.T) {
	mt, err := Open(convertFixture(t), bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	a, b := testImage(64, 48, 0), testImage(64, 48, 40)

	same, err := mt.Distance(a, a)
	if err != nil || same != 0 {
		t.Fatalf("d(a, a) = %v, %v; want exactly 0", same, err)
	}
	ab, err := mt.Distance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := mt.Distance(b, a)
	if !(ab > 0) || math.Abs(ab-ba) > 1e-6*ab {
		t.Fatalf("d(a, b) = %v, d(b, a) = %v: want positive and symmetric", ab, ba)
	}

	for _, tc := range []struct {
		a, b image.Image
		want string
	}{
		{a, testImage(48, 64, 0), "differ in size"},
		{testImage(16, 16, 0), testImage(16, 16, 1), "at least 32x32"},
	} {
		_, err := mt.Distance(tc.a, tc.b)
		if !badinput.Is(err) || !contains(err.Error(), tc.want) {
			t.Errorf("got %v, want a bad-input error about %q", err, tc.want)
		}
	}
}

func TestConvertBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	for _, tc := range []struct {
		inputs []string
		want   string
	}{
		{fixtureInputs[:1], "two files"},
		{[]string{fixtureInputs[0], fixtureInputs[0]}, "lin0.model.1.weight"},
		{[]string{fixtureInputs[1], fixtureInputs[1]}, "features.0.weight"},
	} {
		err := bindings.ConvertFiles(Arch, tc.inputs, fsggml.TensorTypeF32, out)
		if !badinput.Is(err) || !contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want a bad-input error about %q", tc.inputs, err, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
