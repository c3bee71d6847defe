package pipeline

import (
	"bytes"
	"image"
	"image/jpeg"
	"io"
	"time"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline/imageio"
)

// Transmission is the transmitter's work for one image and method: what
// the payload carries (Payload) and how it was made (blocks with their
// detections, the slice, per-stage seconds). It depends only on the image,
// the method and the transmitter's seed, never on the channel or SNR, so a
// sweep computes it once and reuses it for every SNR.
type Transmission struct {
	Request TransmitRequest // the request (Image is the reference for metrics; nil after Decode)
	Payload Payload
	// Slice is the object slice as sent (nil when the method sends none or
	// no object was found); SliceInfo says what the segmenter found.
	Slice     image.Image
	SliceInfo ObjectSlice
	Blocks    []Block
	// Seconds per transmitter stage: segment, detect, split, caption.
	Seconds map[string]float64
}

// Transmit runs the transmitter on one image: for the multisc methods the
// object slice i_m (FCN + MainObject), the blocks (DETR + FusionSplit for
// multisc-fusion, RandomSplit seeded by req.Seed for multisc-random) and one
// caption per block in ONE batched captioner call; for single-text one
// caption of the whole image and the slice; for vlm-csc one caption of the
// whole image and no slice. req.Image is used when set, else the image
// at req.Path is loaded (a file that does not load is a bad-input error
// naming it).
func (s *System) Transmit(req TransmitRequest) (*Transmission, error) {
	if err := CheckMethod(req.Method); err != nil {
		return nil, err
	}
	if req.Image == nil {
		if req.Path == "" {
			return nil, badinput.Errorf("image %q: no image and no path", req.ImageID)
		}
		img, err := imageio.Load(req.Path)
		if err != nil {
			return nil, err
		}
		req.Image = img
	}
	img := req.Image
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, badinput.Errorf("%s: image is %dx%d", req.Path, w, h)
	}
	if b.Min != (image.Point{}) {
		img = Crop(img, b)
	}
	bounds := image.Rect(0, 0, w, h)
	tx := &Transmission{Request: req, Seconds: map[string]float64{}}
	tx.Request.Image = img
	p := &tx.Payload
	p.Dataset, p.ImageID, p.Method, p.Width, p.Height = req.Dataset, req.ImageID, req.Method, w, h
	p.SliceMode = SliceNone

	if usesSlice(req.Method) {
		seg, err := s.segmenter()
		if err != nil {
			return nil, err
		}
		s.progress("%s: segment", req.ImageID)
		t := time.Now()
		labels, classes, err := seg.SegmentLabels(img)
		if err != nil {
			return nil, imageErr(req, "segment", err)
		}
		if len(labels) != w*h {
			return nil, badinput.Errorf("%s: segmenter returned %d labels for a %dx%d image", req.Path, len(labels), w, h)
		}
		tx.SliceInfo = MainObject(labels, w, h, img, classes)
		tx.Seconds["segment"] = time.Since(t).Seconds()
		if tx.SliceInfo.Found {
			tx.Slice = tx.SliceInfo.Image
			p.SliceRect = tx.SliceInfo.Box
			sb := tx.Slice.Bounds()
			if s.Opts.SliceMode == SliceDigital {
				var buf bytes.Buffer
				if err := jpegEncode(&buf, tx.Slice, s.Opts.JPEGQuality); err != nil {
					return nil, err
				}
				p.SliceMode, p.Slice = SliceJPEG, buf.Bytes()
			} else {
				p.SliceMode, p.Slice = SliceRGB, rgbBytes(tx.Slice)
			}
			if p.SliceRect.Dx() != sb.Dx() || p.SliceRect.Dy() != sb.Dy() {
				return nil, badinput.Errorf("%s: slice %v does not match its box %v", req.Path, sb, p.SliceRect)
			}
		}
	}

	switch req.Method {
	case MethodFusion:
		det, err := s.detector()
		if err != nil {
			return nil, err
		}
		s.progress("%s: detect", req.ImageID)
		t := time.Now()
		boxes, err := det.DetectBoxes(img)
		if err != nil {
			return nil, imageErr(req, "detect", err)
		}
		tx.Seconds["detect"] = time.Since(t).Seconds()
		t = time.Now()
		if tx.Blocks, err = FusionSplit(bounds, boxes, s.Opts.FusionEps, s.Opts.MinBlock); err != nil {
			return nil, imageErr(req, "split", err)
		}
		tx.Seconds["split"] = time.Since(t).Seconds()
	case MethodRandom:
		t := time.Now()
		var err error
		if tx.Blocks, err = RandomSplit(bounds, s.Opts.RandomBlocks, req.Seed, s.Opts.MinBlock); err != nil {
			return nil, imageErr(req, "split", err)
		}
		tx.Seconds["split"] = time.Since(t).Seconds()
	default:
		tx.Blocks = []Block{newBlock(bounds, nil)}
	}
	for _, blk := range tx.Blocks {
		p.Blocks = append(p.Blocks, blk.Rect)
	}

	capt, err := s.captioner()
	if err != nil {
		return nil, err
	}
	s.progress("%s: caption %d block(s)", req.ImageID, len(tx.Blocks))
	t := time.Now()
	crops := make([]image.Image, len(tx.Blocks))
	for i, blk := range tx.Blocks {
		crops[i] = Crop(img, blk.Rect)
	}
	if p.Captions, err = capt.CaptionImages(crops); err != nil {
		return nil, imageErr(req, "caption", err)
	}
	if len(p.Captions) != len(crops) {
		return nil, badinput.Errorf("%s: captioner returned %d captions for %d blocks", req.Path, len(p.Captions), len(crops))
	}
	tx.Seconds["caption"] = time.Since(t).Seconds()
	return tx, nil
}

// imageErr names the image and the stage of a failed model call.
func imageErr(req TransmitRequest, stage string, err error) error {
	name := req.Path
	if name == "" {
		name = req.ImageID
	}
	if badinput.Is(err) {
		return badinput.Errorf("%s: %s: %v", name, stage, err)
	}
	return &stageError{name + ": " + stage, err}
}

type stageError struct {
	what string
	err  error
}

func (e *stageError) Error() string { return e.what + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// jpegEncode writes img as a baseline JPEG of the given quality.
func jpegEncode(w io.Writer, img image.Image, quality int) error {
	return jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
}

// rgbBytes is an image's 8-bit RGB samples, row-major, interleaved (alpha
// composited over black, as the slice's background).
func rgbBytes(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// rgbImage is the inverse of rgbBytes.
func rgbImage(px []byte, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		copy(img.Pix[4*i:], px[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img
}
