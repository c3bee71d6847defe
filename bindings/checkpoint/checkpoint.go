// Package checkpoint reads public model checkpoints into f32 tensors:
// safetensors files, PyTorch zip-pickle files (.pth, .bin, .ckpt, torch >=
// 1.6) and PyTorch's legacy serialization (torch < 1.6, or
// _use_new_zipfile_serialization=False; e.g. the published LPIPS weights).
// The format is chosen by content, not by file name.
//
// Open reads only the index of a file (names, shapes, types, where the
// bytes are) and File.Read loads one tensor on demand, so a converter can
// stream a checkpoint larger than memory; Load reads everything at once.
//
// Pickle data is decoded by github.com/nlpodyssey/gopickle's unpickler with
// this package's own class table: tensors and storages become descriptions
// of bytes in the file, unknown classes become inert generic objects, and no
// pickle code is ever executed. Before the unpickler runs, every length in
// the pickle stream is checked against the bytes present, and every shape,
// stride, offset and storage size is checked for overflow and against the
// data actually in the file, so a hostile file gives an error, not a crash
// or a huge allocation.
package checkpoint

import (
	"fmt"
	"sort"
	"strings"
)

// Tensor is one checkpoint tensor: its PyTorch shape (outermost first) and
// its values in PyTorch's row-major order, which are also ggml's order for
// the reversed shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Numel is the element count of the shape.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// GGMLShape is the shape in ggml order (reversed).
func (t *Tensor) GGMLShape() []uint64 {
	out := make([]uint64, len(t.Shape))
	for i, d := range t.Shape {
		out[len(t.Shape)-1-i] = uint64(d)
	}
	return out
}

// StateDict maps state-dict keys to tensors.
type StateDict map[string]*Tensor

// Keys lists the keys in sorted order.
func (s StateDict) Keys() []string {
	var ks []string
	for k := range s {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Load reads every tensor of a checkpoint (see Open). Errors are bad-input
// errors naming the file.
func Load(path string) (StateDict, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sd := StateDict{}
	for _, k := range f.Keys() {
		t, err := f.Read(k)
		if err != nil {
			return nil, err
		}
		sd[k] = t
	}
	return sd, nil
}

// Take removes and returns a tensor with the expected PyTorch shape, or an
// error naming the key.
func (s StateDict) Take(key string, shape ...int) (*Tensor, error) {
	t, ok := s[key]
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", key)
	}
	if !equalInts(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %v", key, t.Shape, shape)
	}
	delete(s, key)
	return t, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Rest lists, sorted, the keys still in the state dict (converters Take what
// they use) other than those under the given prefixes, which a converter
// drops on purpose. Anything listed means the file is not what the converter
// expects.
func (s StateDict) Rest(drop ...string) []string {
	var rest []string
	for _, k := range s.Keys() {
		kept := true
		for _, p := range drop {
			if strings.HasPrefix(k, p) {
				kept = false
			}
		}
		if kept {
			rest = append(rest, k)
		}
	}
	return rest
}
