// Package checkpoint reads public model checkpoints into f32 tensors:
// safetensors files and PyTorch zip-pickle files (.pth, .bin, .ckpt). Pickle
// data is decoded by github.com/nlpodyssey/gopickle's restricted unpickler,
// which only rebuilds tensors and containers and never executes pickle code.
package checkpoint

import (
	"fmt"
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
	if err := badinput.CheckFile(path, "checkpoint file"); err != nil {
		return nil, err
	}
	var sd StateDict
	var err error
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
