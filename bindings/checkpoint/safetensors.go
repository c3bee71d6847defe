package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
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

func (c *File) indexSafetensors() error {
	var nb [8]byte
	if _, err := c.f.ReadAt(nb[:], 0); err != nil {
		return fmt.Errorf("not a safetensors file (no header length)")
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n == 0 || n > maxHeader || int64(n) > c.size-8 {
		return fmt.Errorf("not a safetensors file (header length %d, file size %d)", n, c.size)
	}
	hdr := make([]byte, n)
	if _, err := c.f.ReadAt(hdr, 8); err != nil && err != io.EOF {
		return fmt.Errorf("truncated safetensors header")
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return fmt.Errorf("malformed safetensors header: %v", err)
	}
	dataStart := 8 + int64(n)
	dataLen := c.size - dataStart
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return fmt.Errorf("tensor %s: malformed header entry: %v", name, err)
		}
		dt := DType(e.DType)
		if dt.elemSize() == 0 {
			return fmt.Errorf("tensor %s: unsupported dtype %s", name, e.DType)
		}
		count, err := numel(e.Shape)
		if err != nil {
			return fmt.Errorf("tensor %s: %v", name, err)
		}
		hi, want := bits.Mul64(uint64(count), uint64(dt.elemSize()))
		b, end := e.Offsets[0], e.Offsets[1]
		if hi != 0 || b < 0 || end < b || end > dataLen || uint64(end-b) != want {
			return fmt.Errorf("tensor %s: data offsets %v do not fit shape %v (%s) and the %d data bytes present", name, e.Offsets, e.Shape, dt, dataLen)
		}
		c.entries[name] = &entry{info: Info{Shape: e.Shape, DType: dt}, begin: dataStart + b, end: dataStart + end}
	}
	return nil
}
