// What bindings' C files need of ggml beyond opaque pointers: a mirror of
// struct ggml_tensor and the few ggml functions they call. Only bindings'
// cgo code includes this header.
#ifndef MULTISC_GGML_MIRROR_H
#define MULTISC_GGML_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ggml_context;
struct ggml_tensor;

// struct ggml_tensor as ggml.h (ollama v0.17.4's vendored ggml) lays it
// out; the C files read type, buffer, ne, nb, src, view_src and data.
// TestGemmTensorLayout pins it against ggml's own accessors and the Go
// side's view of the same tensors.
struct msc_tensor {
	int type;
	void *buffer;
	int64_t ne[4];
	size_t nb[4];
	int op;
	int32_t op_params[64 / sizeof(int32_t)];
	int32_t flags;
	struct msc_tensor *src[10];
	struct msc_tensor *view_src;
	size_t view_offs;
	void *data;
	char name[64];
	void *extra;
	char padding[8];
};

typedef void (*ggml_custom_op_t)(struct ggml_tensor *dst, int ith, int nth, void *userdata);
struct ggml_tensor *ggml_custom_4d(struct ggml_context *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2,
                                   int64_t ne3, struct ggml_tensor **args, int n_args, ggml_custom_op_t fun,
                                   int n_tasks, void *userdata);
bool ggml_backend_buffer_is_host(void *buffer);
void *ggml_get_data(const struct ggml_tensor *tensor);

#endif
