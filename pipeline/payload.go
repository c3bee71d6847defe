package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"unicode/utf8"

	"github.com/multisc/multisc/bindings/atomicfile"
	"github.com/multisc/multisc/bindings/badinput"
)

// Payload is what the transmitter sends for one image: a header (the image
// size, method, the blocks' rectangles, the slice's box and mode), the
// captions (one per block) and the slice bytes. Its file form (Encode) is
//
//	magic "MSCP" | version u16 | dataset, image id, method (u16 length + UTF-8 each)
//	| width u32 | height u32 | blocks u16, then x0 y0 x1 y1 (u32 each) per block
//	| slice mode u8 (0 none, 1 raw RGB, 2 JPEG) | slice box x0 y0 x1 y1 (u32 each, when mode ≠ 0)
//	| captions u16, then u32 length + UTF-8 each | slice length u32 + bytes
//
// all integers big-endian. Dataset and image id travel so the receiver can
// derive a row's seed (RowSeed) as a sweep would.
type Payload struct {
	Dataset, ImageID, Method string
	Width, Height            int
	Blocks                   []image.Rectangle
	SliceMode                uint8           // SliceNone, SliceRGB, SliceJPEG
	SliceRect                image.Rectangle // the slice's box in the image (empty when SliceNone)
	Captions                 []string
	Slice                    []byte // 8-bit RGB samples row-major (SliceRGB) or a JPEG file
}

// Payload slice modes.
const (
	SliceNone uint8 = 0
	SliceRGB  uint8 = 1
	SliceJPEG uint8 = 2
)

// PayloadMagic starts every payload file; PayloadVersion is the format
// this binary writes and reads.
const (
	PayloadMagic   = "MSCP"
	PayloadVersion = 1
)

// Payload bounds, checked by Decode before anything is allocated.
const (
	maxPayloadSide    = 1 << 16
	maxPayloadBlocks  = 1 << 12
	maxPayloadCaption = 1 << 20
)

// Encode returns the payload file's bytes.
func (p *Payload) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(PayloadMagic)
	u16 := func(v int) { binary.Write(&b, binary.BigEndian, uint16(v)) }
	u32 := func(v int) { binary.Write(&b, binary.BigEndian, uint32(v)) }
	rect := func(r image.Rectangle) { u32(r.Min.X); u32(r.Min.Y); u32(r.Max.X); u32(r.Max.Y) }
	str16 := func(s string) { u16(len(s)); b.WriteString(s) }
	u16(PayloadVersion)
	str16(p.Dataset)
	str16(p.ImageID)
	str16(p.Method)
	u32(p.Width)
	u32(p.Height)
	u16(len(p.Blocks))
	for _, r := range p.Blocks {
		rect(r)
	}
	b.WriteByte(p.SliceMode)
	if p.SliceMode != SliceNone {
		rect(p.SliceRect)
	}
	u16(len(p.Captions))
	for _, c := range p.Captions {
		u32(len(c))
		b.WriteString(c)
	}
	u32(len(p.Slice))
	b.Write(p.Slice)
	return b.Bytes()
}

// Bits is the payload file's size in bits (header included).
func (p *Payload) Bits() int64 { return 8 * int64(len(p.Encode())) }

// TextBits is the captions' UTF-8 size in bits.
func (p *Payload) TextBits() int64 {
	var n int64
	for _, c := range p.Captions {
		n += 8 * int64(len(c))
	}
	return n
}

// SliceBits is the slice's size in bits (8 per RGB sample, or the JPEG
// file's bytes).
func (p *Payload) SliceBits() int64 { return 8 * int64(len(p.Slice)) }

// HeaderBits is the rest: Bits − TextBits − SliceBits.
func (p *Payload) HeaderBits() int64 { return p.Bits() - p.TextBits() - p.SliceBits() }

// errShort is a field that runs past the end of the data.
var errShort = errors.New("truncated")

type payloadReader struct {
	b   []byte
	off int
	err error
}

func (r *payloadReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", errShort, what, n, r.off, len(r.b)-r.off)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *payloadReader) u8(what string) int {
	if v := r.take(1, what); v != nil {
		return int(v[0])
	}
	return 0
}

func (r *payloadReader) u16(what string) int {
	if v := r.take(2, what); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *payloadReader) u32(what string) int {
	if v := r.take(4, what); v != nil {
		return int(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *payloadReader) rect(what string) image.Rectangle {
	x0, y0 := r.u32(what), r.u32(what)
	x1, y1 := r.u32(what), r.u32(what)
	return image.Rect(x0, y0, x1, y1)
}

func (r *payloadReader) str(n int, what string) string {
	v := r.take(n, what)
	if r.err == nil && !utf8.Valid(v) {
		r.err = fmt.Errorf("%s is not valid UTF-8", what)
	}
	return string(v)
}

// DecodePayload parses a payload file's bytes; name (the file) starts every
// error, which is bad input: another magic, another version, a truncated
// file, a length or rectangle that does not fit, trailing bytes.
func DecodePayload(name string, b []byte) (*Payload, error) {
	bad := func(format string, a ...any) error {
		return badinput.Errorf("%s: not a valid payload file: %s", name, fmt.Sprintf(format, a...))
	}
	if len(b) < len(PayloadMagic)+2 {
		if !bytes.HasPrefix([]byte(PayloadMagic), b[:min(len(b), len(PayloadMagic))]) {
			return nil, badinput.Errorf("%s: not a payload file (no %q magic)", name, PayloadMagic)
		}
		return nil, bad("truncated (%d bytes)", len(b))
	}
	if string(b[:4]) != PayloadMagic {
		return nil, badinput.Errorf("%s: not a payload file (no %q magic)", name, PayloadMagic)
	}
	if v := binary.BigEndian.Uint16(b[4:6]); v != PayloadVersion {
		return nil, badinput.Errorf("%s: payload version %d, this binary reads version %d", name, v, PayloadVersion)
	}
	r := &payloadReader{b: b, off: 6}
	p := &Payload{}
	p.Dataset = r.str(r.u16("dataset length"), "dataset")
	p.ImageID = r.str(r.u16("image id length"), "image id")
	p.Method = r.str(r.u16("method length"), "method")
	p.Width, p.Height = r.u32("width"), r.u32("height")
	nb := r.u16("block count")
	if r.err == nil {
		if err := CheckMethod(p.Method); err != nil {
			return nil, bad("method %q", p.Method)
		}
		if p.Width < 1 || p.Height < 1 || p.Width > maxPayloadSide || p.Height > maxPayloadSide {
			return nil, bad("image size %dx%d", p.Width, p.Height)
		}
		if nb < 1 || nb > maxPayloadBlocks {
			return nil, bad("%d blocks", nb)
		}
	}
	bounds := image.Rect(0, 0, p.Width, p.Height)
	for i := 0; i < nb && r.err == nil; i++ {
		rc := r.rect("block")
		if r.err == nil && (rc.Empty() || !rc.In(bounds)) {
			return nil, bad("block %d %v is empty or outside the %dx%d image", i, rc, p.Width, p.Height)
		}
		p.Blocks = append(p.Blocks, rc)
	}
	p.SliceMode = uint8(r.u8("slice mode"))
	if r.err == nil && p.SliceMode > SliceJPEG {
		return nil, bad("slice mode %d", p.SliceMode)
	}
	if p.SliceMode != SliceNone {
		p.SliceRect = r.rect("slice box")
		if r.err == nil && (p.SliceRect.Empty() || !p.SliceRect.In(bounds)) {
			return nil, bad("slice box %v is empty or outside the %dx%d image", p.SliceRect, p.Width, p.Height)
		}
	}
	nc := r.u16("caption count")
	if r.err == nil && nc != nb {
		return nil, bad("%d captions for %d blocks", nc, nb)
	}
	for i := 0; i < nc && r.err == nil; i++ {
		n := r.u32("caption length")
		if r.err == nil && n > maxPayloadCaption {
			return nil, bad("caption %d of %d bytes", i, n)
		}
		p.Captions = append(p.Captions, r.str(n, fmt.Sprintf("caption %d", i)))
	}
	ns := r.u32("slice length")
	if v := r.take(ns, "slice"); len(v) > 0 {
		p.Slice = bytes.Clone(v)
	}
	if r.err != nil {
		return nil, bad("%v", r.err)
	}
	if r.off != len(b) {
		return nil, bad("%d trailing bytes", len(b)-r.off)
	}
	switch p.SliceMode {
	case SliceNone:
		if ns != 0 {
			return nil, bad("%d slice bytes but no slice", ns)
		}
	case SliceRGB:
		if want := 3 * p.SliceRect.Dx() * p.SliceRect.Dy(); ns != want {
			return nil, bad("raw slice of %d bytes, its %dx%d box needs %d", ns, p.SliceRect.Dx(), p.SliceRect.Dy(), want)
		}
	case SliceJPEG:
		if ns == 0 {
			return nil, bad("empty JPEG slice")
		}
	}
	return p, nil
}

// WritePayload writes the payload file atomically.
func WritePayload(path string, p *Payload) error {
	b := p.Encode()
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// ReadPayload reads and decodes a payload file.
func ReadPayload(path string) (*Payload, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badinput.Errorf("%s: no such payload file", path)
	}
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	return DecodePayload(path, b)
}

// TransmissionFromPayload is the receiver's view of a payload file: the
// Transmission with the payload and, for a slice, its image (decoded from
// the raw RGB samples or the JPEG); no reference image, no timings.
func TransmissionFromPayload(name string, p *Payload) (*Transmission, error) {
	tx := &Transmission{Payload: *p, Seconds: map[string]float64{},
		Request: TransmitRequest{Dataset: p.Dataset, ImageID: p.ImageID, Method: p.Method, Path: name}}
	for _, r := range p.Blocks {
		tx.Blocks = append(tx.Blocks, newBlock(r, nil))
	}
	switch p.SliceMode {
	case SliceRGB:
		tx.Slice = rgbImage(p.Slice, p.SliceRect.Dx(), p.SliceRect.Dy())
	case SliceJPEG:
		img, err := decodeJPEG(p.Slice)
		if err != nil {
			return nil, badinput.Errorf("%s: the payload's JPEG slice: %v", name, err)
		}
		tx.Slice = img
	}
	if tx.Slice != nil {
		tx.SliceInfo = ObjectSlice{Found: true, Box: p.SliceRect,
			BoxXYXY: [4]int{p.SliceRect.Min.X, p.SliceRect.Min.Y, p.SliceRect.Max.X, p.SliceRect.Max.Y}}
	}
	return tx, nil
}
