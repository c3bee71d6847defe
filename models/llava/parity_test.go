package llava

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

func ints(v []float32) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func convertFixture(t *testing.T, typ fsggml.TensorType) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "llava.gguf")
	files, err := ConvertPair([]string{"testdata/tower", "testdata/llava"}, typ, out)
	if err != nil {
		t.Fatal(err)
	}
	return files[0], files[1]
}

// TestLLaVAParity: the whole captioner against testdata/make_llava_fixture.py
// (a PyTorch LLaVA: CLIP tower, mlp2x_gelu projector, Qwen2 LM with GQA and
// tied head), converted by ConvertPair: the logits after prompt + image +
// prompt within parity.Tol·max|ref| (f32 KV cache), the same greedy tokens,
// and the converted tokenizer encodes like the reference BPE.
func TestLLaVAParity(t *testing.T) {
	for _, flash := range []bool{false, true} {
		t.Run(map[bool]string{false: "sdpa", true: "flash"}[flash], func(t *testing.T) { testLLaVAParity(t, flash) })
	}
}

func testLLaVAParity(t *testing.T, flash bool) {
	lm, mm := convertFixture(t, fsggml.TensorTypeF32)
	c, err := OpenWith(lm, mm, bindings.Options{Device: "cpu"}, flash)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want, err := checkpoint.Load("testdata/expect.pt")
	if err != nil {
		t.Fatal(err)
	}
	embs := c.Vision.Embed([][]float32{want["pixels"].Data})
	pre, post := ints(want["pre"].Data), ints(want["post"].Data)
	greedy := ints(want["greedy"].Data)
	for _, ct := range []struct {
		name string
		dt   ml.DType
		tol  float64
	}{{"f32 cache", ml.DTypeF32, parity.Tol}, {"f16 cache", ml.DTypeF16, 2e-3}} {
		res, err := c.Generate(pre, post, embs, Options{MaxTokens: len(greedy), KeepLogits: true, CacheType: ct.dt})
		if err != nil {
			t.Fatal(err)
		}
		if err := parity.Compare(res[0].FirstLogits, want["first_logits"].Data, ct.tol); err != nil {
			t.Errorf("%s: first-token logits: %v", ct.name, err)
		}
		t.Logf("%s: first-token logits max|Δ|/max|ref| = %.2e (tolerance %g)", ct.name, parity.MaxRelErr(res[0].FirstLogits, want["first_logits"].Data), ct.tol)
		if !slices.Equal(res[0].Tokens, greedy) {
			t.Errorf("%s: greedy %v, want %v", ct.name, res[0].Tokens, greedy)
		}
	}
	ids, err := c.lm.Encode(" a photo of a dog", false)
	if err != nil || !slices.Equal(ids, ints(want["sentence_ids"].Data)) {
		t.Errorf("tokenizer: %v %v, want %v", ids, err, ints(want["sentence_ids"].Data))
	}
	kv := c.LM.Meta.KV()
	toks := kv.Strings("tokenizer.ggml.tokens")
	if eos := kv.Uint("tokenizer.ggml.eos_token_id"); toks[eos] != ImEnd || len(toks) != 275 || toks[274] != "[PAD274]" {
		t.Errorf("tokenizer metadata: eos %d (%q), %d tokens, last %q", eos, toks[eos], len(toks), toks[len(toks)-1])
	}
	if kv.ChatTemplate() != ChatMLTemplate || c.Template != TemplateChatML {
		t.Errorf("chat template %q", kv.ChatTemplate())
	}
}

func TestConvertPairBadInput(t *testing.T) {
	dir := t.TempDir()
	// A LLaVA folder whose language model is not Qwen.
	bad := filepath.Join(dir, "llama")
	os.Mkdir(bad, 0o755)
	cfg, _ := os.ReadFile("testdata/llava/config.json")
	os.WriteFile(filepath.Join(bad, "config.json"), []byte(strings.ReplaceAll(strings.ReplaceAll(string(cfg), "llava_qwen2", "llava_llama"), "LlavaQwen2ForCausalLM", "LlavaLlamaForCausalLM")), 0o644)
	w, _ := os.ReadFile("testdata/llava/model.bin")
	os.WriteFile(filepath.Join(bad, "model.bin"), w, 0o644)
	out := filepath.Join(dir, "x.gguf")
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"testdata/llava"}, "two folders"},
		{[]string{"testdata/tower", "testdata/tower"}, "one LLaVA folder"},
		{[]string{bad, "testdata/tower"}, "not supported"},
		{[]string{"testdata/llava", filepath.Join(dir, "none")}, "none"},
	} {
		_, err := ConvertPair(tc.in, fsggml.TensorTypeF32, out)
		if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want a bad-input error about %q", tc.in, err, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: %s was written", tc.in, out)
		}
	}
}
