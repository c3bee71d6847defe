package bindings

// Prototypes of ggml-backend.h (declared, not included: see libpath.go),
// plus dladdr to name the shared library a backend came from.

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct ggml_backend_reg * ggml_backend_reg_t;
typedef struct ggml_backend_device * ggml_backend_dev_t;
struct ggml_backend_feature { const char * name; const char * value; };
typedef struct ggml_backend_feature * (*multisc_get_features_t)(ggml_backend_reg_t);

size_t ggml_backend_dev_count(void);
ggml_backend_dev_t ggml_backend_dev_get(size_t index);
int ggml_backend_dev_type(ggml_backend_dev_t device); // enum: 0 is CPU
ggml_backend_reg_t ggml_backend_dev_backend_reg(ggml_backend_dev_t device);
void * ggml_backend_reg_get_proc_address(ggml_backend_reg_t reg, const char * name);
ggml_backend_reg_t ggml_backend_cpu_reg(void);

// multisc_first_cpu is the CPU device ollama computes on: the first one in
// ggml's registry, which orders devices by the score of their library.
static ggml_backend_dev_t multisc_first_cpu(void) {
	for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
		ggml_backend_dev_t d = ggml_backend_dev_get(i);
		if (ggml_backend_dev_type(d) == 0) return d;
	}
	return NULL;
}

static struct ggml_backend_feature * multisc_features(ggml_backend_reg_t reg) {
	multisc_get_features_t f = (multisc_get_features_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
	return f ? f(reg) : NULL;
}

// multisc_lib_of names the shared object holding the reg's features
// function (NULL when it is part of the executable).
static const char * multisc_lib_of(ggml_backend_reg_t reg) {
	void * f = ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
	Dl_info info;
	if (f == NULL || dladdr(f, &info) == 0) return NULL;
	return info.dli_fname;
}
*/
import "C"

import (
	"path/filepath"
	"strings"
	"unsafe"
)

// CPUBackend says which CPU backend computes: "baseline" (compiled into
// the binary by cgo) or the file name of the CPU variant library ggml chose
// (libggml-cpu-haswell.so, ...), and the SIMD features its kernels were
// built with.
type CPUBackend struct {
	Variant  string   `json:"variant"`
	Library  string   `json:"library,omitempty"` // full path of a variant library
	Features []string `json:"features"`
}

// cpuBackend inspects ggml's registry; call it after devices were
// enumerated (a backend was opened).
func cpuBackend() CPUBackend {
	d := C.multisc_first_cpu()
	if d == nil {
		return CPUBackend{Variant: "none"}
	}
	reg := C.ggml_backend_dev_backend_reg(d)
	out := CPUBackend{Variant: "baseline"}
	if reg != C.ggml_backend_cpu_reg() {
		out.Variant = "unknown library"
		if lib := C.multisc_lib_of(reg); lib != nil {
			out.Library = C.GoString(lib)
			out.Variant = filepath.Base(out.Library)
		}
	}
	if f := C.multisc_features(reg); f != nil {
		const size = unsafe.Sizeof(C.struct_ggml_backend_feature{})
		for p := unsafe.Pointer(f); ; p = unsafe.Add(p, size) {
			ft := (*C.struct_ggml_backend_feature)(p)
			if ft.name == nil {
				break
			}
			name := C.GoString(ft.name)
			if v := C.GoString(ft.value); v != "1" && v != "" {
				name += "=" + v
			}
			out.Features = append(out.Features, name)
		}
	}
	return out
}

// String is "baseline (SSE3, SSSE3)" or "libggml-cpu-haswell.so (AVX2, ...)".
func (c CPUBackend) String() string {
	f := "no SIMD features"
	if len(c.Features) > 0 {
		f = strings.Join(c.Features, ", ")
	}
	return c.Variant + " (" + f + ")"
}
