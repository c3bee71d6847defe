package sd

import (
	"io"
	"os"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
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

// readGGUFCheckpoint indexes a stable-diffusion.cpp GGUF file (tensor names
// are the single-file checkpoint's keys, any storage type) as a state dict
// whose tensors are read and widened to f32 on demand, in PyTorch shape
// order. Such files are recognised by their tensors, not by an architecture
// key (they may have none). The file's Close is appended to closers.
func readGGUFCheckpoint(path string, closers *[]func() error) (lazyDict, error) {
	meta, err := bindings.Header(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	*closers = append(*closers, f.Close)
	base := int64(meta.Tensors().Offset)
	sd := lazyDict{}
	for _, t := range meta.Tensors().Items() {
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			shape[len(t.Shape)-1-i] = int(d)
		}
		off, size, kind, n, name := base+int64(t.Offset), t.Size(), fsggml.TensorType(t.Kind), t.Elements(), t.Name
		sd[name] = &lazyTensor{shape: shape, read: func() ([]float32, error) {
			raw := make([]byte, size)
			if _, err := f.ReadAt(raw, off); err != nil {
				return nil, badinput.Errorf("%s: reading tensor %s: %v", path, name, err)
			}
			return bindings.Decode(raw, kind, n), nil
		}}
	}
	if len(sd) == 0 {
		return nil, badinput.Errorf("%s: holds no tensors", path)
	}
	return sd, nil
}
