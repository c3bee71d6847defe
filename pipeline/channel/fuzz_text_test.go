package channel

import (
	"testing"
	"unicode/utf8"
)

// FuzzSendText: the text framing (segment, CRC, code, reassemble, UTF-8
// repair) round-trips any bytes on a noise-free link: the received text is
// the sender's bytes with invalid UTF-8 repaired, no bit errors, no failed
// frames, and always valid UTF-8; the frame count is ceil(bits/frame bits).
func FuzzSendText(f *testing.F) {
	f.Add("a red car parked on the street", uint8(0))
	f.Add("\xff\xfe", uint8(1))
	f.Add("", uint8(2))
	f.Add("日本語のテキスト\x00\xc3", uint8(3))
	links := []*Link{}
	for _, c := range [][3]string{{"bpsk", "none", "awgn"}, {"qpsk", "ldpc-648-1/2", "awgn"}, {"16qam", "ldpc-1944-5/6", "rayleigh"}, {"64qam", "none", "awgn"}} {
		l, err := NewLink(c[0], c[1], c[2], 1)
		if err != nil {
			f.Fatal(err)
		}
		links = append(links, l)
	}
	f.Fuzz(func(t *testing.T, s string, which uint8) {
		if len(s) > 4096 {
			return
		}
		l := links[int(which)%len(links)]
		res := SendText(s, l, 300, uint64(which))
		want, bad := RepairUTF8([]byte(s))
		if res.Text != want || res.RepairedBytes != bad || !utf8.ValidString(res.Text) {
			t.Fatalf("received %q (%d repaired), want %q (%d)", res.Text, res.RepairedBytes, want, bad)
		}
		if res.BitErrors != 0 || res.FramesFailed != 0 || res.Bits != 8*len(s) {
			t.Fatalf("noise-free link: %+v", res)
		}
		if fb := l.FrameDataBits(); res.Frames != (res.Bits+fb-1)/fb {
			t.Fatalf("%d frames for %d bits of %d per frame", res.Frames, res.Bits, fb)
		}
	})
}
