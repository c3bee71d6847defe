package bindings

import (
	"testing"

	"github.com/ollama/ollama/ml"
)

// TestDevicesKeepBuffersUsable: enumerating devices opens a dry-run backend,
// which in ggml marks the CPU buffer type no_alloc for every backend; the
// scratch backend from TestMain must still compute afterwards. (This file
// sorts first, so this is the process's first enumeration.)
func TestDevicesKeepBuffersUsable(t *testing.T) {
	in := randn(1, 24, 1)
	build := func(ctx ml.Context) ml.Tensor { return ctx.Input().FromFloats(in, 4, 3, 2).Scale(ctx, 2) }
	before, _ := compute(t, build)
	devs, err := Devices(0)
	if err != nil {
		t.Fatal(err)
	}
	if devs[0].Name != "CPU" || devs[0].Threads < 1 {
		t.Fatalf("first device %+v, want the CPU with its threads", devs[0])
	}
	after, _ := compute(t, build)
	assertClose(t, after, before, 0)
}

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "auto", true}, {"auto", "auto", true}, {"cpu", "cpu", true}, {"cuda:0", "cuda:0", true},
		{"cuda:12", "cuda:12", true}, {"cuda", "cuda:0", true},
		{"cuda:-1", "", false}, {"cuda:x", "", false}, {"gpu", "", false}, {"CPU", "", false},
	} {
		d, err := ParseDevice(tc.in)
		if (err == nil) != tc.ok || (tc.ok && d.String() != tc.want) {
			t.Errorf("ParseDevice(%q) = %v, %v; want %q ok=%v", tc.in, d, err, tc.want, tc.ok)
		}
	}
}
