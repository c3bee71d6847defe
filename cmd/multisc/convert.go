package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
)

func init() {
	var arch, out, typ string
	register(&command{
		Name:  "convert",
		Short: "convert public checkpoints (safetensors, PyTorch .pth/.bin/.ckpt) to GGUF",
		Usage: "--arch A --out OUT.gguf CHECKPOINT...",
		Long: `Reads the checkpoint files an architecture needs, renames tensors
mechanically (see each models/<arch> package comment) and writes one GGUF with
the configuration in metadata. PyTorch pickles are decoded without executing
any pickle code. Inputs per architecture:
` + convertInputs(),
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&arch, "arch", "", "architecture")
			fs.StringVar(&out, "out", "", "output GGUF file")
			fs.StringVar(&typ, "type", "", "storage type: f32, f16, q8_0, q4_0, q4_k, ... (default f32; f16 for sd15)")
		},
		Run: func(env *Env, args []string) error {
			if len(args) == 0 {
				return badInput("convert needs at least one checkpoint file")
			}
			if out == "" {
				return badInput("--out is required")
			}
			if typ == "" {
				typ = strings.ToLower(bindings.DefaultConvertType(arch).String())
			}
			t, err := bindings.ParseType(typ)
			if err != nil {
				return badInput("--type: %v", err)
			}
			if err := checkOutput("--out", out); err != nil {
				return err
			}
			if mf, ok := bindings.LookupMultiFile(arch); ok && mf.Convert != nil {
				files, err := mf.Convert(args, t, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "wrote %s (%s, %s)\n", strings.Join(files, ", "), arch, typ)
				return nil
			}
			report, err := bindings.ConvertFilesReport(arch, args, t, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %s (%s, --type %s: %s)\n", out, arch, typ, report)
			return nil
		},
	})
}

func convertInputs() string {
	var b strings.Builder
	for _, a := range bindings.Archs() {
		if a.Convert != nil {
			fmt.Fprintf(&b, "  %-10s %s\n", a.Name, a.Inputs)
		}
	}
	return b.String()
}
