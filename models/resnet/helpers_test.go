package resnet

import (
	"testing"

	"github.com/multisc/multisc/bindings/checkpoint"
)

// writeSafetensors writes a state dict as an F32 safetensors file (for
// tests that edit a fixture checkpoint).
func writeSafetensors(t *testing.T, path string, sd checkpoint.StateDict) {
	t.Helper()
	if err := checkpoint.WriteSafetensors(path, sd); err != nil {
		t.Fatal(err)
	}
}
