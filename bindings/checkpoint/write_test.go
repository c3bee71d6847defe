package checkpoint

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteSafetensorsRoundTrip: what WriteSafetensors writes, Load reads
// back with the same keys, shapes and values.
func TestWriteSafetensorsRoundTrip(t *testing.T) {
	sd := StateDict{
		"a.weight": {Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, 1e-7, -1e7}},
		"b":        {Shape: []int{1}, Data: []float32{42}},
	}
	p := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteSafetensors(p, sd); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Keys(), sd.Keys()) {
		t.Fatalf("keys %v, want %v", got.Keys(), sd.Keys())
	}
	for k, v := range sd {
		if !slices.Equal(got[k].Shape, v.Shape) || !slices.Equal(got[k].Data, v.Data) {
			t.Errorf("%s: got %v %v, want %v %v", k, got[k].Shape, got[k].Data, v.Shape, v.Data)
		}
	}
}
