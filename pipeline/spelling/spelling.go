// Package spelling builds the training set of the receiver's BART spelling
// corrector, as the paper does (Sec. IV-A): clean captions are sent through
// the simulated link (pipeline/channel) over a grid of SNRs, channels,
// modulations and codes, and each received (misspelled) text is paired with
// its clean caption.
//
// # Rules
//
//   - Captions come from a text file (one per line) or a COCO captions JSON
//     (annotations[].caption). Each is trimmed, its inner whitespace runs
//     collapsed to one space; empty captions are skipped; repeated captions
//     are kept once (first occurrence).
//   - Every pair's noise is seeded by (seed, caption text, channel,
//     modulation, code, SNR, repeat): the same inputs and seed give the same
//     bytes, whatever the order of the grid.
//   - Split: a caption goes wholly to train or to valid (a seeded hash of
//     its text against the valid fraction), so no clean target appears in
//     both.
//   - Deduplication: within a split, a pair whose (input, target) was
//     already written is dropped and counted as a duplicate in its summary
//     row.
//   - Pairs whose input equals the target (no error survived the link) are
//     kept by default — they teach the corrector to leave clean text alone
//     — and counted as identical in the summary; with DropIdentical they are
//     left out and counted as dropped. Nothing is dropped without a count.
//   - Error rates: CER is the character (rune) Levenshtein distance over the
//     target's characters, WER the word distance (whitespace-separated) over
//     the target's words, both summed over the pairs of a summary row before
//     dividing; they are measured on every generated pair, before
//     deduplication.
package spelling

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline/channel"
)

// Pair is one training example (one JSONL line).
type Pair struct {
	Input      string  `json:"input"`
	Target     string  `json:"target"`
	SNRdB      float64 `json:"snr_db"`
	Channel    string  `json:"channel"`
	Modulation string  `json:"modulation"`
	Code       string  `json:"code"`
}

// Options say what to build.
type Options struct {
	SNRs          []float64 // Es/N0 in dB per complex symbol (see pipeline/channel)
	Channels      []string  // awgn, rayleigh
	Mods          []string  // bpsk, qpsk, 16qam, 64qam
	Codes         []string  // none or ldpc-N-R
	Coherence     int       // Rayleigh coherence in symbols (0: 1)
	Repeats       int       // noisy draws per caption and grid point (0: 1)
	Seed          uint64
	Valid         float64 // fraction of captions in the valid split, 0 … 1
	DropIdentical bool    // leave out pairs whose input equals the target
}

// Row is one line of the summary: one grid point.
type Row struct {
	Channel    string  `json:"channel"`
	Modulation string  `json:"modulation"`
	Code       string  `json:"code"`
	SNRdB      float64 `json:"snr_db"`
	Pairs      int     `json:"pairs"`     // generated (before deduplication)
	Written    int     `json:"written"`   // in train + valid
	Identical  int     `json:"identical"` // input == target (kept unless dropped)
	Dropped    int     `json:"dropped_identical"`
	Duplicates int     `json:"duplicates"` // dropped as repeats of a written pair
	CER        float64 `json:"cer"`
	WER        float64 `json:"wer"`
}

// Set is the built training set.
type Set struct {
	Train, Valid []Pair
	Summary      []Row
}

// ReadCaptions reads captions from a text file (one per line) or a COCO
// captions JSON (a .json file or one starting with '{').
func ReadCaptions(path string) ([]string, error) {
	if err := badinput.CheckFile(path, "captions file"); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	var raw []string
	if strings.HasSuffix(strings.ToLower(path), ".json") || strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		var coco struct {
			Annotations []struct {
				Caption *string `json:"caption"`
			} `json:"annotations"`
		}
		if err := json.Unmarshal(data, &coco); err != nil {
			return nil, badinput.Errorf("%s: not a COCO captions JSON: %v", path, err)
		}
		for _, a := range coco.Annotations {
			if a.Caption != nil {
				raw = append(raw, *a.Caption)
			}
		}
		if len(raw) == 0 {
			return nil, badinput.Errorf("%s: no annotations[].caption entries", path)
		}
	} else {
		raw = strings.Split(string(data), "\n")
	}
	out := Clean(raw)
	if len(out) == 0 {
		return nil, badinput.Errorf("%s: no captions", path)
	}
	return out, nil
}

// Clean trims captions, collapses inner whitespace, drops empty ones and
// keeps the first of repeated ones.
func Clean(raw []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range raw {
		c := strings.Join(strings.Fields(r), " ")
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}

func hashOf(seed uint64, parts ...any) uint64 {
	h := fnv.New64a()
	fmt.Fprint(h, seed)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%v", p)
	}
	return h.Sum64()
}

// inValid puts a caption in the valid split.
func inValid(seed uint64, caption string, frac float64) bool {
	return float64(hashOf(seed, "split", caption)>>11)/float64(1<<53) < frac
}

// Build sends every caption through every grid point and returns the
// split, deduplicated pairs and the summary (rows in grid order: channel,
// modulation, code, SNR). progress, when not nil, is called after each
// grid point with the number done and the total.
func Build(captions []string, o Options, progress func(done, total int)) (*Set, error) {
	if len(captions) == 0 {
		return nil, badinput.Errorf("no captions")
	}
	if len(o.SNRs) == 0 || len(o.Channels) == 0 || len(o.Mods) == 0 || len(o.Codes) == 0 {
		return nil, badinput.Errorf("the grid needs at least one SNR, channel, modulation and code")
	}
	if o.Valid < 0 || o.Valid > 1 || math.IsNaN(o.Valid) {
		return nil, badinput.Errorf("--valid %v: want a fraction in [0, 1]", o.Valid)
	}
	if o.Coherence == 0 {
		o.Coherence = 1
	}
	if o.Repeats == 0 {
		o.Repeats = 1
	}
	if o.Repeats < 0 {
		return nil, badinput.Errorf("--repeats %d: want at least 1", o.Repeats)
	}
	set := &Set{}
	seen := [2]map[[2]string]bool{{}, {}}
	total := len(o.Channels) * len(o.Mods) * len(o.Codes) * len(o.SNRs)
	done := 0
	for _, ch := range o.Channels {
		for _, mod := range o.Mods {
			for _, code := range o.Codes {
				link, err := channel.NewLink(mod, code, ch, o.Coherence)
				if err != nil {
					return nil, err
				}
				name := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
				for _, snr := range o.SNRs {
					row := Row{Channel: name(ch), Modulation: link.Mod.Name, Code: name(code), SNRdB: snr}
					var charErr, chars, wordErr, words int
					for _, c := range captions {
						split := 0
						if inValid(o.Seed, c, o.Valid) {
							split = 1
						}
						for rep := range o.Repeats {
							seed := hashOf(o.Seed, c, row.Channel, row.Modulation, row.Code, snr, rep)
							res := channel.SendText(c, link, snr, seed)
							p := Pair{Input: res.Text, Target: c, SNRdB: snr, Channel: row.Channel, Modulation: row.Modulation, Code: row.Code}
							row.Pairs++
							ce, wc := CharErrors(p.Input, c)
							we, ww := WordErrors(p.Input, c)
							charErr, chars, wordErr, words = charErr+ce, chars+wc, wordErr+we, words+ww
							if p.Input == c {
								row.Identical++
								if o.DropIdentical {
									row.Dropped++
									continue
								}
							}
							key := [2]string{p.Input, p.Target}
							if seen[split][key] {
								row.Duplicates++
								continue
							}
							seen[split][key] = true
							row.Written++
							if split == 0 {
								set.Train = append(set.Train, p)
							} else {
								set.Valid = append(set.Valid, p)
							}
						}
					}
					row.CER = float64(charErr) / float64(max(chars, 1))
					row.WER = float64(wordErr) / float64(max(words, 1))
					set.Summary = append(set.Summary, row)
					done++
					if progress != nil {
						progress(done, total)
					}
				}
			}
		}
	}
	return set, nil
}

// WriteJSONL writes pairs one JSON object per line.
func WriteJSONL(w io.Writer, pairs []Pair) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range pairs {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return nil
}

// CharErrors is the rune-level Levenshtein distance of got from want and
// the rune count of want.
func CharErrors(got, want string) (int, int) {
	w := []rune(want)
	return levenshtein([]rune(got), w), len(w)
}

// WordErrors is the word-level (whitespace-separated) Levenshtein distance
// of got from want and the word count of want.
func WordErrors(got, want string) (int, int) {
	w := strings.Fields(want)
	return levenshtein(strings.Fields(got), w), len(w)
}

func levenshtein[T comparable](a, b []T) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// SortRows orders summary rows by channel, modulation, code and SNR.
func SortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Channel != b.Channel {
			return a.Channel < b.Channel
		}
		if a.Modulation != b.Modulation {
			return a.Modulation < b.Modulation
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.SNRdB < b.SNRdB
	})
}
