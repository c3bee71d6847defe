package fcn

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/porttest"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
	"github.com/multisc/multisc/models/resnet"
)

// open converts the fixture checkpoint (testdata/make_fixture.py,
// torchvision 0.14.1 fcn_resnet50 narrowed) with the real converter to typ
// and opens it on the CPU.
func open(t *testing.T, typ fsggml.TensorType) *Model {
	t.Helper()
	return porttest.ConvertOpen(t, Arch, []string{"testdata/fcn_tiny.pth"}, typ).Model.(*Model)
}

func expect(t *testing.T) checkpoint.StateDict {
	t.Helper()
	want, err := checkpoint.Load("testdata/fcn_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// runOut runs the port on the fixture input and returns the output map.
func runOut(t *testing.T, m *Model, want checkpoint.StateDict) ([]float32, []int) {
	in := want["input"]
	got, shapes := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		return []ml.Tensor{m.Logits(ctx, x, x.Dim(0), x.Dim(1))}
	})
	return got[0], shapes[0]
}

// TestParity: the full upsampled output map [2, 5, 61, 77] (non-square) of
// the f32 file matches the fixture within parity.Tol·max|ref|.
// Both activation layouts (resnet.ChannelFirst) are checked.
func TestParity(t *testing.T) {
	want := expect(t)
	m := open(t, fsggml.TensorTypeF32)
	for _, cf := range []bool{true, false} {
		t.Run(fmt.Sprintf("channel-first=%v", cf), func(t *testing.T) {
			resnet.ChannelFirst = cf
			defer func() { resnet.ChannelFirst = true }()
			got, shape := runOut(t, m, want)
			ref := want["out"]
			if fmt.Sprint(shape) != fmt.Sprint([]int{77, 61, 5, 2}) {
				t.Fatalf("shape %v, want [77 61 5 2]", shape)
			}
			if err := parity.Compare(got, ref.Data, parity.Tol); err != nil {
				t.Fatal(err)
			}
			t.Logf("out: max rel err %.2e", parity.MaxRelErr(got, ref.Data))
		})
	}
}

// TestF16StillClose: an f16 file stays within f16 precision of the
// reference map.
func TestF16StillClose(t *testing.T) {
	want := expect(t)
	got, _ := runOut(t, open(t, fsggml.TensorTypeF16), want)
	if err := parity.Compare(got, want["out"].Data, 1e-2); err != nil {
		t.Fatal(err)
	}
}

// TestBilinearMatchesTorch: ggml's bilinear Interpolate equals
// F.interpolate(mode="bilinear", align_corners=False) when enlarging and
// when shrinking a non-square map.
func TestBilinearMatchesTorch(t *testing.T) {
	want := expect(t)
	m := open(t, fsggml.TensorTypeF32)
	in := want["bil_in"]
	for _, name := range []string{"bil_up", "bil_down"} {
		t.Run(name, func(t *testing.T) {
			ref := want[name]
			got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
				x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
				return []ml.Tensor{x.Interpolate(ctx, [4]int{ref.Shape[3], ref.Shape[2], ref.Shape[1], ref.Shape[0]}, ml.SamplingModeBilinear)}
			})
			if err := parity.Compare(got[0], ref.Data, 1e-6); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSegment: Segment on an image returns a mask of the image's size
// whose labels are the argmax of Logits at native size.
func TestSegment(t *testing.T) {
	m := open(t, fsggml.TensorTypeF32)
	img := image.NewRGBA(image.Rect(0, 0, 45, 31))
	for y := range 31 {
		for x := range 45 {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 8), uint8((x + y) * 3), 255})
		}
	}
	mask, err := m.Segment(img, -1)
	if err != nil {
		t.Fatal(err)
	}
	if mask.W != 45 || mask.H != 31 || len(mask.Label) != 45*31 || len(mask.Classes) != 5 {
		t.Fatalf("mask %dx%d, %d labels, %d classes", mask.W, mask.H, len(mask.Label), len(mask.Classes))
	}
	in := resnet.Normalize(img)
	logits, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in, 45, 31, 3, 1)
		return []ml.Tensor{m.Logits(ctx, x, 45, 31)}
	})
	if fmt.Sprint(Argmax(logits[0], 45*31, 5)) != fmt.Sprint(mask.Label) {
		t.Fatal("Segment's mask is not the argmax of the logits")
	}
	resized, err := m.Segment(img, 40)
	if err != nil {
		t.Fatal(err)
	}
	if resized.W != 45 || resized.H != 31 {
		t.Fatalf("resized mask %dx%d, want the image size", resized.W, resized.H)
	}
}

func TestArgmax(t *testing.T) {
	cases := []struct {
		logits []float32
		n, c   int
		want   string
	}{
		{[]float32{1, 5, 2, 2}, 2, 2, "[1 0]"},       // pixel 0: 1 vs 2 -> 1; pixel 1: 5 vs 2 -> 0
		{[]float32{3, 3, 3, 3, 3, 3}, 2, 3, "[0 0]"}, // ties -> first class
		{[]float32{-1, -2, -3, 0, -5, -0.5}, 2, 3, "[0 1]"},
	}
	for i, c := range cases {
		if got := fmt.Sprint(Argmax(c.logits, c.n, c.c)); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
}

func TestResizedSize(t *testing.T) {
	cases := []struct{ w, h, s, ww, wh int }{
		{500, 375, 520, 693, 520},
		{375, 500, 520, 520, 693},
		{64, 64, 0, 64, 64},
		{61, 77, 520, 520, 656},
	}
	for _, c := range cases {
		if w, h := ResizedSize(c.w, c.h, c.s); w != c.ww || h != c.wh {
			t.Errorf("ResizedSize(%d, %d, %d) = %d, %d; want %d, %d", c.w, c.h, c.s, w, h, c.ww, c.wh)
		}
	}
}

// TestConvertRejects: missing or foreign keys are refused naming the key,
// and the aux head is accepted and dropped.
func TestConvertRejects(t *testing.T) {
	porttest.ConvertEdits(t, Arch, "testdata/fcn_tiny.pth", []porttest.Edit{
		{"no aux is fine", func(s checkpoint.StateDict) {
			for k := range s {
				if strings.HasPrefix(k, "aux_classifier.") {
					delete(s, k)
				}
			}
		}, ""},
		{"missing head bn", func(s checkpoint.StateDict) { delete(s, "classifier.1.running_mean") }, "classifier.1.running_mean is missing"},
		{"missing backbone", func(s checkpoint.StateDict) { delete(s, "backbone.layer4.1.conv3.weight") }, "backbone.layer4.1.conv3.weight is missing"},
		{"resnet classifier", func(s checkpoint.StateDict) { s["fc.weight"] = &checkpoint.Tensor{Shape: []int{1}, Data: []float32{1}} }, "unexpected key fc.weight"},
	})
}
