package bart

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ollama/ollama/tokenizer"
)

// Tokenizer is the GPT-2 byte-level BPE of BartTokenizer (RobertaTokenizer),
// built on ollama's tokenizer.BytePairEncoding from the vocabulary and
// merges embedded in the GGUF. Encode adds <s> … </s> as BartTokenizer
// does; Decode drops the control tokens and is the exact inverse of Encode
// on valid UTF-8 text.
type Tokenizer struct {
	bpe                 tokenizer.BytePairEncoding
	vocab               *tokenizer.Vocabulary
	BOS, EOS, Pad, Mask int
}

// Len is the vocabulary size.
func (t *Tokenizer) Len() int { return len(t.vocab.Values) }

// controlTokens are BART's special tokens, matched in raw text as
// RobertaTokenizer does.
var controlTokens = []string{"<s>", "<pad>", "</s>", "<unk>", "<mask>"}

// NewTokenizer builds the tokenizer from GGUF tokenizer.ggml.* values. BOS
// and EOS come from the generation config when set, else from "<s>" and
// "</s>".
func NewTokenizer(kind string, tokens []string, types []int32, merges []string, gen GenerationConfig) (*Tokenizer, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("bart: the file has no tokenizer (tokenizer.ggml.tokens is missing)")
	}
	if kind != "gpt2" {
		return nil, fmt.Errorf("bart: tokenizer.ggml.model is %q, want \"gpt2\" (byte-level BPE)", kind)
	}
	if len(types) != len(tokens) {
		return nil, fmt.Errorf("bart: tokenizer.ggml.token_type has %d entries for %d tokens", len(types), len(tokens))
	}
	v := &tokenizer.Vocabulary{Values: tokens, Types: types, Merges: merges, AddBOS: true, AddEOS: true}
	t := &Tokenizer{vocab: v, BOS: int(v.Encode("<s>")), EOS: int(v.Encode("</s>")), Pad: int(v.Encode("<pad>")), Mask: int(v.Encode("<mask>"))}
	if gen.BOS >= 0 {
		t.BOS = gen.BOS
	}
	if gen.EOS >= 0 {
		t.EOS = gen.EOS
	}
	if gen.Pad >= 0 {
		t.Pad = gen.Pad
	}
	for _, id := range []int{t.BOS, t.EOS, t.Pad} {
		if id < 0 || id >= len(tokens) {
			return nil, fmt.Errorf("bart: the tokenizer lacks <s>, </s> or <pad> (ids %d, %d, %d)", t.BOS, t.EOS, t.Pad)
		}
	}
	// Byte-level BPE needs a token for every byte, or text would be lost.
	for b := range 256 {
		if v.Encode(byteChar(byte(b))) < 0 {
			return nil, fmt.Errorf("bart: the vocabulary has no token for byte 0x%02x: not a byte-level BPE vocabulary", b)
		}
	}
	v.BOS, v.EOS = []int32{int32(t.BOS)}, []int32{int32(t.EOS)}
	t.bpe = tokenizer.NewBytePairEncoding(v)
	return t, nil
}

// byteChar is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for
// themselves, the others (0–32, 127–160, 173) map to U+0100 onwards in order.
func byteChar(b byte) string {
	switch {
	case b <= 0x20:
		return string(rune(b) + 0x100)
	case b >= 0x7f && b <= 0xa0:
		return string(rune(b) + 0xa2)
	case b == 0xad:
		return string(rune(0x143))
	}
	return string(rune(b))
}

// RepairUTF8 replaces each byte that does not start a valid UTF-8 sequence
// with U+FFFD (text from the channel may hold any bytes).
func RepairUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

// Encode returns <s> ids </s> for a text (invalid UTF-8 repaired first).
func (t *Tokenizer) Encode(s string) ([]int32, error) {
	return t.bpe.Encode(RepairUTF8(s), true)
}

// Decode turns ids into text, skipping control tokens (skip_special_tokens)
// and repairing any invalid UTF-8 a model produced.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	var keep []int32
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.vocab.Values) {
			return "", fmt.Errorf("bart: token id %d out of range", id)
		}
		if t.vocab.Types[id] == tokenizer.TOKEN_TYPE_CONTROL {
			continue
		}
		keep = append(keep, id)
	}
	s, err := t.bpe.Decode(keep)
	if err != nil {
		return "", err
	}
	return RepairUTF8(s), nil
}

// TokenTypes marks BART's special tokens as control tokens, the rest as
// normal.
func TokenTypes(tokens []string) []int32 {
	types := make([]int32, len(tokens))
	for i, tok := range tokens {
		types[i] = tokenizer.TOKEN_TYPE_NORMAL
		for _, c := range controlTokens {
			if tok == c {
				types[i] = tokenizer.TOKEN_TYPE_CONTROL
			}
		}
	}
	return types
}

// SynthVocab makes a byte-level BPE vocabulary of exactly n tokens (n ≥
// 261) for synthetic models: <s>, <pad>, </s>, <unk>, the 256 byte symbols,
// merges that build lower-case words (with and without the leading-space
// symbol Ġ) letter by letter, breadth first, and <mask> last — the layout
// of BART's vocabulary, so texts tokenize into realistic lengths.
func SynthVocab(n int) (tokens []string, types []int32, merges []string) {
	tokens = []string{"<s>", "<pad>", "</s>", "<unk>"}
	for b := range 256 {
		tokens = append(tokens, byteChar(byte(b)))
	}
	need := n - len(tokens) - 1
	letters := "abcdefghijklmnopqrstuvwxyz"
	level := []string{"Ġ"}
	for _, c := range letters {
		level = append(level, string(c))
	}
	for len(merges) < need {
		var next []string
		for _, left := range level {
			for _, c := range letters {
				if len(merges) == need {
					break
				}
				merges = append(merges, left+" "+string(c))
				tokens = append(tokens, left+string(c))
				next = append(next, left+string(c))
			}
		}
		level = next
	}
	tokens = append(tokens, "<mask>")
	return tokens, TokenTypes(tokens), merges
}
