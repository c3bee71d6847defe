package clip

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

// TokenizerBOS and TokenizerEOS are CLIP's special tokens. Stable Diffusion
// 1.5 pads with the end token too (its tokenizer's pad_token).
const (
	TokenizerBOS = "<|startoftext|>"
	TokenizerEOS = "<|endoftext|>"
)

// TokenizerWordEnd marks the last unit of a word in CLIP's BPE vocabulary.
const TokenizerWordEnd = "</w>"

// TokenizerPattern splits cleaned text into words the way openai/CLIP's
// simple_tokenizer.py does: the two special tokens, English contractions,
// runs of letters, single digits, and runs of other non-space characters.
var TokenizerPattern = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`)

var tokenizerSpaces = regexp.MustCompile(`\s+`)

// Tokenizer is CLIP's byte-level BPE with word-end markers (openai/CLIP
// simple_tokenizer.py semantics, as Hugging Face's CLIPTokenizer without
// ftfy):
//
//  1. clean: HTML entities unescaped (twice), runs of white space collapsed
//     to one space, trimmed, lower-cased (ftfy's mojibake repair is not done);
//  2. split into words by TokenizerPattern;
//  3. each word's UTF-8 bytes are mapped to GPT-2's printable byte alphabet,
//     its last unit gets "</w>", and BPE merges are applied lowest rank
//     first, every occurrence of the chosen pair left to right, until no
//     ranked pair remains;
//  4. the units are looked up in the vocabulary.
type Tokenizer struct {
	vocab    map[string]int32
	ranks    map[[2]string]int
	BOS, EOS int32
	byteUni  [256]string
}

// NewTokenizer builds the tokenizer from the vocabulary (tokens in id
// order) and the merges ("a b" lines in rank order, no "#version" header).
func NewTokenizer(tokens, merges []string) (*Tokenizer, error) {
	t := &Tokenizer{vocab: make(map[string]int32, len(tokens)), ranks: make(map[[2]string]int, len(merges))}
	for i, tok := range tokens {
		t.vocab[tok] = int32(i)
	}
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || a == "" || b == "" {
			return nil, fmt.Errorf("tokenizer merge %d %q is not two space-separated units", i, m)
		}
		t.ranks[[2]string{a, b}] = i
	}
	var ok bool
	if t.BOS, ok = t.vocab[TokenizerBOS]; !ok {
		return nil, fmt.Errorf("tokenizer vocabulary has no %s", TokenizerBOS)
	}
	if t.EOS, ok = t.vocab[TokenizerEOS]; !ok {
		return nil, fmt.Errorf("tokenizer vocabulary has no %s", TokenizerEOS)
	}
	for b, r := range TokenizerByteUnits() {
		t.byteUni[b] = r
		if _, ok := t.vocab[r]; !ok {
			return nil, fmt.Errorf("tokenizer vocabulary lacks the byte unit %q (byte %d)", r, b)
		}
		if _, ok := t.vocab[r+TokenizerWordEnd]; !ok {
			return nil, fmt.Errorf("tokenizer vocabulary lacks the byte unit %q (byte %d)", r+TokenizerWordEnd, b)
		}
	}
	return t, nil
}

// TokenizerByteUnits is GPT-2's reversible map from bytes to printable
// characters (bytes_to_unicode): printable Latin-1 bytes map to themselves,
// the rest to U+0100 upward in byte order. CLIP's vocabulary starts with these
// 256 units, then the same with "</w>".
func TokenizerByteUnits() [256]string {
	var out [256]string
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := range 256 {
		if printable(b) {
			out[b] = string(rune(b))
		} else {
			out[b] = string(rune(256 + n))
			n++
		}
	}
	return out
}

// TokenizerUnitOrder is the order of the 256 byte units in CLIP's vocabulary:
// printable bytes first (ascending), then the others (ascending).
func TokenizerUnitOrder() []string {
	u := TokenizerByteUnits()
	var out []string
	for b := range 256 {
		if r, _ := utf8.DecodeRuneInString(u[b]); r < 256 {
			out = append(out, u[b])
		}
	}
	for b := range 256 {
		if r, _ := utf8.DecodeRuneInString(u[b]); r >= 256 {
			out = append(out, u[b])
		}
	}
	return out
}

// TokenizerClean is step 1 of Tokenizer: unescape, collapse white space,
// trim, lower-case.
func TokenizerClean(text string) string {
	text = strings.TrimSpace(html.UnescapeString(html.UnescapeString(text)))
	text = strings.TrimSpace(tokenizerSpaces.ReplaceAllString(text, " "))
	return strings.ToLower(text)
}

// Units returns the BPE units of a text (steps 1-3), for tests and tools.
func (t *Tokenizer) Units(text string) []string {
	var out []string
	for _, word := range TokenizerPattern.FindAllString(TokenizerClean(text), -1) {
		if word == TokenizerBOS || word == TokenizerEOS {
			out = append(out, word)
			continue
		}
		out = append(out, t.bpe(word)...)
	}
	return out
}

func (t *Tokenizer) bpe(word string) []string {
	var units []string
	for _, b := range []byte(word) {
		units = append(units, t.byteUni[b])
	}
	units[len(units)-1] += TokenizerWordEnd
	for len(units) > 1 {
		best, bestRank := [2]string{}, -1
		for i := 0; i+1 < len(units); i++ {
			p := [2]string{units[i], units[i+1]}
			if r, ok := t.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		var merged []string
		for i := 0; i < len(units); i++ {
			if i+1 < len(units) && units[i] == best[0] && units[i+1] == best[1] {
				merged = append(merged, best[0]+best[1])
				i++
			} else {
				merged = append(merged, units[i])
			}
		}
		units = merged
	}
	return units
}

// Encode returns the token ids of a text, without BOS/EOS.
func (t *Tokenizer) Encode(text string) []int32 {
	var ids []int32
	for _, u := range t.Units(text) {
		id, ok := t.vocab[u]
		if !ok {
			// Cannot happen with a complete vocabulary (every byte unit is
			// checked in NewTokenizer); a merged unit missing from it falls
			// back to its bytes.
			for _, r := range u {
				ids = append(ids, t.vocab[string(r)])
			}
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// EncodePadded is the prompt as Stable Diffusion 1.5 feeds it to the text
// encoder: BOS, at most length-2 tokens, EOS, then EOS padding up to length
// (77). truncated reports whether tokens were dropped to fit.
func (t *Tokenizer) EncodePadded(text string, length int) (ids []int32, truncated bool) {
	body := t.Encode(text)
	if len(body) > length-2 {
		body, truncated = body[:length-2], true
	}
	ids = append([]int32{t.BOS}, body...)
	for len(ids) < length {
		ids = append(ids, t.EOS)
	}
	return ids, truncated
}
