package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/metrics"
)

func init() {
	var refs []string
	var hyp string
	var sentence, asJSON bool
	register(&command{
		Name:  "bleu",
		Short: "BLEU of hypotheses against references (sacreBLEU and NLTK-style)",
		Usage: "--ref REFS.txt [--ref REFS2.txt ...] --hyp HYPS.txt [--sentence] [--json]",
		Long: `Scores line-aligned text files: line i of --hyp against line i of every
--ref file (give --ref once per reference set, e.g. five for COCO captions;
an empty reference line is skipped, as sacreBLEU skips it).

Two BLEUs are reported, each named:
  sacrebleu  sacreBLEU ` + metrics.SacreBLEUVersion + ` defaults, 0-100: 13a tokenization, 4-grams,
             brevity penalty, exp smoothing; corpus BLEU, or with --sentence
             sentence BLEU (effective order) per line
  nltk       NLTK ` + metrics.NLTKVersion + ` corpus_bleu / sentence_bleu defaults, 0-1: whitespace
             tokens, uniform 4-gram weights, no smoothing (a missing n-gram
             order gives NLTK's near-zero value, e.g. 1e-154)`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringArrayVar(&refs, "ref", nil, "reference file, one segment per line (repeatable)")
			fs.StringVar(&hyp, "hyp", "", "hypothesis file, one segment per line")
			fs.BoolVar(&sentence, "sentence", false, "score every line (sentence BLEU) instead of the corpus")
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("bleu takes no arguments (use --ref and --hyp)")
			}
			if hyp == "" || len(refs) == 0 {
				return badInput("bleu: --hyp and at least one --ref are required")
			}
			return runBLEU(env, hyp, refs, sentence, asJSON)
		},
	})
}

// readLines reads a UTF-8 text file as lines split at "\n" (a final newline
// ends the last line rather than starting an empty one) with trailing
// whitespace stripped, as sacreBLEU's command line reads its inputs; a
// whitespace-only reference line thus counts as empty and is skipped.
func readLines(flag, path string) ([]string, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, badInput("%s %s: no such file", flag, path)
	case err != nil:
		return nil, badInput("%s %s: %v", flag, path, err)
	}
	if len(data) == 0 {
		return nil, badInput("%s %s: empty file", flag, path)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, badInput("%s %s:%d: not valid UTF-8", flag, path, i+1)
		}
		lines[i] = strings.TrimRightFunc(l, pySpace)
	}
	return lines, nil
}

// bleuLine is one --sentence result.
type bleuLine struct {
	Line      int     `json:"line"`
	SacreBLEU float64 `json:"sacrebleu"`
	NLTK      float64 `json:"nltk"`
}

// bleuReport is the --json output of "multisc bleu".
type bleuReport struct {
	Hyp   string   `json:"hyp"`
	Refs  []string `json:"refs"`
	Lines int      `json:"lines"`
	// Corpus scores (without --sentence).
	SacreBLEU          *metrics.BLEUScore `json:"sacrebleu,omitempty"`
	SacreBLEUSignature string             `json:"sacrebleu_signature"`
	NLTKCorpus         *float64           `json:"nltk_corpus_bleu,omitempty"`
	// Sentence scores (with --sentence) and their means.
	Sentences     []bleuLine `json:"sentences,omitempty"`
	MeanSacreBLEU *float64   `json:"mean_sacrebleu,omitempty"`
	MeanNLTK      *float64   `json:"mean_nltk,omitempty"`
}

func runBLEU(env *Env, hypPath string, refPaths []string, sentence, asJSON bool) error {
	hyps, err := readLines("--hyp", hypPath)
	if err != nil {
		return err
	}
	refs := make([][]string, len(hyps))
	for _, p := range refPaths {
		lines, err := readLines("--ref", p)
		if err != nil {
			return err
		}
		if len(lines) != len(hyps) {
			return badInput("--hyp %s has %d lines but --ref %s has %d; the files must be line-aligned", hypPath, len(hyps), p, len(lines))
		}
		for i, l := range lines {
			refs[i] = append(refs[i], l)
		}
	}
	refList := strings.Join(refPaths, ", ")
	r := bleuReport{Hyp: hypPath, Refs: refPaths, Lines: len(hyps)}
	opt := metrics.CorpusBLEUOptions
	if sentence {
		opt = metrics.SentenceBLEUOptions
	}
	r.SacreBLEUSignature = fmt.Sprintf("nrefs:%d|case:mixed|eff:%s|tok:%s|smooth:%s|version:%s",
		len(refPaths), map[bool]string{true: "yes", false: "no"}[opt.EffectiveOrder], opt.Tokenize, opt.Smooth, metrics.SacreBLEUVersion)

	if !sentence {
		s, err := metrics.SacreBLEU(hyps, refs, opt)
		if err != nil {
			return badInput("--ref %s: %v", refList, err)
		}
		n, err := metrics.NLTKCorpusBLEU(hyps, refs)
		if err != nil {
			return badInput("--ref %s: %v", refList, err)
		}
		r.SacreBLEU, r.NLTKCorpus = &s, &n
	} else {
		var sumS, sumN float64
		for i := range hyps {
			s, err := metrics.SacreBLEU(hyps[i:i+1], refs[i:i+1], opt)
			if err != nil {
				return badInput("--ref %s: line %d: all references are empty (sacreBLEU rejects this too)", refList, i+1)
			}
			n, err := metrics.NLTKSentenceBLEU(hyps[i], refs[i])
			if err != nil {
				return badInput("--ref %s: line %d: %v", refList, i+1, err)
			}
			r.Sentences = append(r.Sentences, bleuLine{Line: i + 1, SacreBLEU: s.Score, NLTK: n})
			sumS += s.Score
			sumN += n
		}
		ms, mn := sumS/float64(len(hyps)), sumN/float64(len(hyps))
		r.MeanSacreBLEU, r.MeanNLTK = &ms, &mn
	}
	if asJSON {
		return env.printJSON(r)
	}
	printBLEU(env, r)
	return nil
}

func printBLEU(env *Env, r bleuReport) {
	w := env.Stdout
	if r.SacreBLEU != nil {
		s := r.SacreBLEU
		prec := make([]string, len(s.Precisions))
		for i, p := range s.Precisions {
			prec[i] = fmt.Sprintf("%.1f", p)
		}
		ratio := 0.0
		if s.RefLen > 0 {
			ratio = float64(s.SysLen) / float64(s.RefLen)
		}
		fmt.Fprintf(w, "sacrebleu corpus BLEU (0-100)  %.2f  %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)\n",
			s.Score, strings.Join(prec, "/"), s.BP, ratio, s.SysLen, s.RefLen)
		fmt.Fprintf(w, "  signature %s\n", r.SacreBLEUSignature)
		fmt.Fprintf(w, "nltk corpus BLEU (0-1)         %.4f  (whitespace tokens, 4-gram, no smoothing)\n", *r.NLTKCorpus)
		return
	}
	fmt.Fprintf(w, "%-6s %10s %10s\n", "line", "sacrebleu", "nltk")
	for _, l := range r.Sentences {
		fmt.Fprintf(w, "%-6d %10.2f %10.4f\n", l.Line, l.SacreBLEU, l.NLTK)
	}
	fmt.Fprintf(w, "%-6s %10.2f %10.4f\n", "mean", *r.MeanSacreBLEU, *r.MeanNLTK)
	fmt.Fprintf(w, "sacrebleu: sentence BLEU 0-100, %s; nltk: sentence_bleu 0-1, whitespace tokens, no smoothing\n", r.SacreBLEUSignature)
}

// pySpace is Python's str.isspace: Go's unicode.IsSpace plus the ASCII
// information separators U+001C..U+001F.
func pySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }
