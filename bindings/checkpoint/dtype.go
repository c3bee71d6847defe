package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/x448/float16"
)

// DType names a stored element type the way safetensors does: F32, F16,
// BF16, F64, I64, I32, I16, I8, U8, BOOL. PyTorch storages map onto the same
// names (FloatStorage is F32, HalfStorage F16, LongStorage I64, ...).
type DType string

// elemSize is the byte size of one element, 0 for an unknown type.
func (d DType) elemSize() int64 {
	switch d {
	case "F64", "I64":
		return 8
	case "F32", "I32":
		return 4
	case "F16", "BF16", "I16":
		return 2
	case "I8", "U8", "BOOL":
		return 1
	}
	return 0
}

// decode widens little-endian raw values of type d to f32.
func (d DType) decode(b []byte) []float32 {
	n := int64(len(b)) / d.elemSize()
	v := make([]float32, n)
	le := binary.LittleEndian
	switch d {
	case "F32":
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case "F16":
		for i := range v {
			v[i] = float16.Frombits(le.Uint16(b[2*i:])).Float32()
		}
	case "BF16":
		for i := range v {
			v[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	case "F64":
		for i := range v {
			v[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case "I64":
		for i := range v {
			v[i] = float32(int64(le.Uint64(b[8*i:])))
		}
	case "I32":
		for i := range v {
			v[i] = float32(int32(le.Uint32(b[4*i:])))
		}
	case "I16":
		for i := range v {
			v[i] = float32(int16(le.Uint16(b[2*i:])))
		}
	case "I8":
		for i := range v {
			v[i] = float32(int8(b[i]))
		}
	case "U8", "BOOL":
		for i := range v {
			v[i] = float32(b[i])
		}
	}
	return v
}

// MaxElements bounds the element count of one tensor (2^36, 256 GiB of
// f32): far above any checkpoint tensor, far below int64 overflow in byte
// arithmetic.
const MaxElements = 1 << 36

// numel is the element count of a shape, with every dimension checked to be
// non-negative and the product checked against overflow and MaxElements
// before anything is allocated.
func numel(shape []int) (int64, error) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > MaxElements {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, int64(MaxElements))
		}
		n = lo
	}
	return int64(n), nil
}
