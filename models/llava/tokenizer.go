package llava

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Token types of GGUF's tokenizer.ggml.token_type.
const (
	tokenNormal  = 1
	tokenControl = 3
)

// Qwen's special tokens.
const (
	EndOfText = "<|endoftext|>"
	ImStart   = "<|im_start|>"
	ImEnd     = "<|im_end|>"
)

// byteRunes is GPT-2's bytes_to_unicode table: byte-level BPE writes each
// byte of the text as one printable rune.
var byteRunes, runeBytes = func() ([256]rune, map[rune]byte) {
	var t [256]rune
	inv := map[rune]byte{}
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
		inv[t[b]] = byte(b)
	}
	return t, inv
}()

// bytesToken is the vocabulary string of a byte sequence.
func bytesToken(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(byteRunes[c])
	}
	return sb.String()
}

// tokenBytes is the inverse of bytesToken; ok is false for a string that is
// not a byte-level token (a special token).
func tokenBytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := runeBytes[r]
		if !ok {
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// synthCorpus trains the synthetic tokenizer's merges: caption-like English.
const synthCorpus = `a photo of a dog sitting on the grass next to a red ball. a man riding a bicycle down
the street in the city. two people standing on the beach near the water at sunset. a cat sleeping on
a couch in the living room. the picture shows a small boat on a calm lake with mountains in the
background. a group of children playing in a park on a sunny day. a plate of food with vegetables
and rice on a wooden table. an old building with a clock tower under a blue sky with white clouds.
a car parked on the side of the road next to a tree. a woman holding an umbrella walking in the rain.
there is a bird flying over the sea. the image shows a train at the station and people waiting on the
platform. a horse standing in a field of green grass. a bowl of fruit with apples, bananas and oranges.
a person sitting at a desk with a computer and a cup of coffee. the street is full of cars and buses.`

// synthPretokenize splits text like Qwen's pre-tokenizer does for plain
// English: words with their leading space, numbers, punctuation runs.
var synthPretokenize = regexp.MustCompile(` ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+`)

// SynthVocab builds a real byte-level BPE vocabulary of exactly size tokens:
// the 256 byte tokens, merges learned from synthCorpus (at most maxMerges,
// most frequent pair first, ties broken by the pair's text), filler tokens
// of random byte strings (seeded) and Qwen's three special tokens at
// specialAt, specialAt+1, specialAt+2 (<|endoftext|>, <|im_start|>,
// <|im_end|>).
func SynthVocab(size, maxMerges, specialAt int, seed uint64) (tokens []string, types []int32, merges []string, err error) {
	if specialAt < 0 || specialAt+3 > size || size < 256+3 {
		return nil, nil, nil, fmt.Errorf("vocabulary of %d tokens cannot hold specials at %d", size, specialAt)
	}
	have := map[string]bool{}
	var learned []string
	for b := range 256 {
		learned = append(learned, bytesToken([]byte{byte(b)}))
	}
	for _, t := range learned {
		have[t] = true
	}
	// Words as symbol sequences, with their counts.
	counts := map[string]int{}
	for _, w := range synthPretokenize.FindAllString(synthCorpus, -1) {
		counts[bytesToken([]byte(w))]++
	}
	type word struct {
		syms []string
		n    int
	}
	var words []word
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var syms []string
		for _, r := range k {
			syms = append(syms, string(r))
		}
		words = append(words, word{syms, counts[k]})
	}
	budget := min(maxMerges, size-3-256)
	for len(merges) < budget {
		pairs := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best [2]string
		bestN := 1
		for p, n := range pairs {
			if n > bestN || (n == bestN && bestN > 1 && p[0]+" "+p[1] < best[0]+" "+best[1]) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merged := best[0] + best[1]
		merges = append(merges, best[0]+" "+best[1])
		if !have[merged] {
			have[merged] = true
			learned = append(learned, merged)
		}
		for i := range words {
			s := words[i].syms
			var out []string
			for j := 0; j < len(s); j++ {
				if j+1 < len(s) && s[j] == best[0] && s[j+1] == best[1] {
					out = append(out, merged)
					j++
				} else {
					out = append(out, s[j])
				}
			}
			words[i].syms = out
		}
	}
	r := rand.New(rand.NewPCG(seed, 0x70c))
	tokens = make([]string, size)
	types = make([]int32, size)
	next := 0
	for i := range size {
		types[i] = tokenNormal
		switch {
		case i >= specialAt && i < specialAt+3:
			tokens[i] = []string{EndOfText, ImStart, ImEnd}[i-specialAt]
			types[i] = tokenControl
		case next < len(learned):
			tokens[i] = learned[next]
			next++
		default:
			// Unreachable by the merges; decodes to 2–4 random bytes, so
			// random weights exercise incremental UTF-8 decoding.
			for {
				b := make([]byte, 2+r.IntN(3))
				for j := range b {
					b[j] = byte(r.IntN(256))
				}
				if t := bytesToken(b); !have[t] {
					have[t] = true
					tokens[i] = t
					break
				}
			}
		}
	}
	return tokens, types, merges, nil
}

// Detokenizer turns generated token ids into text incrementally, never
// splitting a UTF-8 sequence across two pieces: bytes of an incomplete
// character wait for the next token; bytes that can never be valid UTF-8
// become U+FFFD, so every piece is valid UTF-8; Flush ends the text.
type Detokenizer struct {
	vocab   []string
	types   []int32
	pending []byte
}

// NewDetokenizer decodes with a GGUF vocabulary.
func NewDetokenizer(vocab []string, types []int32) *Detokenizer {
	return &Detokenizer{vocab: vocab, types: types}
}

// Bytes is a token's text as bytes; control tokens give none.
func (d *Detokenizer) Bytes(id int32) []byte {
	if id < 0 || int(id) >= len(d.vocab) || (int(id) < len(d.types) && d.types[id] == tokenControl) {
		return nil
	}
	b, ok := tokenBytes(d.vocab[id])
	if !ok {
		return []byte(d.vocab[id]) // user-defined tokens are stored as text
	}
	return b
}

// Add appends a token and returns the text that is now complete.
func (d *Detokenizer) Add(id int32) string {
	d.pending = append(d.pending, d.Bytes(id)...)
	n := completePrefix(d.pending)
	out := strings.ToValidUTF8(string(d.pending[:n]), "\uFFFD")
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return out
}

// Flush returns what is left, invalid bytes replaced by U+FFFD.
func (d *Detokenizer) Flush() string {
	out := strings.ToValidUTF8(string(d.pending), "\uFFFD")
	d.pending = d.pending[:0]
	return out
}

// completePrefix is the length of b without a trailing incomplete UTF-8
// sequence (invalid bytes count as complete: they cannot become valid).
func completePrefix(b []byte) int {
	for back := 1; back <= min(3, len(b)); back++ {
		c := b[len(b)-back]
		if c < 0x80 {
			return len(b) // ASCII: nothing pending
		}
		if c >= 0xC0 { // a lead byte: is its sequence complete?
			need := 2
			if c >= 0xE0 {
				need = 3
			}
			if c >= 0xF0 {
				need = 4
			}
			if back < need && utf8.FullRune(b[len(b)-back:]) == false {
				return len(b) - back
			}
			return len(b)
		}
	}
	return len(b)
}
