package channel

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func mustLink(t testing.TB, mod, code, ch string, L int) *Link {
	t.Helper()
	l, err := NewLink(mod, code, ch, L)
	if err != nil {
		t.Fatal(err)
	}
	l.Interleave = true
	return l
}

const caption = "a red car parked on the street"

// TestSendTextClean: at high SNR every code returns the text exactly, with
// the right frame and symbol counts.
func TestSendTextClean(t *testing.T) {
	long := strings.Repeat("ünïcode ✓ "+caption+" ", 20) // several frames
	for _, code := range CodeNames() {
		l := mustLink(t, "qpsk", code, "awgn", 1)
		for _, s := range []string{"", caption, long} {
			res := SendText(s, l, 20, 1)
			if res.Text != s || res.BitErrors != 0 || res.FramesFailed != 0 {
				t.Fatalf("%s: %q → %q (%+v)", code, s, res.Text, res)
			}
			frames := (8*len(s) + l.FrameDataBits() - 1) / l.FrameDataBits()
			bits := frames * (l.FrameDataBits() + CRCBits)
			if l.Code != nil {
				bits = frames * l.Code.N
			}
			if res.Frames != frames || res.Symbols != (bits+1)/2 {
				t.Fatalf("%s %d bytes: %d frames %d symbols, want %d and %d", code, len(s), res.Frames, res.Symbols, frames, (bits+1)/2)
			}
		}
	}
}

// TestSendTextNoisy: at low SNR on Rayleigh the text comes back damaged but
// valid UTF-8, the CRC flags the damaged frame, and the same seed gives the
// same output.
func TestSendTextNoisy(t *testing.T) {
	l := mustLink(t, "qpsk", "none", "rayleigh", 1)
	res := SendText(caption, l, 3, 7)
	if res.BitErrors == 0 || res.FramesFailed != 1 || res.Text == caption {
		t.Fatalf("expected damage at 3 dB uncoded: %+v", res)
	}
	if !utf8.ValidString(res.Text) {
		t.Fatalf("invalid UTF-8: %q", res.Text)
	}
	if again := SendText(caption, l, 3, 7); again != res {
		t.Fatalf("same seed, different result:\n%+v\n%+v", res, again)
	}
	if other := SendText(caption, l, 3, 8); other.Text == res.Text {
		t.Fatalf("different seeds gave the same text %q", res.Text)
	}
	t.Logf("received %q (%d bit errors)", res.Text, res.BitErrors)
	// A code at the same SNR repairs it.
	lc := mustLink(t, "qpsk", "ldpc-648-1/2", "rayleigh", 1)
	if rc := SendText(caption, lc, 8, 7); rc.Text != caption {
		t.Fatalf("ldpc-648-1/2 at 8 dB: %+v", rc)
	}
}

func TestRepairUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		bad  int
	}{
		{"", "", 0},
		{"plain", "plain", 0},
		{"caf\xc3\xa9", "café", 0},
		{"a\xffb", "a\uFFFDb", 1},
		{"\xe2\x82", "\uFFFD\uFFFD", 2},           // truncated 3-byte sequence: one per byte
		{"\xc0\xafx", "\uFFFD\uFFFDx", 2},         // overlong encoding is invalid
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD", 3}, // surrogate half
		{"\x01ok", "\x01ok", 0},                   // control characters are valid UTF-8
	} {
		got, bad := RepairUTF8([]byte(c.in))
		if got != c.want || bad != c.bad || !utf8.ValidString(got) {
			t.Errorf("RepairUTF8(%q) = %q, %d; want %q, %d", c.in, got, bad, c.want, c.bad)
		}
	}
}

// FuzzRepairUTF8: the result is always valid and equals the input when the
// input is valid.
func FuzzRepairUTF8(f *testing.F) {
	f.Add([]byte("a red car"))
	f.Add([]byte{0xff, 0xfe, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, bad := RepairUTF8(b)
		if !utf8.ValidString(s) {
			t.Fatalf("invalid output %q", s)
		}
		if utf8.Valid(b) && (s != string(b) || bad != 0) {
			t.Fatalf("valid input %q changed to %q", b, s)
		}
	})
}
