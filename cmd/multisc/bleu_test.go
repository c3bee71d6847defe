package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeText writes a temporary text file and returns its path.
func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The README example from sacrebleu v2.6.0 test/test_bleu.py: corpus BLEU
// 48.530827 with both reference sets.
const (
	readmeHyp  = "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n"
	readmeRef1 = "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n"
	readmeRef2 = "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n"
)

func TestBLEUVerb(t *testing.T) {
	dir := t.TempDir()
	hyp := writeText(t, dir, "hyp.txt", readmeHyp)
	r1 := writeText(t, dir, "ref1.txt", readmeRef1)
	r2 := writeText(t, dir, "ref2.txt", readmeRef2)

	out, stderr, code := runCLI(t, "bleu", "--ref", r1, "--ref", r2, "--hyp", hyp)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"sacrebleu corpus BLEU (0-100)  48.53", "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", "nltk corpus BLEU (0-1)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	// CRLF line ends and a missing final newline change nothing.
	crlf := writeText(t, dir, "crlf.txt", strings.TrimSuffix(strings.ReplaceAll(readmeHyp, "\n", "\r\n"), "\r\n"))
	out, _, code = runCLI(t, "bleu", "--ref", r1, "--ref", r2, "--hyp", crlf)
	if code != 0 || !strings.Contains(out, "(0-100)  48.53") {
		t.Fatalf("CRLF input: exit %d:\n%s", code, out)
	}

	out, _, code = runCLI(t, "bleu", "--ref", r1, "--ref", r2, "--hyp", hyp, "--json")
	var r bleuReport
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if r.SacreBLEU == nil || math.Abs(r.SacreBLEU.Score-48.530827) > 1e-6 || r.Lines != 3 || r.NLTKCorpus == nil {
		t.Fatalf("JSON %+v", r)
	}

	// Sentence mode: line 1 equals one of its references exactly (exp(log 100)
	// is 100.00000000000004 in sacrebleu too, hence the tolerance).
	out, _, code = runCLI(t, "bleu", "--ref", r1, "--ref", r2, "--hyp", hyp, "--sentence", "--json")
	r = bleuReport{}
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(r.Sentences) != 3 || math.Abs(r.Sentences[0].SacreBLEU-100) > 1e-9 || r.Sentences[0].NLTK != 1 || r.MeanSacreBLEU == nil ||
		!strings.Contains(r.SacreBLEUSignature, "eff:yes") {
		t.Fatalf("sentences %+v", r)
	}
	out, _, code = runCLI(t, "bleu", "--ref", r1, "--hyp", hyp, "--sentence")
	if code != 0 || !strings.Contains(out, "mean") || strings.Count(out, "\n") != 6 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestBLEUBadInput(t *testing.T) {
	dir := t.TempDir()
	hyp := writeText(t, dir, "hyp.txt", readmeHyp)
	ref := writeText(t, dir, "ref.txt", readmeRef1)
	short := writeText(t, dir, "short.txt", "one line\ntwo lines\n")
	empty := writeText(t, dir, "empty.txt", "")
	blank := writeText(t, dir, "blank.txt", "a\n \t\nc\n") // whitespace only: empty after rstrip
	badUTF := writeText(t, dir, "latin1.txt", "ok\ncaf\xe9\nok\n")
	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"line counts differ", []string{"--ref", ref, "--ref", short, "--hyp", hyp}, []string{"hyp.txt has 3 lines", "short.txt has 2"}},
		{"missing ref", []string{"--ref", filepath.Join(dir, "nope.txt"), "--hyp", hyp}, []string{"--ref", "nope.txt", "no such file"}},
		{"missing hyp", []string{"--ref", ref, "--hyp", filepath.Join(dir, "nope.txt")}, []string{"--hyp", "nope.txt"}},
		{"empty hyp", []string{"--ref", ref, "--hyp", empty}, []string{"empty.txt", "empty file"}},
		{"all refs empty", []string{"--ref", blank, "--hyp", hyp}, []string{"blank.txt", "hypothesis 2", "references are empty"}},
		{"all refs empty sentence", []string{"--ref", blank, "--hyp", hyp, "--sentence"}, []string{"blank.txt", "line 2", "references are empty"}},
		{"invalid utf-8", []string{"--ref", badUTF, "--hyp", hyp}, []string{"latin1.txt:2", "UTF-8"}},
		{"no ref", []string{"--hyp", hyp}, []string{"--ref"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"bleu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
}
