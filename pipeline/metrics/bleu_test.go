package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// perHyp turns sacrebleu's reference layout (one stream per reference
// "file") into this package's layout (the references of each hypothesis).
func perHyp(streams [][]string) [][]string {
	out := make([][]string, len(streams[0]))
	for _, s := range streams {
		for i, r := range s {
			out[i] = append(out[i], r)
		}
	}
	return out
}

// The README example of sacrebleu v2.6.0 test/test_bleu.py.
var (
	readmeHyps = []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	readmeRefs = perHyp([][]string{
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	})
)

// rawCorpus is sacrebleu.raw_corpus_bleu: no tokenization, floor smoothing,
// effective order.
func rawCorpus(v float64) BLEUOptions {
	return BLEUOptions{Tokenize: "none", Smooth: "floor", SmoothValue: v, EffectiveOrder: true, MaxOrder: 4}
}

// TestSacreBLEUPublished checks the expected scores published in sacrebleu
// v2.6.0's test/test_bleu.py and test/test_sentence_bleu.py. Tolerances are
// the ones those files use (1e-8 on the 0–1 scale, 1e-3 for sentence BLEU
// on 0–100) or half a unit of the last printed digit.
func TestSacreBLEUPublished(t *testing.T) {
	const roRef = "producţia de zahăr brut se exprimă în zahăr alb;"
	const roSys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
	sent := func(tok, smooth string, v float64) BLEUOptions {
		return BLEUOptions{Tokenize: tok, Smooth: smooth, SmoothValue: v, EffectiveOrder: true, MaxOrder: 4}
	}
	withOrder := func(n int) BLEUOptions { o := CorpusBLEUOptions; o.MaxOrder = n; return o }
	withTok := func(tok string) BLEUOptions { o := CorpusBLEUOptions; o.Tokenize = tok; return o }
	withSmooth := func(s string) BLEUOptions { o := CorpusBLEUOptions; o.Smooth = s; return o }

	tests := []struct {
		name  string
		hyps  []string
		refs  [][]string
		opt   BLEUOptions
		want  float64 // 0–100
		tol   float64
		scale float64 // the source compares score/scale
	}{
		{"corpus default", readmeHyps, readmeRefs, CorpusBLEUOptions, 48.530827, 1e-6, 1},
		{"corpus empty hyps", []string{"", "", ""}, readmeRefs, CorpusBLEUOptions, 0, 1e-8, 1},
		{"corpus tok none", readmeHyps, readmeRefs, withTok("none"), 49.1919566, 1e-6, 1},
		{"corpus tok 13a", readmeHyps, readmeRefs, withTok("13a"), 48.530827, 1e-6, 1},
		{"corpus smooth none", readmeHyps, readmeRefs, withSmooth("none"), 48.530827, 1e-6, 1},
		{"max order 1", readmeHyps, readmeRefs, withOrder(1), 77.65, 0.005, 1},
		{"max order 2", readmeHyps, readmeRefs, withOrder(2), 60.50, 0.005, 1},
		{"max order 3", readmeHyps, readmeRefs, withOrder(3), 53.93, 0.005, 1},
		{"max order 4", readmeHyps, readmeRefs, withOrder(4), 48.53, 0.005, 1},
		{"max order 5", readmeHyps, readmeRefs, withOrder(5), 46.14, 0.005, 1},
		{"max order 6", readmeHyps, readmeRefs, withOrder(6), 43.28, 0.005, 1},
		{"raw no match", []string{"this is a test", "another test"}, [][]string{{"ref1"}, {"ref2"}}, rawCorpus(0.01), 0, 1e-8, 100},
		{"raw identical", []string{"this is a test"}, [][]string{{"this is a test"}}, rawCorpus(0.01), 1, 1e-8, 100},
		{"raw one word off", []string{"this is a fest"}, [][]string{{"this is a test"}}, rawCorpus(0.01), 0.223606797749979, 1e-8, 100},
		{"effective order 1", []string{"test"}, [][]string{{"a test"}}, rawCorpus(0.01), 0.3678794411714425, 1e-8, 100},
		{"effective order 2", []string{"a test"}, [][]string{{"a test"}}, rawCorpus(0.01), 1, 1e-8, 100},
		{"effective order 3", []string{"a little test"}, [][]string{{"a test"}}, rawCorpus(0.01), 0.03218297948685433, 1e-8, 100},
		{"offset default floor", []string{"am I am a character sequence"}, [][]string{{"I am a symbol string sequence a a"}}, rawCorpus(-1), 0.1555722182, 1e-8, 100},
		{"offset zero floor", []string{"am I am a character sequence"}, [][]string{{"I am a symbol string sequence a a"}}, rawCorpus(0), 0, 1e-8, 100},
		{"sentence exp", []string{roSys}, [][]string{{roRef}}, sent("13a", "exp", -1), 8.493, 1e-3, 1},
		{"sentence none", []string{roSys}, [][]string{{roRef}}, sent("13a", "none", -1), 0, 1e-3, 1},
		{"sentence floor default", []string{roSys}, [][]string{{roRef}}, sent("13a", "floor", -1), 4.51688, 1e-3, 1},
		{"sentence floor 0.1", []string{roSys}, [][]string{{roRef}}, sent("13a", "floor", 0.1), 4.51688, 1e-3, 1},
		{"sentence floor 0.5", []string{roSys}, [][]string{{roRef}}, sent("13a", "floor", 0.5), 10.10, 1e-3, 1},
		{"sentence add-k default", []string{roSys}, [][]string{{roRef}}, sent("13a", "add-k", -1), 14.882, 1e-3, 1},
		{"sentence add-k 1", []string{roSys}, [][]string{{roRef}}, sent("13a", "add-k", 1), 14.882, 1e-3, 1},
		{"sentence add-k 2", []string{roSys}, [][]string{{roRef}}, sent("13a", "add-k", 2), 21.389, 1e-3, 1},
		{"sentence tok none", []string{roSys}, [][]string{{roRef}}, sent("none", "exp", -1), 7.347, 1e-3, 1},
		{"sentence zero exp", []string{"this is a cat"}, [][]string{{"okay thanks"}}, sent("13a", "exp", -1), 0, 1e-3, 1},
		{"sentence zero add-k", []string{"this is a cat"}, [][]string{{"okay thanks"}}, sent("13a", "add-k", -1), 0, 1e-3, 1},
		{"sentence zero floor", []string{"this is a cat"}, [][]string{{"okay thanks"}}, sent("13a", "floor", -1), 0, 1e-3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SacreBLEU(tc.hyps, tc.refs, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(got.Score/tc.scale - tc.want); d > tc.tol {
				t.Fatalf("score %.10g, want %.10g (|diff| %.3g > %g)", got.Score/tc.scale, tc.want, d, tc.tol)
			}
		})
	}
}

// TestSacreBLEUStatistics checks sufficient statistics and compute_bleu
// against test_bleu.py's test_statistics and test_scoring cases.
func TestSacreBLEUStatistics(t *testing.T) {
	got, err := SacreBLEU([]string{"am I am a character sequence"}, [][]string{{"I am a symbol string sequence a a"}}, rawCorpus(0.01))
	if err != nil {
		t.Fatal(err)
	}
	wantC, wantT := []float64{4, 2, 1, 0}, []float64{6, 5, 4, 3}
	for n := range 4 {
		if got.Counts[n] != wantC[n] || got.Totals[n] != wantT[n] {
			t.Fatalf("counts %v totals %v, want %v %v", got.Counts, got.Totals, wantC, wantT)
		}
	}
	st := &bleuStats{sysLen: 11, refLen: 11, correct: []int{9, 7, 5, 3}, total: []int{10, 8, 6, 4}}
	opt := CorpusBLEUOptions
	opt.Smooth = "none"
	if s := st.score(opt).Score / 100; math.Abs(s-0.8375922397) > 1e-8 {
		t.Fatalf("compute_bleu = %.10f, want 0.8375922397", s)
	}
	// test_degenerate_statistics: no matches is 0 whatever the floor.
	for _, st := range []*bleuStats{
		{sysLen: 0, refLen: 1, correct: []int{0, 0, 0, 0}, total: []int{4, 4, 2, 1}},
		{sysLen: 14, refLen: 10, correct: []int{0, 0, 0, 0}, total: []int{10, 11, 12, 0}},
		{sysLen: 0, refLen: 0, correct: []int{0, 0, 0, 0}, total: []int{0, 0, 0, 0}},
		{sysLen: 1, refLen: 5, correct: []int{0, 0, 0, 0}, total: []int{0, 0, 0, 0}},
	} {
		if s := st.score(rawCorpus(0.1)).Score; s != 0 {
			t.Fatalf("degenerate %+v scored %g", st, s)
		}
	}
}

// TestSacreBLEUHandChecked holds cases small enough to work out on paper.
func TestSacreBLEUHandChecked(t *testing.T) {
	tests := []struct {
		name     string
		hyp      string
		refs     []string
		sentence float64 // sacrebleu sentence_bleu, 0–100
		corpus   float64 // sacrebleu corpus_bleu of the one pair
	}{
		// Identical: every precision 100, BP 1.
		{"identical", "a b c d", []string{"a b c d"}, 100, 100},
		// 2 tokens vs 3: unigrams 2/2, bigrams 1/1, no 3-/4-grams.
		// Sentence: effective order 2, 100·exp(1−3/2). Corpus: 3-gram total 0
		// stops the loop, precisions 3,4 stay 0, log floor gives 0.
		{"short", "the cat", []string{"the cat sat"}, 100 * math.Exp(-0.5), 0},
		// 13a splits the period, so "cat ." matches; the closest of two
		// references (lengths 5 and 3 vs hypothesis 3) is 3. Three tokens
		// have no 4-gram: the sentence score uses effective order 3, the
		// corpus score floors log 0 and is 0.
		{"two refs", "a cat.", []string{"the big red cat .", "a cat ."}, 100, 0},
		// An empty reference is skipped, as sacrebleu skips it.
		{"empty ref skipped", "a b c d", []string{"", "a b c d"}, 100, 100},
		// Empty hypothesis: no matches, score 0.
		{"empty hyp", "", []string{"a b"}, 0, 0},
		// A missed 4-gram takes exp smoothing; worked out below.
		{"exp smoothing", "w x y z", []string{"w x y q z"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SacreSentenceBLEU(tc.hyp, tc.refs)
			if err != nil {
				t.Fatal(err)
			}
			c, err := SacreCorpusBLEU([]string{tc.hyp}, [][]string{tc.refs})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "exp smoothing" {
				// unigrams 4/4, bigrams 2/3 (w x, x y), trigrams 1/2
				// (w x y), 4-grams 0/1 → exp smoothing 100/(2·1);
				// BP exp(1−5/4).
				want := math.Exp(1-5.0/4) * math.Exp((math.Log(100)+math.Log(200.0/3)+math.Log(50)+math.Log(50))/4)
				tc.sentence, tc.corpus = want, want
			}
			if math.Abs(s.Score-tc.sentence) > 1e-9 || math.Abs(c.Score-tc.corpus) > 1e-9 {
				t.Fatalf("sentence %.12g corpus %.12g, want %.12g %.12g", s.Score, c.Score, tc.sentence, tc.corpus)
			}
		})
	}
}

func TestSacreBLEUBadInput(t *testing.T) {
	tests := []struct {
		name string
		hyps []string
		refs [][]string
		want string
	}{
		{"count mismatch", []string{"a", "b"}, [][]string{{"a"}}, "2 hypotheses but 1"},
		{"no hypotheses", nil, nil, "no hypotheses"},
		{"all refs empty", []string{"a", "b"}, [][]string{{"a"}, {"", ""}}, "hypothesis 2: all references are empty"},
		{"no refs", []string{"a"}, [][]string{{}}, "hypothesis 1: all references are empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SacreCorpusBLEU(tc.hyps, tc.refs)
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a badinput error containing %q", err, tc.want)
			}
		})
	}
}

// TestTokenize13aVectors pins the byte scanner to Python re.sub semantics on
// the strings of testdata/tok13a.json (see gen_tok13a.py).
func TestTokenize13aVectors(t *testing.T) {
	var v struct {
		Cases []struct{ In, Out string }
	}
	readJSON(t, "testdata/tok13a.json", &v)
	if len(v.Cases) < 100 {
		t.Fatalf("only %d cases", len(v.Cases))
	}
	for i, c := range v.Cases {
		if got := Tokenize13a(pyRstrip(c.In)); got != c.Out {
			t.Errorf("case %d %q: got %q, want %q", i, c.In, got, c.Out)
		}
	}
}

// TestNLTKBLEUVectors compares with NLTK 3.8 (testdata/bleu_nltk.json, from
// gen_bleu_nltk.py). Go and glibc's log/exp may differ in the last ulp, so
// the tolerance is 1e-12 relative; the 1e-154-style values of NLTK's
// unsmoothed zero-count fallback are checked the same way.
func TestNLTKBLEUVectors(t *testing.T) {
	var v struct {
		NLTK     string
		Sentence []struct {
			Hyp  string
			Refs []string
			BLEU float64
		}
		Corpus struct{ BLEU float64 }
	}
	readJSON(t, "testdata/bleu_nltk.json", &v)
	if v.NLTK != NLTKVersion {
		t.Fatalf("vectors from NLTK %s, code follows %s", v.NLTK, NLTKVersion)
	}
	var hyps []string
	var refs [][]string
	for i, c := range v.Sentence {
		got, err := NLTKSentenceBLEU(c.Hyp, c.Refs)
		if err != nil {
			t.Fatal(err)
		}
		if !relClose(got, c.BLEU, 1e-12) {
			t.Errorf("case %d %q: got %.17g, want %.17g", i, c.Hyp, got, c.BLEU)
		}
		hyps, refs = append(hyps, c.Hyp), append(refs, c.Refs)
	}
	got, err := NLTKCorpusBLEU(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	if !relClose(got, v.Corpus.BLEU, 1e-12) {
		t.Errorf("corpus: got %.17g, want %.17g", got, v.Corpus.BLEU)
	}
}

func TestFsum(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{0.1, 0.2, 0.3}, 0.6}, // naive sum gives 0.6000000000000001
		{[]float64{1e100, 1, -1e100}, 1},
		{[]float64{1, 1e-16, 1e-16}, 1.0000000000000002},
		{nil, 0},
	}
	for _, tc := range tests {
		if got := fsum(tc.xs); got != tc.want {
			t.Errorf("fsum(%v) = %.17g, want %.17g", tc.xs, got, tc.want)
		}
	}
}

func relClose(a, b, tol float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestBLEUConcurrent: pooled counters make BLEU safe to call from several
// goroutines, with the same result as a single call.
func TestBLEUConcurrent(t *testing.T) {
	hyps, refs := captionPairs(300)
	want, err := SacreCorpusBLEU(hyps, refs)
	if err != nil {
		t.Fatal(err)
	}
	wantN, _ := NLTKCorpusBLEU(hyps, refs)
	errs := make(chan string, 8)
	for g := range 8 {
		go func() {
			SacreCorpusBLEU(hyps[g:], refs[g:]) // leaves a differently ordered vocabulary in the pool
			got, _ := SacreCorpusBLEU(hyps, refs)
			gotN, _ := NLTKCorpusBLEU(hyps, refs)
			if got.Score != want.Score || gotN != wantN {
				errs <- fmt.Sprintf("goroutine %d: %v %v, want %v %v", g, got.Score, gotN, want.Score, wantN)
				return
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
