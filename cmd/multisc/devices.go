package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/multisc/multisc/bindings"
)

func init() {
	var asJSON bool
	register(&command{
		Name:  "devices",
		Short: "list the compute devices ggml finds (CPU and GPUs)",
		Long: `Lists the CPU (with the thread count in use and the CPU backend whose
kernels run: "baseline", compiled into the binary, or the variant library
ggml chose, such as libggml-cpu-haswell.so, with its SIMD features) and every
GPU the engine can use, with its memory. GPU backends (libggml-cuda.so) load from the folder of the
multisc executable, or from $` + bindings.LibPathEnv + `; see README "CUDA build".`,
		Flags: func(fs *pflag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") },
		Run: func(env *Env, args []string) error {
			if len(args) != 0 {
				return badInput("devices takes no arguments")
			}
			devs, err := bindings.Devices(env.Threads)
			if err != nil {
				return err
			}
			if asJSON {
				return env.printJSON(devs)
			}
			for _, d := range devs {
				if d.Library == "CPU" {
					fmt.Fprintf(env.Stdout, "%-8s %s, %d threads, kernels: %s\n", d.Name, d.Description, d.Threads, d.CPUBackend)
					if d.CPUBackend != nil {
						if h := d.CPUBackend.SlowHint(); h != "" {
							fmt.Fprintf(env.Stdout, "         note: %s\n", h)
						}
					}
					continue
				}
				fmt.Fprintf(env.Stdout, "%-8s %s (%s, compute %s), %.1f GiB total, %.1f GiB free\n",
					d.Name, d.Description, d.Library, d.Compute, gib(d.TotalMemory), gib(d.FreeMemory))
			}
			if len(devs) == 1 {
				fmt.Fprintf(env.Stdout, "no GPU backend loaded (looked in %s)\n", bindings.LibDir())
			}
			return nil
		},
	})
}

func gib(b uint64) float64 { return float64(b) / (1 << 30) }
