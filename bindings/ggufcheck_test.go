package bindings

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// ggufBytes builds a GGUF v3 header by hand: counts, then raw kv and tensor
// info bytes, then pad bytes of (fake) data.
type ggufBuilder struct{ bytes.Buffer }

func (b *ggufBuilder) u32(v uint32) *ggufBuilder {
	b.Write(binary.LittleEndian.AppendUint32(nil, v))
	return b
}
func (b *ggufBuilder) u64(v uint64) *ggufBuilder {
	b.Write(binary.LittleEndian.AppendUint64(nil, v))
	return b
}
func (b *ggufBuilder) str(s string) *ggufBuilder {
	b.u64(uint64(len(s)))
	b.WriteString(s)
	return b
}
func newGGUF(version uint32, tensors, kvs uint64) *ggufBuilder {
	b := &ggufBuilder{}
	b.WriteString("GGUF")
	return b.u32(version).u64(tensors).u64(kvs)
}

// tensorInfo appends one tensor info: name, dims, shape, type, offset.
func (b *ggufBuilder) tensorInfo(name string, shape []uint64, kind uint32, off uint64) *ggufBuilder {
	b.str(name).u32(uint32(len(shape)))
	for _, d := range shape {
		b.u64(d)
	}
	return b.u32(kind).u64(off)
}

func (b *ggufBuilder) pad(n int) []byte {
	b.Write(make([]byte, n))
	return b.Bytes()
}

// writtenGGUF is a small file of our writer: string, int and array
// metadata, f32, f16 and q8_0 tensors.
func writtenGGUF(t testing.TB, dir string, seed uint64) []byte {
	p := filepath.Join(dir, "written.gguf")
	kv := fsggml.KV{"general.architecture": "x", "x.channels": []uint32{3, 4}, "x.names": []string{"a", "b"}, "x.eps": float32(1e-5)}
	vals := SynthValues(TensorSpec{Name: "w", Shape: []uint64{64, 2}}, seed)
	err := WriteFile(p, kv, []*fsggml.Tensor{
		NewTensor("a.0.weight", []uint64{64, 2}, vals, fsggml.TensorTypeQ8_0),
		NewTensor("a.0.bias", []uint64{2}, vals[:2], fsggml.TensorTypeF32),
		NewTensor("b.1.weight", []uint64{3, 3, 2, 2}, vals[:36], fsggml.TensorTypeF16),
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheckGGUFHeader(t *testing.T) {
	dir := t.TempDir()
	data := writtenGGUF(t, dir, 1)
	if err := CheckGGUFHeader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("a file of our writer: %v", err)
	}
	arch := func(b *ggufBuilder) *ggufBuilder { return b.str("general.architecture").u32(ggufString).str("x") }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		// The 100-byte file: an array of 2^40 uint32.
		{"huge array", arch(newGGUF(3, 0, 2)).str("x.big").u32(ggufArray).u32(ggufU32).u64(1 << 40).pad(20), "array of 1099511627776 values"},
		{"huge string array", arch(newGGUF(3, 0, 2)).str("x.s").u32(ggufArray).u32(ggufString).u64(1 << 40).pad(20), "array of 1099511627776 strings"},
		{"huge string", newGGUF(3, 0, 1).str("k").u32(ggufString).u64(1 << 62).pad(20), "string of"},
		{"huge key", newGGUF(3, 0, 1).u64(1 << 50).pad(40), "string of"},
		{"kv count", newGGUF(3, 0, 1<<60).pad(50), "key-values"},
		{"tensor count", newGGUF(3, 1<<60, 0).pad(50), "tensors"},
		{"nested array", newGGUF(3, 0, 1).str("k").u32(ggufArray).u32(ggufArray).u64(1).pad(20), "not supported"},
		{"value type", newGGUF(3, 0, 1).str("k").u32(99).pad(20), "unknown value type"},
		{"version 1", newGGUF(1, 0, 0).pad(20), "version 1"},
		{"rank", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{1, 1, 1, 1, 1}, 0, 0).pad(64), "5 dimensions"},
		{"shape overflow", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{1 << 62, 3, 11, 11}, 0, 0).pad(64), "overflows"},
		{"tensor type", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{4}, 77, 0).pad(64), "unknown type 77"},
		{"blocks", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{33}, uint32(fsggml.TensorTypeQ8_0), 0).pad(64), "blocks"},
		{"data beyond file", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{1024, 1024}, 0, 0).pad(64), "needs bytes 0 to 4194304"},
		{"offset beyond file", arch(newGGUF(3, 1, 1)).tensorInfo("w", []uint64{4}, 0, 1<<62).pad(64), "needs bytes"},
		{"duplicate tensor", arch(newGGUF(3, 2, 1)).tensorInfo("w", []uint64{4}, 0, 0).tensorInfo("w", []uint64{4}, 0, 32).pad(128), "appears twice"},
		{"alignment", newGGUF(3, 0, 1).str("general.alignment").u32(ggufU32).u32(3).pad(8), "power of two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".gguf")
			os.WriteFile(p, tc.data, 0o644)
			_, err := Header(p)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want a bad-input error naming %s and %q", err, p, tc.want)
			}
		})
	}
}

// FuzzGGUFHeader: any bytes either fail CheckGGUFHeader or decode with
// ollama's decoder without an error or a panic, with as many tensors as the
// header declared, each inside the file.
func FuzzGGUFHeader(f *testing.F) {
	f.Add(writtenGGUF(f, f.TempDir(), 0))
	b := newGGUF(3, 1, 2).str("general.architecture").u32(ggufString).str("x")
	b.str("x.list").u32(ggufArray).u32(ggufString).u64(2).str("a").str("bc")
	f.Add(b.tensorInfo("w.0", []uint64{32, 2}, uint32(fsggml.TensorTypeQ8_0), 0).pad(96))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := CheckGGUFHeader(bytes.NewReader(data), int64(len(data))); err != nil {
			return
		}
		meta, err := decodeGGUF(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("checked header does not decode: %v", err)
		}
		for _, tn := range meta.Tensors().Items() {
			if end := meta.Tensors().Offset + tn.Offset + tn.Size(); end > uint64(len(data)) {
				t.Fatalf("tensor %s ends at %d of %d bytes", tn.Name, end, len(data))
			}
		}
	})
}
