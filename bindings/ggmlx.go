package bindings

// The one bridge to ggml ops that ollama's ml.Tensor does not expose (see
// shared/DESIGN.md). The vendored ggml is compiled into every binary by
// ollama's ml/backend/ggml/ggml/src package; this file declares the few
// prototypes it needs on opaque structs and reaches the C pointers inside
// ollama's ggml Context and Tensor (unexported fields ctx and t, and the
// backend b) by reflection, pinned to the engine version by
// TestGGMLXLayout. Nothing else in the project touches C.

/*
#include <stdbool.h>
#include <stdint.h>
struct ggml_context;
struct ggml_tensor;
struct ggml_tensor * ggml_group_norm(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps);
int64_t ggml_nelements(const struct ggml_tensor * tensor);
int64_t ggml_nrows(const struct ggml_tensor * tensor);
bool ggml_is_contiguous(const struct ggml_tensor * tensor);
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/ollama/ollama/ml"
)

// field returns an addressable, writable view of a struct field, exported
// or not, of the value p points to.
func field(p any, name string) (reflect.Value, error) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("ggmlx: %T is not a pointer to a struct", p)
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() {
		return reflect.Value{}, fmt.Errorf("ggmlx: %T has no field %s (engine version changed?)", p, name)
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
}

func mustField(p any, name string) reflect.Value {
	f, err := field(p, name)
	if err != nil {
		panic(err)
	}
	return f
}

// cTensor is the ggml_tensor inside one of ollama's ggml Tensors.
func cTensor(t ml.Tensor) *C.struct_ggml_tensor {
	return (*C.struct_ggml_tensor)(unsafe.Pointer(mustField(t, "t").Pointer()))
}

// cContext is the ggml_context inside one of ollama's ggml Contexts.
func cContext(ctx ml.Context) *C.struct_ggml_context {
	return (*C.struct_ggml_context)(unsafe.Pointer(mustField(ctx, "ctx").Pointer()))
}

// wrapTensor makes an ollama Tensor of the same backend as like around p.
func wrapTensor(like ml.Tensor, p *C.struct_ggml_tensor) ml.Tensor {
	nv := reflect.New(reflect.TypeOf(like).Elem())
	out := nv.Interface()
	mustField(out, "b").Set(mustField(like, "b"))
	tf := mustField(out, "t")
	tf.Set(reflect.NewAt(tf.Type(), unsafe.Pointer(&p)).Elem())
	return out.(ml.Tensor)
}

// GroupNormX is GroupNorm through ggml_group_norm (one fused op: mean and
// variance of each group of C/groups channels over W·H, then the per-channel
// affine weight and bias when given) on a contiguous x [W, H, C, N].
func GroupNormX(ctx ml.Context, x ml.Tensor, groups int, eps float32, weight, bias ml.Tensor) ml.Tensor {
	y := wrapTensor(x, C.ggml_group_norm(cContext(ctx), cTensor(x), C.int(groups), C.float(eps)))
	return channelAffine(ctx, y, weight, bias)
}

// elementsX is ggml_nelements of the C tensor (for the layout test).
func elementsX(t ml.Tensor) int64 { return int64(C.ggml_nelements(cTensor(t))) }

// rowsX is ggml_nrows of the C tensor (for the layout test).
func rowsX(t ml.Tensor) int64 { return int64(C.ggml_nrows(cTensor(t))) }

// contiguousX is ggml_is_contiguous: x can be reshaped without a copy.
func contiguousX(t ml.Tensor) bool { return bool(C.ggml_is_contiguous(cTensor(t))) }
