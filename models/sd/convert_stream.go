package sd

import (
	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Streaming conversion: the converter reads only checkpoint indexes
// (names, shapes, stored types) up front; each tensor is read, widened to
// f32 and encoded when the GGUF writer reaches it
// (bindings.RegisterStreamConverter), so converting SD 1.5 holds a couple
// of tensors in memory instead of the whole state dict as f32. Measured on
// a full-size synthetic SD 1.5 single-file f16 safetensors (2.1 GB) to f16
// (`/usr/bin/time -v multisc convert --arch sd15 ...`): peak RSS 6.26 GB
// (0:42) with checkpoint.Load, 0.82 GB (0:26) streaming, same bytes.

func init() {
	bindings.RegisterStreamConverter(Arch, ConvertStream)
	// SD 1.5 is published in f16 and runs in f16 (see the package comment).
	bindings.SetDefaultConvertType(Arch, fsggml.TensorTypeF16)
}

// lazyTensor is one checkpoint tensor: its PyTorch shape and a function
// that reads its values (row-major, f32).
type lazyTensor struct {
	shape []int
	read  func() ([]float32, error)
}

func (t *lazyTensor) elements() uint64 {
	n := uint64(1)
	for _, d := range t.shape {
		n *= uint64(d)
	}
	return n
}

// lazyDict maps checkpoint keys to tensors not yet read.
type lazyDict map[string]*lazyTensor

// readCheckpoint is the one place the converter opens safetensors and
// PyTorch checkpoints: checkpoint.Open reads the index, File.Read one
// tensor per call. The file's Close is appended to closers.
func readCheckpoint(path string, closers *[]func() error) (lazyDict, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, f.Close)
	sd := lazyDict{}
	for _, k := range f.Keys() {
		info, _ := f.Info(k)
		sd[k] = &lazyTensor{shape: info.Shape, read: func() ([]float32, error) {
			t, err := f.Read(k)
			if err != nil {
				return nil, err
			}
			return t.Data, nil
		}}
	}
	return sd, nil
}
