package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/bart"
)

func synthBart(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bart.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "bart", "--size", "tiny", "--seed", "4", "--out", path); code != 0 {
		t.Fatal(stderr)
	}
	return path
}

// TestCorrect: texts from arguments and from stdin give one line each, in
// order, equal to the library's corrections with the same settings; empty
// texts come back empty; --json pairs inputs and outputs.
func TestCorrect(t *testing.T) {
	model := synthBart(t)
	texts := []string{"a rfd caz parked on the streat", "", "two dogz", "a man\xffriding"}
	c, err := bart.Open(model, bindings.Options{Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := c.Defaults()
	g.NumBeams = 2
	want, err := c.Correct(texts, g)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want[1] != "" || want[0] == "" {
		t.Fatalf("library gave %q", want)
	}

	out, stderr, code := runCLI(t, append([]string{"correct", "--model", model, "--beams", "2", "--device", "cpu", "--threads", "1"}, texts...)...)
	if code != 0 {
		t.Fatal(stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d lines for %d texts: %q", len(lines), len(texts), out)
	}
	for i := range texts {
		if lines[i] != strings.ReplaceAll(want[i], "\n", " ") {
			t.Errorf("line %d %q, want %q", i, lines[i], want[i])
		}
	}

	correctStdin = strings.NewReader(strings.Join(texts, "\n") + "\n")
	defer func() { correctStdin = nil }()
	out, stderr, code = runCLI(t, "correct", "--model", model, "--beams", "2", "--json", "--batch", "2", "--device", "cpu", "--threads", "1")
	if code != 0 {
		t.Fatal(stderr)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for i := range texts {
		var r struct{ Input, Output string }
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("record %d: %v in %q", i, err, out)
		}
		if r.Output != want[i] || r.Input != bart.RepairUTF8(texts[i]) {
			t.Errorf("record %d = %+v, want output %q", i, r, want[i])
		}
	}
}

// TestCorrectLongInput: a text longer than the model's positions is
// truncated, said once on stderr, and the command succeeds.
func TestCorrectLongInput(t *testing.T) {
	model := synthBart(t)
	long := strings.Repeat("the quick brown fox ", 40)
	out, stderr, code := runCLI(t, "correct", "--model", model, "--beams", "1", "--max-length", "6", "--device", "cpu", "--threads", "1", long, long)
	if code != 0 {
		t.Fatal(stderr)
	}
	if n := strings.Count(stderr, "truncated"); n != 1 {
		t.Errorf("stderr says truncated %d times, want once: %q", n, stderr)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want two lines, got %q", out)
	}
}

// writeBartVariant writes a tiny BART file whose tokenizer metadata is
// changed by edit.
func writeBartVariant(t *testing.T, edit func(kv fsggml.KV)) string {
	t.Helper()
	kv, err := bart.SynthConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	full := fsggml.KV{"general.architecture": "bart"}
	for k, v := range kv {
		if strings.HasPrefix(k, "tokenizer.") {
			full[k] = v
		} else {
			full["bart."+k] = v
		}
	}
	edit(full)
	specs, err := bart.Tensors(full)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "variant.gguf")
	if err := bindings.WriteFile(path, full, bindings.SynthTensors(specs, 1, fsggml.TensorTypeF32)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCorrectBadInput(t *testing.T) {
	model := synthBart(t)
	noTok := writeBartVariant(t, func(kv fsggml.KV) {
		for k := range kv {
			if strings.HasPrefix(k, "tokenizer.") {
				delete(kv, k)
			}
		}
	})
	short := writeBartVariant(t, func(kv fsggml.KV) {
		toks := kv["tokenizer.ggml.tokens"].([]string)
		kv["tokenizer.ggml.tokens"] = toks[:len(toks)-1]
		kv["tokenizer.ggml.token_type"] = kv["tokenizer.ggml.token_type"].([]int32)[:len(toks)-1]
	})
	for _, tc := range []struct {
		name  string
		args  []string
		frags []string
	}{
		{"no model", []string{"correct", "x"}, []string{"--model"}},
		{"missing file", []string{"correct", "--model", "/nonexistent/b.gguf", "x"}, []string{"/nonexistent/b.gguf"}},
		{"no tokenizer", []string{"correct", "--model", noTok, "x"}, []string{noTok, "tokenizer"}},
		{"vocab mismatch", []string{"correct", "--model", short, "x"}, []string{short, "399 tokens", "400 rows"}},
		{"beams", []string{"correct", "--model", model, "--beams", "-1", "x"}, []string{"--beams"}},
		{"max length", []string{"correct", "--model", model, "--max-length", "1", "x"}, []string{"--max-length"}},
		{"batch", []string{"correct", "--model", model, "--batch", "0", "x"}, []string{"--batch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append(tc.args, "--device", "cpu", "--threads", "1")...)
			wantBadInput(t, stderr, code, tc.frags...)
		})
	}
}
