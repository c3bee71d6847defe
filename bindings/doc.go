// Package bindings is the engine layer of Multi-SC: it opens GGUF models of a
// registered architecture on a chosen ggml device, validates them before use,
// composes the ops ollama's ml.Tensor lacks (ops.go), quantizes tensors
// (quantize.go) and writes seeded random-weight models (synth.go).
//
// Every network in Multi-SC runs on ggml through github.com/ollama/ollama's
// Go packages (ml, ml/nn, ml/backend/ggml, model, fs/ggml).
package bindings
