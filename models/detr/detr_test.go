package detr

import (
	"fmt"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/porttest"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

// open converts a fixture checkpoint (testdata/make_fixture.py: DETR
// reimplemented after facebookresearch/detr, narrowed) with the real
// converter and opens it on the CPU.
func open(t *testing.T, typ fsggml.TensorType, inputs ...string) *Model {
	t.Helper()
	return porttest.ConvertOpen(t, Arch, inputs, typ).Model.(*Model)
}

func expect(t *testing.T) checkpoint.StateDict {
	t.Helper()
	want, err := checkpoint.Load("testdata/detr_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// run runs the port on the fixture's padded batch of two images of
// different sizes and returns logits and boxes with their ggml shapes.
func run(t *testing.T, m *Model, want checkpoint.StateDict) ([][]float32, [][]int) {
	in, sz := want["input"], want["sizes"]
	sizes := [][2]int{{int(sz.Data[0]), int(sz.Data[1])}, {int(sz.Data[2]), int(sz.Data[3])}}
	return bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		logits, boxes := m.Heads(ctx, x, sizes)
		return []ml.Tensor{logits, boxes}
	})
}

// TestParity: logits and boxes of a batch of two differently sized images
// (the padding mask cuts a column of one and a row of the other at the
// feature map) match the reference, from the original .pth and from the
// hub layout (safetensors + config.json).
func TestParity(t *testing.T) {
	want := expect(t)
	sources := map[string][]string{
		// The original checkpoint does not record the head count (8 for
		// DETR-R50, the default); the fixture's 4 come from config.json.
		"original": {"testdata/detr_tiny.pth", "testdata/config.json"},
		"hub":      {"testdata/detr_tiny_hf.safetensors", "testdata/config.json"},
	}
	for src, inputs := range sources {
		got, shapes := run(t, open(t, fsggml.TensorTypeF32, inputs...), want)
		for i, name := range []string{"logits", "boxes"} {
			ref := want[name]
			t.Run(src+"/"+name, func(t *testing.T) {
				if fmt.Sprint(shapes[i]) != fmt.Sprint(reverse64(ref.Shape)) {
					t.Fatalf("shape %v, want %v (ggml order)", shapes[i], reverse64(ref.Shape))
				}
				if err := parity.Compare(got[i], ref.Data, parity.Tol); err != nil {
					t.Fatal(err)
				}
				t.Logf("max rel err %.2e", parity.MaxRelErr(got[i], ref.Data))
			})
		}
	}
}

// TestF16StillClose: an f16 file stays within f16 precision of the
// reference.
func TestF16StillClose(t *testing.T) {
	want := expect(t)
	got, _ := run(t, open(t, fsggml.TensorTypeF16, "testdata/detr_tiny.pth", "testdata/config.json"), want)
	if err := parity.Compare(got[0], want["logits"].Data, 1e-2); err != nil {
		t.Fatal(err)
	}
	if err := parity.Compare(got[1], want["boxes"].Data, 1e-2); err != nil {
		t.Fatal(err)
	}
}

// TestPaddingMatters: the same batch without the padding mask (both images
// treated as full size) gives different outputs, so the parity test would
// catch a mask that is ignored.
func TestPaddingMatters(t *testing.T) {
	want := expect(t)
	m := open(t, fsggml.TensorTypeF32, "testdata/detr_tiny.pth", "testdata/config.json")
	in := want["input"]
	full := [][2]int{{in.Shape[2], in.Shape[3]}, {in.Shape[2], in.Shape[3]}}
	got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(in.Data, in.Shape[3], in.Shape[2], in.Shape[1], in.Shape[0])
		l, _ := m.Heads(ctx, x, full)
		return []ml.Tensor{l}
	})
	if parity.Compare(got[0], want["logits"].Data, parity.Tol) == nil {
		t.Fatal("ignoring the padding mask changed nothing")
	}
}

func TestFeatureMask(t *testing.T) {
	// The fixture's batch: 70x101 padded, images 70x70 and 40x101, 3x4 features.
	got := FeatureMask([][2]int{{70, 70}, {40, 101}}, 70, 101, 3, 4)
	want := "[false false false true false false false true false false false true " +
		"false false false false false false false false true true true true]"
	if fmt.Sprint(got) != want {
		t.Fatalf("mask %v\nwant %s", got, want)
	}
}

// TestConvertRejects: foreign or missing keys are named.
func TestConvertRejects(t *testing.T) {
	porttest.ConvertEdits(t, Arch, "testdata/detr_tiny.pth", []porttest.Edit{
		{"missing norm", func(s checkpoint.StateDict) { delete(s, "transformer.decoder.layers.1.norm3.bias") }, "decoder.layers.1.final_layer_norm.bias is missing"},
		{"foreign key", func(s checkpoint.StateDict) {
			s["transformer.encoder.norm.weight"] = &checkpoint.Tensor{Shape: []int{32}, Data: make([]float32, 32)}
		}, "unexpected key transformer.encoder.norm.weight"},
		{"a resnet", func(s checkpoint.StateDict) {
			for k := range s {
				if strings.HasPrefix(k, "backbone.0.body.") {
					s[strings.TrimPrefix(k, "backbone.0.body.")] = s[k]
				}
				delete(s, k)
			}
		}, "not a DETR checkpoint"},
		{"wrong shape", func(s checkpoint.StateDict) {
			s["class_embed.bias"] = &checkpoint.Tensor{Shape: []int{7}, Data: make([]float32, 7)}
		}, "class_labels_classifier.bias has PyTorch shape [7]"},
	})
}

func reverse64(s []int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[len(s)-1-i] = d
	}
	return out
}

func TestResizedSize(t *testing.T) {
	cases := []struct{ w, h, s, m, ww, wh int }{
		{640, 480, 800, 1333, 1066, 800}, // DETR's 800x1066 for a 4:3 image
		{480, 640, 800, 1333, 800, 1066},
		{2000, 500, 800, 1333, 1332, 333}, // capped by the longer side
		{800, 600, 800, 1333, 1066, 800},
		{1066, 800, 800, 1333, 1066, 800}, // already the size
		{64, 48, 0, 0, 64, 48},
	}
	for _, c := range cases {
		if w, h := ResizedSize(c.w, c.h, c.s, c.m); w != c.ww || h != c.wh {
			t.Errorf("ResizedSize(%d, %d, %d, %d) = %d, %d; want %d, %d", c.w, c.h, c.s, c.m, w, h, c.ww, c.wh)
		}
	}
}

func TestPostProcess(t *testing.T) {
	// 2 real classes + no-object, 3 queries, 1 image of 200x100.
	logits := []float32{
		5, 0, 0, // query 0: class 0, p = e^5/(e^5+2) ≈ 0.987
		0, 0, 5, // query 1: no-object wins; best real class p ≈ 0.0066
		0, 3, 1, // query 2: class 1, p = e^3/(1+e^3+e) ≈ 0.8438
	}
	boxes := []float32{
		0.5, 0.5, 0.2, 0.4,
		0.1, 0.1, 0.1, 0.1,
		0.25, 0.75, 0.5, 0.5,
	}
	got := PostProcess(logits, boxes, 3, 3, 200, 100, 0.7, []string{"cat", "dog"})
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("detections %+v", got)
	}
	d0, d1 := got[0][0], got[0][1]
	if d0.Label != "cat" || math.Abs(float64(d0.Score)-math.Exp(5)/(math.Exp(5)+2)) > 1e-6 || !nearBox(d0.Box, [4]float32{80, 30, 120, 70}) {
		t.Errorf("first %+v", d0)
	}
	if d1.Label != "dog" || d1.Class != 1 || !nearBox(d1.Box, [4]float32{0, 50, 100, 100}) || d1.Rect() != image.Rect(0, 50, 100, 100) {
		t.Errorf("second %+v", d1)
	}
	if n := len(PostProcess(logits, boxes, 3, 3, 200, 100, 0.99, nil)[0]); n != 0 {
		t.Errorf("threshold 0.99 kept %d", n)
	}
}

func nearBox(a, b [4]float32) bool {
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-4 {
			return false
		}
	}
	return true
}

// TestSynthQuantized: tiny synthesized models in f16 and q8_0 (whose query
// embeddings are stored quantized, as at full size) run and give finite
// outputs.
func TestSynthQuantized(t *testing.T) {
	for _, typ := range []fsggml.TensorType{fsggml.TensorTypeF16, fsggml.TensorTypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.gguf")
			if err := bindings.Synth(Arch, "tiny", 2, typ, path); err != nil {
				t.Fatal(err)
			}
			l, err := bindings.Open(path, bindings.Options{Arch: Arch, Device: "cpu"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			m := l.Model.(*Model)
			in := make([]float32, 40*30*3)
			for i := range in {
				in[i] = float32(i%13) / 13
			}
			got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
				x := ctx.Input().FromFloats(in, 40, 30, 3, 1)
				l, b := m.Heads(ctx, x, [][2]int{{30, 40}})
				return []ml.Tensor{l, b}
			})
			for _, v := range append(got[0], got[1]...) {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite output")
				}
			}
		})
	}
}
