package resnet

import (
	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// Streaming conversion: the ResNet-family converters (resnet, fcn) check
// keys and shapes against the checkpoint's index and hand the writer one
// source per output tensor, which reads only the inputs it needs (a conv
// weight and its BN statistics) when the writer reaches it
// (bindings.RegisterStreamConverter), instead of checkpoint.Load-ing the
// whole state dict as f32 first. Measured on a full-size torchvision
// fcn_resnet50 (aux_loss) state dict, 142 MB .pth to a 132 MB f32 GGUF
// (`/usr/bin/time -v go run ./cmd/multisc convert --arch fcn ...`): peak
// RSS 369 MB (2.8x the output) with checkpoint.Load, 214 MB (1.6x)
// streaming, same bytes. DETR streams the same way (models/detr
// ConvertStream, through ConvertBackboneStream).

func init() {
	bindings.RegisterStreamConverter(Arch, ConvertStream)
}

// Reader returns the f32 values of state-dict entry key, whose index entry
// (shape, and values if already loaded) is t.
type Reader func(key string, t *checkpoint.Tensor) ([]float32, error)

// Loaded is the Reader of a state dict read with checkpoint.Load.
func Loaded(_ string, t *checkpoint.Tensor) ([]float32, error) { return t.Data, nil }

// Source is the source of a tensor copied as it is.
func Source(read Reader, key string, t *checkpoint.Tensor) bindings.TensorSource {
	return bindings.TensorSource{Elements: uint64(t.Numel()), Read: func() ([]float32, error) { return read(key, t) }}
}

// OpenLazy opens a checkpoint's index: a state dict of shapes without
// values (Take and Rest work on it as usual), the Reader that reads one
// tensor's values from the file, and the function that closes it.
func OpenLazy(path string) (checkpoint.StateDict, Reader, func() error, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	sd := checkpoint.StateDict{}
	for _, k := range f.Keys() {
		info, _ := f.Info(k)
		sd[k] = &checkpoint.Tensor{Shape: info.Shape}
	}
	read := func(key string, _ *checkpoint.Tensor) ([]float32, error) {
		t, err := f.Read(key)
		if err != nil {
			return nil, err
		}
		return t.Data, nil
	}
	return sd, read, f.Close, nil
}
