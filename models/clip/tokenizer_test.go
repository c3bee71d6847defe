package clip

import (
	"slices"
	"strings"
	"testing"
)

var testMerges = []string{"h e", "l l", "he ll", "hell o</w>", "c a", "ca t</w>", "' s</w>", "d o", "x y", "xy z", "y z</w>"}

func testTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	units := TokenizerUnitOrder()
	tokens := append([]string(nil), units...)
	for _, u := range units {
		tokens = append(tokens, u+TokenizerWordEnd)
	}
	for _, m := range testMerges {
		tokens = append(tokens, strings.ReplaceAll(m, " ", ""))
	}
	tokens = append(tokens, TokenizerBOS, TokenizerEOS)
	tok, err := NewTokenizer(tokens, testMerges)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTokenizerUnits: CLIP's rules on tricky strings (expected units worked
// out by hand from openai/CLIP simple_tokenizer.py's algorithm).
func TestTokenizerUnits(t *testing.T) {
	tok := testTokenizer(t)
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"hello", []string{"hello</w>"}},
		{"HELLO", []string{"hello</w>"}}, // lower-cased
		{"  Hello,\t\n world!! ", []string{"hello</w>", ",</w>", "w", "o", "r", "l", "d</w>", "!", "!</w>"}}, // white space, punctuation runs
		{"a cat", []string{"a</w>", "cat</w>"}},
		{"it's", []string{"i", "t</w>", "'s</w>"}},             // contraction split off
		{"don't", []string{"do", "n</w>", "'", "t</w>"}},       // 't is a word of its own
		{"2024", []string{"2</w>", "0</w>", "2</w>", "4</w>"}}, // digits one by one
		{"&amp;amp;", []string{"&</w>"}},                       // HTML unescaped twice
		{"xyz", []string{"xy", "z</w>"}},                       // x y (rank 8) beats y z</w> (10); "xy z" is not "xy z</w>"
		{"xyzxyz", []string{"xyz", "xy", "z</w>"}},             // word-end units only merge with </w> merges
		{"<|endoftext|>", []string{"<|endoftext|>"}},
		{"", nil},
	} {
		got := tok.Units(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Units(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTokenizerBytes: non-ASCII text goes through GPT-2's byte alphabet:
// "é" (C3 A9) is two printable Latin-1 units; "🙂" (F0 9F 99 82) is four
// units, two of them remapped above U+0100.
func TestTokenizerBytes(t *testing.T) {
	tok := testTokenizer(t)
	if got := tok.Units("é"); !slices.Equal(got, []string{"Ã", "©</w>"}) {
		t.Errorf("é: %q", got)
	}
	got := tok.Units("🙂")
	if len(got) != 4 || got[0] != "ð" || !strings.HasSuffix(got[3], "</w>") {
		t.Errorf("🙂: %q", got)
	}
	u := TokenizerByteUnits()
	if u['A'] != "A" || u[0] != "Ā" || u[' '] != "Ġ" || u[0x7F] != "ġ" {
		t.Errorf("byte units: 0→%q space→%q DEL→%q", u[0], u[' '], u[0x7F])
	}
}

// TestTokenizerPadded: BOS, tokens, EOS, EOS padding to 77; long prompts
// are cut to 75 tokens and say so.
func TestTokenizerPadded(t *testing.T) {
	tok := testTokenizer(t)
	ids, tr := tok.EncodePadded("a cat", 77)
	if len(ids) != 77 || tr || ids[0] != tok.BOS || ids[3] != tok.EOS || ids[76] != tok.EOS {
		t.Fatalf("ids %v truncated %v", ids[:5], tr)
	}
	if ids[1] != tok.vocab["a</w>"] || ids[2] != tok.vocab["cat</w>"] {
		t.Fatalf("ids %v", ids[:4])
	}
	ids, tr = tok.EncodePadded(strings.Repeat("cat ", 80), 77)
	if len(ids) != 77 || !tr || ids[75] != tok.vocab["cat</w>"] || ids[76] != tok.EOS {
		t.Fatalf("long prompt: len %d truncated %v", len(ids), tr)
	}
	if _, tr := tok.EncodePadded(strings.Repeat("cat ", 75), 77); tr {
		t.Fatal("75 tokens fit exactly")
	}
}

func TestTokenizerBadVocab(t *testing.T) {
	for _, tc := range []struct {
		tokens, merges []string
		want           string
	}{
		{[]string{"a", TokenizerEOS}, nil, TokenizerBOS},
		{[]string{TokenizerBOS, TokenizerEOS}, nil, "byte unit"},
		{[]string{TokenizerBOS, TokenizerEOS}, []string{"ab"}, "merge 0"},
	} {
		if _, err := NewTokenizer(tc.tokens, tc.merges); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error about %q", err, tc.want)
		}
	}
}

// TestTokenizerSynthVocab: CLIP ViT-L/14's size, ids unique, loadable.
func TestTokenizerSynthVocab(t *testing.T) {
	tokens, merges := TokenizerSynthVocab(48894)
	if len(tokens) != 49408 || len(merges) != 48894 {
		t.Fatalf("%d tokens, %d merges", len(tokens), len(merges))
	}
	seen := map[string]bool{}
	for _, tk := range tokens {
		if seen[tk] {
			t.Fatalf("duplicate %q", tk)
		}
		seen[tk] = true
	}
	tok, err := NewTokenizer(tokens, merges)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Units("abc ab"); !slices.Equal(got, []string{"abc</w>", "ab</w>"}) {
		t.Fatalf("%q", got)
	}
}
