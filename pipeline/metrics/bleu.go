package metrics

import (
	"fmt"
	"math"

	"github.com/multisc/multisc/bindings/badinput"
)

// SacreBLEUVersion is the sacrebleu release whose BLEU this file reproduces
// (sacrebleu/metrics/bleu.py, tokenizers/tokenizer_13a.py at v2.6.0).
const SacreBLEUVersion = "2.6.0"

// MaxNgramOrder is BLEU's default n-gram order.
const MaxNgramOrder = 4

// BLEUOptions selects sacrebleu's BLEU variant. The zero value is not valid;
// start from CorpusBLEUOptions or SentenceBLEUOptions.
type BLEUOptions struct {
	// Tokenize is "13a" (sacrebleu's default) or "none" (split on spaces).
	Tokenize string
	// Smooth is "exp" (sacrebleu's default), "none", "floor" or "add-k".
	Smooth string
	// SmoothValue is the constant for "floor" and "add-k"; a negative value
	// means sacrebleu's default (0.1 for floor, 1 for add-k).
	SmoothValue float64
	// EffectiveOrder stops the geometric mean at the highest n-gram order the
	// hypothesis has; sacrebleu's sentence_bleu turns it on.
	EffectiveOrder bool
	// MaxOrder is the highest n-gram order (4).
	MaxOrder int
}

// CorpusBLEUOptions are sacrebleu's corpus_bleu defaults: 13a, exp smoothing,
// 4-grams, no effective order.
var CorpusBLEUOptions = BLEUOptions{Tokenize: "13a", Smooth: "exp", SmoothValue: -1, MaxOrder: MaxNgramOrder}

// SentenceBLEUOptions are sacrebleu's sentence_bleu defaults: as corpus BLEU
// but with effective order on.
var SentenceBLEUOptions = BLEUOptions{Tokenize: "13a", Smooth: "exp", SmoothValue: -1, EffectiveOrder: true, MaxOrder: MaxNgramOrder}

// BLEUScore is a sacrebleu-style BLEU result on the 0–100 scale, with the
// sufficient statistics it came from.
type BLEUScore struct {
	Score      float64   `json:"score"`      // 0–100
	Counts     []float64 `json:"counts"`     // matched n-grams per order
	Totals     []float64 `json:"totals"`     // hypothesis n-grams per order
	Precisions []float64 `json:"precisions"` // per order, 0–100, after smoothing
	BP         float64   `json:"bp"`         // brevity penalty
	SysLen     int       `json:"sys_len"`    // hypothesis tokens
	RefLen     int       `json:"ref_len"`    // closest-reference tokens
}

// SacreCorpusBLEU is sacrebleu's corpus_bleu with default settings.
// refs[i] holds the references of hyps[i] (any number, at least one
// non-empty); empty reference strings are skipped as sacrebleu skips them.
func SacreCorpusBLEU(hyps []string, refs [][]string) (BLEUScore, error) {
	return SacreBLEU(hyps, refs, CorpusBLEUOptions)
}

// SacreSentenceBLEU is sacrebleu's sentence_bleu with default settings.
func SacreSentenceBLEU(hyp string, refs []string) (BLEUScore, error) {
	return SacreBLEU([]string{hyp}, [][]string{refs}, SentenceBLEUOptions)
}

// SacreBLEU computes corpus BLEU over aligned hypotheses and references with
// the given options.
func SacreBLEU(hyps []string, refs [][]string, opt BLEUOptions) (BLEUScore, error) {
	tok, err := opt.tokenizer()
	if err != nil {
		return BLEUScore{}, err
	}
	if len(hyps) != len(refs) {
		return BLEUScore{}, badinput.Errorf("BLEU: %d hypotheses but %d reference sets", len(hyps), len(refs))
	}
	if len(hyps) == 0 {
		return BLEUScore{}, badinput.Errorf("BLEU: no hypotheses")
	}
	st := newBLEUStats(opt.MaxOrder)
	st.counter = getCounter()
	defer putCounter(st.counter)
	for i, h := range hyps {
		if err := st.addSegment(tok, h, refs[i]); err != nil {
			return BLEUScore{}, badinput.Errorf("BLEU: hypothesis %d: %w", i+1, err)
		}
	}
	return st.score(opt), nil
}

// tokenizer returns the preprocessing sacrebleu applies to every segment:
// strip trailing whitespace, then tokenize.
func (o BLEUOptions) tokenizer() (func(string) []string, error) {
	if o.MaxOrder < 1 || o.MaxOrder > maxOrder {
		return nil, fmt.Errorf("BLEU: max n-gram order %d outside 1..%d", o.MaxOrder, maxOrder)
	}
	switch o.Smooth {
	case "exp", "none", "floor", "add-k":
	default:
		return nil, fmt.Errorf("BLEU: unknown smoothing %q", o.Smooth)
	}
	switch o.Tokenize {
	case "13a":
		return func(s string) []string { return tokens13a(pyRstrip(s)) }, nil
	case "none":
		return func(s string) []string { return pyFields(pyRstrip(s)) }, nil
	}
	return nil, fmt.Errorf("BLEU: unknown tokenizer %q", o.Tokenize)
}

// bleuStats are corpus sufficient statistics: sacrebleu sums them over
// segments before scoring.
type bleuStats struct {
	sysLen, refLen int
	correct, total []int
	counter        *ngramCounter
}

func newBLEUStats(order int) *bleuStats {
	return &bleuStats{correct: make([]int, order), total: make([]int, order)}
}

// addSegment adds one hypothesis and its references.
func (st *bleuStats) addSegment(tok func(string) []string, hyp string, refs []string) error {
	var rtoks [][]string
	var refLens []int
	for _, r := range refs {
		if r == "" { // sacrebleu drops empty references (variable reference counts)
			continue
		}
		t := tok(r)
		rtoks = append(rtoks, t)
		refLens = append(refLens, len(t))
	}
	if len(refLens) == 0 {
		return fmt.Errorf("all references are empty (sacrebleu rejects this too)")
	}
	htoks := tok(hyp)
	st.sysLen += len(htoks)
	st.refLen += closestRefLen(len(htoks), refLens)
	st.counter.match(htoks, rtoks, st.correct, st.total)
	return nil
}

// closestRefLen picks the reference length nearest the hypothesis length,
// the shorter one on a tie.
func closestRefLen(hypLen int, refLens []int) int {
	best, bestDiff := -1, -1
	for _, r := range refLens {
		d := hypLen - r
		if d < 0 {
			d = -d
		}
		if bestDiff < 0 || d < bestDiff || (d == bestDiff && r < best) {
			best, bestDiff = r, d
		}
	}
	return best
}

// sacreLog is sacrebleu's my_log: log with log(0) floored to -9999999999.
func sacreLog(x float64) float64 {
	if x == 0 {
		return -9999999999
	}
	return math.Log(x)
}

// score is sacrebleu's BLEU.compute_bleu, with the same operation order so
// results agree to the last bit or two.
func (st *bleuStats) score(opt BLEUOptions) BLEUScore {
	order := len(st.correct)
	s := BLEUScore{
		Counts:     make([]float64, order),
		Totals:     make([]float64, order),
		Precisions: make([]float64, order),
		SysLen:     st.sysLen,
		RefLen:     st.refLen,
		BP:         1,
	}
	for n := range order {
		s.Counts[n], s.Totals[n] = float64(st.correct[n]), float64(st.total[n])
	}
	if st.sysLen < st.refLen {
		s.BP = 0
		if st.sysLen > 0 {
			s.BP = math.Exp(1 - float64(st.refLen)/float64(st.sysLen))
		}
	}
	anyCorrect := false
	for _, c := range st.correct {
		anyCorrect = anyCorrect || c != 0
	}
	if !anyCorrect { // sacrebleu issue #141: no matches at all is plain 0
		return s
	}
	smoothValue := opt.SmoothValue
	if smoothValue < 0 {
		smoothValue = map[string]float64{"floor": 0.1, "add-k": 1}[opt.Smooth]
	}
	mteval, effOrder := 1.0, order
	for n := range order {
		if opt.Smooth == "add-k" && n > 0 {
			s.Counts[n] += smoothValue
			s.Totals[n] += smoothValue
		}
		if s.Totals[n] == 0 {
			break
		}
		if opt.EffectiveOrder {
			effOrder = n + 1
		}
		switch {
		case s.Counts[n] != 0:
			s.Precisions[n] = 100 * s.Counts[n] / s.Totals[n]
		case opt.Smooth == "exp":
			mteval *= 2
			s.Precisions[n] = 100 / (mteval * s.Totals[n])
		case opt.Smooth == "floor":
			s.Precisions[n] = 100 * smoothValue / s.Totals[n]
		}
	}
	sum := 0.0
	for _, p := range s.Precisions[:effOrder] {
		sum += sacreLog(p)
	}
	s.Score = s.BP * math.Exp(sum/float64(effOrder))
	return s
}
