package resnet

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/multisc/multisc/bindings/checkpoint"
)

// writeSafetensors writes a state dict as an F32 safetensors file (for
// tests that edit a fixture checkpoint).
func writeSafetensors(t *testing.T, path string, sd checkpoint.StateDict) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, k := range sd.Keys() {
		v := sd[k]
		start := len(data)
		for _, f := range v.Data {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(f))
		}
		header[k] = map[string]any{"dtype": "F32", "shape": v.Shape, "data_offsets": []int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
