package channel

import (
	"bytes"
	"testing"
)

func TestBitsKnownValues(t *testing.T) {
	got := BytesToBits([]byte{0xA5, 0x01})
	want := []uint8{1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	if !bytes.Equal(got, want) {
		t.Fatalf("BytesToBits = %v, want %v", got, want)
	}
	// A partial final byte is zero-padded on the right.
	if b := BitsToBytes([]uint8{1, 1, 0}); !bytes.Equal(b, []byte{0xC0}) {
		t.Fatalf("BitsToBytes(110) = %x, want c0", b)
	}
	if s := string(BitsToBytes(TextToBits("é€"))); s != "é€" {
		t.Fatalf("text round trip gave %q", s)
	}
}

func TestCRCFraming(t *testing.T) {
	f := FrameBytes([]byte("caption"))
	if p, ok := UnframeBytes(f); !ok || string(p) != "caption" {
		t.Fatalf("UnframeBytes = %q, %v", p, ok)
	}
	for i := range 8 * len(f) { // every single-bit error is detected
		g := append([]byte(nil), f...)
		g[i/8] ^= 1 << uint(i%8)
		if _, ok := UnframeBytes(g); ok {
			t.Fatalf("bit %d flipped but CRC matches", i)
		}
	}
	if _, ok := UnframeBytes([]byte{1, 2}); ok {
		t.Fatal("short frame accepted")
	}
	blk := appendCRCBits(nil, []uint8{1, 0, 1})
	if len(blk) != 3+CRCBits || !checkCRCBits(blk) {
		t.Fatal("bit-level CRC does not verify")
	}
	blk[1] ^= 1
	if checkCRCBits(blk) {
		t.Fatal("bit-level CRC missed an error")
	}
}

// FuzzBitsRoundTrip: packing inverts unpacking for any bytes.
func FuzzBitsRoundTrip(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("a red car"))
	f.Add([]byte{0, 0xff, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		bits := BytesToBits(b)
		if len(bits) != 8*len(b) {
			t.Fatalf("%d bits for %d bytes", len(bits), len(b))
		}
		if got := BitsToBytes(bits); !bytes.Equal(got, b) {
			t.Fatalf("round trip %x → %x", b, got)
		}
	})
}

// FuzzSegment: segmentation makes ceil(len/D) frames of exactly D bits,
// pads with zeros only, and Reassemble restores the message.
func FuzzSegment(f *testing.F) {
	f.Add([]byte("hello"), uint16(7))
	f.Add([]byte{}, uint16(940))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint16(940))
	f.Fuzz(func(t *testing.T, b []byte, d uint16) {
		D := int(d%2000) + 1
		msg := BytesToBits(b)
		frames := Segment(msg, D)
		if want := (len(msg) + D - 1) / D; len(frames) != want {
			t.Fatalf("%d frames, want %d", len(frames), want)
		}
		for i, fr := range frames {
			if len(fr) != D {
				t.Fatalf("frame %d has %d bits, want %d", i, len(fr), D)
			}
		}
		var all []uint8
		for _, fr := range frames {
			all = append(all, fr...)
		}
		for i := len(msg); i < len(all); i++ {
			if all[i] != 0 {
				t.Fatalf("padding bit %d is 1", i)
			}
		}
		if got := Reassemble(frames, len(msg)); !bytes.Equal(got, msg) {
			t.Fatal("reassembled message differs")
		}
	})
}
