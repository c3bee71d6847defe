package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
)

type tensorRow struct {
	Name  string   `json:"name"`
	Shape []uint64 `json:"shape"`
	Type  string   `json:"type"`
	Bytes uint64   `json:"bytes"`
}

type inspectReport struct {
	File         string            `json:"file"`
	Architecture string            `json:"architecture"`
	Validated    bool              `json:"validated"`
	Metadata     map[string]any    `json:"metadata"`
	Tensors      []tensorRow       `json:"tensors"`
	BytesByType  map[string]uint64 `json:"bytes_by_type"`
	TotalBytes   uint64            `json:"total_bytes"`
	Device       string            `json:"device,omitempty"`
	Memory       map[string]uint64 `json:"weight_bytes_by_device,omitempty"`
}

func init() {
	var asJSON, load bool
	var arch string
	register(&command{
		Name:  "inspect",
		Short: "show a GGUF model's architecture, metadata and tensor table",
		Usage: "FILE.gguf",
		Long: `Reads the header of a GGUF file: architecture, metadata, every tensor (name,
shape in ggml order, type, bytes) and the total per type. Files of a registered
architecture are validated (every tensor present with its shape and an allowed
type). --load also opens the model on --device and reports its weight memory.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON")
			fs.StringVar(&arch, "arch", "", "require this architecture")
			fs.BoolVar(&load, "load", false, "load the weights on --device and report memory per device")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 1 {
				return badInput("inspect takes one GGUF file, got %d arguments", len(args))
			}
			r, err := inspectFile(env, args[0], arch, load)
			if err != nil {
				return err
			}
			if asJSON {
				return env.printJSON(r)
			}
			printInspect(env, r)
			return nil
		},
	})
}

func inspectFile(env *Env, path, arch string, load bool) (*inspectReport, error) {
	meta, err := bindings.Header(path)
	if err != nil {
		return nil, err
	}
	got := meta.KV().Architecture()
	_, registered := bindings.LookupArch(got)
	if arch != "" || registered || load {
		if err := bindings.Check(path, meta, arch); err != nil {
			return nil, err
		}
	}
	r := &inspectReport{File: path, Architecture: got, Validated: registered || arch != "",
		Metadata: map[string]any{}, BytesByType: map[string]uint64{}}
	for k, v := range meta.KV() {
		r.Metadata[k] = v
	}
	for _, t := range meta.Tensors().Items() {
		r.Tensors = append(r.Tensors, tensorRow{t.Name, t.Shape, fsggml.TensorType(t.Kind).String(), t.Size()})
		r.BytesByType[fsggml.TensorType(t.Kind).String()] += t.Size()
		r.TotalBytes += t.Size()
	}
	if load {
		l, err := bindings.Open(path, bindings.Options{Arch: arch, Device: env.Device, Threads: env.Threads})
		if err != nil {
			return nil, err
		}
		defer l.Close()
		r.Device, r.Memory = l.Device, l.Memory()
	}
	return r, nil
}

func printInspect(env *Env, r *inspectReport) {
	w := env.Stdout
	note := ""
	if !r.Validated {
		note = " (not a registered architecture: not validated)"
	}
	fmt.Fprintf(w, "file:         %s\narchitecture: %s%s\n\nmetadata:\n", r.File, r.Architecture, note)
	keys := make([]string, 0, len(r.Metadata))
	for k := range r.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fmt.Sprint(r.Metadata[k])
		if j, err := json.Marshal(r.Metadata[k]); err == nil {
			v = string(j)
		}
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		fmt.Fprintf(w, "  %-40s %s\n", k, v)
	}
	fmt.Fprintf(w, "\ntensors (%d):\n  %-44s %-22s %-6s %12s\n", len(r.Tensors), "name", "shape", "type", "bytes")
	for _, t := range r.Tensors {
		shape := strings.Trim(strings.ReplaceAll(fmt.Sprint(t.Shape), " ", "x"), "[]")
		fmt.Fprintf(w, "  %-44s %-22s %-6s %12d\n", t.Name, shape, t.Type, t.Bytes)
	}
	fmt.Fprintf(w, "\nsize by type:\n")
	types := make([]string, 0, len(r.BytesByType))
	for k := range r.BytesByType {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, k := range types {
		fmt.Fprintf(w, "  %-6s %12d bytes\n", k, r.BytesByType[k])
	}
	fmt.Fprintf(w, "  total  %12d bytes\n", r.TotalBytes)
	if r.Memory != nil {
		fmt.Fprintf(w, "\nloaded on %s; weight bytes by device:\n", r.Device)
		for k, v := range r.Memory {
			fmt.Fprintf(w, "  %-8s %12d\n", k, v)
		}
	}
}
