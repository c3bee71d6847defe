package bart

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
	"github.com/multisc/multisc/bindings/parity"
)

// fixture is bart_tiny_expect.json (testdata/make_fixture.py).
type fixture struct {
	Texts           []string
	InputIDs        [][]int32 `json:"input_ids"`
	DecoderInputIDs [][]int32 `json:"decoder_input_ids"`
	Greedy          [][]int32
	Beam4           [][]int32
	Beam3           [][]int32
	Beam3Settings   struct {
		EarlyStopping bool    `json:"early_stopping"`
		LengthPenalty float64 `json:"length_penalty"`
		NoRepeatNgram int     `json:"no_repeat_ngram_size"`
		MaxLength     int     `json:"max_length"`
	} `json:"beam3_settings"`
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/bart_tiny_expect.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// openFixture converts testdata/bart_tiny (a Hugging Face folder written by
// make_fixture.py) with the real converter to typ and opens it on the CPU.
func openFixture(t *testing.T, typ fsggml.TensorType) *Model {
	t.Helper()
	gguf := filepath.Join(t.TempDir(), "bart.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/bart_tiny"}, typ, gguf); err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(gguf, bindings.Options{Arch: Arch, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l.Model.(*Model)
}

func inputs(ids [][]int32) []Input {
	var in []Input
	for _, x := range ids {
		in = append(in, Input(x))
	}
	return in
}

// TestTokenizerMatchesReference: the embedded BPE gives the reference
// tokenizer's ids (GPT-2 encoder.py algorithm in make_fixture.py) and
// decodes them back to the exact text.
func TestTokenizerMatchesReference(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	f := loadFixture(t)
	for i, text := range f.Texts {
		ids, err := m.Tokenizer.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, f.InputIDs[i]) {
			t.Errorf("%q: ids %v, want %v", text, ids, f.InputIDs[i])
		}
		back, err := m.Tokenizer.Decode(ids)
		if err != nil || back != text {
			t.Errorf("round trip %q -> %q, %v", text, back, err)
		}
	}
}

// TestParity: encoder output and teacher-forced logits of the f32
// conversion within parity.Tol·max|ref| of the reference, for a batch of
// three inputs of different lengths (padding masked).
func TestParity(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	f := loadFixture(t)
	want, err := checkpoint.Load("testdata/bart_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	logits, enc, err := m.TeacherForced(inputs(f.InputIDs), f.DecoderInputIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  []float32
	}{{"encoder_out", enc}, {"logits", logits}} {
		t.Run(c.name, func(t *testing.T) {
			if err := parity.Compare(c.got, want[c.name].Data, parity.Tol); err != nil {
				t.Fatal(err)
			}
			t.Logf("max|Δ|/max|ref| = %.2e", parity.MaxRelErr(c.got, want[c.name].Data))
		})
	}
}

// trimPad drops HF's right padding after </s> of greedy rows.
func trimPad(seq []int32, eos int32) []int32 {
	if k := slices.Index(seq[1:], eos); k >= 0 {
		return seq[:k+2]
	}
	return seq
}

// TestGenerationMatchesReference: greedy and beam search give the
// reference's token sequences, with the generation settings recorded from
// generation_config.json and overridden as the fixture did.
func TestGenerationMatchesReference(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	f := loadFixture(t)
	if m.Gen.MaxLength != 18 || m.Gen.NumBeams != 4 || !m.Gen.EarlyStopping || m.Gen.NoRepeatNgram != 3 {
		t.Fatalf("generation defaults %+v, want generation_config.json's", m.Gen)
	}
	greedy := m.Gen
	greedy.NumBeams = 1
	b3 := m.Gen
	b3.NumBeams, b3.EarlyStopping, b3.LengthPenalty = 3, f.Beam3Settings.EarlyStopping, f.Beam3Settings.LengthPenalty
	b3.NoRepeatNgram, b3.MaxLength = f.Beam3Settings.NoRepeatNgram, f.Beam3Settings.MaxLength
	for _, c := range []struct {
		name string
		g    GenerationConfig
		want [][]int32
	}{{"greedy", greedy, f.Greedy}, {"beam4", m.Gen, f.Beam4}, {"beam3", b3, f.Beam3}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := m.Generate(inputs(f.InputIDs), c.g)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if w := trimPad(c.want[i], int32(m.Gen.EOS)); !slices.Equal(got[i], w) {
					t.Errorf("input %d: %v, want %v", i, got[i], w)
				}
			}
		})
	}
}

// TestQuantizedForward: q8_0 and q4_0 conversions (matrices quantized,
// norms and biases f32) run through the same forward pass and stay within
// a stated tolerance of the f32 reference: 2e-2·max|ref| for q8_0 (about
// 2–3 significant digits per weight), 1.5e-1·max|ref| for q4_0 (4-bit
// weights). Each must differ from the f32 result, or the quantized weights
// were not used.
func TestQuantizedForward(t *testing.T) {
	f := loadFixture(t)
	want, err := checkpoint.Load("testdata/bart_tiny_expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ fsggml.TensorType
		tol float64
	}{{fsggml.TensorTypeQ8_0, 2e-2}, {fsggml.TensorTypeQ4_0, 1.5e-1}} {
		t.Run(c.typ.String(), func(t *testing.T) {
			m := openFixture(t, c.typ)
			logits, enc, err := m.TeacherForced(inputs(f.InputIDs), f.DecoderInputIDs)
			if err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string][]float32{"encoder_out": enc, "logits": logits} {
				rel := parity.MaxRelErr(got, want[name].Data)
				t.Logf("%s max|Δ|/max|ref| = %.2e", name, rel)
				if err := parity.Compare(got, want[name].Data, c.tol); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if rel < 1e-5 {
					t.Errorf("%s: as close as f32 (%.1e): the quantized weights were not used", name, rel)
				}
			}
		})
	}
}

// TestSynthDeterministic: the same seed gives the same bytes, another seed
// other weights; the file loads and its tokenizer round-trips.
func TestSynthDeterministic(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, seed uint64) []byte {
		path := filepath.Join(dir, name)
		if err := bindings.Synth(Arch, "tiny", seed, fsggml.TensorTypeF32, path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := write("a.gguf", 3), write("b.gguf", 3), write("c.gguf", 4)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("same seed must give the same bytes and another seed different ones")
	}
	l, err := bindings.Open(filepath.Join(dir, "a.gguf"), bindings.Options{Arch: Arch, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	if m.Vocab != 400 || m.Tokenizer.Len() != 400 {
		t.Fatalf("vocab %d, tokenizer %d", m.Vocab, m.Tokenizer.Len())
	}
	ids, err := m.Tokenizer.Encode("a red car")
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := m.Tokenizer.Decode(ids); ids[0] != 0 || ids[len(ids)-1] != 2 || back != "a red car" {
		t.Errorf("ids %v decode to %q", ids, back)
	}
}

// TestBatchedEqualsSingle: decoding inputs of different lengths together
// (padding masked, beams side by side) gives each input's sequence alone.
func TestBatchedEqualsSingle(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	f := loadFixture(t)
	for _, beams := range []int{1, 4} {
		g := m.Gen
		g.NumBeams = beams
		all, err := m.Generate(inputs(f.InputIDs), g)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range f.InputIDs {
			one, err := m.Generate([]Input{x}, g)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one[0], all[i]) {
				t.Errorf("beams %d input %d: alone %v, batched %v", beams, i, one[0], all[i])
			}
		}
	}
}

// TestTokenizerRoundTrip: decode(encode(s)) == s for byte-level edge cases;
// invalid UTF-8 is repaired to U+FFFD first; control-token strings in the
// text are recognized as those tokens (RobertaTokenizer does the same).
func TestTokenizerRoundTrip(t *testing.T) {
	m := openFixture(t, fsggml.TensorTypeF32)
	tok := m.Tokenizer
	for _, s := range []string{"", " ", "  two  spaces", "tabs\tand\nnewlines\n", "ünïcödé ✓ 日本", "a.b,c!?", "'s 've 're"} {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if ids[0] != int32(tok.BOS) || ids[len(ids)-1] != int32(tok.EOS) {
			t.Errorf("%q: ids %v lack <s> … </s>", s, ids)
		}
		back, err := tok.Decode(ids)
		if err != nil || back != s {
			t.Errorf("%q -> %v -> %q (%v)", s, ids, back, err)
		}
	}
	ids, _ := tok.Encode("a\xffb")
	if back, _ := tok.Decode(ids); back != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 decoded as %q, want a\uFFFDb", back)
	}
	ids, _ = tok.Encode("x<mask>y")
	if !slices.Contains(ids, int32(tok.Mask)) {
		t.Errorf("<mask> in text not recognized: %v", ids)
	}
}

// TestCorrectorRules: empty texts come back as they are without a model
// run, long texts are truncated to the positions with </s> kept and said
// once.
func TestCorrectorRules(t *testing.T) {
	gguf := filepath.Join(t.TempDir(), "bart.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/bart_tiny"}, fsggml.TensorTypeF32, gguf); err != nil {
		t.Fatal(err)
	}
	c, err := Open(gguf, bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var warnings []string
	c.Warn = func(s string) { warnings = append(warnings, s) }
	long := strings.Repeat("a man riding a wave ", 30)
	ids, cut, err := c.Tokenize(long)
	if err != nil || !cut || len(ids) != c.Model().MaxPositions || ids[len(ids)-1] != int32(c.Model().Tokenizer.EOS) {
		t.Fatalf("long text: %d ids, cut %v, %v", len(ids), cut, err)
	}
	g := c.Defaults()
	g.NumBeams = 2
	out, err := c.Correct([]string{"", long, "  ", long + "x", "two dogs"}, g)
	if err != nil {
		t.Fatal(err)
	}
	ids, _, _ = c.Tokenize("two dogs")
	seq, err := c.Model().Generate([]Input{ids}, g)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Model().Tokenizer.Decode(seq[0])
	if out[0] != "" || out[2] != "  " || out[4] != want {
		t.Errorf("outputs %q, want \"\", \"  \" and %q", out, want)
	}
	if len(warnings) != 1 {
		t.Errorf("%d warnings, want one: %q", len(warnings), warnings)
	}
	if _, err := c.Correct([]string{"x"}, GenerationConfig{NumBeams: 0, MaxLength: 10}); err == nil {
		t.Error("num_beams 0 accepted")
	}
}
