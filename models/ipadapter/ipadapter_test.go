package ipadapter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/sd"
)

var sdInputs = []string{"../sd/testdata/sd_tiny.safetensors", "../sd/testdata/vocab.json", "../sd/testdata/merges.txt"}

// openSD converts and opens the sd fixture whose UNet the reference uses.
func openSD(t testing.TB) *sd.Model {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sd.gguf")
	if err := bindings.ConvertFiles(sd.Arch, sdInputs, fsggml.TensorTypeF32, out); err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(out, bindings.Options{Arch: sd.Arch, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l.Model.(*sd.Model)
}

// openAdapter converts an adapter checkpoint with the real converter and
// opens it.
func openAdapter(t testing.TB, input string) *Adapter {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ip.gguf")
	if err := bindings.ConvertFiles(Arch, []string{input}, fsggml.TensorTypeF32, out); err != nil {
		t.Fatal(err)
	}
	a, err := Open(out, bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestParity: the image projection (image and zero embedding), one
// transformer block with its IP layer, and a reduced UNet step with the
// adapter at λ = 0.6 and λ = 0 match the PyTorch reference
// (testdata/make_fixture.py), for the .safetensors and the .bin release
// layouts.
func TestParity(t *testing.T) {
	m := openSD(t)
	want, err := checkpoint.Load("testdata/ip_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	scale := float64(want["scale"].Data[0])
	for _, input := range []string{"testdata/ip_tiny.safetensors", "testdata/ip_tiny.bin"} {
		t.Run(filepath.Ext(input), func(t *testing.T) {
			a := openAdapter(t, input)
			if err := a.CheckUNet(m.UNet.UNetOptions); err != nil {
				t.Fatal(err)
			}
			emb := want["embed"].Data
			tokens := a.Tokens([][]float32{make([]float32, len(emb)), emb})
			gotTok := append(append([]float32{}, tokens[0]...), tokens[1]...)
			ip, err := a.Prompt(emb, scale)
			if err != nil {
				t.Fatal(err)
			}
			text, x, bx := want["text"], want["unet_x"], want["block_x"]
			d := text.Shape[2]
			got, _ := bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
				cT := ctx.Input().FromFloats(text.Data, d, 77, 2)
				xT := ctx.Input().FromFloats(x.Data, x.Shape[3], x.Shape[2], x.Shape[1], x.Shape[0])
				bT := ctx.Input().FromFloats(bx.Data, bx.Shape[2], bx.Shape[1], bx.Shape[0])
				cond := ipCondForTest(ctx, ip)
				blk := m.UNet.Input[1].Layers[1].SpatialTransformer.Blocks[0]
				ts := toF64(want["unet_t"].Data)
				return []ml.Tensor{
					blk.ForwardIP(ctx, bT, cT, m.UNet.Heads, cond.Layers[0], cond),
					m.UNet.ForwardIP(ctx, xT, ts, cT, cond),
					m.UNet.ForwardIP(ctx, xT, ts, cT, &sd.IPCond{Scale: 0, Layers: cond.Layers}),
				}
			})
			cases := []struct {
				name string
				got  []float32
			}{{"tokens", gotTok}, {"block_out", got[0]}, {"unet_ip", got[1]}, {"unet_ip0", got[2]}}
			for _, c := range cases {
				if err := parity.Compare(c.got, want[c.name].Data, parity.Tol); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
				t.Logf("%s: max|Δ|/max|ref| = %.2e", c.name, parity.MaxRelErr(c.got, want[c.name].Data))
			}
		})
	}
}

// ipCondForTest puts an IPInput's keys and values (uncond, cond) in a graph
// as the batch of 2 the reference runs.
func ipCondForTest(ctx ml.Context, ip *sd.IPInput) *sd.IPCond {
	c := &sd.IPCond{Scale: ip.Scale}
	for i := range ip.Cond {
		w := len(ip.Cond[i].Key) / ip.Tokens
		k := append(append([]float32{}, ip.Uncond[i].Key...), ip.Cond[i].Key...)
		v := append(append([]float32{}, ip.Uncond[i].Value...), ip.Cond[i].Value...)
		c.Layers = append(c.Layers, &sd.IPAttn{
			Key:   ctx.Input().FromFloats(k, w, ip.Tokens, 2),
			Value: ctx.Input().FromFloats(v, w, ip.Tokens, 2),
		})
	}
	return c
}

// synth writes a seeded tiny file of an architecture.
func synth(t *testing.T, arch string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), arch+".gguf")
	if err := bindings.Synth(arch, "tiny", 1, fsggml.TensorTypeF32, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range img.(*image.NRGBA).Pix {
		b.WriteByte(p)
	}
	return b.Bytes()
}

// TestGenerate: end to end on tiny synthesized files — λ = 0 gives the same
// bytes as no adapter, λ > 0 changes the image, chunked conditioning with one
// caption equals the plain prompt, and two chunks run (and differ from one).
func TestGenerate(t *testing.T) {
	g, err := sd.OpenGenerator(synth(t, sd.Arch), bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	a, err := Open(synth(t, Arch), bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.CheckUNet(g.UNet.UNetOptions); err != nil {
		t.Fatal(err)
	}
	emb := make([]float32, a.Model.ImageDim)
	for i := range emb {
		emb[i] = float32(i%5) - 2
	}
	prompt := func(scale float64) *sd.IPInput {
		ip, err := a.Prompt(emb, scale)
		if err != nil {
			t.Fatal(err)
		}
		return ip
	}
	base := sd.Request{Prompt: "a red cat", Steps: 2, CFG: 5, Seed: 7, Width: 16, Height: 16}
	run := func(mod func(*sd.Request)) []byte {
		r := base
		mod(&r)
		res, err := g.Generate(r)
		if err != nil {
			t.Fatal(err)
		}
		return pngBytes(t, res.Image)
	}
	plain := run(func(*sd.Request) {})
	cases := []struct {
		name string
		mod  func(*sd.Request)
		same bool
	}{
		{"ip scale 0", func(r *sd.Request) { r.IP = prompt(0) }, true},
		{"ip scale 0.6", func(r *sd.Request) { r.IP = prompt(0.6) }, false},
		{"chunks, one caption", func(r *sd.Request) { r.Prompts, r.TextMode = []string{"a red cat"}, sd.TextChunks }, true},
		{"join, one caption", func(r *sd.Request) { r.Prompts, r.TextMode = []string{"a red cat"}, sd.TextJoin }, true},
		{"chunks, two captions", func(r *sd.Request) { r.Prompts, r.TextMode = []string{"a red cat", "the dog"}, sd.TextChunks }, false},
		{"chunks, two captions, ip 0.6", func(r *sd.Request) {
			r.Prompts, r.TextMode, r.IP = []string{"a red cat", "the dog"}, sd.TextChunks, prompt(0.6)
		}, false},
		{"no cfg, ip 0.6", func(r *sd.Request) { r.CFG, r.IP = 1, prompt(0.6) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bytes.Equal(run(c.mod), plain); got != c.same {
				t.Fatalf("identical to the plain prompt: %v, want %v", got, c.same)
			}
		})
	}
}

// TestPreprocess: CLIP's preprocessing resizes the shortest side and crops
// the centre: a wide image whose centre square is uniformly one colour
// gives that colour everywhere, normalised by CLIP's mean and std.
func TestPreprocess(t *testing.T) {
	o := &clip.VisionOptions{ImageSize: 8}
	copy(o.Mean[:], clip.VisionCLIPMean)
	copy(o.Std[:], clip.VisionCLIPStd)
	img := image.NewNRGBA(image.Rect(0, 0, 64, 16))
	for y := range 16 {
		for x := range 64 {
			c := color.NRGBA{200, 100, 50, 255}
			if x < 8 || x >= 56 { // cropped away
				c = color.NRGBA{0, 255, 0, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	px := Preprocess(img, o)
	if len(px) != 3*8*8 {
		t.Fatalf("%d values, want %d", len(px), 3*8*8)
	}
	for ch, v := range []float32{200, 100, 50} {
		want := (v/255 - o.Mean[ch]) / o.Std[ch]
		for i := range 64 {
			if d := px[ch*64+i] - want; d > 1e-5 || d < -1e-5 {
				t.Fatalf("channel %d pixel %d: %v, want %v", ch, i, px[ch*64+i], want)
			}
		}
	}
}

// TestEncoder: the CLIP ViT-H-style test tower of models/clip (converted
// from its folder) fits the tiny adapter; its embedding feeds Prompt.
func TestEncoder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "enc.gguf")
	if err := bindings.ConvertFiles(clip.VisionArch, []string{"../clip/testdata/cliph_tower"}, fsggml.TensorTypeF32, out); err != nil {
		t.Fatal(err)
	}
	e, err := clip.OpenVision(out, bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	a := openAdapter(t, "testdata/ip_tiny.safetensors")
	if err := a.CheckEncoder(e); err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	emb := EncodeImage(e, img)
	if len(emb) != a.Model.ImageDim {
		t.Fatalf("embedding of %d values, want %d", len(emb), a.Model.ImageDim)
	}
	if _, err := a.Prompt(emb, 0.5); err != nil {
		t.Fatal(err)
	}
	a.Model.ImageDim = 16 // an adapter for a narrower encoder
	err = a.CheckEncoder(e)
	if !badinput.Is(err) || !strings.Contains(err.Error(), "width 24") {
		t.Fatalf("wrong-width encoder: %v", err)
	}
}

// TestBadInput: every refused input gives a bad-input error that names the
// problem.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, tensors map[string][]int) string {
		p := filepath.Join(dir, name)
		writeSafetensors(t, p, tensors)
		return p
	}
	plus := write("plus.safetensors", map[string][]int{"image_proj.latents": {1, 16, 768}, "image_proj.proj_in.weight": {768, 1280}})
	noIP := write("noip.safetensors", map[string][]int{"image_proj.proj.weight": {96, 24}, "image_proj.proj.bias": {96},
		"image_proj.norm.weight": {24}, "image_proj.norm.bias": {24}})
	garbage := filepath.Join(dir, "garbage.safetensors")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	for _, c := range []struct{ name, input, want string }{
		{"ip-adapter-plus", plus, "ip-adapter-plus"},
		{"no ip layers", noIP, "no ip_adapter"},
		{"garbage", garbage, "garbage.safetensors"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".gguf")
			err := bindings.ConvertFiles(Arch, []string{c.input}, fsggml.TensorTypeF32, out)
			if !badinput.Is(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a bad-input error containing %q", err, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output file left behind: %v", err)
			}
		})
	}
	a := openAdapter(t, "testdata/ip_tiny.safetensors")
	wide := sd.TinyOptions.UNet
	wide.ModelChannels = 16
	if err := a.CheckUNet(wide); !badinput.Is(err) || !strings.Contains(err.Error(), "[8 16 16 16 8 8 16]") ||
		!strings.Contains(err.Error(), "[16 32 32 32 16 16 32]") {
		t.Fatalf("width mismatch: %v", err)
	}
	if _, err := a.Prompt(make([]float32, a.Model.ImageDim), -0.5); !badinput.Is(err) || !strings.Contains(err.Error(), "--ip-scale") {
		t.Fatalf("negative scale: %v", err)
	}
	if _, err := a.Prompt(make([]float32, 7), 0.5); !badinput.Is(err) {
		t.Fatalf("wrong embedding width: %v", err)
	}
}

// writeSafetensors writes zero-filled F32 tensors of the given shapes.
func writeSafetensors(t *testing.T, path string, tensors map[string][]int) {
	t.Helper()
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	header := map[string]any{}
	off := 0
	for _, name := range names {
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
