package bindings

import "runtime/debug"

// GGMLRevision is the llama.cpp/ggml commit vendored by the pinned ollama
// module (FETCH_HEAD in its Makefile.sync); third_party/ENGINE.md records it.
const GGMLRevision = "ec98e2002"

// EngineVersion is the version of github.com/ollama/ollama linked into this
// binary, read from the build info (go.mod pins it).
func EngineVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/ollama/ollama" {
				return d.Version
			}
		}
	}
	return "unknown"
}
