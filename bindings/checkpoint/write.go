package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"

	"github.com/multisc/multisc/bindings/atomicfile"
)

// WriteSafetensors writes a state dict as an F32 safetensors file (keys in
// sorted order, header padded to 8 bytes), atomically. Tests and tools use
// it to hand converters an edited or synthesized checkpoint.
func WriteSafetensors(path string, sd StateDict) error {
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	header := map[string]entry{}
	var data []byte
	for _, k := range sd.Keys() {
		v := sd[k]
		start := len(data)
		for _, f := range v.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
		}
		header[k] = entry{"F32", v.Shape, [2]int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		_, err := f.Write(out)
		return err
	})
}
