package bindings

// The prototype is declared, not included: the symbol is compiled into the
// binary by ollama's ggml source package, whose headers are not on this
// package's include path.

// void ggml_backend_load_all_from_path(const char * dir_path);
// #include <stdlib.h>
import "C"

import (
	"os"
	"path/filepath"
	"sync"
	"unsafe"
)

// LibPathEnv names the environment variable that overrides where the GPU
// backend libraries (libggml-cuda.so, libggml-base.so, CPU variants) are
// looked for. Without it they are looked for beside the executable.
const LibPathEnv = "MULTISC_LIB_PATH"

// LibDir is the folder GPU backends load from.
func LibDir() string {
	if d := os.Getenv(LibPathEnv); d != "" {
		return d
	}
	exe, err := os.Executable()
	if err != nil {
		return "."
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return filepath.Dir(exe)
}

// loadBackends registers the dynamically built backends once, before ollama
// first enumerates devices. ollama's own loader only trusts folders named
// lib/ollama; we point it at nothing and load from our folder ourselves.
var loadBackends = sync.OnceFunc(func() {
	os.Setenv("OLLAMA_LIBRARY_PATH", "")
	dir := LibDir()
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return
	}
	c := C.CString(dir)
	defer C.free(unsafe.Pointer(c))
	C.ggml_backend_load_all_from_path(c)
})
