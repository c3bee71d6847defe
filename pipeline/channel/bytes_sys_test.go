package channel

import (
	"bytes"
	"testing"
)

// TestSendBytes: arbitrary bytes (invalid UTF-8 included) come back
// unchanged over a clean coded link, get bit errors at low SNR uncoded, and
// the same seed gives the same bytes.
func TestSendBytes(t *testing.T) {
	data := make([]byte, 700) // several frames; every byte value
	for i := range data {
		data[i] = byte(i * 7)
	}
	coded, err := NewLink("qpsk", "ldpc-648-1/2", "awgn", 1)
	if err != nil {
		t.Fatal(err)
	}
	res := SendBytes(data, coded, 30, 1)
	if !bytes.Equal(res.Data, data) || res.FramesFailed != 0 || res.BitErrors != 0 || res.Bits != 8*len(data) {
		t.Fatalf("clean link: %d bit errors, %d/%d frames failed", res.BitErrors, res.FramesFailed, res.Frames)
	}
	raw, err := NewLink("qpsk", "none", "rayleigh", 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := SendBytes(data, raw, 0, 9), SendBytes(data, raw, 0, 9)
	if a.BitErrors == 0 || a.FramesFailed == 0 || len(a.Data) != len(data) {
		t.Fatalf("0 dB uncoded Rayleigh: %d bit errors, %d frames failed, %d bytes", a.BitErrors, a.FramesFailed, len(a.Data))
	}
	if !bytes.Equal(a.Data, b.Data) {
		t.Fatal("same seed, different bytes")
	}
	if e := SendBytes(nil, raw, 0, 1); len(e.Data) != 0 || e.Frames != 0 {
		t.Fatalf("empty: %+v", e)
	}
}
