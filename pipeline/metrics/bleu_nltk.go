package metrics

import (
	"math"

	"github.com/multisc/multisc/bindings/badinput"
)

// NLTKVersion is the NLTK release whose nltk.translate.bleu_score this file
// reproduces.
const NLTKVersion = "3.8"

// NLTKSentenceBLEU is NLTK's sentence_bleu(references, hypothesis) with its
// defaults — uniform 4-gram weights, no smoothing — on the 0–1 scale. Text is
// tokenized with Python's str.split() (no lowercasing, no punctuation rules),
// the usual way papers feed NLTK.
//
// NLTK's unsmoothed behaviour is kept exactly: with no unigram match the score
// is 0; when a higher order has no match, NLTK warns and substitutes the
// smallest normal float64 (2.2e-308) for that precision, so the score is a
// tiny positive number (about 1e-77 per missing order for typical captions),
// not 0. Empty references count as zero-length references.
func NLTKSentenceBLEU(hyp string, refs []string) (float64, error) {
	return NLTKCorpusBLEU([]string{hyp}, [][]string{refs})
}

// NLTKCorpusBLEU is NLTK's corpus_bleu with default weights and no
// smoothing; refs[i] are the references of hyps[i].
func NLTKCorpusBLEU(hyps []string, refs [][]string) (float64, error) {
	if len(hyps) != len(refs) {
		return 0, badinput.Errorf("NLTK BLEU: %d hypotheses but %d reference sets", len(hyps), len(refs))
	}
	const order = 4
	var num, den [order]int
	hypLens, refLens := 0, 0
	c := getCounter()
	defer putCounter(c)
	for i, h := range hyps {
		if len(refs[i]) == 0 {
			return 0, badinput.Errorf("NLTK BLEU: hypothesis %d has no references", i+1)
		}
		htoks := pyFields(h)
		rtoks := make([][]string, len(refs[i]))
		lens := make([]int, len(refs[i]))
		for k, r := range refs[i] {
			rtoks[k] = pyFields(r)
			lens[k] = len(rtoks[k])
		}
		var match, total [order]int
		c.match(htoks, rtoks, match[:], total[:])
		for n := range order {
			num[n] += match[n]
			den[n] += max(1, total[n]) // NLTK's denominator is never 0
		}
		hypLens += len(htoks)
		refLens += closestRefLen(len(htoks), lens) // NLTK breaks ties the same way
	}
	if num[0] == 0 {
		return 0, nil
	}
	bp := 1.0
	switch {
	case hypLens > refLens:
	case hypLens == 0:
		bp = 0
	default:
		bp = math.Exp(1 - float64(refLens)/float64(hypLens))
	}
	var terms [order]float64
	for n := range order {
		p := 0x1p-1022 // sys.float_info.min: NLTK's method0 stand-in for 0
		if num[n] != 0 {
			p = float64(num[n]) / float64(den[n])
		}
		terms[n] = 0.25 * math.Log(p)
	}
	return bp * math.Exp(fsum(terms[:])), nil
}

// fsum is an exactly rounded sum, as Python's math.fsum (Shewchuk's
// algorithm with a list of non-overlapping partials).
func fsum(xs []float64) float64 {
	var partials []float64
	for _, x := range xs {
		i := 0
		for _, y := range partials {
			if math.Abs(x) < math.Abs(y) {
				x, y = y, x
			}
			hi := x + y
			lo := y - (hi - x)
			if lo != 0 {
				partials[i] = lo
				i++
			}
			x = hi
		}
		partials = append(partials[:i], x)
	}
	// Round the partials' exact sum: add from the largest, and correct the
	// half-way case as math.fsum does.
	n := len(partials)
	if n == 0 {
		return 0
	}
	n--
	hi := partials[n]
	lo := 0.0
	for n > 0 {
		x := hi
		n--
		y := partials[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	if n > 0 && ((lo < 0 && partials[n-1] < 0) || (lo > 0 && partials[n-1] > 0)) {
		y := lo * 2
		x := hi + y
		yr := x - hi
		if y == yr {
			hi = x
		}
	}
	return hi
}
