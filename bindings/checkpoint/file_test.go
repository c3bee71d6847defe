package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// TestLazyAPI: Open indexes every format without reading tensor data, Info
// gives PyTorch shape and stored type, Read loads one tensor, and the three
// formats of the same tensors agree with Load.
func TestLazyAPI(t *testing.T) {
	want, err := Load("testdata/expect.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		format Format
		dtypes map[string]DType
	}{
		{"testdata/nested.pth", PyTorchZip, map[string]DType{"layer.half": "F16", "layer.bf16": "BF16", "layer.double": "F64", "layer.index": "I64", "layer.sliced": "F32"}},
		{"testdata/nested_legacy.pth", PyTorchLegacy, map[string]DType{"layer.half": "F16", "layer.index": "I64", "layer.transposed": "F32"}},
		{"testdata/expect.safetensors", Safetensors, map[string]DType{"layer.half": "F32"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, err := Open(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Format() != tc.format {
				t.Errorf("format %s, want %s", f.Format(), tc.format)
			}
			if got := strings.Join(f.Keys(), ","); got != strings.Join(want.Keys(), ",") {
				t.Fatalf("keys %s", got)
			}
			for k, dt := range tc.dtypes {
				if info, ok := f.Info(k); !ok || info.DType != dt || !equalInts(info.Shape, want[k].Shape) {
					t.Errorf("Info(%s) = %+v, %v; want %s %v", k, info, ok, dt, want[k].Shape)
				}
			}
			// Read in reverse order: each read stands alone.
			keys := f.Keys()
			for i := len(keys) - 1; i >= 0; i-- {
				got, err := f.Read(keys[i])
				if err != nil {
					t.Fatal(err)
				}
				w := want[keys[i]]
				if !equalInts(got.Shape, w.Shape) || len(got.Data) != len(w.Data) {
					t.Fatalf("%s: shape %v", keys[i], got.Shape)
				}
				for j := range w.Data {
					if got.Data[j] != w.Data[j] {
						t.Fatalf("%s[%d] = %v, want %v", keys[i], j, got.Data[j], w.Data[j])
					}
				}
			}
			if _, err := f.Read("nope"); !badinput.Is(err) || !strings.Contains(err.Error(), "nope") {
				t.Errorf("Read of a missing key: %v", err)
			}
		})
	}
}

// Hand-made legacy files: pickle protocol 2 opcodes written out.
func pStr(s string) string {
	return "X" + string(binary.LittleEndian.AppendUint32(nil, uint32(len(s)))) + s
}
func pInt(n int32) string { return "J" + string(binary.LittleEndian.AppendUint32(nil, uint32(n))) }
func pTuple(xs ...int32) string {
	s := "("
	for _, x := range xs {
		s += pInt(x)
	}
	return s + "t"
}

// legacyTensor is the object pickle {"w": tensor} with one FloatStorage
// "0" of numel elements viewed at offset with size and stride.
func legacyTensor(numel, offset int32, size, stride string) string {
	return "\x80\x02}(" + pStr("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" + pStr("storage") +
		"ctorch\nFloatStorage\n" + pStr("0") + pStr("cpu") + pInt(numel) + "NtQ" + pInt(offset) +
		size + stride + "\x89}tRu."
}

// legacyFile assembles magic, protocol, sys info, object, keys ["0"] and
// one storage with count elements of data (no keys and no storage when data
// is nil).
func legacyFile(obj string, count uint64, data []float32) []byte {
	var b bytes.Buffer
	b.WriteString(string(legacyMagic) + ".")
	b.WriteString("\x80\x02M\xe9\x03.")
	b.WriteString("\x80\x02}(" + pStr("little_endian") + "\x88u.")
	b.WriteString(obj)
	if data == nil {
		b.WriteString("\x80\x02].")
		return b.Bytes()
	}
	b.WriteString("\x80\x02](" + pStr("0") + "e.")
	b.Write(binary.LittleEndian.AppendUint64(nil, count))
	for _, v := range data {
		b.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
	}
	return b.Bytes()
}

func TestLegacyHandMade(t *testing.T) {
	dir := t.TempDir()
	six := []float32{0, 1, 2, 3, 4, 5}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.pth", legacyFile(legacyTensor(6, 0, pTuple(3, 2), pTuple(1, 3)), 6, six))
	sd, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	// A transposed 2x3: w[i][j] = data[i + 3j].
	if got := sd["w"]; !equalInts(got.Shape, []int{3, 2}) || got.Data[1] != 3 || got.Data[2] != 1 || got.Data[5] != 5 {
		t.Fatalf("w = %+v", got)
	}
	full := legacyFile(legacyTensor(6, 0, pTuple(2, 3), pTuple(3, 1)), 6, six)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"view outside storage", legacyFile(legacyTensor(6, 1, pTuple(2, 3), pTuple(3, 1)), 6, six), "outside its storage"},
		{"negative stride", legacyFile(legacyTensor(6, 5, pTuple(6), pTuple(-1)), 6, six), "negative"},
		{"expanded view", legacyFile(legacyTensor(1, 0, pTuple(100), pTuple(0)), 1, six[:1]), "expanded view"},
		{"overflowing size", legacyFile(legacyTensor(6, 0, "(\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40"+pInt(3)+pInt(11)+pInt(11)+"t", pTuple(363, 121, 11, 1)), 6, six), "size"},
		{"storage count differs", legacyFile(legacyTensor(6, 0, pTuple(6), pTuple(1)), 5, six[:5]), "holds 5 elements"},
		{"storage larger than file", legacyFile(legacyTensor(1<<30, 0, pTuple(6), pTuple(1)), 6, six), "malformed storage reference"},
		{"data cut", full[:len(full)-3], "data ends early"},
		{"string longer than file", legacyFile("\x80\x02X\xff\xff\xff\x7f", 0, nil), "ends early"},
		{"unknown opcode", legacyFile("\x80\x02\xff.", 0, nil), "unknown opcode"},
		// GLOBAL os.system + REDUCE, then BUILD: an inert object, never run.
		{"code is not run", legacyFile("\x80\x02cos\nsystem\n("+pStr("touch "+filepath.Join(dir, "pwned"))+"tR}b.", 0, nil), "holds no tensors"},
		{"cyclic object", legacyFile("\x80\x02}q\x00("+pStr("a")+"h\x00u.", 0, nil), "nests too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tc.name, " ", "_")+".pth", tc.data)
			_, err := Load(p)
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want a bad-input error naming %s and %q", err, p, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("pickle code was executed")
	}
}

// TestConcurrentRead: Read from several goroutines gives the same tensors.
func TestConcurrentRead(t *testing.T) {
	f, err := Open("testdata/nested_legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, _ := Load("testdata/nested_legacy.pth")
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for _, k := range f.Keys() {
				tn, err := f.Read(k)
				if err == nil && tn.Data[len(tn.Data)-1] != want[k].Data[len(tn.Data)-1] {
					err = fmt.Errorf("goroutine %d: %s differs", g, k)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
