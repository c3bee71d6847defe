package llava

import (
	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
)

// ConvertPair turns a LLaVA checkpoint folder and its vision tower's folder
// into the LM GGUF (out) and the mmproj (MMProjPath(out)).
func ConvertPair(inputs []string, want fsggml.TensorType, out string) ([]string, error) {
	return nil, badinput.Errorf("convert --arch llava: not implemented yet (convert the mmproj with --arch clip)")
}
