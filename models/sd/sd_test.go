package sd

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

var fixtureInputs = []string{"testdata/sd_tiny.safetensors", "testdata/vocab.json", "testdata/merges.txt"}

// openFixture converts the PyTorch fixture (testdata/make_fixture.py) with
// the real converter to typ and opens it on the CPU.
func openFixture(t testing.TB, typ fsggml.TensorType) *Model {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sd.gguf")
	if err := bindings.ConvertFiles(Arch, fixtureInputs, typ, out); err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(out, bindings.Options{Arch: Arch, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l.Model.(*Model)
}

func loadExpect(t testing.TB) checkpoint.StateDict {
	t.Helper()
	want, err := checkpoint.Load("testdata/sd_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func toInt32(v []float32) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestParity: text encoder (last and penultimate layer), UNet, VAE encoder
// (posterior mean and log-variance) and decoder of the converted fixture
// match the PyTorch reference within parity.Tol·max|ref|.
func TestParity(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	want := loadExpect(t)
	ids, x, img := want["ids"], want["unet_x"], want["vae_img"]
	text := want["text"]
	got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
		idT := ctx.Input().FromInts(toInt32(ids.Data), 77, 2)
		ctxT := ctx.Input().FromFloats(text.Data, text.Shape[2], 77, 2)
		xT := ctx.Input().FromFloats(x.Data, x.Shape[3], x.Shape[2], x.Shape[1], x.Shape[0])
		imgT := ctx.Input().FromFloats(img.Data, img.Shape[3], img.Shape[2], img.Shape[1], img.Shape[0])
		zT := ctx.Input().FromFloats(x.Data[:x.Numel()/2], x.Shape[3], x.Shape[2], x.Shape[1], 1)
		mean, logvar := m.VAE.Encode(ctx, imgT)
		return []ml.Tensor{
			m.Text.Forward(ctx, idT, 1),
			m.Text.Forward(ctx, idT, 2),
			m.UNet.Forward(ctx, xT, toF64(want["unet_t"].Data), ctxT),
			mean, logvar,
			m.VAE.Decode(ctx, zT),
		}
	})
	for i, name := range []string{"text", "text_skip2", "unet_out", "vae_mean", "vae_logvar", "vae_dec"} {
		t.Run(name, func(t *testing.T) {
			if err := parity.Compare(got[i], want[name].Data, parity.Tol); err != nil {
				t.Fatal(err)
			}
			t.Logf("max|Δ|/max|ref| = %.2e", parity.MaxRelErr(got[i], want[name].Data))
		})
	}
}

// TestEulerRun: a whole 3-step Euler run with classifier-free guidance
// (batch of 2, cfg 7.5) of the converted fixture UNet from the fixture's
// noise matches the reference loop (make_fixture.py, float64 sampler, f32
// UNet); the plan's σ and timesteps match the reference's numpy values.
func TestEulerRun(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	want := loadExpect(t)
	p, err := NewPlan("euler", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := parity.Compare(toF32(p.Sigmas), want["euler_sigmas"].Data, 1e-7); err != nil {
		t.Errorf("sigmas %v: %v", p.Sigmas, err)
	}
	if err := parity.Compare(toF32(p.Timesteps), want["euler_timesteps"].Data, 0); err != nil {
		t.Errorf("timesteps %v: %v", p.Timesteps, err)
	}
	noise := want["euler_noise"]
	x := toF64(noise.Data)
	for i := range x {
		x[i] *= p.InitScale
	}
	w, h := noise.Shape[3], noise.Shape[2]
	got := m.Sample(p, x, w, h, want["text"].Data, 2, 7.5, Noise{}, func(i int, d time.Duration) { t.Logf("step %d: %v", i, d) })
	if err := parity.Compare(toF32(got), want["euler_out"].Data, parity.Tol); err != nil {
		t.Fatal(err)
	}
	t.Logf("max|Δ|/max|ref| = %.2e", parity.MaxRelErr(toF32(got), want["euler_out"].Data))
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestPlacement: every tensor of the tiny and the full model is in a loader
// layer (none in the CPU-only input slot), so on cuda:N bindings.Open puts
// every weight of the text encoder, UNet and VAE on the GPU; each network
// is one layer (0 text, 1 UNet, 2 VAE).
func TestPlacement(t *testing.T) {
	for _, o := range []Options{TinyOptions, FullOptions} {
		specs, err := tensorsFor(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			slot, layer := bindings.LoaderSlot(s.Name)
			want := map[string]int{"0.te.": 0, "1.unet.": 1, "2.vae.": 2}[s.Name[:strings.IndexByte(s.Name[2:], '.')+3]]
			if slot != "layer" || layer != want {
				t.Fatalf("%s: loader slot %s %d, want layer %d", s.Name, slot, layer, want)
			}
			if len(s.Name) >= 64 {
				t.Fatalf("%s: %d bytes, ggml keeps 63", s.Name, len(s.Name))
			}
		}
	}
}

// TestNames: the rename is mechanical and reversible.
func TestNames(t *testing.T) {
	for _, tc := range []struct{ key, name string }{
		{"model.diffusion_model.output_blocks.11.1.transformer_blocks.0.attn2.to_out.0.weight", "1.unet.output_blocks.11.1.tb.0.attn2.to_out.0.weight"},
		{"cond_stage_model.transformer.text_model.final_layer_norm.bias", "0.te.final_layer_norm.bias"},
		{"first_stage_model.decoder.conv_in.weight", "2.vae.decoder.conv_in.weight"},
	} {
		got, ok := GGUFName(tc.key)
		if !ok || got != tc.name || CheckpointName(got) != tc.key {
			t.Errorf("%s -> %s (%v) -> %s", tc.key, got, ok, CheckpointName(got))
		}
	}
	if _, ok := GGUFName("model_ema.decay"); ok {
		t.Error("model_ema.decay mapped")
	}
}

// writeSafetensors writes f32 tensors (for bad-input checkpoints).
func writeSafetensors(t *testing.T, path string, tensors map[string][]int) {
	t.Helper()
	header := map[string]any{}
	off := 0
	for _, name := range sortedKeys(tensors) {
		n := 4
		for _, d := range tensors[name] {
			n *= d
		}
		header[name] = map[string]any{"dtype": "F32", "shape": tensors[name], "data_offsets": []int{off, off + n}}
		off += n
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(append(buf, h...), make([]byte, off)...)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConvertBadInput: wrong inputs name the problem and the file.
func TestConvertBadInput(t *testing.T) {
	dir := t.TempDir()
	sdxl := filepath.Join(dir, "sdxl.safetensors")
	writeSafetensors(t, sdxl, map[string][]int{"conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": {4}})
	sd2 := filepath.Join(dir, "sd2.safetensors")
	writeSafetensors(t, sd2, map[string][]int{"cond_stage_model.model.ln_final.weight": {4}})
	ctx1024 := filepath.Join(dir, "ctx.safetensors")
	writeSafetensors(t, ctx1024, map[string][]int{"model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight": {8, 1024}})
	vaeOnly := filepath.Join(dir, "vae.safetensors")
	writeSafetensors(t, vaeOnly, map[string][]int{"first_stage_model.decoder.conv_in.weight": {8, 4, 3, 3}})
	shortVocab := filepath.Join(dir, "vocab.json")
	os.WriteFile(shortVocab, []byte(`{"a": 0, "b": 1}`), 0o644)
	out := filepath.Join(dir, "out.gguf")
	for _, tc := range []struct {
		inputs []string
		want   []string
	}{
		{fixtureInputs[:1], []string{"vocab.json and merges.txt"}},
		{[]string{sdxl, fixtureInputs[1], fixtureInputs[2]}, []string{sdxl, "SDXL"}},
		{[]string{sd2, fixtureInputs[1], fixtureInputs[2]}, []string{sd2, "SD 2.x"}},
		{[]string{ctx1024, fixtureInputs[1], fixtureInputs[2]}, []string{ctx1024, "1024"}},
		{[]string{vaeOnly, fixtureInputs[1], fixtureInputs[2]}, []string{vaeOnly, "cond_stage_model"}},
		{[]string{fixtureInputs[0], shortVocab, fixtureInputs[2]}, []string{shortVocab, "2 tokens"}},
		{[]string{fixtureInputs[0], fixtureInputs[0], fixtureInputs[1], fixtureInputs[2]}, []string{"two checkpoint files"}},
	} {
		err := bindings.ConvertFiles(Arch, tc.inputs, fsggml.TensorTypeF16, out)
		if !badinput.Is(err) {
			t.Fatalf("%v: got %v, want a bad-input error", tc.inputs, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v does not mention %q", tc.inputs, err, w)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v left %s behind", tc.inputs, out)
		}
	}
}

// TestQuantized: f16 and q8_0 files (linears quantized, conv kernels f16,
// norms and biases f32) run every network and stay within 1e-2·max|ref|
// of the f32 reference.
func TestQuantized(t *testing.T) {
	want := loadExpect(t)
	ids, x, text := want["ids"], want["unet_x"], want["text"]
	for _, typ := range []fsggml.TensorType{fsggml.TensorTypeF16, fsggml.TensorTypeQ8_0} {
		m := openFixture(t, typ)
		got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
			idT := ctx.Input().FromInts(toInt32(ids.Data), 77, 2)
			ctxT := ctx.Input().FromFloats(text.Data, text.Shape[2], 77, 2)
			xT := ctx.Input().FromFloats(x.Data, x.Shape[3], x.Shape[2], x.Shape[1], x.Shape[0])
			zT := ctx.Input().FromFloats(x.Data[:x.Numel()/2], x.Shape[3], x.Shape[2], x.Shape[1], 1)
			return []ml.Tensor{m.Text.Forward(ctx, idT, 1), m.UNet.Forward(ctx, xT, toF64(want["unet_t"].Data), ctxT), m.VAE.Decode(ctx, zT)}
		})
		for i, name := range []string{"text", "unet_out", "vae_dec"} {
			if err := parity.Compare(got[i], want[name].Data, 1e-2); err != nil {
				t.Fatalf("%s %s: %v", typ, name, err)
			}
			t.Logf("%s %s max|Δ|/max|ref| = %.2e", typ, name, parity.MaxRelErr(got[i], want[name].Data))
		}
	}
}

// TestTiledDecode: one tile equals untiled decoding; with several tiles the
// result stays within 10% of max|ref| everywhere, and the seams are no worse
// than the tile interiors (within 1.5×). Tiles cannot match exactly: the
// decoder's GroupNorm statistics and its mid-block attention are global.
// Measured on the tiny random model: 5.3% of max|ref| away from the seams,
// 5.9% across them.
func TestTiledDecode(t *testing.T) {
	l, err := bindings.Open(synthTiny(t), bindings.Options{Arch: Arch, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	w, h := 24, 16
	lat := toF32(Noise{Seed: 9}.Stream(0, w*h*4))
	full, W, H := m.decodeRaw(lat, w, h)
	one, _, _ := m.DecodeTiled(lat, w, h, 32, 8)
	if err := parity.Compare(one, full, 1e-6); err != nil {
		t.Fatalf("single tile: %v", err)
	}
	tiled, _, _ := m.DecodeTiled(lat, w, h, 16, 8)
	var maxRef, far, near float64
	for c := range 3 {
		for y := range H {
			for x := range W {
				i := (c*H+y)*W + x
				d := math.Abs(float64(tiled[i] - full[i]))
				maxRef = math.Max(maxRef, math.Abs(float64(full[i])))
				// tiles start at latent x 0 and 8: their overlap is pixels 64..127
				if x < 48 || x >= 144 {
					far = math.Max(far, d)
				} else {
					near = math.Max(near, d)
				}
			}
		}
	}
	t.Logf("max|Δ| away from seams %.3g, across seams %.3g, max|ref| %.3g", far, near, maxRef)
	if far > 0.1*maxRef || near > 0.1*maxRef || near > 1.5*far {
		t.Fatalf("tiled decode differs: %.3g away from seams, %.3g across, max|ref| %.3g", far, near, maxRef)
	}
}

// synthTiny writes the seeded tiny model (the `synth --size tiny` file).
func synthTiny(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := bindings.Synth(Arch, "tiny", 1, fsggml.TensorTypeF32, path); err != nil {
		t.Fatal(err)
	}
	return path
}
