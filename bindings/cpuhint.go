package bindings

import (
	"runtime"
	"slices"

	"golang.org/x/sys/cpu"
)

// SlowHint is one line of advice when the CPU kernels in use are slower than
// this machine allows: an x86-64 CPU with AVX2 running kernels built without
// it (a plain `go build` compiles ggml for the baseline x86-64, 10-20x slower
// on convolutions and matrix products). It is "" otherwise.
func (c CPUBackend) SlowHint() string {
	if runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 || slices.Contains(c.Features, "AVX2") {
		return ""
	}
	return "this multisc was built without AVX2 kernels though the CPU has them (10-20x slower): build it with ./build.sh (README, \"A fresh machine\")"
}
