package pipeline

import (
	"bytes"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func samplePayload() *Payload {
	return &Payload{Dataset: "coco", ImageID: "000000397133", Method: MethodFusion, Width: 64, Height: 48,
		Blocks:    []image.Rectangle{image.Rect(0, 0, 32, 48), image.Rect(32, 0, 64, 48)},
		SliceMode: SliceRGB, SliceRect: image.Rect(2, 3, 6, 5),
		Captions: []string{"a man on a horse", "ünïcode ✓ caption"},
		Slice:    bytes.Repeat([]byte{1, 2, 3}, 4*2)}
}

// TestPayloadRoundTrip: Decode(Encode(p)) == p for every slice mode; the
// bit counts add up.
func TestPayloadRoundTrip(t *testing.T) {
	rgb := samplePayload()
	jpg := samplePayload()
	jpg.SliceMode, jpg.Slice = SliceJPEG, []byte{0xff, 0xd8, 0xff, 0xd9}
	none := samplePayload()
	none.Method, none.SliceMode, none.SliceRect, none.Slice = MethodVLMCSC, SliceNone, image.Rectangle{}, nil
	none.Blocks, none.Captions = none.Blocks[:1], none.Captions[:1]
	for _, p := range []*Payload{rgb, jpg, none} {
		b := p.Encode()
		got, err := DecodePayload("p", b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}
		if p.Bits() != 8*int64(len(b)) || p.TextBits()+p.SliceBits()+p.HeaderBits() != p.Bits() {
			t.Fatalf("bits %d text %d slice %d header %d, file %d bytes", p.Bits(), p.TextBits(), p.SliceBits(), p.HeaderBits(), len(b))
		}
	}
	if rgb.TextBits() != 8*int64(len("a man on a horse")+len("ünïcode ✓ caption")) || rgb.SliceBits() != 8*24 {
		t.Fatalf("text bits %d slice bits %d", rgb.TextBits(), rgb.SliceBits())
	}
	path := filepath.Join(t.TempDir(), "x.payload")
	if err := WritePayload(path, rgb); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPayload(path); err != nil || got.ImageID != rgb.ImageID {
		t.Fatalf("file round trip: %v", err)
	}
}

// TestPayloadBadInput: every truncation, another magic, another version,
// trailing bytes and inconsistent fields are bad-input errors naming the
// file; nothing panics.
func TestPayloadBadInput(t *testing.T) {
	good := samplePayload().Encode()
	for n := 0; n < len(good); n++ {
		_, err := DecodePayload("cut.payload", good[:n])
		wantBad(t, err, "cut.payload")
	}
	other := bytes.Clone(good)
	binary.BigEndian.PutUint16(other[4:], PayloadVersion+1)
	_, err := DecodePayload("v2.payload", other)
	wantBad(t, err, "v2.payload", "version 2", "reads version 1")
	_, err = DecodePayload("png.payload", []byte("\x89PNG\r\n\x1a\n...."))
	wantBad(t, err, "png.payload", "not a payload file")
	_, err = DecodePayload("tail.payload", append(bytes.Clone(good), 0))
	wantBad(t, err, "tail.payload", "1 trailing bytes")
	mod := func(f func(*Payload)) []byte {
		p := samplePayload()
		f(p)
		return p.Encode()
	}
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{mod(func(p *Payload) { p.Method = "telepathy" }), "method"},
		{mod(func(p *Payload) { p.Width = 0 }), "image size"},
		{mod(func(p *Payload) { p.Blocks[1] = image.Rect(32, 0, 65, 48) }), "outside"},
		{mod(func(p *Payload) { p.Captions = p.Captions[:1] }), "1 captions for 2 blocks"},
		{mod(func(p *Payload) { p.Slice = p.Slice[1:] }), "raw slice of 23 bytes"},
		{mod(func(p *Payload) { p.SliceMode = 7 }), "slice mode 7"},
		{mod(func(p *Payload) { p.Captions[0] = "\xff\xfe" }), "UTF-8"},
		{mod(func(p *Payload) { p.Blocks = nil; p.Captions = nil }), "0 blocks"},
	} {
		_, err := DecodePayload("bad.payload", tc.b)
		wantBad(t, err, "bad.payload", tc.want)
	}
	_, err = ReadPayload(filepath.Join(t.TempDir(), "missing.payload"))
	wantBad(t, err, "missing.payload")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.payload"), nil, 0o644)
	_, err = ReadPayload(filepath.Join(dir, "empty.payload"))
	if err == nil || !strings.Contains(err.Error(), "empty.payload") {
		t.Fatalf("empty file: %v", err)
	}
}

// FuzzDecodePayload: no input panics; what decodes re-encodes to the same
// bytes.
func FuzzDecodePayload(f *testing.F) {
	f.Add(samplePayload().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload("f", b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Encode(), b) {
			t.Fatal("decoded payload re-encodes differently")
		}
	})
}
