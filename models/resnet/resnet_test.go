package resnet

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings/porttest"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

// runFixture converts the PyTorch fixture (testdata/make_fixture.py,
// torchvision 0.14.1 ResNet(Bottleneck) narrowed, random BN statistics)
// with the real converter to type typ, runs the port on the CPU and returns
// the layer4 features and the logits with their ggml shapes, and the
// fixture's tensors.
func runFixture(t *testing.T, typ fsggml.TensorType) ([][]float32, [][]int, checkpoint.StateDict) {
	t.Helper()
	gguf := filepath.Join(t.TempDir(), "resnet.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/resnet_tiny.pth"}, typ, gguf); err != nil {
		t.Fatal(err)
	}
	want, err := checkpoint.Load("testdata/resnet_tiny_expect.safetensors")
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
	got, shapes := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		return []ml.Tensor{m.Backbone.Forward(ctx, x), m.Logits(ctx, x)}
	})
	return got, shapes, want
}

// TestParity: the layer4 features and the logits of the f32 file match the
// fixture within parity.Tol·max|ref|.
func TestParity(t *testing.T) {
	got, shapes, want := runFixture(t, fsggml.TensorTypeF32)
	for i, name := range []string{"features", "logits"} {
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

// TestF16StillClose: an f16 conversion stays within f16 precision of the
// reference logits.
func TestF16StillClose(t *testing.T) {
	got, _, want := runFixture(t, fsggml.TensorTypeF16)
	if err := parity.Compare(got[1], want["logits"].Data, 1e-2); err != nil {
		t.Fatal(err)
	}
}

// TestPlan: the stride/dilation plan follows torchvision's _make_layer
// (FCN's replace_stride_with_dilation=[False, True, True]: layer3 starts at
// dilation 1 then 2, layer4 starts at 2 then 4).
func TestPlan(t *testing.T) {
	cases := []struct {
		name   string
		dilate [3]bool
		want   string
	}{
		{"plain", [3]bool{}, "[[{1 1 true} {1 1 false}] [{2 1 true}] [{2 1 true} {1 1 false}] [{2 1 true} {1 1 false}]]"},
		{"fcn", [3]bool{false, true, true}, "[[{1 1 true} {1 1 false}] [{2 1 true}] [{1 1 true} {1 2 false}] [{1 2 true} {1 4 false}]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Blocks: [4]int{2, 1, 2, 2}, Width: 4, Dilate: c.dilate}
			if got := fmt.Sprint(cfg.plan()); got != c.want {
				t.Fatalf("plan %s, want %s", got, c.want)
			}
		})
	}
}

// TestConvertRejects: a checkpoint missing a key or carrying a foreign one
// is refused with a bad-input error naming the key.
func TestConvertRejects(t *testing.T) {
	porttest.ConvertEdits(t, Arch, "testdata/resnet_tiny.pth", []porttest.Edit{
		{"missing bn", func(s checkpoint.StateDict) { delete(s, "layer2.0.bn2.running_var") }, "layer2.0.bn2.running_var is missing"},
		{"missing fc", func(s checkpoint.StateDict) { delete(s, "fc.bias") }, "fc.bias is missing"},
		{"extra key", func(s checkpoint.StateDict) {
			s["aux.weight"] = &checkpoint.Tensor{Shape: []int{1}, Data: []float32{1}}
		}, "unexpected key aux.weight"},
		{"other arch", func(s checkpoint.StateDict) { delete(s, "conv1.weight") }, "conv1.weight is missing"},
	})
}

// TestSynthTiny: a tiny synthesized model opens and classifies.
func TestSynthTiny(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.gguf")
	if err := bindings.Synth(Arch, "tiny", 3, fsggml.TensorTypeF32, path); err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(path, bindings.Options{Arch: Arch, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	got, shapes := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(make([]float32, 40*33*3), 40, 33, 3, 1)
		return []ml.Tensor{m.Logits(ctx, x)}
	})
	if shapes[0][0] != TinyConfig.Classes || len(got[0]) != TinyConfig.Classes {
		t.Fatalf("logits shape %v", shapes[0])
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

// TestFoldInPlaceMatchesBindings: the in-place fold gives
// bindings.FoldBatchNorm's values exactly.
func TestFoldInPlaceMatchesBindings(t *testing.T) {
	w := []float32{1, -2, 3, 0.5, 4, -1}
	mean, variance := []float32{0.1, -0.3}, []float32{0.9, 1.7}
	gamma, beta := []float32{1.2, 0.7}, []float32{-0.2, 0.4}
	ww, wb := bindings.FoldBatchNorm(w, nil, 2, mean, variance, gamma, beta, BNEps)
	gw, gb := foldBN(append([]float32(nil), w...), 2, mean, variance, gamma, beta)
	if fmt.Sprint(ww, wb) != fmt.Sprint(gw, gb) {
		t.Fatalf("in place %v %v, bindings %v %v", gw, gb, ww, wb)
	}
}

// TestLayoutsAgree: the [W, H, C, N] im2col path (ChannelFirst off) also
// meets parity, so the benchmarks compare two correct layouts.
func TestLayoutsAgree(t *testing.T) {
	ChannelFirst = false
	defer func() { ChannelFirst = true }()
	got, _, want := runFixture(t, fsggml.TensorTypeF32)
	for i, name := range []string{"features", "logits"} {
		if err := parity.Compare(got[i], want[name].Data, parity.Tol); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
