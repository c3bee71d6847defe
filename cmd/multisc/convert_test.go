package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestConvertLPIPSLegacy: `convert --arch lpips` reads checkpoints in
// PyTorch's legacy (pre-1.6) serialization, the format of the published
// LPIPS v0.1 alex.pth, and writes the same GGUF bytes as from the zip
// format of the same tensors (testdata/*_legacy.pth are
// models/lpips/testdata/*.pth re-saved by
// bindings/checkpoint/testdata/make_legacy.py). Either argument order works.
func TestConvertLPIPSLegacy(t *testing.T) {
	dir := t.TempDir()
	zipOut, legacyOut, mixedOut := filepath.Join(dir, "zip.gguf"), filepath.Join(dir, "legacy.gguf"), filepath.Join(dir, "mixed.gguf")
	for _, tc := range []struct{ out, trunk, lin string }{
		{zipOut, "../../models/lpips/testdata/alexnet_tiny.pth", "../../models/lpips/testdata/alex_tiny.pth"},
		{legacyOut, "testdata/alexnet_tiny_legacy.pth", "testdata/alex_tiny_legacy.pth"},
		{mixedOut, "testdata/alex_tiny_legacy.pth", "../../models/lpips/testdata/alexnet_tiny.pth"},
	} {
		if _, stderr, code := runCLI(t, "convert", "--arch", "lpips", "--out", tc.out, tc.trunk, tc.lin); code != 0 {
			t.Fatalf("convert %s %s: %s", tc.trunk, tc.lin, stderr)
		}
	}
	want, _ := os.ReadFile(zipOut)
	for _, p := range []string{legacyOut, mixedOut} {
		got, err := os.ReadFile(p)
		if err != nil || len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the zip conversion (%d vs %d bytes, %v)", p, len(got), len(want), err)
		}
	}
	if _, stderr, code := runCLI(t, "inspect", "--arch", "lpips", legacyOut); code != 0 {
		t.Fatalf("inspect: %s", stderr)
	}
}
