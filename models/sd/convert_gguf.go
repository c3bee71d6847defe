package sd

import (
	"io"
	"os"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// isGGUF reports whether a file starts with the GGUF magic.
func isGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "GGUF"
}

// readGGUFCheckpoint reads a stable-diffusion.cpp GGUF file (tensor names
// are the single-file checkpoint's keys, any storage type) as a state dict
// of f32 tensors in PyTorch shape order. Such files are recognised by their
// tensors, not by an architecture key (they may have none).
func readGGUFCheckpoint(path string) (checkpoint.StateDict, error) {
	meta, err := bindings.Header(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	base := int64(meta.Tensors().Offset)
	sd := checkpoint.StateDict{}
	for _, t := range meta.Tensors().Items() {
		raw := make([]byte, t.Size())
		if _, err := f.ReadAt(raw, base+int64(t.Offset)); err != nil {
			return nil, badinput.Errorf("%s: reading tensor %s: %v", path, t.Name, err)
		}
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			shape[len(t.Shape)-1-i] = int(d)
		}
		sd[t.Name] = &checkpoint.Tensor{Shape: shape, Data: bindings.Decode(raw, fsggml.TensorType(t.Kind), t.Elements())}
	}
	if len(sd) == 0 {
		return nil, badinput.Errorf("%s: holds no tensors", path)
	}
	return sd, nil
}
