package bindings

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// Header reads a GGUF file's metadata and tensor table without loading
// tensor data. Every failure is a bad-input error naming the file.
func Header(path string) (*fsggml.GGML, error) {
	if err := badinput.CheckFile(path, "GGUF model file"); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "GGUF" {
		return nil, badinput.Errorf("%s: not a GGUF model file (bad magic)", path)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	// Every count and length is checked against the file before ollama's
	// decoder, which allocates what the header claims, sees the file.
	if err := CheckGGUFHeader(f, st.Size()); err != nil {
		if errors.Is(err, errTruncated) {
			return nil, badinput.Errorf("%s: truncated or corrupt GGUF file: %v", path, err)
		}
		return nil, badinput.Errorf("%s: malformed GGUF file: %v", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	meta, err := decodeGGUF(f)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badinput.Errorf("%s: truncated GGUF file (header ends early)", path)
		}
		if strings.Contains(err.Error(), "exceeds file size") {
			return nil, badinput.Errorf("%s: truncated GGUF file (%v)", path, err)
		}
		return nil, badinput.Errorf("%s: malformed GGUF file: %v", path, err)
	}
	// Unknown tensor types would abort inside ggml: reject them here.
	for _, t := range meta.Tensors().Items() {
		if !knownType(fsggml.TensorType(t.Kind)) {
			return nil, badinput.Errorf("%s: tensor %s has unknown type %d", path, t.Name, t.Kind)
		}
	}
	return meta, nil
}

// decodeGGUF wraps fsggml.Decode, turning a panic on hostile input (huge
// counts, absurd shapes) into an error.
func decodeGGUF(r io.ReadSeeker) (meta *fsggml.GGML, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return fsggml.Decode(r, -1)
}

// knownTypes are the tensor types this engine loads and computes with.
var knownTypes = []fsggml.TensorType{
	fsggml.TensorTypeF32, fsggml.TensorTypeF16, fsggml.TensorTypeBF16,
	fsggml.TensorTypeQ4_0, fsggml.TensorTypeQ4_1, fsggml.TensorTypeQ5_0, fsggml.TensorTypeQ5_1,
	fsggml.TensorTypeQ8_0, fsggml.TensorTypeQ2_K, fsggml.TensorTypeQ3_K, fsggml.TensorTypeQ4_K,
	fsggml.TensorTypeQ5_K, fsggml.TensorTypeQ6_K, fsggml.TensorTypeI32,
}

func knownType(t fsggml.TensorType) bool { return slices.Contains(knownTypes, t) }

// Validate checks a model file before use: it is a GGUF, its
// general.architecture is arch (any registered one when arch is ""), every
// required tensor exists with the expected shape and an allowed type, and the
// block count covers every layer index. It returns the decoded header.
func Validate(path, arch string) (*fsggml.GGML, error) {
	meta, err := Header(path)
	if err != nil {
		return nil, err
	}
	if err := Check(path, meta, arch); err != nil {
		return nil, err
	}
	return meta, nil
}

// Check is Validate on a header already read by Header (path names the file
// in errors).
func Check(path string, meta *fsggml.GGML, arch string) error {
	kv := meta.KV()
	got := kv.Architecture()
	if arch != "" && got != arch {
		if got == "" {
			return badinput.Errorf("%s: general.architecture is missing, want %q", path, arch)
		}
		return badinput.Errorf("%s: architecture is %q, want %q", path, got, arch)
	}
	a, ok := LookupArch(got)
	if !ok {
		return badinput.Errorf("%s: unknown architecture %q (known: %v)", path, got, ArchNames())
	}
	specs, err := a.Tensors(kv)
	if err != nil {
		return badinput.Errorf("%s: %v", path, err)
	}
	have := map[string]*fsggml.Tensor{}
	var names []string
	for _, t := range meta.Tensors().Items() {
		have[t.Name] = t
		names = append(names, t.Name)
	}
	for _, s := range specs {
		t, ok := have[s.Name]
		if !ok {
			return badinput.Errorf("%s: tensor %s is missing", path, s.Name)
		}
		if !slices.Equal(t.Shape, s.Shape) {
			return badinput.Errorf("%s: tensor %s has shape %v, want %v (ggml order)", path, s.Name, t.Shape, s.Shape)
		}
		if tt := fsggml.TensorType(t.Kind); !Allowed(s.Name, s.Shape, tt) {
			return badinput.Errorf("%s: tensor %s has type %s, which this layer cannot use", path, s.Name, tt)
		}
	}
	if need := BlockCount(names); kv.BlockCount() < uint64(need) {
		return badinput.Errorf("%s: metadata %s.block_count = %d, want >= %d", path, got, kv.BlockCount(), need)
	}
	return nil
}
