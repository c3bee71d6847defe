package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
	_ "github.com/multisc/multisc/models/all"
)

// clipVisionSizes are --arch clip-vision's sizes as clip sizes.
var clipVisionSizes = map[string]string{"tiny": "tiny-encoder", "full": "vit-h"}

func init() {
	var arch, size, out, typ string
	var seed uint64
	var list bool
	register(&command{
		Name:  "synth",
		Short: "write a model of any architecture with seeded random weights",
		Usage: "--arch A --size tiny|full|... --seed S --out FILE.gguf",
		Long: `Pretrained weights cannot be downloaded on build machines, so every port is
tested on tiny seeded models and benchmarked on full-size ones. The same
--arch, --size, --seed and --type always give the same bytes.

Every architecture takes --size tiny and full. clip takes four more, for the
bare CLIP image encoders (no LLaVA projector; tiny and full are mmproj files):
  vit-h          the IP-Adapter's image encoder, CLIP ViT-H/14 (1280 wide,
                 32 layers, 224², projection 1024): models role image-encoder
  vit-l          the embedder, CLIP ViT-L/14 (1024 wide, 24 layers, 224²,
                 projection 768): models role embedder
  tiny-encoder   a tiny ViT-H-style encoder whose projection (24) fits
                 --arch ipadapter --size tiny
  tiny-embedder  a tiny ViT-L-style encoder
--arch clip-vision names the bare image encoder: clip with --size tiny meaning
tiny-encoder and full meaning vit-h.`,
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&arch, "arch", "", "architecture (see --list)")
			fs.StringVar(&size, "size", "tiny", "tiny (tests, demo) or full (published dimensions); clip also vit-h, vit-l, tiny-encoder, tiny-embedder (see above)")
			fs.Uint64Var(&seed, "seed", 0, "random seed")
			fs.StringVar(&out, "out", "", "output GGUF file")
			fs.StringVar(&typ, "type", "f32", "storage type: f32, f16, q8_0, q4_0, q4_k, ...")
			fs.BoolVar(&list, "list", false, "list the architectures")
		},
		Run: func(env *Env, args []string) error {
			if list {
				for _, a := range bindings.Archs() {
					fmt.Fprintf(env.Stdout, "%-12s %s\n", a.Name, a.Short)
				}
				return nil
			}
			if len(args) != 0 {
				return badInput("synth takes no positional arguments (use --out)")
			}
			if arch == "clip-vision" {
				arch = "clip"
				if s, ok := clipVisionSizes[size]; ok {
					size = s
				}
			}
			a, ok := bindings.LookupArch(arch)
			if !ok {
				return badInput("--arch %q: unknown architecture (known: %v)", arch, bindings.ArchNames())
			}
			if _, isMulti := bindings.LookupMultiFile(arch); isMulti || a.Config == nil {
				if size != "tiny" && size != "full" {
					return badInput("--size %q: want tiny or full", size)
				}
			} else if _, err := a.Config(size); err != nil {
				return badInput("--size: %s: %v", arch, err)
			}
			if out == "" {
				return badInput("--out is required")
			}
			t, err := bindings.ParseType(typ)
			if err != nil {
				return badInput("--type: %v", err)
			}
			if err := checkOutput("--out", out); err != nil {
				return err
			}
			if mf, ok := bindings.LookupMultiFile(arch); ok && mf.Synth != nil {
				files, err := mf.Synth(size, seed, t, out)
				if err != nil {
					return outputError("--out", err)
				}
				fmt.Fprintf(env.Stdout, "wrote %s (%s, %s, seed %d, %s)\n", strings.Join(files, ", "), arch, size, seed, typ)
				return nil
			}
			report, err := bindings.SynthReport(arch, size, seed, t, out)
			if err != nil && !report.Changed() {
				return err // the type no tensor takes, or the architecture's config
			}
			if err != nil {
				return outputError("--out", err)
			}
			fmt.Fprintf(env.Stdout, "wrote %s (%s, %s, seed %d, --type %s: %s)\n", out, arch, size, seed, typ, report)
			return nil
		},
	})
}
