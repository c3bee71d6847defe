package llava

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/kvcache"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/clip"
)

// Arch is the name `multisc synth/convert --arch` know the pair by.
const Arch = "llava"

// Options control one Caption call.
type Options struct {
	Query     string // must hold ImageMarker once; default PaperQuery
	System    string // system prompt; default DefaultSystem ("-" for none)
	MaxTokens int    // generated tokens at most (default 64)
	Sampling
	BatchSize  int      // prompt tokens per forward pass (default 512)
	CacheType  ml.DType // KV cache type (default f16, as llama.cpp)
	KeepLogits bool     // return the logits of the first generated token
	// FirstStream is the sampling stream of the first image (image i uses
	// FirstStream+i), so that a caption does not depend on how images are
	// grouped into calls.
	FirstStream uint64
}

func (o *Options) defaults() {
	if o.Query == "" {
		o.Query = PaperQuery
	}
	switch o.System {
	case "":
		o.System = DefaultSystem
	case "-":
		o.System = ""
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 64
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.CacheType == 0 {
		o.CacheType = ml.DTypeF16
	}
	if o.TopP == 0 {
		o.TopP = 1
	}
}

// Result is one caption.
type Result struct {
	Text         string
	Tokens       []int32 // generated tokens, the stop token excluded
	PromptTokens int     // text + image tokens of the prompt
	Stop         string  // "eos" or "max_tokens"
	FirstLogits  []float32
}

// Stats are the timings of one Caption call (all sequences together).
type Stats struct {
	EncodeSeconds, PromptSeconds, DecodeSeconds float64
	PromptTokens, DecodeTokens, DecodeSteps     int
}

// Captioner is a LLaVA model: a qwen2 language model and its mmproj.
type Captioner struct {
	LM     *bindings.Loaded
	Vision *clip.VisionLoaded
	lm     *lmModel
	opts   lmOptions

	hidden   int
	vocab    []string
	types    []int32
	stops    []int32
	Template Template
	// TemplateKnown is false when the GGUF's chat template was not
	// recognised and ChatML is used instead.
	TemplateKnown bool
	Last          Stats
}

// Open loads a language model (--llm) and its mmproj (--mmproj) and checks
// that they belong together.
func Open(lmPath, mmprojPath string, o bindings.Options) (*Captioner, error) {
	return OpenWith(lmPath, mmprojPath, o, false)
}

// OpenWith is Open with the choice of ggml's fused flash-attention kernel
// for every attention of both models (llama.cpp's CPU default is "auto",
// which turns it on).
func OpenWith(lmPath, mmprojPath string, o bindings.Options, flash bool) (*Captioner, error) {
	tune := func(p *ml.BackendParams) {
		if flash {
			p.FlashAttention = ml.FlashAttentionEnabled
		}
	}
	o.Arch = LMArch
	lmf, err := bindings.OpenTuned(lmPath, o, tune)
	if err != nil {
		return nil, err
	}
	v, err := clip.OpenVisionTuned(mmprojPath, o, tune)
	if err != nil {
		lmf.Close()
		return nil, err
	}
	c := &Captioner{LM: lmf, Vision: v, lm: lmf.Model.(*lmModel)}
	kv := lmf.Meta.KV()
	c.hidden = int(kv.Uint("embedding_length"))
	c.opts = newLMOptions(kv)
	c.vocab = kv.Strings("tokenizer.ggml.tokens")
	for _, t := range kv.Ints("tokenizer.ggml.token_type") {
		c.types = append(c.types, int32(t))
	}
	if w := v.Model.EmbeddingLength(); w != c.hidden {
		c.Close()
		return nil, badinput.Errorf("--mmproj %s: projector width %d does not match --llm %s hidden size %d (not a matching pair)", mmprojPath, w, lmPath, c.hidden)
	}
	voc := c.lm.Vocabulary()
	c.stops = append(c.stops, voc.EOS...)
	for _, s := range []string{ImEnd, EndOfText} {
		if id := voc.Encode(s); id >= 0 {
			c.stops = append(c.stops, id)
		}
	}
	c.Template, c.TemplateKnown = DetectTemplate(kv.ChatTemplate())
	return c, nil
}

// Close frees both models.
func (c *Captioner) Close() {
	if c.Vision != nil {
		c.Vision.Close()
	}
	if c.LM != nil {
		c.LM.Close()
	}
}

// ImageTokens is the number of tokens one image takes in the prompt.
func (c *Captioner) ImageTokens() int { return c.Vision.Model.Patches() }

// Tokenize splits the rendered prompt of a query at its image marker.
func (c *Captioner) Tokenize(o Options) (pre, post []int32, err error) {
	o.defaults()
	if n := strings.Count(o.Query, ImageMarker); n != 1 {
		return nil, nil, badinput.Errorf("--prompt %q: must contain %s exactly once (has %d)", o.Query, ImageMarker, n)
	}
	parts := strings.SplitN(c.Template.Render(o.System, o.Query), ImageMarker, 2)
	if pre, err = c.lm.Encode(parts[0], false); err != nil {
		return nil, nil, err
	}
	if post, err = c.lm.Encode(parts[1], false); err != nil {
		return nil, nil, err
	}
	return pre, post, nil
}

// Caption describes each image with the same query; the images are decoded
// together as one batch of sequences, greedy results equal to captioning
// them one at a time.
func (c *Captioner) Caption(imgs []image.Image, o Options) (_ []Result, err error) {
	defer bindings.RecoverCompute(&err)
	o.defaults()
	pre, post, err := c.Tokenize(o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	px := make([][]float32, len(imgs))
	for i, img := range imgs {
		px[i] = c.Vision.Model.Preprocess(img)
	}
	embs := c.Vision.Embed(px)
	enc := time.Since(start).Seconds()
	res, err := c.Generate(pre, post, embs, o)
	c.Last.EncodeSeconds = enc
	return res, err
}

// item is one position of one sequence in a forward pass: a token, or an
// image embedding row when emb is not nil.
type item struct {
	seq  int
	pos  int32
	tok  int32
	emb  []float32
	want bool // return logits for it
}

// newCaches makes one KV cache per sequence, of capacity cells each: a
// sequence attends over its own cells only (decoder.go), laid out as when
// it is captioned alone.
func (c *Captioner) newCaches(n, capacity int, o Options) []*kvcache.Causal {
	caches := make([]*kvcache.Causal, n)
	for s := range caches {
		caches[s] = kvcache.NewCausalCache(c.lm.Shift)
		caches[s].Init(c.lm.Backend(), o.CacheType, 1, capacity, o.BatchSize)
	}
	return caches
}

func closeCaches(caches []*kvcache.Causal) {
	for _, cache := range caches {
		cache.Close()
	}
}

// promptItems is sequence seq's prompt: pre, the image embedding's rows
// (emb, E values a row), post; logits wanted for its last item.
func (c *Captioner) promptItems(seq int, pre, post []int32, emb []float32) []item {
	var items []item
	add := func(it item) {
		it.seq, it.pos = seq, int32(len(items))
		items = append(items, it)
	}
	for _, t := range pre {
		add(item{tok: t})
	}
	for r := range len(emb) / c.hidden {
		add(item{emb: emb[r*c.hidden : (r+1)*c.hidden]})
	}
	for _, t := range post {
		add(item{tok: t})
	}
	items[len(items)-1].want = true
	return items
}

// Generate runs the language model on pre + image tokens + post for each
// image embedding (E·n values, n image tokens each) and decodes.
func (c *Captioner) Generate(pre, post []int32, embs [][]float32, o Options) ([]Result, error) {
	o.defaults()
	n := len(embs)
	if n == 0 {
		return nil, nil
	}
	nimg := len(embs[0]) / c.hidden
	plen := len(pre) + nimg + len(post)
	caches := c.newCaches(n, plen+o.MaxTokens+1, o)
	defer closeCaches(caches)

	c.Last = Stats{}
	res := make([]Result, n)
	samplers := make([]*sampler, n)
	detok := make([]*Detokenizer, n)
	var text []strings.Builder = make([]strings.Builder, n)
	var prompt []item
	for s := range n {
		samplers[s] = newSampler(o.Sampling, o.FirstStream+uint64(s))
		detok[s] = NewDetokenizer(c.vocab, c.types)
		res[s].PromptTokens = plen
		prompt = append(prompt, c.promptItems(s, pre, post, embs[s])...)
	}

	// Prompt: each sequence on its own, in passes of BatchSize rows
	// (llama.cpp's default n_ubatch; see BenchmarkLM); the decode steps
	// below are what batching saves.
	start := time.Now()
	next := make([]int32, n)
	var chunks [][]item
	for s := range n {
		seq := prompt[s*plen : (s+1)*plen]
		for lo := 0; lo < len(seq); lo += o.BatchSize {
			chunks = append(chunks, seq[lo:min(lo+o.BatchSize, len(seq))])
		}
	}
	for _, chunk := range chunks {
		logits, err := c.forward(caches, chunk)
		if err != nil {
			return nil, err
		}
		for i, it := range chunk {
			if l, ok := logits[i]; ok {
				if o.KeepLogits {
					res[it.seq].FirstLogits = l
				}
				next[it.seq] = samplers[it.seq].sample(l)
			}
		}
	}
	c.Last.PromptSeconds = time.Since(start).Seconds()
	c.Last.PromptTokens = len(prompt)

	// Decode: one token per live sequence per step, all in one batch.
	start = time.Now()
	pos := make([]int32, n)
	for s := range pos {
		pos[s] = int32(plen)
	}
	live := make([]bool, n)
	for s := range live {
		live[s] = true
	}
	for {
		var step []item
		for s := range n {
			if !live[s] {
				continue
			}
			t := next[s]
			if slices.Contains(c.stops, t) {
				live[s], res[s].Stop = false, "eos"
				continue
			}
			res[s].Tokens = append(res[s].Tokens, t)
			text[s].WriteString(detok[s].Add(t))
			if len(res[s].Tokens) >= o.MaxTokens {
				live[s], res[s].Stop = false, "max_tokens"
				continue
			}
			step = append(step, item{seq: s, pos: pos[s], tok: t, want: true})
			pos[s]++
		}
		if len(step) == 0 {
			break
		}
		logits, err := c.forward(caches, step)
		if err != nil {
			return nil, err
		}
		for i, it := range step {
			next[it.seq] = samplers[it.seq].sample(logits[i])
		}
		c.Last.DecodeSteps++
		c.Last.DecodeTokens += len(step)
	}
	c.Last.DecodeSeconds = time.Since(start).Seconds()
	for s := range res {
		text[s].WriteString(detok[s].Flush())
		res[s].Text = text[s].String()
	}
	return res, nil
}

// forward runs one batch through the language model and returns the logits
// of the items that want them, keyed by their index in items. Each
// sequence's items are consecutive in items, and go to caches[seq].
func (c *Captioner) forward(caches []*kvcache.Causal, items []item) (map[int][]float32, error) {
	lm := c.lm
	ctx := lm.Backend().NewContext()
	defer ctx.Close()
	n := len(items)
	pass := lmPass{caches: caches, opts: &c.opts}
	positions := make([]int32, n)
	toks := make([]int32, n)
	var embIdx, outIdx []int32
	var embData []float32
	for i, it := range items {
		positions[i], toks[i] = it.pos, it.tok
		if it.emb != nil {
			embIdx = append(embIdx, int32(i))
			embData = append(embData, it.emb...)
		}
		if it.want {
			outIdx = append(outIdx, int32(i))
		}
		if k := len(pass.spans) - 1; k >= 0 && pass.spans[k].seq == it.seq {
			pass.spans[k].len++
			continue
		}
		for _, s := range pass.spans {
			if s.seq == it.seq {
				return nil, fmt.Errorf("llava: sequence %d's items are not consecutive in a forward pass", it.seq)
			}
		}
		pass.spans = append(pass.spans, span{seq: it.seq, off: i, len: 1})
	}
	for _, s := range pass.spans {
		batch := input.Batch{Positions: positions[s.off : s.off+s.len], Sequences: make([]int, s.len)}
		if err := caches[s.seq].StartForward(ctx, batch, false); err != nil {
			return nil, fmt.Errorf("kv cache: %w", err)
		}
	}
	h := lm.TokenEmbedding.Forward(ctx, ctx.Input().FromInts(toks, n)) // [H, n]
	if len(embIdx) > 0 {
		src := ctx.Input().FromFloats(embData, c.hidden, len(embIdx))
		h = h.SetRows(ctx, src, ctx.Input().FromInts(embIdx, len(embIdx)))
	}
	pass.positions = ctx.Input().FromInts(positions, n)
	outputs := ctx.Input().FromInts(outIdx, len(outIdx))
	for i := range lm.Layers {
		var out ml.Tensor
		if i == len(lm.Layers)-1 {
			out = outputs
		}
		h = pass.layerForward(ctx, i, &lm.Layers[i], h, out)
	}
	h = lm.OutputNorm.Forward(ctx, h, c.opts.eps)
	logits := linear(ctx, lm.Output, h) // [V, len(outIdx)]
	ctx.Forward(logits).Compute(logits)
	vals := logits.Floats()
	v := logits.Dim(0)
	out := make(map[int][]float32, len(outIdx))
	for j, i := range outIdx {
		out[int(i)] = vals[j*v : (j+1)*v]
	}
	return out, nil
}
