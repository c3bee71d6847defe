package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// TestPickleMatchesSafetensors: the PyTorch zip (nested under state_dict,
// with strided views and f16/bf16/f64/int64 storages) reads to the same
// values as the contiguous f32 safetensors of the same tensors. f16 and bf16
// were widened to f32 on both sides, so equality is exact.
func TestPickleMatchesSafetensors(t *testing.T) {
	for _, name := range []string{"nested.pth", "nested_legacy.pth"} {
		t.Run(name, func(t *testing.T) { testMatchesSafetensors(t, "testdata/"+name) })
	}
}

func testMatchesSafetensors(t *testing.T, path string) {
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load("testdata/expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Keys(), ",") != strings.Join(want.Keys(), ",") {
		t.Fatalf("keys %v, want %v", got.Keys(), want.Keys())
	}
	for _, k := range want.Keys() {
		g, w := got[k], want[k]
		if !equalInts(g.Shape, w.Shape) {
			t.Errorf("%s: shape %v, want %v", k, g.Shape, w.Shape)
			continue
		}
		for i := range w.Data {
			if g.Data[i] != w.Data[i] {
				t.Errorf("%s[%d] = %v, want %v", k, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
	if _, err := got.Take("layer.sliced", 2, 3); err != nil {
		t.Error(err)
	}
	if _, err := got.Take("layer.half", 2, 3); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("Take with a wrong shape: %v", err)
	}
}

func writeSafetensors(t *testing.T, dir, name, header string, data []byte) string {
	t.Helper()
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(len(header)))
	b = append(append(b, header...), data...)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.pth")
	os.WriteFile(text, []byte("not a checkpoint"), 0o644)
	huge := filepath.Join(dir, "huge.safetensors")
	os.WriteFile(huge, binary.LittleEndian.AppendUint64(nil, 1<<40), 0o644)
	full, _ := os.ReadFile("testdata/nested.pth")
	cut := filepath.Join(dir, "cut.pth")
	os.WriteFile(cut, full[:len(full)/2], 0o644)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.pth"), "no such checkpoint file"},
		{"directory", dir, "directory"},
		{"text", text, "not a safetensors or PyTorch checkpoint"},
		{"truncated zip", cut, "not a PyTorch zip checkpoint"},
		{"huge header", huge, "header length"},
		{"bad json", writeSafetensors(t, dir, "json.safetensors", "{nope", nil), "malformed"},
		{"bad dtype", writeSafetensors(t, dir, "dt.safetensors", `{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), "unsupported dtype"},
		{"offsets", writeSafetensors(t, dir, "off.safetensors", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8)), "data offsets"},
		{"shape mismatch", writeSafetensors(t, dir, "shape.safetensors", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, make([]byte, 16)), "data offsets"},
		// 2^62·3·11·11 elements: the product overflows int64.
		{"overflowing shape", writeSafetensors(t, dir, "ovf.safetensors", `{"a":{"dtype":"F32","shape":[4611686018427387904,3,11,11],"data_offsets":[0,0]}}`, nil), "more than"},
		{"negative dim", writeSafetensors(t, dir, "neg.safetensors", `{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}`, make([]byte, 16)), "negative"},
		{"data not present", writeSafetensors(t, dir, "nodata.safetensors", `{"a":{"dtype":"F32","shape":[1024,1024],"data_offsets":[0,4194304]}}`, make([]byte, 64)), "data bytes present"},
		{"empty", writeSafetensors(t, dir, "empty.safetensors", `{"__metadata__":{}}`, nil), "no tensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("got %v, want a bad-input error naming %s and %q", err, tc.path, tc.want)
			}
		})
	}
}

func TestRest(t *testing.T) {
	sd := StateDict{"features.0.weight": {}, "classifier.1.weight": {}, "extra.bias": {}, "classifier.6.bias": {}}
	if got := strings.Join(sd.Rest("classifier."), ","); got != "extra.bias,features.0.weight" {
		t.Fatalf("Rest = %s", got)
	}
	if got := len(sd.Rest("classifier.", "extra.", "features.")); got != 0 {
		t.Fatalf("Rest with every prefix dropped = %d keys", got)
	}
}
