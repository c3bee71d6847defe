package bindings

// A persistent ggml thread pool for the engine's CPU backend.
//
// ollama's engine never gives its CPU backend a thread pool, so every graph
// compute makes ggml start and join a fresh set of worker threads. For big
// graphs that costs nothing measurable; for the many small graphs of token
// decoding (the captioner's LM, BART) it made us fragile under load: on this
// 2-core machine with another process busy, the q4_0 LLaVA decode at 2
// threads swung between 5 and 26 tokens/s while llama-bench, which attaches
// a pool (as llama.cpp's tools do), held 30 (models/llava BenchmarkDecodeBatch
// against llama-bench tg32, interleaved; figures in the issue 9 note). With a
// pool the workers persist, poll briefly for the next graph (ggml's default
// polling level) and then sleep on a condition variable, so an idle model
// costs no CPU. Results are unchanged: the pool only changes which OS threads
// run ggml's fixed per-thread partition of each op (TestThreadpoolAttached).
//
// The engine creates ONE ggml CPU backend per process and shares it between
// all its Backends (ml/backend/ggml: a package-level map of device →
// backend, never freed; each New sets that backend's thread count, so the
// last model opened decides it for all). The pool therefore lives as long as
// the process, like the backend it serves. The shared backend also means two
// models must not compute on the CPU at the same time (its work buffer is
// shared too); Multi-SC runs its models one after another.

/*
#include <stdbool.h>
#include <stdlib.h>
struct ggml_backend;
struct ggml_backend_device;
struct ggml_backend_reg;
struct ggml_threadpool;
struct ggml_threadpool_params;
void ggml_threadpool_params_init(struct ggml_threadpool_params * p, int n_threads);
bool ggml_backend_is_cpu(struct ggml_backend * backend);
struct ggml_backend_device * ggml_backend_get_device(struct ggml_backend * backend);
struct ggml_backend_reg * ggml_backend_dev_backend_reg(struct ggml_backend_device * device);
void * ggml_backend_reg_get_proc_address(struct ggml_backend_reg * reg, const char * name);

typedef struct ggml_threadpool * (*multisc_pool_new_t)(struct ggml_threadpool_params *);
typedef void (*multisc_pool_set_t)(struct ggml_backend *, struct ggml_threadpool *);

// The pool functions come from the CPU backend's own registry: ggml may
// compute on a CPU variant library (libggml-cpu-haswell.so ...) rather than
// the CPU code compiled into the binary, and its workers must run its code.
static void * multisc_cpu_proc(struct ggml_backend * b, const char * name) {
	struct ggml_backend_device * d = ggml_backend_get_device(b);
	struct ggml_backend_reg * r = d ? ggml_backend_dev_backend_reg(d) : NULL;
	return r ? ggml_backend_reg_get_proc_address(r, name) : NULL;
}

// multisc_pool_attach gives CPU backend b a new pool of n threads with
// ggml's default parameters and returns it (NULL: not possible).
// ggml_threadpool_params (a 512-entry CPU mask and five scalars, about 530
// bytes in the pinned engine) is filled by ggml itself inside a zeroed block
// many times its size, so that this bridge needs no ggml header.
static struct ggml_threadpool * multisc_pool_attach(struct ggml_backend * b, int n) {
	multisc_pool_new_t fnew = (multisc_pool_new_t) multisc_cpu_proc(b, "ggml_threadpool_new");
	multisc_pool_set_t fset = (multisc_pool_set_t) multisc_cpu_proc(b, "ggml_backend_cpu_set_threadpool");
	if (fnew == NULL || fset == NULL) return NULL;
	void * p = calloc(1, 16384);
	if (p == NULL) return NULL;
	ggml_threadpool_params_init((struct ggml_threadpool_params *) p, n);
	struct ggml_threadpool * tp = fnew((struct ggml_threadpool_params *) p);
	free(p);
	if (tp != NULL) fset(b, tp);
	return tp;
}

static void multisc_pool_set(struct ggml_backend * b, struct ggml_threadpool * tp) {
	multisc_pool_set_t fset = (multisc_pool_set_t) multisc_cpu_proc(b, "ggml_backend_cpu_set_threadpool");
	if (fset != NULL) fset(b, tp);
}
*/
import "C"

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/ollama/ollama/ml"
)

type threadpool struct {
	tp *C.struct_ggml_threadpool
	n  int
}

var (
	poolsMu sync.Mutex
	pools   = map[unsafe.Pointer]threadpool{} // by the engine's CPU backend
)

// cpuBackendOf is the ggml CPU backend in b's scheduler, or nil (no CPU
// device, or an engine whose Backend fields changed: TestThreadpoolAttached
// pins them).
func cpuBackendOf(b ml.Backend) unsafe.Pointer {
	f, err := field(b, "schedBackends")
	if err != nil || f.Kind() != reflect.Slice {
		return nil
	}
	for i := range f.Len() {
		cb := f.Index(i).UnsafePointer()
		if cb != nil && bool(C.ggml_backend_is_cpu((*C.struct_ggml_backend)(cb))) {
			return cb
		}
	}
	return nil
}

// attachThreadpool makes sure b's CPU backend has a pool of at least n
// threads. A request for more threads than the current pool has replaces it
// with a bigger one; the old pool is paused by ggml and kept, never freed,
// as a compute elsewhere may still be using it.
func attachThreadpool(b ml.Backend, n int) {
	cb := cpuBackendOf(b)
	if cb == nil || n < 1 {
		return
	}
	poolsMu.Lock()
	defer poolsMu.Unlock()
	if p, ok := pools[cb]; ok && p.n >= n {
		return
	}
	if tp := C.multisc_pool_attach((*C.struct_ggml_backend)(cb), C.int(n)); tp != nil {
		pools[cb] = threadpool{tp, n}
	}
}

// setThreadpool attaches tp (nil: none, ggml's per-graph threads) to b's
// CPU backend, for the test that compares the two.
func setThreadpool(b ml.Backend, tp *C.struct_ggml_threadpool) {
	if cb := cpuBackendOf(b); cb != nil {
		C.multisc_pool_set((*C.struct_ggml_backend)(cb), tp)
	}
}

// poolOf is the pool attached to b's CPU backend by attachThreadpool.
func poolOf(b ml.Backend) threadpool {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	return pools[cpuBackendOf(b)]
}
