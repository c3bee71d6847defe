// Package checkpoint reads public model checkpoints into f32 tensors:
// safetensors files and PyTorch zip-pickle files (.pth, .bin, .ckpt). Pickle
// data is decoded by github.com/nlpodyssey/gopickle's restricted unpickler,
// which only rebuilds tensors and containers and never executes pickle code.
package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
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

// Load reads a checkpoint, choosing the format by content (safetensors
// header or zip archive). Errors are bad-input errors naming the file.
func Load(path string) (StateDict, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, badinput.Errorf("%s: no such file", path)
	case err != nil:
		return nil, badinput.Errorf("%s: %v", path, err)
	case st.IsDir():
		return nil, badinput.Errorf("%s: is a directory, not a checkpoint", path)
	}
	var sd StateDict
	if strings.EqualFold(filepath.Ext(path), ".safetensors") {
		sd, err = loadSafetensors(path)
	} else {
		sd, err = loadPickle(path)
	}
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	if len(sd) == 0 {
		return nil, badinput.Errorf("%s: holds no tensors", path)
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
