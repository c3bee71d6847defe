package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
)

func init() {
	var typ string
	register(&command{
		Name:  "quantize",
		Short: "re-encode a GGUF model's tensors to another type",
		Usage: "IN.gguf OUT.gguf --type q8_0",
		Long: `Re-encodes every tensor to --type following one rule (bindings.StorageType):
biases, norms and small tensors stay f32; convolution kernels go no lower than
f16; matrices whose rows do not split into the type's blocks fall back to
q8_0, then f16. It prints how many tensors went to which type and why the rest
did not, and refuses (exit status 2, nothing written) a type that no tensor of
IN can take, such as q4_k for a convolution-only model. OUT is written
atomically.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&typ, "type", "q8_0", "f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1, q2_k, q3_k, q4_k, q5_k, q6_k")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 2 {
				return badInput("quantize takes IN.gguf OUT.gguf, got %d arguments", len(args))
			}
			t, err := bindings.ParseType(typ)
			if err != nil {
				return badInput("--type: %v", err)
			}
			if err := checkOutput("output", args[1]); err != nil {
				return err
			}
			bar := env.progress(1, "quantize")
			report, err := bindings.QuantizeFile(args[0], args[1], t, func(done, total int) {
				bar.ChangeMax(total)
				bar.Set(done)
			})
			bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %s (--type %s: %s)\n", args[1], typ, report)
			return nil
		},
	})
}
