package pipeline

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/ipadapter"
	"github.com/multisc/multisc/pipeline/models"
)

// tinyOptions are small settings for the tiny models: 2 steps at 32².
func tinyOptions() SystemOptions {
	o := DefaultSystemOptions()
	o.Model = bindings.Options{Device: "cpu", Threads: 1}
	o.Steps, o.Width, o.Height = 2, 32, 32
	o.CaptionMaxTokens = 6
	o.RandomBlocks, o.MinBlock = 3, 8
	o.Beams = 1
	return o
}

func openTiny(t *testing.T, mod func(*SystemOptions)) *System {
	t.Helper()
	o := tinyOptions()
	if mod != nil {
		mod(&o)
	}
	s, err := OpenSystem(tinySet(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pngBytes(t *testing.T, r *Reception) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, r.Image); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func request(method string) TransmitRequest {
	return TransmitRequest{ImageID: "pic", Path: "pic.png", Image: testImage(), Method: method,
		Seed: TransmitSeed(7, "", "pic", method), RefCaptions: []string{"a red ball on a gradient"}}
}

// TestRunEveryMethod: every method transmits and gives a complete record:
// one caption per block (several blocks for multisc-random), the slice
// sent by all but vlm-csc, bits counted, metrics present, stage seconds,
// model hashes of the roles used; the JSON record round-trips.
func TestRunEveryMethod(t *testing.T) {
	s := openTiny(t, nil)
	for _, m := range Methods {
		t.Run(m, func(t *testing.T) {
			tx, err := s.Transmit(request(m))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := s.Row(tx, "awgn", 5, RowSeed(7, Key{"", "pic", m, "awgn", 5}))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Method != m || rec.Blocks != len(rec.Captions) || rec.Blocks < 1 || rec.Width != 64 || rec.Height != 48 {
				t.Fatalf("record %+v", rec)
			}
			if m == MethodRandom && rec.Blocks != 3 {
				t.Errorf("multisc-random: %d blocks, want 3", rec.Blocks)
			}
			if (m == MethodSingleText || m == MethodVLMCSC) && rec.Blocks != 1 {
				t.Errorf("%s: %d blocks, want 1", m, rec.Blocks)
			}
			var textBits int64
			for _, c := range rec.Captions {
				textBits += 8 * int64(len(c.Sent))
			}
			if rec.BitsText != textBits {
				t.Errorf("bits_text %d, captions hold %d", rec.BitsText, textBits)
			}
			if m == MethodVLMCSC {
				if rec.SliceSent || rec.BitsSlice != 0 || tx.Payload.SliceMode != SliceNone {
					t.Errorf("vlm-csc sent a slice: %+v", rec)
				}
			} else if tx.SliceInfo.Found != rec.SliceSent || (rec.SliceSent && rec.BitsSlice != int64(8*3*tx.SliceInfo.Box.Dx()*tx.SliceInfo.Box.Dy())) {
				t.Errorf("slice found %v box %v, record sent %v bits %d", tx.SliceInfo.Found, tx.SliceInfo.Box, rec.SliceSent, rec.BitsSlice)
			}
			mt := rec.Metrics
			if mt.Cosine == nil || mt.LPIPS == nil || mt.PSNR == nil || mt.SSIM == nil || mt.BLEUReceived == nil || mt.BLEUCorrected == nil || mt.BLEUSentRef == nil {
				t.Errorf("metrics missing: %+v", mt)
			}
			if !strings.HasPrefix(mt.Embedder, "clip-image-embeds:embedder.gguf@") {
				t.Errorf("embedder %q", mt.Embedder)
			}
			for _, k := range []string{"caption", "link", "correct", "generate", "metrics", "total"} {
				if _, ok := rec.Seconds[k]; !ok {
					t.Errorf("no %s seconds: %v", k, rec.Seconds)
				}
			}
			if m != MethodVLMCSC {
				if _, ok := rec.Seconds["segment"]; !ok {
					t.Errorf("no segment seconds")
				}
			}
			for _, r := range MethodRoles(m) {
				if len(rec.Models[string(r)]) < 64 {
					t.Errorf("no sha256 for role %s: %v", r, rec.Models)
				}
			}
			if rec.PeakRSS <= 0 {
				t.Errorf("peak RSS %d", rec.PeakRSS)
			}
			b, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			var back Record
			if err := json.Unmarshal(b, &back); err != nil || back.Key() != rec.Key() {
				t.Fatalf("JSON round trip: %v %+v", err, back.Key())
			}
		})
	}
	// every model opened once for all four methods: segmenter, detector,
	// captioner, corrector, generator, image encoder, IP-Adapter, LPIPS,
	// embedder
	if n := len(s.closers); n != 9 {
		t.Errorf("%d models opened, want 9 (each once)", n)
	}
}

// TestDeterministic: the same seeds give the same payload bytes, captions
// and reconstruction bytes; another row seed another reconstruction; a
// payload decoded from its file gives the same reception as the
// transmission it came from (transmit → receive equals run).
func TestDeterministic(t *testing.T) {
	s := openTiny(t, nil)
	for _, m := range []string{MethodFusion, MethodRandom} {
		tx1, err := s.Transmit(request(m))
		if err != nil {
			t.Fatal(err)
		}
		tx2, err := s.Transmit(request(m))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tx1.Payload.Encode(), tx2.Payload.Encode()) {
			t.Fatalf("%s: same image, different payloads", m)
		}
		r1, err := s.Receive(tx1, "rayleigh", 3, 11)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.Receive(tx2, "rayleigh", 3, 11)
		if err != nil {
			t.Fatal(err)
		}
		r3, err := s.Receive(tx1, "rayleigh", 3, 12)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pngBytes(t, r1), pngBytes(t, r2)) || !slices.Equal(r1.Captions, r2.Captions) {
			t.Fatalf("%s: same seed, different reception", m)
		}
		if bytes.Equal(pngBytes(t, r1), pngBytes(t, r3)) {
			t.Errorf("%s: different row seeds, same reconstruction", m)
		}
		p, err := DecodePayload("x.payload", tx1.Payload.Encode())
		if err != nil {
			t.Fatal(err)
		}
		txf, err := TransmissionFromPayload("x.payload", p)
		if err != nil {
			t.Fatal(err)
		}
		rf, err := s.Receive(txf, "rayleigh", 3, 11)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pngBytes(t, r1), pngBytes(t, rf)) || !slices.Equal(r1.Captions, rf.Captions) {
			t.Fatalf("%s: reception from the payload file differs from the in-process one", m)
		}
	}
}

// TestCaptionsOnOwnChannels: each caption draws its own noise: two equal
// captions sent in one payload get different bit errors at low SNR.
func TestCaptionsOnOwnChannels(t *testing.T) {
	s := openTiny(t, nil)
	long := strings.Repeat("a small red ball on a blue gradient background ", 4)
	tx := &Transmission{Request: TransmitRequest{ImageID: "x"}, Payload: Payload{Method: MethodRandom, Width: 8, Height: 8,
		Blocks: nil, Captions: []string{long, long}}}
	res, err := s.SendPayload(tx, "awgn", 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Captions[0].BitErrors == 0 || res.Captions[0].Text == res.Captions[1].Text {
		t.Fatalf("captions 0 and 1: %d / %d bit errors, same text %v", res.Captions[0].BitErrors, res.Captions[1].BitErrors, res.Captions[0].Text == res.Captions[1].Text)
	}
	clean, err := s.SendPayload(tx, "awgn", 40, 5)
	if err != nil {
		t.Fatal(err)
	}
	if clean.Captions[0].Text != long || clean.Captions[1].BitErrors != 0 {
		t.Fatal("40 dB: captions not received intact")
	}
}

// TestDigitalSlice: the digital slice (JPEG + CRC over LDPC) arrives
// intact at high SNR, is lost (recorded, not a crash) at very low SNR, and
// then the reconstruction is text-only.
func TestDigitalSlice(t *testing.T) {
	s := openTiny(t, func(o *SystemOptions) { o.SliceMode = SliceDigital; o.SliceCode = "ldpc-648-1/2" })
	tx := &Transmission{Request: TransmitRequest{ImageID: "x", Image: testImage()}}
	img := testImage()
	tx.Slice = Crop(img, image.Rect(10, 10, 42, 40))
	var buf bytes.Buffer
	if err := jpegEncode(&buf, tx.Slice, 75); err != nil {
		t.Fatal(err)
	}
	tx.Payload = Payload{Method: MethodSingleText, Width: 64, Height: 48, Blocks: []image.Rectangle{image.Rect(0, 0, 64, 48)},
		Captions: []string{"a ball"}, SliceMode: SliceJPEG, SliceRect: image.Rect(10, 10, 42, 40), Slice: buf.Bytes()}
	good, err := s.SendPayload(tx, "awgn", 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if good.SliceLost || good.Slice == nil || good.Slice.Bounds().Dx() != 32 {
		t.Fatalf("20 dB: slice lost %v", good.SliceLost)
	}
	rec, err := s.Row(tx, "rayleigh", -10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.SliceSent || !rec.SliceLost {
		t.Fatalf("-10 dB Rayleigh: slice sent %v lost %v", rec.SliceSent, rec.SliceLost)
	}
	if _, ok := rec.Seconds["encode_image"]; ok {
		t.Error("a lost slice was encoded")
	}
}

// TestOpenSystemBadInput: a missing role, mismatched widths, bad options →
// bad-input errors naming the role and files.
func TestOpenSystemBadInput(t *testing.T) {
	src := tinySet(t)
	copySet := func(t *testing.T) string {
		dir := t.TempDir()
		ents, _ := os.ReadDir(src)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
		return dir
	}
	t.Run("missing role", func(t *testing.T) {
		dir := copySet(t)
		m, err := models.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		delete(m.Roles, models.ImageEncoder)
		models.WriteManifest(dir, m)
		_, err = OpenSystem(dir, tinyOptions())
		wantBad(t, err, "image-encoder", "multisc models pull image-encoder")
		o := tinyOptions()
		o.Methods = []string{MethodVLMCSC}
		if s, err := OpenSystem(dir, o); err != nil {
			t.Fatalf("vlm-csc needs no image encoder: %v", err)
		} else {
			s.Close()
		}
	})
	t.Run("mismatched widths", func(t *testing.T) {
		dir := copySet(t)
		// the image encoder of another width: the captioner's mmproj tower
		// is not an encoder; use an IP-Adapter whose image_dim differs.
		writeIPAdapter(t, filepath.Join(dir, "ip-adapter.gguf"), 16)
		_, err := OpenSystem(dir, tinyOptions())
		wantBad(t, err, "widths do not match", "image-encoder.gguf", "ip-adapter.gguf", "role image-encoder", "role ip-adapter")
	})
	t.Run("embedder is not an image encoder", func(t *testing.T) {
		dir := copySet(t)
		m, err := models.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		rf := m.Roles[models.Embedder]
		rf.Files = []models.File{m.Roles[models.Captioner].Files[1]} // the LLaVA mmproj (a clip file with a projector)
		m.Roles[models.Embedder] = rf
		models.WriteManifest(dir, m)
		_, err = OpenSystem(dir, tinyOptions())
		wantBad(t, err, "role embedder", "captioner-mmproj.gguf")
	})
	t.Run("options", func(t *testing.T) {
		for _, tc := range []struct {
			mod  func(*SystemOptions)
			want string
		}{
			{func(o *SystemOptions) { o.Steps = 0 }, "--steps"},
			{func(o *SystemOptions) { o.Width = 30 }, "--size"},
			{func(o *SystemOptions) { o.SliceMode = "smoke" }, "--slice"},
			{func(o *SystemOptions) { o.TextCode = "ldpc-7-1/2" }, "text code"},
			{func(o *SystemOptions) { o.Modulation = "8psk" }, "8psk"},
			{func(o *SystemOptions) { o.Methods = []string{"magic"} }, "--method \"magic\""},
			{func(o *SystemOptions) { o.SliceMode = SliceDigital; o.SliceCode = "none" }, "--slice-code"},
		} {
			o := tinyOptions()
			tc.mod(&o)
			_, err := OpenSystem(src, o)
			wantBad(t, err, tc.want)
		}
	})
	t.Run("snr", func(t *testing.T) {
		s := openTiny(t, nil)
		tx := &Transmission{Payload: Payload{Method: MethodVLMCSC, Captions: []string{"x"}}}
		_, err := s.SendPayload(tx, "awgn", 1e9, 1)
		wantBad(t, err, "--snr")
		_, err = s.SendPayload(tx, "fog", 1, 1)
		wantBad(t, err, "fog")
	})
}

func wantBad(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil || !badinput.Is(err) {
		t.Fatalf("want a bad-input error, got %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %q", err, p)
		}
	}
}

// writeIPAdapter writes a tiny IP-Adapter whose image embedding input is
// imageDim wide.
func writeIPAdapter(t *testing.T, path string, imageDim int) {
	t.Helper()
	o := ipadapter.TinyOptions()
	o.ImageDim = imageDim
	if err := ipadapter.WriteSynth(path, o, 1, fsggml.TensorTypeF32); err != nil {
		t.Fatal(err)
	}
}
