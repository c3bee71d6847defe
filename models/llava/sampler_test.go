package llava

import (
	"math"
	"strings"
	"testing"
)

func TestSampler(t *testing.T) {
	logits := []float32{1, 3, 3, 0, 2}
	if got := newSampler(Sampling{}, 0).sample(logits); got != 1 {
		t.Errorf("greedy: %d, want 1 (lowest id of the tie)", got)
	}
	for _, s := range []Sampling{{Temperature: 1, TopK: 1}, {Temperature: 1, TopP: 1e-9}} {
		if got := newSampler(s, 0).sample([]float32{0, 5, 1}); got != 1 {
			t.Errorf("%+v: %d, want the argmax 1", s, got)
		}
	}
	// Frequencies follow softmax(logits/T) restricted to the top-k.
	const n = 200000
	s := newSampler(Sampling{Temperature: 2, TopK: 3, TopP: 1, Seed: 3}, 0)
	counts := make([]int, len(logits))
	for range n {
		counts[s.sample(logits)]++
	}
	// Top 3 of [1 3 3 0 2] are ids 1, 2, 4.
	z := math.Exp(1.5) + math.Exp(1.5) + math.Exp(1)
	want := []float64{0, math.Exp(1.5) / z, math.Exp(1.5) / z, 0, math.Exp(1) / z}
	for i, c := range counts {
		got := float64(c) / n
		if math.Abs(got-want[i]) > 0.005 {
			t.Errorf("id %d: frequency %.4f, want %.4f", i, got, want[i])
		}
	}
	// Top-p 0.5: only the two most likely (0.38 + 0.38 ≥ 0.5 after the first? no: 0.38 < 0.5, so two).
	s = newSampler(Sampling{Temperature: 2, TopK: 3, TopP: 0.5, Seed: 3}, 0)
	for range 1000 {
		if id := s.sample(logits); id != 1 && id != 2 {
			t.Fatalf("top-p 0.5 sampled %d", id)
		}
	}
}

func TestDetokenizerUTF8(t *testing.T) {
	// Tokens holding the 4 bytes of 🐕 split 1+3, then an invalid byte.
	dog := []byte("🐕")
	vocab := []string{bytesToken(dog[:1]), bytesToken(dog[1:]), bytesToken([]byte{0xff}), bytesToken([]byte("a")), ImEnd}
	d := NewDetokenizer(vocab, []int32{1, 1, 1, 1, tokenControl})
	if got := d.Add(0); got != "" {
		t.Errorf("first byte of 🐕 emitted %q", got)
	}
	if got := d.Add(1); got != "🐕" {
		t.Errorf("got %q, want 🐕", got)
	}
	if got := d.Add(2) + d.Add(3) + d.Add(4); got != "\uFFFDa" {
		t.Errorf("invalid byte, a, control: %q", got)
	}
	d.Add(0)
	if got := d.Flush(); got != "\uFFFD" {
		t.Errorf("flushed incomplete sequence: %q", got)
	}
}

// TestSynthVocabFull: the full-size vocabulary has Qwen1.5's size and
// special ids, unique tokens, and merges that the tokenizer uses.
func TestSynthVocabFull(t *testing.T) {
	toks, types, merges, err := SynthVocab(151936, 1<<20, 151643, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 151936 || len(types) != 151936 || len(merges) < 50 {
		t.Fatalf("%d tokens, %d types, %d merges", len(toks), len(types), len(merges))
	}
	seen := map[string]bool{}
	for i, s := range toks {
		if seen[s] {
			t.Fatalf("token %d %q is a duplicate", i, s)
		}
		seen[s] = true
	}
	for i, want := range []string{EndOfText, ImStart, ImEnd} {
		if id := 151643 + i; toks[id] != want || types[id] != tokenControl {
			t.Errorf("id %d: %q type %d, want %q control", id, toks[id], types[id], want)
		}
	}
	for _, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || !seen[a] || !seen[b] || !seen[a+b] {
			t.Fatalf("merge %q does not join two tokens into a token", m)
		}
	}
}
