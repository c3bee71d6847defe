package bindings

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// streamTestSpecs: a weight that f16 takes and a bias that stays f32.
var streamTestSpecs = []TensorSpec{
	{Name: "blk.0.proj.weight", Shape: []uint64{64, 32}, Init: InitWeight},
	{Name: "blk.0.proj.bias", Shape: []uint64{32}, Init: InitBias},
}

// streamTest is what the registered stream converter of "streamtest"
// returns; each case of TestConvertStream sets it.
var streamTest struct {
	sources  map[string]TensorSource
	err      error
	releases atomic.Int32
}

func init() {
	RegisterArch(Arch{Name: "streamtest", Short: "test architecture of convert_stream_test.go",
		Tensors: func(fsggml.KV) ([]TensorSpec, error) { return streamTestSpecs, nil },
		Config:  func(string) (fsggml.KV, error) { return fsggml.KV{"width": uint32(64)}, nil },
	})
	RegisterStreamConverter("streamtest", func([]string) (fsggml.KV, map[string]TensorSource, func() error, error) {
		if streamTest.err != nil {
			return nil, nil, nil, streamTest.err
		}
		return fsggml.KV{"width": uint32(64)}, streamTest.sources, func() error { streamTest.releases.Add(1); return nil }, nil
	})
}

func valuesSource(v []float32) TensorSource {
	return TensorSource{Elements: uint64(len(v)), Read: func() ([]float32, error) { return append([]float32(nil), v...), nil }}
}

// TestConvertStream: a streaming conversion writes exactly the bytes of
// WriteFile on the materialized values (f16 and f32); every failure (read
// error, missing/extra tensor, wrong count, converter error) is an error
// naming the input, leaves no output file and releases the inputs once.
func TestConvertStream(t *testing.T) {
	vals := map[string][]float32{}
	for _, s := range streamTestSpecs {
		vals[s.Name] = SynthValues(s, 7)
	}
	good := func() map[string]TensorSource {
		m := map[string]TensorSource{}
		for k, v := range vals {
			m[k] = valuesSource(v)
		}
		return m
	}
	readErr := good()
	readErr["blk.0.proj.weight"] = TensorSource{Elements: 2048, Read: func() ([]float32, error) { return nil, errors.New("disk on fire") }}
	short := good()
	short["blk.0.proj.weight"] = TensorSource{Elements: 2048, Read: func() ([]float32, error) { return make([]float32, 5), nil }}
	missing := good()
	delete(missing, "blk.0.proj.bias")
	extra := good()
	extra["blk.1.proj.bias"] = valuesSource([]float32{1})
	count := good()
	count["blk.0.proj.bias"] = valuesSource([]float32{1, 2})

	for _, want := range []fsggml.TensorType{fsggml.TensorTypeF16, fsggml.TensorTypeF32} {
		dir := t.TempDir()
		kv := withArch(fsggml.KV{"width": uint32(64)}, "streamtest")
		kv["general.file_type"] = fileTypeOf(want)
		var ts []*fsggml.Tensor
		for _, s := range streamTestSpecs {
			ts = append(ts, NewTensor(s.Name, s.Shape, vals[s.Name], StorageType(s.Name, s.Shape, want)))
		}
		ref := filepath.Join(dir, "ref.gguf")
		if err := WriteFile(ref, kv, ts); err != nil {
			t.Fatal(err)
		}
		streamTest.sources, streamTest.err = good(), nil
		streamTest.releases.Store(0)
		out := filepath.Join(dir, "out.gguf")
		if _, err := ConvertFilesReport("streamtest", []string{"in.ckpt"}, want, out); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(ref)
		b, _ := os.ReadFile(out)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%v: streamed file (%d bytes) differs from WriteFile's (%d bytes)", want, len(b), len(a))
		}
		if n := streamTest.releases.Load(); n != 1 {
			t.Fatalf("release called %d times, want 1", n)
		}
	}

	for _, c := range []struct {
		name    string
		sources map[string]TensorSource
		err     error
		msg     string
	}{
		{"read error", readErr, nil, "disk on fire"},
		{"short read", short, nil, "read 5 values, want 2048"},
		{"missing", missing, nil, "no tensor blk.0.proj.bias"},
		{"extra", extra, nil, "unexpected tensors [blk.1.proj.bias]"},
		{"count", count, nil, "blk.0.proj.bias has 2 values"},
		{"converter", nil, errors.New("not a checkpoint"), "not a checkpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			streamTest.sources, streamTest.err = c.sources, c.err
			streamTest.releases.Store(0)
			out := filepath.Join(t.TempDir(), "out.gguf")
			_, err := ConvertFilesReport("streamtest", []string{"in.ckpt"}, fsggml.TensorTypeF16, out)
			if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "in.ckpt") {
				t.Fatalf("error %v, want one naming in.ckpt and %q", err, c.msg)
			}
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Fatalf("output file left behind: %v", statErr)
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 0 {
				t.Fatalf("partial files left: %v", entries)
			}
			if want := map[bool]int32{true: 0, false: 1}[c.err != nil]; streamTest.releases.Load() != want {
				t.Fatalf("release called %d times, want %d", streamTest.releases.Load(), want)
			}
		})
	}
}

// TestMaterializeSources reads every source and checks announced counts.
func TestMaterializeSources(t *testing.T) {
	released := 0
	rel := func() error { released++; return nil }
	got, err := MaterializeSources(map[string]TensorSource{"a": valuesSource([]float32{1, 2})}, rel)
	if err != nil || len(got["a"]) != 2 || got["a"][1] != 2 || released != 1 {
		t.Fatalf("got %v, %v, released %d", got, err, released)
	}
	bad := map[string]TensorSource{"a": {Elements: 3, Read: func() ([]float32, error) { return []float32{1}, nil }}}
	if _, err := MaterializeSources(bad, rel); err == nil || released != 2 {
		t.Fatalf("count mismatch not reported (%v), released %d", err, released)
	}
}
