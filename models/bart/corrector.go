package bart

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
)

// Corrector is the receiver's spelling corrector (Algorithm 1, eq. 6): a
// BART model file loaded once, correcting batches of noisy captions.
type Corrector struct {
	l *bindings.Loaded
	m *Model

	// BatchSize is how many texts decode side by side (0: 32).
	BatchSize int
	// Warn receives one-time notices (a text truncated to the model's
	// positions); nil discards them.
	Warn func(msg string)

	warnOnce sync.Once
}

// Open loads a BART GGUF file for correction. A file without an embedded
// tokenizer, or whose vocabulary size differs from its embedding rows, is
// a bad-input error naming the file.
func Open(path string, o bindings.Options) (*Corrector, error) {
	o.Arch = Arch
	meta, err := bindings.Validate(path, Arch)
	if err != nil {
		return nil, err
	}
	kv := meta.KV()
	tokens := kv.Strings("tokenizer.ggml.tokens")
	if len(tokens) == 0 {
		return nil, badinput.Errorf("%s: no tokenizer in the file (tokenizer.ggml.tokens is missing)", path)
	}
	if v := int(kv.Uint("vocab_size")); len(tokens) != v {
		return nil, badinput.Errorf("%s: the tokenizer has %d tokens but the embedding has %d rows", path, len(tokens), v)
	}
	l, err := bindings.Open(path, o)
	if err != nil {
		if strings.Contains(err.Error(), "bart: ") {
			return nil, badinput.Errorf("%v", err)
		}
		return nil, err
	}
	return &Corrector{l: l, m: l.Model.(*Model)}, nil
}

// Close frees the model.
func (c *Corrector) Close() { c.l.Close() }

// Model is the loaded model.
func (c *Corrector) Model() *Model { return c.m }

// Defaults are the generation settings recorded in the file.
func (c *Corrector) Defaults() GenerationConfig { return c.m.Gen }

// Tokenize returns the encoder input of a text: <s> … </s>, cut to the
// model's max_position_embeddings (keeping </s>); truncated reports a cut.
func (c *Corrector) Tokenize(text string) (Input, bool, error) {
	ids, err := c.m.Tokenizer.Encode(text)
	if err != nil {
		return nil, false, err
	}
	if n := c.m.MaxPositions; len(ids) > n {
		ids = append(ids[:n-1], int32(c.m.Tokenizer.EOS))
		return ids, true, nil
	}
	return ids, false, nil
}

// Correct returns the corrected text of every input with the generation
// settings g (start from Defaults). Empty (or all-space) texts come back as
// they are without running the model; invalid UTF-8 is repaired; texts
// longer than the model's positions are truncated (said once through
// Warn). Texts are batched by length, BatchSize at a time.
func (c *Corrector) Correct(texts []string, g GenerationConfig) ([]string, error) {
	if err := g.Check(c.m.Vocab); err != nil {
		return nil, badinput.Errorf("generation settings: %v", err)
	}
	out := make([]string, len(texts))
	type item struct {
		i   int
		ids Input
	}
	var items []item
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = t
			continue
		}
		ids, cut, err := c.Tokenize(t)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		if cut {
			c.warnOnce.Do(func() {
				if c.Warn != nil {
					c.Warn(fmt.Sprintf("text %d (and maybe others) is longer than the model's %d positions: truncated", i, c.m.MaxPositions))
				}
			})
		}
		items = append(items, item{i, ids})
	}
	// Similar lengths together: less padding per batch.
	sort.SliceStable(items, func(a, b int) bool { return len(items[a].ids) < len(items[b].ids) })
	bs := c.BatchSize
	if bs <= 0 {
		bs = 32
	}
	for lo := 0; lo < len(items); lo += bs {
		batch := items[lo:min(lo+bs, len(items))]
		var in []Input
		for _, it := range batch {
			in = append(in, it.ids)
		}
		seqs, err := c.m.Generate(in, g)
		if err != nil {
			return nil, err
		}
		for k, it := range batch {
			s, err := c.m.Tokenizer.Decode(seqs[k])
			if err != nil {
				return nil, err
			}
			out[it.i] = s
		}
	}
	return out, nil
}
