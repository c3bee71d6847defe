package bindings

import fsggml "github.com/ollama/ollama/fs/ggml"

// MultiFile is an architecture whose model is several GGUF files (LLaVA: a
// language model and its mmproj). `multisc synth` and `multisc convert`
// hand such an --arch to these functions instead of Synth/ConvertFiles;
// each returns the files it wrote (out first).
type MultiFile struct {
	Synth   func(size string, seed uint64, want fsggml.TensorType, out string) ([]string, error)
	Convert func(inputs []string, want fsggml.TensorType, out string) ([]string, error)
}

var multiFiles = map[string]MultiFile{}

// RegisterMultiFile registers a multi-file architecture (its name must also
// be registered with RegisterArch, for --list and --help).
func RegisterMultiFile(name string, m MultiFile) {
	if _, ok := multiFiles[name]; ok {
		panic("bindings: multi-file architecture registered twice: " + name)
	}
	multiFiles[name] = m
}

// LookupMultiFile returns the multi-file architecture of that name.
func LookupMultiFile(name string) (MultiFile, bool) {
	m, ok := multiFiles[name]
	return m, ok
}

// FileTypeOf is the general.file_type a multi-file writer records for
// files stored as t.
func FileTypeOf(t fsggml.TensorType) fsggml.FileType { return fileTypeOf(t) }
