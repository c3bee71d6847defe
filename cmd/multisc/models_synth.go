package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/pipeline/models"
)

func init() {
	var size, out, typ string
	var seed uint64
	modelsCmd.Sub = append(modelsCmd.Sub, &command{
		Name:  "synth",
		Short: "write a complete synthetic models folder (random weights) and its manifest",
		Usage: "--size tiny|full --out DIR [--seed S] [--type T]",
		Long: `Every role whose architecture is in this binary gets a model with seeded
random weights (tiny: tests and demos; full: the published dimensions, for
benchmarks); models.json is written last. Roles whose architecture is not yet
registered are skipped with a note. Same size, seed and type: same bytes.
The image-encoder and embedder roles are clip image encoders: full writes
CLIP ViT-H/14 (projection 1024, the IP-Adapter's) and ViT-L/14 (768), tiny
their tiny forms (synth --arch clip --size vit-h|vit-l|tiny-encoder|tiny-embedder).
Random weights give noise, not images: use 'multisc models pull' for real ones.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&size, "size", "tiny", "tiny or full")
			fs.StringVar(&out, "out", "", "models folder to write (created if missing)")
			fs.Uint64Var(&seed, "seed", 0, "random seed")
			fs.StringVar(&typ, "type", "f32", "storage type: f32, f16, q8_0, q4_0, ...")
		},
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("models synth takes no positional arguments (use --out)")
			}
			if out == "" {
				return badInput("--out is required")
			}
			if size != "tiny" && size != "full" {
				return badInput("--size %q: want tiny or full", size)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return badInput("--out %s: cannot create the folder: %v", out, err)
			}
			if err := checkOutput("--out", out+"/"+models.ManifestName); err != nil {
				return err
			}
			res, err := models.SynthSet(out, size, seed, typ)
			if err != nil {
				return outputError("--out", err)
			}
			for _, r := range models.Roles {
				if e := res.Skipped[r]; e != nil {
					fmt.Fprintf(env.Stderr, "note: skipped %v\n", e)
				}
			}
			for _, r := range res.Manifest.SortedRoles() {
				for _, f := range res.Manifest.Roles[r].Files {
					fmt.Fprintf(env.Stdout, "%-10s %s (%s, %s)\n", r, f.Path, f.Arch, humanSize(f.Size))
				}
			}
			fmt.Fprintf(env.Stdout, "wrote %s/%s (%d roles, %s, seed %d, --type %s)\n", out, models.ManifestName, len(res.Manifest.Roles), size, seed, typ)
			return nil
		},
	})
}
