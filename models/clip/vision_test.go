package clip

import (
	"image"
	"image/color"
	"os"
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

func convertVisionFixture(t *testing.T, variant string, typ fsggml.TensorType) string {
	t.Helper()
	return convertVision(t, variant+"-mmproj.gguf", typ, "testdata/"+variant+"_llava", "testdata/"+variant+"_tower")
}

// convertVision converts the folders in into a GGUF named name in a test
// temporary folder and returns its path.
func convertVision(t *testing.T, name string, typ fsggml.TensorType, in ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if err := bindings.ConvertFiles(VisionArch, in, typ, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// openConvertedVision converts the folders in (f32) and opens the result
// on the CPU, closed when the test ends.
func openConvertedVision(t *testing.T, in ...string) *VisionLoaded {
	t.Helper()
	v, err := OpenVision(convertVision(t, "vision.gguf", fsggml.TensorTypeF32, in...), bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// TestVisionParity: the fixtures of testdata/make_vision_fixture.py (CLIP
// and SigLIP towers rebuilt from transformers' modeling_clip.py /
// modeling_siglip.py, LLaVA's mlp2x_gelu projector), converted by the real
// converter, give the selected layer's features and the projected image
// tokens of two images within parity.Tol·max|ref|.
func TestVisionParity(t *testing.T) {
	for _, variant := range []string{"clip", "siglip"} {
		t.Run(variant, func(t *testing.T) {
			v, err := OpenVision(convertVisionFixture(t, variant, fsggml.TensorTypeF32), bindings.Options{Device: "cpu"})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			want, err := checkpoint.Load("testdata/" + variant + "_expect.pt")
			if err != nil {
				t.Fatal(err)
			}
			px := want["pixels"]
			s := px.Shape[3]
			got, shapes := bindings.MustCompute(v.Model.Backend(), func(ctx ml.Context) []ml.Tensor {
				x := ctx.Input().FromFloats(px.Data, s, s, 3, px.Shape[0])
				return []ml.Tensor{v.Model.Features(ctx, x), v.Model.Encode(ctx, x)}
			})
			for i, name := range []string{"features", "projected"} {
				w := want[name]
				if err := parity.Compare(got[i], w.Data, parity.Tol); err != nil {
					t.Errorf("%s %v: %v", name, shapes[i], err)
				}
				t.Logf("%s %v: max|Δ|/max|ref| = %.2e", name, shapes[i], parity.MaxRelErr(got[i], w.Data))
			}
			// Embed (the captioner's path) gives the same tokens per image.
			emb := v.Embed([][]float32{px.Data[:3*s*s], px.Data[3*s*s:]})
			all := append(append([]float32{}, emb[0]...), emb[1]...)
			if err := parity.Compare(all, want["projected"].Data, parity.Tol); err != nil {
				t.Errorf("Embed: %v", err)
			}
		})
	}
}

// TestVisionSynth: synthesized tiny mmproj files validate, open and encode
// to the declared width; the same seed gives the same bytes.
func TestVisionSynth(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	for _, p := range []string{a, b} {
		if err := bindings.Synth(VisionArch, "tiny", 7, fsggml.TensorTypeF32, p); err != nil {
			t.Fatal(err)
		}
	}
	if !sameFile(t, a, b) {
		t.Fatal("same seed, different bytes")
	}
	v, err := OpenVision(a, bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	e := v.Embed([][]float32{v.Model.Preprocess(img)})
	if len(e[0]) != 64*v.Model.Patches() {
		t.Fatalf("got %d values, want %d", len(e[0]), 64*v.Model.Patches())
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(x) == string(y)
}

// TestVisionPreprocess: expand-to-square pads with LLaVA's mean colour and
// normalizes per channel.
func TestVisionPreprocess(t *testing.T) {
	o := &VisionOptions{ImageSize: 4}
	copy(o.Mean[:], VisionCLIPMean)
	copy(o.Std[:], VisionCLIPStd)
	if got := o.VisionPadColor(); got != [3]uint8{122, 116, 104} {
		t.Fatalf("pad colour %v, want LLaVA's (122, 116, 104)", got)
	}
	// A 4×2 white image: rows 0 and 3 are padding, rows 1–2 white.
	img := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	px := o.Preprocess(img)
	for c := range 3 {
		for y := range 4 {
			v := px[c*16+y*4+1]
			want := (1 - o.Mean[c]) / o.Std[c]
			if y == 0 || y == 3 {
				want = (float32(o.VisionPadColor()[c])/255 - o.Mean[c]) / o.Std[c]
			}
			if d := v - want; d > 1e-6 || d < -1e-6 {
				t.Errorf("channel %d row %d: %v, want %v", c, y, v, want)
			}
		}
	}
	// A uniform image stays uniform through the resize.
	g := image.NewUniform(color.NRGBA{10, 200, 30, 255})
	px = o.Preprocess(&subImage{g, image.Rect(0, 0, 9, 9)})
	for i := range 16 {
		if want := (200./255 - o.Mean[1]) / o.Std[1]; px[16+i]-want > 1e-6 || want-px[16+i] > 1e-6 {
			t.Fatalf("green at %d: %v, want %v", i, px[16+i], want)
		}
	}
}

type subImage struct {
	image.Image
	r image.Rectangle
}

func (s *subImage) Bounds() image.Rectangle { return s.r }

// TestVisionBadInput: an mmproj with an unknown projector type, a
// converter input of the wrong kind.
func TestVisionBadInput(t *testing.T) {
	dir := t.TempDir()
	kv, _ := VisionConfig("tiny")
	kv["projector_type"] = "ldp"
	kv["general.architecture"] = VisionArch
	for k, v := range kv {
		if !strings.HasPrefix(k, "general.") && !strings.HasPrefix(k, VisionArch+".") {
			kv[VisionArch+"."+k] = v
			delete(kv, k)
		}
	}
	p := filepath.Join(dir, "ldp.gguf")
	if err := bindings.WriteFile(p, kv, nil); err != nil {
		t.Fatal(err)
	}
	_, err := OpenVision(p, bindings.Options{Device: "cpu"})
	if !badinput.Is(err) || !strings.Contains(err.Error(), `"ldp"`) || !strings.Contains(err.Error(), "mlp") {
		t.Errorf("unknown projector: got %v", err)
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"testdata/clip_llava"}, "two folders"},
		{[]string{"testdata/clip_tower", "testdata/siglip_tower"}, "one LLaVA folder"},
		{[]string{"testdata/clip_llava", "testdata/clip_expect.pt"}, "not a folder"},
		{[]string{"testdata/clip_llava", "testdata/missing"}, "missing"},
	} {
		err := bindings.ConvertFiles(VisionArch, tc.in, fsggml.TensorTypeF32, filepath.Join(dir, "x.gguf"))
		if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want a bad-input error about %q", tc.in, err, tc.want)
		}
	}
}

// TestVisionStorageTypes: f16 and q8_0 mmproj files (position table,
// linear weights, f16 patch kernel) encode like the f32 file with the same
// weights, within 1e-2 and 5e-2 of max|ref|.
func TestVisionStorageTypes(t *testing.T) {
	dir := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 30, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 5)
	}
	var ref []float32
	for _, tc := range []struct {
		typ fsggml.TensorType
		tol float64
	}{{fsggml.TensorTypeF32, 0}, {fsggml.TensorTypeF16, 1e-2}, {fsggml.TensorTypeQ8_0, 5e-2}} {
		p := filepath.Join(dir, tc.typ.String()+".gguf")
		if err := bindings.Synth(VisionArch, "tiny", 3, tc.typ, p); err != nil {
			t.Fatal(err)
		}
		v, err := OpenVision(p, bindings.Options{Device: "cpu"})
		if err != nil {
			t.Fatal(err)
		}
		got := v.Embed([][]float32{v.Model.Preprocess(img)})[0]
		v.Close()
		if ref == nil {
			ref = got
			continue
		}
		t.Logf("%s: max|Δ|/max|ref| = %.2e", tc.typ, parity.MaxRelErr(got, ref))
		if err := parity.Compare(got, ref, tc.tol); err != nil {
			t.Errorf("%s: %v", tc.typ, err)
		}
	}
}

// TestVisionEncoderParity: a CLIP ViT-H/14-style image encoder (exact GELU,
// CLIPVisionModelWithProjection, testdata/make_vision_fixture.py's cliph)
// converted alone: image_embeds (pooled, post-LN, visual projection) and
// hidden_states[-2] within parity.Tol·max|ref|.
func TestVisionEncoderParity(t *testing.T) {
	v := openConvertedVision(t, "testdata/cliph_tower")
	if v.Model.Act != VisionGELUErf || v.Model.EmbeddingLength() != 0 {
		t.Fatalf("act %q, projector width %d", v.Model.Act, v.Model.EmbeddingLength())
	}
	want, err := checkpoint.Load("testdata/cliph_expect.pt")
	if err != nil {
		t.Fatal(err)
	}
	px := want["pixels"]
	s := px.Shape[3]
	got, shapes := bindings.MustCompute(v.Model.Backend(), func(ctx ml.Context) []ml.Tensor {
		x := ctx.Input().FromFloats(px.Data, s, s, 3, px.Shape[0])
		return []ml.Tensor{v.Model.Pooled(ctx, x), v.Model.HiddenStates(ctx, x, v.Model.Layers-1)}
	})
	for i, name := range []string{"image_embeds", "penultimate"} {
		if err := parity.Compare(got[i], want[name].Data, parity.Tol); err != nil {
			t.Errorf("%s %v: %v", name, shapes[i], err)
		}
		t.Logf("%s %v: max|Δ|/max|ref| = %.2e", name, shapes[i], parity.MaxRelErr(got[i], want[name].Data))
	}
}
