package sd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

// TestConvertStreamed: `multisc convert`'s path (bindings.ConvertFiles,
// which streams through ConvertStream one tensor at a time) writes, for
// every tensor, the storage type StorageType picks and exactly the bytes
// of Encode on Convert's materialized values; and the sources release
// their files.
func TestConvertStreamed(t *testing.T) {
	_, values, err := Convert(fixtureInputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []fsggml.TensorType{fsggml.TensorTypeF16, fsggml.TensorTypeF32, fsggml.TensorTypeQ8_0} {
		out := filepath.Join(t.TempDir(), "sd.gguf")
		if err := bindings.ConvertFiles(Arch, fixtureInputs, want, out); err != nil {
			t.Fatal(err)
		}
		meta, err := bindings.Header(out)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		items := meta.Tensors().Items()
		if len(items) != len(values) {
			t.Fatalf("%v: %d tensors written, Convert gives %d", want, len(items), len(values))
		}
		for _, it := range items {
			v, ok := values[it.Name]
			if !ok {
				t.Fatalf("%v: unexpected tensor %s", want, it.Name)
			}
			typ := bindings.StorageType(it.Name, it.Shape, want)
			if fsggml.TensorType(it.Kind) != typ {
				t.Fatalf("%v: %s stored as %v, want %v", want, it.Name, fsggml.TensorType(it.Kind), typ)
			}
			raw := make([]byte, it.Size())
			if _, err := f.ReadAt(raw, int64(meta.Tensors().Offset+it.Offset)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, bindings.Encode(v, it.Shape, typ)) {
				t.Fatalf("%v: tensor %s bytes differ from Encode of Convert's values", want, it.Name)
			}
		}
		f.Close()
	}
	// release closes the checkpoint: reading after it fails.
	_, sources, release, err := ConvertStream(fixtureInputs)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if _, err := sources["2.vae.decoder.conv_in.weight"].Read(); err == nil {
		t.Fatal("source still reads after release")
	}
}
