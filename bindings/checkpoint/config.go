package checkpoint

import (
	"encoding/json"
	"os"

	"github.com/multisc/multisc/bindings/badinput"
)

// ReadConfig reads a JSON object file beside a checkpoint (a Hugging Face
// config.json, preprocessor_config.json, generation_config.json); a
// missing or malformed file is a bad-input error naming it.
func ReadConfig(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, badinput.Errorf("%s: not a JSON object: %v", path, err)
	}
	return m, nil
}
