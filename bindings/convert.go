package bindings

import (
	"fmt"
	"sort"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// ConvertFiles runs an architecture's converter on its checkpoint files and
// writes out as GGUF with tensors stored per StorageType(want). The values
// must match the architecture's declared tensors exactly: no tensor missing,
// none left over, each with the declared element count.
func ConvertFiles(arch string, inputs []string, want fsggml.TensorType, out string) error {
	_, err := convertFiles(arch, inputs, want, out, false)
	return err
}

// ConvertFilesReport is ConvertFiles for the CLI: it returns what went to
// which type, and refuses (TypeReport.Unchanged, nothing written) a
// requested type that no tensor of the model can take.
func ConvertFilesReport(arch string, inputs []string, want fsggml.TensorType, out string) (TypeReport, error) {
	return convertFiles(arch, inputs, want, out, true)
}

// namesInput wraps a converter error with the input files, unless it names
// one already.
func namesInput(inputs []string, err error) error {
	for _, in := range inputs {
		if strings.Contains(err.Error(), in) {
			return badinput.Errorf("%v", err)
		}
	}
	return badinput.Errorf("%s: %v", strings.Join(inputs, ", "), err)
}

func convertFiles(arch string, inputs []string, want fsggml.TensorType, out string, strict bool) (TypeReport, error) {
	a, ok := LookupArch(arch)
	if !ok {
		return TypeReport{}, badinput.Errorf("--arch %q: unknown architecture (known: %v)", arch, ArchNames())
	}
	if sc, ok := lookupStreamConverter(arch); ok { // convert_stream.go
		return convertStream(a, sc, inputs, want, out, strict)
	}
	if a.Convert == nil {
		return TypeReport{}, badinput.Errorf("--arch %s: no converter (use `multisc synth`)", arch)
	}
	kv, values, err := a.Convert(inputs)
	if err != nil {
		if badinput.Is(err) {
			return TypeReport{}, err
		}
		return TypeReport{}, namesInput(inputs, err)
	}
	kv = withArch(kv, arch)
	specs, err := a.Tensors(kv)
	if err != nil {
		return TypeReport{}, namesInput(inputs, err)
	}
	var tensors []*fsggml.Tensor
	for _, s := range specs {
		v, ok := values[s.Name]
		if !ok {
			return TypeReport{}, namesInput(inputs, fmt.Errorf("converter produced no tensor %s", s.Name))
		}
		if uint64(len(v)) != Elements(s.Shape) {
			return TypeReport{}, namesInput(inputs, fmt.Errorf("tensor %s has %d values, want shape %v", s.Name, len(v), s.Shape))
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
		return TypeReport{}, namesInput(inputs, fmt.Errorf("converter produced unexpected tensors %v", left))
	}
	report := PlanTypes(tensors, want)
	if strict && !report.Changed() {
		return report, report.Unchanged(arch + " (" + strings.Join(inputs, ", ") + ")")
	}
	kv["general.file_type"] = fileTypeOf(want)
	return report, WriteFile(out, kv, tensors)
}
