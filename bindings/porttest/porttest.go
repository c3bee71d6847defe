// Package porttest holds the test steps every port repeats: converting a
// fixture checkpoint edited one way or another and checking the converter's
// verdict. It is imported by the ports' tests only.
package porttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Edit is one case of ConvertEdits: a change to a good checkpoint and the
// text the bad-input error must contain ("" means the edited checkpoint
// must still convert).
// (An alias of an unnamed struct, so that the ports' case tables can stay
// positional.)
type Edit = struct {
	Name  string
	Edit  func(checkpoint.StateDict)
	InErr string
}

// ConvertEdits applies each edit to a copy of the good checkpoint, writes
// it as safetensors and converts it with arch's converter: a case with
// InErr must fail with a bad-input error containing it and leave no output
// file; one without must convert.
func ConvertEdits(t *testing.T, arch, good string, cases []Edit) {
	t.Helper()
	sd, err := checkpoint.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			s := checkpoint.StateDict{}
			for k, v := range sd {
				s[k] = v
			}
			c.Edit(s)
			path := filepath.Join(t.TempDir(), "x.safetensors")
			if err := checkpoint.WriteSafetensors(path, s); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.gguf")
			err := bindings.ConvertFiles(arch, []string{path}, fsggml.TensorTypeF32, out)
			if c.InErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), c.InErr) {
				t.Fatalf("error %v, want bad input containing %q", err, c.InErr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("output file left behind")
			}
		})
	}
}

// ConvertOpen converts a fixture checkpoint with arch's converter to type
// typ in a temporary folder and opens the result on the CPU; the model is
// closed when the test ends.
func ConvertOpen(t *testing.T, arch string, inputs []string, typ fsggml.TensorType) *bindings.Loaded {
	t.Helper()
	gguf := filepath.Join(t.TempDir(), arch+".gguf")
	if err := bindings.ConvertFiles(arch, inputs, typ, gguf); err != nil {
		t.Fatal(err)
	}
	l, err := bindings.Open(gguf, bindings.Options{Arch: arch, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}
