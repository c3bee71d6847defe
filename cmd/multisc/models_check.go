package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/models"
)

func init() {
	var load bool
	modelsCmd.Sub = append(modelsCmd.Sub, &command{
		Name:  "check",
		Short: "validate a models folder: every file, and widths across roles",
		Usage: "DIR [--load]",
		Long: `Checks, and prints one line per check:
  - models.json parses and names known roles and files inside DIR;
  - every file is a GGUF of the architecture the manifest names, with every
    tensor its architecture declares, of the right shape and an allowed type
    (--load also opens each on the CPU, loading its weights);
  - widths agree across roles: the captioner's LM hidden size and its mmproj
    projector output; the generator's UNet cross-attention width and the
    IP-Adapter's, and the image encoder's embedding and the IP-Adapter's
    input (skipped while a side is absent).
File hashes are 'multisc models verify'. Exit status 2 names the first role
and file(s) that fail.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&load, "load", false, "also open every model on the CPU")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 1 {
				return badInput("models check takes one models folder")
			}
			fs, err := models.Check(args[0], models.CheckOptions{Load: load})
			for _, f := range fs {
				fmt.Fprintln(env.Stdout, f)
			}
			return err
		},
	})
}
