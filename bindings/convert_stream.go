package bindings

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// Streaming conversion: a converter registered with RegisterStreamConverter
// returns, instead of every tensor's values, a TensorSource per tensor that
// reads (and converts) that tensor when the GGUF writer reaches it, so a
// conversion holds about one tensor per writer goroutine (fs/ggml writes
// GOMAXPROCS tensors at once) in memory rather than the whole state dict
// as f32. ConvertFiles and ConvertFilesReport use it for such
// architectures; Arch.Convert stays for callers that want the values.

// TensorSource is one converted tensor whose values are produced on demand.
type TensorSource struct {
	// Elements is the element count, checked against the declared shape
	// before anything is read.
	Elements uint64
	// Read returns the values in ggml order (PyTorch row-major order of
	// the reversed shape). It may be called from several goroutines at
	// once, each for a different tensor.
	Read func() ([]float32, error)
}

// StreamConvertFunc is a streaming converter: the configuration, one source
// per GGUF tensor name, and a function that releases the open inputs (called
// after the file is written or on error).
type StreamConvertFunc func(inputs []string) (kv fsggml.KV, sources map[string]TensorSource, release func() error, err error)

var (
	streamMu         sync.Mutex
	streamConverters = map[string]StreamConvertFunc{}
)

// RegisterStreamConverter makes ConvertFiles/ConvertFilesReport of arch
// stream through f. The architecture must be registered with RegisterArch
// (its Tensors declares what f must produce).
func RegisterStreamConverter(arch string, f StreamConvertFunc) {
	streamMu.Lock()
	defer streamMu.Unlock()
	if _, dup := streamConverters[arch]; dup {
		panic("bindings: stream converter registered twice for " + arch)
	}
	streamConverters[arch] = f
}

func lookupStreamConverter(arch string) (StreamConvertFunc, bool) {
	streamMu.Lock()
	defer streamMu.Unlock()
	f, ok := streamConverters[arch]
	return f, ok
}

// MaterializeSources reads every source (for Arch.Convert-style callers and
// tests); release is called before returning.
func MaterializeSources(sources map[string]TensorSource, release func() error) (map[string][]float32, error) {
	if release != nil {
		defer release()
	}
	out := make(map[string][]float32, len(sources))
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		v, err := sources[name].Read()
		if err != nil {
			return nil, err
		}
		if uint64(len(v)) != sources[name].Elements {
			return nil, fmt.Errorf("tensor %s: read %d values, announced %d", name, len(v), sources[name].Elements)
		}
		out[name] = v
	}
	return out, nil
}

// convertStream is convertFiles for a streaming converter: same checks,
// same errors, but each tensor is read and encoded as it is written.
func convertStream(a Arch, sc StreamConvertFunc, inputs []string, want fsggml.TensorType, out string, strict bool) (TypeReport, error) {
	kv, sources, release, err := sc(inputs)
	if err != nil {
		return TypeReport{}, wrapInputErr(inputs, err)
	}
	if release != nil {
		defer release()
	}
	kv = withArch(kv, a.Name)
	specs, err := a.Tensors(kv)
	if err != nil {
		return TypeReport{}, namesInput(inputs, err)
	}
	left := make(map[string]bool, len(sources))
	for k := range sources {
		left[k] = true
	}
	var tensors []*fsggml.Tensor
	for _, s := range specs {
		src, ok := sources[s.Name]
		if !ok {
			return TypeReport{}, namesInput(inputs, fmt.Errorf("converter produced no tensor %s", s.Name))
		}
		if src.Elements != Elements(s.Shape) {
			return TypeReport{}, namesInput(inputs, fmt.Errorf("tensor %s has %d values, want shape %v", s.Name, src.Elements, s.Shape))
		}
		t := StorageType(s.Name, s.Shape, want)
		tensors = append(tensors, &fsggml.Tensor{Name: s.Name, Kind: uint32(t), Shape: s.Shape,
			WriterTo: streamTensor{name: s.Name, src: src, shape: s.Shape, t: t}})
		delete(left, s.Name)
	}
	if len(left) > 0 {
		var names []string
		for k := range left {
			names = append(names, k)
		}
		sort.Strings(names)
		return TypeReport{}, namesInput(inputs, fmt.Errorf("converter produced unexpected tensors %v", names))
	}
	report := PlanTypes(tensors, want)
	if strict && !report.Changed() {
		return report, report.Unchanged(a.Name + " (" + strings.Join(inputs, ", ") + ")")
	}
	kv["general.file_type"] = fileTypeOf(want)
	if err := WriteFile(out, kv, tensors); err != nil {
		return report, wrapInputErr(inputs, err)
	}
	return report, nil
}

// wrapInputErr keeps bad-input errors as they are and names the inputs in
// others.
func wrapInputErr(inputs []string, err error) error {
	if badinput.Is(err) {
		return err
	}
	return namesInput(inputs, err)
}

// streamTensor reads, converts and encodes one tensor when written.
type streamTensor struct {
	name  string
	src   TensorSource
	shape []uint64
	t     fsggml.TensorType
}

func (s streamTensor) WriteTo(w io.Writer) (int64, error) {
	v, err := s.src.Read()
	if err != nil {
		return 0, err
	}
	if uint64(len(v)) != s.src.Elements {
		return 0, fmt.Errorf("tensor %s: read %d values, want %d", s.name, len(v), s.src.Elements)
	}
	return bytesWriter(Encode(v, s.shape, s.t)).WriteTo(w)
}

var defaultConvertTypes = map[string]fsggml.TensorType{}

// SetDefaultConvertType sets the storage type `multisc convert --arch arch`
// uses when --type is not given (f32 for architectures that set none).
func SetDefaultConvertType(arch string, t fsggml.TensorType) {
	streamMu.Lock()
	defer streamMu.Unlock()
	defaultConvertTypes[arch] = t
}

// DefaultConvertType is the storage type of a conversion without --type.
func DefaultConvertType(arch string) fsggml.TensorType {
	streamMu.Lock()
	defer streamMu.Unlock()
	if t, ok := defaultConvertTypes[arch]; ok {
		return t
	}
	return fsggml.TensorTypeF32
}

// Materialize runs the stream converter and reads every tensor at once: the
// map-of-values form of Arch.Convert, for architectures whose converter is
// written as a stream.
func (f StreamConvertFunc) Materialize(inputs []string) (fsggml.KV, map[string][]float32, error) {
	kv, sources, release, err := f(inputs)
	if err != nil {
		return nil, nil, err
	}
	values, err := MaterializeSources(sources, release)
	if err != nil {
		return nil, nil, err
	}
	return kv, values, nil
}
