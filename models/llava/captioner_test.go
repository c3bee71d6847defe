package llava

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/parity"
)

func synthPair(t *testing.T, typ fsggml.TensorType, seed uint64) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "lm.gguf")
	files, err := SynthPair("tiny", seed, typ, out)
	if err != nil {
		t.Fatal(err)
	}
	return files[0], files[1]
}

func openTiny(t *testing.T, typ fsggml.TensorType) *Captioner {
	t.Helper()
	lm, mm := synthPair(t, typ, 3)
	c, err := Open(lm, mm, bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func testImages(n int) []image.Image {
	var out []image.Image
	for k := range n {
		img := image.NewNRGBA(image.Rect(0, 0, 30+7*k, 24))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*(k+3) + 11*k)
		}
		out = append(out, img)
	}
	return out
}

func TestCaptionBatchEqualsSequential(t *testing.T) {
	c := openTiny(t, fsggml.TensorTypeF32)
	imgs := testImages(3)
	o := Options{MaxTokens: 12, KeepLogits: true}
	batch, err := c.Caption(imgs, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		one, err := c.Caption([]image.Image{img}, o)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one[0].Tokens, batch[i].Tokens) || one[0].Text != batch[i].Text {
			t.Errorf("image %d: batch %v %q, alone %v %q", i, batch[i].Tokens, batch[i].Text, one[0].Tokens, one[0].Text)
		}
		t.Logf("image %d: %d prompt tokens, %v (%s) %q", i, batch[i].PromptTokens, batch[i].Tokens, batch[i].Stop, batch[i].Text)
	}
	if slices.Equal(batch[0].Tokens, batch[1].Tokens) {
		t.Errorf("different images gave the same tokens %v", batch[0].Tokens)
	}
}

func TestCaptionStops(t *testing.T) {
	c := openTiny(t, fsggml.TensorTypeF32)
	imgs := testImages(1)
	res, err := c.Caption(imgs, Options{MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Tokens) != 3 || res[0].Stop != "max_tokens" {
		t.Fatalf("max tokens 3: got %v (%s)", res[0].Tokens, res[0].Stop)
	}
	// Make the second greedy token a stop token: generation ends there,
	// the stop token not included.
	saved := c.stops
	c.stops = append(slices.Clone(saved), res[0].Tokens[1])
	defer func() { c.stops = saved }()
	res2, err := c.Caption(imgs, Options{MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res2[0].Stop != "eos" || !slices.Equal(res2[0].Tokens, res[0].Tokens[:1]) {
		t.Fatalf("stop at %d: got %v (%s), want %v (eos)", res[0].Tokens[1], res2[0].Tokens, res2[0].Stop, res[0].Tokens[:1])
	}
	for _, want := range []string{ImEnd, EndOfText} {
		if id := c.lm.Vocabulary().Encode(want); !slices.Contains(saved, id) {
			t.Errorf("%s (%d) is not a stop token (%v)", want, id, saved)
		}
	}
}

func TestCaptionSamplingSeeded(t *testing.T) {
	c := openTiny(t, fsggml.TensorTypeF32)
	imgs := testImages(2)
	run := func(seed uint64, first uint64, imgs []image.Image) []Result {
		res, err := c.Caption(imgs, Options{MaxTokens: 10, FirstStream: first,
			Sampling: Sampling{Temperature: 1.5, TopK: 50, TopP: 0.95, Seed: seed}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, d := run(1, 0, imgs), run(1, 0, imgs), run(2, 0, imgs)
	for i := range a {
		if !slices.Equal(a[i].Tokens, b[i].Tokens) {
			t.Errorf("image %d: same seed gave %v and %v", i, a[i].Tokens, b[i].Tokens)
		}
	}
	if slices.Equal(a[0].Tokens, d[0].Tokens) && slices.Equal(a[1].Tokens, d[1].Tokens) {
		t.Errorf("seeds 1 and 2 gave the same tokens %v", a[0].Tokens)
	}
	// Image 1 alone, as stream 1, samples as it did in the batch.
	if one := run(1, 1, imgs[1:]); !slices.Equal(one[0].Tokens, a[1].Tokens) {
		t.Errorf("image 1 alone %v, in batch %v", one[0].Tokens, a[1].Tokens)
	}
}

// TestQ8LMForward: a q8_0 language model (real quantized matmuls and
// get_rows through the whole forward pass) gives first-token logits within
// 5e-2·max|ref| of the f32 model with the same weights, and its greedy
// first token.
func TestQ8LMForward(t *testing.T) {
	lm32, mm := synthPair(t, fsggml.TensorTypeF32, 4)
	lm8, _ := synthPair(t, fsggml.TensorTypeQ8_0, 4)
	var logits [2][]float32
	var first [2]int32
	for i, lm := range []string{lm32, lm8} {
		c, err := Open(lm, mm, bindings.Options{Device: "cpu"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Caption(testImages(1), Options{MaxTokens: 1, KeepLogits: true, CacheType: 0})
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		logits[i], first[i] = res[0].FirstLogits, res[0].Tokens[0]
	}
	rel := parity.MaxRelErr(logits[1], logits[0])
	t.Logf("q8_0 vs f32 first-token logits: max|Δ|/max|ref| = %.2e", rel)
	if err := parity.Compare(logits[1], logits[0], 5e-2); err != nil {
		t.Error(err)
	}
	if rel == 0 {
		t.Error("q8_0 logits equal f32 logits exactly: the quantized path did not run")
	}
	if first[0] != first[1] {
		t.Logf("greedy first token differs: f32 %d, q8_0 %d", first[0], first[1])
	}
}

func TestTokenizerRoundTrip(t *testing.T) {
	c := openTiny(t, fsggml.TensorTypeF32)
	for _, s := range []string{
		"a photo of a dog sitting on the grass",
		"Relay a brief, clear account of the picture shown.\n\n  tabs\tand CRLF\r\n",
		"中文字幕 日本語のテキスト 한국어",
		"emoji 🐕‍🦺 👍🏽 and flags 🇫🇷",
		"control \x00\x01\x02\x1b[0m \x7f bytes",
		"mixed: naïve café — “quotes” 12345",
	} {
		ids, err := c.lm.Encode(s, false)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDetokenizer(c.vocab, c.types)
		var got string
		for _, id := range ids {
			piece := d.Add(id)
			if !utf8.ValidString(piece) {
				t.Errorf("%q: piece %q is not valid UTF-8", s, piece)
			}
			got += piece
		}
		got += d.Flush()
		if got != s {
			t.Errorf("round trip %q -> %v -> %q", s, ids, got)
		}
	}
	// Special tokens in text become their ids.
	ids, _ := c.lm.Encode("<|im_start|>user<|im_end|>", false)
	if v := c.lm.Vocabulary(); len(ids) < 3 || ids[0] != v.Encode(ImStart) || ids[len(ids)-1] != v.Encode(ImEnd) {
		t.Errorf("special tokens: %v", ids)
	}
}

func TestOpenBadInput(t *testing.T) {
	lm, mm := synthPair(t, fsggml.TensorTypeF32, 1)
	// An mmproj whose projector is 48 wide (the clip package's fixture).
	odd := filepath.Join(t.TempDir(), "odd-mmproj.gguf")
	if err := bindings.ConvertFiles("clip", []string{"../clip/testdata/clip_llava", "../clip/testdata/clip_tower"}, fsggml.TensorTypeF32, odd); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lm, mm string
		want   []string
	}{
		{lm, odd, []string{"--mmproj", "width 48", "hidden size 64"}},
		{mm, mm, []string{`"clip"`, `"qwen2"`}},
		{lm, lm, []string{`"qwen2"`, `"clip"`}},
		{lm, filepath.Join(t.TempDir(), "nope.gguf"), []string{"nope.gguf"}},
	} {
		_, err := Open(tc.lm, tc.mm, bindings.Options{Device: "cpu"})
		if !badinput.Is(err) {
			t.Errorf("%s + %s: got %v, want a bad-input error", tc.lm, tc.mm, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s + %s: %v does not mention %s", tc.lm, tc.mm, err, w)
			}
		}
	}
	c, err := Open(lm, mm, bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Caption(testImages(1), Options{Query: "no marker"}); !badinput.Is(err) || !strings.Contains(err.Error(), "<image>") {
		t.Errorf("query without <image>: %v", err)
	}
}

func TestSynthPairDeterministic(t *testing.T) {
	a1, a2 := synthPair(t, fsggml.TensorTypeQ8_0, 9)
	b1, b2 := synthPair(t, fsggml.TensorTypeQ8_0, 9)
	for _, p := range [][2]string{{a1, b1}, {a2, b2}} {
		x, _ := os.ReadFile(p[0])
		y, _ := os.ReadFile(p[1])
		if len(x) == 0 || string(x) != string(y) {
			t.Errorf("%s and %s differ (same seed)", p[0], p[1])
		}
	}
}

func TestDetectTemplate(t *testing.T) {
	for _, tc := range []struct {
		jinja string
		want  Template
		ok    bool
	}{
		{"", TemplateChatML, true},
		{ChatMLTemplate, TemplateChatML, true},
		{"{{ system }} USER: {{ q }} ASSISTANT:", TemplateVicuna, true},
		{"[INST] {{ q }} [/INST]", TemplateChatML, false},
	} {
		if got, ok := DetectTemplate(tc.jinja); got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %s %v, want %s %v", tc.jinja, got, ok, tc.want, tc.ok)
		}
	}
	got := TemplateChatML.Render("S", PaperQuery)
	want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<image>\nRelay a brief, clear account of the picture shown.<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("ChatML:\n%q\nwant\n%q", got, want)
	}
}

// TestForwardBatchBytes: a decode step of three sequences in one pass gives
// each sequence the logits bytes of the same step with that sequence alone
// (a cache per sequence, MulmatColumns for the few columns), for an f32
// and a q8_0 language model. The prompts are 0, 1 and 2 images long, so the
// sequences' caches differ in length too.
func TestForwardBatchBytes(t *testing.T) {
	for _, typ := range []fsggml.TensorType{fsggml.TensorTypeF32, fsggml.TensorTypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			c := openTiny(t, typ)
			o := Options{}
			o.defaults()
			pre, post, err := c.Tokenize(o)
			if err != nil {
				t.Fatal(err)
			}
			emb := c.Vision.Embed([][]float32{c.Vision.Model.Preprocess(testImages(1)[0])})[0]
			embs := [][]float32{nil, emb, append(slices.Clone(emb), emb...)}
			// step runs the prompts of seqs, then one decode step of all of
			// them in one pass, and returns each one's logits.
			step := func(seqs []int) [][]float32 {
				caches := c.newCaches(len(seqs), 256, o)
				defer closeCaches(caches)
				var next []item
				for k, s := range seqs {
					prompt := c.promptItems(k, pre, post, embs[s])
					if _, err := c.forward(caches, prompt); err != nil {
						t.Fatal(err)
					}
					next = append(next, item{seq: k, pos: int32(len(prompt)), tok: int32(5 + s), want: true})
				}
				logits, err := c.forward(caches, next)
				if err != nil {
					t.Fatal(err)
				}
				out := make([][]float32, len(seqs))
				for k := range seqs {
					out[k] = logits[k]
				}
				return out
			}
			batch := step([]int{0, 1, 2})
			for s := range 3 {
				if alone := step([]int{s}); !slices.Equal(batch[s], alone[0]) {
					t.Errorf("sequence %d: logits in a batch of three differ from alone (max|Δ|/max|ref| %.1e)", s, parity.MaxRelErr(batch[s], alone[0]))
				}
			}
		})
	}
}
