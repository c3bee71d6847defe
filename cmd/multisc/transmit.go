package main

import (
	"fmt"
	"image"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline"
)

// transmitReport is NAME.transmit.json beside each payload file.
type transmitReport struct {
	Image     string             `json:"image"`
	ImageID   string             `json:"image_id"`
	Method    string             `json:"method"`
	Seed      uint64             `json:"seed"` // the transmitter's seed (TransmitSeed)
	Width     int                `json:"width"`
	Height    int                `json:"height"`
	Payload   string             `json:"payload"`
	Blocks    [][4]int           `json:"blocks"` // x0, y0, x1, y1 (exclusive)
	Captions  []string           `json:"captions"`
	Slice     *[4]int            `json:"slice_box,omitempty"`
	SliceMode string             `json:"slice_mode"`
	Bits      int64              `json:"bits"`
	BitsText  int64              `json:"bits_text"`
	BitsSlice int64              `json:"bits_slice"`
	BitsHead  int64              `json:"bits_header"`
	Seconds   map[string]float64 `json:"seconds"`
}

func sliceModeName(m uint8) string {
	switch m {
	case pipeline.SliceRGB:
		return "analog (raw RGB)"
	case pipeline.SliceJPEG:
		return "digital (JPEG)"
	}
	return "none"
}

// xyxy writes rectangles as [x0, y0, x1, y1].
func xyxy(rs []image.Rectangle) [][4]int {
	out := make([][4]int, len(rs))
	for i, r := range rs {
		out[i] = [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}
	}
	return out
}

func init() {
	var sf systemFlags
	register(&command{
		Name:  "transmit",
		Short: "the transmitter: write a payload file (captions + slice + header) per image",
		Usage: "IMG... --models DIR --out DIR [--method M] [--seed S]",
		Long: `Runs the transmitter of 'multisc run' on each image (models load once) and
writes DIR/NAME.payload — header (image size, method, blocks, slice box and
mode), one caption per block, the slice bytes — and DIR/NAME.transmit.json
(blocks, captions, payload size in bits: text, slice, header). NAME is the
image's file name without extension. The payload does not depend on the
channel or SNR; 'multisc receive' reads it. With --slice digital the slice
travels as a JPEG (--jpeg-quality), else as raw 8-bit RGB samples.`,
		Flags: func(fs *pflag.FlagSet) { sf.add(fs, flagsTransmit) },
		Run: func(env *Env, args []string) error {
			names, imgs, err := sf.images("transmit", args)
			if err != nil {
				return err
			}
			s, err := sf.open(env, flagsTransmit, []string{sf.method}, false)
			if err != nil {
				return err
			}
			defer s.Close()
			for i, img := range imgs {
				seed := pipeline.TransmitSeed(sf.seed, sf.dataset, names[i], sf.method)
				tx, err := s.Transmit(pipeline.TransmitRequest{Dataset: sf.dataset, ImageID: names[i], Path: args[i], Image: img, Method: sf.method, Seed: seed})
				if err != nil {
					return err
				}
				p := &tx.Payload
				out := filepath.Join(sf.out, names[i]+".payload")
				r := transmitReport{Image: args[i], ImageID: names[i], Method: sf.method, Seed: seed, Width: p.Width, Height: p.Height,
					Payload: out, Blocks: xyxy(p.Blocks), Captions: p.Captions, SliceMode: sliceModeName(p.SliceMode),
					Bits: p.Bits(), BitsText: p.TextBits(), BitsSlice: p.SliceBits(), BitsHead: p.HeaderBits(), Seconds: tx.Seconds}
				if p.SliceMode != pipeline.SliceNone {
					b := p.SliceRect
					r.Slice = &[4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}
				}
				if err := pipeline.WritePayload(out, p); err != nil {
					return outputError("--out", err)
				}
				if err := writeJSON(filepath.Join(sf.out, names[i]+".transmit.json"), r); err != nil {
					return outputError("--out", err)
				}
				fmt.Fprintf(env.Stdout, "%s: %s, %d block(s), slice %s: %d bits (text %d, slice %d, header %d) -> %s\n",
					args[i], sf.method, len(p.Blocks), r.SliceMode, r.Bits, r.BitsText, r.BitsSlice, r.BitsHead, out)
			}
			return nil
		},
	})
}
