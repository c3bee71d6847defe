package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/x448/float16"
)

// safetensors layout: u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data, offsets relative to its start.

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header (the format's own limit is 100 MB).
const maxHeader = 100 << 20

func loadSafetensors(path string) (StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("not a safetensors file (no header length)")
	}
	if n == 0 || n > maxHeader || int64(n)+8 > st.Size() {
		return nil, fmt.Errorf("not a safetensors file (header length %d, file size %d)", n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("truncated safetensors header")
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("malformed safetensors header: %v", err)
	}
	dataStart := 8 + int64(n)
	sd := StateDict{}
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %s: malformed header entry: %v", name, err)
		}
		size, decode, err := dtypeDecoder(e.DType)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %v", name, err)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %s: negative dimension", name)
			}
			numel *= int64(d)
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || end < b || end-b != numel*size || dataStart+end > st.Size() {
			return nil, fmt.Errorf("tensor %s: data offsets %v do not fit shape %v and file size", name, e.Offsets, e.Shape)
		}
		buf := make([]byte, end-b)
		if _, err := f.ReadAt(buf, dataStart+b); err != nil {
			return nil, fmt.Errorf("tensor %s: %v", name, err)
		}
		sd[name] = &Tensor{Shape: e.Shape, Data: decode(buf)}
	}
	return sd, nil
}

func dtypeDecoder(dt string) (int64, func([]byte) []float32, error) {
	switch dt {
	case "F32":
		return 4, func(b []byte) []float32 {
			v := make([]float32, len(b)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			return v
		}, nil
	case "F16":
		return 2, func(b []byte) []float32 {
			v := make([]float32, len(b)/2)
			for i := range v {
				v[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
			}
			return v
		}, nil
	case "BF16":
		return 2, func(b []byte) []float32 {
			v := make([]float32, len(b)/2)
			for i := range v {
				v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
			}
			return v
		}, nil
	case "F64":
		return 8, func(b []byte) []float32 {
			v := make([]float32, len(b)/8)
			for i := range v {
				v[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
			}
			return v
		}, nil
	case "I64":
		return 8, func(b []byte) []float32 {
			v := make([]float32, len(b)/8)
			for i := range v {
				v[i] = float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
			}
			return v
		}, nil
	}
	return 0, nil, fmt.Errorf("unsupported dtype %s", dt)
}
