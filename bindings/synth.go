package bindings

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// SynthValues returns the seeded random values of one tensor. Each tensor
// draws from its own stream (seed and name), so the bytes of a file do not
// depend on the order or parallelism of writing.
func SynthValues(spec TensorSpec, seed uint64) []float32 {
	h := fnv.New64a()
	io.WriteString(h, spec.Name)
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	n := Elements(spec.Shape)
	v := make([]float32, n)
	switch spec.Init {
	case InitWeight:
		// fan-in: every dimension but the output one (ggml's last).
		fanIn := n
		if len(spec.Shape) > 1 {
			fanIn = n / spec.Shape[len(spec.Shape)-1]
		}
		std := 1 / math.Sqrt(float64(max(fanIn, 1)))
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
	case InitBias:
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.02)
		}
	case InitOnes:
		for i := range v {
			v[i] = float32(1 + r.NormFloat64()*0.02)
		}
	case InitPositive:
		for i := range v {
			v[i] = float32(0.5 + r.Float64())
		}
	}
	return v
}

// Synth writes a model of a registered architecture with seeded random
// weights: size "tiny" or "full", tensors stored per StorageType(want).
func Synth(arch, size string, seed uint64, want fsggml.TensorType, out string) error {
	_, err := synth(arch, size, seed, want, out, false)
	return err
}

// SynthReport is Synth for the CLI: it returns what went to which type and
// refuses (TypeReport.Unchanged, nothing written) a requested type that no
// tensor of the architecture can take.
func SynthReport(arch, size string, seed uint64, want fsggml.TensorType, out string) (TypeReport, error) {
	return synth(arch, size, seed, want, out, true)
}

func synth(arch, size string, seed uint64, want fsggml.TensorType, out string, strict bool) (TypeReport, error) {
	a, ok := LookupArch(arch)
	if !ok {
		return TypeReport{}, fmt.Errorf("unknown architecture %q (known: %v)", arch, ArchNames())
	}
	kv, err := a.Config(size)
	if err != nil {
		return TypeReport{}, err
	}
	kv = withArch(kv, arch)
	kv["general.name"] = fmt.Sprintf("%s-%s-synth-seed%d", arch, size, seed)
	kv["general.file_type"] = fileTypeOf(want)
	specs, err := a.Tensors(kv)
	if err != nil {
		return TypeReport{}, err
	}
	tensors := SynthTensors(specs, seed, want)
	report := PlanTypes(tensors, want)
	if strict && !report.Changed() {
		return report, report.Unchanged(arch + " " + size)
	}
	return report, WriteFile(out, kv, tensors)
}

// SynthTensors makes GGUF tensors whose data is generated when written.
func SynthTensors(specs []TensorSpec, seed uint64, want fsggml.TensorType) []*fsggml.Tensor {
	var out []*fsggml.Tensor
	for _, s := range specs {
		t := StorageType(s.Name, s.Shape, want)
		out = append(out, &fsggml.Tensor{Name: s.Name, Kind: uint32(t), Shape: s.Shape,
			WriterTo: lazyTensor{spec: s, seed: seed, t: t}})
	}
	return out
}

type lazyTensor struct {
	spec TensorSpec
	seed uint64
	t    fsggml.TensorType
}

func (l lazyTensor) WriteTo(w io.Writer) (int64, error) {
	return bytesWriter(Encode(SynthValues(l.spec, l.seed), l.spec.Shape, l.t)).WriteTo(w)
}

// withArch returns a copy of an architecture's config with every key given
// its full name ("<arch>.key") and general.architecture set. general.* and
// tokenizer.* keys (an embedded tokenizer, GGUF's convention) keep their
// names.
func withArch(kv fsggml.KV, arch string) fsggml.KV {
	out := fsggml.KV{"general.architecture": arch}
	for k, v := range kv {
		if strings.HasPrefix(k, "general.") || strings.HasPrefix(k, "tokenizer.") || strings.HasPrefix(k, arch+".") {
			out[k] = v
		} else {
			out[arch+"."+k] = v
		}
	}
	return out
}
