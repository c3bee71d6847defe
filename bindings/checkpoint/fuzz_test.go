package checkpoint

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// fuzzOpen opens data as a checkpoint and reads every tensor. Whatever the
// bytes: no panic, errors are bad-input errors naming the file, and what
// reads has as many values as its shape and no more values than the file
// has bytes (no view may expand its storage).
func fuzzOpen(t *testing.T, name string, data []byte) {
	if len(data) > 1<<20 {
		return
	}
	check := func(err error) {
		if !badinput.Is(err) || !strings.Contains(err.Error(), name) {
			t.Fatalf("error %v is not a bad-input error naming %s", err, name)
		}
	}
	f, err := OpenReader(name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		check(err)
		return
	}
	for _, k := range f.Keys() {
		info, _ := f.Info(k)
		tn, err := f.Read(k)
		if err != nil {
			check(err)
			continue
		}
		if !equalInts(tn.Shape, info.Shape) || len(tn.Data) != tn.Numel() || len(tn.Data) > len(data) {
			t.Fatalf("%s: shape %v (info %v), %d values from %d bytes", k, tn.Shape, info.Shape, len(tn.Data), len(data))
		}
	}
}

func addFile(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// FuzzSafetensors: the safetensors reader (header JSON, dtypes, offsets).
func FuzzSafetensors(f *testing.F) {
	addFile(f, "testdata/expect.safetensors")
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[0,4]}}          \x00\x3c\x00\x40"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpen(t, "fuzz.safetensors", data) })
}

// FuzzTorchZip: the zip reader (archive, data.pkl, storage records).
func FuzzTorchZip(f *testing.F) {
	addFile(f, "testdata/nested.pth")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpen(t, "fuzz.pth", data) })
}

// FuzzTorchLegacy: the legacy reader (pickle pre-scan, gopickle with the
// restricted class table, storage keys and raw storages).
func FuzzTorchLegacy(f *testing.F) {
	addFile(f, "testdata/nested_legacy.pth")
	f.Add(legacyFile(legacyTensor(6, 0, pTuple(3, 2), pTuple(1, 3)), 6, []float32{0, 1, 2, 3, 4, 5}))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOpen(t, "fuzz.pth", data) })
}
