package checkpoint

import (
	"archive/zip"
	"fmt"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// loadPickle reads a PyTorch checkpoint written by torch.save (zip format).
// A state dict may sit at the top level or under "state_dict" / "model"
// (training checkpoints); nested dicts are flattened with dots.
func loadPickle(path string) (sd StateDict, err error) {
	if r, zerr := zip.OpenReader(path); zerr != nil {
		return nil, fmt.Errorf("not a safetensors or PyTorch zip checkpoint")
	} else {
		r.Close()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed PyTorch checkpoint: %v", p)
		}
	}()
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("malformed PyTorch checkpoint: %v", err)
	}
	sd = StateDict{}
	if err := flatten(sd, "", obj); err != nil {
		return nil, err
	}
	for _, k := range []string{"state_dict", "model"} {
		if len(sd) == 0 {
			break
		}
		sub := StateDict{}
		for name, t := range sd {
			if rest, ok := cutPrefix(name, k+"."); ok {
				sub[rest] = t
			}
		}
		if len(sub) == len(sd) {
			sd = sub
		}
	}
	return sd, nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func flatten(sd StateDict, prefix string, obj any) error {
	join := func(k any) string {
		if prefix == "" {
			return fmt.Sprint(k)
		}
		return prefix + "." + fmt.Sprint(k)
	}
	switch v := obj.(type) {
	case *types.OrderedDict:
		for e := v.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := flatten(sd, join(entry.Key), entry.Value); err != nil {
				return err
			}
		}
	case *types.Dict:
		for _, e := range *v {
			if err := flatten(sd, join(e.Key), e.Value); err != nil {
				return err
			}
		}
	case *pytorch.Tensor:
		t, err := materialize(v)
		if err != nil {
			return fmt.Errorf("tensor %s: %v", prefix, err)
		}
		sd[prefix] = t
	}
	// Other values (step counters, hyper-parameters) are not tensors.
	return nil
}

// materialize copies a (possibly strided) storage view into row-major f32.
func materialize(t *pytorch.Tensor) (*Tensor, error) {
	var data []float32
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		data = s.Data
	case *pytorch.HalfStorage:
		data = s.Data
	case *pytorch.BFloat16Storage:
		data = s.Data
	case *pytorch.DoubleStorage:
		data = make([]float32, len(s.Data))
		for i, x := range s.Data {
			data[i] = float32(x)
		}
	case *pytorch.LongStorage:
		data = make([]float32, len(s.Data))
		for i, x := range s.Data {
			data[i] = float32(x)
		}
	default:
		return nil, fmt.Errorf("unsupported storage %T", t.Source)
	}
	out := &Tensor{Shape: append([]int(nil), t.Size...)}
	n := out.Numel()
	out.Data = make([]float32, n)
	idx := make([]int, len(t.Size))
	for i := range n {
		off := t.StorageOffset
		for d := range idx {
			off += idx[d] * t.Stride[d]
		}
		if off < 0 || off >= len(data) {
			return nil, fmt.Errorf("view reaches outside its storage")
		}
		out.Data[i] = data[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}
