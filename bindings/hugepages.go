package bindings

// Transparent huge pages for the weights (Linux).
//
// A decode step streams every weight once (470 MB for the q8_0 captioner
// LM): with 4 KiB pages that is ~120 000 TLB refills a token. On kernels
// whose transparent_hugepage setting is "madvise" (Debian's default), only
// memory that asks gets 2 MiB pages, and it has to ask before the pages are
// touched. The engine allocates each layer's weight buffer in model.New and
// fills it in Backend.Load; adviseHugePages runs in between.

/*
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
struct ggml_backend_buffer;
void * ggml_backend_buffer_get_base(struct ggml_backend_buffer * buffer);
size_t ggml_backend_buffer_get_size(struct ggml_backend_buffer * buffer);
bool ggml_backend_buffer_is_host(struct ggml_backend_buffer * buffer);

// multisc_advise_huge asks for huge pages on the whole 2 MiB pages inside a
// host buffer; returns the bytes advised.
static size_t multisc_advise_huge(struct ggml_backend_buffer * b) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	if (b == NULL || !ggml_backend_buffer_is_host(b)) return 0;
	const uintptr_t huge = 2u << 20;
	uintptr_t lo = (uintptr_t) ggml_backend_buffer_get_base(b);
	uintptr_t hi = lo + ggml_backend_buffer_get_size(b);
	lo = (lo + huge - 1) & ~(huge - 1);
	hi &= ~(huge - 1);
	if (hi <= lo || madvise((void *) lo, hi - lo, MADV_HUGEPAGE) != 0) return 0;
	return hi - lo;
#else
	(void) b;
	return 0;
#endif
}
*/
import "C"

import (
	"reflect"

	"github.com/ollama/ollama/ml"
)

// adviseHugePages asks for huge pages on b's host weight buffers and returns
// the bytes advised (0 where the engine's fields changed or the OS has no
// such advice).
func adviseHugePages(b ml.Backend) uint64 {
	f, err := field(b, "weightBuffers")
	if err != nil || f.Kind() != reflect.Map {
		return 0
	}
	var n uint64
	it := f.MapRange()
	for it.Next() {
		n += uint64(C.multisc_advise_huge((*C.struct_ggml_backend_buffer)(it.Value().UnsafePointer())))
	}
	return n
}
