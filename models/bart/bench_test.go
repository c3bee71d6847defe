package bart

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

// Benchmarks: correct 100 captions of ~20 words. By default they run on a
// tiny synthetic model (fast, for CI); set MULTISC_BART_MODEL to a
// full-size file for the figures, e.g.
//
//	multisc synth --arch bart --size full --seed 1 --type f16 --out /tmp/bart-f16.gguf
//	export CGO_CFLAGS="-O3 -march=x86-64-v3" CGO_CXXFLAGS="-O3 -march=x86-64-v3"
//	MULTISC_BART_MODEL=/tmp/bart-f16.gguf go test ./models/bart -run '^$' -bench Correct -benchtime 1x -count 3
//
// (Without the CGO flags ggml's CPU kernels are baseline x86-64, several
// times slower; see the README's Performance section.)
//
// MULTISC_BART_SINGLE=1 adds the one-caption-at-a-time runs at full size,
// MULTISC_BART_N=K uses the first K captions.
// The engine runs with 2 threads (MULTISC_BART_THREADS changes it), as does
// the PyTorch anchor, testdata/bench_reference.py. max_length is fixed at benchMaxLen so both sides decode the same
// number of steps on random weights.

const benchMaxLen = 40

// benchWords is the word list of the synthetic captions.
var benchWords = strings.Fields(`a an the man woman person child dog cat horse bird car bus train
truck bike boat plane red blue green white black small large young old
sitting standing riding walking holding eating playing parked flying near
on in with of at next to under over street road field beach table kitchen
grass water tree building sky snow wave board pizza plate umbrella`)

// BenchCaptions returns n seeded captions of about 20 words (18 to 22).
func BenchCaptions(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 20))
	var out []string
	for range n {
		k := 18 + r.IntN(5)
		w := make([]string, k)
		for i := range w {
			w[i] = benchWords[r.IntN(len(benchWords))]
		}
		out = append(out, strings.Join(w, " "))
	}
	return out
}

func benchModel(b testing.TB) *Corrector {
	path := os.Getenv("MULTISC_BART_MODEL")
	if path == "" {
		path = filepath.Join(b.TempDir(), "tiny.gguf")
		if err := bindings.Synth(Arch, "tiny", 1, fsggml.TensorTypeF32, path); err != nil {
			b.Fatal(err)
		}
	}
	threads := 2
	if v, err := strconv.Atoi(os.Getenv("MULTISC_BART_THREADS")); err == nil && v > 0 {
		threads = v
	}
	c, err := Open(path, bindings.Options{Device: "cpu", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkCorrect(b *testing.B) {
	c := benchModel(b)
	defer c.Close()
	n := 100
	if os.Getenv("MULTISC_BART_MODEL") == "" {
		n = 8 // the tiny default only checks that the benchmark runs
	}
	if v, err := strconv.Atoi(os.Getenv("MULTISC_BART_N")); err == nil && v > 0 {
		n = v // fewer captions (one-at-a-time runs at full size are slow)
	}
	texts := BenchCaptions(n, 1)
	for _, beams := range []int{1, 4} {
		for _, batch := range []int{100, 1} {
			name := fmt.Sprintf("beams=%d/batch=%d", beams, batch)
			if batch == 1 && os.Getenv("MULTISC_BART_SINGLE") == "" && os.Getenv("MULTISC_BART_MODEL") != "" {
				continue // one at a time at full size only on request (slow)
			}
			b.Run(name, func(b *testing.B) {
				g := c.Defaults()
				g.NumBeams, g.MaxLength = beams, benchMaxLen
				c.BatchSize = batch
				for b.Loop() {
					if _, err := c.Correct(texts, g); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(texts))*float64(b.N)/b.Elapsed().Seconds(), "captions/s")
			})
		}
	}
}

// TestExportReference writes, when MULTISC_BART_EXPORT names a folder, the
// weights of MULTISC_BART_MODEL as f32 safetensors under their Hugging Face
// names and PyTorch shapes (weights.safetensors), with the benchmark's
// token ids, generation settings and this port's greedy output on the
// first captions (bench_inputs.json), for testdata/bench_reference.py.
func TestExportReference(t *testing.T) {
	dir := os.Getenv("MULTISC_BART_EXPORT")
	if dir == "" {
		t.Skip("MULTISC_BART_EXPORT not set")
	}
	path := os.Getenv("MULTISC_BART_MODEL")
	meta, err := bindings.Validate(path, Arch)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	header := map[string]entry{}
	var blobs [][]byte
	off := 0
	for _, ti := range meta.Tensors().Items() {
		raw := make([]byte, ti.Size())
		if _, err := f.ReadAt(raw, int64(meta.Tensors().Offset+ti.Offset)); err != nil {
			t.Fatal(err)
		}
		vals := bindings.Decode(raw, fsggml.TensorType(ti.Kind), ti.Elements())
		shape := make([]int, len(ti.Shape))
		for i, d := range ti.Shape {
			shape[len(shape)-1-i] = int(d)
		}
		if ti.Name == "final_logits_bias" {
			shape = []int{1, shape[0]}
		}
		data := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		header[ti.Name] = entry{"F32", shape, [2]int{off, off + len(data)}}
		blobs = append(blobs, data)
		off += len(data)
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out, err := os.Create(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	binary.Write(out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	for _, b := range blobs {
		out.Write(b)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}

	c := benchModel(t)
	defer c.Close()
	texts := BenchCaptions(100, 1)
	var ids [][]int32
	for _, s := range texts {
		in, _, err := c.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in)
	}
	g := c.Defaults()
	g.NumBeams, g.MaxLength = 1, benchMaxLen
	var first []Input
	for _, x := range ids[:4] {
		first = append(first, x)
	}
	greedy, err := c.Model().Generate(first, g)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model()
	cfg := map[string]any{
		"vocab_size": m.Vocab, "d_model": m.DModel, "encoder_layers": m.EncLayers, "decoder_layers": m.DecLayers,
		"encoder_attention_heads": m.EncHeads, "decoder_attention_heads": m.DecHeads,
		"encoder_ffn_dim": m.EncFFN, "decoder_ffn_dim": m.DecFFN, "max_position_embeddings": m.MaxPositions,
		"scale_embedding": m.ScaleEmbedding, "pad_token_id": g.Pad, "bos_token_id": g.BOS, "eos_token_id": g.EOS,
		"decoder_start_token_id": g.DecoderStart, "forced_bos_token_id": g.ForcedBOS, "forced_eos_token_id": g.ForcedEOS,
		"no_repeat_ngram_size": g.NoRepeatNgram, "min_length": g.MinLength, "length_penalty": g.LengthPenalty,
		"early_stopping": g.EarlyStopping, "max_length": benchMaxLen,
	}
	js, _ := json.MarshalIndent(map[string]any{"config": cfg, "input_ids": ids, "greedy_first4": greedy}, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "bench_inputs.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("mean input tokens %.1f", float64(len(slices.Concat(ids...)))/float64(len(ids)))
}
