package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/alexnet"
)

// synthTiny writes a tiny seeded AlexNet trunk and returns its path.
func synthTiny(t *testing.T, dir string, seed string) string {
	t.Helper()
	path := filepath.Join(dir, "alexnet-"+seed+".gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "alexnet", "--size", "tiny", "--seed", seed, "--out", path); code != 0 {
		t.Fatalf("synth: %s", stderr)
	}
	return path
}

func TestSynthInspectQuantizeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f32 := synthTiny(t, dir, "7")
	f16 := filepath.Join(dir, "f16.gguf")
	out, stderr, code := runCLI(t, "quantize", f32, f16, "--type", "f16")
	if code != 0 {
		t.Fatalf("quantize: %s", stderr)
	}
	// The report: five conv kernels to f16, five biases kept f32.
	if want := "10 tensors: 5 f16, 5 f32; not f16: 5 (biases, norms, 1-D and small (< 1024 elements) tensors stay f32)"; !strings.Contains(out, want) {
		t.Errorf("quantize printed %q, want %q", out, want)
	}
	// A quantized type that no tensor of a conv-only model can take is
	// refused, naming the type, the file and why; nothing is written.
	q8 := filepath.Join(dir, "q8.gguf")
	_, stderr, code = runCLI(t, "quantize", f32, q8, "--type", "q4_k")
	wantBadInput(t, stderr, code, "--type q4_k", f32, "5 (convolution kernels go no lower than f16)", "nothing written")
	if _, err := os.Stat(q8); err == nil {
		t.Error("a refused quantize wrote its output")
	}
	for _, tc := range []struct {
		path       string
		weightType string
	}{{f32, "F32"}, {f16, "F16"}} { // conv kernels stop at f16
		out, stderr, code := runCLI(t, "inspect", tc.path, "--json", "--load", "--device", "cpu")
		if code != 0 {
			t.Fatalf("inspect %s: %s", tc.path, stderr)
		}
		var r inspectReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Architecture != "alexnet" || !r.Validated || len(r.Tensors) != 10 {
			t.Fatalf("%s: arch %q validated %v tensors %d", tc.path, r.Architecture, r.Validated, len(r.Tensors))
		}
		for _, row := range r.Tensors {
			want := tc.weightType
			if strings.HasSuffix(row.Name, ".bias") {
				want = "F32"
			}
			if row.Type != want {
				t.Errorf("%s: %s is %s, want %s", tc.path, row.Name, row.Type, want)
			}
		}
		if r.Memory["CPU"] < r.TotalBytes {
			t.Errorf("%s: %d weight bytes on CPU, file holds %d", tc.path, r.Memory["CPU"], r.TotalBytes)
		}
	}
}

func TestSynthDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, _ := os.ReadFile(synthTiny(t, filepath.Join(dir), "3"))
	dir2 := t.TempDir()
	b, _ := os.ReadFile(synthTiny(t, dir2, "3"))
	c, _ := os.ReadFile(synthTiny(t, dir2, "4"))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same bytes")
	}
}

func TestSynthList(t *testing.T) {
	out, _, code := runCLI(t, "synth", "--list")
	if code != 0 || !strings.Contains(out, "alexnet") {
		t.Fatalf("synth --list: %d %q", code, out)
	}
}

// writeGGUF writes a GGUF with the given tensors (zero data) for bad-input
// tests.
func writeGGUF(t *testing.T, path, arch string, tensors []*fsggml.Tensor) string {
	t.Helper()
	if err := bindings.WriteFile(path, fsggml.KV{"general.architecture": arch, "channels": alexnet.FullChannels}, tensors); err != nil {
		t.Fatal(err)
	}
	return path
}

// alexnetTensors returns the full-size trunk's tensors, with edit applied to
// the list (drop one, change a shape or a type).
func alexnetTensors(t *testing.T, edit func([]*fsggml.Tensor) []*fsggml.Tensor) []*fsggml.Tensor {
	kv := fsggml.KV{"general.architecture": "alexnet", "alexnet.channels": alexnet.FullChannels}
	specs, err := alexnet.Tensors(kv)
	if err != nil {
		t.Fatal(err)
	}
	var ts []*fsggml.Tensor
	for _, s := range specs {
		ts = append(ts, bindings.NewTensor(s.Name, s.Shape, make([]float32, bindings.Elements(s.Shape)), fsggml.TensorTypeF32))
	}
	return edit(ts)
}

func TestModelBadInput(t *testing.T) {
	dir := t.TempDir()
	good := synthTiny(t, dir, "1")
	data, _ := os.ReadFile(good)

	notGGUF := filepath.Join(dir, "notes.txt")
	os.WriteFile(notGGUF, []byte("hello, not a model\n"), 0o644)
	truncated := filepath.Join(dir, "truncated.gguf")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	truncatedHeader := filepath.Join(dir, "truncated-header.gguf")
	os.WriteFile(truncatedHeader, data[:40], 0o644)
	otherArch := writeGGUF(t, filepath.Join(dir, "other.gguf"), "llama",
		[]*fsggml.Tensor{bindings.NewTensor("token_embd.weight", []uint64{4, 4}, make([]float32, 16), fsggml.TensorTypeF32)})
	missing := writeGGUF(t, filepath.Join(dir, "missing.gguf"), "alexnet", alexnetTensors(t, func(ts []*fsggml.Tensor) []*fsggml.Tensor {
		return ts[:len(ts)-1] // drops features.10.bias
	}))
	wrongShape := writeGGUF(t, filepath.Join(dir, "shape.gguf"), "alexnet", alexnetTensors(t, func(ts []*fsggml.Tensor) []*fsggml.Tensor {
		ts[2] = bindings.NewTensor("features.3.weight", []uint64{3, 3, 64, 192}, make([]float32, 3*3*64*192), fsggml.TensorTypeF32)
		return ts
	}))
	unknownType := writeGGUF(t, filepath.Join(dir, "type.gguf"), "alexnet", alexnetTensors(t, func(ts []*fsggml.Tensor) []*fsggml.Tensor {
		ts[0] = &fsggml.Tensor{Name: ts[0].Name, Kind: 99, Shape: ts[0].Shape, WriterTo: bytes.NewReader(nil)}
		return ts
	}))
	wrongType := writeGGUF(t, filepath.Join(dir, "q8conv.gguf"), "alexnet", alexnetTensors(t, func(ts []*fsggml.Tensor) []*fsggml.Tensor {
		s := ts[0].Shape // features.0.weight [11, 11, 3, 64]: conv kernels cannot be q8_0
		ts[0] = &fsggml.Tensor{Name: ts[0].Name, Kind: uint32(fsggml.TensorTypeQ8_0), Shape: s,
			WriterTo: bytes.NewReader(make([]byte, bindings.Elements(s)/32*34))}
		return ts
	}))

	noChannels := filepath.Join(dir, "nometa.gguf")
	if err := bindings.WriteFile(noChannels, fsggml.KV{"general.architecture": "alexnet"}, alexnetTensors(t, func(ts []*fsggml.Tensor) []*fsggml.Tensor { return ts })); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"missing metadata", []string{"inspect", noChannels}, []string{noChannels, "alexnet.channels", "missing"}},
		{"not gguf", []string{"inspect", notGGUF}, []string{notGGUF, "not a GGUF"}},
		{"truncated data", []string{"inspect", truncated}, []string{truncated, "truncated"}},
		{"truncated header", []string{"inspect", truncatedHeader}, []string{truncatedHeader, "truncated"}},
		{"other arch", []string{"inspect", "--arch", "alexnet", otherArch}, []string{otherArch, `"llama"`, `"alexnet"`}},
		{"missing tensor", []string{"inspect", missing}, []string{missing, "features.10.bias", "missing"}},
		{"wrong shape", []string{"inspect", wrongShape}, []string{wrongShape, "features.3.weight", "shape"}},
		{"unknown type", []string{"inspect", unknownType}, []string{unknownType, "unknown type 99"}},
		{"disallowed type", []string{"inspect", wrongType}, []string{wrongType, "features.0.weight", "Q8_0"}},
		{"directory", []string{"inspect", dir}, []string{dir, "directory"}},
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.gguf")}, []string{"nope.gguf", "no such GGUF model file"}},
		{"open missing tensor", []string{"inspect", "--load", missing}, []string{"features.10.bias"}},
		{"no such gpu", []string{"inspect", "--load", "--device", "cuda:3", good}, []string{"cuda:3", "no such device", "CPU"}},
		{"bad device", []string{"inspect", "--load", "--device", "tpu", good}, []string{"--device"}},
		{"quantize bad type", []string{"quantize", good, filepath.Join(dir, "x.gguf"), "--type", "q9_9"}, []string{"--type", "q9_9"}},
		{"quantize not gguf", []string{"quantize", notGGUF, filepath.Join(dir, "x.gguf")}, []string{notGGUF}},
		{"synth unknown arch", []string{"synth", "--arch", "vgg", "--out", filepath.Join(dir, "x.gguf")}, []string{"--arch", "vgg"}},
		{"synth bad size", []string{"synth", "--arch", "alexnet", "--size", "huge", "--out", filepath.Join(dir, "x.gguf")}, []string{"--size"}},
		{"synth no out", []string{"synth", "--arch", "alexnet"}, []string{"--out"}},
		{"convert unknown arch", []string{"convert", "--arch", "vgg", "--out", filepath.Join(dir, "x.gguf"), notGGUF}, []string{"vgg"}},
		{"convert not a checkpoint", []string{"convert", "--arch", "alexnet", "--out", filepath.Join(dir, "x.gguf"), notGGUF}, []string{notGGUF, "checkpoint"}},
		{"convert missing file", []string{"convert", "--arch", "alexnet", "--out", filepath.Join(dir, "x.gguf"), filepath.Join(dir, "none.pth")}, []string{"none.pth", "no such checkpoint file"}},
		{"convert gguf as checkpoint", []string{"convert", "--arch", "alexnet", "--out", filepath.Join(dir, "x.gguf"), good}, []string{good}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
	// Nothing half-written: no x.gguf and no temporary files left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "x.gguf" || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestConvertFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alexnet.gguf")
	if _, stderr, code := runCLI(t, "convert", "--arch", "alexnet", "--type", "f16", "--out", out,
		"../../models/alexnet/testdata/alexnet_tiny.pth"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	if _, err := bindings.Validate(out, "alexnet"); err != nil {
		t.Fatal(err)
	}
}

func TestDevicesListsCPU(t *testing.T) {
	out, stderr, code := runCLI(t, "devices", "--json", "--threads", "3")
	if code != 0 {
		t.Fatalf("devices: %s", stderr)
	}
	var devs []bindings.DeviceInfo
	if err := json.Unmarshal([]byte(out), &devs); err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 || devs[0].Name != "CPU" || devs[0].Threads != 3 {
		t.Fatalf("devices = %+v, want the CPU first with 3 threads", devs)
	}
}
