package bindings

import (
	"fmt"
	"sort"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// ConvertFiles runs an architecture's converter on its checkpoint files and
// writes out as GGUF with tensors stored per StorageType(want). The values
// must match the architecture's declared tensors exactly: no tensor missing,
// none left over, each with the declared element count.
func ConvertFiles(arch string, inputs []string, want fsggml.TensorType, out string) error {
	a, ok := LookupArch(arch)
	if !ok {
		return badinput.Errorf("--arch %q: unknown architecture (known: %v)", arch, ArchNames())
	}
	if a.Convert == nil {
		return badinput.Errorf("--arch %s: no converter (use `multisc synth`)", arch)
	}
	kv, values, err := a.Convert(inputs)
	if err != nil {
		if badinput.Is(err) {
			return err
		}
		return badinput.Errorf("%v: %v", inputs, err)
	}
	kv = withArch(kv, arch)
	specs, err := a.Tensors(kv)
	if err != nil {
		return badinput.Errorf("%v: %v", inputs, err)
	}
	var tensors []*fsggml.Tensor
	for _, s := range specs {
		v, ok := values[s.Name]
		if !ok {
			return badinput.Errorf("%v: converter produced no tensor %s", inputs, s.Name)
		}
		if uint64(len(v)) != Elements(s.Shape) {
			return badinput.Errorf("%v: tensor %s has %d values, want shape %v", inputs, s.Name, len(v), s.Shape)
		}
		tensors = append(tensors, NewTensor(s.Name, s.Shape, v, StorageType(s.Name, s.Shape, want)))
		delete(values, s.Name)
	}
	if len(values) > 0 {
		var left []string
		for k := range values {
			left = append(left, k)
		}
		sort.Strings(left)
		return badinput.Errorf("%v: converter produced unexpected tensors %v", inputs, left)
	}
	kv["general.file_type"] = fileTypeOf(want)
	if err := WriteFile(out, kv, tensors); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	return nil
}
