package pipeline

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"strconv"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline/channel"
)

// maxSlicePixels bounds a decoded JPEG slice (the payload's box bounds it
// too; this guards the decoder against a forged header inside the JPEG).
const maxSlicePixels = 1 << 26

// decodeJPEG decodes a JPEG slice after checking its declared size.
func decodeJPEG(b []byte) (image.Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > maxSlicePixels {
		return nil, fmt.Errorf("JPEG of %dx%d pixels", cfg.Width, cfg.Height)
	}
	return jpeg.Decode(bytes.NewReader(b))
}

// LinkResult is what came out of the channel for one transmission.
type LinkResult struct {
	Captions []channel.TextResult // one per block, in block order
	// Slice is the received slice i'_m: the noisy pixels (analog) or the
	// decoded JPEG (digital); nil when none was sent or it was lost.
	Slice     image.Image
	SliceSent bool
	SliceLost bool    // digital slice whose CRC failed or whose JPEG did not decode
	SliceMSE  float64 // analog: mean squared error per 8-bit sample
}

// Link seeds: each caption and the slice draw their noise (and fading)
// from their own seed, derived from the row seed and the block index, as
// on the paper's orthogonal channels.
func captionSeed(row uint64, i int) uint64 { return mixSeed(row, "link-caption", strconv.Itoa(i)) }
func sliceSeed(row uint64) uint64          { return mixSeed(row, "link-slice") }
func generateSeed(row uint64) uint64       { return mixSeed(row, "generate") }

// SendPayload passes a transmission's captions and slice through the
// channel ("awgn" or "rayleigh") at Es/N0 = snr dB: every caption as UTF-8
// bits on its own link (modulation, text code: uncoded by default), the
// slice on its own (analog: noisy pixels; digital: JPEG + CRC over the
// slice code, lost when the CRC fails). Link settings come from the
// system's options.
func (s *System) SendPayload(tx *Transmission, ch string, snr float64, seed uint64) (*LinkResult, error) {
	o := &s.Opts
	if math.IsNaN(snr) || math.IsInf(snr, 0) || math.Abs(snr) > 200 {
		return nil, badinput.Errorf("--snr %v: want a finite Es/N0 in dB within ±200", snr)
	}
	textLink, err := channel.NewLink(o.Modulation, o.TextCode, ch, o.Coherence)
	if err != nil {
		return nil, err
	}
	res := &LinkResult{}
	for i, c := range tx.Payload.Captions {
		res.Captions = append(res.Captions, channel.SendText(c, textLink, snr, captionSeed(seed, i)))
	}
	p := &tx.Payload
	w, h := p.SliceRect.Dx(), p.SliceRect.Dy()
	switch p.SliceMode {
	case SliceRGB:
		res.SliceSent = true
		x := make([]float64, len(p.Slice))
		for i, v := range p.Slice {
			x[i] = float64(v)
		}
		a := channel.SendAnalog(x, textLink.Channel, snr, sliceSeed(seed))
		px := make([]byte, len(x))
		for i, v := range a.Received {
			px[i] = uint8(math.Round(math.Max(0, math.Min(255, v))))
		}
		res.Slice, res.SliceMSE = rgbImage(px, w, h), a.MSE
	case SliceJPEG:
		res.SliceSent = true
		l, err := channel.NewLink(o.Modulation, o.SliceCode, ch, o.Coherence)
		if err != nil {
			return nil, err
		}
		got := channel.SendBytes(channel.FrameBytes(p.Slice), l, snr, sliceSeed(seed))
		data, ok := channel.UnframeBytes(got.Data)
		if ok && got.FramesFailed == 0 {
			if img, err := decodeJPEG(data); err == nil {
				res.Slice = img
			}
		}
		res.SliceLost = res.Slice == nil
	}
	return res, nil
}
