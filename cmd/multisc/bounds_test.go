package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChannelFlagBounds: every numeric flag of the channel verbs is bounded
// and checked before any work: values from issue 7 that used to eat memory,
// hang, panic or silently simulate something else now give one line and
// exit status 2.
func TestChannelFlagBounds(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		fragments []string
	}{
		{[]string{"channel", "ber", "--snr", "1e308:1e308", "--bits", "100"}, []string{"--snr", "outside ±200 dB"}},
		{[]string{"channel", "ber", "--snr", "-1e308", "--bits", "100"}, []string{"--snr", "outside"}},
		{[]string{"channel", "ber", "--snr", "1e20", "--bits", "100"}, []string{"--snr", "outside"}},
		{[]string{"channel", "ber", "--snr", "1e400", "--bits", "100"}, []string{"--snr", "outside"}},
		{[]string{"channel", "ber", "--snr", "0:1e-9:1", "--bits", "100"}, []string{"--snr", "step must be at least"}},
		{[]string{"channel", "ber", "--snr", "-200:0.2:200", "--bits", "100"}, []string{"--snr", "more than 1000 points"}},
		{[]string{"channel", "ber", "--bits", "9000000000000000000"}, []string{"--bits", "want 1 to"}},
		{[]string{"channel", "ber", "--bits", "9223372036854775807"}, []string{"--bits", "want 1 to"}},
		{[]string{"channel", "ber", "--bits", "100", "--coherence", "1000000000"}, []string{"--coherence", "at most"}},
		{[]string{"channel", "ber", "--bits", "100", "--max-iter", "100000"}, []string{"--max-iter", "at most"}},
		{[]string{"channel", "text", "\xff\xfe"}, []string{"TEXT", "not valid UTF-8", "byte 0", "0xff"}},
		{[]string{"channel", "text", "caf\xc3"}, []string{"TEXT", "not valid UTF-8", "byte 3"}},
		{[]string{"channel", "text", "hi", "--snr", "1e300"}, []string{"--snr", "±200"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
	// The edges of the bounds are accepted.
	if out, stderr, code := runCLI(t, "channel", "ber", "--snr", "-200:100:200", "--bits", "10"); code != 0 || strings.Count(out, "\n") != 2+5 {
		t.Fatalf("edge range: %d %s\n%s", code, stderr, out)
	}
}

// hostileGGUF is the hostile GGUF (132 bytes here): general.architecture = lpips
// and an array of 2^40 uint32 that the file does not hold.
func hostileGGUF(t *testing.T, dir string) string {
	t.Helper()
	le := binary.LittleEndian
	b := []byte("GGUF")
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, 0) // tensors
	b = le.AppendUint64(b, 2) // key-values
	str := func(s string) { b = le.AppendUint64(b, uint64(len(s))); b = append(b, s...) }
	str("general.architecture")
	b = le.AppendUint32(b, 8)
	str("lpips")
	str("lpips.big")
	b = le.AppendUint32(b, 9)
	b = le.AppendUint32(b, 4)
	b = le.AppendUint64(b, 1<<40)
	b = append(b, make([]byte, 20)...) // 132 bytes in all
	p := filepath.Join(dir, "hostile.gguf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileGGUF: every verb that reads a model refuses the hostile header
// with one line naming the file, before ollama's decoder allocates.
func TestHostileGGUF(t *testing.T) {
	dir := t.TempDir()
	bad := hostileGGUF(t, dir)
	img := filepath.Join(dir, "a.png")
	writeTestPNG(t, img, 40, 40, 1)
	for _, args := range [][]string{
		{"inspect", bad},
		{"inspect", "--load", "--device", "cpu", bad},
		{"quantize", bad, filepath.Join(dir, "q.gguf"), "--type", "f16"},
		{"metrics", "--ref", img, "--img", img, "--lpips", bad, "--device", "cpu"},
	} {
		t.Run(args[0], func(t *testing.T) {
			_, stderr, code := runCLI(t, args...)
			wantBadInput(t, stderr, code, bad, "array of 1099511627776 values")
		})
	}
}
