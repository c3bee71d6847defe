package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"testing"

	"github.com/multisc/multisc/pipeline/metrics"
)

// Fakes of every role, recording how they were called.

type fakeSeg struct{ calls int }

func (f *fakeSeg) SegmentLabels(img image.Image) ([]uint8, []string, error) {
	f.calls++
	b := img.Bounds()
	l := make([]uint8, b.Dx()*b.Dy())
	for y := 8; y < 20; y++ {
		for x := 8; x < 24; x++ {
			l[y*b.Dx()+x] = 1
		}
	}
	return l, []string{"background", "thing"}, nil
}

type fakeDet struct{ boxes []image.Rectangle }

func (f *fakeDet) DetectBoxes(image.Image) ([]image.Rectangle, error) { return f.boxes, nil }

type fakeCap struct{ calls [][]image.Point }

func (f *fakeCap) CaptionImages(imgs []image.Image) ([]string, error) {
	var sizes []image.Point
	var out []string
	for _, im := range imgs {
		sizes = append(sizes, im.Bounds().Size())
		out = append(out, fmt.Sprintf("a block of %dx%d pixels", im.Bounds().Dx(), im.Bounds().Dy()))
	}
	f.calls = append(f.calls, sizes)
	return out, nil
}

type fakeCorr struct{ calls [][]string }

func (f *fakeCorr) CorrectTexts(texts []string) ([]string, error) {
	f.calls = append(f.calls, texts)
	return slices.Clone(texts), nil
}

type fakeEnc struct{ sizes []image.Point }

func (f *fakeEnc) EncodeImage(img image.Image) ([]float32, error) {
	f.sizes = append(f.sizes, img.Bounds().Size())
	return []float32{1, 2, 3}, nil
}

type fakeGen struct{ reqs []GenerateRequest }

func (f *fakeGen) GenerateImage(r GenerateRequest) (image.Image, error) {
	f.reqs = append(f.reqs, r)
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.NRGBA{A: 255})
	return img, nil
}

type fakeLPIPS struct{}

func (fakeLPIPS) Distance(a, b image.Image) (float64, error) { return 0.25, nil }

type fakes struct {
	seg  *fakeSeg
	det  *fakeDet
	capt *fakeCap
	corr *fakeCorr
	enc  *fakeEnc
	gen  *fakeGen
}

func fakeSystem(o SystemOptions) (*System, *fakes) {
	f := &fakes{&fakeSeg{}, &fakeDet{boxes: []image.Rectangle{image.Rect(0, 0, 10, 10), image.Rect(40, 30, 60, 45)}},
		&fakeCap{}, &fakeCorr{}, &fakeEnc{}, &fakeGen{}}
	s := &System{Opts: o, Segmenter: f.seg, Detector: f.det, Captioner: f.capt, Corrector: f.corr,
		Generator: f.gen, ImageEncoder: f.enc, Embedder: metrics.PixelEmbedder{}, LPIPS: fakeLPIPS{}}
	return s, f
}

// TestComposition checks each method's composition of roles with fakes:
// one captioner call holding every block, one corrector call holding every
// caption, the slice encoded once at its box's size and given to the
// generator with the captions, vlm-csc without slice or segmenter, a lost
// digital slice giving text-only generation.
func TestComposition(t *testing.T) {
	o := tinyOptions()
	o.MinBlock = 8
	for _, tc := range []struct {
		method     string
		blocks     []image.Point // block sizes the captioner gets, in order
		slice      bool
		segmenter  int
		randBlocks int
	}{
		{MethodFusion, []image.Point{{10, 10}, {20, 15}}, true, 1, 0},
		{MethodRandom, nil, true, 1, 3},
		{MethodSingleText, []image.Point{{64, 48}}, true, 1, 0},
		{MethodVLMCSC, []image.Point{{64, 48}}, false, 0, 0},
	} {
		t.Run(tc.method, func(t *testing.T) {
			oo := o
			if tc.randBlocks > 0 {
				oo.RandomBlocks = tc.randBlocks
			}
			s, f := fakeSystem(oo)
			tx, err := s.Transmit(request(tc.method))
			if err != nil {
				t.Fatal(err)
			}
			if f.seg.calls != tc.segmenter {
				t.Errorf("segmenter called %d times, want %d", f.seg.calls, tc.segmenter)
			}
			if len(f.capt.calls) != 1 {
				t.Fatalf("captioner called %d times, want once", len(f.capt.calls))
			}
			if tc.blocks != nil && !slices.Equal(f.capt.calls[0], tc.blocks) {
				t.Errorf("captioner got blocks %v, want %v", f.capt.calls[0], tc.blocks)
			}
			if tc.randBlocks > 0 {
				area := 0
				for _, p := range f.capt.calls[0] {
					area += p.X * p.Y
				}
				if len(f.capt.calls[0]) != tc.randBlocks || area != 64*48 {
					t.Errorf("random split: blocks %v do not tile 64x48 in %d", f.capt.calls[0], tc.randBlocks)
				}
			}
			if tc.slice != (tx.Payload.SliceMode == SliceRGB) || (tc.slice && tx.Payload.SliceRect != image.Rect(8, 8, 24, 20)) {
				t.Fatalf("slice mode %d box %v", tx.Payload.SliceMode, tx.Payload.SliceRect)
			}
			rec, err := s.Row(tx, "awgn", 40, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.corr.calls) != 1 || !slices.Equal(f.corr.calls[0], tx.Payload.Captions) {
				t.Errorf("corrector calls %v, want one with %v", f.corr.calls, tx.Payload.Captions)
			}
			if len(f.gen.reqs) != 1 || !slices.Equal(f.gen.reqs[0].Captions, tx.Payload.Captions) || f.gen.reqs[0].Seed != generateSeed(3) {
				t.Fatalf("generator requests %+v", f.gen.reqs)
			}
			if tc.slice {
				if !slices.Equal(f.enc.sizes, []image.Point{{16, 12}}) || f.gen.reqs[0].ImageEmbedding == nil {
					t.Errorf("slice encoded at %v, embedding %v", f.enc.sizes, f.gen.reqs[0].ImageEmbedding)
				}
			} else if len(f.enc.sizes) != 0 || f.gen.reqs[0].ImageEmbedding != nil {
				t.Errorf("vlm-csc encoded a slice")
			}
			if *rec.Metrics.LPIPS != 0.25 || rec.Metrics.Embedder != metrics.PixelEmbeddingName || math.Abs(*rec.Metrics.BLEUReceived-100) > 1e-9 {
				t.Errorf("metrics lpips %v embedder %q bleu received %v", *rec.Metrics.LPIPS, rec.Metrics.Embedder, *rec.Metrics.BLEUReceived)
			}
		})
	}
	t.Run("lost digital slice", func(t *testing.T) {
		od := o
		od.SliceMode = SliceDigital
		s, f := fakeSystem(od)
		tx, err := s.Transmit(request(MethodSingleText))
		if err != nil {
			t.Fatal(err)
		}
		if tx.Payload.SliceMode != SliceJPEG {
			t.Fatalf("slice mode %d", tx.Payload.SliceMode)
		}
		rec, err := s.Row(tx, "rayleigh", -10, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.SliceLost || len(f.enc.sizes) != 0 || f.gen.reqs[0].ImageEmbedding != nil {
			t.Fatalf("lost %v, encoder calls %v", rec.SliceLost, f.enc.sizes)
		}
	})
}
